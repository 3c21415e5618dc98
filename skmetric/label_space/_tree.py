"""Path lengths (hops) in a tree over the labels."""

from collections.abc import Mapping

import numpy as np

from ._base import _SOURCE_BLOCK, LabelMetric, _as_labels


class TreeMetric(LabelMetric):
    """Path lengths (number of edges) in a tree over the labels.

    Internal nodes are labels too.  Distances from m sources to all K labels
    cost O(m K) time via depths and lowest common ancestors, level by level;
    no K x K matrix is built.

    Parameters
    ----------
    parents : mapping
        ``{child: parent}`` for every non-root label.  The root is the one
        label that appears as a parent and not as a child (a root may also be
        given as ``{root: None}``).
    labels : array-like, default=None
        Order of the label space; it must contain exactly the nodes of the
        tree.  ``None`` means the nodes sorted.

    Examples
    --------
    >>> from skmetric.label_space import TreeMetric
    >>> t = TreeMetric({"cat": "animal", "dog": "animal"})
    >>> t.labels
    array(['animal', 'cat', 'dog'], dtype='<U6')
    >>> t.distances_from([1])
    array([[1., 0., 2.]])
    """

    def __init__(self, parents, labels=None):
        if not isinstance(parents, Mapping) or not parents:
            raise ValueError("A label tree must be a non-empty {child: parent} mapping.")
        children = [c for c in parents]
        pars = [p for p in parents.values() if p is not None]
        nodes = set(children) | set(pars)
        if labels is None:
            try:
                labels = np.asarray(sorted(nodes))
            except TypeError:
                labels = np.asarray(list(nodes), dtype=object)
        labels = _as_labels(labels)
        self.labels = labels
        self._index = None
        if set(labels.tolist()) != nodes:
            extra = set(labels.tolist()) - nodes
            missing = nodes - set(labels.tolist())
            raise ValueError(
                "`labels` must be exactly the nodes of the label tree; "
                f"not in the tree: {sorted(map(repr, extra))[:5]}, "
                f"missing: {sorted(map(repr, missing))[:5]}."
            )
        K = labels.size
        parent = np.full(K, -1, dtype=np.intp)
        ci = self.index(children, name="Tree nodes")
        for i, p in zip(ci, parents.values()):
            if p is not None:
                parent[i] = self._index[p]
        roots = np.flatnonzero(parent < 0)
        if roots.size != 1:
            raise ValueError(
                f"The label tree must have exactly one root, found {roots.size}: "
                f"{labels[roots][:5].tolist()}."
            )
        # depth by repeated parent jumps; detects cycles
        depth = np.full(K, -1, dtype=np.intp)
        depth[roots] = 0
        for d in range(1, K + 1):
            todo = depth < 0
            if not todo.any():
                break
            ready = todo & (parent >= 0)
            ready[ready] = depth[parent[ready]] == d - 1
            if not ready.any():
                raise ValueError("The label tree contains a cycle.")
            depth[ready] = d
        self.parent = parent
        self.depth = depth
        order = np.argsort(depth, kind="stable")
        bounds = np.searchsorted(depth[order], np.arange(depth.max() + 2))
        self._levels = [order[bounds[d] : bounds[d + 1]] for d in range(depth.max() + 1)]

    def _hops_from(self, sources):
        """Integer hop counts, shape (len(sources), K)."""
        sources = np.asarray(sources, dtype=np.intp)
        m, K = sources.size, self.n_labels
        itype = np.int16 if len(self._levels) < 2**14 else np.int64
        # work node-major (K, m) so that each level is a gather of whole rows
        is_anc = np.zeros((K, m), dtype=bool)
        cols = np.arange(m)
        cur = sources.copy()
        alive = np.ones(m, dtype=bool)
        while alive.any():
            is_anc[cur[alive], cols[alive]] = True
            cur[alive] = self.parent[cur[alive]]
            alive &= cur >= 0
        # depth of lca(source, y), filled from the root down
        lca = np.zeros((K, m), dtype=itype)
        for d, nodes in enumerate(self._levels):
            if d == 0:
                continue
            lca[nodes] = np.where(is_anc[nodes], itype(d), lca[self.parent[nodes]])
        hops = np.ascontiguousarray(lca.T)
        hops *= -2
        depth = self.depth.astype(itype)
        hops += depth[None, :]
        hops += depth[sources][:, None]
        return hops

    def distances_from(self, sources):
        return self._hops_from(sources).astype(np.float64)

    def squared_distances_from(self, sources, dtype=np.float64):
        sources = np.asarray(sources, dtype=np.intp)
        out = np.empty((sources.size, self.n_labels), dtype=dtype)
        for s in range(0, sources.size, _SOURCE_BLOCK):
            hops = self._hops_from(sources[s : s + _SOURCE_BLOCK])
            np.square(hops, out=out[s : s + _SOURCE_BLOCK], dtype=dtype)
        return out

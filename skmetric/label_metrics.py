"""Metrics over a finite label space, for Fréchet-mean (Loki) prediction.

A *label metric* gives a distance ``d(a, b)`` between any two labels of a
label space ``Y`` (|Y| = K).  :class:`~skmetric.FrechetMeanPredictor` needs,
for the m classes a model was trained on, the squared distances from those
classes to every label: an (m, K) array, never a K x K one.  The classes of
this module build exactly that from the forms label geometry usually comes
in:

==========================  =================================================
:class:`DistanceMatrix`     a square (K, K) matrix of distances
:class:`GraphMetric`        a graph (sparse adjacency or weighted edge list);
                            shortest-path lengths via ``scipy.sparse.csgraph``
:class:`TreeMetric`         a tree given as a child -> parent mapping; path
                            lengths in edges (hops)
:class:`EmbeddingMetric`    one vector per label, Euclidean or cosine
:class:`CallableMetric`     ``f(a, b)`` on two arrays of labels
:class:`DiscreteMetric`     ``d(a, b) = 1`` for ``a != b`` (Loki = argmax)
==========================  =================================================

Every class returns *distances* from :meth:`LabelMetric.distances_from` and
squares them in exactly one place, :meth:`LabelMetric.squared_distances_from`
(the Euclidean embedding metric computes squared distances directly).

The module also holds Loki's analysis tools: :func:`locus` (which labels can
be predicted at all from a set of observed classes),
:func:`select_next_classes` (greedy choice of the classes to observe next so
that the locus covers the label space), and the evaluation measure
:func:`expected_squared_distance` with its scorers.

References
----------
.. [1] Roberts, Li, Adila, Sala, Zhang, Sala. "Geometry-Aware Adaptation for
   Pretrained Models", NeurIPS 2023, arXiv:2307.12226.
"""

from collections.abc import Mapping
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import dijkstra

__all__ = [
    "LabelMetric",
    "DistanceMatrix",
    "GraphMetric",
    "TreeMetric",
    "EmbeddingMetric",
    "CallableMetric",
    "DiscreteMetric",
    "make_label_metric",
    "locus",
    "select_next_classes",
    "expected_squared_distance",
    "make_expected_squared_distance_scorer",
    "expected_squared_distance_scorer",
]

METRIC_KINDS = ("auto", "distances", "graph", "tree", "embeddings", "callable")

# Rows of sources processed at once when an (m, K) block is built.
_SOURCE_BLOCK = 256


def _as_labels(labels, name="labels"):
    """Return ``labels`` as a 1-D array of unique labels."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D, got an array of shape {labels.shape}.")
    if labels.size == 0:
        raise ValueError(f"`{name}` is empty: the label space needs at least one label.")
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        raise ValueError(f"`{name}` contains NaN or infinity.")
    uniq, counts = np.unique(labels, return_counts=True)
    if uniq.size != labels.size:
        dup = uniq[counts > 1][:5].tolist()
        raise ValueError(f"`{name}` must be unique; repeated labels: {dup}.")
    return labels


def _label_index(labels):
    return {lab: i for i, lab in enumerate(labels.tolist())}


def _check_finite_matrix(M, what):
    if sp.issparse(M):
        data = M.data
    else:
        data = M
    if not np.isfinite(data).all():
        raise ValueError(f"{what} contains NaN or infinity.")
    if data.size and data.min() < 0:
        raise ValueError(f"{what} contains negative distances (minimum {data.min():.6g}).")


class LabelMetric:
    """Base class: a finite label space with a metric.

    Subclasses set ``labels`` (1-D array of the K labels, in the order used
    by every array returned) and implement :meth:`distances_from`.

    Attributes
    ----------
    labels : ndarray of shape (n_labels,)
        The label space.
    """

    labels = None

    @property
    def n_labels(self):
        """Number of labels K in the label space."""
        return len(self.labels)

    def index(self, values, *, name="labels"):
        """Positions of ``values`` in :attr:`labels`.

        Raises a ``ValueError`` listing the values that are not labels.
        """
        if getattr(self, "_index", None) is None:
            self._index = _label_index(self.labels)
        values = np.asarray(values)
        out = np.empty(values.shape[0] if values.ndim else 0, dtype=np.intp)
        missing = []
        for k, v in enumerate(values.tolist()):
            i = self._index.get(v)
            if i is None:
                missing.append(v)
            else:
                out[k] = i
        if missing:
            shown = sorted(set(map(repr, missing)))
            more = f" (and {len(shown) - 10} more)" if len(shown) > 10 else ""
            raise ValueError(
                f"{name} not in the label space of the label metric: "
                f"{', '.join(shown[:10])}{more}. The label metric has "
                f"{self.n_labels} labels; pass `labels=` to name them."
            )
        return out

    def distances_from(self, sources):
        """Distances from the labels at positions ``sources`` to every label.

        Parameters
        ----------
        sources : array-like of int of shape (n_sources,)
            Positions in :attr:`labels`.

        Returns
        -------
        D : ndarray of shape (n_sources, n_labels)
            Distances, not squared.
        """
        raise NotImplementedError

    def squared_distances_from(self, sources, dtype=np.float64):
        """Squared distances from ``sources`` to every label (squared once).

        Returns
        -------
        D2 : ndarray of shape (n_sources, n_labels)
        """
        sources = np.asarray(sources, dtype=np.intp)
        out = np.empty((sources.size, self.n_labels), dtype=dtype)
        for s in range(0, sources.size, _SOURCE_BLOCK):
            block = self.distances_from(sources[s : s + _SOURCE_BLOCK])
            np.square(block, out=out[s : s + _SOURCE_BLOCK], casting="unsafe")
        return out

    def pair_squared_distances(self, a, b):
        """``d(labels[a[i]], labels[b[i]])**2`` for each i."""
        a = np.asarray(a, dtype=np.intp)
        b = np.asarray(b, dtype=np.intp)
        out = np.empty(a.size, dtype=np.float64)
        uniq, inv = np.unique(a, return_inverse=True)
        for s in range(0, uniq.size, _SOURCE_BLOCK):
            D2 = self.squared_distances_from(uniq[s : s + _SOURCE_BLOCK])
            sel = (inv >= s) & (inv < s + _SOURCE_BLOCK)
            out[sel] = D2[inv[sel] - s, b[sel]]
        return out

    def _frechet_scorer(self, sources, dtype):
        return _DenseFrechet(self.squared_distances_from(sources, dtype=dtype))

    def __repr__(self):
        return f"{type(self).__name__}(n_labels={self.n_labels})"


class _DenseFrechet:
    """Fréchet variances from a stored (m, K) block of squared distances."""

    def __init__(self, D2):
        self.D2 = D2

    def scores(self, P, start, stop):
        return P.astype(self.D2.dtype, copy=False) @ self.D2[:, start:stop]


class DistanceMatrix(LabelMetric):
    """A label metric given as a square matrix of distances.

    Parameters
    ----------
    D : array-like of shape (n_labels, n_labels)
        Distances (not squared): finite, non-negative, symmetric (to within
        ``1e-8`` relative), zero on the diagonal.
    labels : array-like of shape (n_labels,), default=None
        Names of the rows of ``D``; ``None`` means ``0, ..., n_labels - 1``.

    Examples
    --------
    >>> from skmetric.label_metrics import DistanceMatrix
    >>> m = DistanceMatrix([[0, 1, 2], [1, 0, 1], [2, 1, 0]], labels=["a", "b", "c"])
    >>> m.squared_distances_from([0])
    array([[0., 1., 4.]])
    """

    def __init__(self, D, labels=None):
        D = np.asarray(D, dtype=np.float64)
        if D.ndim != 2 or D.shape[0] != D.shape[1]:
            raise ValueError(
                f"The label distance matrix must be square, got shape {D.shape}."
            )
        _check_finite_matrix(D, "The label distance matrix")
        diag = np.abs(np.diagonal(D)).max()
        if diag > 0:
            raise ValueError(
                f"The label distance matrix must have a zero diagonal (largest "
                f"diagonal entry {diag:.6g})."
            )
        asym = np.abs(D - D.T).max() if D.size else 0.0
        if asym > 1e-8 * max(1.0, np.abs(D).max()):
            i, j = np.unravel_index(np.argmax(np.abs(D - D.T)), D.shape)
            raise ValueError(
                f"The label distance matrix must be symmetric: D[{i}, {j}]={D[i, j]:.6g} "
                f"but D[{j}, {i}]={D[j, i]:.6g}."
            )
        if labels is None:
            labels = np.arange(D.shape[0])
        labels = _as_labels(labels)
        if labels.size != D.shape[0]:
            raise ValueError(
                f"`labels` has {labels.size} entries but the label distance matrix "
                f"has {D.shape[0]} rows."
            )
        self.D = D
        self.labels = labels

    def distances_from(self, sources):
        return self.D[np.asarray(sources, dtype=np.intp)]


class GraphMetric(LabelMetric):
    """Shortest-path lengths in a graph over the labels.

    Distances from a set of sources are computed with Dijkstra's algorithm
    (``scipy.sparse.csgraph.dijkstra``, undirected) only from those sources,
    so a K x K matrix is never built.

    Parameters
    ----------
    graph : sparse matrix of shape (n_labels, n_labels) or array-like of shape (n_edges, 2 or 3)
        Either a sparse adjacency matrix whose stored non-zero entries are
        edge lengths (explicit zeros are dropped), or an edge list of
        ``(u, v)`` or ``(u, v, length)`` rows naming labels.  Edges are
        undirected.  Lengths must be finite and positive.
    labels : array-like of shape (n_labels,), default=None
        For an adjacency matrix: names of its rows (default
        ``0, ..., n_labels - 1``).  For an edge list: the label space (which
        may hold isolated labels only if no distance to them is needed --
        an unreachable label raises); default: the labels of the edges, sorted.

    Examples
    --------
    >>> from skmetric.label_metrics import GraphMetric
    >>> g = GraphMetric([("a", "b"), ("b", "c")])
    >>> g.distances_from([0])
    array([[0., 1., 2.]])
    """

    def __init__(self, graph, labels=None):
        if sp.issparse(graph):
            G = sp.csr_matrix(graph, dtype=np.float64)
            if G.shape[0] != G.shape[1]:
                raise ValueError(
                    f"The label graph adjacency matrix must be square, got shape {G.shape}."
                )
            _check_finite_matrix(G, "The label graph")
            G.eliminate_zeros()
            if labels is None:
                labels = np.arange(G.shape[0])
            labels = _as_labels(labels)
            if labels.size != G.shape[0]:
                raise ValueError(
                    f"`labels` has {labels.size} entries but the label graph has "
                    f"{G.shape[0]} nodes."
                )
        else:
            edges = list(graph)
            if not edges or any(len(e) not in (2, 3) for e in edges):
                raise ValueError(
                    "A label graph edge list must be a non-empty sequence of "
                    "(u, v) or (u, v, length) rows."
                )
            u = np.asarray([e[0] for e in edges])
            v = np.asarray([e[1] for e in edges])
            if all(len(e) == 3 for e in edges):
                w = np.asarray([e[2] for e in edges], dtype=np.float64)
            elif all(len(e) == 2 for e in edges):
                w = np.ones(len(edges))
            else:
                raise ValueError("Edge list rows must all have 2 entries or all have 3.")
            if not np.isfinite(w).all():
                raise ValueError("The label graph contains NaN or infinity.")
            if (w <= 0).any():
                raise ValueError(
                    f"Edge lengths of the label graph must be positive (minimum {w.min():.6g})."
                )
            if labels is None:
                labels = np.unique(np.concatenate([u, v]))
            labels = _as_labels(labels)
            self.labels = labels
            iu = self.index(u, name="Edge endpoints")
            iv = self.index(v, name="Edge endpoints")
            K = labels.size
            G = sp.csr_matrix((w, (iu, iv)), shape=(K, K))
        self.graph = G
        self.labels = labels
        self._index = None
        self._unweighted = bool(G.nnz) and bool(np.all(G.data == 1.0))

    def distances_from(self, sources):
        sources = np.asarray(sources, dtype=np.intp)
        D = dijkstra(
            self.graph, directed=False, indices=sources, unweighted=self._unweighted
        )
        D = np.atleast_2d(D)
        if not np.isfinite(D).all():
            r, c = np.argwhere(~np.isfinite(D))[0]
            raise ValueError(
                f"The label graph is disconnected: label {self.labels[[c]].tolist()[0]!r} "
                f"cannot be reached from label {self.labels[[sources[r]]].tolist()[0]!r}."
            )
        return D


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
    >>> from skmetric.label_metrics import TreeMetric
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


class EmbeddingMetric(LabelMetric):
    """Distances between label embeddings (Loki's self-derived metric).

    Parameters
    ----------
    embeddings : array-like of shape (n_labels, n_dims)
        One vector per label (e.g. class means, or text embeddings of the
        class names).
    labels : array-like of shape (n_labels,), default=None
        Names of the rows; ``None`` means ``0, ..., n_labels - 1``.
    metric : {"euclidean", "cosine"}, default="euclidean"
        ``"euclidean"``: ``d = ||e_a - e_b||``; ``"cosine"``:
        ``d = 1 - cos(e_a, e_b)``.

    Notes
    -----
    With the Euclidean metric, ``sum_i p_i ||e_y - e_i||^2 = ||e_y - e_bar||^2
    + const`` with ``e_bar = sum_i p_i e_i``, so prediction costs
    O(n K n_dims) and nothing of size (m, K) is stored.

    Examples
    --------
    >>> from skmetric.label_metrics import EmbeddingMetric
    >>> EmbeddingMetric([[0, 0], [3, 4]]).distances_from([0])
    array([[0., 5.]])
    """

    def __init__(self, embeddings, labels=None, metric="euclidean"):
        E = np.asarray(embeddings, dtype=np.float64)
        if E.ndim != 2:
            raise ValueError(
                f"Label embeddings must be 2-D (n_labels, n_dims), got shape {E.shape}."
            )
        if not np.isfinite(E).all():
            raise ValueError("The label embeddings contain NaN or infinity.")
        if metric not in ("euclidean", "cosine"):
            raise ValueError(
                f"`embedding_metric` must be 'euclidean' or 'cosine', got {metric!r}."
            )
        if metric == "cosine":
            norms = np.linalg.norm(E, axis=1)
            if (norms == 0).any():
                raise ValueError(
                    "Cosine distance is undefined for a zero label embedding "
                    f"(row {int(np.flatnonzero(norms == 0)[0])})."
                )
            E = E / norms[:, None]
        if labels is None:
            labels = np.arange(E.shape[0])
        labels = _as_labels(labels)
        if labels.size != E.shape[0]:
            raise ValueError(
                f"`labels` has {labels.size} entries but there are {E.shape[0]} "
                "label embeddings."
            )
        self.E = E
        self.metric = metric
        self.labels = labels
        self._sqn = np.einsum("ij,ij->i", E, E)

    def _sq(self, sources):
        sources = np.asarray(sources, dtype=np.intp)
        Es = self.E[sources]
        if self.metric == "euclidean":
            D2 = self._sqn[sources][:, None] + self._sqn[None, :] - 2.0 * Es @ self.E.T
            np.maximum(D2, 0.0, out=D2)
            D2[np.arange(sources.size), sources] = 0.0
            return D2
        D = 1.0 - Es @ self.E.T
        np.maximum(D, 0.0, out=D)
        D[np.arange(sources.size), sources] = 0.0
        return D

    def distances_from(self, sources):
        D = self._sq(sources)
        return np.sqrt(D) if self.metric == "euclidean" else D

    def squared_distances_from(self, sources, dtype=np.float64):
        D = self._sq(sources)
        if self.metric == "cosine":
            D = np.square(D)
        return D.astype(dtype, copy=False)

    def _frechet_scorer(self, sources, dtype):
        if self.metric == "euclidean":
            return _EuclideanFrechet(self.E, self._sqn, np.asarray(sources), dtype)
        return super()._frechet_scorer(sources, dtype)


class _EuclideanFrechet:
    """sum_i p_i ||e_y - e_i||^2 = ||e_y||^2 - 2 e_y . e_bar + sum_i p_i ||e_i||^2."""

    def __init__(self, E, sqn, sources, dtype):
        self.E = E.astype(dtype, copy=False)
        self.sqn = sqn.astype(dtype, copy=False)
        self.Eo = self.E[sources]
        self.sqn_o = self.sqn[sources]

    def scores(self, P, start, stop):
        P = P.astype(self.E.dtype, copy=False)
        ebar = P @ self.Eo
        S = ebar @ self.E[start:stop].T
        S *= -2.0
        S += self.sqn[start:stop][None, :]
        S += (P @ self.sqn_o)[:, None]
        return S


class CallableMetric(LabelMetric):
    """A label metric given by a function of two arrays of labels.

    Parameters
    ----------
    func : callable
        ``func(a, b)`` takes two 1-D arrays of labels and returns the
        ``(len(a), len(b))`` array of distances (not squared) between them.
    labels : array-like of shape (n_labels,)
        The label space.

    Examples
    --------
    >>> import numpy as np
    >>> from skmetric.label_metrics import CallableMetric
    >>> m = CallableMetric(lambda a, b: np.abs(a[:, None] - b[None, :]), labels=[0, 1, 5])
    >>> m.distances_from([0])
    array([[0., 1., 5.]])
    """

    def __init__(self, func, labels):
        if not callable(func):
            raise ValueError("`func` must be callable.")
        self.func = func
        self.labels = _as_labels(labels)

    def distances_from(self, sources):
        sources = np.asarray(sources, dtype=np.intp)
        D = np.asarray(self.func(self.labels[sources], self.labels), dtype=np.float64)
        if D.shape != (sources.size, self.n_labels):
            raise ValueError(
                f"The label metric callable returned shape {D.shape}, expected "
                f"{(sources.size, self.n_labels)} (one row per label of its first "
                "argument, one column per label of its second)."
            )
        _check_finite_matrix(D, "The label metric callable's output")
        return D


class DiscreteMetric(LabelMetric):
    """The discrete metric: ``d(a, b) = 1`` if ``a != b`` else ``0``.

    With it, the Fréchet mean is the argmax of the probabilities (ties to the
    first class), and unobserved labels are never predicted.

    Parameters
    ----------
    labels : array-like of shape (n_labels,)
        The label space.

    Examples
    --------
    >>> from skmetric.label_metrics import DiscreteMetric
    >>> DiscreteMetric(["a", "b", "c"]).distances_from([1])
    array([[1., 0., 1.]])
    """

    def __init__(self, labels):
        self.labels = _as_labels(labels)

    def distances_from(self, sources):
        sources = np.asarray(sources, dtype=np.intp)
        D = np.ones((sources.size, self.n_labels))
        D[np.arange(sources.size), sources] = 0.0
        return D


def make_label_metric(
    label_metric, labels=None, *, metric_kind="auto", embedding_metric="euclidean"
):
    """Build a :class:`LabelMetric` from any accepted form.

    Parameters
    ----------
    label_metric : LabelMetric, array-like, sparse matrix, mapping, callable or None
        With ``metric_kind="auto"``: a :class:`LabelMetric` is returned as is;
        a sparse matrix is a graph adjacency; a mapping is a child -> parent
        tree; a callable is ``f(a, b)`` over label arrays; a numeric square
        2-D array is a distance matrix; a numeric non-square 2-D array holds
        label embeddings (one row per label); a list of tuples, or a
        non-numeric 2-D array with 2 or 3 columns, is an edge list; ``None``
        is the discrete metric over ``labels``.
    labels : array-like, default=None
        The label space (see each :class:`LabelMetric`).
    metric_kind : {"auto", "distances", "graph", "tree", "embeddings", "callable"}, default="auto"
        Force an interpretation, e.g. ``"embeddings"`` for K x K embeddings or
        ``"graph"`` for a numeric edge list.
    embedding_metric : {"euclidean", "cosine"}, default="euclidean"
        Distance between label embeddings.

    Returns
    -------
    metric : LabelMetric

    Examples
    --------
    >>> from skmetric.label_metrics import make_label_metric
    >>> make_label_metric({"cat": "animal", "dog": "animal"})
    TreeMetric(n_labels=3)
    """
    if metric_kind not in METRIC_KINDS:
        raise ValueError(f"`metric_kind` must be one of {METRIC_KINDS}, got {metric_kind!r}.")
    if isinstance(label_metric, LabelMetric):
        return label_metric
    if label_metric is None:
        if labels is None:
            raise ValueError("`label_metric=None` (the discrete metric) needs `labels`.")
        return DiscreteMetric(labels)
    kind = metric_kind
    if kind == "auto":
        if sp.issparse(label_metric):
            kind = "graph"
        elif isinstance(label_metric, Mapping):
            kind = "tree"
        elif callable(label_metric):
            kind = "callable"
        elif (
            isinstance(label_metric, (list, tuple))
            and label_metric
            and isinstance(label_metric[0], tuple)
        ):
            kind = "graph"
        else:
            arr = np.asarray(label_metric)
            if arr.ndim != 2:
                raise ValueError(
                    "`label_metric` must be a 2-D array (distance matrix, embeddings "
                    f"or edge list), a sparse graph, a tree mapping or a callable; got "
                    f"an array of shape {arr.shape}."
                )
            if arr.dtype.kind in "biuf":
                kind = "distances" if arr.shape[0] == arr.shape[1] else "embeddings"
            elif arr.shape[1] in (2, 3):
                kind = "graph"
            else:
                raise ValueError(
                    f"Cannot interpret a non-numeric array of shape {arr.shape} as a "
                    "label metric; an edge list has 2 or 3 columns."
                )
    if kind == "distances":
        return DistanceMatrix(label_metric, labels)
    if kind == "graph":
        return GraphMetric(label_metric, labels)
    if kind == "tree":
        return TreeMetric(label_metric, labels)
    if kind == "embeddings":
        return EmbeddingMetric(label_metric, labels, metric=embedding_metric)
    if labels is None:
        raise ValueError("A callable `label_metric` needs `labels` (the label space).")
    return CallableMetric(label_metric, labels)


# ----------------------------------------------------------------------------
# Locus and next-class selection
# ----------------------------------------------------------------------------


def _locus_mask(D2, *, strict, tol, n_samples, rng):
    """Boolean mask over the K labels: can label j be the Fréchet mean?

    ``D2`` is the (m, K) block of squared distances from the observed
    classes.  Label j is in the locus when some p in the simplex makes it a
    minimiser of ``p @ D2`` (``strict``: the unique minimiser).  Random and
    corner probability vectors settle most labels; an LP settles the rest:
    maximise t subject to ``p @ (D2[:, k] - D2[:, j]) >= t`` for all k.
    """
    m, K = D2.shape
    scale = max(1.0, float(D2.max()))
    inside = np.zeros(K, dtype=bool)
    # probability vectors to try: corners, uniform, random Dirichlet draws
    Ps = [np.eye(m), np.full((1, m), 1.0 / m)]
    if n_samples:
        for alpha in (1.0, 0.1):
            Ps.append(rng.dirichlet(np.full(m, alpha), size=n_samples))
    P = np.vstack(Ps)
    S = P @ D2
    best = S.min(axis=1)
    if strict:
        part = np.partition(S, 1, axis=1)[:, :2] if K > 1 else np.c_[best, best + np.inf]
        unique = part[:, 1] - part[:, 0] > tol * scale
        inside[np.argmin(S, axis=1)[unique]] = True
    else:
        inside[(S <= best[:, None] + tol * scale).any(axis=0)] = True
    for j in np.flatnonzero(~inside):
        diff = (D2 - D2[:, [j]]).T  # (K, m): p @ diff[k] >= t
        keep = np.ones(K, dtype=bool)
        keep[j] = False
        diff = diff[keep]
        # variables (p_1..p_m, t); minimise -t
        c = np.zeros(m + 1)
        c[-1] = -1.0
        A_ub = np.hstack([-diff, np.ones((diff.shape[0], 1))])
        b_ub = np.zeros(diff.shape[0])
        A_eq = np.hstack([np.ones((1, m)), np.zeros((1, 1))])
        res = linprog(
            c,
            A_ub=A_ub,
            b_ub=b_ub,
            A_eq=A_eq,
            b_eq=[1.0],
            bounds=[(0, None)] * m + [(None, scale)],
            method="highs",
        )
        t = -res.fun if res.status == 0 else -np.inf
        inside[j] = t > tol * scale if strict else t >= -tol * scale
    return inside


def locus(
    label_metric,
    observed,
    *,
    labels=None,
    metric_kind="auto",
    embedding_metric="euclidean",
    strict=False,
    tol=1e-9,
    n_samples=256,
    random_state=0,
):
    """Labels that the Fréchet mean can output from a set of observed classes.

    The locus of observed classes λ_1..λ_m is the set of labels y for which
    some probability vector p makes y a minimiser of
    ``sum_i p_i d(y, λ_i)^2``.  Labels outside it are never predicted by
    :class:`~skmetric.FrechetMeanPredictor`, whatever the model says, so the
    locus bounds the accuracy reachable on unseen labels.

    Membership is decided exactly by a linear program per label (after
    cheap checks at corner, uniform and random probability vectors), so the
    cost grows like K linear programs of size (K, m); it suits label spaces
    of up to a few thousand labels.

    Parameters
    ----------
    label_metric : LabelMetric or any form accepted by :func:`make_label_metric`
        The label metric.
    observed : array-like of shape (m,)
        The observed classes (labels of the label space).
    labels, metric_kind, embedding_metric
        Passed to :func:`make_label_metric`.
    strict : bool, default=False
        If True, keep only labels that are the *unique* minimiser for some p
        (labels tied with another one at every p are dropped).
    tol : float, default=1e-9
        Tolerance, relative to the largest squared distance.
    n_samples : int, default=256
        Random probability vectors tried before the linear programs.
    random_state : int, RandomState instance or None, default=0
        Seed for those random vectors (the result does not depend on it).

    Returns
    -------
    locus : ndarray
        The labels of the locus, in label-space order.

    Examples
    --------
    A path a - b - c with a and c observed: b is in the locus (it is the
    Fréchet mean of p = (1/2, 1/2)).

    >>> from skmetric.label_metrics import locus
    >>> locus([("a", "b"), ("b", "c")], ["a", "c"]).tolist()
    ['a', 'b', 'c']
    """
    lm = make_label_metric(
        label_metric, labels, metric_kind=metric_kind, embedding_metric=embedding_metric
    )
    obs = lm.index(np.unique(np.asarray(observed)), name="Observed classes")
    rng = np.random.default_rng(
        random_state
        if random_state is None or isinstance(random_state, Integral)
        else random_state.randint(2**31)
    )
    D2 = lm.squared_distances_from(obs)
    mask = _locus_mask(D2, strict=strict, tol=tol, n_samples=n_samples, rng=rng)
    return lm.labels[mask]


def select_next_classes(
    label_metric,
    observed,
    n_classes=1,
    *,
    candidates=None,
    labels=None,
    metric_kind="auto",
    embedding_metric="euclidean",
    strict=False,
):
    """Greedily choose classes to observe next so the locus covers the labels.

    At each step, the candidate whose addition to the observed classes gives
    the largest :func:`locus` is chosen (ties to the first candidate in label
    order).  This is a greedy version of Loki's active next-class selection:
    labels are worth training on when they make many other labels
    predictable.

    Parameters
    ----------
    label_metric : LabelMetric or any form accepted by :func:`make_label_metric`
        The label metric.
    observed : array-like of shape (m,)
        Classes observed already (may be empty).
    n_classes : int, default=1
        Number of classes to select.
    candidates : array-like, default=None
        Labels that may be selected; ``None`` means every unobserved label.
    labels, metric_kind, embedding_metric, strict
        As in :func:`locus`.

    Returns
    -------
    selected : ndarray of shape (n_classes,)
        The selected labels, in selection order.
    locus_sizes : ndarray of shape (n_classes,)
        Size of the locus after each selection.

    Examples
    --------
    On a path a - b - c - d - e, observing the two ends makes every label
    predictable.

    >>> from skmetric.label_metrics import select_next_classes
    >>> path = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")]
    >>> sel, sizes = select_next_classes(path, ["a"], n_classes=1)
    >>> sel.tolist(), sizes.tolist()
    (['e'], [5])
    """
    lm = make_label_metric(
        label_metric, labels, metric_kind=metric_kind, embedding_metric=embedding_metric
    )
    obs = list(lm.index(np.asarray(observed).ravel(), name="Observed classes"))
    if candidates is None:
        cand = [i for i in range(lm.n_labels) if i not in set(obs)]
    else:
        cand = list(lm.index(np.asarray(candidates).ravel(), name="Candidates"))
    if n_classes > len(cand):
        raise ValueError(
            f"`n_classes`={n_classes} exceeds the {len(cand)} candidate classes."
        )
    rng = np.random.default_rng(0)
    selected, sizes = [], []
    for _ in range(n_classes):
        best, best_size = None, -1
        for c in cand:
            D2 = lm.squared_distances_from(np.array(obs + [c]))
            size = int(_locus_mask(D2, strict=strict, tol=1e-9, n_samples=64, rng=rng).sum())
            if size > best_size:
                best, best_size = c, size
        obs.append(best)
        cand.remove(best)
        selected.append(best)
        sizes.append(best_size)
    return lm.labels[np.array(selected, dtype=np.intp)], np.array(sizes)


# ----------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------


def expected_squared_distance(
    y_true,
    y_pred,
    label_metric=None,
    *,
    labels=None,
    metric_kind="auto",
    embedding_metric="euclidean",
    sample_weight=None,
):
    """Mean squared label distance between true and predicted labels.

    ``E[d(y, ŷ)^2]``, Loki's evaluation measure (lower is better); it is 0-1
    error under the discrete metric.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels, both in the label space.
    label_metric : LabelMetric or any form accepted by :func:`make_label_metric`, default=None
        The label metric; ``None`` is the discrete metric over ``labels`` (or
        over the labels present in ``y_true`` and ``y_pred``).
    labels, metric_kind, embedding_metric
        Passed to :func:`make_label_metric`.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    esd : float

    Examples
    --------
    >>> from skmetric.label_metrics import expected_squared_distance
    >>> tree = {"cat": "animal", "dog": "animal"}
    >>> expected_squared_distance(["cat", "dog"], ["cat", "cat"], tree)
    2.0
    """
    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"`y_true` and `y_pred` have different lengths: {y_true.size} != {y_pred.size}."
        )
    if label_metric is None and labels is None:
        labels = np.unique(np.concatenate([y_true, y_pred]))
    lm = make_label_metric(
        label_metric, labels, metric_kind=metric_kind, embedding_metric=embedding_metric
    )
    a = lm.index(y_true, name="Labels of y_true")
    b = lm.index(y_pred, name="Labels of y_pred")
    return float(np.average(lm.pair_squared_distances(a, b), weights=sample_weight))


class _ExpectedSquaredDistanceScorer:
    """Scorer ``(estimator, X, y) -> -expected_squared_distance``."""

    def __init__(self, label_metric=None, **kwargs):
        self.label_metric = label_metric
        self.kwargs = kwargs

    def __call__(self, estimator, X, y, sample_weight=None):
        y_pred = estimator.predict(X)
        metric = self.label_metric
        if metric is None:
            metric = getattr(estimator, "label_metric_", None)
            if metric is None:
                raise ValueError(
                    "expected_squared_distance scorer without a label metric needs an "
                    "estimator with a fitted `label_metric_` (FrechetMeanPredictor)."
                )
        return -expected_squared_distance(
            y, y_pred, metric, sample_weight=sample_weight, **self.kwargs
        )

    def __repr__(self):
        what = "estimator.label_metric_" if self.label_metric is None else "label_metric"
        return f"make_expected_squared_distance_scorer({what}, greater_is_better=False)"


def make_expected_squared_distance_scorer(label_metric=None, **kwargs):
    """Scorer for ``GridSearchCV``: the negated :func:`expected_squared_distance`.

    Parameters
    ----------
    label_metric : LabelMetric or any form accepted by :func:`make_label_metric`, default=None
        The metric to evaluate with.  ``None`` uses the fitted estimator's
        ``label_metric_`` (so each candidate is judged by its own metric; give
        a fixed metric when the grid varies the metric).
    **kwargs
        ``labels``, ``metric_kind``, ``embedding_metric`` for
        :func:`make_label_metric`.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)``; greater is better.

    Examples
    --------
    >>> from skmetric.label_metrics import make_expected_squared_distance_scorer
    >>> make_expected_squared_distance_scorer({"cat": "animal", "dog": "animal"})
    make_expected_squared_distance_scorer(label_metric, greater_is_better=False)
    """
    if label_metric is not None and not isinstance(label_metric, LabelMetric):
        label_metric = make_label_metric(label_metric, **kwargs)
        kwargs = {}
    return _ExpectedSquaredDistanceScorer(label_metric, **kwargs)


#: Scorer using the fitted estimator's own ``label_metric_``.
expected_squared_distance_scorer = make_expected_squared_distance_scorer()

"""The locus: labels that the Fréchet mean can output from observed classes."""

from numbers import Integral

import numpy as np
from scipy.optimize import linprog
from scipy.sparse.csgraph import breadth_first_order, dijkstra

from ._factory import make_label_metric
from ._graph import GraphMetric
from ._tree import TreeMetric


def _tree_shape(lm):
    """``(parent, hop_depth, min_edge, max_depth)`` if ``lm`` is a tree metric, else None.

    A :class:`TreeMetric`, or a connected :class:`GraphMetric` with K - 1
    edges (``max_depth``: the largest path length from the root; edge
    lengths come from the weighted depths).
    """
    if isinstance(lm, TreeMetric):
        return lm.parent, lm.depth, 1.0, float(lm.depth.max())
    if not isinstance(lm, GraphMetric) or lm.n_labels < 2:
        return None
    G = lm.graph
    S = (G + G.T).tocsr()
    if S.nnz != 2 * (lm.n_labels - 1):
        return None
    hops = dijkstra(S, indices=0, unweighted=True)
    if not np.isfinite(hops).all():
        return None
    _, parent = breadth_first_order(S, 0, directed=True, return_predecessors=True)
    parent = np.where(parent < 0, -1, parent).astype(np.intp)
    wdepth = dijkstra(G, directed=False, indices=0)
    child = np.flatnonzero(parent >= 0)
    min_edge = float((wdepth[child] - wdepth[parent[child]]).min())
    return parent, hops.astype(np.intp), min_edge, float(wdepth.max())


def _steiner_mask(parent, depth, obs):
    """Labels on a path between two observed labels of a tree (and the observed).

    Rooted anywhere, a node is on such a path when its subtree holds an
    observed label and either the rest of the tree holds one too, or it is
    observed, or two of its children's subtrees hold one.
    """
    K = parent.size
    observed = np.zeros(K, dtype=bool)
    observed[obs] = True
    below = observed.astype(np.intp)  # observed labels in each subtree
    order = np.argsort(depth, kind="stable")
    bounds = np.searchsorted(depth[order], np.arange(depth.max() + 2))
    for d in range(depth.max(), 0, -1):
        nodes = order[bounds[d] : bounds[d + 1]]
        np.add.at(below, parent[nodes], below[nodes])
    hit = np.flatnonzero((below > 0) & (parent >= 0))
    branches = np.zeros(K, dtype=np.intp)
    np.add.at(branches, parent[hit], 1)
    return (below > 0) & ((below < observed.sum()) | observed | (branches >= 2))


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

    On a tree (a :class:`TreeMetric`, or a graph with K - 1 edges that
    connects every label) the locus is exactly the set of labels on paths
    between observed classes (strict or not), found in O(K): 100,000 labels
    take well under a second.  Otherwise membership is decided exactly by a
    linear program per label (after cheap checks at corner, uniform and
    random probability vectors), so the cost grows like K linear programs of
    size (K, m); that suits label spaces of up to a few thousand labels.

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

    >>> from skmetric.label_space import locus
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
    tree = _tree_shape(lm)
    if tree is not None:
        parent, depth, min_edge, max_depth = tree
        # On a tree the locus is the union of the paths between observed
        # labels, strict or not: with p on the two ends of a path, a label on
        # it is the unique minimiser by a margin of at least (shortest edge)^2
        # and a label off every such path is beaten by where it joins them by
        # as much.  That margin must clear the tolerance.
        if min_edge**2 > tol * max(1.0, (2.0 * max_depth) ** 2):
            return lm.labels[_steiner_mask(parent, depth, obs)]
    D2 = lm.squared_distances_from(obs)
    mask = _locus_mask(D2, strict=strict, tol=tol, n_samples=n_samples, rng=rng)
    return lm.labels[mask]

"""Retrieval metrics on an embedding: Recall@K (hit@K), Precision@K, R-Precision,
MAP@R, mean average precision and MRR.

Semantics follow pytorch-metric-learning's ``AccuracyCalculator`` (see
``papers.md`` section E) with three deliberate differences: the search depth
sizes itself to the largest R so R-Precision and MAP@R are always exact, the
self-match is removed by index in every case, and ties are broken by
reference index.
"""

import warnings
from numbers import Integral

import numpy as np
import torch

from ..neighbors import (
    DEFAULT_MEMORY_BUDGET,
    _check_embedding,
    _check_metric,
    _check_querybank,
    _iter_knn,
    _iter_knn_querybank,
)
from ..utils._validation import check_consistent_length
from ._retrieval_loo import _iter_loo_knn, _loo_plan

__all__ = [
    "recall_at_k",
    "precision_at_k",
    "r_precision",
    "map_at_r",
    "mean_average_precision",
    "mrr",
    "retrieval_report",
]


def _check_k(k, name="k"):
    if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
        raise ValueError(f"`{name}` must be an integer >= 1; got {k!r}.")
    return int(k)


def _check_labels(labels, name, n_samples, X_name):
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels.ravel()
    if labels.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D; got an array of shape {labels.shape}.")
    if labels.shape[0] != n_samples:
        raise ValueError(
            f"{X_name} has {n_samples} samples but `{name}` has {labels.shape[0]}."
        )
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        raise ValueError(f"`{name}` contains NaN or infinity.")
    if labels.dtype == object and len({isinstance(v, str) for v in labels}) > 1:
        raise ValueError(f"`{name}` is a mix of strings and numbers; use one type.")
    return labels


class _Setup:
    """Validated inputs of a retrieval metric, with encoded labels and R."""

    def __init__(self, X, labels, X_ref, labels_ref, metric, querybank=None, beta=20.0,
                 querybank_k=1):
        _check_metric(metric)
        self.metric = metric
        self.loo = X_ref is None
        if self.loo and labels_ref is not None:
            raise ValueError("`labels_ref` was given without `X_ref`.")
        if not self.loo and labels_ref is None:
            raise ValueError("`X_ref` was given without `labels_ref`.")
        self.X = _check_embedding(X, "X", min_samples=2 if self.loo else 1)
        labels = _check_labels(labels, "labels", self.X.shape[0], "X")
        if self.loo:
            self.X_ref = None
            n_ref = self.X.shape[0]
            both = labels
        else:
            self.X_ref = _check_embedding(X_ref, "X_ref")
            if self.X_ref.shape[1] != self.X.shape[1]:
                raise ValueError(
                    f"X has {self.X.shape[1]} features but X_ref has {self.X_ref.shape[1]}."
                )
            labels_ref = _check_labels(labels_ref, "labels_ref", self.X_ref.shape[0], "X_ref")
            n_ref = self.X_ref.shape[0]
            both = np.concatenate([labels, labels_ref])
        _, codes = np.unique(both, return_inverse=True)
        codes = codes.ravel().astype(np.int64)
        self.y = codes[: self.X.shape[0]]
        self.y_ref = self.y if self.loo else codes[self.X.shape[0] :]
        counts = np.bincount(self.y_ref, minlength=codes.max() + 1)
        self.R = counts[self.y] - (1 if self.loo else 0)
        self.n_ref = n_ref
        self.n_available = n_ref - 1 if self.loo else n_ref
        self.valid = self.R > 0
        self.n_excluded = int((~self.valid).sum())
        self.querybank = None
        if querybank is not None:
            self.querybank, self.beta, self.querybank_k = _check_querybank(
                querybank, beta, querybank_k, self.X.shape[1], n_ref)

    def search(self, depth, memory_budget, device=None):
        """Yield ``(R, relevance)`` per block of non-lone queries.

        ``relevance`` is a bool array of shape (n_block, depth): whether
        the j-th neighbour shares the query's label; ``R`` an int64 array.
        Both are numpy arrays: the labels are gathered by numpy's ``take``
        (at N = 50,000, torch's indexing of the same int64 labels took
        about 4 ms a block of 1,024 queries, numpy's a fraction of it).
        """
        depth = min(depth, self.n_available)
        rows = np.flatnonzero(self.valid)
        all_valid = len(rows) == len(self.valid)
        Xq = self.X if all_valid else self.X[rows]
        X_ref = self.X if self.loo else self.X_ref
        self_index = (rows if self.loo else None)
        y_q, R = self.y[rows], self.R[rows]
        plan = None
        if self.loo and self.querybank is None and device is None:
            plan = _loo_plan(self.X.shape[0], depth, self.X.itemsize, memory_budget)
        with torch.no_grad():
            if plan is not None:
                # Leave-one-out: one symmetric score matrix, half the matmul.
                for block, ind in _iter_loo_knn(self.X, depth, self.metric, plan,
                                                memory_budget):
                    ind = ind.numpy()
                    if not all_valid:
                        keep = self.valid.take(block)
                        block, ind = block[keep], ind[keep]
                    if len(block):
                        yield (self.R.take(block),
                               self.y.take(ind) == self.y.take(block)[:, None])
                return
            if self.querybank is not None:
                for block, _, ind in _iter_knn_querybank(
                    Xq, X_ref, depth, metric=self.metric, memory_budget=memory_budget,
                    querybank=self.querybank, beta=self.beta,
                    querybank_k=self.querybank_k, self_index=self_index, device=device,
                ):
                    block = np.asarray(block)
                    yield (R.take(block),
                           self.y_ref.take(ind.cpu().numpy()) == y_q.take(block)[:, None])
                return
            for q0, q1, _, ind in _iter_knn(
                Xq, X_ref, depth, metric=self.metric, memory_budget=memory_budget,
                self_index=self_index, device=device, return_distance=False,
            ):
                yield R[q0:q1], self.y_ref.take(ind.cpu().numpy()) == y_q[q0:q1, None]


def _warn_all_excluded(name, n_excluded, stacklevel):
    """Warn that no query of ``name`` has a relevant reference (the score is NaN)."""
    warnings.warn(
        f"{name}: every query's label has no other reference item "
        f"({n_excluded} queries excluded); returning NaN.",
        UserWarning,
        stacklevel=stacklevel + 1,
    )


def _finish(values, n_valid, n_excluded, name):
    if n_valid == 0:
        _warn_all_excluded(name, n_excluded, stacklevel=3)
        return float("nan")
    return float(values / n_valid)


class _Block:
    """Relevance rows of a block of queries, with shared intermediate results.

    ``rel`` is a bool array of shape (n, depth); ``R`` the number of
    relevant references of each query.  Statistics below are per query,
    float64 numpy arrays.  The R-metrics and AP are sums over the relevant
    neighbours only, each query's in rank order (``bincount`` sums its
    weights in order).
    """

    def __init__(self, rel, R):
        self.rel = rel
        self.R = R
        self._relevant = None

    @property
    def relevant(self):
        """Query ``q``, 0-based rank ``c`` and hits up to that rank (the
        number of relevant neighbours ranked at or above ``c``) of each
        relevant neighbour, in (query, rank) order."""
        if self._relevant is None:
            q, c = np.nonzero(self.rel)
            first = np.searchsorted(q, np.arange(len(self.rel)))
            self._relevant = q, c, np.arange(1, len(q) + 1) - first.take(q)
        return self._relevant

    def per_query(self, weights):
        """Sum of ``weights`` (one per relevant neighbour) for each query."""
        return np.bincount(self.relevant[0], weights, minlength=len(self.rel))


def _hit(b, k):
    return b.rel[:, :k].any(axis=1).astype(np.float64)


def _precision(b, k):
    return np.count_nonzero(b.rel[:, :k], axis=1) / k


def _r_precision(b):
    q, c, _ = b.relevant
    return b.per_query((c < b.R.take(q)).astype(np.float64)) / b.R


def _map_at_r(b):
    q, c, hits = b.relevant
    return b.per_query(np.where(c < b.R.take(q), hits / (c + 1.0), 0.0)) / b.R


def _average_precision(b):
    _, c, hits = b.relevant
    return b.per_query(hits / (c + 1.0)) / b.R


def _reciprocal_rank(b):
    first = b.rel.argmax(axis=1)
    any_rel = b.rel[np.arange(len(first)), first]
    return np.where(any_rel, 1.0 / (first + 1), 0.0)


def _run(setup, depth, stats, memory_budget):
    """Sum each per-query statistic over all non-lone queries."""
    totals = {name: 0.0 for name in stats}
    for R, rel in setup.search(depth, memory_budget):
        block = _Block(rel, R)
        for name, fn in stats.items():
            totals[name] += float(fn(block).sum())
    return totals


def _one(name, X, labels, X_ref, labels_ref, metric, memory_budget, depth_fn, stat, qb):
    setup = _Setup(X, labels, X_ref, labels_ref, metric, *qb)
    n_valid = int(setup.valid.sum())
    if n_valid == 0:
        return _finish(0.0, 0, setup.n_excluded, name)
    depth = depth_fn(setup)
    total = _run(setup, depth, {name: stat}, memory_budget)[name]
    return _finish(total, n_valid, setup.n_excluded, name)


def _max_r(setup):
    return int(setup.R[setup.valid].max())


def _depth_upto(k):
    """Search depth of a metric cut at ``k``: the whole ranking when ``k`` is None."""
    if k is None:
        return lambda setup: setup.n_available
    k = _check_k(k)
    return lambda setup: k


_PARAMS_DOC = """X : array-like of shape (n_queries, n_features)
        Query embeddings.
    labels : array-like of shape (n_queries,)
        Query labels (any hashable type, strings included).
    {k}X_ref : array-like of shape (n_references, n_features), default=None
        Reference embeddings.  ``None`` scores ``X`` leave-one-out: each
        query searches all other rows, its own row excluded by index.
    labels_ref : array-like of shape (n_references,), default=None
        Reference labels; required with ``X_ref``.
    metric : {{"euclidean", "cosine", "dot"}}, default="euclidean"
        Neighbour ranking: Euclidean distance, cosine similarity or inner
        product.
    memory_budget : int, default=268435456
        Bytes the kNN search may use (see :func:`skmetric.neighbors.kneighbors`).
    querybank : array-like of shape (n_bank, n_features), default=None
        A bank of queries (e.g. the training rows) for QB-Norm: the
        rankings are rescored by the dynamic inverted softmax, as in
        :func:`skmetric.neighbors.kneighbors`.  ``None``: plain ranking.
    beta : float, default=20.0
        QB-Norm's inverse temperature (> 0).
    querybank_k : int, default=1
        QB-Norm's activation depth: references within this many nearest
        neighbours of a bank row are active.

    Returns
    -------
    score : float
        Mean over the queries whose label has at least one other reference
        item (queries with no relevant item are excluded); NaN with a
        warning if there are none."""


def recall_at_k(X, labels, k=1, *, X_ref=None, labels_ref=None, metric="euclidean",
                memory_budget=DEFAULT_MEMORY_BUDGET,
                querybank=None, beta=20.0, querybank_k=1):
    """Recall@K as used in deep metric learning (hit rate at K).

    A query scores 1 if any of its ``k`` nearest references shares its
    label, else 0.  This is *not* the IR recall (relevant found / R).
    ``recall_at_k(k=1)`` equals ``precision_at_k(k=1)``.  A ``k`` larger
    than the reference set uses every reference.

    Parameters
    ----------
    {params}

    See Also
    --------
    precision_at_k, r_precision, map_at_r, retrieval_report

    Examples
    --------
    >>> import numpy as np
    >>> from skmetric.metrics import recall_at_k
    >>> X = np.array([[0.0], [0.1], [1.0], [1.1], [0.25]])
    >>> y = ["a", "a", "b", "b", "b"]
    >>> recall_at_k(X, y, k=1)
    0.8
    >>> recall_at_k(X, y, k=4)
    1.0
    """
    k = _check_k(k)
    return _one("recall_at_k", X, labels, X_ref, labels_ref, metric, memory_budget,
                lambda s: k, lambda b: _hit(b, k),
                (querybank, beta, querybank_k))


def precision_at_k(X, labels, k=1, *, X_ref=None, labels_ref=None, metric="euclidean",
                   memory_budget=DEFAULT_MEMORY_BUDGET,
                   querybank=None, beta=20.0, querybank_k=1):
    """Precision@K: the fraction of the ``k`` nearest references that share the label.

    Always divided by ``k``: with ``k`` larger than the reference set the
    missing positions count as not relevant.

    Parameters
    ----------
    {params}

    See Also
    --------
    recall_at_k, r_precision

    Examples
    --------
    >>> import numpy as np
    >>> from skmetric.metrics import precision_at_k
    >>> X = np.array([[0.0], [0.1], [1.0], [1.1], [0.25]])
    >>> y = ["a", "a", "b", "b", "b"]
    >>> precision_at_k(X, y, k=2)
    0.6
    """
    k = _check_k(k)
    return _one("precision_at_k", X, labels, X_ref, labels_ref, metric, memory_budget,
                lambda s: k, lambda b: _precision(b, k),
                (querybank, beta, querybank_k))


def r_precision(X, labels, *, X_ref=None, labels_ref=None, metric="euclidean",
                memory_budget=DEFAULT_MEMORY_BUDGET,
                querybank=None, beta=20.0, querybank_k=1):
    """R-Precision: Precision@R_q, with R_q the number of relevant references.

    Exact: the search depth is the largest R_q.

    Parameters
    ----------
    {params}

    See Also
    --------
    map_at_r, precision_at_k

    Examples
    --------
    >>> import numpy as np
    >>> from skmetric.metrics import r_precision
    >>> X = np.array([[0.0], [0.1], [1.0], [1.1], [0.25]])
    >>> y = ["a", "a", "b", "b", "b"]
    >>> round(r_precision(X, y), 4)
    0.8
    """
    return _one("r_precision", X, labels, X_ref, labels_ref, metric, memory_budget,
                _max_r, _r_precision,
                (querybank, beta, querybank_k))


def map_at_r(X, labels, *, X_ref=None, labels_ref=None, metric="euclidean",
             memory_budget=DEFAULT_MEMORY_BUDGET,
             querybank=None, beta=20.0, querybank_k=1):
    """MAP@R: (1/R) sum_{i<=R} P(i) rel_i, averaged over queries (Musgrave et al. 2020).

    Exact: the search depth is the largest R_q.

    Parameters
    ----------
    {params}

    See Also
    --------
    r_precision, mean_average_precision

    References
    ----------
    K. Musgrave, S. Belongie, S.-N. Lim, "A Metric Learning Reality Check",
    ECCV 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from skmetric.metrics import map_at_r
    >>> X = np.array([[0.0], [0.1], [1.0], [1.1], [0.25]])
    >>> y = ["a", "a", "b", "b", "b"]
    >>> round(map_at_r(X, y), 4)
    0.8
    """
    return _one("map_at_r", X, labels, X_ref, labels_ref, metric, memory_budget,
                _max_r, _map_at_r,
                (querybank, beta, querybank_k))


def mean_average_precision(X, labels, k=None, *, X_ref=None, labels_ref=None,
                           metric="euclidean", memory_budget=DEFAULT_MEMORY_BUDGET,
                           querybank=None, beta=20.0, querybank_k=1):
    """Mean average precision: (1/R) sum_{i<=k} P(i) rel_i, averaged over queries.

    With ``k=None`` (default) the whole ranking counts and this is the
    standard AP.  With an integer ``k`` only the first ``k`` neighbours
    count but the sum is still divided by R (pytorch-metric-learning's
    ``mean_average_precision``), which is not the IR "AP@k".

    Parameters
    ----------
    {params}

    Notes
    -----
    ``k=None`` ranks every reference for every query: time grows as
    N^2 log N (memory stays within ``memory_budget``).

    Examples
    --------
    >>> import numpy as np
    >>> from skmetric.metrics import mean_average_precision
    >>> X = np.array([[0.0], [0.1], [1.0], [1.1], [0.25]])
    >>> y = ["a", "a", "b", "b", "b"]
    >>> round(mean_average_precision(X, y), 4)
    0.8833
    """
    return _one("mean_average_precision", X, labels, X_ref, labels_ref, metric,
                memory_budget, _depth_upto(k), _average_precision,
                (querybank, beta, querybank_k))


def mrr(X, labels, k=None, *, X_ref=None, labels_ref=None, metric="euclidean",
        memory_budget=DEFAULT_MEMORY_BUDGET,
        querybank=None, beta=20.0, querybank_k=1):
    """Mean reciprocal rank: 1/rank of the first relevant neighbour (0 beyond ``k``).

    ``k=None`` (default) searches the whole ranking, so no query scores 0.

    Parameters
    ----------
    {params}

    Examples
    --------
    >>> import numpy as np
    >>> from skmetric.metrics import mrr
    >>> X = np.array([[0.0], [0.1], [1.0], [1.1], [0.25]])
    >>> y = ["a", "a", "b", "b", "b"]
    >>> round(mrr(X, y), 4)
    0.8667
    """
    return _one("mrr", X, labels, X_ref, labels_ref, metric, memory_budget,
                _depth_upto(k), _reciprocal_rank,
                (querybank, beta, querybank_k))


def retrieval_report(X, labels, ks=(1, 2, 4, 8), *, X_ref=None, labels_ref=None,
                     metric="euclidean", depth=None, memory_budget=DEFAULT_MEMORY_BUDGET,
                     querybank=None, beta=20.0, querybank_k=1):
    """Every retrieval metric from one kNN search, as a dict.

    Parameters
    ----------
    X : array-like of shape (n_queries, n_features)
        Query embeddings.
    labels : array-like of shape (n_queries,)
        Query labels.
    ks : sequence of int, default=(1, 2, 4, 8)
        The K of ``recall@K`` and ``precision@K``.
    X_ref, labels_ref : array-like, default=None
        Reference set; ``None`` scores ``X`` leave-one-out.
    metric : {"euclidean", "cosine", "dot"}, default="euclidean"
        Neighbour ranking.
    depth : int or "all", default=None
        Search depth.  ``None`` uses ``max(max(ks), max R)``, which makes
        every metric exact except ``mean_average_precision`` and ``mrr``,
        which are then computed within that depth.  ``"all"`` ranks every
        reference (exact mAP and MRR, time N^2 log N).
    memory_budget : int, default=268435456
        Bytes the kNN search may use.
    querybank, beta, querybank_k
        QB-Norm rescoring of the rankings (see :func:`recall_at_k`);
        ``querybank=None`` (default) ranks by ``metric`` alone.

    Returns
    -------
    report : dict
        ``"recall@K"`` and ``"precision@K"`` for each K, ``"r_precision"``,
        ``"map@r"``, ``"mean_average_precision"``, ``"mrr"``, plus
        ``"depth"`` (the search depth used), ``"n_queries"`` (queries
        scored) and ``"n_excluded"`` (queries left out because no other
        reference shares their label).

    Examples
    --------
    >>> import numpy as np
    >>> from skmetric.metrics import retrieval_report
    >>> X = np.array([[0.0], [0.1], [1.0], [1.1], [0.25]])
    >>> y = ["a", "a", "b", "b", "b"]
    >>> report = retrieval_report(X, y, ks=(1, 2))
    >>> report["recall@1"], report["recall@2"], report["n_excluded"]
    (0.8, 0.8, 0)
    """
    ks = [_check_k(k, "ks") for k in np.atleast_1d(np.asarray(ks, dtype=object))]
    if len(ks) == 0:
        raise ValueError("`ks` must hold at least one integer >= 1.")
    setup = _Setup(X, labels, X_ref, labels_ref, metric, querybank, beta, querybank_k)
    n_valid = int(setup.valid.sum())
    if depth is None:
        depth = max(max(ks), _max_r(setup) if n_valid else 1)
    elif isinstance(depth, str) and depth == "all":
        depth = setup.n_available
    else:
        depth = _check_k(depth, "depth")
    depth = min(depth, setup.n_available)
    stats = {}
    for k in ks:
        stats[f"recall@{k}"] = lambda b, k=k: _hit(b, k)
        stats[f"precision@{k}"] = lambda b, k=k: _precision(b, k)
    if depth >= (_max_r(setup) if n_valid else 1):
        stats["r_precision"] = _r_precision
        stats["map@r"] = _map_at_r
    stats["mean_average_precision"] = _average_precision
    stats["mrr"] = _reciprocal_rank
    if n_valid:
        totals = _run(setup, depth, stats, memory_budget)
    else:
        totals = {name: 0.0 for name in stats}
    report = {}
    with warnings.catch_warnings():
        if n_valid == 0:
            _warn_all_excluded("retrieval_report", setup.n_excluded, stacklevel=2)
        warnings.simplefilter("ignore")
        for name in stats:
            report[name] = _finish(totals[name], n_valid, setup.n_excluded, name)
    if "r_precision" not in report:
        # A depth below the largest R cannot give exact R-metrics: say so.
        report["r_precision"] = report["map@r"] = float("nan")
    report["depth"] = int(depth)
    report["n_queries"] = n_valid
    report["n_excluded"] = setup.n_excluded
    return report


for _f in (recall_at_k, precision_at_k, r_precision, map_at_r, mean_average_precision, mrr):
    _k_doc = ("k : int, default=1\n        Number of neighbours.\n    "
              if _f in (recall_at_k, precision_at_k) else
              "k : int, default=None\n        Search depth; ``None`` is the whole ranking.\n    "
              if _f in (mean_average_precision, mrr) else "")
    _f.__doc__ = _f.__doc__.replace("{params}", _PARAMS_DOC.format(k=_k_doc))
del _f, _k_doc

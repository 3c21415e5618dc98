"""Pair verification metrics: ROC-AUC, EER, FAR/FRR at a threshold, and OPIS.

Every unordered pair ``i < j`` of samples is a trial: *genuine* when the two
labels are equal, *impostor* otherwise.  A pair is accepted when its
similarity reaches the threshold.  Similarity is the cosine (``"cosine"``),
the inner product (``"dot"``) or minus the Euclidean distance
(``"euclidean"``; thresholds are then given as distances: accept when the
distance is at most the threshold).  These functions hold all
``n (n - 1) / 2`` pair scores in memory: subsample large sets.
"""

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from ..neighbors import _check_embedding, _check_metric
from ._retrieval import _check_labels

__all__ = ["pair_roc_auc", "equal_error_rate", "far_frr", "opis", "pair_scores"]


def pair_scores(X, labels, *, metric="cosine"):
    """Similarity and genuine flag of every pair ``i < j``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Embeddings.
    labels : array-like of shape (n_samples,)
        Labels.
    metric : {"cosine", "dot", "euclidean"}, default="cosine"
        Similarity: cosine, inner product, or minus the Euclidean distance.

    Returns
    -------
    scores : ndarray of shape (n_pairs,)
    genuine : ndarray of bool, shape (n_pairs,)
    first, second : ndarray of int, shape (n_pairs,)
        Row indices of the two ends of each pair.
    """
    _check_metric(metric)
    X = _check_embedding(X, "X", min_samples=2).astype(np.float64)
    labels = _check_labels(labels, "labels", X.shape[0], "X")
    _, y = np.unique(labels, return_inverse=True)
    y = y.ravel()
    i, j = np.triu_indices(X.shape[0], k=1)
    if metric == "cosine":
        Xn = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), np.finfo(float).tiny)
        S = Xn @ Xn.T
    elif metric == "dot":
        S = X @ X.T
    else:
        sq = (X * X).sum(1)
        S = -np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * X @ X.T, 0))
    return S[i, j], y[i] == y[j], i, j, y


def _checked_pair_scores(X, labels, metric):
    """:func:`pair_scores`, with an error when genuine or impostor pairs are missing."""
    s, genuine, i, j, y = pair_scores(X, labels, metric=metric)
    n_gen = int(genuine.sum())
    if n_gen == 0 or n_gen == len(genuine):
        kind = "genuine (same-label)" if n_gen == 0 else "impostor (different-label)"
        raise ValueError(f"At least one {kind} pair is needed; `labels` has none.")
    return s, genuine, i, j, y


def pair_roc_auc(X, labels, *, metric="cosine"):
    """ROC-AUC of pair similarities: the probability that a genuine pair
    scores higher than an impostor pair (ties count one half).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Embeddings.
    labels : array-like of shape (n_samples,)
        Labels.
    metric : {"cosine", "dot", "euclidean"}, default="cosine"
        Similarity used to score pairs.

    Returns
    -------
    auc : float

    Examples
    --------
    >>> import numpy as np
    >>> from skmetric.metrics import pair_roc_auc
    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> pair_roc_auc(X, [0, 0, 1, 1])
    1.0
    """
    s, g, *_ = _checked_pair_scores(X, labels, metric)
    return float(roc_auc_score(g, s))


def equal_error_rate(X, labels, *, metric="cosine"):
    """Equal error rate: where the false-accept and false-reject rates meet.

    The ROC curve is linear between its points; the EER is where it crosses
    FAR = FRR.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Embeddings.
    labels : array-like of shape (n_samples,)
        Labels.
    metric : {"cosine", "dot", "euclidean"}, default="cosine"
        Similarity used to score pairs.

    Returns
    -------
    eer : float
        Lower is better.

    Examples
    --------
    >>> import numpy as np
    >>> from skmetric.metrics import equal_error_rate
    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> equal_error_rate(X, [0, 0, 1, 1])
    0.0
    """
    s, g, *_ = _checked_pair_scores(X, labels, metric)
    fpr, tpr, _ = roc_curve(g, s, drop_intermediate=False)
    fnr = 1 - tpr
    diff = fnr - fpr  # decreasing from 1 to -1 along the curve
    k = int(np.flatnonzero(diff <= 0)[0])
    if k == 0 or diff[k] == 0:
        return float(fpr[k])
    # Linear interpolation between points k-1 (diff > 0) and k (diff <= 0).
    w = diff[k - 1] / (diff[k - 1] - diff[k])
    return float(fpr[k - 1] + w * (fpr[k] - fpr[k - 1]))


def far_frr(X, labels, threshold, *, metric="cosine"):
    """False-accept and false-reject rates at a threshold.

    FAR = impostor pairs accepted / impostor pairs; FRR = genuine pairs
    rejected / genuine pairs.  A pair is accepted when its similarity is
    ``>= threshold`` (``metric="euclidean"``: when its distance is
    ``<= threshold``).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Embeddings.
    labels : array-like of shape (n_samples,)
        Labels.
    threshold : float or array-like of float
        Decision threshold(s).
    metric : {"cosine", "dot", "euclidean"}, default="cosine"
        Similarity used to score pairs.

    Returns
    -------
    far, frr : float or ndarray
        Same shape as ``threshold``.

    Examples
    --------
    >>> import numpy as np
    >>> from skmetric.metrics import far_frr
    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> far_frr(X, [0, 0, 1, 1], 0.5)
    (0.0, 0.0)
    """
    t = np.asarray(threshold, dtype=np.float64)
    if not np.isfinite(t).all():
        raise ValueError("`threshold` must be finite.")
    s, g, *_ = _checked_pair_scores(X, labels, metric)
    if metric == "euclidean":
        t = -t
    pos, neg = np.sort(s[g]), np.sort(s[~g])
    # Accepted: score >= t.
    far = (len(neg) - np.searchsorted(neg, t, side="left")) / len(neg)
    frr = np.searchsorted(pos, t, side="left") / len(pos)
    if t.ndim == 0:
        return float(far), float(frr)
    return far, frr


def opis(X, labels, *, metric="cosine", far_range=(1e-3, 1e-1), n_thresholds=101):
    """Operating-point inconsistency score (OPIS) of Zhang et al. (TCM, ICLR 2024).

    The variance across classes of a per-class utility, integrated over a
    calibration range of thresholds::

        OPIS = sum_i int (U(i, d) - mean_i U(i, d))^2 dd / (T (d_max - d_min))

    Here U(i, d) is the harmonic mean of class i's true-accept rate (its
    genuine pairs scoring ``>= d``) and true-reject rate (impostor pairs
    with an end in class i scoring ``< d``); the calibration range
    [d_min, d_max] is the thresholds whose overall false-accept rate lies in
    ``far_range``; the integral is a trapezoid rule over ``n_thresholds``
    points.  Classes with no genuine pair are left out.  Lower is more
    consistent.  The utility and range follow ``papers.md`` (D1), where they
    are marked unverified against the paper.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Embeddings.
    labels : array-like of shape (n_samples,)
        Labels.
    metric : {"cosine", "dot", "euclidean"}, default="cosine"
        Similarity used to score pairs.
    far_range : tuple of float, default=(1e-3, 1e-1)
        Overall false-accept rates bounding the calibration range.
    n_thresholds : int, default=101
        Grid size of the integral.

    Returns
    -------
    opis : float

    References
    ----------
    Q. Zhang et al., "Threshold-Consistent Margin Loss for Open-World Deep
    Metric Learning", ICLR 2024, arXiv:2307.04047.

    Examples
    --------
    >>> import numpy as np
    >>> from skmetric.metrics import opis
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 4)) + np.repeat(np.eye(4)[:3] * 3, 20, axis=0)
    >>> round(opis(X, np.repeat([0, 1, 2], 20)), 4) >= 0
    True
    """
    lo, hi = (float(v) for v in far_range)
    if not 0 <= lo <= hi <= 1:
        raise ValueError(f"`far_range` must satisfy 0 <= low <= high <= 1; got {far_range!r}.")
    if int(n_thresholds) < 2:
        raise ValueError(f"`n_thresholds` must be an integer >= 2; got {n_thresholds!r}.")
    s, g, i, j, y = _checked_pair_scores(X, labels, metric)
    neg = s[~g]
    # FAR(d) = P(neg >= d); FAR = f at the (1 - f) quantile of impostor scores.
    d_min, d_max = np.quantile(neg, [1 - hi, 1 - lo])
    grid = np.linspace(d_min, d_max, int(n_thresholds))
    utilities = []
    for c in np.unique(y):
        pos_c = s[g & (y[i] == c)]
        neg_c = s[~g & ((y[i] == c) | (y[j] == c))]
        if len(pos_c) == 0 or len(neg_c) == 0:
            continue
        pos_c, neg_c = np.sort(pos_c), np.sort(neg_c)
        tar = (len(pos_c) - np.searchsorted(pos_c, grid, side="left")) / len(pos_c)
        trr = np.searchsorted(neg_c, grid, side="left") / len(neg_c)
        denom = tar + trr
        utilities.append(np.where(denom > 0, 2 * tar * trr / np.where(denom > 0, denom, 1), 0.0))
    U = np.array(utilities)
    dev = ((U - U.mean(axis=0)) ** 2).mean(axis=0)
    if d_max == d_min:
        return float(dev[0])
    return float(np.trapezoid(dev, grid) / (d_max - d_min))

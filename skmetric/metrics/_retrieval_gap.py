"""Global average precision (GAP), the metric of the Google Landmarks v2 challenges."""

import warnings

import numpy as np

__all__ = ["global_average_precision"]


def _as_1d(values, name):
    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D; got an array of shape {arr.shape}.")
    return arr


def _equal(a, b):
    """Element-wise ``a == b`` as a bool array, whatever the two dtypes."""
    out = np.asarray(a == b)
    if out.shape != a.shape:  # numpy could not compare element-wise
        out = np.array([x == y for x, y in zip(a, b)], dtype=bool)
    return out.astype(bool, copy=False)


def global_average_precision(y_true, y_pred, confidence, *, no_label=None):
    """Global average precision of one prediction per query (GAP, micro-AP).

    The predictions of all queries are ranked together by ``confidence``
    (largest first; equal confidences by query index) and

    .. math:: \\mathrm{GAP} = \\frac{1}{M} \\sum_{i=1}^{N} P(i)\\, \\mathrm{rel}(i)

    with ``N`` the number of predictions, ``P(i)`` the share of correct
    predictions among the first ``i``, ``rel(i) = 1`` if the ``i``-th
    prediction equals its query's true label, and ``M`` the number of
    queries that have a true label.  This is the metric of the Google
    Landmarks v2 recognition challenges: a query whose true label is
    ``no_label`` (no landmark) adds nothing to ``M`` and its prediction is
    always wrong, so confident predictions on such queries cost precision;
    a query with no prediction (``confidence`` NaN) is simply not ranked.
    GAP is 1 when every labelled query is predicted correctly and every
    wrong prediction ranks below all correct ones.

    Parameters
    ----------
    y_true : array-like of shape (n_queries,)
        True label of each query; ``no_label`` for a query without one.
    y_pred : array-like of shape (n_queries,)
        Predicted label of each query (e.g. the label of its nearest
        reference).
    confidence : array-like of float, shape (n_queries,)
        Confidence of each prediction, larger is surer (e.g. the negated
        distance to that reference); NaN means the query has no prediction.
    no_label : object, default=None
        The value of ``y_true`` that marks a query without a true label
        (e.g. ``-1``); ``None`` with an object array, or a value that does not
        occur, makes every query labelled.

    Returns
    -------
    score : float
        GAP in [0, 1]; NaN with a warning when no query has a true label.

    References
    ----------
    T. Weyand, A. Araujo, B. Cao, J. Sim, "Google Landmarks Dataset v2 -- A
    Large-Scale Benchmark for Instance-Level Recognition and Retrieval",
    CVPR 2020 (the recognition metric, also called micro-AP; the Kaggle
    Landmark Recognition challenges score one prediction per query this way).

    Examples
    --------
    >>> from skmetric.metrics import global_average_precision
    >>> y_true = [0, 1, 2, -1]
    >>> y_pred = [0, 2, 2, 1]
    >>> confidence = [0.9, 0.8, 0.7, 0.1]
    >>> round(global_average_precision(y_true, y_pred, confidence, no_label=-1), 4)
    0.5556
    """
    y_true = _as_1d(y_true, "y_true")
    y_pred = _as_1d(y_pred, "y_pred")
    try:
        conf = _as_1d(confidence, "confidence").astype(np.float64)
    except (TypeError, ValueError) as exc:
        if "must be 1-D" in str(exc):
            raise
        raise ValueError(f"`confidence` must hold real numbers; {exc}") from None
    n = y_true.shape[0]
    if y_pred.shape[0] != n or conf.shape[0] != n:
        raise ValueError(
            f"`y_true`, `y_pred` and `confidence` must have the same length; got "
            f"{n}, {y_pred.shape[0]} and {conf.shape[0]}."
        )
    if np.isinf(conf).any():
        raise ValueError("`confidence` contains infinity.")
    if no_label is None:
        labelled = (np.array([v is not None for v in y_true], dtype=bool)
                    if y_true.dtype == object else np.ones(n, dtype=bool))
    else:
        labelled = ~_equal(y_true, np.full(n, no_label, dtype=object))
    M = int(labelled.sum())
    if M == 0:
        warnings.warn(
            "global_average_precision: no query has a true label (M = 0); returning NaN.",
            UserWarning,
            stacklevel=2,
        )
        return float("nan")
    predicted = np.flatnonzero(~np.isnan(conf))
    order = predicted[np.argsort(-conf[predicted], kind="stable")]
    correct = labelled[order] & _equal(y_pred[order], y_true[order])
    precision = np.cumsum(correct) / np.arange(1, order.size + 1)
    return float(np.sum(precision * correct) / M)

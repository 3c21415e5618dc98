"""AnyLoss confusion-matrix metrics as score functions of labels and probabilities.

* :func:`anyloss_score` (hard): the metric of predicted labels, computed by
  scikit-learn's own function where one exists (``f1_score``,
  ``matthews_corrcoef``...; ``zero_division=0``), and by
  :mod:`skmetric.losses.confusion` on one-hot predictions for the G-mean and user
  formulas.  This is the number to select models by.
* :func:`soft_anyloss_score` (soft): the AnyLoss value of predicted
  probabilities, the differentiable surrogate that
  :class:`~skmetric.AnyLossClassifier` maximises; it approaches the hard
  value as ``L`` grows.

Both take the class order of the probabilities (``classes``, an
estimator's ``classes_``); their scorers are built by
:func:`~skmetric.metrics.make_anyloss_scorer`.
"""

import numpy as np
import torch
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    fbeta_score,
    jaccard_score,
    matthews_corrcoef,
    precision_score,
    recall_score,
)

from ..losses import confusion as _al
from ..utils._validation import check_label_types

__all__ = ["anyloss_score", "soft_anyloss_score"]

_SKLEARN_AVERAGED = {
    "precision": precision_score,
    "recall": recall_score,
    "f1": f1_score,
    "jaccard": jaccard_score,
}
_SKLEARN_PLAIN = {
    "accuracy": accuracy_score,
    "balanced_accuracy": balanced_accuracy_score,
    "mcc": matthews_corrcoef,
}


def _check_anyloss_args(metric, average):
    if isinstance(metric, str):
        if metric not in _al.METRICS:
            raise ValueError(
                f"Unknown AnyLoss metric {metric!r}. Valid names are: {sorted(_al.METRICS)}."
            )
    elif not callable(metric):
        raise ValueError(f"`metric` must be a metric name or a callable; got {metric!r}.")
    if average not in _al.AVERAGES or average is None:
        raise ValueError(
            "`average` must be one of 'auto', 'binary', 'macro', 'micro', "
            f"'weighted'; got {average!r}."
        )


def _encode(y, classes, what):
    """Positions of the labels ``y`` in the sorted array ``classes``."""
    y = np.asarray(y)
    idx = np.clip(np.searchsorted(classes, y), 0, classes.size - 1)
    bad = classes[idx] != y
    if bad.any():
        raise ValueError(
            f"{what} holds labels outside `classes`: {np.unique(y[bad]).tolist()} "
            f"(classes = {classes.tolist()})."
        )
    return idx


def _torch_value(metric, y_enc, y_prob, *, average, beta, L):
    """The AnyLoss metric of (n, C) probabilities (or one-hot rows)."""
    n_classes = y_prob.shape[1]
    y_t = torch.as_tensor(y_enc)
    p_t = torch.as_tensor(np.ascontiguousarray(y_prob), dtype=torch.float64)
    if n_classes == 2:
        p_t = p_t[:, 1]
    kwargs = {}
    if metric in _al._AVERAGED or callable(metric):
        kwargs["average"] = _al._resolve_average(average, n_classes)
    if metric == "fbeta":
        kwargs["beta"] = beta
    if callable(metric):
        return float(_al.confusion_metric(metric, y_t, p_t, L=L, **kwargs))
    return float(_al.METRICS[metric](y_t, p_t, L=L, **kwargs))


def _check_samples(name, y_true, other, other_name):
    """Raise a ValueError unless ``y_true`` and ``other`` hold the same,
    non-zero number of samples (torch's one-hot cannot count classes of none)."""
    n_true, n_other = np.shape(y_true)[:1], np.shape(other)[:1]
    if n_true != n_other:
        raise ValueError(
            f"{name}: `y_true` and `{other_name}` must hold one entry per sample; "
            f"got {n_true[0] if n_true else 0} and {n_other[0] if n_other else 0}."
        )
    if not n_true or n_true[0] == 0:
        raise ValueError(f"{name} needs at least 1 sample; got 0 samples.")
    check_label_types(y_true, name="y_true")
    if other_name == "y_pred":
        check_label_types(other, name="y_pred")


def _classes(y_true, classes):
    return np.unique(y_true) if classes is None else np.asarray(classes)


def anyloss_score(y_true, y_pred, *, metric="f1", average="auto", beta=1.0, classes=None):
    """An AnyLoss metric of predicted labels (the hard form).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    metric : str or callable, default="f1"
        A name of :data:`skmetric.losses.confusion.METRICS` or a formula
        ``f(tp, fp, fn, tn)`` of torch tensors.
    average : {"auto", "binary", "macro", "micro", "weighted"}, default="auto"
        For per-class metrics; ``"auto"`` is ``"binary"`` for two classes
        (the second of ``classes`` is positive) and ``"macro"`` otherwise.
    beta : float, default=1.0
        For ``"fbeta"``.
    classes : array-like of shape (n_classes,), default=None
        The sorted class labels (an estimator's ``classes_``); ``None``
        means the labels of ``y_true``.

    Returns
    -------
    score : float

    Examples
    --------
    >>> from skmetric.metrics import anyloss_score
    >>> anyloss_score(["no", "yes", "yes"], ["no", "yes", "no"], metric="recall")
    0.5
    """
    _check_anyloss_args(metric, average)
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    _check_samples("anyloss_score", y_true, y_pred, "y_pred")
    classes = _classes(y_true, classes)
    if callable(metric) or metric == "gmean":
        one_hot = np.eye(classes.size)[_encode(y_pred, classes, "y_pred")]
        return _torch_value(metric, _encode(y_true, classes, "y_true"), one_hot,
                            average=average, beta=beta, L=None)
    if metric in _SKLEARN_PLAIN:
        return float(_SKLEARN_PLAIN[metric](y_true, y_pred))
    average = _al._resolve_average(average, classes.size)
    kwargs = dict(labels=list(classes), zero_division=0, average=average)
    if average == "binary":
        kwargs["pos_label"] = classes[1]
    if metric == "fbeta":
        return float(fbeta_score(y_true, y_pred, beta=beta, **kwargs))
    return float(_SKLEARN_AVERAGED[metric](y_true, y_pred, **kwargs))


def soft_anyloss_score(
    y_true, y_proba, *, metric="f1", average="auto", beta=1.0, L=73.0, classes=None
):
    """An AnyLoss metric of predicted probabilities (the soft form).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_proba : array-like of shape (n_samples, n_classes)
        Probabilities, columns in the order of ``classes``.
    metric, average, beta
        As in :func:`anyloss_score`.
    L : float, default=73.0
        Steepness of AnyLoss's approximation of the 0/1 step.
    classes : array-like of shape (n_classes,), default=None
        The sorted class labels of the columns (an estimator's
        ``classes_``); ``None`` means the labels of ``y_true``.

    Returns
    -------
    score : float

    Examples
    --------
    >>> from skmetric.metrics import soft_anyloss_score
    >>> round(soft_anyloss_score([0, 1], [[1.0, 0.0], [0.0, 1.0]], metric="f1"), 6)
    1.0
    """
    _check_anyloss_args(metric, average)
    y_true = np.asarray(y_true)
    y_proba = np.asarray(y_proba)
    _check_samples("soft_anyloss_score", y_true, y_proba, "y_proba")
    classes = _classes(y_true, classes)
    return _torch_value(metric, _encode(y_true, classes, "y_true"), y_proba,
                        average=average, beta=beta, L=L)

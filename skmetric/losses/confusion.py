r"""AnyLoss: confusion-matrix metrics made differentiable (pure torch).

AnyLoss (Han, Moniz and Chawla, 2024) pushes each predicted probability
towards 0 or 1 with the *approximation function*

.. math::
    A(p) = \frac{1}{1 + e^{-L (p - 1/2)}}, \qquad L = 73 \text{ by default},

and sums the approximated predictions over a batch into a soft confusion
matrix: with :math:`\hat y_i = A(p_i)` and :math:`n_1 = \sum_i y_i`,

.. math::
    TP = \sum_i y_i \hat y_i,\quad FP = \sum_i \hat y_i - TP,\quad
    FN = n_1 - TP,\quad TN = N - n_1 - \sum_i \hat y_i + TP.

Any metric built from these four numbers is then differentiable in the
network's outputs, and ``1 - metric`` is a loss (the modules of
:mod:`skmetric.losses.anyloss`).  On probabilities that are
exactly 0 or 1 every function here gives the hard metric (the value
scikit-learn computes) to within float rounding.

Multi-class (not in the paper; a skmetric choice)
-------------------------------------------------
Inputs of shape ``(n_samples, n_classes)`` are one-vs-rest: one soft
confusion matrix per class.  With ``decision="argmax"`` (the default, for
softmax probabilities) the soft prediction of class ``k`` is the *soft
argmax* :math:`\hat y_{ik} = \mathrm{softmax}_k(L p_i / 2)`; for two
classes it is exactly :math:`A(p_{i1})`, and unlike :math:`A` it does not
require the predicted class to have :math:`p > 1/2`.  With
``decision="threshold"`` (independent sigmoids, multi-label) each column
goes through :math:`A`.

* Per-class metrics (precision, recall, F-beta, Jaccard, G-mean and a
  user formula) take ``average``: ``"binary"`` (the positive class, column
  1), ``"macro"`` (unweighted mean over classes), ``"weighted"`` (weighted
  by the true count of each class), ``"micro"`` (the metric of the summed
  counts), ``None`` (one value per class) or ``"auto"`` (``"binary"`` for
  two classes, else ``"macro"``), as scikit-learn's ``average=``.
* Accuracy, balanced accuracy and MCC have one multi-class definition each,
  scikit-learn's: the fraction of correct predictions
  :math:`\sum_k TP_k / N`, the mean recall over the classes present in
  ``y_true``, and Gorodkin's :math:`R_K` (``matthews_corrcoef``).
  ``average`` does not apply to them.

Division convention
-------------------
Every ratio is ``num / max(den, eps)`` with ``eps`` the square root of
``torch.finfo(dtype).eps`` (1.5e-8 in float64, 3.5e-4 in float32): ``0 / 0 =
0``, as scikit-learn's ``zero_division=0``, gradients stay finite, and a
soft count below ``eps`` (such as the :math:`e^{-L/2}` residuals of
:math:`A(0)`) counts as nothing, so that 0/1 inputs give the hard metric.
Square roots are linear below ``eps`` (finite gradient at 0).
Consequences: on a batch with no positives, recall, F-beta, Jaccard and
G-mean of the positive class are 0 and constant (zero gradient, no NaN);
precision is 0 unless nothing is predicted positive.  Balanced accuracy
averages over the classes present, as scikit-learn does.  Training with a
class-stratified batch sampler (as :class:`~skmetric.AnyLossClassifier`
does) avoids such batches.

References
----------
D. Han, N. Moniz and N. V. Chawla. "AnyLoss: Transforming Classification
Metrics into Loss Functions". KDD 2024. arXiv:2405.14745.
"""

import math

import torch
from torch import nn

__all__ = [
    "METRICS",
    "accuracy",
    "approximate",
    "balanced_accuracy",
    "confusion_metric",
    "f1",
    "fbeta",
    "gmean",
    "jaccard",
    "mcc",
    "precision",
    "recall",
    "soft_confusion_matrix",
]

AVERAGES = ("binary", "macro", "micro", "weighted", "auto", None)
DECISIONS = ("argmax", "threshold")


# ----------------------------------------------------------------- numerics
def _eps(dtype):
    # sqrt of the machine epsilon (1.5e-8 in float64, 3.5e-4 in float32): a
    # soft count below it is "nothing", e.g. the e^{-L/2} residuals of A(0)
    return math.sqrt(torch.finfo(dtype).eps)


def _safe_div(num, den):
    """``num / max(den, eps)``: 0/0 = 0 and a finite gradient everywhere."""
    return num / den.clamp_min(_eps(den.dtype))


def _safe_sqrt(x):
    """``sqrt(x)`` above eps, linear ``x / sqrt(eps)`` below (finite gradient at 0)."""
    eps = _eps(x.dtype)
    return torch.where(x > eps, x.clamp_min(eps).sqrt(), x / math.sqrt(eps))


def approximate(y_prob, L=73.0):
    r"""The approximation function :math:`A(p) = 1 / (1 + e^{-L (p - 1/2)})`.

    Parameters
    ----------
    y_prob : torch.Tensor
        Probabilities in [0, 1].
    L : float, default=73.0
        Steepness.  ``A(0) ≈ e^{-L/2}`` and ``A(1) ≈ 1 - e^{-L/2}``; its
        derivative ``L A (1 - A)`` peaks at ``L / 4`` at ``p = 1/2``.

    Returns
    -------
    torch.Tensor
        Same shape as ``y_prob``.
    """
    return torch.sigmoid(L * (y_prob - 0.5))


# ------------------------------------------------------------------- inputs
def _as_float(y_prob):
    if not isinstance(y_prob, torch.Tensor):
        y_prob = torch.as_tensor(y_prob)
    if not y_prob.dtype.is_floating_point:
        y_prob = y_prob.to(torch.get_default_dtype())
    return y_prob


def _prepare(y_true, y_prob, L, decision):
    """Return ``(Y, Yhat)``: (n, K) true indicators and soft predictions."""
    y_prob = _as_float(y_prob)
    if decision not in DECISIONS:
        raise ValueError(f"`decision` must be one of {DECISIONS}; got {decision!r}.")
    if L is not None and not (isinstance(L, (int, float)) and L > 0):
        if not (isinstance(L, torch.Tensor) and L.numel() == 1 and float(L) > 0):
            raise ValueError(f"`L` must be a positive number or None; got {L!r}.")
    if y_prob.ndim == 2 and y_prob.shape[1] == 1:
        y_prob = y_prob[:, 0]
    if y_prob.ndim == 1:
        # binary: probability of the positive class
        soft = y_prob if L is None else approximate(y_prob, L)
        yhat = torch.stack([1 - soft, soft], dim=1)
        n_classes = 2
    elif y_prob.ndim == 2:
        n_classes = y_prob.shape[1]
        if L is None:
            yhat = y_prob
        elif decision == "argmax":
            yhat = torch.softmax(L * 0.5 * y_prob, dim=1)
        else:
            yhat = approximate(y_prob, L)
    else:
        raise ValueError(
            "`y_prob` must have shape (n_samples,) or (n_samples, n_classes); "
            f"got {tuple(y_prob.shape)}."
        )
    y_true = torch.as_tensor(y_true, device=y_prob.device)
    n = y_prob.shape[0]
    if y_true.shape[:1] != (n,):
        raise ValueError(
            f"`y_true` and `y_prob` must have the same number of samples; got "
            f"{tuple(y_true.shape)} and {tuple(y_prob.shape)}."
        )
    if y_true.ndim == 1:
        if y_true.dtype.is_floating_point:
            if not torch.all(y_true == torch.round(y_true)):
                raise ValueError("`y_true` must hold integer class labels.")
            y_true = y_true.long()
        if n and (int(y_true.min()) < 0 or int(y_true.max()) >= n_classes):
            raise ValueError(
                f"`y_true` must hold labels in [0, {n_classes}) for `y_prob` of "
                f"shape {tuple(y_prob.shape)}; got labels from {int(y_true.min())} "
                f"to {int(y_true.max())}."
            )
        Y = nn.functional.one_hot(y_true.long(), n_classes).to(yhat.dtype)
    elif y_true.ndim == 2 and y_true.shape[1] == n_classes:
        Y = y_true.to(yhat.dtype)
    else:
        raise ValueError(
            f"`y_true` must be labels of shape ({n},) or indicators of shape "
            f"({n}, {n_classes}); got {tuple(y_true.shape)}."
        )
    return Y, yhat


def soft_confusion_matrix(y_true, y_prob, *, L=73.0, decision="argmax"):
    r"""One-vs-rest soft TP, FP, FN, TN per class (batch sums).

    Parameters
    ----------
    y_true : tensor of shape (n_samples,) or (n_samples, n_classes)
        Integer labels in ``[0, n_classes)`` (``{0, 1}`` for binary input),
        or 0/1 indicators.
    y_prob : tensor of shape (n_samples,) or (n_samples, n_classes)
        Probability of the positive class (binary) or of each class.
    L : float or None, default=73.0
        Steepness of the approximation; ``None`` uses the probabilities as
        they are (no approximation).
    decision : {"argmax", "threshold"}, default="argmax"
        How a 2-D ``y_prob`` becomes soft predictions: the soft argmax
        ``softmax(L p / 2)`` (single-label, softmax outputs) or ``A`` per
        column (independent sigmoids).  Ignored for 1-D input.

    Returns
    -------
    tp, fp, fn, tn : tensors of shape (n_classes,)
        Binary input gives two classes: index 1 is the positive class.
    """
    Y, yhat = _prepare(y_true, y_prob, L, decision)
    n = torch.as_tensor(float(Y.shape[0]), dtype=yhat.dtype, device=yhat.device)
    tp = (Y * yhat).sum(0)
    pred = yhat.sum(0)
    true = Y.sum(0)
    return tp, pred - tp, true - tp, n - true - pred + tp


# ------------------------------------------------- per-class metric formulas
def _precision(tp, fp, fn, tn):
    return _safe_div(tp, tp + fp)


def _recall(tp, fp, fn, tn):
    return _safe_div(tp, tp + fn)


def _fbeta(beta):
    b2 = float(beta) ** 2

    def formula(tp, fp, fn, tn):
        return _safe_div((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp)

    return formula


def _jaccard(tp, fp, fn, tn):
    return _safe_div(tp, tp + fp + fn)


def _gmean(tp, fp, fn, tn):
    return _safe_sqrt(_safe_div(tp, tp + fn) * _safe_div(tn, tn + fp))


def _resolve_average(average, n_classes):
    if average not in AVERAGES:
        raise ValueError(
            "`average` must be one of 'binary', 'macro', 'micro', 'weighted', "
            f"'auto' or None; got {average!r}."
        )
    if average == "auto":
        return "binary" if n_classes == 2 else "macro"
    if average == "binary" and n_classes != 2:
        raise ValueError(
            f"average='binary' needs two classes; y_prob has {n_classes} columns. "
            "Choose average='macro', 'micro' or 'weighted'."
        )
    return average


def _average(formula, counts, average):
    tp, fp, fn, tn = counts
    average = _resolve_average(average, tp.shape[0])
    if average == "micro":
        return formula(tp.sum(), fp.sum(), fn.sum(), tn.sum())
    per_class = formula(tp, fp, fn, tn)
    if average is None:
        return per_class
    if average == "binary":
        return per_class[1]
    if average == "macro":
        return per_class.mean()
    support = tp + fn  # "weighted": by the true count of each class
    return _safe_div((per_class * support).sum(), support.sum())


def confusion_metric(
    formula, y_true, y_prob, *, average="binary", L=73.0, decision="argmax"
):
    """A user metric ``formula(tp, fp, fn, tn)`` on the soft confusion matrix.

    Parameters
    ----------
    formula : callable
        Maps four tensors of the same shape (the counts of one class, or one
        value per class) to a tensor of that shape, with torch operations so
        that it stays differentiable.
    y_true, y_prob, L, decision
        As :func:`soft_confusion_matrix`.
    average : {"binary", "macro", "micro", "weighted", "auto"} or None, default="binary"
        See the module docstring.

    Returns
    -------
    torch.Tensor
        A scalar, or one value per class with ``average=None``.

    Examples
    --------
    >>> import torch
    >>> from skmetric.losses.confusion import confusion_metric
    >>> specificity = lambda tp, fp, fn, tn: tn / (tn + fp)
    >>> y = torch.tensor([0, 0, 1, 1])
    >>> p = torch.tensor([0.0, 1.0, 1.0, 1.0])
    >>> round(float(confusion_metric(specificity, y, p)), 4)
    0.5
    """
    if not callable(formula):
        raise ValueError(f"`formula` must be callable; got {formula!r}.")
    counts = soft_confusion_matrix(y_true, y_prob, L=L, decision=decision)
    return _average(formula, counts, average)


def precision(y_true, y_prob, *, average="binary", L=73.0, decision="argmax"):
    """Soft precision ``TP / (TP + FP)``.  Parameters as :func:`confusion_metric`."""
    return confusion_metric(_precision, y_true, y_prob, average=average, L=L, decision=decision)


def recall(y_true, y_prob, *, average="binary", L=73.0, decision="argmax"):
    """Soft recall ``TP / (TP + FN)``.  Parameters as :func:`confusion_metric`."""
    return confusion_metric(_recall, y_true, y_prob, average=average, L=L, decision=decision)


def fbeta(y_true, y_prob, *, beta=1.0, average="binary", L=73.0, decision="argmax"):
    r"""Soft F-beta :math:`(1+\beta^2) TP / ((1+\beta^2) TP + \beta^2 FN + FP)`.

    ``beta > 1`` favours recall.  Other parameters as :func:`confusion_metric`.
    """
    if not (isinstance(beta, (int, float)) and beta > 0):
        raise ValueError(f"`beta` must be a positive number; got {beta!r}.")
    return confusion_metric(_fbeta(beta), y_true, y_prob, average=average, L=L, decision=decision)


def f1(y_true, y_prob, *, average="binary", L=73.0, decision="argmax"):
    """Soft F1 (F-beta with ``beta=1``).  Parameters as :func:`confusion_metric`."""
    return fbeta(y_true, y_prob, beta=1.0, average=average, L=L, decision=decision)


def jaccard(y_true, y_prob, *, average="binary", L=73.0, decision="argmax"):
    """Soft Jaccard index ``TP / (TP + FP + FN)``.  Parameters as :func:`confusion_metric`."""
    return confusion_metric(_jaccard, y_true, y_prob, average=average, L=L, decision=decision)


def gmean(y_true, y_prob, *, average="binary", L=73.0, decision="argmax"):
    r"""Soft G-mean :math:`\sqrt{TPR \cdot TNR}` per class (one-vs-rest).

    For two classes every class gives the same value.  Multi-class averages
    the one-vs-rest G-means (not imbalanced-learn's geometric mean of the
    recalls).  Parameters as :func:`confusion_metric`.
    """
    return confusion_metric(_gmean, y_true, y_prob, average=average, L=L, decision=decision)


def accuracy(y_true, y_prob, *, L=73.0, decision="argmax"):
    r"""Soft accuracy :math:`\sum_k TP_k / N` (``(TP + TN) / N`` for binary).

    ``sklearn.metrics.accuracy_score`` on hard inputs.  Parameters as
    :func:`soft_confusion_matrix`.
    """
    tp, fp, fn, tn = soft_confusion_matrix(y_true, y_prob, L=L, decision=decision)
    return _safe_div(tp.sum(), tp[0] + fp[0] + fn[0] + tn[0])


def balanced_accuracy(y_true, y_prob, *, L=73.0, decision="argmax"):
    r"""Soft balanced accuracy: mean recall over the classes present in ``y_true``.

    ``(TPR + TNR) / 2`` for binary input;
    ``sklearn.metrics.balanced_accuracy_score`` on hard inputs (a class
    absent from the batch is left out of the mean, as scikit-learn does).
    Parameters as :func:`soft_confusion_matrix`.
    """
    tp, fp, fn, tn = soft_confusion_matrix(y_true, y_prob, L=L, decision=decision)
    support = tp + fn
    present = (support > 0).to(tp.dtype)
    return _safe_div((_safe_div(tp, support) * present).sum(), present.sum())


def mcc(y_true, y_prob, *, L=73.0, decision="argmax"):
    r"""Soft Matthews correlation coefficient.

    Binary: :math:`(TP\,TN - FP\,FN) / \sqrt{(TP+FP)(TP+FN)(TN+FP)(TN+FN)}`.
    Multi-class: Gorodkin's :math:`R_K = (c\,s - \sum_k p_k t_k) /
    \sqrt{(s^2 - \sum_k p_k^2)(s^2 - \sum_k t_k^2)}` with :math:`c = \sum_k
    TP_k`, :math:`s = N`, :math:`p_k` and :math:`t_k` the predicted and true
    counts, as ``sklearn.metrics.matthews_corrcoef`` (both give the same
    value for two classes).  0 when the denominator is 0.  In [-1, 1].
    Parameters as :func:`soft_confusion_matrix`.
    """
    tp, fp, fn, tn = soft_confusion_matrix(y_true, y_prob, L=L, decision=decision)
    s = tp[0] + fp[0] + fn[0] + tn[0]
    p = tp + fp
    t = tp + fn
    c = tp.sum()
    num = c * s - (p * t).sum()
    den = _safe_sqrt(s * s - (p * p).sum()) * _safe_sqrt(s * s - (t * t).sum())
    return _safe_div(num, den)


# name -> metric function; _AVERAGED: the per-class ones that take `average`
METRICS = {
    "accuracy": accuracy,
    "balanced_accuracy": balanced_accuracy,
    "precision": precision,
    "recall": recall,
    "f1": f1,
    "fbeta": fbeta,
    "gmean": gmean,
    "jaccard": jaccard,
    "mcc": mcc,
}
_AVERAGED = {"precision", "recall", "f1", "fbeta", "gmean", "jaccard"}

"""AnyLoss losses: ``1 - metric`` of a soft confusion matrix (pure torch).

Each loss is called as torch losses are, prediction first:
``loss(y_prob, y_true)`` with probabilities (not embeddings), and returns
``1 - metric`` for a metric of :mod:`skmetric.losses.confusion`.  They are
registered in :data:`skmetric.losses.LOSSES` under ``"anyloss_<metric>"``
(``"anyloss_f1"``, ``"anyloss_mcc"``...), and
:class:`~skmetric.AnyLossClassifier` trains a classifier with them.

References
----------
D. Han, N. Moniz and N. V. Chawla. "AnyLoss: Transforming Classification
Metrics into Loss Functions". KDD 2024. arXiv:2405.14745.
"""

from torch import nn

from .._params import ParamsMixin
from .confusion import _AVERAGED, METRICS, confusion_metric

__all__ = [
    "ANYLOSS_LOSSES",
    "AccuracyLoss",
    "AnyLoss",
    "BalancedAccuracyLoss",
    "F1Loss",
    "FBetaLoss",
    "FormulaLoss",
    "GMeanLoss",
    "JaccardLoss",
    "MCCLoss",
    "PrecisionLoss",
    "RecallLoss",
]


class AnyLoss(ParamsMixin, nn.Module):
    """Base of the AnyLoss losses: ``loss(y_prob, y_true) = 1 - metric``.

    Called as torch losses are (prediction first), with probabilities: the
    probability of the positive class, shape ``(n,)``, or a row per sample,
    shape ``(n, n_classes)``.  Its constructor arguments are parameters
    (``get_params`` / ``set_params``), so an estimator can grid-search them
    as ``metric__L``.

    Parameters
    ----------
    L : float or None, default=73.0
        Steepness of the approximation function (``None``: none).
    average : {"auto", "binary", "macro", "micro", "weighted"}, default="auto"
        Averaging of per-class metrics; ``"auto"`` is ``"binary"`` for two
        classes and ``"macro"`` otherwise.  Ignored by accuracy, balanced
        accuracy and MCC.
    decision : {"argmax", "threshold"}, default="argmax"
        See :func:`~skmetric.losses.confusion.soft_confusion_matrix`.
    """

    metric_name = None
    # called on probabilities, not embeddings: estimators that learn an
    # embedding refuse these losses
    takes_probabilities = True

    def __init__(self, *, L=73.0, average="auto", decision="argmax"):
        super().__init__()
        self.L = L
        self.average = average
        self.decision = decision

    def _metric_kwargs(self):
        kwargs = {"L": self.L, "decision": self.decision}
        if self.metric_name in _AVERAGED:
            kwargs["average"] = self.average
        return kwargs

    def metric(self, y_prob, y_true):
        """The metric (greater is better) that this loss is ``1 -``."""
        return METRICS[self.metric_name](y_true, y_prob, **self._metric_kwargs())

    def forward(self, y_prob, y_true):
        if self.average is None:
            raise ValueError("A loss needs a scalar: `average` cannot be None.")
        return 1 - self.metric(y_prob, y_true)

    def extra_repr(self):
        return self._repr_params()


class AccuracyLoss(AnyLoss):
    """``1 -`` soft :func:`~skmetric.losses.confusion.accuracy`."""

    metric_name = "accuracy"


class BalancedAccuracyLoss(AnyLoss):
    """``1 -`` soft :func:`~skmetric.losses.confusion.balanced_accuracy`."""

    metric_name = "balanced_accuracy"


class PrecisionLoss(AnyLoss):
    """``1 -`` soft :func:`~skmetric.losses.confusion.precision`."""

    metric_name = "precision"


class RecallLoss(AnyLoss):
    """``1 -`` soft :func:`~skmetric.losses.confusion.recall`."""

    metric_name = "recall"


class F1Loss(AnyLoss):
    """``1 -`` soft :func:`f1`."""

    metric_name = "f1"


class GMeanLoss(AnyLoss):
    """``1 -`` soft :func:`~skmetric.losses.confusion.gmean`."""

    metric_name = "gmean"


class JaccardLoss(AnyLoss):
    """``1 -`` soft :func:`~skmetric.losses.confusion.jaccard`."""

    metric_name = "jaccard"


class MCCLoss(AnyLoss):
    """``1 -`` soft :func:`~skmetric.losses.confusion.mcc` (in [0, 2])."""

    metric_name = "mcc"


class FBetaLoss(AnyLoss):
    """``1 -`` soft :func:`~skmetric.losses.confusion.fbeta`.

    Parameters
    ----------
    beta : float, default=1.0
    L, average, decision
        As :class:`AnyLoss`.
    """

    metric_name = "fbeta"

    def __init__(self, beta=1.0, *, L=73.0, average="auto", decision="argmax"):
        super().__init__(L=L, average=average, decision=decision)
        self.beta = beta

    def _metric_kwargs(self):
        return {**super()._metric_kwargs(), "beta": self.beta}


class FormulaLoss(AnyLoss):
    """``1 - formula(TP, FP, FN, TN)`` for a user metric (see :func:`~skmetric.losses.confusion.confusion_metric`).

    Parameters
    ----------
    formula : callable
        ``formula(tp, fp, fn, tn) -> tensor``, greater is better.  A
        module-level function keeps the loss picklable.
    L, average, decision
        As :class:`AnyLoss`.
    """

    metric_name = "formula"

    def __init__(self, formula, *, L=73.0, average="auto", decision="argmax"):
        super().__init__(L=L, average=average, decision=decision)
        self.formula = formula

    def metric(self, y_prob, y_true):
        return confusion_metric(
            self.formula, y_true, y_prob, average=self.average, L=self.L,
            decision=self.decision,
        )


# registry entries of skmetric.losses.LOSSES: "anyloss_<metric>" -> class
ANYLOSS_LOSSES = {
    f"anyloss_{cls.metric_name}": cls
    for cls in (
        AccuracyLoss,
        BalancedAccuracyLoss,
        PrecisionLoss,
        RecallLoss,
        F1Loss,
        FBetaLoss,
        GMeanLoss,
        JaccardLoss,
        MCCLoss,
    )
}

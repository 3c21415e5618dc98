"""Scorers for the AnyLoss metrics: hard (sklearn's) and soft (AnyLoss on ``predict_proba``).

Every scorer is ``scorer(estimator, X, y) -> float``, greater is better, and
works as ``scoring=`` in any scikit-learn search or ``cross_val_score``.

* Hard (``soft=False``): the metric of ``estimator.predict(X)``, computed by
  scikit-learn's own function where one exists (``f1_score``,
  ``matthews_corrcoef``...; ``zero_division=0``), and by
  :mod:`skmetric.anyloss` on the 0/1 predictions for the G-mean and user
  formulas.  This is the number to select models by.
* Soft (``soft=True``): the AnyLoss value of ``estimator.predict_proba(X)``,
  the differentiable surrogate that :class:`AnyLossClassifier` maximises.
  Useful to monitor training; it approaches the hard value as ``L`` grows.
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

from .losses import confusion as _al

__all__ = ["ANYLOSS_SCORERS", "AnyLossScorer", "make_anyloss_scorer"]

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


class AnyLossScorer:
    """``scorer(estimator, X, y)`` for one AnyLoss metric; build with :func:`make_anyloss_scorer`."""

    def __init__(self, metric, *, soft=False, average="auto", beta=1.0, L=73.0):
        self.metric = metric
        self.soft = soft
        self.average = average
        self.beta = beta
        self.L = L

    def __repr__(self):
        name = self.metric if isinstance(self.metric, str) else getattr(
            self.metric, "__name__", repr(self.metric)
        )
        parts = [repr(name) if isinstance(self.metric, str) else name]
        if self.soft:
            parts += ["soft=True", f"L={self.L!r}"]
        if self.average != "auto":
            parts.append(f"average={self.average!r}")
        if self.metric == "fbeta":
            parts.append(f"beta={self.beta!r}")
        return f"make_anyloss_scorer({', '.join(parts)})"

    # -------------------------------------------------------------- helpers
    def _classes(self, estimator, y):
        classes = getattr(estimator, "classes_", None)
        if classes is None:
            classes = np.unique(y)
        return np.asarray(classes)

    def _encode(self, y, classes):
        y = np.asarray(y)
        idx = np.searchsorted(classes, y)
        idx = np.clip(idx, 0, classes.size - 1)
        bad = classes[idx] != y
        if bad.any():
            raise ValueError(
                f"{self!r}: y holds labels the estimator does not know: "
                f"{np.unique(y[bad]).tolist()} (estimator.classes_ = {classes.tolist()})."
            )
        return idx

    def _average(self, n_classes):
        return _al._resolve_average(self.average, n_classes)

    def _torch_kwargs(self, n_classes):
        kwargs = {}
        if self.metric in _al._AVERAGED or callable(self.metric):
            kwargs["average"] = self._average(n_classes)
        if self.metric == "fbeta":
            kwargs["beta"] = self.beta
        return kwargs

    def _torch_metric(self, y_enc, y_prob, L):
        n_classes = y_prob.shape[1]
        y_t = torch.as_tensor(y_enc)
        p_t = torch.as_tensor(np.ascontiguousarray(y_prob), dtype=torch.float64)
        if n_classes == 2:
            p_t = p_t[:, 1]
        kwargs = self._torch_kwargs(n_classes)
        if callable(self.metric):
            value = _al.confusion_metric(self.metric, y_t, p_t, L=L, **kwargs)
        else:
            value = _al.METRICS[self.metric](y_t, p_t, L=L, **kwargs)
        return float(value)

    # ---------------------------------------------------------------- score
    def __call__(self, estimator, X, y, **kwargs):
        y = np.asarray(y)
        classes = self._classes(estimator, y)
        if self.soft:
            proba = np.asarray(estimator.predict_proba(X))
            return self._torch_metric(self._encode(y, classes), proba, self.L)
        y_pred = np.asarray(estimator.predict(X))
        n_classes = classes.size
        if callable(self.metric) or self.metric == "gmean":
            one_hot = np.eye(n_classes)[self._encode(y_pred, classes)]
            return self._torch_metric(self._encode(y, classes), one_hot, None)
        if self.metric in _SKLEARN_PLAIN:
            return float(_SKLEARN_PLAIN[self.metric](y, y_pred))
        average = self._average(n_classes)
        kwargs = dict(labels=list(classes), zero_division=0)
        if average == "binary":
            kwargs["pos_label"] = classes[1]
        if average is None:
            raise ValueError("A scorer needs a single number: `average` cannot be None.")
        if self.metric == "fbeta":
            return float(fbeta_score(y, y_pred, beta=self.beta, average=average, **kwargs))
        return float(_SKLEARN_AVERAGED[self.metric](y, y_pred, average=average, **kwargs))


def make_anyloss_scorer(metric, *, soft=False, average="auto", beta=1.0, L=73.0):
    """A scorer for an AnyLoss metric, usable as ``scoring=``.

    Parameters
    ----------
    metric : str or callable
        A name of :data:`skmetric.anyloss.METRICS` (``"f1"``, ``"fbeta"``,
        ``"balanced_accuracy"``, ``"mcc"``, ``"gmean"``, ``"jaccard"``,
        ``"accuracy"``, ``"precision"``, ``"recall"``) or a formula
        ``f(tp, fp, fn, tn)`` of torch tensors (a module-level function keeps
        the scorer picklable for ``n_jobs``).
    soft : bool, default=False
        ``False``: the hard metric of ``predict``.  ``True``: the AnyLoss
        value of ``predict_proba``.
    average : {"auto", "binary", "macro", "micro", "weighted"}, default="auto"
        For per-class metrics: ``"binary"`` (the second class of
        ``classes_`` is positive) for two classes and ``"macro"`` otherwise
        with ``"auto"``.
    beta : float, default=1.0
        For ``"fbeta"``.
    L : float or None, default=73.0
        Steepness of the approximation for ``soft=True``.

    Returns
    -------
    scorer : AnyLossScorer
        ``scorer(estimator, X, y) -> float``, greater is better.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_val_score
    >>> from skmetric._anyloss_scorers import make_anyloss_scorer
    >>> X, y = make_classification(300, weights=[0.9, 0.1], random_state=0)
    >>> scores = cross_val_score(LogisticRegression(), X, y, cv=3,
    ...                          scoring=make_anyloss_scorer("mcc"))
    >>> scores.shape
    (3,)
    """
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
    return AnyLossScorer(metric, soft=soft, average=average, beta=beta, L=L)


#: Ready-made scorers: ``"f1"`` (hard) and ``"soft_f1"`` (AnyLoss) for every metric.
ANYLOSS_SCORERS = {
    **{name: make_anyloss_scorer(name) for name in _al.METRICS},
    **{f"soft_{name}": make_anyloss_scorer(name, soft=True) for name in _al.METRICS},
}

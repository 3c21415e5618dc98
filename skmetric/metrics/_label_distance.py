"""Loki's evaluation measure: the expected squared label distance."""

import numpy as np

from ..label_space import make_label_metric
from ..utils._validation import check_label_types

__all__ = ["expected_squared_distance"]


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
    label_metric : LabelMetric or a form of \
:func:`~skmetric.label_space.make_label_metric`, default=None
        The label metric; ``None`` is the discrete metric over ``labels`` (or
        over the labels present in ``y_true`` and ``y_pred``).
    labels, metric_kind, embedding_metric
        Passed to :func:`~skmetric.label_space.make_label_metric`.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    esd : float

    Examples
    --------
    >>> from skmetric.metrics import expected_squared_distance
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
    check_label_types(y_true, name="y_true")
    check_label_types(y_pred, name="y_pred")
    if label_metric is None and labels is None:
        labels = np.unique(np.concatenate([y_true, y_pred]))
    lm = make_label_metric(
        label_metric, labels, metric_kind=metric_kind, embedding_metric=embedding_metric
    )
    a = lm.index(y_true, name="Labels of y_true")
    b = lm.index(y_pred, name="Labels of y_pred")
    return float(np.average(lm.pair_squared_distances(a, b), weights=sample_weight))


"""Build a label metric from any accepted form."""

from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp

from ._base import LabelMetric
from ._callable import CallableMetric
from ._discrete import DiscreteMetric
from ._embeddings import EmbeddingMetric
from ._graph import GraphMetric
from ._matrix import DistanceMatrix
from ._tree import TreeMetric

METRIC_KINDS = ("auto", "distances", "graph", "tree", "embeddings", "callable")


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
    >>> from skmetric.label_space import make_label_metric
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

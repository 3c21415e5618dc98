"""Plots in scikit-learn's ``Display`` style.

Each display is built with ``from_estimator`` (fits nothing: it calls the
fitted estimator's ``transform``, ``score_samples``...) or from precomputed
values (``from_embedding``, ``from_history``, ``from_predictions``), draws
on an optional ``ax`` and keeps its artists as attributes ending in ``_``
(``ax_``, ``figure_``, ``line_``...), like
:class:`sklearn.metrics.RocCurveDisplay`.

matplotlib is only imported when a display draws; install it with the
``plot`` extra (``pip install "skmetric[plot]"``).
"""

from ._embedding import EmbeddingDisplay
from ._history import TrainingHistoryDisplay
from ._one_class import OneClassScoreDisplay
from ._recall import RecallAtKDisplay

__all__ = [
    "EmbeddingDisplay",
    "OneClassScoreDisplay",
    "RecallAtKDisplay",
    "TrainingHistoryDisplay",
]

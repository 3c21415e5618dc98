"""Evaluation metrics and scorers.

Metrics: retrieval (QB-Norm rescoring, GAP), clustering, verification and geometry of embeddings;
AnyLoss confusion-matrix metrics; Loki's expected squared label distance.
Scorers: :func:`get_scorer` knows every skmetric scorer by name and falls back
to scikit-learn's names; :func:`make_scorer` and the ``*_scorer`` factories
build them with other settings.
"""

from ._clustering import ami, nmi
from ._confusion import anyloss_score, soft_anyloss_score
from ._geometry import alignment, uniformity
from ._label_distance import expected_squared_distance
from ._retrieval import (
    map_at_r,
    mean_average_precision,
    mrr,
    precision_at_k,
    r_precision,
    recall_at_k,
    retrieval_report,
)
from ._retrieval_gap import global_average_precision
from ._retrieval_scores import retrieval_scores
from ._scorers import (
    ami_scorer,
    get_scorer,
    get_scorer_names,
    make_anyloss_scorer,
    make_embedding_scorer,
    make_expected_squared_distance_scorer,
    make_scorer,
    map_at_r_scorer,
    mean_average_precision_scorer,
    mrr_scorer,
    nmi_scorer,
    precision_at_k_scorer,
    r_precision_scorer,
    recall_at_k_scorer,
)
from ._verification import equal_error_rate, far_frr, opis, pair_roc_auc
from .few_shot import few_shot_accuracy

__all__ = [
    "alignment",
    "ami",
    "ami_scorer",
    "anyloss_score",
    "equal_error_rate",
    "expected_squared_distance",
    "far_frr",
    "few_shot_accuracy",
    "get_scorer",
    "get_scorer_names",
    "global_average_precision",
    "make_anyloss_scorer",
    "make_embedding_scorer",
    "make_expected_squared_distance_scorer",
    "make_scorer",
    "map_at_r",
    "map_at_r_scorer",
    "mean_average_precision",
    "mean_average_precision_scorer",
    "mrr",
    "mrr_scorer",
    "nmi",
    "nmi_scorer",
    "opis",
    "pair_roc_auc",
    "precision_at_k",
    "precision_at_k_scorer",
    "r_precision",
    "r_precision_scorer",
    "recall_at_k",
    "recall_at_k_scorer",
    "retrieval_report",
    "retrieval_scores",
    "soft_anyloss_score",
    "uniformity",
]

"""Evaluation metrics for embeddings: retrieval, clustering, verification, geometry.

Also the scorers (``recall_at_k_scorer``, ``get_scorer``...) usable as
``scoring=`` in scikit-learn's searches.
"""

from ._clustering import ami, nmi
from ._geometry import alignment, uniformity
from ._retrieval import (
    map_at_r,
    mean_average_precision,
    mrr,
    precision_at_k,
    r_precision,
    recall_at_k,
    retrieval_report,
)
from ._retrieval_scores import retrieval_scores
from ._verification import equal_error_rate, far_frr, opis, pair_roc_auc
from .few_shot import few_shot_accuracy

__all__ = [
    "alignment",
    "ami",
    "equal_error_rate",
    "far_frr",
    "few_shot_accuracy",
    "map_at_r",
    "mean_average_precision",
    "mrr",
    "nmi",
    "opis",
    "pair_roc_auc",
    "precision_at_k",
    "r_precision",
    "recall_at_k",
    "retrieval_report",
    "retrieval_scores",
    "uniformity",
]

# Scorers live in skmetric.scorers; re-exported here for convenience.
from ._scorers import (  # noqa: E402
    ami_scorer,
    get_scorer,
    get_scorer_names,
    make_embedding_scorer,
    map_at_r_scorer,
    mean_average_precision_scorer,
    mrr_scorer,
    nmi_scorer,
    precision_at_k_scorer,
    r_precision_scorer,
    recall_at_k_scorer,
)

__all__ += [
    "ami_scorer",
    "get_scorer",
    "get_scorer_names",
    "make_embedding_scorer",
    "map_at_r_scorer",
    "mean_average_precision_scorer",
    "mrr_scorer",
    "nmi_scorer",
    "precision_at_k_scorer",
    "r_precision_scorer",
    "recall_at_k_scorer",
]

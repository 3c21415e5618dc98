"""Scorers that grade an estimator by the embedding it produces.

Implemented in :mod:`skmetric.metrics._scorers`; see
:func:`skmetric.metrics.get_scorer`.
"""

from .metrics._scorers import (  # noqa: F401
    EmbeddingScorer,
    __all__,
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

"""Evaluation metrics for embeddings: retrieval, clustering, verification, geometry."""

from ._retrieval import (
    map_at_r,
    mean_average_precision,
    mrr,
    precision_at_k,
    r_precision,
    recall_at_k,
    retrieval_report,
)

__all__ = [
    "map_at_r",
    "mean_average_precision",
    "mrr",
    "precision_at_k",
    "r_precision",
    "recall_at_k",
    "retrieval_report",
]

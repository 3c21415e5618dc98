"""Distances and similarities between embeddings (pure torch).

Choose one by object or by name with :func:`get_distance`.
"""

from .base import BaseDistance
from ._distances import (
    CosineSimilarity,
    DotProductSimilarity,
    EuclideanDistance,
    SquaredEuclideanDistance,
)
from .lp import LpDistance
from .poincare import PoincareDistance
from .prototype import prototype_distances
from .snr import SNRDistance

DISTANCES = {
    "euclidean": EuclideanDistance,
    "sqeuclidean": SquaredEuclideanDistance,
    "cosine": CosineSimilarity,
    "dot": DotProductSimilarity,
    "poincare": PoincareDistance,
    "snr": SNRDistance,
    "lp": LpDistance,
}

__all__ = [
    "BaseDistance",
    "CosineSimilarity",
    "DotProductSimilarity",
    "EuclideanDistance",
    "LpDistance",
    "PoincareDistance",
    "SNRDistance",
    "SquaredEuclideanDistance",
    "DISTANCES",
    "get_distance",
    "prototype_distances",
]


def get_distance(name, **params):
    """Build a distance from its registry name (``"euclidean"``, ``"cosine"``...)."""
    if isinstance(name, BaseDistance):
        return name
    try:
        cls = DISTANCES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown distance {name!r}. Valid names are: {sorted(DISTANCES)}."
        ) from None
    return cls(**params)

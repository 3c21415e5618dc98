"""Euclidean, squared Euclidean, cosine and dot-product (pure torch)."""

import torch

from ._normalize import cosine_matrix, l2_normalize, safe_sqrt
from .base import BaseDistance

__all__ = [
    "EuclideanDistance",
    "SquaredEuclideanDistance",
    "CosineSimilarity",
    "DotProductSimilarity",
]


def _squared_euclidean(query, ref, clamp=True):
    # ||q||^2 + ||r||^2 - 2 q.r, clamped at 0 (rounding can push it below).
    qq = (query * query).sum(-1, keepdim=True)
    rr = qq.T if ref is query else (ref * ref).sum(-1).unsqueeze(0)
    d2 = torch.addmm(qq + rr, query, ref.T, alpha=-2.0)
    if clamp:
        d2 = d2.clamp_min_(0.0)
    if ref is query:
        # the expansion leaves ~sqrt(eps)-sized self-distances; d(x, x) is 0.
        # (addmm and clamp_min_ save nothing for backward that this edits.)
        d2.diagonal().zero_()
    return d2


class SquaredEuclideanDistance(BaseDistance):
    r"""Squared Euclidean distance :math:`\|a - b\|_2^2`."""

    def compute_matrix(self, query, ref):
        return _squared_euclidean(query, ref)

    def compute_pairs(self, a, b):
        return ((a - b) ** 2).sum(-1)


class EuclideanDistance(BaseDistance):
    r"""Euclidean distance :math:`\|a - b\|_2`.

    The square root has an infinite gradient at 0 (a point and itself, or
    duplicates); here its gradient at 0 is 0, so no NaN reaches the
    embeddings.
    """

    def compute_matrix(self, query, ref):
        # safe_sqrt clamps at 0 itself (one autograd node instead of two)
        return safe_sqrt(_squared_euclidean(query, ref, clamp=False))

    def compute_pairs(self, a, b):
        return safe_sqrt(((a - b) ** 2).sum(-1))


class DotProductSimilarity(BaseDistance):
    r"""Dot product :math:`a \cdot b` (a similarity: larger is closer)."""

    is_inverted = True

    def compute_matrix(self, query, ref):
        return query @ ref.T

    def compute_pairs(self, a, b):
        return (a * b).sum(-1)


class CosineSimilarity(DotProductSimilarity):
    r"""Cosine similarity :math:`\hat a \cdot \hat b` (larger is closer).

    The embeddings are always L2-normalised; ``normalize_embeddings`` is
    accepted for a uniform signature and must stay ``True``.
    """

    def __init__(self, *, normalize_embeddings=True):
        super().__init__(normalize_embeddings=normalize_embeddings)

    def _maybe_normalize(self, x):
        return l2_normalize(x)

    def forward(self, query, ref=None):
        """Matrix of cosines (one autograd node; ``ref`` defaults to ``query``)."""
        return cosine_matrix(query, ref)

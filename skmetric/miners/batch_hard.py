"""Batch-hard miner (Hermans, Beyer & Leibe, 2017)."""

import torch

from ..distances import EuclideanDistance
from ..distances._resolve import as_badness
from .base import BaseMiner

__all__ = ["BatchHardMiner"]


class BatchHardMiner(BaseMiner):
    r"""One triplet per anchor: its farthest positive and its closest negative.

    Returns triplets ``(a, p, n)``.  Anchors without a positive or without
    a negative in the batch are dropped (so a batch with neither gives empty
    tensors).  Ties are broken by ``torch.max``/``torch.min``.

    Parameters
    ----------
    distance : BaseDistance, str or None, default=None
        ``None`` means ``EuclideanDistance(normalize_embeddings=True)``, the
        pytorch-metric-learning default.

    References
    ----------
    A. Hermans, L. Beyer and B. Leibe. "In Defense of the Triplet Loss for
    Person Re-Identification". 2017. arXiv:1703.07737.
    """

    tuple_size = 3

    default_distance = EuclideanDistance(normalize_embeddings=True)

    def __init__(self, *, distance=None):
        super().__init__()
        self.distance = distance

    def mine(self, embeddings, labels):
        dist, mat, pos, neg = self.batch_pairs(embeddings, labels)
        u = as_badness(mat, dist)
        inf = torch.tensor(float("inf"), dtype=u.dtype, device=u.device)
        p = torch.where(pos, u, -inf).argmax(1)
        n = torch.where(neg, u, inf).argmin(1)
        a = (pos.any(1) & neg.any(1)).nonzero(as_tuple=True)[0]
        return a, p[a], n[a]

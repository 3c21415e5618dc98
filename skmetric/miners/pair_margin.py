"""Pair-margin miner: positives farther and negatives closer than a margin."""

from ..distances import EuclideanDistance
from .base import BaseMiner

__all__ = ["PairMarginMiner"]


class PairMarginMiner(BaseMiner):
    r"""Keep positive pairs with :math:`d > m_{pos}` and negative pairs with :math:`d < m_{neg}`.

    (For a similarity: :math:`s < m_{pos}` and :math:`s > m_{neg}`.)
    Returns pairs ``(a1, p, a2, n)`` in lexicographic order.

    Parameters
    ----------
    pos_margin : float, default=0.2
    neg_margin : float, default=0.8
    distance : BaseDistance, str or None, default=None
        ``None`` means ``EuclideanDistance(normalize_embeddings=True)``.
    """

    default_distance = EuclideanDistance(normalize_embeddings=True)

    def __init__(self, *, pos_margin=0.2, neg_margin=0.8, distance=None):
        super().__init__()
        self.pos_margin = pos_margin
        self.neg_margin = neg_margin
        self.distance = distance

    def mine(self, embeddings, labels):
        dist, mat, pos, neg = self.batch_pairs(embeddings, labels)
        pos &= dist.closer(self.pos_margin, mat)
        neg &= dist.closer(mat, self.neg_margin)
        a1, p = pos.nonzero(as_tuple=True)
        a2, n = neg.nonzero(as_tuple=True)
        return a1, p, a2, n

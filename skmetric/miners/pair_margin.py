"""Pair-margin miner: positives farther and negatives closer than a margin."""

from ..distances import EuclideanDistance
from .._tuples import pair_masks
from ..distances._resolve import resolve_distance
from .base import BaseMiner

__all__ = ["PairMarginMiner"]

# the default distance (stateless, shared)
_DEFAULT_DISTANCE = EuclideanDistance(normalize_embeddings=True)


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

    def __init__(self, *, pos_margin=0.2, neg_margin=0.8, distance=None):
        super().__init__()
        self.pos_margin = pos_margin
        self.neg_margin = neg_margin
        self.distance = distance

    def mine(self, embeddings, labels):
        dist = resolve_distance(self.distance, _DEFAULT_DISTANCE)
        mat = dist(embeddings)
        pos, neg = pair_masks(labels)
        pos &= dist.closer(self.pos_margin, mat)
        neg &= dist.closer(mat, self.neg_margin)
        a1, p = pos.nonzero(as_tuple=True)
        a2, n = neg.nonzero(as_tuple=True)
        return a1, p, a2, n

"""Generalized lifted structure loss (Hermans, Beyer & Leibe, 2017)."""

import torch

from ..distances import EuclideanDistance
from ._utils import masked_logsumexp
from .base import BasePairLoss

__all__ = ["GeneralizedLiftedStructureLoss"]


class GeneralizedLiftedStructureLoss(BasePairLoss):
    r"""Per anchor, a soft hardest positive against a soft hardest negative.

    .. math::
        L = \frac1B \sum_i \Big[\operatorname{LSE}_{p \in P_i}(d_{ip} - m_{pos})
              + \operatorname{LSE}_{n \in N_i}(m_{neg} - d_{in})\Big]_+

    An empty side contributes 0 (so an anchor without positives still pays
    for close negatives, as in pytorch-metric-learning).  With a similarity
    the signs flip.

    Parameters
    ----------
    neg_margin : float, default=1
    pos_margin : float, default=0
    distance : BaseDistance, str or None, default=None
        ``None`` means ``EuclideanDistance(normalize_embeddings=True)``.
    reducer : str, BaseReducer or None, default=None
        Reduces the per-anchor terms.  ``None`` means ``"mean"``.

    Notes
    -----
    With ``indices_tuple`` only the given pairs are used (duplicates count
    once).

    References
    ----------
    A. Hermans, L. Beyer and B. Leibe. "In Defense of the Triplet Loss for
    Person Re-Identification". 2017. arXiv:1703.07737 (section 2).
    """

    default_distance = EuclideanDistance(normalize_embeddings=True)

    def __init__(self, *, neg_margin=1.0, pos_margin=0.0, distance=None, reducer=None):
        super().__init__()
        self.neg_margin = neg_margin
        self.pos_margin = pos_margin
        self.distance = distance
        self.reducer = reducer

    def compute_loss(self, embeddings, labels, indices_tuple):
        dist, mat, pos_mask, neg_mask = self.pairs_as_masks(embeddings, labels, indices_tuple)
        pos = masked_logsumexp(dist.margin(mat, self.pos_margin), pos_mask)
        neg = masked_logsumexp(dist.margin(self.neg_margin, mat), neg_mask)
        return self.reduce(torch.relu(pos + neg))

"""Generalized lifted structure loss (Hermans, Beyer & Leibe, 2017)."""

import torch

from ..distances import EuclideanDistance
from ._utils import masked_logsumexp, pair_masks, pairs_to_masks, resolve_distance, to_pairs
from .base import BaseMetricLoss

__all__ = ["GeneralizedLiftedStructureLoss"]

# the default distance (stateless, shared)
_DEFAULT_DISTANCE = EuclideanDistance(normalize_embeddings=True)


class GeneralizedLiftedStructureLoss(BaseMetricLoss):
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

    Notes
    -----
    With ``indices_tuple`` only the given pairs are used (duplicates count
    once).

    References
    ----------
    A. Hermans, L. Beyer and B. Leibe. "In Defense of the Triplet Loss for
    Person Re-Identification". 2017. arXiv:1703.07737 (section 2).
    """

    def __init__(self, *, neg_margin=1.0, pos_margin=0.0, distance=None):
        super().__init__()
        self.neg_margin = neg_margin
        self.pos_margin = pos_margin
        self.distance = distance

    def compute_loss(self, embeddings, labels, indices_tuple):
        dist = resolve_distance(self.distance, _DEFAULT_DISTANCE)
        mat = dist(embeddings)
        if indices_tuple is None:
            pos_mask, neg_mask = pair_masks(labels)
        else:
            pos_mask, neg_mask = pairs_to_masks(
                to_pairs(indices_tuple, labels), mat.shape, mat.device
            )
        pos = masked_logsumexp(dist.margin(mat, self.pos_margin), pos_mask)
        neg = masked_logsumexp(dist.margin(self.neg_margin, mat), neg_mask)
        return torch.relu(pos + neg).mean()

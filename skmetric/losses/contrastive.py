"""Contrastive loss (Hadsell, Chopra & LeCun, 2006)."""

import torch

from ..distances import EuclideanDistance
from ._utils import avg_nonzero, pair_masks, resolve_distance, to_pairs
from .base import BaseMetricLoss, zero_loss

__all__ = ["ContrastiveLoss"]


def _default_distance():
    return EuclideanDistance(normalize_embeddings=True)


class ContrastiveLoss(BaseMetricLoss):
    r"""Pull positive pairs within ``pos_margin``, push negatives beyond ``neg_margin``.

    For a distance :math:`d` (the default is the Euclidean distance between
    L2-normalised embeddings):

    .. math::
        L = \operatorname{AvgNonZero}_{(i,j) \in P} [d_{ij} - m_{pos}]_+^q
          + \operatorname{AvgNonZero}_{(i,k) \in N} [m_{neg} - d_{ik}]_+^q

    with :math:`q = 1` (``squared=False``, the pytorch-metric-learning form)
    or :math:`q = 2` (``squared=True``, the form of Hadsell et al. without
    its factor 1/2).  ``AvgNonZero`` averages the strictly positive terms
    (0 when there are none); each side is reduced separately, then the two
    are summed.  With a similarity (``distance="cosine"``) the signs flip:
    :math:`[m_{pos} - s_{ij}]_+` and :math:`[s_{ik} - m_{neg}]_+`.

    Parameters
    ----------
    pos_margin : float, default=0
        Positive pairs closer than this cost nothing.
    neg_margin : float, default=1
        Negative pairs farther than this cost nothing.
    squared : bool, default=False
        Square each hinge term (not in pytorch-metric-learning).
    distance : BaseDistance, str or None, default=None
        ``None`` means ``EuclideanDistance(normalize_embeddings=True)``, the
        pytorch-metric-learning default.  A name is looked up with
        :func:`skmetric.distances.get_distance` (with that distance's own
        defaults: ``"euclidean"`` does not normalise).

    Notes
    -----
    Without ``indices_tuple`` every positive and negative pair of the batch
    is used.  A miner's pairs ``(a1, p, a2, n)`` are used as given
    (duplicates count more than once); triplets ``(a, p, n)`` become pairs
    ``(a, p)`` and ``(a, n)``.  Unlike pytorch-metric-learning, a tuple with a
    single positive and a single negative pair is not turned into a zero
    loss.

    References
    ----------
    R. Hadsell, S. Chopra and Y. LeCun. "Dimensionality Reduction by
    Learning an Invariant Mapping". CVPR 2006.
    """

    def __init__(self, *, pos_margin=0.0, neg_margin=1.0, squared=False, distance=None):
        super().__init__()
        self.pos_margin = pos_margin
        self.neg_margin = neg_margin
        self.squared = squared
        self.distance = distance

    def compute_loss(self, embeddings, labels, indices_tuple):
        dist = resolve_distance(self.distance, _default_distance)
        mat = dist(embeddings)
        if indices_tuple is None:
            pos_mask, neg_mask = pair_masks(labels)
            pos = torch.relu(dist.margin(mat, self.pos_margin)).masked_fill(~pos_mask, 0)
            neg = torch.relu(dist.margin(self.neg_margin, mat)).masked_fill(~neg_mask, 0)
        else:
            a1, p, a2, n = to_pairs(indices_tuple, labels)
            if len(a1) == 0 and len(a2) == 0:
                return zero_loss(embeddings)
            pos = torch.relu(dist.margin(mat[a1, p], self.pos_margin))
            neg = torch.relu(dist.margin(self.neg_margin, mat[a2, n]))
        if self.squared:
            pos, neg = pos * pos, neg * neg
        return avg_nonzero(pos) + avg_nonzero(neg)

"""Lifted structure loss (Song et al., 2016)."""

import torch

from ..distances import EuclideanDistance
from ._utils import log_counts, masked_logsumexp
from .base import BasePairLoss, gated

__all__ = ["LiftedStructureLoss"]


class LiftedStructureLoss(BasePairLoss):
    r"""Each positive pair against all negatives of both its members.

    For a positive pair :math:`(i, j)`, with :math:`N_i` the negatives of
    :math:`i`:

    .. math::
        J_{ij} = \log\Big(\sum_{k \in N_i} e^{m_{neg} - d_{ik}}
                        + \sum_{l \in N_j} e^{m_{neg} - d_{jl}}\Big)
                 + d_{ij} - m_{pos},
        \qquad L = \frac{1}{|P|} \sum_{(i,j) \in P} \tfrac12 [J_{ij}]_+^2

    (each unordered pair appears in both orders, hence the 1/2).  The
    log-sum-exp is split per anchor, :math:`J_{ij} = \operatorname{logaddexp}
    (L_i, L_j) + \dots` with :math:`L_i = \operatorname{LSE}_{k \in N_i}(m_{neg}
    - d_{ik})`, so memory is ``O(B^2)`` (pytorch-metric-learning builds a
    (positive pairs x negative pairs) matrix).  With a similarity the signs
    flip.

    Parameters
    ----------
    neg_margin : float, default=1
        The margin :math:`\alpha` of the paper.
    pos_margin : float, default=0
        Subtracted from the positive distance.
    distance : BaseDistance, str or None, default=None
        ``None`` means ``EuclideanDistance(normalize_embeddings=True)``.
    reducer : str, BaseReducer or None, default=None
        Reduces the per-positive-pair terms (with their multiplicity).  ``None`` means ``"mean"``.

    Notes
    -----
    A batch with no positive or no negative pair gives zero.  With
    ``indices_tuple`` the given pairs count with their multiplicity (as in
    pytorch-metric-learning); a positive pair whose two members have no
    negative pair gives :math:`\tfrac12 [d_{ij} - m_{pos}]_+^2`.

    References
    ----------
    H. O. Song, Y. Xiang, S. Jegelka and S. Savarese. "Deep Metric Learning
    via Lifted Structured Feature Embedding". CVPR 2016. arXiv:1511.06452.
    """

    default_distance = EuclideanDistance(normalize_embeddings=True)

    def __init__(self, *, neg_margin=1.0, pos_margin=0.0, distance=None, reducer=None):
        super().__init__()
        self.neg_margin = neg_margin
        self.pos_margin = pos_margin
        self.distance = distance
        self.reducer = reducer

    def compute_loss(self, embeddings, labels, indices_tuple):
        dist, mat, pos_c, neg_c = self.pairs_as_counts(embeddings, labels, indices_tuple)
        # 0 (zero gradient) without a positive or a negative pair, by a
        # product instead of an early exit (no host sync)
        keep = self.has_pairs(pos_c, neg_c)
        has_neg = neg_c > 0
        per_anchor = masked_logsumexp(
            dist.margin(self.neg_margin, mat) + log_counts(neg_c), has_neg
        )
        has = has_neg.any(1)
        li, lj = per_anchor.unsqueeze(1), per_anchor.unsqueeze(0)
        hi, hj = has.unsqueeze(1), has.unsqueeze(0)
        both = torch.logaddexp(li, lj)
        neg_term = torch.where(hi & hj, both, torch.where(hi, li, torch.where(hj, lj, 0.0)))
        losses = torch.relu(neg_term + dist.margin(mat, self.pos_margin)) ** 2 / 2
        if self.reducer is not None:
            return gated(self.reduce_pairs(losses, pos_c), keep)
        return gated((losses * pos_c).sum() / pos_c.sum().clamp_min(1), keep)

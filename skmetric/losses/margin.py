"""Margin loss with a learnable boundary beta (Wu et al., 2017)."""

import torch
from torch import nn

from .._tuples import pair_masks, to_triplets
from ..distances import EuclideanDistance
from .base import BasePairLoss, zero_loss

__all__ = ["MarginLoss"]


class MarginLoss(BasePairLoss):
    r"""Positives inside ``beta - margin``, negatives beyond ``beta + margin``.

    For each triplet :math:`(a, p, n)`:

    .. math::
        \ell = [d_{ap} - \beta + \mu]_+ + [\beta - d_{an} + \mu]_+

    and :math:`L = \sum \ell / (\#\{\text{positive hinge terms}\}) + \nu\beta`
    (pytorch-metric-learning's divisor).  :math:`\beta` is one learnable
    scalar, or one per class when ``num_classes`` is given.  Over all
    triplets of a batch each hinge depends on a single pair, so the sum is
    computed over pairs, weighting a positive pair by its anchor's number of
    negatives and vice versa: ``O(B^2)`` instead of listing ``O(B^3)``
    triplets.

    Parameters
    ----------
    margin : float, default=0.2
        The margin :math:`\mu`.
    nu : float, default=0
        Weight of the :math:`\beta` regulariser.
    beta : float, default=1.2
        Initial boundary :math:`\beta`.
    learn_beta : bool, default=True
        Make :math:`\beta` a parameter (pytorch-metric-learning defaults to
        ``False``; the paper learns it).
    num_classes : int, default=None
        One :math:`\beta` per class when set (the anchor's class is used).
    distance : BaseDistance, str or None, default=None
        ``None`` means ``EuclideanDistance(normalize_embeddings=True)``.

    Attributes
    ----------
    betas : torch.Tensor of shape (1,) or (num_classes,)
        The boundary, a ``Parameter`` when ``learn_beta``.

    References
    ----------
    C.-Y. Wu, R. Manmatha, A. J. Smola and P. Krähenbühl. "Sampling Matters
    in Deep Embedding Learning". ICCV 2017. arXiv:1706.07567.
    """

    default_distance = EuclideanDistance(normalize_embeddings=True)

    def __init__(self, *, margin=0.2, nu=0.0, beta=1.2, learn_beta=True, num_classes=None,
                 distance=None):
        super().__init__()
        self.margin = margin
        self.nu = nu
        self.beta = beta
        self.learn_beta = learn_beta
        self.num_classes = num_classes
        self.distance = distance
        betas = torch.full((num_classes or 1,), float(beta))
        if learn_beta:
            self.betas = nn.Parameter(betas)
        else:
            self.register_buffer("betas", betas)

    def _anchor_beta(self, labels, dtype):
        betas = self.betas.to(dtype)
        if len(betas) == 1:
            return betas.expand(len(labels))
        return betas[labels]

    def compute_loss(self, embeddings, labels, indices_tuple):
        dist = self.pair_distance()
        mat = dist(embeddings)
        beta = self._anchor_beta(labels, mat.dtype)
        if indices_tuple is None:
            pos, neg = pair_masks(labels)
            n_pos = pos.sum(1, keepdim=True).to(mat.dtype)
            n_neg = neg.sum(1, keepdim=True).to(mat.dtype)
            col = beta.unsqueeze(1)
            pos_loss = torch.relu(dist.margin(mat, col) + self.margin)
            neg_loss = torch.relu(dist.margin(col, mat) + self.margin)
            w_pos = pos * n_neg  # each positive pair is in |N_a| triplets
            w_neg = neg * n_pos
            total = (pos_loss * w_pos).sum() + (neg_loss * w_neg).sum()
            divisor = (w_pos * (pos_loss > 0)).sum() + (w_neg * (neg_loss > 0)).sum()
            reg_count = (n_pos * n_neg).squeeze(1)  # triplets per anchor
        else:
            a, p, n = to_triplets(indices_tuple, labels)
            if len(a) == 0:
                return zero_loss(embeddings)
            b = beta[a]
            pos_loss = torch.relu(dist.margin(mat[a, p], b) + self.margin)
            neg_loss = torch.relu(dist.margin(b, mat[a, n]) + self.margin)
            total = (pos_loss + neg_loss).sum()
            divisor = (pos_loss > 0).sum() + (neg_loss > 0).sum()
            reg_count = torch.bincount(a, minlength=len(labels)).to(mat.dtype)
        divisor = divisor.to(mat.dtype)
        safe = divisor.clamp_min(1)
        loss = torch.where(divisor > 0, total / safe, zero_loss(embeddings))
        if self.learn_beta and self.nu:
            if len(self.betas) == 1:
                loss = loss + self.nu * self.betas.to(mat.dtype)[0]
            else:
                reg = (self.nu * beta * reg_count).sum() / safe
                loss = loss + torch.where(divisor > 0, reg, 0.0)
        return loss

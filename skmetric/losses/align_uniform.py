"""Alignment and uniformity on the hypersphere (Wang & Isola, 2020)."""

import math

import torch

from ..distances import CosineSimilarity
from ..distances._normalize import safe_sqrt
from ._utils import masked_logsumexp
from .base import BasePairLoss, zero_loss

__all__ = ["AlignUniformLoss"]


class AlignUniformLoss(BasePairLoss):
    r"""Pull positives together and spread the batch over the sphere.

    On L2-normalised embeddings, with :math:`P` the positive pairs:

    .. math::
        L_{align} = \operatorname{mean}_{(i,j) \in P} \|\hat x_i - \hat x_j\|^\alpha,
        \qquad
        L_{unif} = \log \operatorname{mean}_{i < j} e^{-t\|\hat x_i - \hat x_j\|^2}

    and :math:`L = w_a L_{align} + w_u L_{unif}`.  :math:`L_{unif}` is a
    log-sum-exp minus :math:`\log(\#\text{pairs})`; it is negative, so the
    loss can be.

    Parameters
    ----------
    alpha : float, default=2
    t : float, default=2
    align_weight : float, default=1
    uniform_weight : float, default=1

    Notes
    -----
    A batch without positive pairs has :math:`L_{align} = 0`; fewer than 2
    samples give zero.  With ``indices_tuple`` only its positive pairs enter
    :math:`L_{align}` (with multiplicity); :math:`L_{unif}` always uses the
    whole batch.

    References
    ----------
    T. Wang and P. Isola. "Understanding Contrastive Representation Learning
    through Alignment and Uniformity on the Hypersphere". ICML 2020.
    arXiv:2005.10242.
    """

    default_distance = CosineSimilarity()

    def __init__(self, *, alpha=2.0, t=2.0, align_weight=1.0, uniform_weight=1.0):
        super().__init__()
        self.alpha = alpha
        self.t = t
        self.align_weight = align_weight
        self.uniform_weight = uniform_weight

    def compute_loss(self, embeddings, labels, indices_tuple):
        n = len(labels)
        if n < 2:
            return zero_loss(embeddings)
        _, cos, pos_c, _ = self.pairs_as_counts(embeddings, labels, indices_tuple)
        sq = (2 - 2 * cos).clamp_min(0)  # squared distance of unit vectors
        if self.alpha == 2:
            d_alpha = sq
        else:
            d_alpha = safe_sqrt(sq) ** self.alpha
        align = (d_alpha * pos_c).sum() / pos_c.sum().clamp_min(1)
        upper = torch.triu(torch.ones(n, n, dtype=torch.bool, device=cos.device), 1)
        lse = masked_logsumexp((-self.t * sq).reshape(1, -1), upper.reshape(1, -1))[0]
        uniform = lse - math.log(n * (n - 1) / 2)
        return self.align_weight * align + self.uniform_weight * uniform

"""Tuplet margin loss (Yu & Tao, 2019)."""

import math

import torch

from ..distances import CosineSimilarity
from .base import BasePairLoss

__all__ = ["TupletMarginLoss"]


class TupletMarginLoss(BasePairLoss):
    r"""N-pair-style softmax on cosines with an angular slack on the positive.

    For a positive pair :math:`(a, p)` at angle :math:`\theta_{ap}`:

    .. math::
        \ell_{ap} = \log\Big(1 + \sum_{n \in N_a}
            e^{s(\cos\theta_{an} - \cos(\theta_{ap} - m))}\Big)

    and :math:`L` is the mean over positive pairs.  :math:`\cos(\theta -
    m)` is computed as :math:`\cos\theta\cos m + \sin\theta\sin m` (no
    ``acos``, finite gradient at :math:`\cos\theta = 1`), and the sum over
    negatives as one log-sum-exp per anchor (``O(B^2)`` memory).

    Parameters
    ----------
    margin : float, default=5.73
        Angular margin :math:`m` in **degrees** (pytorch-metric-learning's
        unit; 5.73° ≈ 0.1 rad).
    scale : float, default=64
        Scale :math:`s`.
    reducer : str, BaseReducer or None, default=None
        Reduces the per-positive-pair terms (with their multiplicity).  ``None`` means ``"mean"``.

    Notes
    -----
    Cosine similarity only.  A positive pair whose anchor has no negative
    gives 0; a batch without positive or negative pairs gives zero.  The
    paper pairs this loss with an intra-pair variance regulariser, not
    included.

    References
    ----------
    B. Yu and D. Tao. "Deep Metric Learning with Tuplet Margin Loss". ICCV
    2019.
    """

    default_distance = CosineSimilarity()

    def __init__(self, *, margin=5.73, scale=64.0, reducer=None):
        super().__init__()
        self.margin = margin
        self.scale = scale
        self.reducer = reducer

    def compute_loss(self, embeddings, labels, indices_tuple):
        _, cos, pos_c, neg_c = self.pairs_as_counts(embeddings, labels, indices_tuple)
        # without a positive or a negative pair the formula gives 0 (zero
        # gradient): no early exit, no host sync
        m = math.radians(self.margin)
        eps = torch.finfo(cos.dtype).eps
        sin = (1 - cos * cos).clamp_min(eps).sqrt()
        shifted = cos * math.cos(m) + sin * math.sin(m)  # cos(theta - m)
        return self.positive_vs_negatives(self.scale * shifted, self.scale * cos, pos_c, neg_c)

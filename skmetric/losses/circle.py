"""Circle loss (Sun et al., 2020)."""

import torch

from ..distances import CosineSimilarity
from ._utils import masked_logsumexp
from .base import BasePairLoss

__all__ = ["CircleLoss"]


class CircleLoss(BasePairLoss):
    r"""Re-weight each similarity by its distance from its optimum.

    With cosine similarities, for anchor :math:`i`:

    .. math::
        L_i = \operatorname{softplus}\Big(
            \operatorname{LSE}_{n \in N_i} \gamma \alpha_n (s_n - \Delta_n)
          + \operatorname{LSE}_{p \in P_i} \big(-\gamma \alpha_p (s_p - \Delta_p)\big)
        \Big)

    where :math:`\alpha_p = [1 + m - s_p]_+` and :math:`\alpha_n = [s_n +
    m]_+` are treated as constants (detached), :math:`\Delta_p = 1 - m` and
    :math:`\Delta_n = m`.  Anchors without a positive or a negative give 0,
    and :math:`L` is the mean of the non-zero :math:`L_i` (AvgNonZero).  The
    log-sum-exps subtract their row maximum, so ``gamma=256`` is stable in
    float32.

    Parameters
    ----------
    m : float, default=0.4
        Relaxation margin (pytorch-metric-learning's default, the paper's
        fine-grained setting; faces use 0.25).
    gamma : float, default=80
        Scale (faces use 256, re-identification 128).
    reducer : str, BaseReducer or None, default=None
        Reduces the per-anchor terms.  ``None`` means ``"mean_nonzero"``.

    Notes
    -----
    Cosine similarity only (as in pytorch-metric-learning), so there is no
    ``distance`` parameter.  With ``indices_tuple`` only the given pairs are
    used.

    References
    ----------
    Y. Sun, C. Cheng, Y. Zhang, C. Zhang, L. Zheng, Z. Wang and Y. Wei.
    "Circle Loss: A Unified Perspective of Pair Similarity Optimization".
    CVPR 2020. arXiv:2002.10857.
    """

    default_distance = CosineSimilarity()

    def __init__(self, *, m=0.4, gamma=80.0, reducer=None):
        super().__init__()
        self.m = m
        self.gamma = gamma
        self.reducer = reducer

    def compute_loss(self, embeddings, labels, indices_tuple):
        _, s, pos_mask, neg_mask = self.pairs_as_masks(embeddings, labels, indices_tuple)
        sd = s.detach()
        logit_p = (-self.gamma) * torch.relu(1 + self.m - sd) * (s - (1 - self.m))
        logit_n = self.gamma * torch.relu(sd + self.m) * (s - self.m)
        lse = masked_logsumexp(logit_p, pos_mask) + masked_logsumexp(logit_n, neg_mask)
        keep = pos_mask.any(1) & neg_mask.any(1)
        losses = torch.nn.functional.softplus(lse).masked_fill(~keep, 0)
        return self.reduce(losses, default="mean_nonzero")

"""Supervised contrastive loss (Khosla et al., 2020)."""

import torch

from ..distances import CosineSimilarity
from ._utils import masked_logsumexp
from .base import BasePairLoss, gated

__all__ = ["SupConLoss"]


class SupConLoss(BasePairLoss):
    r"""Every positive of an anchor against all other samples.

    .. math::
        L_i = -\frac{1}{|P_i|} \sum_{p \in P_i}
              \log \frac{e^{s_{ip}/\tau}}{\sum_{a \ne i} e^{s_{ia}/\tau}},
        \qquad L = \operatorname{AvgNonZero}_i L_i

    computed as :math:`\operatorname{LSE}_{a \ne i}(s_{ia}/\tau) -
    \operatorname{mean}_{p \in P_i} s_{ip}/\tau`.  Anchors without positives
    give 0 and drop out of the mean.  With a distance, :math:`s = -d`.

    Parameters
    ----------
    temperature : float, default=0.1
    distance : BaseDistance, str or None, default=None
        ``None`` means :class:`~skmetric.distances.CosineSimilarity`.
    reducer : str, BaseReducer or None, default=None
        Reduces the per-anchor terms.  ``None`` means ``"mean_nonzero"``.

    Notes
    -----
    With ``indices_tuple`` the denominator of anchor :math:`i` holds its
    given positive and negative pairs only (duplicates count once).

    References
    ----------
    P. Khosla et al. "Supervised Contrastive Learning". NeurIPS 2020.
    arXiv:2004.11362.
    """

    default_distance = CosineSimilarity()

    def __init__(self, *, temperature=0.1, distance=None, reducer=None):
        super().__init__()
        self.temperature = temperature
        self.distance = distance
        self.reducer = reducer

    def compute_loss(self, embeddings, labels, indices_tuple):
        dist, mat, pos_mask, neg_mask = self.pairs_as_masks(embeddings, labels, indices_tuple)
        # 0 (zero gradient) without a positive or a negative pair, by a
        # product instead of an early exit (no host sync)
        keep = pos_mask.any() & neg_mask.any()
        logits = mat / (self.temperature if dist.is_inverted else -self.temperature)
        denominator = masked_logsumexp(logits, pos_mask | neg_mask)
        n_pos = pos_mask.sum(1)
        mean_pos = torch.where(pos_mask, logits, 0.0).sum(1) / n_pos.clamp_min(1).to(mat.dtype)
        losses = torch.where(n_pos > 0, denominator - mean_pos, 0.0)
        return gated(self.reduce(losses, default="mean_nonzero"), keep)

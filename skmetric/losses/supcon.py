"""Supervised contrastive loss (Khosla et al., 2020)."""

import torch

from ..distances import CosineSimilarity
from ._utils import (
    avg_nonzero,
    masked_logsumexp,
    pair_masks,
    pairs_to_masks,
    resolve_distance,
    to_pairs,
)
from .base import BaseMetricLoss, zero_loss

__all__ = ["SupConLoss"]

# the default distance (stateless, shared)
_DEFAULT_DISTANCE = CosineSimilarity()


class SupConLoss(BaseMetricLoss):
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

    Notes
    -----
    With ``indices_tuple`` the denominator of anchor :math:`i` holds its
    given positive and negative pairs only (duplicates count once).

    References
    ----------
    P. Khosla et al. "Supervised Contrastive Learning". NeurIPS 2020.
    arXiv:2004.11362.
    """

    def __init__(self, *, temperature=0.1, distance=None):
        super().__init__()
        self.temperature = temperature
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
        if not (pos_mask.any() and neg_mask.any()):
            return zero_loss(embeddings)
        logits = mat / (self.temperature if dist.is_inverted else -self.temperature)
        denominator = masked_logsumexp(logits, pos_mask | neg_mask)
        n_pos = pos_mask.sum(1)
        mean_pos = torch.where(pos_mask, logits, 0.0).sum(1) / n_pos.clamp_min(1).to(mat.dtype)
        losses = torch.where(n_pos > 0, denominator - mean_pos, 0.0)
        return avg_nonzero(losses)

"""N-pairs loss (Sohn, 2016)."""

import torch

from ..distances import DotProductSimilarity
from ._utils import resolve_distance, to_pairs
from .base import BaseMetricLoss, zero_loss

__all__ = ["NPairsLoss"]

# the default distance (stateless, shared): pytorch-metric-learning's
# DotProductSimilarity normalises, so this is the cosine
_DEFAULT_DISTANCE = DotProductSimilarity(normalize_embeddings=True)


class NPairsLoss(BaseMetricLoss):
    r"""Cross-entropy over one (anchor, positive) pair per class.

    From the positive pairs, one pair per class is kept (the first in the
    pair order: its lowest-index anchor with its lowest-index positive, as
    in pytorch-metric-learning).  With :math:`S_{ij} = s(f_i, f_j^+)` over
    those :math:`N` pairs:

    .. math::
        L = \frac1N \sum_i -\log \frac{e^{S_{ii}}}{\sum_j e^{S_{ij}}}

    (for a distance, :math:`S = -d`).

    Parameters
    ----------
    distance : BaseDistance, str or None, default=None
        ``None`` means ``DotProductSimilarity(normalize_embeddings=True)``
        (the cosine), pytorch-metric-learning's default.

    Notes
    -----
    The paper's L2 penalty on the embeddings is not included (add one with
    :class:`~skmetric.losses.CombinedLoss` if wanted).  A batch without a
    positive pair gives zero.

    References
    ----------
    K. Sohn. "Improved Deep Metric Learning with Multi-class N-pair Loss
    Objective". NeurIPS 2016.
    """

    def __init__(self, *, distance=None):
        super().__init__()
        self.distance = distance

    def compute_loss(self, embeddings, labels, indices_tuple):
        dist = resolve_distance(self.distance, _DEFAULT_DISTANCE)
        a, p, _, _ = to_pairs(indices_tuple, labels)
        if len(a) == 0:
            return zero_loss(embeddings)
        # first pair of each anchor label (np.unique(..., return_index=True))
        key = labels[a]
        uniq, inv = torch.unique(key, return_inverse=True)
        order = torch.arange(len(a), device=a.device)
        first = torch.full((len(uniq),), len(a), dtype=torch.long, device=a.device)
        first.scatter_reduce_(0, inv, order, reduce="amin")
        a, p = a[first], p[first]
        sim = dist(embeddings[a], embeddings[p])
        if not dist.is_inverted:
            sim = -sim
        target = torch.arange(len(a), device=a.device)
        return torch.nn.functional.cross_entropy(sim, target)

"""N-pairs loss (Sohn, 2016)."""

import torch

from .._tuples import to_pairs
from ..distances import DotProductSimilarity
from ..distances._normalize import cosine_matrix
from .base import BasePairLoss, zero_loss

__all__ = ["NPairsLoss"]

# the default distance (stateless, shared): pytorch-metric-learning's
# DotProductSimilarity normalises, so this is the cosine


class NPairsLoss(BasePairLoss):
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

    default_distance = DotProductSimilarity(normalize_embeddings=True)

    def __init__(self, *, distance=None):
        super().__init__()
        self.distance = distance

    def compute_loss(self, embeddings, labels, indices_tuple):
        dist = self.pair_distance()
        if indices_tuple is None:
            a, p = self._first_pairs(labels)
        else:
            a, p = self._first_listed_pairs(to_pairs(indices_tuple, labels), labels)
        if len(a) == 0:
            return zero_loss(embeddings)
        target = torch.arange(len(a), device=a.device)
        if self.distance is None:  # the cosine, as one autograd node
            sim = cosine_matrix(embeddings[a], embeddings[p])
            return torch.nn.functional.cross_entropy(sim, target)
        sim = dist(embeddings[a], embeddings[p])
        if not dist.is_inverted:
            sim = -sim
        return torch.nn.functional.cross_entropy(sim, target)

    @staticmethod
    def _first_pairs(labels):
        # per class: its two lowest indices (stable sort keeps index order)
        order = torch.argsort(labels, stable=True)
        sorted_labels = labels[order]
        new_group = torch.ones_like(sorted_labels, dtype=torch.bool)
        new_group[1:] = sorted_labels[1:] != sorted_labels[:-1]
        starts = new_group.nonzero(as_tuple=True)[0]
        has_second = starts + 1 < len(labels)
        starts = starts[has_second]
        has_second = sorted_labels[starts + 1] == sorted_labels[starts]
        starts = starts[has_second]
        return order[starts], order[starts + 1]

    @staticmethod
    def _first_listed_pairs(pairs, labels):
        # first listed pair of each anchor label (np.unique(..., return_index=True))
        a, p, _, _ = pairs
        if len(a) == 0:
            return a, p
        uniq, inv = torch.unique(labels[a], return_inverse=True)
        position = torch.arange(len(a), device=a.device)
        first = torch.full((len(uniq),), len(a), dtype=torch.long, device=a.device)
        first.scatter_reduce_(0, inv, position, reduce="amin")
        return a[first], p[first]

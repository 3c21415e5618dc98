"""Multi-similarity miner (Wang et al., 2019)."""

import torch

from .._tuples import empty_indices, pair_masks
from ..distances import CosineSimilarity
from ..distances._resolve import as_badness
from .base import BaseMiner


__all__ = ["MultiSimilarityMiner"]


class MultiSimilarityMiner(BaseMiner):
    r"""Keep the pairs that are harder than the easiest pair of the other kind.

    With cosine similarities :math:`S` and :math:`\epsilon` = ``epsilon``:

    - a negative pair :math:`(i, k)` is kept if
      :math:`S_{ik} + \epsilon > \min_{j \in P_i} S_{ij}`;
    - a positive pair :math:`(i, j)` is kept if
      :math:`S_{ij} - \epsilon < \max_{k \in N_i} S_{ik}`.

    For a distance the inequalities are mirrored.  Returns pairs ``(a1, p,
    a2, n)``; all four are empty when the batch has no positive pair or no
    negative pair.

    Parameters
    ----------
    epsilon : float, default=0.1
        Mining margin.
    distance : BaseDistance, str or None, default=None
        ``None`` means :class:`~skmetric.distances.CosineSimilarity`.

    References
    ----------
    X. Wang, X. Han, W. Huang, D. Dong and M. R. Scott. "Multi-Similarity
    Loss with General Pair Weighting for Deep Metric Learning". CVPR 2019.
    arXiv:1904.06627.
    """

    default_distance = CosineSimilarity()

    def __init__(self, *, epsilon=0.1, distance=None):
        super().__init__()
        self.epsilon = epsilon
        self.distance = distance

    def mine(self, embeddings, labels):
        dist = self.pair_distance()
        pos, neg = pair_masks(labels)
        if not (pos.any() and neg.any()):
            return empty_indices(embeddings.device, 4)
        u = as_badness(dist(embeddings), dist)  # larger = farther
        inf = torch.tensor(float("inf"), dtype=u.dtype, device=u.device)
        hardest_pos = torch.where(pos, u, -inf).amax(1, keepdim=True)
        hardest_neg = torch.where(neg, u, inf).amin(1, keepdim=True)
        keep_pos = pos & (u + self.epsilon > hardest_neg)
        keep_neg = neg & (u - self.epsilon < hardest_pos)
        a1, p = keep_pos.nonzero(as_tuple=True)
        a2, n = keep_neg.nonzero(as_tuple=True)
        return a1, p, a2, n

"""Hard-negative miner for the TCM regulariser."""

import torch

from ..distances import CosineSimilarity
from ..distances._resolve import as_badness
from .base import BaseMiner

__all__ = ["TCMHardNegativeMiner"]


class TCMHardNegativeMiner(BaseMiner):
    r"""All positive pairs and, per anchor, its ``num_negatives`` closest negatives.

    A negative is kept only if it is closer than ``margin`` (cosine above
    ``margin``; ``None`` keeps them all): with ``margin`` equal to the TCM
    loss's ``margin_minus`` it returns the hard negatives that TCM
    penalises, so the regulariser (and a base loss sharing the miner) acts
    on the negatives that break a global threshold.  Returns pairs ``(a1,
    p, a2, n)``.

    Parameters
    ----------
    num_negatives : int, default=5
        Negatives kept per anchor (the closest ones).
    margin : float or None, default=0.5
        Threshold on the similarity (or distance) of kept negatives.
    distance : BaseDistance, str or None, default=None
        ``None`` means :class:`~skmetric.distances.CosineSimilarity`.

    References
    ----------
    Q. Zhang et al. "Threshold-Consistent Margin Loss for Open-World Deep
    Metric Learning". ICLR 2024. arXiv:2307.04047.
    """

    default_distance = CosineSimilarity()

    def __init__(self, *, num_negatives=5, margin=0.5, distance=None):
        super().__init__()
        self.num_negatives = num_negatives
        self.margin = margin
        self.distance = distance

    def mine(self, embeddings, labels):
        dist, mat, pos, neg = self.batch_pairs(embeddings, labels)
        a1, p = pos.nonzero(as_tuple=True)
        k = min(int(self.num_negatives), len(labels))
        u = as_badness(mat, dist).masked_fill(~neg, float("inf"))
        if self.margin is not None:
            u = u.masked_fill(~dist.closer(mat, self.margin), float("inf"))
        vals, idx = u.topk(k, dim=1, largest=False) if k > 0 else (u[:, :0], u[:, :0].long())
        keep = torch.isfinite(vals)
        a2 = torch.arange(len(labels), device=labels.device).unsqueeze(1).expand_as(idx)[keep]
        return a1, p, a2, idx[keep]

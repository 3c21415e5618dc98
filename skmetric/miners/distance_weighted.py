"""Distance-weighted sampling miner (Wu et al., 2017)."""

import torch

from .._tuples import empty_indices, pair_masks
from ..distances import EuclideanDistance
from .base import BaseMiner

__all__ = ["DistanceWeightedMiner"]

_DISTANCE = EuclideanDistance(normalize_embeddings=True)


class DistanceWeightedMiner(BaseMiner):
    r"""Triplets whose negatives are drawn with weight :math:`\propto 1/q(d)`.

    On the unit sphere of dimension :math:`n`, pairwise distances follow
    :math:`q(d) \propto d^{n-2}(1 - d^2/4)^{(n-3)/2}`; sampling negatives
    with weights :math:`w \propto 1/q(\max(d, \text{cutoff}))`, zero beyond
    ``nonzero_loss_cutoff``, spreads them over all distances instead of
    favouring the many far ones.  Every positive pair :math:`(a, p)` gets
    one negative drawn from anchor :math:`a`'s weights (with torch's random
    generator, which the estimators' fit loop seeds), so the output has one
    triplet per positive pair whose anchor has a negative of non-zero
    weight.  The weights are computed in log space, shifted by the row
    maximum.

    Parameters
    ----------
    cutoff : float, default=0.5
        Distances below are raised to it (limits the variance).
    nonzero_loss_cutoff : float, default=1.4
        Negatives farther than this get weight 0.

    Notes
    -----
    Euclidean distance between L2-normalised embeddings only (the weights
    assume it).  pytorch-metric-learning draws positives at random too;
    here every positive pair is used once.

    References
    ----------
    C.-Y. Wu, R. Manmatha, A. J. Smola and P. Krähenbühl. "Sampling Matters
    in Deep Embedding Learning". ICCV 2017. arXiv:1706.07567.
    """

    tuple_size = 3

    def __init__(self, *, cutoff=0.5, nonzero_loss_cutoff=1.4):
        super().__init__()
        self.cutoff = cutoff
        self.nonzero_loss_cutoff = nonzero_loss_cutoff

    def weights(self, embeddings, labels):
        """Row-normalised ``(B, B)`` sampling weights of the negatives."""
        d = float(embeddings.shape[1])
        mat = _DISTANCE(embeddings).clamp_min(float(self.cutoff))
        tiny = torch.finfo(mat.dtype).tiny
        log_w = (2.0 - d) * torch.log(mat) - ((d - 3) / 2) * torch.log(
            (1.0 - 0.25 * mat * mat).clamp_min(tiny)
        )
        _, neg = pair_masks(labels)
        keep = neg & (mat < self.nonzero_loss_cutoff) & torch.isfinite(log_w)
        log_w = log_w.masked_fill(~keep, -float("inf"))
        row_max = log_w.amax(1, keepdim=True).masked_fill(~keep.any(1, keepdim=True), 0)
        w = torch.exp(log_w - row_max)
        return w / w.sum(1, keepdim=True).clamp_min(tiny)

    def mine(self, embeddings, labels):
        w = self.weights(embeddings, labels)
        pos, _ = pair_masks(labels)
        pos &= (w > 0).any(1, keepdim=True)
        a, p = pos.nonzero(as_tuple=True)
        if len(a) == 0:
            return empty_indices(embeddings.device, 3)
        n = torch.multinomial(w[a].float(), 1, replacement=True).squeeze(1)
        return a, p, n

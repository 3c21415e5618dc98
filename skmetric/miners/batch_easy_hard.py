"""Batch-easy-hard miner (Xuan, Stylianou & Pless, 2020)."""

import torch

from ..distances import EuclideanDistance
from .base import BaseMiner

__all__ = ["BatchEasyHardMiner"]

_STRATEGIES = ("hard", "semihard", "easy", "all")


class BatchEasyHardMiner(BaseMiner):
    r"""Per anchor, one positive and one negative chosen by strategy.

    ``pos_strategy``: ``"easy"`` (closest positive), ``"hard"`` (farthest),
    ``"semihard"`` (farthest positive still closer than the chosen
    negative) or ``"all"``; ``neg_strategy``: ``"hard"`` (closest
    negative), ``"easy"`` (farthest), ``"semihard"`` (closest negative
    farther than the chosen positive) or ``"all"``.  Pairs outside
    ``allowed_pos_range`` / ``allowed_neg_range`` (``(low, high)`` on the
    distance) are never chosen.  Returns pairs ``(a, p, a, n)`` for anchors
    that got both (with ``"all"`` on one side, every pair of that side),
    with pytorch-metric-learning's selection rules.

    Parameters
    ----------
    pos_strategy : {"easy", "semihard", "hard", "all"}, default="easy"
    neg_strategy : {"semihard", "hard", "easy", "all"}, default="semihard"
        Both cannot be ``"semihard"``, and ``"semihard"`` cannot be combined
        with ``"all"``.
    allowed_pos_range, allowed_neg_range : tuple of 2 floats or None, default=None
    distance : BaseDistance, str or None, default=None
        ``None`` means ``EuclideanDistance(normalize_embeddings=True)``.

    References
    ----------
    H. Xuan, A. Stylianou and R. Pless. "Improved Embeddings with Easy
    Positive Triplet Mining". WACV 2020. arXiv:1904.04370.
    """

    default_distance = EuclideanDistance(normalize_embeddings=True)

    def __init__(self, *, pos_strategy="easy", neg_strategy="semihard", allowed_pos_range=None,
                 allowed_neg_range=None, distance=None):
        super().__init__()
        self.pos_strategy = pos_strategy
        self.neg_strategy = neg_strategy
        self.allowed_pos_range = allowed_pos_range
        self.allowed_neg_range = allowed_neg_range
        self.distance = distance

    def _check(self):
        pos, neg = self.pos_strategy, self.neg_strategy
        if pos not in _STRATEGIES or neg not in _STRATEGIES:
            raise ValueError(
                f"`pos_strategy` and `neg_strategy` of BatchEasyHardMiner must be one of "
                f"{list(_STRATEGIES)}; got {pos!r} and {neg!r}."
            )
        if pos == neg == "semihard":
            raise ValueError("`pos_strategy` and `neg_strategy` cannot both be 'semihard'.")
        if {pos, neg} == {"semihard", "all"}:
            raise ValueError("'semihard' cannot be combined with 'all'.")

    @staticmethod
    def _pick(mat, mask, use_max, val_range, thresholds):
        # PML's get_x_per_row: excluded entries set to the dtype's extreme
        extreme = torch.finfo(mat.dtype).min if use_max else torch.finfo(mat.dtype).max
        keep = mask.clone()
        if thresholds is not None:
            t = thresholds.unsqueeze(1)
            keep &= ~(mat >= t if use_max else mat <= t)
        if val_range is not None:
            keep &= ~((mat > val_range[1]) | (mat < val_range[0]))
        vals = mat.masked_fill(~keep, extreme)
        best, idx = (vals.max(1) if use_max else vals.min(1))
        return best, idx, keep.any(1)

    def mine(self, embeddings, labels):
        self._check()
        dist, mat, pos, neg = self.batch_pairs(embeddings, labels)
        inv = dist.is_inverted
        # "max" means farther for a distance, closer for a similarity
        pos_max = {"hard": not inv, "semihard": not inv, "easy": inv}
        neg_max = {"hard": inv, "semihard": inv, "easy": not inv}
        ps, ns = self.pos_strategy, self.neg_strategy
        pr, nr = self.allowed_pos_range, self.allowed_neg_range
        if ps == "semihard" and ns != "all":
            nd, ni, nk = self._pick(mat, neg, neg_max[ns], nr, None)
            pd, pi, pk = self._pick(mat, pos, pos_max[ps], pr, nd)
        elif ns == "semihard" and ps != "all":
            pd, pi, pk = self._pick(mat, pos, pos_max[ps], pr, None)
            nd, ni, nk = self._pick(mat, neg, neg_max[ns], nr, pd)
        else:
            if ps != "all":
                pd, pi, pk = self._pick(mat, pos, pos_max[ps], pr, None)
            if ns != "all":
                nd, ni, nk = self._pick(mat, neg, neg_max[ns], nr, None)
        a = torch.arange(len(labels), device=labels.device)
        if ps != "all" and ns != "all":
            keep = pk & nk
            return a[keep], pi[keep], a[keep], ni[keep]
        a1, p = pos.nonzero(as_tuple=True)
        a2, n = neg.nonzero(as_tuple=True)
        if ps == "all" and ns != "all":
            return a1, p, a[nk], ni[nk]
        if ps != "all":
            return a[pk], pi[pk], a2, n
        return a1, p, a2, n

"""Contrastive loss (Hadsell, Chopra & LeCun, 2006)."""

import torch

from .._tuples import to_pairs
from ..distances import EuclideanDistance
from ..distances._normalize import _normalize_backward, _normalize_rows
from ._utils import pair_values
from .base import BasePairLoss, zero_loss

__all__ = ["ContrastiveLoss"]


def _dense_ids(labels, dtype):
    # labels -> 0, 1, 2, ... (equal labels equal ids), exact in ``dtype`` for
    # fewer than 2^24 rows; a sort, no host sync (no ``unique``)
    ordered, order = labels.sort()
    step = torch.ones_like(ordered, dtype=dtype)
    step[:1] = 0
    step[1:] = (ordered[1:] != ordered[:-1]).to(dtype)
    return torch.empty_like(step).index_put_((order,), step.cumsum_(0))


class _ContrastiveAllPairs(torch.autograd.Function):
    # The all-pairs contrastive loss with the Euclidean distance and
    # AvgNonZero on each side, forward and backward in one node, in float
    # passes over B x B buffers (on the CPU a comparison that writes
    # booleans, or a transposed read, costs several float passes):
    #   d      sqrt(clamp(|yi|^2 + |yj|^2 - 2 yi.yj)), as EuclideanDistance
    #          builds it; y = x / |x| when normalising (inside the node)
    #   ns     1 where the labels differ (dense label ids compared)
    #   v      d - pos_margin (same label), neg_margin - d (different): one
    #          rounding each, so v > 0 iff d > pos_margin (d < neg_margin)
    #          exactly as the comparisons decide; h = relu(v) is the hinge
    #   k      [h > 0], the kept pairs; n_neg = sum(k ns), n_pos = sum(k) - n_neg
    #   loss   sum(h u), u = 1 / n_pos (same label) or 1 / n_neg (different)
    #   grad   dL/dd = k u sigma (sigma = +1 same label, -1 different); with
    #          M = dL/dd / d = k u / (sigma d) (0 where d = 0: the safe square
    #          root), symmetric, dL/dy = 2 (y rowsum(M) - M y): one product
    @staticmethod
    def forward(ctx, x, labels, pos_margin, neg_margin, normalize, eps):
        if normalize:
            y, norm, clamped = _normalize_rows(x, eps)
        else:
            y = x
        sq = (y * y).sum(-1, keepdim=True)
        d = torch.add(sq, sq.T).addmm_(y, y.T, alpha=-2.0)
        d.diagonal().zero_()
        d.clamp_min_(0.0).sqrt_()
        ids = _dense_ids(labels, x.dtype)
        # a comparison written as floats (one pass; booleans cost several)
        ns = torch.ne(ids.unsqueeze(1), ids.unsqueeze(0), out=torch.empty_like(d))
        k = torch.empty_like(d)
        # v = sigma d + c, sigma = 1 - 2 ns, c = -pos_margin (same label) or
        # neg_margin: products by 0 and +-1 and d - 2 d are exact, so v
        # rounds once
        sd = d.addcmul_(ns, d, value=-2.0)
        v = ns.mul(neg_margin)
        if pos_margin != 0:
            v.add_(torch.sub(ns, 1.0, out=k), alpha=pos_margin)
        h = v.add_(sd).clamp_min_(0.0)
        h.diagonal().zero_()
        torch.gt(h, 0.0, out=k)
        n_all, n_neg = k.sum(), torch.dot(k.view(-1), ns.view(-1))
        inv_pos = (n_all - n_neg).clamp_min_(1.0).reciprocal_()
        inv_neg = n_neg.clamp_min(1.0).reciprocal_()
        u = ns.mul_(inv_neg - inv_pos).add_(inv_pos)
        total = torch.dot(h.view(-1), u.view(-1))
        # M = k u sigma / d = k u / (sigma d); 0 / 0 (the diagonal) and
        # k / 0 (a pair at distance 0) become 0
        M = k.mul_(u).div_(sd).nan_to_num_(0.0, 0.0, 0.0)
        if normalize:
            ctx.save_for_backward(M, y, norm, clamped)
        else:
            ctx.save_for_backward(M, y)
        ctx.normalize = normalize
        return total

    @staticmethod
    def backward(ctx, grad):
        M, y, *rest = ctx.saved_tensors
        out = torch.addmm(y * M.sum(1, keepdim=True), M, y, alpha=-1.0).mul_(2.0 * grad)
        if ctx.normalize:
            out = _normalize_backward(out, y, *rest)
        return out, None, None, None, None, None


class ContrastiveLoss(BasePairLoss):
    r"""Pull positive pairs within ``pos_margin``, push negatives beyond ``neg_margin``.

    For a distance :math:`d` (the default is the Euclidean distance between
    L2-normalised embeddings):

    .. math::
        L = \operatorname{AvgNonZero}_{(i,j) \in P} [d_{ij} - m_{pos}]_+^q
          + \operatorname{AvgNonZero}_{(i,k) \in N} [m_{neg} - d_{ik}]_+^q

    with :math:`q = 1` (``squared=False``, the pytorch-metric-learning form)
    or :math:`q = 2` (``squared=True``, the form of Hadsell et al. without
    its factor 1/2).  ``AvgNonZero`` averages the strictly positive terms
    (0 when there are none); each side is reduced separately, then the two
    are summed.  With a similarity (``distance="cosine"``) the signs flip:
    :math:`[m_{pos} - s_{ij}]_+` and :math:`[s_{ik} - m_{neg}]_+`.

    Parameters
    ----------
    pos_margin : float, default=0
        Positive pairs closer than this cost nothing.
    neg_margin : float, default=1
        Negative pairs farther than this cost nothing.
    squared : bool, default=False
        Square each hinge term (not in pytorch-metric-learning).
    distance : BaseDistance, str or None, default=None
        ``None`` means ``EuclideanDistance(normalize_embeddings=True)``, the
        pytorch-metric-learning default.  A name is looked up with
        :func:`skmetric.distances.get_distance` (with that distance's own
        defaults: ``"euclidean"`` does not normalise).
    reducer : str, BaseReducer or None, default=None
        Applied to each side's hinge terms (anchor: the pair's first
        element), the two results summed.  ``None`` means
        ``"mean_nonzero"`` (AvgNonZero above, pytorch-metric-learning's).

    Notes
    -----
    Without ``indices_tuple`` every positive and negative pair of the batch
    is used.  A miner's pairs ``(a1, p, a2, n)`` are used as given
    (duplicates count more than once); triplets ``(a, p, n)`` become pairs
    ``(a, p)`` and ``(a, n)``.  Unlike pytorch-metric-learning, a tuple with a
    single positive and a single negative pair is not turned into a zero
    loss.

    References
    ----------
    R. Hadsell, S. Chopra and Y. LeCun. "Dimensionality Reduction by
    Learning an Invariant Mapping". CVPR 2006.
    """

    default_distance = EuclideanDistance(normalize_embeddings=True)

    def __init__(self, *, pos_margin=0.0, neg_margin=1.0, squared=False, distance=None,
                 reducer=None):
        super().__init__()
        self.pos_margin = pos_margin
        self.neg_margin = neg_margin
        self.squared = squared
        self.distance = distance
        self.reducer = reducer

    def compute_loss(self, embeddings, labels, indices_tuple):
        dist = self.pair_distance()
        if indices_tuple is None and self.reducer is None:
            if (type(dist) is EuclideanDistance and not self.squared
                    and embeddings.requires_grad
                    and embeddings.dtype in (torch.float32, torch.float64)):
                return _ContrastiveAllPairs.apply(
                    embeddings, labels, float(self.pos_margin), float(self.neg_margin),
                    dist.normalize_embeddings, 1e-12,
                )
            return self._all_pairs(dist, dist(embeddings), labels)
        a1, p, a2, n = to_pairs(indices_tuple, labels)
        if len(a1) == 0 and len(a2) == 0:
            return zero_loss(embeddings)
        values = pair_values(dist, embeddings, [(a1, p), (a2, n)])
        if values is None:
            mat = dist(embeddings)
            values = mat[a1, p], mat[a2, n]
        pos = dist.margin(values[0], self.pos_margin)
        neg = dist.margin(self.neg_margin, values[1])
        if self.reducer is None:
            return self._mean_positive(pos, pos > 0) + self._mean_positive(neg, neg > 0)
        pos, neg = torch.relu(pos), torch.relu(neg)
        if self.squared:
            pos, neg = pos * pos, neg * neg
        return self.reduce(pos, a1) + self.reduce(neg, a2)

    def _all_pairs(self, dist, mat, labels):
        # all pairs, as masks over the matrix (no index lists).  relu(v) > 0
        # iff v > 0, and v = mat - margin > 0 iff mat > margin (exact in
        # IEEE arithmetic), so the kept pairs are found by comparisons alone.
        same = labels.unsqueeze(1) == labels.unsqueeze(0)
        if dist.is_inverted:
            keep_pos, keep_neg = mat < self.pos_margin, mat > self.neg_margin
        else:
            keep_pos, keep_neg = mat > self.pos_margin, mat < self.neg_margin
        keep_pos.logical_and_(same).fill_diagonal_(False)
        keep_neg.logical_and_(same.logical_not_())
        if self.squared:
            pos = dist.margin(mat, self.pos_margin)
            neg = dist.margin(self.neg_margin, mat)
            return self._mean_positive(pos, keep_pos) + self._mean_positive(neg, keep_neg)
        weights, const = self._weights(keep_pos, keep_neg, mat.dtype)
        total = (mat * weights).sum() + const
        return -total if dist.is_inverted else total

    def _weights(self, keep_pos, keep_neg, dtype):
        # the mean hinge is linear in mat on the kept pairs:
        #   sign * (sum(mat * W) - pos_margin [n_pos > 0] + neg_margin [n_neg > 0])
        # with W = keep_pos / n_pos - keep_neg / n_neg, a constant; so the
        # backward pass is a single multiplication.
        n_pos, n_neg = keep_pos.sum(), keep_neg.sum()
        zero = torch.zeros((), dtype=dtype, device=keep_pos.device)
        inv_pos = 1 / n_pos.clamp_min(1).to(dtype)
        inv_neg = -1 / n_neg.clamp_min(1).to(dtype)
        weights = torch.where(keep_pos, inv_pos, torch.where(keep_neg, inv_neg, zero))
        const = (n_neg > 0).to(dtype) * self.neg_margin - (n_pos > 0).to(dtype) * self.pos_margin
        return weights, const

    def _mean_positive(self, violation, keep):
        # AvgNonZero of [violation]_+ (or its square): relu(v) > 0 iff v > 0
        term = violation * violation if self.squared else violation
        zero = torch.zeros((), dtype=term.dtype, device=term.device)
        return torch.where(keep, term, zero).sum() / keep.sum().clamp_min(1).to(term.dtype)

"""NCA loss: stochastic-neighbour softmax over the batch (Goldberger et al., 2004)."""

import functools
import weakref
from typing import NamedTuple

import torch

from .._tuples import miner_weights
from ..distances._distances import _squared_euclidean
from ..distances._normalize import safe_sqrt
from ._per_sample import check_positive
from .base import BaseMetricLoss

__all__ = ["NCALoss"]

# exp() of arguments below about -87 (float32 subnormals and underflow) runs
# on a slow path, several times slower than the vectorised one; NCA's
# logits -d/T reach far below that.  Each row's log-sum-exp clamps its
# shifted logits at -_FLOOR: a term e^{-80} below the row's largest changes
# the sum by less than one part in 1e34.
_FLOOR = 80.0


def _softmax_rows(x, mask):
    """``(lse, weights)``: each row's log-sum-exp over ``mask`` (0 for an empty
    row) and its softmax weights (0 off the mask); no autograd."""
    fill = torch.finfo(x.dtype).min
    z = x.masked_fill(~mask, fill)
    m = z.amax(1, keepdim=True)
    m.masked_fill_(m == fill, 0.0)
    w = z.sub_(m).clamp_min_(-_FLOOR).exp_().masked_fill_(~mask, 0.0)
    s = w.sum(1, keepdim=True)
    w.div_(s.clamp_min_(torch.finfo(x.dtype).tiny))
    return s.log_().add_(m).squeeze(1), w


class _NeighbourLoss(torch.autograd.Function):
    # per row: LSE over the others - LSE over the positives; the gradient
    # w.r.t. the logits is (softmax over the others - softmax over the
    # positives), kept from the forward pass (one B x B matrix)
    @staticmethod
    def forward(ctx, logits, others, pos):
        lse_all, w_all = _softmax_rows(logits, others)
        lse_pos, w_pos = _softmax_rows(logits, pos)
        ctx.save_for_backward(w_all.sub_(w_pos))
        return lse_all - lse_pos

    @staticmethod
    def backward(ctx, grad):
        (w,) = ctx.saved_tensors
        return w * grad.unsqueeze(1), None, None


class _LabelMasks(NamedTuple):
    """What ``_SquaredNCA`` needs of a batch's labels, as arithmetic masks.

    Boolean masks (``masked_fill``, ``where``) cost 10 to 40 times an
    elementwise add on the CPU; the positives are picked by a multiply
    (``pos``) and an add (``off``) instead.
    """

    pos: torch.Tensor  # (B, B) 1.0 where j != i has the label of i, else 0.0
    off: torch.Tensor  # (B, B) 0.0 on those pairs, -sqrt(dtype max) elsewhere
    has_pos: torch.Tensor  # (B, 1) bool: anchor i has a positive
    weights: torch.Tensor  # (B,) has_pos / number of anchors with a positive
    low: float  # the dtype's lowest and smallest positive normal values
    tiny: float


def _label_masks(labels, dtype):
    same = labels.unsqueeze(1) == labels.unsqueeze(0)
    same.fill_diagonal_(False)
    pos = same.to(dtype)
    has_pos = same.any(1)
    # a finite "minus infinity" whose sum with the lowest finite value
    # (the diagonal of the logits) rounds back to it: no overflow to -inf
    big = torch.finfo(dtype).max ** 0.5
    weights = has_pos.to(dtype)
    weights = weights / weights.sum().clamp_min(1.0)
    info = torch.finfo(dtype)
    return _LabelMasks(pos, (pos - 1.0).mul_(big), has_pos.unsqueeze(1), weights,
                       info.min, info.tiny)


class _SquaredNCA(torch.autograd.Function):
    """The loss ``sum_i r_i (LSE_{j != i} z_ij - LSE_{j in P_i} z_ij)`` of the
    embeddings, with ``z_ij = -||e_i - e_j||^2 / T`` and anchor weights ``r``.

    Both LSEs are invariant to a constant added to a row, so the logits are
    taken as ``(2 e_i.e_j - ||e_j||^2) / T`` (one matrix product); the
    gradient w.r.t. the embeddings is written out (no autograd graph over
    the B x B matrices): with ``G = dL/dz`` (rows ``r_i (p_i - q_i)``, the
    softmax over the others minus that over the positives),
    ``dL/de = (2/T) (G e + G^T e - diag(G 1 + G^T 1) e)``.

    Each LSE is shifted by its own maximum (over the others; over the
    positives), so both are exact as in a masked log-sum-exp; the
    positives are selected by arithmetic with ``masks`` (:class:`_LabelMasks`).
    """

    @staticmethod
    def forward(ctx, emb, masks, miner_w, scale):
        # (one call per operation where two did the same: a loss evaluation
        # on small data is dominated by per-operation overhead)
        tiny = masks.tiny
        sq = (emb * emb).sum(1)
        z = torch.addmm(sq, emb, emb.T, beta=-scale, alpha=2.0 * scale)
        z.fill_diagonal_(masks.low)  # left out of both LSEs
        m_all = z.amax(1, keepdim=True)
        # the largest positive logit of each row (any finite shift without one)
        m_pos = torch.where(masks.has_pos, (z + masks.off).amax(1, keepdim=True), m_all)
        p = (z - m_all).clamp_min_(-_FLOOR).exp_()
        p.fill_diagonal_(0.0)
        # positives: z - m_pos <= 0; the others are clipped to 0 and zeroed
        q = z.sub_(m_pos).clamp_(-_FLOOR, 0.0).exp_().mul_(masks.pos)
        s_all = p.sum(1, keepdim=True).clamp_min_(tiny)
        # a row with a positive has a term e^0 = 1 in s_pos, one without has 0
        s_pos = q.sum(1, keepdim=True).clamp_min_(tiny)
        weights = masks.weights if miner_w is None else masks.weights * miner_w
        w = weights.unsqueeze(1)
        # G = r (p / s_all - q / s_pos), in place of p
        g = p.mul_(w / s_all).addcmul_(q, w / s_pos, value=-1.0)
        ctx.scale = scale
        ctx.save_for_backward(emb, g)
        lse_diff = s_all.log_().add_(m_all).sub_(s_pos.log_()).sub_(m_pos).squeeze(1)
        return (lse_diff * weights).sum()

    @staticmethod
    def backward(ctx, grad):
        emb, g = ctx.saved_tensors
        coef = (g.sum(1) + g.sum(0)).unsqueeze(1)
        out = torch.addmm(torch.mm(g.T, emb), g, emb).sub_(emb * coef)
        return out.mul_(grad * (2.0 * ctx.scale)), None, None, None


class NCALoss(BaseMetricLoss):
    r"""Each sample picks a neighbour by a softmax over distances; loss: it has another label.

    With :math:`d_{ij} = \|z_i - z_j\|^2` (or :math:`\|z_i - z_j\|` with
    ``squared=False``) and temperature :math:`T`:

    .. math::
        p_{ij} = \frac{e^{-d_{ij}/T}}{\sum_{k \ne i} e^{-d_{ik}/T}},\qquad
        L = -\frac{1}{|A|}\sum_{i \in A} \log \sum_{j \ne i,\ y_j = y_i} p_{ij}

    where :math:`A` is the set of anchors with at least one positive in the
    batch; anchors without one are left out (a batch with none gives 0,
    still connected to the graph).  Computed as a difference of two masked
    log-sum-exps, so tiny probabilities do not underflow.

    Parameters
    ----------
    temperature : float, default=1.0
        :math:`T` (ModernNCA's default).
    squared : bool, default=True
        Squared Euclidean distances, as in NCA and pytorch-metric-learning's
        ``NCALoss``; ``False`` gives the plain Euclidean distance that
        ModernNCA uses.

    Notes
    -----
    Embeddings are not normalised (``prefers_normalized = False``): the
    scale of the embedding is the neighbourhood size, as in NCA.  With
    ``indices_tuple`` each anchor's term is multiplied by its miner weight.
    ModernNCA also retrieves neighbours from a random 80% of the training
    set rather than the batch and adds :math:`10^{-7}` inside the log; here
    the neighbours are the batch.  ``softmax_scale`` of
    pytorch-metric-learning is :math:`1/T`; pytorch-metric-learning
    L2-normalises the embeddings first by default and drops anchors whose
    positive probability underflows to 0.

    References
    ----------
    J. Goldberger, S. Roweis, G. Hinton and R. Salakhutdinov. "Neighbourhood
    Components Analysis". NeurIPS 2004.

    H.-J. Ye, H.-H. Yin, D.-C. Zhan and W.-L. Chao. "Revisiting Nearest
    Neighbor for Tabular Data: A Deep Tabular Baseline Two Decades Later"
    (ModernNCA). ICLR 2025. arXiv:2407.03257 (authors and number from
    memory, not checked here).
    """

    prefers_normalized = False

    def __init__(self, *, temperature=1.0, squared=True):
        super().__init__()
        self.temperature = temperature
        self.squared = squared

    def compute_loss(self, embeddings, labels, indices_tuple):
        check_positive(self, "temperature", self.temperature)
        miner_w = None
        if indices_tuple is not None:
            miner_w = miner_weights(indices_tuple, len(labels), embeddings.dtype,
                                    embeddings.device)
        if self.squared:
            masks = self._masks(labels, embeddings.dtype)
            return _SquaredNCA.apply(embeddings, masks, miner_w, 1.0 / self.temperature)
        not_pos = labels.unsqueeze(1) != labels.unsqueeze(0)
        not_pos.fill_diagonal_(True)
        pos = ~not_pos
        has_pos = pos.any(1)
        weights = has_pos.to(embeddings.dtype)
        if miner_w is not None:
            weights = weights * miner_w
        weights = weights / has_pos.sum().clamp_min(1).to(embeddings.dtype)
        logits = safe_sqrt(_squared_euclidean(embeddings, embeddings)) * (-1.0 / self.temperature)
        others = ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
        return (_NeighbourLoss.apply(logits, others, pos) * weights).sum()

    def _masks(self, labels, dtype):
        """The :class:`_LabelMasks` of ``labels``, kept while that tensor lives.

        A full-batch optimizer (L-BFGS) evaluates the loss several times on
        the same batch: the masks are built once per batch.  The cache holds
        the labels by weak reference and is dropped with them (and when
        the loss is pickled or copied).
        """
        cache = self.__dict__.get("_masks_cache")
        if cache is not None:
            ref, version, key, masks = cache
            if ref() is labels and version == labels._version and key == dtype:
                return masks
        masks = _label_masks(labels, dtype)
        self.__dict__["_masks_cache"] = (
            weakref.ref(labels, functools.partial(_drop_masks, weakref.ref(self))),
            labels._version, dtype, masks)
        return masks

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_masks_cache", None)
        return state


def _drop_masks(owner, ref):
    """Weak-reference callback: the labels of ``owner``'s cached masks are gone."""
    loss = owner()
    if loss is not None:
        cache = loss.__dict__.get("_masks_cache")
        if cache is not None and cache[0] is ref:
            del loss.__dict__["_masks_cache"]

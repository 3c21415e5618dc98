"""One base for the softmax losses over learnable class vectors (pure torch).

ArcFace, CosFace, SphereFace, sub-center ArcFace, ElasticFace, normalized
softmax, SoftTriple, EBV, harmonic and ProxyNCA all compute per-class logits
from the embedding and a set of class vectors, change the true class's logit
(the margin) and take the cross-entropy.  The base owns the class vectors,
the cosine logits, the true-class replacement, the cross-entropy, the miner
weights and the reduction; a subclass writes :meth:`logits`.
"""

import math

import torch
from torch import nn

from .._tuples import miner_weights
from ..distances._normalize import _normalize_rows, cosine_matrix
from .base import BaseProxyLoss

__all__ = ["BaseMarginSoftmaxLoss", "FusedHead"]

_LOG2E = 1.0 / math.log(2.0)
_LN2 = math.log(2.0)
# dtypes whose range holds 2^100 times the classes (float16 stops at 2^16)
_WIDE = (torch.float32, torch.float64, torch.bfloat16)


class FusedHead:
    """How :class:`_MarginSoftmaxCE` turns cosines into per-class logits.

    ``scale``
        The cosines are computed as ``scale * cos`` (in the matrix product).
    ``pool``
        ``None``: one vector per class; ``"max"``: the largest of ``k``
        vectors per class (sub-center ArcFace; the gradient goes to the first
        maximal one); ``"soft"``: SoftTriple's relaxed similarity
        ``sum_k softmax_k(cos_k * scale) cos_k``, times ``logit_scale``.
    ``k``
        Vectors per class; the class vectors passed are class-major (column
        ``c * k + j`` is vector ``j`` of class ``c``, the stored layout) and
        are reordered centre-major inside the node (column ``j * C + c``), so
        that every reduction over a class's vectors runs over whole
        ``(batch, C)`` slices.
    ``target_fn``
        Maps the ``(batch, 1)`` true-class logits ``t`` to ``(f(t), f'(t))``
        (``f'`` may be None for 1); None: no margin.  The logits are in base-2
        units (divided by ``ln 2``: a margin function of ``scale * cos``
        is given ``scale / ln 2``).
    ``target_shift``
        A constant margin instead of ``target_fn``: the true-class logit
        becomes ``t - target_shift`` (CosFace, SoftTriple); fewer ops.
    ``norm_scaled``
        The embeddings are not normalised: the logits are ``scale * |x| *
        cos`` (SphereFace); ``target_fn`` then maps the true-class cosines
        ``c`` to ``(psi(c), psi'(c))`` and the true-class logit is ``scale *
        |x| * psi(c)``.  Only with ``pool=None``.
    ``bound``
        A bound on the absolute values of the other classes' logits and on
        the true class's logit from above (a margin may take the true class's
        logit lower), or None.  Within ``100 ln 2`` (about 69) the softmax is
        exponentiated without subtracting each row's maximum: ``2^100`` times
        the classes stays finite in float32, float64 and bfloat16, and with
        two or more classes the row's sum is at least ``2^-100`` whatever the
        true class's logit (its exponential may underflow to 0: the loss
        takes it in log space).  float16, and a single class, always
        subtract the maximum.
    """

    __slots__ = ("scale", "pool", "k", "logit_scale", "target_fn", "target_shift",
                 "norm_scaled", "shift_free")

    def __init__(self, scale, *, pool=None, k=1, logit_scale=1.0, target_fn=None,
                 target_shift=None, norm_scaled=False, bound=None):
        self.scale = scale
        self.pool = pool
        self.k = k
        self.logit_scale = logit_scale
        self.target_fn = target_fn
        self.target_shift = target_shift
        self.norm_scaled = norm_scaled
        self.shift_free = bound is not None and abs(bound) * _LOG2E <= 100.0


_CONSTANTS = {}


def _constant(value, like):
    # a cached 0-dim tensor of like's dtype and device (no operator per call)
    key = (value, like.dtype, like.device)
    if key not in _CONSTANTS:
        _CONSTANTS[key] = torch.full((), value, dtype=like.dtype, device=like.device)
    return _CONSTANTS[key]


def _zero(x):
    # a 0-dim zero of x's dtype and device (addmm's ignored `input`)
    return _constant(0.0, x)


# Free (batch, classes) buffers of the one-node path on the CPU, by (shape,
# dtype): a step takes its logits buffer (and SoftTriple's exponentials) here
# and hands them back when its backward pass is done with them.  On the CPU a
# fresh multi-megabyte tensor is new pages: once the allocator has returned
# the previous step's to the system (glibc trims its heap when more than
# about twice the largest recent block is free at its top), the step pays a
# page fault per 4 KiB written, at batch 1,024 several milliseconds.  A buffer
# is only ever in the pool while no step holds it; the pool keeps one buffer
# per shape and a few shapes (the last, smaller batch of an epoch), and only
# buffers of 1 MiB or more: smaller ones, such as SoftTriple's at batch 256,
# took about 3% longer written through `out=` into a buffer than allocated
# by the operator (scratch timings, paired).  Nor buffers over 64 MiB: the
# pool outlives the fit, and a step that large pays its page faults
# relative to far more arithmetic.
_FREE = {}
_FREE_SHAPES = 4
_FREE_MIN_BYTES = 1 << 20
_FREE_MAX_BYTES = 1 << 26


def _take(shape, like):
    # a free buffer of this shape and like's dtype from the pool, or None
    # (an operator's `out=None` then allocates its result)
    if like.device.type == "cpu":
        free = _FREE.get((shape, like.dtype))
        if free:
            try:
                return free.pop()
            except IndexError:  # another thread took it
                pass
    return None


def _give(buffer):
    # put a buffer the step is done with in the pool (the caller holds no view
    # of it any more); smaller and larger ones are left to the allocator
    size = buffer.numel() * buffer.element_size()
    if buffer.device.type != "cpu" or not _FREE_MIN_BYTES <= size <= _FREE_MAX_BYTES:
        return
    key = (tuple(buffer.shape), buffer.dtype)
    free = _FREE.get(key)
    if free is None:
        if len(_FREE) >= _FREE_SHAPES:
            _FREE.clear()
        free = _FREE[key] = []
    if not free:
        free.append(buffer)


def _normalize_columns(w, eps):
    # columns of w divided by max(norm, eps); (w * w).sum(0) is several
    # times faster on the CPU than vector_norm over dim 0
    norm = (w * w).sum(0, keepdim=True).sqrt_()
    clamped = norm < eps
    norm.clamp_min_(eps)
    return w / norm, norm, clamped


def _normalize_columns_backward(grad, y, norm, clamped):
    dot = (grad * y).sum(0, keepdim=True).masked_fill_(clamped, 0)
    return grad.addcmul_(y, dot, value=-1).div_(norm)


def _margin_cross_entropy(xn, wn, column, head, norms=None, inv_norm=None, factor=_LN2):
    # (per-sample cross-entropies times factor / ln 2 as a (batch, 1) column,
    # the buffers the backward pass reuses; factor = ln 2 / batch folds the
    # mean into the last product) from the normalised x and w (norm_scaled: the
    # raw x, and norms = (clamped, raw) row norms; inv_norm: the raw x, whose
    # logits are divided by the clamped norms in the softmax's pass).
    # Everything runs in base-2 units (the products' scale carries log2(e)):
    # exp2 costs about half of exp on the CPU, and the softmax is
    # exponentiated once (the backward pass reuses the exponentials, no
    # log-softmax to undo).
    B, K = xn.shape[0], head.k
    C = wn.shape[1] // K
    base = cos = torch.addmm(_zero(xn), xn, wn, beta=0, alpha=head.scale * _LOG2E,
                             out=_take((B, K * C), xn))
    pooled = None
    if head.pool is None:
        logits = cos
    elif head.pool == "max":
        c3 = cos.view(B, K, C)
        logits = c3.amax(1)
        # c3[:, k] becomes 1 where vector k is the first maximal one, else 0
        if K > 1:
            free = torch.eq(c3[:, 0], logits, out=c3[:, 0]).neg().add_(1)
        else:
            torch.eq(c3[:, 0], logits, out=c3[:, 0])
        for k in range(1, K):
            torch.eq(c3[:, k], logits, out=c3[:, k]).mul_(free)
            if k < K - 1:
                free.sub_(c3[:, k])
        pooled = c3
    else:  # "soft": cos holds z = scale * cos / ln 2; S = sum_k p_k cos_k
        z = cos.view(B, K, C)
        e = torch.exp2(z, out=_take((B, K, C), z))
        total = e.sum(1)
        z.mul_(e)
        num = z.sum(1)  # zbar = num / total
        # dS/dcos_k = p_k (1 + ln2 (z_k - zbar)) = ln2 e_k (z_k + 1/ln2 - zbar) / total,
        # kept times total / ln2 in z's memory
        z.addcmul_(e, torch.addcdiv(_constant(_LOG2E, z), num, total, value=-1).unsqueeze(1))
        _give(e)
        logits = torch.addcdiv(_constant(0.0, z), num, total, value=head.logit_scale / head.scale)
        pooled = (z, total)
    slope = extra = None
    if head.norm_scaled:
        # the product of the raw x is scale |x| cos; the true class's cosine
        # is read back from it (|x| clamped as the normalisation does)
        clamped_norm, raw_norm = norms
        cosine = logits.gather(1, column).mul_(_LN2 / head.scale).div_(clamped_norm)
        value, slope = head.target_fn(cosine)
        # d(|x| psi(c))/dx beyond psi'(c) d(|x| c)/dx: (psi - c psi') x / |x|
        extra = torch.addcmul(value, cosine, slope, value=-1)
        target = value.mul_(raw_norm).mul_(head.scale * _LOG2E)
        logits.scatter_(1, column, target)
    elif head.target_shift is not None:
        target = logits.gather(1, column)
        if inv_norm is None:
            target.sub_(head.target_shift * _LOG2E)
            logits.scatter_(1, column, target)
        else:
            target.mul_(inv_norm).sub_(head.target_shift * _LOG2E)
            logits.scatter_(1, column, target / inv_norm)
    elif head.target_fn is None:
        target = logits.gather(1, column)
        if inv_norm is not None:
            target.mul_(inv_norm)
    else:
        target = logits.gather(1, column)
        if inv_norm is not None:
            target.mul_(inv_norm)
        target, slope = head.target_fn(target)
        logits.scatter_(1, column, target if inv_norm is None else target / inv_norm)
    # -log p_y = ln 2 (log2 sum_j 2^(z_j - m) + m - z_y), m the row's
    # maximum, or 0 when the logits are known to be small
    if head.shift_free and C > 1 and logits.dtype in _WIDE:
        e = (logits if inv_norm is None else logits.mul_(inv_norm)).exp2_()
        total = e.sum(1, keepdim=True)
        losses = total.log2().sub_(target).mul_(factor)
    else:
        shift = logits.amax(1, keepdim=True)
        if inv_norm is None:
            logits.sub_(shift)
        else:  # z / |x| - m / |x|, in one pass
            shift.mul_(inv_norm)
            torch.addcmul(shift.neg(), logits, inv_norm, out=logits)
        e = logits.exp2_()
        total = e.sum(1, keepdim=True)
        losses = total.log2().add_(shift).sub_(target).mul_(factor)
    return losses, (e, total, pooled, slope, extra, base)


_ORDERS = {}


def _centre_major_order(n_classes, k, device):
    # column order j * C + c <- c * k + j, and its inverse
    key = (n_classes, k, device)
    if key not in _ORDERS:
        order = torch.arange(n_classes * k, device=device).view(n_classes, k).T.reshape(-1)
        inverse = torch.arange(n_classes * k, device=device).view(k, n_classes).T.reshape(-1)
        _ORDERS[key] = (order, inverse)
    return _ORDERS[key]


class _SelectColumns(torch.autograd.Function):
    # w[:, order] with the gradient gathered back by the inverse permutation
    # (index_select both ways: faster than a strided copy and its backward)
    @staticmethod
    def forward(ctx, w, order, inverse):
        ctx.save_for_backward(inverse)
        return w.index_select(1, order)

    @staticmethod
    def backward(ctx, grad):
        (inverse,) = ctx.saved_tensors
        return grad.index_select(1, inverse), None, None


class _MarginSoftmaxCE(torch.autograd.Function):
    # The cross-entropies of the margin logits (their mean when `mean`, else
    # one per sample), from the embeddings x (B, D) and the class vectors as
    # the columns of w (D, N), in one node: normalise both, one product, the
    # pooling over a class's vectors, the margin on the B true-class entries
    # and a base-2 softmax whose exponentials the backward pass reuses (see
    # _margin_cross_entropy).  The backward pass is one (B, C) pass, the
    # pooling's backward, two matrix products and the normalisations'
    # projections.  On the CPU a fresh multi-megabyte tensor costs about as
    # much as a pass over it (its pages are new) and a comparison that
    # writes booleans about four float passes, so masks are floats and the
    # backward pass works in the forward pass's buffers; a second backward
    # pass (retain_graph) recomputes them from the saved normalised inputs.
    # The (batch, classes) buffers come from a pool and go back to it at the
    # end of the backward pass (_take, _give): no fresh pages per step.
    @staticmethod
    def forward(ctx, x, w, labels, head, mean):
        if head.k > 1:  # centre-major (the gradient is put back in backward)
            w = w.index_select(1, _centre_major_order(w.shape[1] // head.k, head.k, w.device)[0])
        wn, nw, cw = _normalize_columns(w, 1e-12)
        column = labels.unsqueeze(1)
        factor = _LN2 / x.shape[0] if mean else _LN2
        if head.norm_scaled:
            raw = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
            nx = raw.clamp_min(1e-12)
            xn = cx = None
            losses, buffers = _margin_cross_entropy(x, wn, column, head, (nx, raw), factor=factor)
        elif head.pool == "soft":
            xn, nx, cx = _normalize_rows(x, 1e-12)
            raw = None
            losses, buffers = _margin_cross_entropy(xn, wn, column, head, factor=factor)
        else:
            # the raw x's product, divided by |x| on the (batch, classes)
            # logits: no normalised copy of x
            nx = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
            cx = nx < 1e-12
            nx.clamp_min_(1e-12)
            xn = raw = None
            losses, buffers = _margin_cross_entropy(
                x, wn, column, head, inv_norm=nx.reciprocal(), factor=factor
            )
        ctx.save_for_backward(x, xn, nx, cx, raw, wn, nw, cw, column)
        ctx.head, ctx.mean, ctx.buffers = head, mean, buffers
        # the mean's 1 / batch is in factor
        return losses.sum() if mean else losses.squeeze(1)

    @staticmethod
    def backward(ctx, grad):
        x, xn, nx, cx, raw, wn, nw, cw, column = ctx.saved_tensors
        head = ctx.head
        if ctx.buffers is None:  # a second backward pass
            if head.norm_scaled:
                ctx.buffers = _margin_cross_entropy(x, wn, column, head, (nx, raw))[1]
            elif xn is None:
                ctx.buffers = _margin_cross_entropy(
                    x, wn, column, head, inv_norm=nx.reciprocal()
                )[1]
            else:
                ctx.buffers = _margin_cross_entropy(xn, wn, column, head)[1]
        e, total, pooled, slope, extra, base = ctx.buffers
        ctx.buffers = None  # consumed below
        B, C = e.shape
        K = head.k
        # d loss_i / d logits = g_i (softmax_i - onehot_i), times the scale
        # that maps the logits back to the cosines and 1 / |x_i| (the
        # normalisation's division, applied here on a (B, 1) column instead
        # of a (B, D) pass); norm_scaled: the logits are the raw x's product,
        # times |x| / max(|x|, eps) (0 for a zero row, as through the norm)
        scale = head.logit_scale * _LN2 if head.pool == "soft" else head.scale
        g = grad * (scale / B) if ctx.mean else (grad * scale).unsqueeze(1)
        g = g * (raw / nx) if head.norm_scaled else g / nx
        d = e.mul_(g / total)
        if slope is None:
            d.scatter_add_(1, column, g.neg())
        else:
            target = d.gather(1, column).sub_(g)
            d.scatter_(1, column, target * slope)
        if head.pool is None:
            dcos = d
        elif head.pool == "max":
            dcos = pooled.mul_(d.unsqueeze(1)).view(B, K * C)
        else:
            z, pool_total = pooled
            dcos = z.mul_(d.div_(pool_total).unsqueeze(1)).view(B, K * C)
        gx = gw = None
        if ctx.needs_input_grad[0]:
            u = dcos @ wn.T
            if head.norm_scaled:
                # the raw product's gradient, plus the true class's norm term
                gx = u.addcmul_(x, target.mul_(extra).div_(nx))
            elif xn is None:
                # (dcos / |x|) @ wn.T, projected off x / |x|
                dot = (u * x).sum(1, keepdim=True).masked_fill_(cx, 0)
                gx = u.addcmul_(x, dot.div_(nx.square()), value=-1)
            else:
                # (dcos / |x|) @ wn.T, projected off xn: the whole gradient
                dot = (u * xn).sum(1, keepdim=True).masked_fill_(cx, 0)
                gx = u.addcmul_(xn, dot, value=-1)
        if ctx.needs_input_grad[1]:
            # xn.T @ (|x| dcos) = x.T @ dcos (also where |x| was clamped)
            gw = _normalize_columns_backward(x.T @ dcos, wn, nw, cw)
            if K > 1:
                gw = gw.index_select(1, _centre_major_order(C, K, gw.device)[1])
        del e, pooled, d, dcos
        _give(base)
        return gx, gw, None, None, None


class _ReplaceTarget(torch.autograd.Function):
    # logits with each row's true-class entry t replaced by f(t), in place;
    # target_fn returns (f(t), f'(t)) for the B entries, so the backward pass
    # is one gather and one product on them (f' = None: nothing to do)
    @staticmethod
    def forward(ctx, logits, labels, target_fn):
        rows = torch.arange(len(labels), device=labels.device)
        value, slope = target_fn(logits[rows, labels])
        logits.index_put_((rows, labels), value)
        ctx.mark_dirty(logits)
        ctx.save_for_backward(labels, slope)
        ctx.rows = rows
        return logits

    @staticmethod
    def backward(ctx, grad):
        labels, slope = ctx.saved_tensors
        if slope is None:
            return grad, None, None
        index = (ctx.rows, labels)
        return grad.clone().index_put_(index, grad[index] * slope), None, None


class BaseMarginSoftmaxLoss(BaseProxyLoss):
    """Cross-entropy over per-class logits with a margin on the true class.

    Parameters shared by every subclass:

    num_classes : int, default=None
        Number of classes (filled in by estimators).
    embedding_size : int, default=None
        Embedding dimension (filled in by estimators).  The class vectors
        are created when both sizes are known.
    reducer : str, BaseReducer or None, default=None
        Reduces the per-sample cross-entropies (times the miner weights);
        ``None`` means ``"mean"`` (see :mod:`skmetric.losses.reducers`).

    The class vectors live in the attribute named by ``weight_name``
    (``W``, of shape ``(embedding_size, num_classes)`` and N(0, 1)
    initialised unless the subclass says otherwise).

    Class attributes a subclass may set:

    ``weight_name``
        Attribute that holds the class vectors (``"W"``).
    ``weight_layout``
        ``"columns"``: a ``(embedding_size, num_classes * k)`` matrix, one
        class vector per column (pytorch-metric-learning's layout);
        ``"rows"``: ``(num_classes * k, embedding_size)``.
    ``target_inplace``
        The true-class logits may be written into the logits tensor in place
        (``False`` when the op that made it saved its output for backward).

    With ``indices_tuple`` each sample's cross-entropy is multiplied by its
    miner weight (its count in the tuple over the largest count), as in
    pytorch-metric-learning; then the reducer (default ``"mean"``) applies.
    """

    weight_name = "W"
    weight_layout = "columns"
    target_inplace = True
    label_smoothing = 0.0

    @property
    def vectors_per_class(self):
        """Class vectors per class (``k``)."""
        return 1

    def _set_sizes(self, num_classes, embedding_size):
        # store the sizes and, when both are known, create the class vectors
        self.num_classes = num_classes
        self.embedding_size = embedding_size
        if num_classes is not None and embedding_size is not None:
            self.init_weight(num_classes * self.vectors_per_class, embedding_size)

    def init_weight(self, n_vectors, embedding_size):
        """Create the class vectors: N(0, 1) as in pytorch-metric-learning."""
        shape = (
            (embedding_size, n_vectors) if self.weight_layout == "columns"
            else (n_vectors, embedding_size)
        )
        setattr(self, self.weight_name, nn.Parameter(torch.randn(*shape)))

    def class_vectors(self, dtype):
        """The class vectors as rows, ``(num_classes * k, embedding_size)``."""
        w = getattr(self, self.weight_name).to(dtype)
        return w.T if self.weight_layout == "columns" else w

    def class_columns(self, dtype, k=1):
        """The class vectors as columns, ``(embedding_size, num_classes * k)``.

        With ``k > 1`` they are reordered centre-major: column ``j * C + c``
        is vector ``j`` of class ``c`` (stored at ``c * k + j``).
        """
        w = getattr(self, self.weight_name)
        if w.dtype != dtype:
            w = w.to(dtype)
        if self.weight_layout != "columns":
            w = w.T
        if k == 1:
            return w
        order, inverse = _centre_major_order(w.shape[1] // k, k, w.device)
        return _SelectColumns.apply(w, order, inverse)

    def class_cosines(self, embeddings, scale=1.0):
        """``scale * cos(x_i, w_j)``, shape ``(batch, num_classes * k)``."""
        return cosine_matrix(embeddings, self.class_vectors(embeddings.dtype), scale=scale)

    def with_target(self, logits, labels, transform):
        """``logits`` with each row's true-class entry ``t`` replaced by ``transform(t)``."""
        rows = torch.arange(len(labels), device=labels.device)
        target = transform(logits[rows, labels])
        if self.target_inplace:
            return logits.index_put_((rows, labels), target)
        return logits.index_put((rows, labels), target)

    def logits(self, embeddings, labels):  # pragma: no cover - abstract
        """``(batch, num_classes)`` logits with the margin applied."""
        raise NotImplementedError

    def margin_parts(self, embeddings, labels):
        """Optional fast path: the logits as ``(base, row_scale, target_fn)``, or None.

        The logits are then ``row_scale * base`` with each row's true-class
        entry ``row_scale * f(base[i, y_i])`` (``row_scale`` of shape
        ``(batch, 1)`` or None for 1).  ``target_fn`` maps the ``(batch,)``
        true-class entries ``t`` (no autograd) to ``(f(t), f'(t))`` (the
        derivative may be None for 1); None means no margin.  ``base`` is
        changed in place, so it must be a fresh tensor that no autograd node
        saved.  :meth:`compute_loss` then replaces the true-class entries in
        one autograd node (its backward is one product on B entries) before
        the cross-entropy.  The default, None, uses :meth:`logits`; a
        subclass that overrides this must keep :meth:`logits` equal to it.
        """
        return None

    def fused_head(self, embeddings, labels):
        """Optional fastest path: ``(class_vectors, FusedHead)``, or None.

        The class vectors as columns, ``(embedding_size, num_classes * k)``
        in the stored order (:meth:`class_columns` with ``k=1``); the loss
        is then computed by one autograd node from the embeddings and them
        (cosines, pooling, margin and cross-entropy with a closed-form
        backward).  A subclass that returns one must keep :meth:`logits`
        equal to it.  The default, None, uses :meth:`margin_parts`.
        """
        return None

    def miner_indices(self, indices_tuple):
        """The indices whose counts weight the samples (all of them)."""
        return indices_tuple

    def compute_loss(self, embeddings, labels, indices_tuple):
        self._check_sizes(embeddings, labels)
        fused = None
        # the one-node path computes in the embeddings' dtype: not under
        # autocast, nor with class vectors of another dtype
        device_type = embeddings.device.type
        if not (self.label_smoothing or (torch.amp.is_autocast_available(device_type)
                                         and torch.is_autocast_enabled(device_type))):
            fused = self.fused_head(embeddings, labels)
        if fused is not None and fused[0].dtype != embeddings.dtype:
            fused = None
        if fused is not None:
            vectors, head = fused
            if indices_tuple is None and self.reducer is None:
                return _MarginSoftmaxCE.apply(embeddings, vectors, labels, head, True)
            losses = _MarginSoftmaxCE.apply(embeddings, vectors, labels, head, False)
            if indices_tuple is not None:
                losses = losses * miner_weights(
                    self.miner_indices(indices_tuple), len(labels), losses.dtype,
                    losses.device,
                )
            return self.reduce(losses)
        parts = self.margin_parts(embeddings, labels)
        if parts is None:
            logits = self.logits(embeddings, labels)
        else:
            logits, row_scale, target_fn = parts
            if target_fn is not None:
                logits = _ReplaceTarget.apply(logits, labels, target_fn)
            if row_scale is not None:
                logits = logits * row_scale
        if indices_tuple is None and self.reducer is None:
            return nn.functional.cross_entropy(
                logits, labels, label_smoothing=self.label_smoothing
            )
        losses = nn.functional.cross_entropy(
            logits, labels, reduction="none", label_smoothing=self.label_smoothing
        )
        if indices_tuple is not None:
            losses = losses * miner_weights(
                self.miner_indices(indices_tuple), len(labels), losses.dtype, losses.device
            )
        return self.reduce(losses)

"""Fast L2 normalisation and square root with hand-written gradients (pure torch).

Autograd's ``F.normalize`` records a norm, a clamp and a division, and its
backward runs about ten kernels; the closed forms below run three or four.
They matter because every cosine loss normalises its batch once per step.
"""

import torch

__all__ = ["cosine_matrix", "l2_normalize", "safe_sqrt"]


class _L2Normalize(torch.autograd.Function):
    # y = x / max(||x||, eps);  dy -> dx = (dy - y (dy . y)) / ||x||
    # (no projection term for rows whose norm was clamped to eps).
    @staticmethod
    def forward(ctx, x, eps):
        norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
        clamped = norm < eps
        norm = norm.clamp_min_(eps)
        y = x / norm
        ctx.save_for_backward(y, norm, clamped)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, norm, clamped = ctx.saved_tensors
        return _normalize_backward(grad, y, norm, clamped), None


def l2_normalize(x, *, eps=1e-12):
    r"""Rows of ``x`` divided by :math:`\max(\|x\|_2, \epsilon)`.

    Same values as ``torch.nn.functional.normalize(x, dim=-1, eps=eps)``,
    with a closed-form gradient.
    """
    if not torch.is_grad_enabled() or not x.requires_grad:
        return torch.nn.functional.normalize(x, p=2, dim=-1, eps=eps)
    return _L2Normalize.apply(x, eps)


class _SafeSqrt(torch.autograd.Function):
    # sqrt(max(x, 0)) with gradient 0 (not inf, hence no NaN) where x <= 0
    @staticmethod
    def forward(ctx, x):
        r = x.clamp_min(0).sqrt_()
        ctx.save_for_backward(r)
        return r

    @staticmethod
    def backward(ctx, grad):
        (r,) = ctx.saved_tensors
        out = grad / (2 * r)
        return out.masked_fill_(r == 0, 0)


def safe_sqrt(x):
    """``sqrt(max(x, 0))`` whose gradient at and below 0 is 0 (not infinite).

    Negative inputs are rounding errors of a squared distance.
    """
    if not torch.is_grad_enabled() or not x.requires_grad:
        return x.clamp_min(0).sqrt_()
    return _SafeSqrt.apply(x)


def _normalize_rows(x, eps):
    norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
    clamped = norm < eps
    norm = norm.clamp_min_(eps)
    return x / norm, norm, clamped


def _normalize_backward(grad, y, norm, clamped):
    dot = (grad * y).sum(-1, keepdim=True).masked_fill_(clamped, 0)
    return torch.addcmul(grad, y, dot, value=-1).div_(norm)


class _CosineMatrix(torch.autograd.Function):
    # out = scale * a_hat @ b_hat.T  (b = None: a_hat @ a_hat.T), one node
    @staticmethod
    def forward(ctx, a, b, scale, eps):
        ya, na, ca = _normalize_rows(a, eps)
        if b is None:
            out = ya @ ya.T
            ctx.save_for_backward(ya, na, ca)
        else:
            yb, nb, cb = _normalize_rows(b, eps)
            out = ya @ yb.T
            ctx.save_for_backward(ya, na, ca, yb, nb, cb)
        ctx.self_similarity = b is None
        ctx.scale = scale
        return out.mul_(scale) if scale != 1 else out

    @staticmethod
    def backward(ctx, grad):
        if ctx.scale != 1:
            grad = grad * ctx.scale
        grad = grad.contiguous()
        if ctx.self_similarity:
            ya, na, ca = ctx.saved_tensors
            ga = (grad + grad.T) @ ya
            return _normalize_backward(ga, ya, na, ca), None, None, None
        ya, na, ca, yb, nb, cb = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = _normalize_backward(grad @ yb, ya, na, ca)
        if ctx.needs_input_grad[1]:
            gb = _normalize_backward(grad.T @ ya, yb, nb, cb)
        return ga, gb, None, None


def cosine_matrix(a, b=None, *, scale=1.0, eps=1e-12):
    r"""``scale * cos(a_i, b_j)`` for all rows (``b=None``: ``b = a``).

    One autograd node with a closed-form backward (two matrix products and
    the normalisation's projection), instead of the dozen nodes of
    ``normalize`` + ``mm`` + ``mul``.
    """
    if not torch.is_grad_enabled() or not (
        a.requires_grad or (b is not None and b.requires_grad)
    ):
        ya = torch.nn.functional.normalize(a, dim=-1, eps=eps)
        yb = ya if b is None else torch.nn.functional.normalize(b, dim=-1, eps=eps)
        return (ya @ yb.T) * scale if scale != 1 else ya @ yb.T
    return _CosineMatrix.apply(a, b, scale, eps)

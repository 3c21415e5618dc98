"""ArcFace: additive angular margin loss (Deng et al., 2019)."""

import math

import torch

from .margin_softmax import _LOG2E, BaseMarginSoftmaxLoss, FusedHead, _constant

__all__ = ["ArcFaceLoss"]


def _arc_target(scaled_cos, margin, scale):
    """``s cos(theta + m)`` from ``s cos(theta)`` (with the theta > pi - m
    fallback) and its derivative, in one pass (twelve operators on the
    column; ``c = cos(theta)`` is never formed: ``1 / s`` is folded in)."""
    cos_m, sin_m = math.cos(margin), math.sin(margin)
    eps = torch.finfo(scaled_cos.dtype).eps
    # 1 - c^2
    one_minus = torch.addcmul(
        _constant(1.0, scaled_cos), scaled_cos, scaled_cos, value=-1.0 / (scale * scale)
    )
    flat = one_minus < eps  # sin clamped: constant there
    sin = one_minus.clamp_min_(eps).sqrt_()
    # main branch: s (c cos m - sin(theta) sin m), slope cos m + (c / sin) sin m
    value = torch.add(scaled_cos * cos_m, sin, alpha=-scale * sin_m)
    slope = torch.addcdiv(_constant(cos_m, scaled_cos), scaled_cos, sin, value=sin_m / scale)
    slope.masked_fill_(flat, cos_m)
    # fallback branch (c < -cos m): s (c - m sin m), slope 1
    fallback = scaled_cos < -cos_m * scale if scale > 0 else scaled_cos > -cos_m * scale
    value = torch.where(fallback, scaled_cos - scale * margin * sin_m, value)
    slope.masked_fill_(fallback, 1.0)
    return value, slope


def _arc_bound(margin, scale):
    """A bound on ``|s cos theta_j|`` and on the true class's ``s cos(theta + m)``
    from above (the fallback ``s (c - m sin m)`` applies where ``c < -cos m``)."""
    return abs(scale) * max(1.0, -math.cos(margin) - margin * math.sin(margin))


class _ArcMarginTarget(torch.autograd.Function):
    # _arc_target as an autograd node (the logits() path)
    @staticmethod
    def forward(ctx, scaled_cos, margin, scale):
        value, slope = _arc_target(scaled_cos, margin, scale)
        ctx.save_for_backward(slope)
        return value

    @staticmethod
    def backward(ctx, grad):
        (slope,) = ctx.saved_tensors
        return grad * slope, None, None


class ArcFaceLoss(BaseMarginSoftmaxLoss):
    r"""Softmax over scaled cosines with an angular margin on the true class.

    With :math:`\cos\theta_j = \hat w_j \cdot \hat x`, the logits are
    :math:`s \cos\theta_j` for :math:`j \ne y` and :math:`s \cos(\theta_y +
    m)` for the true class, and :math:`L` is the mean cross-entropy.  When
    :math:`\theta_y > \pi - m` the target logit is :math:`s(\cos\theta_y - m
    \sin m)` instead, which keeps it decreasing in :math:`\theta_y`.

    :math:`\cos(\theta + m)` is computed as :math:`\cos\theta\cos m -
    \sin\theta \sin m` with :math:`\sin\theta = \sqrt{\max(1 - \cos^2\theta,
    \epsilon)}` (:math:`\epsilon` the dtype's machine epsilon), so there is
    no ``acos`` and its infinite gradient at :math:`\cos\theta = \pm 1`.

    Parameters
    ----------
    margin : float, default=28.6
        Angular margin :math:`m` in **degrees**, as in
        pytorch-metric-learning (28.6° ≈ 0.5 rad, the paper's value).
    scale : float, default=64
        Logit scale :math:`s`.
    num_classes, embedding_size, reducer
        As in :class:`~skmetric.losses.BaseMarginSoftmaxLoss`.

    Notes
    -----
    Cosine only (no ``distance`` parameter).  With ``indices_tuple`` each
    sample's cross-entropy is multiplied by its miner weight before the mean,
    as in pytorch-metric-learning.

    References
    ----------
    J. Deng, J. Guo, N. Xue and S. Zafeiriou. "ArcFace: Additive Angular
    Margin Loss for Deep Face Recognition". CVPR 2019. arXiv:1801.07698.
    """

    def __init__(self, *, margin=28.6, scale=64.0, num_classes=None, embedding_size=None,
                 reducer=None):
        super().__init__()
        self.margin = margin
        self.scale = scale
        self.reducer = reducer
        self._set_sizes(num_classes, embedding_size)

    def logits(self, embeddings, labels):
        # scaled cosines; the true class's entry is replaced in place (the
        # cosine node saved its inputs, not its output)
        return self.with_target(
            self.class_cosines(embeddings, scale=self.scale), labels, self._arc_target
        )

    def fused_head(self, embeddings, labels):
        margin, scale = math.radians(self.margin), self.scale
        return self.class_columns(embeddings.dtype), FusedHead(
            # the node passes base-2 logits (scale / ln 2)
            scale, target_fn=lambda t: _arc_target(t, margin, scale * _LOG2E),
            bound=_arc_bound(margin, scale),
        )

    def margin_parts(self, embeddings, labels):
        margin = math.radians(self.margin)
        return (
            self.class_cosines(embeddings, scale=self.scale),
            None,
            lambda t: _arc_target(t, margin, self.scale),
        )

    def _arc_target(self, scaled_cos):
        return _ArcMarginTarget.apply(scaled_cos, math.radians(self.margin), self.scale)

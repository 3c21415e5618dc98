"""SphereFace: multiplicative angular margin (Liu et al., 2017)."""

import math

import torch

from .margin_softmax import BaseMarginSoftmaxLoss, FusedHead

__all__ = ["SphereFaceLoss"]


def _chebyshev_and_slope(c, m):
    # T_m(c) and T_m'(c): T'_{k+1} = 2 T_k + 2 c T'_k - T'_{k-1}
    prev, cur = torch.ones_like(c), c
    dprev, dcur = torch.zeros_like(c), torch.ones_like(c)
    if m == 0:
        return prev, dprev
    for _ in range(m - 1):
        prev, cur, dprev, dcur = cur, 2 * c * cur - prev, dcur, 2 * cur + 2 * c * dcur - dprev
    return cur, dcur


def _chebyshev(c, m):
    # cos(m theta) = T_m(cos theta) by T_{k+1} = 2 c T_k - T_{k-1}
    prev, cur = torch.ones_like(c), c
    if m == 0:
        return prev
    for _ in range(m - 1):
        prev, cur = cur, 2 * c * cur - prev
    return cur


class SphereFaceLoss(BaseMarginSoftmaxLoss):
    r"""Softmax with the true class's angle multiplied by ``margin``.

    The true-class cosine becomes :math:`\psi(\theta_y) = (-1)^k\cos(m\theta_y)
    - 2k` with :math:`k = \lfloor m\theta_y/\pi \rfloor` (monotone in
    :math:`\theta_y`); every logit is then multiplied by :math:`\|x\|` and
    ``scale`` (the class weights are normalised, the embedding is not).
    :math:`\cos(m\theta)` is the Chebyshev polynomial :math:`T_m(\cos\theta)`,
    so no ``acos`` enters the gradient (``k`` is a constant).

    Parameters
    ----------
    margin : int, default=4
        Integer angular multiplier :math:`m`.
    scale : float, default=1
        Extra logit scale.
    num_classes, embedding_size, reducer
        As in :class:`~skmetric.losses.BaseMarginSoftmaxLoss`.

    Notes
    -----
    The embedding norm scales the logits: the estimator's default L2
    normalisation (``prefers_normalized``) is off for this loss.

    References
    ----------
    W. Liu, Y. Wen, Z. Yu, M. Li, B. Raj and L. Song. "SphereFace: Deep
    Hypersphere Embedding for Face Recognition". CVPR 2017.
    arXiv:1704.08063.
    """

    prefers_normalized = False

    def __init__(self, *, margin=4, scale=1.0, num_classes=None, embedding_size=None,
                 reducer=None):
        super().__init__()
        self.margin = margin
        self.scale = scale
        self.reducer = reducer
        self._set_sizes(num_classes, embedding_size)

    def logits(self, embeddings, labels):
        logits = self.with_target(self.class_cosines(embeddings), labels, self._psi)
        norms = torch.linalg.vector_norm(embeddings, dim=1, keepdim=True)
        return logits * (norms * self.scale)

    def fused_head(self, embeddings, labels):
        # logits scale * |x| * cos from the raw embeddings' product
        return self.class_columns(embeddings.dtype), FusedHead(
            self.scale, target_fn=self._psi_and_slope, norm_scaled=True
        )

    def margin_parts(self, embeddings, labels):
        norms = torch.linalg.vector_norm(embeddings, dim=1, keepdim=True)
        return self.class_cosines(embeddings), norms * self.scale, self._psi_and_slope

    def _psi_and_slope(self, c):
        m = int(self.margin)
        k = torch.floor(torch.acos(c.clamp(-1, 1)) * (m / math.pi))
        sign = 1 - 2 * torch.remainder(k, 2)
        value, slope = _chebyshev_and_slope(c, m)
        return sign * value - 2 * k, sign * slope

    def _psi(self, c):
        m = int(self.margin)
        with torch.no_grad():
            k = torch.floor(torch.acos(c.clamp(-1, 1)) * (m / math.pi))
        sign = 1 - 2 * torch.remainder(k, 2)
        return sign * _chebyshev(c, m) - 2 * k

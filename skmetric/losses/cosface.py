"""CosFace: additive cosine margin loss (Wang et al., 2018)."""

from .margin_softmax import BaseMarginSoftmaxLoss, FusedHead

__all__ = ["CosFaceLoss"]


class CosFaceLoss(BaseMarginSoftmaxLoss):
    r"""Softmax over scaled cosines with the true class's cosine lowered by ``margin``.

    Logits :math:`s\cos\theta_j` for :math:`j \ne y` and :math:`s(\cos\theta_y
    - m)`; :math:`L` is the mean cross-entropy.

    Parameters
    ----------
    margin : float, default=0.35
        Cosine margin :math:`m`.
    scale : float, default=64
        Logit scale :math:`s`.
    num_classes, embedding_size, reducer
        As in :class:`~skmetric.losses.BaseMarginSoftmaxLoss`.

    Notes
    -----
    With ``indices_tuple`` each sample's cross-entropy is multiplied by its
    miner weight before the mean.

    References
    ----------
    H. Wang et al. "CosFace: Large Margin Cosine Loss for Deep Face
    Recognition". CVPR 2018. arXiv:1801.09414.
    """

    def __init__(self, *, margin=0.35, scale=64.0, num_classes=None, embedding_size=None,
                 reducer=None):
        super().__init__()
        self.margin = margin
        self.scale = scale
        self.reducer = reducer
        self._set_sizes(num_classes, embedding_size)

    def logits(self, embeddings, labels):
        return self.with_target(
            self.class_cosines(embeddings, scale=self.scale), labels, self._target
        )

    def fused_head(self, embeddings, labels):
        # |s cos| <= |s|; the true class's s (cos - m) is lower unless m < 0
        return self.class_columns(embeddings.dtype), FusedHead(
            self.scale, target_shift=self.scale * self.margin,
            bound=abs(self.scale) * (1 + max(0.0, -self.margin)),
        )

    def margin_parts(self, embeddings, labels):
        shift = self.scale * self.margin
        return self.class_cosines(embeddings, scale=self.scale), None, lambda t: (t - shift, None)

    def _target(self, t):
        return t - self.scale * self.margin

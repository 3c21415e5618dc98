"""Normalized softmax loss (Zhai & Wu, 2019)."""

from .margin_softmax import BaseMarginSoftmaxLoss, FusedHead

__all__ = ["NormalizedSoftmaxLoss"]


class NormalizedSoftmaxLoss(BaseMarginSoftmaxLoss):
    r"""Cross-entropy on cosine similarities to learnable class weights.

    .. math::
        L = -\log \frac{\exp(\cos(x, w_y) / T)}{\sum_j \exp(\cos(x, w_j) / T)}

    Parameters
    ----------
    temperature : float, default=0.05
        Softmax temperature ``T`` (scale ``1/T = 20``), as in
        pytorch-metric-learning.
    num_classes, embedding_size, reducer
        As in :class:`~skmetric.losses.BaseMarginSoftmaxLoss`.

    Notes
    -----
    No margin: the plain member of the margin-softmax family.

    References
    ----------
    A. Zhai and H.-Y. Wu. "Classification is a Strong Baseline for Deep
    Metric Learning". BMVC 2019. arXiv:1811.12649.
    """

    weight_name = "weight"

    def __init__(self, *, temperature=0.05, num_classes=None, embedding_size=None,
                 reducer=None):
        super().__init__()
        self.temperature = temperature
        self.reducer = reducer
        self._set_sizes(num_classes, embedding_size)

    def logits(self, embeddings, labels):
        return self.class_cosines(embeddings, scale=1 / self.temperature)

    def fused_head(self, embeddings, labels):
        scale = 1 / self.temperature
        return self.class_columns(embeddings.dtype), FusedHead(scale, bound=scale)

    def margin_parts(self, embeddings, labels):
        return self.logits(embeddings, labels), None, None

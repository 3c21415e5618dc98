"""Normalized softmax loss (Zhai & Wu, 2019)."""

import torch
from torch import nn

from ..distances._normalize import cosine_matrix
from .._tuples import miner_weights
from .base import BaseProxyLoss

__all__ = ["NormalizedSoftmaxLoss"]


class NormalizedSoftmaxLoss(BaseProxyLoss):
    r"""Cross-entropy on cosine similarities to learnable class weights.

    .. math::
        L = -\log \frac{\exp(\cos(x, w_y) / T)}{\sum_j \exp(\cos(x, w_j) / T)}

    Parameters
    ----------
    temperature : float, default=0.05
        Softmax temperature ``T`` (scale ``1/T = 20``), as in
        pytorch-metric-learning.
    num_classes : int, default=None
        Number of classes (filled in by estimators).
    embedding_size : int, default=None
        Embedding dimension (filled in by estimators).

    Notes
    -----
    With ``indices_tuple`` each sample's cross-entropy is multiplied by its
    miner weight (its count in the tuple over the largest count) before the
    mean, as in pytorch-metric-learning.

    References
    ----------
    A. Zhai and H.-Y. Wu. "Classification is a Strong Baseline for Deep
    Metric Learning". BMVC 2019. arXiv:1811.12649.
    """

    def __init__(self, *, temperature=0.05, num_classes=None, embedding_size=None):
        super().__init__()
        self.temperature = temperature
        self.num_classes = num_classes
        self.embedding_size = embedding_size
        if num_classes is not None and embedding_size is not None:
            self.weight = nn.Parameter(torch.randn(embedding_size, num_classes))

    def compute_loss(self, embeddings, labels, indices_tuple):
        self._check_sizes(embeddings, labels)
        logits = cosine_matrix(
            embeddings, self.weight.to(embeddings.dtype).T, scale=1 / self.temperature
        )
        if indices_tuple is None:
            return nn.functional.cross_entropy(logits, labels)
        losses = nn.functional.cross_entropy(logits, labels, reduction="none")
        return (losses * miner_weights(indices_tuple, len(labels), losses.dtype, losses.device)).mean()

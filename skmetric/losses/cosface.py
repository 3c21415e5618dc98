"""CosFace: additive cosine margin loss (Wang et al., 2018)."""

import torch
from torch import nn

from ..distances._normalize import cosine_matrix
from .._tuples import miner_weights
from .base import BaseProxyLoss

__all__ = ["CosFaceLoss"]


class CosFaceLoss(BaseProxyLoss):
    r"""Softmax over scaled cosines with the true class's cosine lowered by ``margin``.

    Logits :math:`s\cos\theta_j` for :math:`j \ne y` and :math:`s(\cos\theta_y
    - m)`; :math:`L` is the mean cross-entropy.

    Parameters
    ----------
    margin : float, default=0.35
        Cosine margin :math:`m`.
    scale : float, default=64
        Logit scale :math:`s`.
    num_classes : int, default=None
        Number of classes (filled in by estimators).
    embedding_size : int, default=None
        Embedding dimension (filled in by estimators).

    Attributes
    ----------
    W : torch.nn.Parameter of shape (embedding_size, num_classes)
        Class weights, initialised N(0, 1) as in pytorch-metric-learning.

    Notes
    -----
    With ``indices_tuple`` each sample's cross-entropy is multiplied by its
    miner weight before the mean.

    References
    ----------
    H. Wang et al. "CosFace: Large Margin Cosine Loss for Deep Face
    Recognition". CVPR 2018. arXiv:1801.09414.
    """

    def __init__(self, *, margin=0.35, scale=64.0, num_classes=None, embedding_size=None):
        super().__init__()
        self.margin = margin
        self.scale = scale
        self.num_classes = num_classes
        self.embedding_size = embedding_size
        if num_classes is not None and embedding_size is not None:
            self.W = nn.Parameter(torch.randn(embedding_size, num_classes))

    def compute_loss(self, embeddings, labels, indices_tuple):
        self._check_sizes(embeddings, labels)
        logits = cosine_matrix(embeddings, self.W.to(embeddings.dtype).T, scale=self.scale)
        rows = torch.arange(len(labels), device=labels.device)
        logits.index_put_((rows, labels), logits[rows, labels] - self.scale * self.margin)
        losses = nn.functional.cross_entropy(logits, labels, reduction="none")
        if indices_tuple is not None:
            losses = losses * miner_weights(indices_tuple, len(labels), losses.dtype, losses.device)
        return losses.mean()

"""Sub-center ArcFace (Deng et al., 2020)."""

import math

import torch
from torch import nn

from ..distances._normalize import cosine_matrix
from .._tuples import miner_weights
from .arcface import _ArcMarginTarget
from .base import BaseProxyLoss

__all__ = ["SubCenterArcFaceLoss"]


class SubCenterArcFaceLoss(BaseProxyLoss):
    r"""ArcFace with ``sub_centers`` weight vectors per class.

    The cosine to class :math:`j` is the largest cosine to its sub-centres,
    :math:`\cos\theta_j = \max_k \hat w_{jk}\cdot\hat x`; then the ArcFace
    margin applies (see :class:`~skmetric.losses.ArcFaceLoss`).  Noisy
    samples can settle on a non-dominant sub-centre instead of pulling the
    class's main one.

    Parameters
    ----------
    margin : float, default=28.6
        Angular margin in **degrees** (pytorch-metric-learning's unit).
    scale : float, default=64
    sub_centers : int, default=3
        Sub-centres per class ``K``.
    num_classes : int, default=None
        Number of classes (filled in by estimators).
    embedding_size : int, default=None
        Embedding dimension (filled in by estimators).

    Attributes
    ----------
    W : torch.nn.Parameter of shape (embedding_size, num_classes * sub_centers)
        Column ``j * K + k`` is sub-centre ``k`` of class ``j``; N(0, 1)
        initialised, as in pytorch-metric-learning.

    Notes
    -----
    pytorch-metric-learning's ``get_outliers`` (dropping samples far from
    their class's dominant sub-centre) is not offered.

    References
    ----------
    J. Deng, J. Guo, T. Liu, M. Gong and S. Zafeiriou. "Sub-center ArcFace:
    Boosting Face Recognition by Large-Scale Noisy Web Faces". ECCV 2020.
    """

    def __init__(self, *, margin=28.6, scale=64.0, sub_centers=3, num_classes=None,
                 embedding_size=None):
        super().__init__()
        self.margin = margin
        self.scale = scale
        self.sub_centers = sub_centers
        self.num_classes = num_classes
        self.embedding_size = embedding_size
        if num_classes is not None and embedding_size is not None:
            self.W = nn.Parameter(torch.randn(embedding_size, num_classes * sub_centers))

    def compute_loss(self, embeddings, labels, indices_tuple):
        self._check_sizes(embeddings, labels)
        cos = cosine_matrix(embeddings, self.W.to(embeddings.dtype).T, scale=self.scale)
        logits = cos.view(len(labels), self.num_classes, self.sub_centers).amax(2)
        rows = torch.arange(len(labels), device=labels.device)
        target = _ArcMarginTarget.apply(logits[rows, labels], math.radians(self.margin), self.scale)
        logits = logits.index_put((rows, labels), target)
        losses = nn.functional.cross_entropy(logits, labels, reduction="none")
        if indices_tuple is not None:
            losses = losses * miner_weights(indices_tuple, len(labels), losses.dtype, losses.device)
        return losses.mean()

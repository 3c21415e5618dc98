"""Harmonic loss: softmax over negative log distances to class centres."""

import math

import torch
from torch import nn

from ..distances._distances import _squared_euclidean
from ..distances._normalize import cosine_matrix, safe_sqrt
from .._tuples import miner_weights
from .base import BaseProxyLoss

__all__ = ["HarmonicLoss"]

_DISTANCES = ("euclidean", "cosine", "braycurtis")


class HarmonicLoss(BaseProxyLoss):
    r"""HarMax: class probabilities proportional to :math:`d_c^{-n}`.

    With learnable class centres :math:`w_c` and a distance :math:`d_c =
    d(x, w_c)`:

    .. math::
        p_c = \frac{d_c^{-n}}{\sum_j d_j^{-n}},\qquad L = -\frac1B\sum_i \log p_{y_i}

    computed as a softmax of the logits :math:`-n\log(d_c + 10^{-8})`; the
    prediction is the nearest centre.

    Distances: ``"euclidean"`` :math:`\|x - w\|`; ``"cosine"`` :math:`1 -
    \cos(x, w)`; ``"braycurtis"`` :math:`\sum|x - w| / \sum|x + w|` (its
    denominator floored at ``1e-8``).

    Parameters
    ----------
    distance : {"euclidean", "cosine", "braycurtis"}, default="euclidean"
    exponent : float, default=None
        The harmonic exponent :math:`n`; ``None`` means
        :math:`\sqrt{\text{embedding\_size}}` (the original paper scales it
        with the dimension).
    num_classes : int, default=None
        Number of classes (filled in by estimators).
    embedding_size : int, default=None
        Embedding dimension (filled in by estimators).

    Attributes
    ----------
    centers : torch.nn.Parameter of shape (num_classes, embedding_size)
        Class centres, initialised N(0, 1/embedding_size) (unit norm on
        average, like the normalised embeddings).

    References
    ----------
    D. D. Baek, Z. Liu, R. Tyagi and M. Tegmark. "Harmonic Loss Trains
    Interpretable AI Models". TMLR 2025. arXiv:2502.01628.
    """

    def __init__(self, *, distance="euclidean", exponent=None, num_classes=None,
                 embedding_size=None):
        super().__init__()
        self.distance = distance
        self.exponent = exponent
        self.num_classes = num_classes
        self.embedding_size = embedding_size
        if num_classes is not None and embedding_size is not None:
            self.centers = nn.Parameter(
                torch.randn(num_classes, embedding_size) / math.sqrt(embedding_size)
            )

    def distances(self, embeddings):
        """``(B, C)`` distances from the embeddings to the class centres."""
        w = self.centers.to(embeddings.dtype)
        if self.distance == "euclidean":
            return safe_sqrt(_squared_euclidean(embeddings, w, clamp=False))
        if self.distance == "cosine":
            return (1 - cosine_matrix(embeddings, w)).clamp_min(0)
        if self.distance == "braycurtis":
            num = torch.cdist(embeddings, w, p=1)
            den = torch.cdist(embeddings, -w, p=1)
            return num / den.clamp_min(1e-8)
        raise ValueError(
            f"`distance` of HarmonicLoss must be one of {list(_DISTANCES)}; "
            f"got {self.distance!r}."
        )

    def compute_loss(self, embeddings, labels, indices_tuple):
        self._check_sizes(embeddings, labels)
        n = math.sqrt(self.embedding_size) if self.exponent is None else self.exponent
        logits = -n * torch.log(self.distances(embeddings) + 1e-8)
        losses = nn.functional.cross_entropy(logits, labels, reduction="none")
        if indices_tuple is not None:
            losses = losses * miner_weights(indices_tuple, len(labels), losses.dtype, losses.device)
        return losses.mean()

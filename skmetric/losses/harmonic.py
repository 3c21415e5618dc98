"""Harmonic loss: softmax over negative log distances to class centres."""

import math

import torch
from torch import nn

from ..distances._distances import _squared_euclidean
from ..distances._normalize import safe_sqrt
from .margin_softmax import BaseMarginSoftmaxLoss

__all__ = ["HarmonicLoss"]

_DISTANCES = ("euclidean", "cosine", "braycurtis")


class HarmonicLoss(BaseMarginSoftmaxLoss):
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
    num_classes, embedding_size, reducer
        As in :class:`~skmetric.losses.BaseMarginSoftmaxLoss`.

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

    weight_name = "centers"
    weight_layout = "rows"

    def __init__(self, *, distance="euclidean", exponent=None, num_classes=None,
                 embedding_size=None, reducer=None):
        super().__init__()
        self.distance = distance
        self.exponent = exponent
        self.reducer = reducer
        self._set_sizes(num_classes, embedding_size)

    def init_weight(self, n_vectors, embedding_size):
        self.centers = nn.Parameter(
            torch.randn(n_vectors, embedding_size) / math.sqrt(embedding_size)
        )

    def distances(self, embeddings):
        """``(B, C)`` distances from the embeddings to the class centres."""
        w = self.class_vectors(embeddings.dtype)
        if self.distance == "euclidean":
            return safe_sqrt(_squared_euclidean(embeddings, w, clamp=False))
        if self.distance == "cosine":
            return (1 - self.class_cosines(embeddings)).clamp_min(0)
        if self.distance == "braycurtis":
            num = torch.cdist(embeddings, w, p=1)
            den = torch.cdist(embeddings, -w, p=1)
            return num / den.clamp_min(1e-8)
        raise ValueError(
            f"`distance` of HarmonicLoss must be one of {list(_DISTANCES)}; "
            f"got {self.distance!r}."
        )

    def logits(self, embeddings, labels):
        n = math.sqrt(self.embedding_size) if self.exponent is None else self.exponent
        return -n * torch.log(self.distances(embeddings) + 1e-8)

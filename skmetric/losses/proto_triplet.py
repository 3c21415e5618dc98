"""Proto-Triplet loss (Mendez-Ruiz et al., 2023)."""

import torch

from ..distances import EuclideanDistance
from ..distances._resolve import as_badness
from .base import BasePairLoss, zero_loss

__all__ = ["ProtoTripletLoss", "class_means"]


def class_means(x, labels):
    """``(classes, inverse, counts, sums)`` of the rows of ``x`` per label."""
    classes, inverse, counts = torch.unique(labels, return_inverse=True, return_counts=True)
    sums = torch.zeros(len(classes), x.shape[1], dtype=x.dtype, device=x.device)
    sums = sums.index_add(0, inverse, x)
    return classes, inverse, counts, sums


class ProtoTripletLoss(BasePairLoss):
    r"""A triplet loss whose positive and negatives are class prototypes.

    The prototype :math:`c_k` of a class is the mean of its embeddings in
    the batch (as the distance sees them: L2-normalised for the default).
    For each sample :math:`q` of class :math:`y`, with its own class's
    prototype computed **without** :math:`q` (leave-one-out, so :math:`q`
    does not pull its own target):

    .. math::
        \ell_q = [d(q, c_y^{(-q)}) - \min_{k \ne y} d(q, c_k) + m]_+ ,
        \qquad L = \operatorname{mean}_q \ell_q

    over the samples whose class has at least 2 members, in batches with at
    least 2 classes (otherwise zero).  With a similarity the differences
    are reversed.

    Parameters
    ----------
    margin : float, default=0.2
    distance : BaseDistance, str or None, default=None
        ``None`` means ``EuclideanDistance(normalize_embeddings=True)``.

    Notes
    -----
    The formula is the working definition of papers.md (D5), not checked
    against the authors' code.  ``indices_tuple`` is ignored (the loss uses
    prototypes, not pairs).

    References
    ----------
    M. Mendez-Ruiz, J. Gonzalez-Zapata, I. Reyes-Amezcua, D. Flores-Araiza,
    F. Lopez-Tiro, A. Mendez-Vazquez and G. Ochoa-Ruiz. "SuSana Distancia is
    all you need: Enforcing class separability in metric learning via two
    novel distance-based loss functions for few-shot image classification".
    2023. arXiv:2305.09062.
    """

    default_distance = EuclideanDistance(normalize_embeddings=True)

    def __init__(self, *, margin=0.2, distance=None):
        super().__init__()
        self.margin = margin
        self.distance = distance

    def compute_loss(self, embeddings, labels, indices_tuple):
        dist = self.pair_distance()
        x = dist._maybe_normalize(embeddings)
        _, inverse, counts, sums = class_means(x, labels)
        own_count = counts[inverse]
        valid = own_count >= 2
        if len(counts) < 2 or not valid.any():
            return zero_loss(embeddings)
        protos = sums / counts.unsqueeze(1).to(x.dtype)
        loo = (sums[inverse] - x) / (own_count - 1).clamp_min(1).unsqueeze(1).to(x.dtype)
        u_all = as_badness(dist(embeddings, protos), dist)  # (B, C)
        u_own = as_badness(dist.pairs(embeddings, loo), dist)
        other = u_all.masked_fill(
            torch.nn.functional.one_hot(inverse, len(counts)).bool(), float("inf")
        )
        losses = torch.relu(u_own - other.amin(1) + self.margin)
        return torch.where(valid, losses, 0.0).sum() / valid.sum()

"""Barlow Twins redundancy-reduction loss (Zbontar et al., 2021)."""

import torch

from .base import BaseMetricLoss, zero_loss

__all__ = ["BarlowTwinsLoss"]


class BarlowTwinsLoss(BaseMetricLoss):
    r"""Make the cross-correlation of two views the identity matrix.

    The batch holds pairs, two views ``(a_i, b_i)`` of one item: the samples
    of each label are paired in batch order (first with second, third with
    fourth, ...; an odd one out is left out), so a batch in which every
    label occurs twice is a batch of pairs; with ``indices_tuple`` its
    positive pairs are used instead.  Each view's embeddings are
    standardised feature by feature over the pairs (mean 0, biased variance
    1, as a batch-norm layer without affine parameters), giving
    :math:`\hat a, \hat b`, and with :math:`N` pairs

    .. math::
        C_{jk} = \frac{1}{N} \sum_{i=1}^{N} \hat a_{ij} \hat b_{ik}, \qquad
        L = s \Big[\sum_j (1 - C_{jj})^2
            + \lambda \sum_{j \ne k} C_{jk}^2\Big].

    The first term makes the views agree (invariance), the second
    decorrelates the embedding dimensions (redundancy reduction), so the
    embedding cannot collapse to a constant.  No negatives are needed.

    Parameters
    ----------
    off_diagonal_weight : float, default=5e-3
        :math:`\lambda`.  The papers use 5e-3 (Barlow Twins) and 3.9e-3
        (TLDR) for 2048 to 8192 dimensions; about ``1 / dim`` keeps both
        terms of the same order.
    scale : float, default=1.0
        :math:`s`, a constant factor.
    eps : float, default=1e-5
        Added to the variance before the square root.

    Notes
    -----
    A batch without pairs gives zero.  A batch of one pair has a zero
    standardised embedding (its variance is 0), so its loss is
    ``s * dim``.

    References
    ----------
    J. Zbontar, L. Jing, I. Misra, Y. LeCun and S. Deny. "Barlow Twins:
    Self-Supervised Learning via Redundancy Reduction". ICML 2021.
    arXiv:2103.03230.
    """

    min_samples_per_class = 2
    prefers_normalized = False

    def __init__(self, *, off_diagonal_weight=5e-3, scale=1.0, eps=1e-5):
        super().__init__()
        self.off_diagonal_weight = off_diagonal_weight
        self.scale = scale
        self.eps = eps

    def compute_loss(self, embeddings, labels, indices_tuple):
        a_idx, b_idx = self.pair_indices(labels, indices_tuple)
        if a_idx.numel() == 0:
            return zero_loss(embeddings)
        a = self._standardize(embeddings[a_idx])
        b = self._standardize(embeddings[b_idx])
        c = a.T @ b / a.shape[0]
        diag = torch.diagonal(c)
        on = (1 - diag).pow(2).sum()
        off = c.pow(2).sum() - diag.pow(2).sum()
        return self.scale * (on + self.off_diagonal_weight * off)

    @staticmethod
    def pair_indices(labels, indices_tuple=None):
        """Row indices ``(a, b)`` of the two views of each pair."""
        if indices_tuple is not None:  # (a1, p, a2, n) pairs or (a, p, n) triplets
            return indices_tuple[0], indices_tuple[1]
        order = torch.argsort(labels, stable=True)
        _, inverse, counts = torch.unique_consecutive(
            labels[order], return_inverse=True, return_counts=True
        )
        starts = torch.cumsum(counts, 0) - counts
        pos = torch.arange(labels.shape[0], device=labels.device) - starts[inverse]
        keep = pos < (counts[inverse] // 2) * 2
        return order[keep & (pos % 2 == 0)], order[keep & (pos % 2 == 1)]

    def _standardize(self, z):
        z = z - z.mean(dim=0)
        return z / torch.sqrt(z.pow(2).mean(dim=0) + self.eps)

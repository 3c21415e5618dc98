"""Minkowski (Lp) distance (pure torch)."""

import torch

from .base import BaseDistance

__all__ = ["LpDistance"]


class LpDistance(BaseDistance):
    r"""Minkowski distance :math:`\|a - b\|_p = (\sum_d |a_d - b_d|^p)^{1/p}`.

    Computed with :func:`torch.cdist` (no ``B x B x D`` tensor; gradient 0,
    not NaN, at coinciding points).  ``p=2`` is
    :class:`~skmetric.distances.EuclideanDistance`, ``p=1`` the Manhattan
    distance, ``p=float("inf")`` the Chebyshev distance.

    Parameters
    ----------
    p : float, default=2
        The exponent, ``p > 0`` (``inf`` allowed).
    normalize_embeddings : bool, default=False
        L2-normalise the embeddings first.
    """

    def __init__(self, *, p=2.0, normalize_embeddings=False):
        super().__init__(normalize_embeddings=normalize_embeddings)
        self.p = p

    def _check_p(self):
        if not (self.p > 0):
            raise ValueError(f"`p` of LpDistance must be positive; got {self.p!r}.")

    def compute_matrix(self, query, ref):
        self._check_p()
        return torch.cdist(query, ref, p=float(self.p))

    def compute_pairs(self, a, b):
        self._check_p()
        return torch.cdist(a.unsqueeze(-2), b.unsqueeze(-2), p=float(self.p))[..., 0, 0]

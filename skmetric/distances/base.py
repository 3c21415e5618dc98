"""Base class of every distance and similarity (pure torch)."""

import torch
from torch import nn

from .._params import ParamsMixin
from ._normalize import l2_normalize

__all__ = ["BaseDistance"]


class BaseDistance(ParamsMixin, nn.Module):
    """A pairwise distance (or similarity) between two sets of embeddings.

    Subclasses implement :meth:`compute_matrix` (all pairs) and
    :meth:`compute_pairs` (row ``i`` of ``a`` with row ``i`` of ``b``).

    Attributes
    ----------
    is_inverted : bool
        ``True`` for similarities, where a larger value means closer
        (cosine, dot product).  Margins flip sign with it.
    """

    is_inverted = False

    def __init__(self, *, normalize_embeddings=False):
        super().__init__()
        self.normalize_embeddings = normalize_embeddings

    def _maybe_normalize(self, x):
        if self.normalize_embeddings:
            return l2_normalize(x)
        return x

    def forward(self, query, ref=None):
        """Matrix of ``len(query) x len(ref)`` values (``ref`` defaults to ``query``)."""
        query = self._maybe_normalize(query)
        ref = query if ref is None else self._maybe_normalize(ref)
        return self.compute_matrix(query, ref)

    def pairs(self, a, b):
        """Values for the aligned rows of ``a`` and ``b`` (a vector)."""
        return self.compute_pairs(self._maybe_normalize(a), self._maybe_normalize(b))

    def compute_matrix(self, query, ref):  # pragma: no cover - abstract
        raise NotImplementedError

    def compute_pairs(self, a, b):  # pragma: no cover - abstract
        raise NotImplementedError

    # helpers that let one miner or loss serve distances and similarities
    def closer(self, x, y):
        """Boolean mask: ``x`` is strictly closer than ``y``."""
        return x > y if self.is_inverted else x < y

    def margin(self, x, y):
        """How much closer ``y`` is than ``x`` (positive when ``y`` is closer)."""
        return y - x if self.is_inverted else x - y

    def extra_repr(self):
        return self._repr_params()

"""Base class of every miner (pure torch, no scikit-learn)."""

import torch
from torch import nn

from .._blocks import DistanceUser, ReplaceableSubmodules, check_batch
from .._params import ParamsMixin

__all__ = ["BaseMiner"]


class BaseMiner(DistanceUser, ReplaceableSubmodules, ParamsMixin, nn.Module):
    """Template for miners.

    ``miner(embeddings, labels)`` checks its inputs, then calls :meth:`mine`
    under ``torch.no_grad()`` and returns an index tuple: pairs ``(a1, p,
    a2, n)`` or triplets ``(a, p, n)`` of long tensors on the embeddings'
    device (empty when nothing qualifies), ready for a loss's
    ``indices_tuple``.

    ``min_samples_per_class`` (2) tells estimators how many samples of a
    class a batch needs for the miner to find a positive pair.
    """

    min_samples_per_class = 2
    #: 3 for miners that return triplets ``(a, p, n)``, 4 for pairs
    tuple_size = 4

    def forward(self, embeddings, labels):
        labels = check_batch(self, embeddings, labels)
        if embeddings.shape[0] == 0:  # nothing to mine (and no row to reduce over)
            empty = torch.zeros(0, dtype=torch.long, device=embeddings.device)
            return (empty,) * self.tuple_size
        with torch.no_grad():
            return self.mine(embeddings.detach(), labels)

    def mine(self, embeddings, labels):  # pragma: no cover - abstract
        raise NotImplementedError

    def extra_repr(self):
        return self._repr_params()

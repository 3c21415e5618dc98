"""Base class of every miner (pure torch, no scikit-learn)."""

import torch
from torch import nn

from .._params import ParamsMixin
from ..losses.base import _ReplaceableSubmodules

__all__ = ["BaseMiner"]


class BaseMiner(_ReplaceableSubmodules, ParamsMixin, nn.Module):
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

    def forward(self, embeddings, labels):
        if not isinstance(embeddings, torch.Tensor) or embeddings.ndim != 2:
            raise ValueError(
                f"{type(self).__name__} expects embeddings of shape "
                f"(batch_size, embedding_size); got "
                f"{tuple(getattr(embeddings, 'shape', ()))}."
            )
        labels = torch.as_tensor(labels, device=embeddings.device)
        if labels.ndim != 1 or labels.shape[0] != embeddings.shape[0]:
            raise ValueError(
                f"{type(self).__name__} expects one label per embedding; got "
                f"{embeddings.shape[0]} embeddings and labels of shape "
                f"{tuple(labels.shape)}."
            )
        if labels.dtype.is_floating_point:
            raise ValueError(
                f"{type(self).__name__} expects integer labels; got {labels.dtype}."
            )
        with torch.no_grad():
            return self.mine(embeddings.detach(), labels.long())

    def mine(self, embeddings, labels):  # pragma: no cover - abstract
        raise NotImplementedError

    def extra_repr(self):
        return self._repr_params()

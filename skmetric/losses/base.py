"""Base class of every metric loss (pure torch, no scikit-learn).

A loss is a ``torch.nn.Module`` called as ``loss(embeddings, labels)`` (an
optional ``indices_tuple`` from a miner restricts the pairs or triplets it
uses) and returns a scalar tensor.  The base ``forward`` does the chores once:
shape and label checks, moving labels to the embeddings' device, and the
"nothing to compute" case; a subclass writes only :meth:`compute_loss`.
"""

import torch
from torch import nn

from .._params import ParamsMixin

__all__ = ["BaseMetricLoss", "BaseProxyLoss"]


class _ReplaceableSubmodules:
    """Let a parameter that holds a module (``distance``) be set to a name later.

    ``nn.Module`` refuses ``self.distance = "cosine"`` once ``distance`` was a
    module; ``set_params`` must allow it, so the old submodule is dropped.
    """

    def __setattr__(self, name, value):
        modules = self.__dict__.get("_modules")
        if modules is not None and name in modules and not isinstance(value, nn.Module):
            del modules[name]
        super().__setattr__(name, value)


class BaseMetricLoss(_ReplaceableSubmodules, ParamsMixin, nn.Module):
    """Template for metric losses.

    Class attributes read by estimators (never a loss's internals):

    ``requires_num_classes``
        The loss owns per-class parameters (proxies, class weights) and needs
        ``num_classes`` and ``embedding_size`` at construction.
    ``min_samples_per_class``
        Fewest samples of a class a batch needs for the loss to see a
        positive pair (2 for pair and triplet losses, 1 for proxy losses).
    ``prefers_normalized``
        The loss works on cosine similarities, so the estimator L2-normalises
        the embedding it outputs by default.
    """

    requires_num_classes = False
    min_samples_per_class = 2
    prefers_normalized = True

    def forward(self, embeddings, labels, indices_tuple=None):
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
        labels = labels.long()
        if embeddings.shape[0] == 0:
            return zero_loss(embeddings)
        return self.compute_loss(embeddings, labels, indices_tuple)

    def compute_loss(self, embeddings, labels, indices_tuple):  # pragma: no cover
        raise NotImplementedError

    def extra_repr(self):
        return self._repr_params()


class BaseProxyLoss(BaseMetricLoss):
    """A loss with one or more learnable vectors per class.

    ``num_classes`` and ``embedding_size`` are ordinary parameters; estimators
    fill them in from the data.  The parameters are created in ``__init__``
    when both are known.
    """

    requires_num_classes = True
    min_samples_per_class = 1

    def _check_sizes(self, embeddings, labels):
        if self.num_classes is None or self.embedding_size is None:
            raise ValueError(
                f"{type(self).__name__} needs `num_classes` and `embedding_size`; "
                "pass them when building the loss (MetricLearner fills them in)."
            )
        if embeddings.shape[1] != self.embedding_size:
            raise ValueError(
                f"{type(self).__name__} was built for embedding_size="
                f"{self.embedding_size}; got embeddings of size {embeddings.shape[1]}."
            )
        if labels.numel():
            low, high = torch.aminmax(labels)  # one pass, one host sync below
            low, high = low.item(), high.item()
        if labels.numel() and (low < 0 or high >= self.num_classes):
            raise ValueError(
                f"{type(self).__name__} was built for num_classes={self.num_classes}; "
                f"labels must be integers in [0, {self.num_classes})."
            )


def zero_loss(embeddings):
    """A zero that is still connected to the graph, so ``backward`` runs."""
    return (embeddings * 0).sum()

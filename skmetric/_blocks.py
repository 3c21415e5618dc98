"""Pieces shared by the building blocks called on a batch (losses, miners).

Pure torch; neither losses nor miners import the other's internals.
"""

import torch
from torch import nn

from ._tuples import pair_masks
from .distances._resolve import resolve_distance

__all__ = ["ReplaceableSubmodules", "DistanceUser", "check_batch", "build_by_name"]


class ReplaceableSubmodules:
    """Let a parameter that holds a module (``distance``) be set to a name later.

    ``nn.Module`` refuses ``self.distance = "cosine"`` once ``distance`` was a
    module; ``set_params`` must allow it, so the old submodule is dropped.
    """

    def __setattr__(self, name, value):
        modules = self.__dict__.get("_modules")
        if modules is not None and name in modules and not isinstance(value, nn.Module):
            del modules[name]
        super().__setattr__(name, value)


def build_by_name(registry, name, kind, params):
    """``registry[name](**params)``; an unknown name raises a ValueError that
    lists the valid ``kind`` names."""
    try:
        cls = registry[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown {kind} {name!r}. Valid names are: {sorted(registry)}."
        ) from None
    return cls(**params)


def check_batch(owner, embeddings, labels):
    """Validate a batch for ``owner`` (named in messages); return long labels
    on the embeddings' device."""
    if not isinstance(embeddings, torch.Tensor) or embeddings.ndim != 2:
        raise ValueError(
            f"{type(owner).__name__} expects embeddings of shape "
            f"(batch_size, embedding_size); got "
            f"{tuple(getattr(embeddings, 'shape', ()))}."
        )
    labels = torch.as_tensor(labels, device=embeddings.device)
    if labels.ndim != 1 or labels.shape[0] != embeddings.shape[0]:
        raise ValueError(
            f"{type(owner).__name__} expects one label per embedding; got "
            f"{embeddings.shape[0]} embeddings and labels of shape "
            f"{tuple(labels.shape)}."
        )
    if labels.dtype.is_floating_point:
        raise ValueError(
            f"{type(owner).__name__} expects integer labels; got {labels.dtype}."
        )
    return labels.long()


class DistanceUser:
    """A block with an optional ``distance`` parameter and a ``default_distance``.

    ``default_distance`` (a class attribute: one stateless distance object
    shared by all calls) is used when ``distance`` is ``None``, and always by
    a block without a ``distance`` parameter.
    """

    default_distance = None

    def pair_distance(self):
        """The distance object to use."""
        return resolve_distance(getattr(self, "distance", None), self.default_distance)

    def batch_pairs(self, embeddings, labels):
        """``(distance, matrix, pos_mask, neg_mask)`` over every pair of the batch."""
        dist = self.pair_distance()
        mat = dist(embeddings)
        pos, neg = pair_masks(labels)
        return dist, mat, pos, neg

"""Distances from samples to class prototypes (pure torch)."""

import torch
from torch import nn

__all__ = ["prototype_distances"]


def prototype_distances(x, prototypes, metric="sqeuclidean"):
    """Distances ``(n, n_prototypes)`` from rows of ``x`` to the prototypes.

    Parameters
    ----------
    x : tensor of shape (n, d)
    prototypes : tensor of shape (n_prototypes, d)
    metric : {"sqeuclidean", "cosine"}, default="sqeuclidean"
        ``"sqeuclidean"``: ``||x||^2 + ||c||^2 - 2 x.c`` clamped at 0
        (prototypical networks' choice); ``"cosine"``: ``1 - cos(x, c)``.

    Returns
    -------
    tensor of shape (n, n_prototypes)
    """
    if metric == "cosine":
        x = nn.functional.normalize(x, dim=1)
        c = nn.functional.normalize(prototypes, dim=1)
        return 1.0 - x @ c.T
    sq = (x * x).sum(1, keepdim=True) + (prototypes * prototypes).sum(1)[None, :]
    return torch.clamp(sq - 2.0 * (x @ prototypes.T), min=0.0)

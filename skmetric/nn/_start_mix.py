"""An embedding mixed, in output space, with a frozen copy of its start."""

import math

import torch
from torch import nn

__all__ = ["MixedWithStart"]


class MixedWithStart(nn.Module):
    """``[sqrt(1 - a) f0(x), sqrt(a) f(x)]``: a trained embedding beside its start.

    ``start`` is a frozen copy of the embedding before training (``f0``),
    ``module`` the trained one (``f``).  Squared Euclidean distances of the
    output are ``(1 - a) d0^2 + a d^2``: ``a = 0`` ranks neighbours as the
    start does, ``a = 1`` as the trained embedding does, and a small ``a``
    lets the trained distance reorder only the near ties of the starting
    one.  Unlike an interpolation of the weights, the starting geometry is
    kept exactly, whatever training did to the weights.

    Parameters
    ----------
    start : torch.nn.Module
        The starting embedding; its parameters are frozen here (no
        gradient) and it is kept in eval mode.
    module : torch.nn.Module
        The trained embedding, with the same input.
    weight : float in [0, 1]
        The weight ``a`` of the trained embedding's squared distances.
    """

    def __init__(self, start, module, weight):
        super().__init__()
        if not 0 <= weight <= 1:
            raise ValueError(f"MixedWithStart: `weight` must be in [0, 1]; got {weight!r}.")
        self.start = start
        self.module = module
        self.weight = float(weight)
        for p in self.start.parameters():
            p.requires_grad_(False)

    def train(self, mode=True):
        super().train(mode)
        self.start.eval()  # the start is a fixed function of x
        return self

    def forward(self, x):
        f0 = self.start(x)
        f = self.module(x)
        return torch.cat([math.sqrt(1.0 - self.weight) * f0, math.sqrt(self.weight) * f], dim=1)

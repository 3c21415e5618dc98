"""Classifier heads for tabular input (pure torch): standardise, then linear or MLP."""

import numpy as np
import torch
from torch import nn

__all__ = ["StandardizedHead", "feature_standardization"]


def feature_standardization(X):
    """``(mean, scale)`` of the columns of ``X``; constant columns get scale 1."""
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    tol = 1e-12 * max(1.0, float(np.abs(X).max(initial=0)))
    return mean, np.where(std > tol, std, 1.0)


class StandardizedHead(nn.Module):
    r"""Logits of a linear model or an MLP on standardised features.

    .. math::
        f(x) = g\big((x - \mu) / \sigma\big)

    with ``g`` a linear layer (``hidden_sizes=()``) or an MLP of ReLU layers
    (optional batch norm and dropout) ending in a linear layer.  ``mu`` and
    ``sigma`` are buffers computed from the training data, so the estimator
    needs no scaler in front of it.

    Parameters
    ----------
    mean, scale : arrays of shape (n_features,)
        From :func:`feature_standardization`.
    n_outputs : int
        Number of logits.
    hidden_sizes : tuple of int, default=()
    dropout : float, default=0.0
    batch_norm : bool, default=False
    """

    def __init__(self, mean, scale, n_outputs, hidden_sizes=(), dropout=0.0,
                 batch_norm=False):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        layers = []
        width = self.mean.shape[0]
        for h in hidden_sizes:
            layers.append(nn.Linear(width, h))
            if batch_norm:
                layers.append(nn.BatchNorm1d(h))
            layers.append(nn.ReLU())
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, n_outputs))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net((x - self.mean) / self.scale)

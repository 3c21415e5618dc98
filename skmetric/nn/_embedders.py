"""Default embedding networks for tabular / pre-computed feature input."""

import numpy as np
import torch
from torch import nn

__all__ = ["ResidualEmbedder", "initial_projection", "within_class_projection"]


# Values converted to float64 at a time by initial_projection (8 MiB).
_CHUNK_VALUES = 2**20
# Largest centred float64 copy (bytes) for which the PCA axes come from an SVD
# of the data itself; beyond, from the eigenvectors of the d x d scatter matrix.
_SVD_MAX_BYTES = 2**28


def initial_projection(X, n_components):
    """Centre, scale and PCA/identity projection that the embedding starts from.

    Returns ``(mean, feature_scale, projection)``: ``projection`` maps centred
    raw features to ``n_components`` dimensions.  When ``n_components`` equals
    the number of features it is the identity; otherwise the top principal
    axes.  It is divided by the root of the total variance, so embeddings have
    a norm of about 1 while distances keep the order of the raw features.

    The statistics are accumulated in float64 over blocks of rows, so the
    memory used beyond ``X`` stays bounded whatever the number of rows.  The
    principal axes come from an SVD of the centred data when its float64 copy
    is small (at most 256 MiB), else from the eigenvectors of the d x d
    scatter matrix (the same axes, each with its largest entry positive).
    """
    X = np.asarray(X)
    n, n_features = X.shape
    rows = max(1, _CHUNK_VALUES // max(1, n_features))
    chunks = [slice(start, start + rows) for start in range(0, n, rows)]
    total_sum = np.zeros(n_features)
    abs_max = 0.0
    for c in chunks:
        block = np.asarray(X[c], dtype=np.float64)
        total_sum += block.sum(axis=0)
        abs_max = max(abs_max, float(np.abs(block).max(initial=0)))
    mean = total_sum / n
    squares = np.zeros(n_features)
    for c in chunks:
        block = np.asarray(X[c], dtype=np.float64) - mean
        squares += (block**2).sum(axis=0)
    std = np.sqrt(squares / n)
    feature_scale = np.where(std > 1e-12 * max(1.0, abs_max), std, 1.0)
    total = float(np.sqrt(squares.sum() / n)) or 1.0
    if n_components == n_features:
        proj = np.eye(n_features)
    else:
        if n * n_features * 8 <= _SVD_MAX_BYTES:
            # principal axes of the centred data (right singular vectors)
            _, _, vt = np.linalg.svd(np.asarray(X, dtype=np.float64) - mean,
                                     full_matrices=False)
        else:
            scatter = np.zeros((n_features, n_features))
            for c in chunks:
                block = np.asarray(X[c], dtype=np.float64) - mean
                scatter += block.T @ block
            values, vectors = np.linalg.eigh(scatter)
            vt = vectors[:, ::-1][:, : min(n, n_features)].T
            signs = np.sign(vt[np.arange(vt.shape[0]), np.abs(vt).argmax(axis=1)])
            vt = vt * np.where(signs == 0, 1.0, signs)[:, None]
        proj = vt[:n_components].T
        if proj.shape[1] < n_components:  # fewer samples than components
            pad = np.zeros((n_features, n_components - proj.shape[1]))
            proj = np.hstack([proj, pad])
    return mean, feature_scale, proj / total



def within_class_projection(X, y, n_components, shrinkage):
    """Start at the features whitened by their within-class covariance.

    Returns ``(mean, feature_scale, projection)`` as :func:`initial_projection`
    does, with ``projection`` the inverse square root of the within-class
    covariance of ``X`` (rows grouped by the labels ``y``; each row minus its
    class mean), shrunk toward the isotropic matrix of the same trace,

    ``S = (1 - shrinkage) * S_w + shrinkage * trace(S_w) / d * I``,

    (Relevant Component Analysis, Bar-Hillel et al. 2005, with shrinkage).
    Directions in which the samples of a class spread, which distinguish no
    class, are shrunk, and directions of small within-class spread
    stretched, so that classes never seen here can gain when they vary along
    the same nuisance directions.  ``shrinkage=1`` gives the raw geometry
    (a multiple of the identity).  With ``n_components`` smaller than the
    number of features, the whitened data's top principal axes are kept.
    The map is divided by the root of the whitened data's total variance
    (embeddings of a norm of about 1, as :func:`initial_projection`).
    Statistics are accumulated in float64 over blocks of rows.
    """
    if not 0 < shrinkage <= 1:
        raise ValueError(f"shrinkage must be in (0, 1]; got {shrinkage!r}.")
    X = np.asarray(X)
    n, d = X.shape
    mean, feature_scale, _ = initial_projection(X, d)  # identity: no SVD
    _, codes = np.unique(np.asarray(y), return_inverse=True)
    counts = np.bincount(codes).astype(np.float64)
    rows = max(1, _CHUNK_VALUES // max(1, d))
    class_sums = np.zeros((counts.size, d))
    scatter = np.zeros((d, d))
    for start in range(0, n, rows):
        block = np.asarray(X[start:start + rows], dtype=np.float64) - mean
        np.add.at(class_sums, codes[start:start + rows], block)
        scatter += block.T @ block
    # within-class scatter: total scatter minus that of the class means
    centres = class_sums / counts[:, None]
    within = (scatter - (centres * counts[:, None]).T @ centres) / n
    within = (within + within.T) / 2
    level = np.trace(within) / d
    if not level > 0:  # every class a single point: no direction to shrink
        return initial_projection(X, n_components)
    shrunk = (1.0 - shrinkage) * within + shrinkage * level * np.eye(d)
    values, vectors = np.linalg.eigh(shrunk)
    values = np.maximum(values, shrinkage * level)  # rounding below the floor
    whiten = (vectors / np.sqrt(values)) @ vectors.T
    whitened_scatter = whiten @ scatter @ whiten / n
    total = float(np.sqrt(max(np.trace(whitened_scatter), 0.0))) or 1.0
    if n_components < d:
        _, vectors = np.linalg.eigh((whitened_scatter + whitened_scatter.T) / 2)
        top = vectors[:, ::-1][:, :n_components]
        signs = np.sign(top[np.abs(top).argmax(axis=0), np.arange(n_components)])
        whiten = whiten @ (top * np.where(signs == 0, 1.0, signs))
    return mean, feature_scale, whiten / total


class ResidualEmbedder(nn.Module):
    r"""An embedding that starts at the input features and learns from there.

    .. math::
        f(x) = P^\top (x - \mu) + g\big((x - \mu) / \sigma\big)

    ``P`` is a learnable linear map initialised to the identity (or to the top
    principal axes when the embedding is smaller than the input), and ``g``
    an MLP whose last layer is initialised to zero.  At initialisation the
    embedding therefore ranks neighbours exactly as the raw features do, and
    training can only move it away when the loss asks for it.  With no hidden
    layers it is a learned linear (Mahalanobis) metric.

    Parameters
    ----------
    mean, feature_scale, projection : arrays
        From :func:`initial_projection`.
    hidden_sizes : tuple of int
        Widths of the MLP's hidden layers; ``()`` gives a linear embedding.
    dropout : float
        Dropout after each hidden layer.
    batch_norm : bool
        Batch normalisation after each hidden linear layer.
    """

    def __init__(self, mean, feature_scale, projection, hidden_sizes=(512, 512),
                 dropout=0.2, batch_norm=True):
        super().__init__()
        n_features, n_components = projection.shape
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(feature_scale, dtype=torch.float32))
        self.skip = nn.Linear(n_features, n_components, bias=False)
        with torch.no_grad():
            self.skip.weight.copy_(torch.as_tensor(projection.T, dtype=torch.float32))
        layers = []
        width = n_features
        for h in hidden_sizes:
            layers.append(nn.Linear(width, h))
            if batch_norm:
                layers.append(nn.BatchNorm1d(h))
            layers.append(nn.ReLU())
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = h
        if hidden_sizes:
            last = nn.Linear(width, n_components)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
            layers.append(last)
            self.mlp = nn.Sequential(*layers)
        else:
            self.mlp = None

    def forward(self, x):
        xc = x - self.mean
        out = self.skip(xc)
        if self.mlp is not None:
            out = out + self.mlp(xc / self.scale)
        return out


class Normalized(nn.Module):
    """Wrap a module and L2-normalise its outputs."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return nn.functional.normalize(self.module(x), dim=-1)

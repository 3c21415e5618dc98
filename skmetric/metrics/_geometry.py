"""Embedding geometry on the unit hypersphere (Wang & Isola, ICML 2020)."""

import numpy as np
import torch

from ..neighbors import _check_embedding
from ._retrieval import _check_labels

__all__ = ["alignment", "uniformity"]

_BLOCK = 1024  # rows per block: memory is O(_BLOCK * n), never n x n


def _unit(X):
    # a copy: X may be a read-only view (of a pandas DataFrame, say)
    T = torch.from_numpy(np.array(X, dtype=np.float64))
    return T / torch.linalg.vector_norm(T, dim=1, keepdim=True).clamp_min(
        torch.finfo(torch.float64).tiny)


def _sq_dists(A, B):
    # Unit vectors: ||a - b||^2 = 2 - 2 a.b.
    return (2 - 2 * A @ B.T).clamp_min_(0)


def alignment(X, labels, *, alpha=2):
    """Alignment loss: mean ``||x_i - x_j||^alpha`` over positive pairs ``i < j``.

    Embeddings are L2-normalised first.  Lower is better.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Embeddings.
    labels : array-like of shape (n_samples,)
        Labels; pairs with equal labels are positive.
    alpha : float, default=2
        Exponent of the distance.

    Returns
    -------
    alignment : float

    References
    ----------
    T. Wang and P. Isola, "Understanding Contrastive Representation Learning
    through Alignment and Uniformity on the Hypersphere", ICML 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from skmetric.metrics import alignment
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0]])
    >>> alignment(X, [0, 1, 0])
    0.0
    """
    if not alpha > 0:
        raise ValueError(f"`alpha` must be > 0; got {alpha!r}.")
    X = _check_embedding(X, "X", min_samples=2)
    labels = _check_labels(labels, "labels", X.shape[0], "X")
    _, y = np.unique(labels, return_inverse=True)
    y = torch.as_tensor(y.ravel())
    U = _unit(X)
    n = len(U)
    total, count = 0.0, 0
    cols = torch.arange(n)
    for r0 in range(0, n, _BLOCK):
        r1 = min(r0 + _BLOCK, n)
        rows = torch.arange(r0, r1).unsqueeze(1)
        mask = (y[r0:r1].unsqueeze(1) == y.unsqueeze(0)) & (cols.unsqueeze(0) > rows)
        d = _sq_dists(U[r0:r1], U).sqrt() ** alpha
        total += float(d[mask].sum())
        count += int(mask.sum())
    if count == 0:
        raise ValueError("alignment needs at least one positive pair; every label in "
                         "`labels` is unique.")
    return total / count


def uniformity(X, labels=None, *, t=2):
    """Uniformity loss: ``log mean_{i<j} exp(-t ||x_i - x_j||^2)`` on unit vectors.

    Lower is better (more uniformly spread).  Computed as a log-sum-exp in
    blocks of rows, so memory stays linear in ``n_samples``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Embeddings (at least 2).
    labels : None
        Ignored: uniformity needs no labels.  Present so that it is called
        like every other embedding metric (``get_scorer("neg_uniformity")``).
    t : float, default=2
        Temperature.

    Returns
    -------
    uniformity : float

    Examples
    --------
    >>> import numpy as np
    >>> from skmetric.metrics import uniformity
    >>> round(uniformity(np.array([[1.0, 0.0], [-1.0, 0.0]])), 4)
    -8.0
    """
    if not t > 0:
        raise ValueError(f"`t` must be > 0; got {t!r}.")
    X = _check_embedding(X, "X", min_samples=2)
    U = _unit(X)
    n = len(U)
    cols = torch.arange(n)
    parts = []
    for r0 in range(0, n, _BLOCK):
        r1 = min(r0 + _BLOCK, n)
        rows = torch.arange(r0, r1).unsqueeze(1)
        logits = -t * _sq_dists(U[r0:r1], U)
        logits = logits.masked_fill(cols.unsqueeze(0) <= rows, -torch.inf)
        parts.append(torch.logsumexp(logits.flatten(), dim=0))
    lse = torch.logsumexp(torch.stack(parts), dim=0)
    return float(lse - np.log(n * (n - 1) / 2))

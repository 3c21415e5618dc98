"""initial_projection: blockwise statistics equal the whole-array ones."""

import numpy as np
import pytest

import skmetric.nn._embedders as emb
from skmetric.nn import initial_projection


def _reference(X, n_components):
    """The statistics on one float64 copy of the whole array."""
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    Xc = X - mean
    std = np.sqrt((Xc**2).mean(axis=0))
    total = np.sqrt((Xc**2).sum(axis=1).mean())
    _, _, vt = np.linalg.svd(Xc, full_matrices=False)
    return mean, std, total, vt[:n_components]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blockwise_moments_match_the_whole_array(monkeypatch, dtype):
    rng = np.random.RandomState(0)
    X = (rng.normal(size=(103, 6)) * [1, 2, 3, 1e-3, 50, 1] + 7).astype(dtype)
    X[:, 3] = 5.0  # a constant feature keeps scale 1
    mean, std, total, _ = _reference(X, 6)
    whole = initial_projection(X, 6)
    monkeypatch.setattr(emb, "_CHUNK_VALUES", 6 * 10)  # blocks of 10 rows, a short last one
    blocked = initial_projection(X, 6)
    for a, b in zip(whole, blocked):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    m, scale, proj = blocked
    np.testing.assert_allclose(m, mean, rtol=1e-12)
    np.testing.assert_allclose(scale, np.where(np.arange(6) == 3, 1.0, std), rtol=1e-12)
    np.testing.assert_allclose(proj, np.eye(6) / total, rtol=1e-12)


def test_pca_axes_from_the_scatter_matrix_match_the_svd(monkeypatch):
    # beyond _SVD_MAX_BYTES the axes come from the d x d scatter matrix: the
    # same axes as the SVD (up to sign), each with its largest entry positive
    rng = np.random.RandomState(1)
    X = rng.normal(size=(200, 5)) @ rng.normal(size=(5, 5)) + 3
    _, _, total, vt = _reference(X, 3)
    svd_path = initial_projection(X, 3)[2]
    monkeypatch.setattr(emb, "_SVD_MAX_BYTES", 0)
    monkeypatch.setattr(emb, "_CHUNK_VALUES", 5 * 16)
    eig_path = initial_projection(X, 3)[2]
    assert eig_path.shape == (5, 3)
    np.testing.assert_allclose(np.abs(eig_path), np.abs(svd_path), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.abs(eig_path * total), np.abs(vt.T), rtol=1e-9, atol=1e-12)
    top = np.abs(eig_path).argmax(axis=0)
    assert (eig_path[top, np.arange(3)] > 0).all()

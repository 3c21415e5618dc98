"""prototype_distances against a loop over (sample, prototype) pairs."""

import math

import pytest
import torch

from skmetric.distances import prototype_distances


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("metric", ["sqeuclidean", "cosine"])
def test_matches_brute_force(dtype, metric):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(7, 4, generator=g, dtype=torch.float64)
    c = torch.randn(3, 4, generator=g, dtype=torch.float64)
    c[2] = x[1]  # a sample on a prototype: distance 0
    expected = torch.empty(7, 3, dtype=torch.float64)
    for i in range(7):
        for k in range(3):
            if metric == "sqeuclidean":
                expected[i, k] = sum((float(a) - float(b)) ** 2 for a, b in zip(x[i], c[k]))
            else:
                dot = sum(float(a) * float(b) for a, b in zip(x[i], c[k]))
                nx = math.sqrt(sum(float(a) ** 2 for a in x[i]))
                nc = math.sqrt(sum(float(b) ** 2 for b in c[k]))
                expected[i, k] = 1 - dot / (nx * nc)
    got = prototype_distances(x.to(dtype), c.to(dtype), metric)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert got.dtype == dtype and got.shape == (7, 3)
    torch.testing.assert_close(got.double(), expected, rtol=tol, atol=tol)
    if metric == "sqeuclidean":  # clamped: never below 0 after cancellation
        assert float(got.min()) >= 0.0

"""Contrastive loss: the one-node Euclidean path against the distance-matrix path."""

import pytest
import torch

from skmetric import losses as L
from skmetric.distances import EuclideanDistance


class _Euclid(EuclideanDistance):
    """A subclass, so the loss takes its generic distance-matrix path."""


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("margins", [(0.0, 1.0), (0.3, 1.2)])
def test_fused_euclidean_path_equals_matrix_path(dtype, normalize, margins):
    torch.manual_seed(0)
    emb = torch.randn(40, 6, dtype=dtype)
    emb[1] = emb[0]  # a zero distance off the diagonal (safe square root)
    labels = torch.arange(40) % 5
    pos, neg = margins
    out = []
    for dist in (EuclideanDistance(normalize_embeddings=normalize),
                 _Euclid(normalize_embeddings=normalize)):
        e = emb.clone().requires_grad_(True)
        value = L.ContrastiveLoss(pos_margin=pos, neg_margin=neg, distance=dist)(e, labels)
        value.backward()
        out.append((value, e.grad))
    # the duplicate pair's distance is a rounding residue, so its 1 / (2 d)
    # weight is large and the two backward orders round differently
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-7, atol=1e-10)
    torch.testing.assert_close(out[0][0], out[1][0], **tol)
    torch.testing.assert_close(out[0][1], out[1][1], **tol)
    assert torch.isfinite(out[0][1]).all()


def test_fused_euclidean_path_against_pml():
    pml = pytest.importorskip("pytorch_metric_learning.losses")
    torch.manual_seed(1)
    emb = torch.randn(64, 8, dtype=torch.float64)
    labels = torch.arange(64) % 8
    e1, e2 = emb.clone().requires_grad_(True), emb.clone().requires_grad_(True)
    v1 = L.ContrastiveLoss()(e1, labels)
    v2 = pml.ContrastiveLoss()(e2, labels)
    v1.backward()
    v2.backward()
    torch.testing.assert_close(v1, v2, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(e1.grad, e2.grad, rtol=1e-8, atol=1e-10)

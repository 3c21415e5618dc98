"""Contrastive loss: the one-node Euclidean path against the distance-matrix path."""

import pytest
import torch

from skmetric import losses as L
from skmetric.distances import EuclideanDistance

import _reference as ref


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


def _fused(emb, labels, **kwargs):
    e = emb.clone().requires_grad_(True)
    normalize = kwargs.pop("normalize", True)
    loss = L.ContrastiveLoss(distance=EuclideanDistance(normalize_embeddings=normalize), **kwargs)
    value = loss(e, labels)
    assert type(value.grad_fn).__name__ == "_ContrastiveAllPairsBackward"  # the fused node
    value.backward()
    return value, e.grad


def _looped(emb, labels, pos_margin=0.0, neg_margin=1.0, normalize=True):
    e = emb.clone().requires_grad_(True)
    value = ref.contrastive(e, labels, pos_margin, neg_margin, normalize=normalize)
    value.backward()
    return value, e.grad


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("margins", [(0.0, 1.0), (0.4, 1.3), (-0.2, 0.9)])
def test_fused_path_equals_loop_reference(normalize, margins):
    torch.manual_seed(2)
    emb = torch.randn(18, 4, dtype=torch.float64)
    if not normalize:
        emb = emb * 0.6  # distances on both sides of the margins
    labels = torch.tensor([7, 3, 3, 9, 7, 3, 9, 9, 7, 1, 1, 3, 7, 9, 1, 3, 7, 1])
    pos, neg = margins
    v1, g1 = _fused(emb, labels, pos_margin=pos, neg_margin=neg, normalize=normalize)
    v2, g2 = _looped(emb, labels, pos, neg, normalize)
    assert v2 > 0.05  # both sides have kept pairs
    torch.testing.assert_close(v1, v2, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(g1, g2, rtol=1e-8, atol=1e-11)


def test_fused_path_ties_at_the_margins_are_not_kept():
    # integer points: the expanded distances are exact, and several pairs
    # sit exactly at a margin (a same-label pair at 1, different labels at 2)
    emb = torch.tensor([[0, 0], [1, 0], [2, 0], [3, 0], [0, 2], [3, 4], [2, 2], [0, 1]],
                       dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1, 0, 1, 0, 2])
    dist = torch.cdist(emb, emb)
    same = labels[:, None] == labels[None, :]
    assert ((dist == 1) & same).any() and ((dist == 2) & ~same).any()
    v1, g1 = _fused(emb, labels, pos_margin=1.0, neg_margin=2.0, normalize=False)
    v2, g2 = _looped(emb, labels, 1.0, 2.0, normalize=False)
    torch.testing.assert_close(v1, v2, rtol=1e-12, atol=0)
    torch.testing.assert_close(g1, g2, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("labels", [torch.arange(10), torch.zeros(10, dtype=torch.long)],
                         ids=["no positive pair", "no negative pair"])
def test_fused_path_with_one_side_empty(labels):
    torch.manual_seed(3)
    emb = torch.randn(10, 5, dtype=torch.float64) * 0.3
    for normalize in (True, False):
        v1, g1 = _fused(emb, labels, pos_margin=0.1, neg_margin=1.2, normalize=normalize)
        v2, g2 = _looped(emb, labels, 0.1, 1.2, normalize)
        assert v2 > 0.1
        torch.testing.assert_close(v1, v2, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(g1, g2, rtol=1e-8, atol=1e-11)


def test_fused_path_labels_need_not_be_small():
    # labels far beyond float32's exact integers: compared as dense ids
    torch.manual_seed(4)
    emb = torch.randn(12, 3, dtype=torch.float64)
    small = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 3, 3, 0])
    big = small * 3 + 2**40  # 2**40, 2**40 + 3, ...: equal in float32
    v1, g1 = _fused(emb, big)
    v2, g2 = _fused(emb, small)
    torch.testing.assert_close(v1, v2, rtol=0, atol=0)
    torch.testing.assert_close(g1, g2, rtol=0, atol=0)
    v3, _ = _looped(emb, small)
    torch.testing.assert_close(v1, v3, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("normalize", [True, False])
def test_fused_path_gradcheck(normalize):
    torch.manual_seed(5)
    emb = torch.randn(9, 3, dtype=torch.float64)
    labels = torch.tensor([0, 1, 0, 2, 1, 0, 2, 2, 1])
    loss = L.ContrastiveLoss(pos_margin=0.2, neg_margin=1.1,
                             distance=EuclideanDistance(normalize_embeddings=normalize))
    assert torch.autograd.gradcheck(lambda e: loss(e, labels), (emb.requires_grad_(True),))

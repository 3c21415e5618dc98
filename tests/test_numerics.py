"""Numerical robustness of losses, metrics and the Poincaré ball (issue 14, item 5).

What is claimed, and tested here:

- **Every registered embedding loss** (``LOSSES`` without the AnyLoss
  classification losses) gives a finite value and finite gradients under CPU
  autocast to bfloat16 and to float16 (the embeddings come out of a matmul,
  so autocast really lowers them), and at float32 with embeddings of norm
  about 1e4.
- **AnyLoss** (every confusion-matrix loss) stays finite, with finite
  gradients, on a batch with no positives and on one with only positives.
- **The Poincaré ball** (:mod:`skmetric.geometry`): project, expmap0,
  logmap0, Möbius addition and (pairwise) distances are finite in bfloat16
  and float16, and projected points lie inside the ball.
- **Retrieval metrics** with a query whose label occurs once: that query is
  left out (it has nothing to retrieve), so the metric equals the same
  metric over the other queries, computed by brute force.
"""

import numpy as np
import pytest
import torch

from skmetric.geometry import _poincare as P
from skmetric.losses import ANYLOSS_LOSSES, LOSSES, get_loss
from skmetric.metrics import mrr, precision_at_k, r_precision, recall_at_k

EMBEDDING_LOSSES = sorted(name for name in LOSSES if name not in ANYLOSS_LOSSES)
N_CLASSES, DIM = 3, 8


def _loss(name):
    kw = {}
    if getattr(LOSSES[name], "requires_num_classes", False):
        kw = dict(num_classes=N_CLASSES, embedding_size=DIM)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return get_loss(name, **kw)


def _batch(scale=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    emb = (torch.randn(12, DIM, generator=g) * scale).requires_grad_()
    labels = torch.arange(12) % N_CLASSES
    return emb, labels


def _assert_finite(value, emb, name):
    assert value.ndim == 0
    assert torch.isfinite(value).item(), f"{name}: loss {value.item()}"
    value.float().backward()
    assert emb.grad is not None and torch.isfinite(emb.grad).all(), f"{name}: gradient"


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("name", EMBEDDING_LOSSES)
def test_loss_finite_under_cpu_autocast(name, dtype):
    loss = _loss(name)
    emb, labels = _batch()
    with torch.autocast("cpu", dtype=dtype):
        out = emb @ torch.eye(DIM)  # a matmul: autocast lowers it to `dtype`
        assert out.dtype == dtype
        value = loss(out, labels)
    _assert_finite(value, emb, name)


@pytest.mark.parametrize("name", EMBEDDING_LOSSES)
def test_loss_finite_at_norm_1e4(name):
    loss = _loss(name)
    emb, labels = _batch(scale=1e4 / np.sqrt(DIM))
    norms = emb.detach().norm(dim=1)
    assert 3e3 < float(norms.median()) < 3e4
    _assert_finite(loss(emb, labels), emb, name)


@pytest.mark.parametrize("positives", ["none", "all"])
@pytest.mark.parametrize("name", sorted(ANYLOSS_LOSSES))
def test_anyloss_finite_without_positives(name, positives):
    loss = get_loss(name)
    g = torch.Generator().manual_seed(0)
    proba = torch.rand(10, generator=g).requires_grad_()
    labels = torch.full((10,), 0 if positives == "none" else 1)
    value = loss(proba, labels)
    _assert_finite(value, proba, name)
    assert -1.0 - 1e-6 <= value.item() <= 2.0 + 1e-6


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
def test_poincare_ball_finite_in_half_precision(dtype):
    c = 1.0
    g = torch.Generator().manual_seed(0)
    v = (torch.randn(32, 4, generator=g) * 5).to(dtype)
    x = P.expmap0(v, c=c)
    y = P.expmap0(v.flip(0), c=c)
    radius = 1 / np.sqrt(c)
    for name, out in [
        ("project", P.project(v, c=c)),
        ("expmap0", x),
        ("logmap0", P.logmap0(x, c=c)),
        ("mobius_add", P.mobius_add(x, y, c=c)),
        ("dist", P.dist(x, y, c=c)),
        ("dist0", P.dist0(x, c=c)),
        ("pairwise_dist", P.pairwise_dist(x, c=c)),
    ]:
        assert out.dtype == dtype, name
        assert torch.isfinite(out).all(), name
    for pts in (P.project(v, c=c), x):
        assert (pts.float().norm(dim=-1) < radius).all()
    # distances are exact enough to keep their order: d(x, x) = 0 < d(x, y)
    assert P.dist(x, x, c=c).float().abs().max() < 0.1


def _brute(X, labels, k):
    """Leave-one-out recall@k, precision@k, R-precision and MRR over the
    queries whose label occurs again (plain loops)."""
    n = len(X)
    rec, prec, rp, rr = [], [], [], []
    for i in range(n):
        rel = [j for j in range(n) if j != i and labels[j] == labels[i]]
        if not rel:
            continue
        others = sorted((j for j in range(n) if j != i),
                        key=lambda j: (np.sum((X[i] - X[j]) ** 2), j))
        hits = [labels[j] == labels[i] for j in others]
        rec.append(float(any(hits[:k])))
        prec.append(sum(hits[:k]) / k)
        rp.append(sum(hits[: len(rel)]) / len(rel))
        rr.append(1.0 / (hits.index(True) + 1))
    return np.mean(rec), np.mean(prec), np.mean(rp), np.mean(rr)


@pytest.mark.parametrize("seed", range(3))
def test_retrieval_metrics_with_singleton_query_label(seed):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(9, 3))
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 3])  # label 3 occurs once
    rec, prec, rp, rr = _brute(X, labels, k=2)
    assert recall_at_k(X, labels, 2) == pytest.approx(rec)
    assert precision_at_k(X, labels, 2) == pytest.approx(prec)
    assert r_precision(X, labels) == pytest.approx(rp)
    assert mrr(X, labels) == pytest.approx(rr)


def test_retrieval_metrics_all_singletons_warn_and_return_nan():
    X = np.random.RandomState(0).normal(size=(4, 2))
    with pytest.warns(UserWarning, match="returning NaN"):
        assert np.isnan(recall_at_k(X, np.arange(4), 1))

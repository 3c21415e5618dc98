"""HypOCNet and the hyperbolic MLR layer (skmetric.nn)."""

import math

import numpy as np
import pytest
import torch

from _ball import ball_points
from skmetric.geometry import dist, expmap, expmap0, mobius_add
from skmetric.nn import HypOCNet, HyperbolicMLR, hyperbolic_mlr_logits
from skmetric.nn._hyp_oc import _RiemannianGrad

DTYPES = [torch.float32, torch.float64]


def _mlr_reference(z, p, a, c):
    """The official formula, one (sample, class) at a time, through Möbius addition."""
    out = torch.empty(z.shape[0], p.shape[0], dtype=z.dtype)
    for i in range(z.shape[0]):
        for k in range(p.shape[0]):
            u = mobius_add(-p[k], z[i], c=c)
            lam = 2 / (1 - c * (p[k] @ p[k]))
            an = a[k].norm()
            arg = 2 * math.sqrt(c) * (u @ a[k]) / ((1 - c * (u @ u)) * an)
            out[i, k] = lam * an / math.sqrt(c) * torch.asinh(arg)
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", [0.1, 1.0])
def test_mlr_logits_match_reference(dtype, c):
    torch.manual_seed(0)
    mlr = HyperbolicMLR(4, 3, c=c).to(dtype)
    z = ball_points(8, 4, c, dtype, seed=3, max_frac=0.9)
    p, a = mlr.hyperplanes()
    expected = _mlr_reference(z.double(), p.double(), a.double(), c)
    tol = 1e-4 if dtype == torch.float32 else 1e-9
    torch.testing.assert_close(mlr(z).double(), expected, rtol=tol, atol=tol)


def test_mlr_euclidean_limit():
    torch.manual_seed(0)
    z, p, a = torch.randn(5, 3, dtype=torch.float64) * 0.1, torch.randn(2, 3, dtype=torch.float64) * 0.1, torch.randn(2, 3, dtype=torch.float64)
    euclid = 4 * (z @ a.T - (p * a).sum(-1))
    torch.testing.assert_close(hyperbolic_mlr_logits(z, p, a, c=0.0), euclid)
    torch.testing.assert_close(hyperbolic_mlr_logits(z, p, a, c=1e-10), euclid, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mlr_finite_at_the_edge(dtype):
    torch.manual_seed(0)
    mlr = HyperbolicMLR(3, 2, c=1.0).to(dtype)
    v = (torch.randn(6, 3, dtype=dtype) * 1e4).requires_grad_(True)
    logits = mlr(expmap0(v, c=1.0))
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1] * 3))
    loss.backward()
    assert torch.isfinite(logits).all() and torch.isfinite(v.grad).all()
    assert all(torch.isfinite(q.grad).all() for q in mlr.parameters())


def _net(head="distance", c=0.5, n_features=3):
    torch.manual_seed(0)
    encoder = torch.nn.Linear(n_features, 2)
    mean = np.arange(n_features, dtype=float)
    scale = np.full(n_features, 2.0)
    return HypOCNet(encoder, mean, scale, 2, c=c, clip_radius=None, pseudo_std=1.5,
                    momentum=0.8, head=head)


def test_train_forward_running_means_and_pseudo_negatives():
    net = _net().double().train()
    x1 = torch.randn(4, 3, dtype=torch.float64)
    x2 = torch.randn(6, 3, dtype=torch.float64)
    mean, scale = torch.arange(3.0, dtype=torch.float64), 2.0
    out1 = net(x1)
    assert out1.n_real == 4 and out1.z.shape == (8, 2) and out1.logits.shape == (8, 2)
    s1 = ((x1 - mean) / scale).mean(0)
    torch.testing.assert_close(net.running_mean, s1)  # first batch: its mean
    torch.testing.assert_close(net.ball_mean, out1.z[:4].mean(0).detach())
    # the real rows are the encoded inputs mapped into the ball
    base = expmap0(net.base_tangent, c=0.5)
    expected_z = expmap(base, net.encoder((x1 - mean) / scale), c=0.5)
    torch.testing.assert_close(out1.z[:4], expected_z)
    out2 = net(x2)
    s2 = ((x2 - mean) / scale).mean(0)
    torch.testing.assert_close(net.running_mean, 0.8 * s1 + 0.2 * s2)
    torch.testing.assert_close(
        net.ball_mean, 0.8 * out1.z[:4].mean(0).detach() + 0.2 * out2.z[:6].mean(0).detach()
    )
    assert int(net.n_batches_tracked) == 2


def test_eval_forward_is_the_distance_head():
    net = _net().double()
    with torch.no_grad():
        net.ball_mean.copy_(torch.tensor([0.1, -0.2]))
        net.radius2.fill_(0.7)
        net.log_temperature.fill_(math.log(0.3))
    net.eval()
    x = torch.randn(5, 3, dtype=torch.float64)
    z = net.embed(x)
    d = dist(z, net.ball_mean.expand_as(z), c=0.5)
    expected = torch.stack([torch.zeros(5, dtype=torch.float64), (d**2 - 0.7) / 0.3], dim=1)
    torch.testing.assert_close(net(x), expected)


def test_mlr_head_logits():
    net = _net(head="mlr").double().eval()
    x = torch.randn(5, 3, dtype=torch.float64)
    torch.testing.assert_close(net(x), net.mlr(net.embed(x)))


@pytest.mark.parametrize("c", [0.5, 2.0])
def test_riemannian_grad_rescales_by_inverse_conformal_factor(c):
    z = ball_points(6, 3, c, torch.float64, seed=1).requires_grad_(True)
    w = torch.randn(6, 3, dtype=torch.float64)
    (w * _RiemannianGrad.apply(z, c)).sum().backward()
    scale = torch.tensor(
        [(1 - c * float(z[i].detach() @ z[i].detach())) ** 2 / 4 for i in range(6)], dtype=torch.float64
    )
    torch.testing.assert_close(z.grad, w * scale[:, None])

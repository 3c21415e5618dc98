"""Hyp-OC's losses: Hyp-PC and the Hyp-CE + Hyp-PC criterion."""

import math

import pytest
import torch

from _ball import ball_points
from skmetric.geometry import mobius_add
from skmetric.losses.hyperbolic import HypOCCriterion, hyp_pc_loss


def _pc_reference(z, c, kind):
    b = z.shape[0] // 2
    total = 0.0
    for i in range(b):
        n = float(mobius_add(-z[i], z[i + b], c=c).norm())
        f = math.atanh if kind == "geodesic" else math.atan
        total += 2 / math.sqrt(c) * f(math.sqrt(c) * n)
    return total / (2 * b)


@pytest.mark.parametrize("kind", ["geodesic", "arctan"])
@pytest.mark.parametrize("n", [2, 7, 8])
def test_hyp_pc_matches_reference(kind, n):
    z = ball_points(n, 3, 0.5, torch.float64, seed=n)
    got = hyp_pc_loss(z, c=0.5, distance=kind)
    assert float(got) == pytest.approx(_pc_reference(z, 0.5, kind), rel=1e-10)


def test_hyp_pc_edge_cases():
    one = torch.zeros(1, 3, requires_grad=True)
    loss = hyp_pc_loss(one, c=1.0)
    loss.backward()
    assert loss.item() == 0.0 and one.grad is not None
    # identical pairs: zero loss, finite gradient
    z = torch.zeros(4, 3, requires_grad=True)
    hyp_pc_loss(z, c=1.0, distance="arctan").backward()
    assert torch.isfinite(z.grad).all()
    zc = ball_points(6, 3, 1.0, torch.float64)
    assert float(hyp_pc_loss(zc, c=0.0)) == pytest.approx(
        float(2 * (zc[:3] - zc[3:]).norm(dim=-1).sum() / 6)
    )
    with pytest.raises(ValueError, match="`distance` must be 'geodesic' or 'arctan'"):
        hyp_pc_loss(zc, c=1.0, distance="cosine")


def _ce_reference(logits, n_real):
    """Mean cross-entropy, real rows class 0 and the others class 1, one row at a time."""
    total = 0.0
    for i, row in enumerate(logits.tolist()):
        log_norm = math.log(sum(math.exp(v) for v in row))
        total -= row[0 if i < n_real else 1] - log_norm
    return total / len(logits)


@pytest.mark.parametrize("kind", ["geodesic", "arctan"])
@pytest.mark.parametrize("weights", [(1.0, 1.0), (0.3, 2.0), (1.0, 0.0)])
def test_criterion_is_weighted_ce_plus_pc(kind, weights):
    ce_w, pc_w = weights
    z = ball_points(10, 3, 0.5, torch.float64, seed=4)
    logits = torch.randn(10, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    crit = HypOCCriterion(c=0.5, ce_weight=ce_w, pc_weight=pc_w, pc_distance=kind)
    got = crit((z, logits, 4), torch.zeros(4, dtype=torch.long))
    expected = ce_w * _ce_reference(logits, 4) + pc_w * _pc_reference(z[:4], 0.5, kind)
    assert float(got) == pytest.approx(expected, rel=1e-10)

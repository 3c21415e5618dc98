"""Poincaré geometry (skmetric.geometry) and the Poincaré distance."""

import math
import re
import sys

import pytest
import torch

from _ball import ball_points
from skmetric.distances import DISTANCES, PoincareDistance, get_distance
from skmetric.geometry import (
    PoincareBall,
    ball_eps,
    dist,
    dist0,
    expmap,
    expmap0,
    lambda_x,
    logmap,
    logmap0,
    mobius_add,
    pairwise_dist,
    project,
)

DTYPES = [torch.float32, torch.float64]
# tolerance per dtype for identities (relative to O(1) values)
TOL = {torch.float32: 1e-4, torch.float64: 1e-10}
CURVATURES = [0.1, 1.0, 3.0]


# ----------------------------------------------------------------- geometry
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", CURVATURES)
def test_dist0_closed_form(dtype, c):
    x = ball_points(50, 5, c, dtype)
    expected = 2 / math.sqrt(c) * torch.atanh(math.sqrt(c) * x.double().norm(dim=-1))
    torch.testing.assert_close(dist0(x, c=c).double(), expected, rtol=TOL[dtype], atol=TOL[dtype])
    torch.testing.assert_close(
        dist(torch.zeros_like(x), x, c=c).double(), expected, rtol=TOL[dtype], atol=TOL[dtype]
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", CURVATURES)
def test_dist_matches_mobius_form_and_is_a_metric(dtype, c):
    x, y, z = (ball_points(40, 4, c, dtype, seed=s) for s in (1, 2, 3))
    d_xy = dist(x, y, c=c)
    # the artanh-of-Möbius form (computed in float64 as the reference)
    u = mobius_add(-x.double(), y.double(), c=c)
    ref = 2 / math.sqrt(c) * torch.atanh(math.sqrt(c) * u.norm(dim=-1))
    torch.testing.assert_close(d_xy.double(), ref, rtol=TOL[dtype] * 10, atol=TOL[dtype] * 10)
    assert torch.all(dist(x, x, c=c) == 0)
    torch.testing.assert_close(d_xy, dist(y, x, c=c))
    slack = TOL[dtype] * 10
    assert torch.all(dist(x, z, c=c) <= d_xy + dist(y, z, c=c) + slack)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", CURVATURES)
def test_maps_round_trip_and_left_cancellation(dtype, c):
    x, y = ball_points(30, 3, c, dtype, seed=4), ball_points(30, 3, c, dtype, seed=5)
    tol = dict(rtol=TOL[dtype] * 10, atol=TOL[dtype] * 10)
    torch.testing.assert_close(expmap0(logmap0(x, c=c), c=c), x, **tol)
    # tangent vectors with sqrt(c)||v|| <= 2, so that tanh does not saturate
    # (beyond, expmap0 hits the projection radius and cannot be inverted)
    v = ball_points(30, 3, c, dtype, seed=6, max_frac=2.0)
    torch.testing.assert_close(logmap0(expmap0(v, c=c), c=c), v, **tol)
    torch.testing.assert_close(expmap(x, logmap(x, y, c=c), c=c), y, **tol)
    torch.testing.assert_close(mobius_add(-x, mobius_add(x, y, c=c), c=c), y, **tol)
    torch.testing.assert_close(mobius_add(x, -x, c=c), torch.zeros_like(x), **tol)
    # d(0, expmap0(v)) = 2 ||v|| (until the projection caps it)
    small = v * 0.3
    torch.testing.assert_close(dist0(expmap0(small, c=c), c=c), 2 * small.norm(dim=-1), **tol)
    torch.testing.assert_close(lambda_x(x, c=c), 2 / (1 - c * (x * x).sum(-1)), **tol)


def test_euclidean_limit():
    x, y = ball_points(10, 3, 1.0, torch.float64, seed=7), ball_points(10, 3, 1.0, torch.float64, seed=8)
    torch.testing.assert_close(dist(x, y, c=1e-10), 2 * (x - y).norm(dim=-1), rtol=1e-8, atol=1e-8)
    torch.testing.assert_close(dist(x, y, c=0.0), 2 * (x - y).norm(dim=-1))
    assert torch.equal(expmap0(x, c=0.0), x)
    torch.testing.assert_close(expmap0(x, c=1e-12), x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_ball_eps_is_per_dtype(dtype):
    eps = ball_eps(dtype)
    info = torch.finfo(dtype)
    assert eps.boundary == pytest.approx(info.eps**0.5)
    assert eps.max_artanh < 1.0 and torch.tensor(eps.max_artanh, dtype=dtype) < 1.0
    x = torch.tensor([[10.0, 0.0]], dtype=dtype)
    assert float(project(x, c=4.0).norm()) == pytest.approx((1 - eps.boundary) / 2.0, rel=1e-6)
    assert ball_eps(torch.float16).boundary > ball_eps(torch.float32).boundary


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", [0.1, 1.0])
def test_stable_at_the_edge(dtype, c):
    # points pushed far outside are projected inside; every value is finite
    g = torch.Generator().manual_seed(0)
    x = project(torch.randn(20, 6, generator=g, dtype=dtype) * 1e6, c=c)
    y = project(torch.randn(20, 6, generator=g, dtype=dtype) * 1e6, c=c)
    assert torch.all(math.sqrt(c) * x.norm(dim=-1) < 1)
    for value in (dist(x, y, c=c), dist0(x, c=c), logmap0(x, c=c), logmap(x, y, c=c),
                  pairwise_dist(x, y, c=c), expmap0(x * 1e30, c=c)):
        assert torch.isfinite(value).all()
    # antipodal points at the projection radius: d = 4 artanh(r) / sqrt(c)
    r = 1 - ball_eps(dtype).boundary
    p = torch.zeros(1, 2, dtype=dtype)
    p[0, 0] = r / math.sqrt(c)
    expected = 4 / math.sqrt(c) * math.atanh(r)
    assert float(dist(p, -p, c=c)[0]) == pytest.approx(expected, rel=1e-3 if dtype == torch.float32 else 1e-9)


def test_distance_at_the_edge_is_exact_in_float64():
    # geoopt 0.5.1's artanh clamp (1 - 1e-7) returns 16.81 here
    p = torch.tensor([[1 - 1e-5, 0.0]], dtype=torch.float64)
    assert float(dist(p, -p, c=1.0)[0]) == pytest.approx(4 * math.atanh(1 - 1e-5), rel=1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gradients_finite_near_zero_and_at_the_edge(dtype):
    c = 1.0
    norms = torch.cat([torch.zeros(1, dtype=torch.float64), torch.logspace(-15, 0, 16, dtype=torch.float64), torch.tensor([1e3, 1e9], dtype=torch.float64)])
    direction = torch.tensor([0.6, 0.8], dtype=torch.float64)
    base = (norms[:, None] * direction).to(dtype)
    fns = {
        "expmap0": lambda v: expmap0(v, c=c).sum(),
        "logmap0": lambda v: logmap0(project(v, c=c), c=c).sum(),
        "dist0": lambda v: dist0(project(v, c=c), c=c).sum(),
        "dist_self": lambda v: dist(project(v, c=c), project(v, c=c).detach(), c=c).sum(),
        "pairwise": lambda v: pairwise_dist(expmap0(v, c=c), c=c).sum(),
        "mobius": lambda v: mobius_add(project(v, c=c), project(v, c=c), c=c).sum(),
        "expmap": lambda v: expmap(project(v, c=c), v, c=c).sum(),
    }
    for name, fn in fns.items():
        v = base.clone().requires_grad_(True)
        fn(v).backward()
        assert torch.isfinite(v.grad).all(), name


def test_pairwise_dist_matches_dist_and_chunks():
    x, y = ball_points(7, 3, 0.5, torch.float64, 1), ball_points(5, 3, 0.5, torch.float64, 2)
    full = pairwise_dist(x, y, c=0.5)
    loop = torch.stack([dist(x[i : i + 1], y, c=0.5) for i in range(7)])
    torch.testing.assert_close(full, loop)
    torch.testing.assert_close(pairwise_dist(x, y, c=0.5, chunk_elements=4), full)
    assert torch.all(torch.diagonal(pairwise_dist(x, c=0.5)) == 0)


def test_matches_geoopt_inside_the_ball():
    geoopt = pytest.importorskip("geoopt")
    c = 0.7
    ball = geoopt.PoincareBall(c=c)
    x, y = ball_points(20, 4, c, torch.float64, 1, 0.9), ball_points(20, 4, c, torch.float64, 2, 0.9)
    v = torch.randn(20, 4, dtype=torch.float64)
    torch.testing.assert_close(dist(x, y, c=c), ball.dist(x, y))
    torch.testing.assert_close(mobius_add(x, y, c=c), ball.mobius_add(x, y))
    torch.testing.assert_close(expmap0(v, c=c), ball.expmap0(v))
    torch.testing.assert_close(logmap0(x, c=c), ball.logmap0(x))
    torch.testing.assert_close(expmap(x, v * 0.1, c=c), ball.expmap(x, v * 0.1))
    torch.testing.assert_close(logmap(x, y, c=c), ball.logmap(x, y))
    assert isinstance(PoincareBall(c).to_geoopt(), geoopt.PoincareBall)


def test_geoopt_missing_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "geoopt", None)
    with pytest.raises(ImportError, match=re.escape("skmetric[hyperbolic]")):
        PoincareBall(1.0).to_geoopt()


def test_poincare_ball_class_and_bad_curvature():
    ball = PoincareBall(c=4.0)
    assert ball.radius == 0.5 and repr(ball) == "PoincareBall(c=4.0)"
    x = ball_points(3, 2, 4.0, torch.float64)
    torch.testing.assert_close(ball.dist0(x), dist0(x, c=4.0))
    with pytest.raises(ValueError, match=re.escape("`c` must be >= 0; got -1.0")):
        PoincareBall(c=-1.0)


def test_poincare_distance_in_registry():
    assert DISTANCES["poincare"] is PoincareDistance
    d = get_distance("poincare", c=0.5)
    v = torch.randn(6, 3, dtype=torch.float64)
    z = expmap0(v, c=0.5)
    torch.testing.assert_close(d(v), pairwise_dist(z, c=0.5))
    torch.testing.assert_close(d.pairs(v, v.flip(0)), dist(z, z.flip(0), c=0.5))
    inside = PoincareDistance(c=0.5, tangent_input=False)
    torch.testing.assert_close(inside(z), pairwise_dist(z, c=0.5))
    assert d.get_params()["c"] == 0.5 and not d.is_inverted

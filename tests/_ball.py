"""Random points of a Poincaré ball, shared by the hyperbolic tests."""

import math

import torch


def ball_points(n, d, c, dtype, seed=0, max_frac=0.95):
    """Random points of the ball of curvature -c, radius up to max_frac of the edge."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    r = torch.rand(n, 1, generator=g, dtype=torch.float64) * max_frac / math.sqrt(c)
    return (x / x.norm(dim=-1, keepdim=True) * r).to(dtype)

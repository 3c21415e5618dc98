"""Hyperbolic geometry (the Poincaré ball) as pure torch functions plus a thin class."""

from ._poincare import (
    BallEps,
    PoincareBall,
    ball_eps,
    dist,
    dist0,
    expmap,
    expmap0,
    import_geoopt,
    lambda_x,
    logmap,
    logmap0,
    mobius_add,
    pairwise_dist,
    project,
)

__all__ = [
    "BallEps",
    "PoincareBall",
    "ball_eps",
    "dist",
    "dist0",
    "expmap",
    "expmap0",
    "import_geoopt",
    "lambda_x",
    "logmap",
    "logmap0",
    "mobius_add",
    "pairwise_dist",
    "project",
]

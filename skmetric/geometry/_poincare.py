r"""The Poincaré ball of curvature :math:`-c` as pure torch functions.

Every function takes the points along the last dimension (or ``dim``) and the
curvature as the keyword-only float ``c >= 0``.  ``c = 0`` is the Euclidean
limit (``expmap0`` is the identity, the distance is :math:`2\|x - y\|`), which
the formulas below reach continuously as :math:`c \to 0`; it is computed
exactly rather than through the division by :math:`\sqrt c`.

Numerics (see :func:`ball_eps`):

* every norm is :math:`\sqrt{\max(\|x\|^2, \text{tiny})}`, so divisions by a
  norm are finite and gradients at 0 are finite;
* artanh's argument is clamped to :math:`[0, 1 - \epsilon_{\text{mach}}]`;
* points are projected to the norm :math:`(1 - \epsilon_b)/\sqrt c` after
  every map, with :math:`\epsilon_b = \sqrt{\epsilon_{\text{mach}}}` of the
  dtype (3.5e-4 in float32, 1.5e-8 in float64);
* the distance is computed as
  :math:`\frac{2}{\sqrt c}\operatorname{asinh}\big(\sqrt c\,\|x-y\| /
  \sqrt{(1-c\|x\|^2)(1-c\|y\|^2)}\big)`, which needs no artanh/arcosh clamp
  and has a bounded gradient everywhere.  geoopt's
  ``artanh(sqrt(c) ||(-x) + y||)`` form clamps its argument at ``1 - 1e-7``
  for every dtype: measured with geoopt 0.5.1 it returns 16.81 instead of
  24.41 for two opposite points at radius ``1 - 1e-5`` in float64.

The formulas follow Ganea, Bécigneul & Hofmann, "Hyperbolic Neural Networks"
(NeurIPS 2018) and geoopt's ``stereographic/math.py``.
"""

from typing import NamedTuple

import torch

__all__ = [
    "BallEps",
    "ball_eps",
    "project",
    "lambda_x",
    "mobius_add",
    "expmap0",
    "logmap0",
    "expmap",
    "logmap",
    "dist",
    "dist0",
    "pairwise_dist",
    "PoincareBall",
]


class BallEps(NamedTuple):
    """Per-dtype tolerances of the ball's numerics (see :func:`ball_eps`)."""

    boundary: float  # projection: points are kept at norm <= (1 - boundary)/sqrt(c)
    tiny: float  # floor of squared norms and of denominators
    max_artanh: float  # artanh's argument is clamped to [0, max_artanh]


def ball_eps(dtype):
    r"""Tolerances for ``dtype``, all derived from ``torch.finfo`` in one place.

    * ``boundary`` :math:`= \sqrt{\epsilon_{\text{mach}}}`: at the projection
      radius :math:`1 - c\|x\|^2 \approx 2\epsilon_b` still carries about half
      of the dtype's significant digits, so the conformal factor and the
      distance stay accurate (float16: 0.031, float32: 3.5e-4, float64:
      1.5e-8).
    * ``tiny``: the smallest normal number.
    * ``max_artanh`` :math:`= 1 - \epsilon_{\text{mach}}`, the largest number
      below 1 (artanh there is 8.3 in float32, 18.7 in float64).
    """
    info = torch.finfo(dtype)
    return BallEps(boundary=info.eps**0.5, tiny=info.tiny, max_artanh=1.0 - info.eps)


def _check_c(c):
    c = float(c)
    if not c >= 0.0:
        raise ValueError(f"The curvature parameter `c` must be >= 0; got {c}.")
    return c


def _sqnorm(x, dim=-1, keepdim=True):
    return (x * x).sum(dim=dim, keepdim=keepdim)


def _norm(x, dim=-1, keepdim=True):
    """``sqrt(max(||x||^2, tiny))``: positive, with a finite gradient at 0."""
    return _sqnorm(x, dim, keepdim).clamp_min(ball_eps(x.dtype).tiny).sqrt()


def _artanh(x):
    return torch.atanh(x.clamp(0.0, ball_eps(x.dtype).max_artanh))


def project(x, *, c, dim=-1):
    r"""Rescale points outside the radius :math:`(1 - \epsilon_b)/\sqrt c` onto it.

    Points inside are returned unchanged.  ``c = 0`` returns ``x``.
    """
    c = _check_c(c)
    if c == 0.0:
        return x
    max_norm = (1.0 - ball_eps(x.dtype).boundary) / c**0.5
    norm = _norm(x, dim)
    return torch.where(norm > max_norm, x / norm * max_norm, x)


def _one_minus_c_sqnorm(x, c, dim=-1, keepdim=True):
    """``1 - c ||x||^2``, floored at ``tiny`` (positive for any input)."""
    return (1.0 - c * _sqnorm(x, dim, keepdim)).clamp_min(ball_eps(x.dtype).tiny)


def lambda_x(x, *, c, dim=-1, keepdim=False):
    r"""Conformal factor :math:`\lambda_x = 2 / (1 - c\|x\|^2)`."""
    c = _check_c(c)
    return 2.0 / _one_minus_c_sqnorm(x, c, dim, keepdim)


def mobius_add(x, y, *, c, dim=-1):
    r"""Möbius addition.

    .. math::
        x \oplus_c y = \frac{(1 + 2c\langle x,y\rangle + c\|y\|^2)\,x
        + (1 - c\|x\|^2)\,y}{1 + 2c\langle x,y\rangle + c^2\|x\|^2\|y\|^2}

    Properties: :math:`0 \oplus y = y`, :math:`x \oplus 0 = x`,
    :math:`(-x) \oplus (x \oplus y) = y` (left cancellation).  For points in
    the ball the denominator is at least :math:`(1 - \sqrt c\|x\|\sqrt
    c\|y\|)^2 > 0`, because :math:`2c\langle x,y\rangle \ge -2c\|x\|\|y\|`;
    it is floored at ``tiny`` only to survive inputs outside the ball.
    """
    c = _check_c(c)
    x2 = _sqnorm(x, dim)
    y2 = _sqnorm(y, dim)
    xy = (x * y).sum(dim=dim, keepdim=True)
    num = (1.0 + 2.0 * c * xy + c * y2) * x + (1.0 - c * x2) * y
    den = 1.0 + 2.0 * c * xy + c * c * x2 * y2
    return num / den.clamp_min(ball_eps(x.dtype).tiny)


def expmap0(v, *, c, dim=-1):
    r"""Exponential map at the origin, then :func:`project`.

    .. math:: \exp_0(v) = \tanh(\sqrt c\|v\|)\,\frac{v}{\sqrt c\|v\|}

    Inverse of :func:`logmap0`.  :math:`d(0, \exp_0(v)) = 2\|v\|`.
    """
    c = _check_c(c)
    if c == 0.0:
        return v
    sc = c**0.5
    norm = _norm(v, dim)
    return project(torch.tanh(sc * norm) * v / (sc * norm), c=c, dim=dim)


def logmap0(y, *, c, dim=-1):
    r"""Logarithmic map at the origin.

    .. math:: \log_0(y) = \operatorname{artanh}(\sqrt c\|y\|)\,\frac{y}{\sqrt c\|y\|}
    """
    c = _check_c(c)
    if c == 0.0:
        return y
    sc = c**0.5
    norm = _norm(y, dim)
    return _artanh(sc * norm) * y / (sc * norm)


def expmap(x, v, *, c, dim=-1):
    r"""Exponential map at ``x``, then :func:`project`.

    .. math::
        \exp_x(v) = x \oplus_c \Big(\tanh\big(\sqrt c\,\lambda_x\|v\|/2\big)
        \frac{v}{\sqrt c\|v\|}\Big)
    """
    c = _check_c(c)
    if c == 0.0:
        return x + v
    sc = c**0.5
    norm = _norm(v, dim)
    lam = lambda_x(x, c=c, dim=dim, keepdim=True)
    step = torch.tanh(sc * lam * norm / 2.0) * v / (sc * norm)
    return project(mobius_add(x, step, c=c, dim=dim), c=c, dim=dim)


def logmap(x, y, *, c, dim=-1):
    r"""Logarithmic map at ``x`` (inverse of :func:`expmap`).

    .. math::
        \log_x(y) = \frac{2}{\sqrt c\,\lambda_x}\operatorname{artanh}(\sqrt c\|u\|)
        \frac{u}{\|u\|}, \qquad u = (-x) \oplus_c y
    """
    c = _check_c(c)
    if c == 0.0:
        return y - x
    sc = c**0.5
    u = mobius_add(-x, y, c=c, dim=dim)
    norm = _norm(u, dim)
    lam = lambda_x(x, c=c, dim=dim, keepdim=True)
    return 2.0 / (sc * lam) * _artanh(sc * norm) * u / norm


def _asinh_dist(sq_diff, x2, y2, c):
    # d = (2/sqrt c) asinh( sqrt(c ||x-y||^2 / ((1 - c||x||^2)(1 - c||y||^2))) )
    # (arcosh(1 + 2u) = 2 asinh(sqrt u)); asinh needs no clamp and the sqrt is
    # taken of max(., tiny), with exact zeros restored.
    tiny = ball_eps(sq_diff.dtype).tiny
    den = (1.0 - c * x2).clamp_min(tiny) * (1.0 - c * y2).clamp_min(tiny)
    u = c * sq_diff / den
    root = u.clamp_min(tiny).sqrt().masked_fill(u <= tiny, 0.0)
    return 2.0 / c**0.5 * torch.asinh(root)


def _euclid_from_sq(sq_diff):
    tiny = ball_eps(sq_diff.dtype).tiny
    return sq_diff.clamp_min(tiny).sqrt().masked_fill(sq_diff <= tiny, 0.0)


def dist(x, y, *, c, dim=-1, keepdim=False):
    r"""Geodesic distance between aligned points ``x`` and ``y``.

    .. math::
        d_c(x, y) = \frac{2}{\sqrt c}\operatorname{artanh}(\sqrt c\|(-x)\oplus_c y\|)
        = \frac{2}{\sqrt c}\operatorname{asinh}\sqrt{\frac{c\|x-y\|^2}
        {(1-c\|x\|^2)(1-c\|y\|^2)}}

    (the second, clamp-free form is computed).  :math:`d(x,x)=0`, symmetric,
    triangle inequality; :math:`d_c \to 2\|x-y\|` as :math:`c \to 0`.
    """
    c = _check_c(c)
    sq_diff = _sqnorm(x - y, dim, keepdim)
    if c == 0.0:
        return 2.0 * _euclid_from_sq(sq_diff)
    return _asinh_dist(sq_diff, _sqnorm(x, dim, keepdim), _sqnorm(y, dim, keepdim), c)


def dist0(x, *, c, dim=-1, keepdim=False):
    r"""Distance from the origin, :math:`\frac{2}{\sqrt c}\operatorname{artanh}(\sqrt c\|x\|)`."""
    return dist(torch.zeros_like(x), x, c=c, dim=dim, keepdim=keepdim)


def pairwise_dist(x, y=None, *, c, chunk_elements=2**24):
    r"""Matrix of distances between the rows of ``x`` (n, d) and ``y`` (m, d).

    :math:`\|x_i - y_j\|^2` is computed from the differences (no
    :math:`\|x\|^2 + \|y\|^2 - 2\langle x,y\rangle` cancellation, which near
    the boundary the conformal factor would amplify), in chunks of about
    ``chunk_elements`` numbers.
    """
    c = _check_c(c)
    y = x if y is None else y
    n, m, d = x.shape[0], y.shape[0], x.shape[1]
    rows = max(1, chunk_elements // max(1, m * d))
    parts = []
    y2 = _sqnorm(y, -1, False)
    for start in range(0, n, rows):
        xs = x[start : start + rows]
        sq_diff = _sqnorm(xs[:, None, :] - y[None, :, :], -1, False)
        if c == 0.0:
            parts.append(2.0 * _euclid_from_sq(sq_diff))
        else:
            parts.append(_asinh_dist(sq_diff, _sqnorm(xs, -1, True), y2[None, :], c))
    if not parts:
        return x.new_zeros((0, m))
    return torch.cat(parts)


class PoincareBall:
    r"""The Poincaré ball of curvature :math:`-c`: holds ``c``, delegates to the functions.

    Parameters
    ----------
    c : float, default=1.0
        Curvature magnitude (the ball has radius :math:`1/\sqrt c`); 0 is the
        Euclidean limit.

    Examples
    --------
    >>> import torch
    >>> ball = PoincareBall(c=1.0)
    >>> x = torch.tensor([[0.5, 0.0]], dtype=torch.float64)
    >>> round(float(ball.dist0(x)[0]), 6)  # 2 artanh(0.5)
    1.098612
    """

    def __init__(self, c=1.0):
        self.c = _check_c(c)

    def __repr__(self):
        return f"PoincareBall(c={self.c!r})"

    @property
    def radius(self):
        """:math:`1/\\sqrt c` (``inf`` for ``c = 0``)."""
        return float("inf") if self.c == 0.0 else 1.0 / self.c**0.5

    def project(self, x, dim=-1):
        return project(x, c=self.c, dim=dim)

    def lambda_x(self, x, dim=-1, keepdim=False):
        return lambda_x(x, c=self.c, dim=dim, keepdim=keepdim)

    def mobius_add(self, x, y, dim=-1):
        return mobius_add(x, y, c=self.c, dim=dim)

    def expmap0(self, v, dim=-1):
        return expmap0(v, c=self.c, dim=dim)

    def logmap0(self, y, dim=-1):
        return logmap0(y, c=self.c, dim=dim)

    def expmap(self, x, v, dim=-1):
        return expmap(x, v, c=self.c, dim=dim)

    def logmap(self, x, y, dim=-1):
        return logmap(x, y, c=self.c, dim=dim)

    def dist(self, x, y, dim=-1, keepdim=False):
        return dist(x, y, c=self.c, dim=dim, keepdim=keepdim)

    def dist0(self, x, dim=-1, keepdim=False):
        return dist0(x, c=self.c, dim=dim, keepdim=keepdim)

    def pairwise_dist(self, x, y=None):
        return pairwise_dist(x, y, c=self.c)

    def to_geoopt(self):
        """The same ball as a ``geoopt.PoincareBall`` (for geoopt's Riemannian optimisers).

        Needs the ``hyperbolic`` extra: ``pip install 'skmetric[hyperbolic]'``.
        """
        geoopt = import_geoopt()
        if self.c == 0.0:
            return geoopt.Euclidean(ndim=1)
        return geoopt.PoincareBall(c=self.c)


def import_geoopt():
    """Import geoopt lazily, with an error that names the extra to install."""
    import warnings

    try:
        with warnings.catch_warnings():
            # geoopt 0.5 decorates its maths with torch.jit.script, which
            # recent torch releases mark as deprecated at import time.
            warnings.simplefilter("ignore", DeprecationWarning)
            import geoopt
    except ImportError as exc:
        raise ImportError(
            "This feature needs geoopt: pip install 'skmetric[hyperbolic]' "
            "(or pip install geoopt)."
        ) from exc
    return geoopt

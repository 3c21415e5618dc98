r"""The hyperbolic multinomial logistic regression layer (Ganea et al.; pure torch).

References
----------
O. Ganea, G. Bécigneul and T. Hofmann. "Hyperbolic Neural Networks".
NeurIPS 2018. arXiv:1805.09112.
"""

import math

import torch
from torch import nn

from ..geometry import ball_eps, expmap0

__all__ = ["HyperbolicMLR", "hyperbolic_mlr_logits"]


def hyperbolic_mlr_logits(z, p, a, *, c):
    r"""Logits of the hyperbolic multinomial logistic regression (Ganea et al.).

    .. math::
        \operatorname{logit}_k(z) = \frac{\lambda_{p_k}\|a_k\|}{\sqrt c}
        \operatorname{asinh}\Big(\frac{2\sqrt c\,\langle(-p_k)\oplus_c z,\,a_k\rangle}
        {(1 - c\|(-p_k)\oplus_c z\|^2)\,\|a_k\|}\Big)

    Parameters
    ----------
    z : tensor (n, d)
        Points of the ball.
    p : tensor (K, d)
        Offsets of the K hyperplanes (points of the ball).
    a : tensor (K, d)
        Their normals (tangent vectors at ``p``).
    c : float
        Curvature magnitude; ``0`` gives the Euclidean limit
        :math:`4\langle z - p_k, a_k\rangle`.

    Notes
    -----
    With :math:`u = (-p)\oplus z = N / D` (Möbius addition written as
    numerator over denominator), the identity
    :math:`1 - c\|u\|^2 = (1 - c\|p\|^2)(1 - c\|z\|^2) / D` makes ``D`` cancel:

    .. math::
        \frac{\langle u, a\rangle}{1 - c\|u\|^2} =
        \frac{(1 - c\|p\|^2)\langle z, a\rangle - (1 - 2c\langle p,z\rangle
        + c\|z\|^2)\langle p, a\rangle}{(1 - c\|p\|^2)(1 - c\|z\|^2)}

    which is computed with matrix products (no ``(n, K, d)`` tensor) and
    without the cancellation of :math:`1 - c\|u\|^2` near the edge.
    """
    c = float(c)
    eps = ball_eps(z.dtype)
    a_norm = (a * a).sum(-1).clamp_min(eps.tiny).sqrt()  # (K,)
    za = z @ a.T  # (n, K)
    pa = (p * a).sum(-1)  # (K,)
    if c == 0.0:
        return 4.0 * (za - pa)
    sc = math.sqrt(c)
    z2 = (z * z).sum(-1, keepdim=True)  # (n, 1)
    p2 = (p * p).sum(-1)  # (K,)
    pz = z @ p.T  # (n, K)
    one_m_p2 = (1.0 - c * p2).clamp_min(eps.tiny)
    one_m_z2 = (1.0 - c * z2).clamp_min(eps.tiny)
    inner = one_m_p2 * za - (1.0 - 2.0 * c * pz + c * z2) * pa
    arg = 2.0 * sc * inner / (one_m_p2 * one_m_z2 * a_norm)
    lam = 2.0 / one_m_p2
    return lam * a_norm / sc * torch.asinh(arg)


class HyperbolicMLR(nn.Module):
    r"""Hyperbolic multinomial logistic regression layer.

    Parametrised as in Ganea et al.'s code: the offsets are
    :math:`p_k = \exp_0(p'_k)` and the normals :math:`a_k = a'_k (1 - c\|p_k\|^2)`
    with :math:`p', a'` Euclidean parameters (so any torch optimiser trains
    them), both initialised Kaiming-uniform (:math:`a = \sqrt 5`).

    Parameters
    ----------
    in_features : int
    n_classes : int
    c : float, default=1.0
    """

    def __init__(self, in_features, n_classes, *, c=1.0):
        super().__init__()
        self.in_features = in_features
        self.n_classes = n_classes
        self.c = c
        self.p_tangent = nn.Parameter(torch.empty(n_classes, in_features))
        self.a_tangent = nn.Parameter(torch.empty(n_classes, in_features))
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.kaiming_uniform_(self.a_tangent, a=math.sqrt(5))
        nn.init.kaiming_uniform_(self.p_tangent, a=math.sqrt(5))

    def hyperplanes(self):
        """``(p, a)``: offsets in the ball and normals, each ``(n_classes, in_features)``."""
        p = expmap0(self.p_tangent, c=self.c)
        a = self.a_tangent * (1.0 - self.c * (p * p).sum(-1, keepdim=True))
        return p, a

    def forward(self, z):
        p, a = self.hyperplanes()
        return hyperbolic_mlr_logits(z, p.to(z.dtype), a.to(z.dtype), c=self.c)

    def extra_repr(self):
        return f"in_features={self.in_features}, n_classes={self.n_classes}, c={self.c}"

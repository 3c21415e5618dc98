r"""Hyp-OC's losses: Hyp-PC and the Hyp-CE + Hyp-PC criterion (pure torch).

Not registered in :data:`skmetric.losses.LOSSES`: they take the output of
:class:`skmetric.nn.HypOCNet` (ball points and logits of real samples and
pseudo-negatives), not ``(embeddings, labels)``; :class:`skmetric.HyperbolicOneClass`
trains with them.  The hyperbolic MLR head is :class:`skmetric.nn.HyperbolicMLR`.

References
----------
K. Narayan and V. M. Patel. "Hyp-OC: Hyperbolic One Class Classification for
Face Anti-Spoofing". FG 2024. arXiv:2404.14406.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..geometry import ball_eps, dist, mobius_add

__all__ = ["HypOCCriterion", "hyp_pc_loss"]


def hyp_pc_loss(z, *, c, distance="geodesic"):
    r"""Hyp-PC (pairwise confusion) of the real samples' ball points.

    The batch is split in halves and :math:`z_i` is paired with
    :math:`z_{i + B/2}`:

    .. math:: L_{PC} = \frac1B \sum_{i=1}^{B/2} \tilde d(z_i, z_{i+B/2})

    An odd batch drops its last sample; a batch of one gives 0 (with a
    gradient graph, so backward still runs).

    Parameters
    ----------
    z : tensor (B, d)
    c : float
    distance : {"geodesic", "arctan"}
        ``"geodesic"``: :math:`d_c`, the Poincaré distance.  ``"arctan"``:
        :math:`\frac{2}{\sqrt c}\arctan(\sqrt c\|(-x)\oplus_c y\|)`, the
        official Hyp-OC code's variant (equal to first order, bounded by
        :math:`\pi/\sqrt c`).
    """
    if distance not in ("geodesic", "arctan"):
        raise ValueError(
            f"`distance` must be 'geodesic' or 'arctan'; got {distance!r}."
        )
    half = z.shape[0] // 2
    if half == 0:
        return z.sum() * 0.0
    x, y = z[:half], z[half : 2 * half]
    if distance == "geodesic":
        d = dist(x, y, c=c)
    else:
        c = float(c)
        u = mobius_add(-x, y, c=c)
        sq = (u * u).sum(-1)
        tiny = ball_eps(z.dtype).tiny
        norm = sq.clamp_min(tiny).sqrt().masked_fill(sq <= tiny, 0.0)
        d = 2.0 * norm if c == 0.0 else 2.0 / math.sqrt(c) * torch.atan(math.sqrt(c) * norm)
    return d.sum() / (2 * half)


class HypOCCriterion(nn.Module):
    """``ce_weight * Hyp-CE + pc_weight * Hyp-PC`` of Hyp-OC's training output.

    Called by the fit loop as ``criterion(output, y)`` with ``output = (z,
    logits, n_real)``, what :class:`skmetric.nn.HypOCNet` returns in training
    mode: ball points and two-class logits of the real samples (the first
    ``n_real`` rows, class 0) then of the pseudo-negatives (class 1).  Hyp-CE
    is the cross-entropy of the logits, Hyp-PC :func:`hyp_pc_loss` of the
    real points.  ``y`` is the dummy target of one-class training and is
    ignored.

    Parameters
    ----------
    c : float
        Curvature magnitude of the ball.
    ce_weight, pc_weight : float, default=1.0
    pc_distance : {"geodesic", "arctan"}, default="geodesic"
        See :func:`hyp_pc_loss`.
    """

    def __init__(self, *, c, ce_weight=1.0, pc_weight=1.0, pc_distance="geodesic"):
        super().__init__()
        self.c = c
        self.ce_weight = ce_weight
        self.pc_weight = pc_weight
        self.pc_distance = pc_distance

    def forward(self, output, y=None):
        z, logits, n_real = output
        labels = torch.cat(
            [
                torch.zeros(n_real, dtype=torch.long, device=logits.device),
                torch.ones(logits.shape[0] - n_real, dtype=torch.long, device=logits.device),
            ]
        )
        loss = self.ce_weight * F.cross_entropy(logits, labels)
        if self.pc_weight:
            loss = loss + self.pc_weight * hyp_pc_loss(
                z[:n_real], c=self.c, distance=self.pc_distance
            )
        return loss

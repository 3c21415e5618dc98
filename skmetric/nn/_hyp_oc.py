"""The network of Hyp-OC one-class training (pure torch).

:class:`HypOCNet` standardises its input, draws pseudo-negatives in training
mode, encodes, clips, maps into the Poincaré ball and applies a two-class
head; :class:`skmetric.losses.hyperbolic.HypOCCriterion` is its loss and
:class:`skmetric.HyperbolicOneClass` the estimator that trains it.

References
----------
K. Narayan and V. M. Patel. "Hyp-OC: Hyperbolic One Class Classification for
Face Anti-Spoofing". FG 2024. arXiv:2404.14406.
"""

from typing import NamedTuple

import torch
from torch import nn

from ..geometry import dist, expmap, expmap0
from ._hyperbolic_mlr import HyperbolicMLR

__all__ = ["HypOCNet"]


class _RiemannianGrad(torch.autograd.Function):
    r"""Identity whose backward rescales the gradient by :math:`(1 - c\|z\|^2)^2 / 4`.

    The inverse squared conformal factor turns the Euclidean gradient at a
    ball point into the Riemannian one (as in Hyp-OC's official code).
    """

    @staticmethod
    def forward(ctx, z, c):
        ctx.c = c
        ctx.save_for_backward(z)
        return z.view_as(z)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        scale = (1.0 - ctx.c * (z * z).sum(-1, keepdim=True)).clamp_min(0.0) ** 2 / 4.0
        return grad * scale, None


class _TrainOutput(NamedTuple):
    """What the network returns in training mode (real rows first)."""

    z: torch.Tensor  # ball points of real then pseudo-negative samples
    logits: torch.Tensor  # (2 n_real, 2): class 0 = real, 1 = pseudo-negative
    n_real: int


class HypOCNet(nn.Module):
    r"""Standardise/whiten, (train: add pseudo-negatives), encode, clip, map into the ball, head.

    In training mode the forward pass updates the running mean of the
    standardised features,
    :math:`\mu \leftarrow \alpha\mu + (1-\alpha)\bar x_{\text{batch}}`
    (initialised at the first batch's mean), draws one pseudo-negative per
    real sample from :math:`\mathcal N(\mu, \sigma^2 I)` with torch's RNG,
    updates the running mean ``ball_mean`` of the real samples' ball points
    (same momentum), and returns a :class:`_TrainOutput`.  In eval mode it
    returns the head's logits of the inputs, shape ``(n, 2)``: the MLR's, or
    ``[0, (d_c(z, ball_mean)^2 - r^2) / t]`` for ``head="distance"``.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps standardised ``(n, n_features)`` features to ``(n, d)``.
    mean, scale : arrays of shape (n_features,)
        Standardisation (``x - mean) / scale``).
    embedding_size : int
        ``d``.
    c, clip_radius, pseudo_std, momentum : float
    whitening : array of shape (n_features, n_features) or None
        Applied after standardisation (``x @ whitening``).
    head : {"mlr", "distance"}
    """

    def __init__(self, encoder, mean, scale, embedding_size, *, c, clip_radius,
                 pseudo_std, momentum, whitening=None, head="mlr"):
        super().__init__()
        n_features = len(mean)
        self.encoder = encoder
        self.c = float(c)
        self.clip_radius = clip_radius
        self.pseudo_std = float(pseudo_std)
        self.momentum = float(momentum)
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        if whitening is None:
            self.whitening = None
        else:
            self.register_buffer("whitening", torch.as_tensor(whitening, dtype=torch.float32))
        self.head = head
        self.register_buffer("running_mean", torch.zeros(n_features))
        self.register_buffer("ball_mean", torch.zeros(embedding_size))
        self.register_buffer("n_batches_tracked", torch.zeros((), dtype=torch.long))
        # learnable base point p0 = expmap0(xi) of the map into the ball
        self.base_tangent = nn.Parameter(torch.zeros(embedding_size))
        self.mlr = HyperbolicMLR(embedding_size, 2, c=self.c) if head == "mlr" else None
        # distance head: logit(pseudo) - logit(real) = (d^2 - r^2) / t, with
        # d the distance to the embedded running mean; r^2 and log t are
        # set from the initial distances by HyperbolicOneClass.fit
        self.radius2 = nn.Parameter(torch.ones(()))
        self.log_temperature = nn.Parameter(torch.zeros(()))

    def standardize(self, x):
        x = (x - self.mean) / self.scale
        if self.whitening is not None:
            x = x @ self.whitening
        return x

    def center(self):
        """Running mean of the real samples' ball points."""
        return self.ball_mean[None, :]

    def center_distance(self, z):
        """Geodesic distance (Euclidean for ``c=0``) of ball points to :meth:`center`."""
        center = self.center().to(z.dtype).expand_as(z)
        if self.c == 0.0:
            return 2.0 * ((z - center) ** 2).sum(-1).clamp_min(torch.finfo(z.dtype).tiny).sqrt()
        return dist(z, center, c=self.c)

    def logits(self, z):
        if self.mlr is not None:
            return self.mlr(z)
        d2 = self.center_distance(z) ** 2
        diff = (d2 - self.radius2.to(z.dtype)) * torch.exp(-self.log_temperature.to(z.dtype))
        return torch.stack([torch.zeros_like(diff), diff], dim=-1)

    def embed_standardized(self, x):
        """Ball points of standardised features."""
        h = self.encoder(x)
        if self.clip_radius is not None:
            # Euclidean feature clipping: h <- min(1, r / ||h||) h
            norm = (h * h).sum(-1, keepdim=True).clamp_min(torch.finfo(h.dtype).tiny).sqrt()
            h = h * (self.clip_radius / norm).clamp(max=1.0)
        if self.c == 0.0:  # Euclidean ablation: the limit c -> 0
            return self.base_tangent + h
        base = expmap0(self.base_tangent, c=self.c)
        z = expmap(base, h, c=self.c)
        if self.training and z.requires_grad:
            z = _RiemannianGrad.apply(z, self.c)
        return z

    def embed(self, x):
        """Ball points of raw features."""
        return self.embed_standardized(self.standardize(x))

    def forward(self, x):
        x = self.standardize(x)
        if not self.training:
            return self.logits(self.embed_standardized(x))
        with torch.no_grad():
            batch_mean = x.mean(0)
            if int(self.n_batches_tracked) == 0:
                self.running_mean.copy_(batch_mean)
            else:
                self.running_mean.mul_(self.momentum).add_((1.0 - self.momentum) * batch_mean)
            self.n_batches_tracked += 1
            pseudo = self.running_mean + self.pseudo_std * torch.randn_like(x)
        z = self.embed_standardized(torch.cat([x, pseudo]))
        with torch.no_grad():
            z_mean = z[: x.shape[0]].mean(0)
            if int(self.n_batches_tracked) == 1:
                self.ball_mean.copy_(z_mean)
            else:
                self.ball_mean.mul_(self.momentum).add_((1.0 - self.momentum) * z_mean)
        return _TrainOutput(z, self.logits(z), x.shape[0])

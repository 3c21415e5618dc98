"""ElasticFace: margins drawn from a normal distribution (Boutros et al., 2022)."""

import torch

from .margin_softmax import BaseMarginSoftmaxLoss

__all__ = ["ElasticFaceLoss"]

_KINDS = ("arc", "cos")
_DEFAULT_MARGIN = {"arc": 0.5, "cos": 0.35}


def arc_margin(c, margin):
    r""":math:`\cos(\theta + m)` from :math:`c = \cos\theta`, per element.

    :math:`c\cos m - \sin\theta\sin m` with :math:`\sin\theta =
    \sqrt{\max(1 - c^2, \epsilon)}`; where :math:`\theta > \pi - m` it is
    :math:`c - m\sin m` instead (ArcFace's monotone fallback).
    """
    eps = torch.finfo(c.dtype).eps
    sin = (1 - c * c).clamp_min(eps).sqrt()
    value = c * torch.cos(margin) - sin * torch.sin(margin)
    return torch.where(c < -torch.cos(margin), c - margin * torch.sin(margin), value)


class ElasticFaceLoss(BaseMarginSoftmaxLoss):
    r"""ArcFace or CosFace with a margin redrawn for every sample at every step.

    Each training step draws :math:`m_i \sim \mathcal N(m, \sigma^2)` per
    sample (with torch's random generator, which the estimators' fit loop
    seeds from ``random_state``).  ``kind="arc"``: target logit
    :math:`s\cos(\theta_y + m_i)` (with ArcFace's fallback beyond
    :math:`\pi - m_i`); ``kind="cos"``: :math:`s(\cos\theta_y - m_i)`.  In
    eval mode (``loss.eval()``) the margin is :math:`m`.  With
    :math:`\sigma = 0` the loss equals ArcFace (margin in radians) or
    CosFace.

    Parameters
    ----------
    kind : {"arc", "cos"}, default="arc"
    margin : float, default=None
        Mean margin :math:`m`; ``None`` means the paper's 0.5 (**radians**)
        for ``"arc"`` and 0.35 for ``"cos"``.
    sigma : float, default=0.05
        Standard deviation of the margin (both official configurations).
    scale : float, default=64
    plus : bool, default=False
        ElasticFace+: the drawn margins are sorted so that the sample with
        the lowest target cosine (the hardest) gets the largest margin.
    num_classes, embedding_size, reducer
        As in :class:`~skmetric.losses.BaseMarginSoftmaxLoss`.

    References
    ----------
    F. Boutros, N. Damer, F. Kirchbuchner and A. Kuijper. "ElasticFace:
    Elastic Margin Loss for Deep Face Recognition". CVPR Workshops 2022.
    arXiv:2109.09416.
    """

    def __init__(self, *, kind="arc", margin=None, sigma=0.05, scale=64.0, plus=False,
                 num_classes=None, embedding_size=None, reducer=None):
        super().__init__()
        self.kind = kind
        self.margin = margin
        self.sigma = sigma
        self.scale = scale
        self.plus = plus
        self.reducer = reducer
        self._set_sizes(num_classes, embedding_size)

    def _margins(self, target_cos):
        mean = _DEFAULT_MARGIN[self.kind] if self.margin is None else self.margin
        n = target_cos.shape[0]
        if not self.training or not self.sigma:
            return torch.full((n,), float(mean), dtype=target_cos.dtype, device=target_cos.device)
        draws = torch.normal(float(mean), float(self.sigma), (n,)).to(target_cos)
        if self.plus:
            # largest margin to the lowest cosine (hardest sample)
            draws = draws.sort(descending=True).values
            order = target_cos.detach().argsort()
            draws = torch.empty_like(draws).scatter_(0, order, draws)
        return draws

    def _target(self, c):
        m = self._margins(c)
        return arc_margin(c, m) if self.kind == "arc" else c - m

    def logits(self, embeddings, labels):
        if self.kind not in _KINDS:
            raise ValueError(
                f"`kind` of ElasticFaceLoss must be one of {list(_KINDS)}; got {self.kind!r}."
            )
        return self.with_target(self.class_cosines(embeddings), labels, self._target) * self.scale

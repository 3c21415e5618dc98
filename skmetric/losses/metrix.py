"""Metrix: mixup of embeddings and labels for metric learning (Venkataramanan et al., 2022)."""

import torch
from torch import nn

from ._wrapping import PartsAttribute, build_part
from .base import BaseMetricLoss

__all__ = ["MetrixLoss"]


class MetrixLoss(BaseMetricLoss):
    r"""A loss plus the same loss on mixed embeddings with interpolated labels.

    At each training step :math:`\lambda \sim \mathrm{Beta}(\alpha, \alpha)` is
    drawn and every sample :math:`u` is mixed with a random sample :math:`v`
    of another class: :math:`m = \lambda u + (1 - \lambda) v`.  The mixed
    embedding counts as a member of :math:`u`'s class with weight
    :math:`\lambda` and of :math:`v`'s with weight :math:`1 - \lambda`, by
    interpolating the loss (as mixup interpolates cross-entropies):

    .. math::
        L = L(X, y) + w\big[\lambda L_{mix}(y_u) + (1 - \lambda) L_{mix}(y_v)\big]

    - pair and triplet losses: :math:`L_{mix}(\tilde y)` is the wrapped
      loss on the pairs (clean anchor, mixed sample) only, the mixed sample
      labelled :math:`\tilde y` -- for an anchor of :math:`u`'s class the
      mixed sample is then a positive with weight :math:`\lambda` and a
      negative with weight :math:`1 - \lambda`, the official Metrix terms;
    - proxy and classification losses: :math:`L_{mix}(\tilde y)` is the
      wrapped loss on the mixed embeddings with labels :math:`\tilde y`.

    Random draws use torch's generator (seeded by the estimators' fit loop).
    In eval mode, or when no sample has a partner of another class, only
    the clean loss is computed.

    Parameters
    ----------
    loss : str or loss object, default="multi_similarity"
        The wrapped loss.
    mix_weight : float, default=0.4
        :math:`w` (the official code's value).
    alpha : float, default=2
        Beta distribution parameter (official value).
    num_classes : int, default=None
        Passed to a wrapped loss that needs it (filled in by estimators).
    embedding_size : int, default=None
        Passed to a wrapped loss that needs it (filled in by estimators).

    Attributes
    ----------
    parts : torch.nn.ModuleList
        The built wrapped loss (one element).

    Notes
    -----
    Mixing happens on the embeddings (the official code also mixes inputs
    and features, which a loss cannot do).  Losses that ignore
    ``indices_tuple`` (prototype, neighbourhood and alignment/uniformity
    losses) should not be wrapped.

    References
    ----------
    S. Venkataramanan, B. Psomas, E. Kijak, L. Amsaleg, K. Karantzalos and Y.
    Avrithis. "It Takes Two to Tango: Mixup for Deep Metric Learning". ICLR
    2022. arXiv:2106.04990.
    """

    requires_num_classes = PartsAttribute("requires_num_classes", True, any, False)
    min_samples_per_class = PartsAttribute("min_samples_per_class", 2, max, 1)
    prefers_normalized = PartsAttribute("prefers_normalized", True, all, True)

    def __init__(self, *, loss="multi_similarity", mix_weight=0.4, alpha=2.0, num_classes=None,
                 embedding_size=None):
        super().__init__()
        self.loss = loss
        self.mix_weight = mix_weight
        self.alpha = alpha
        self.num_classes = num_classes
        self.embedding_size = embedding_size
        self._build()

    def _build(self):
        self.parts = nn.ModuleList([build_part(self.loss, self.num_classes, self.embedding_size)])

    def set_params(self, **params):
        super().set_params(**params)
        if {"loss", "num_classes", "embedding_size"} & {k.split("__")[0] for k in params}:
            self._build()
        return self

    def compute_loss(self, embeddings, labels, indices_tuple):
        inner = self.parts[0]
        clean = inner(embeddings, labels, indices_tuple)
        if not self.training or not self.mix_weight:
            return clean
        other = labels.unsqueeze(1) != labels.unsqueeze(0)
        has = other.any(1)
        if not has.any():
            return clean
        u = has.nonzero(as_tuple=True)[0]
        v = torch.multinomial(other[u].to(torch.float32), 1).squeeze(1)
        lam = torch.distributions.Beta(float(self.alpha), float(self.alpha)).sample()
        lam = lam.to(embeddings.dtype)
        mixed = lam * embeddings[u] + (1 - lam) * embeddings[v]
        mix = 0
        for weight, tilde in ((lam, labels[u]), (1 - lam, labels[v])):
            if getattr(inner, "requires_num_classes", False):
                term = inner(mixed, tilde)
            else:
                both = torch.cat([embeddings, mixed])
                both_labels = torch.cat([labels, tilde])
                same = labels.unsqueeze(1) == tilde.unsqueeze(0)
                a1, p = same.nonzero(as_tuple=True)
                a2, n = (~same).nonzero(as_tuple=True)
                offset = len(labels)
                term = inner(both, both_labels, (a1, p + offset, a2, n + offset))
            mix = mix + weight * term
        return clean + self.mix_weight * mix

"""Mean-field losses (Furusawa, "Mean Field Theory in Deep Metric Learning", ICLR 2024).

Mean field theory replaces the interaction of a sample with every other
sample by its interaction with a learnable "mean field" per class: the
pair losses become classification-style losses over class vectors, linear
in the batch size.
"""

import math

import torch
from torch import nn

from ..distances._normalize import l2_normalize
from .base import BaseProxyLoss

__all__ = ["MeanFieldContrastiveLoss", "MeanFieldMultiSimilarityLoss"]

_REFERENCE = """
    T. Furusawa. "Mean Field Theory in Deep Metric Learning". ICLR 2024.
"""


class _BaseMeanFieldLoss(BaseProxyLoss):
    # class vectors W (embedding_size x num_classes, N(0, 1), as the official
    # code); distances 1 - cos to them

    def _set_sizes(self, num_classes, embedding_size):
        self.num_classes = num_classes
        self.embedding_size = embedding_size
        if num_classes is not None and embedding_size is not None:
            self.W = nn.Parameter(torch.randn(embedding_size, num_classes))

    def _check_numbers(self, names):
        for name in names:
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and not isinstance(value, bool)
                    and math.isfinite(value)):
                raise ValueError(
                    f"`{name}` of {type(self).__name__} must be a finite number; got {value!r}."
                )
        if self.mf_reg < 0:
            raise ValueError(
                f"`mf_reg` of {type(self).__name__} must be >= 0; got {self.mf_reg!r}."
            )

    def _unit_vectors(self, dtype):
        # class vectors as unit rows, (num_classes, embedding_size)
        return l2_normalize(self.W.to(dtype).T)

    def sample_class_distances(self, embeddings):
        """``1 - cos(x_i, w_c)``, shape ``(batch, num_classes)``."""
        return 1 - l2_normalize(embeddings) @ self._unit_vectors(embeddings.dtype).T

    def class_distances(self, dtype):
        """``1 - cos(w_c, w_k)``, shape ``(num_classes, num_classes)``."""
        w = self._unit_vectors(dtype)
        return 1 - w @ w.T


class MeanFieldContrastiveLoss(_BaseMeanFieldLoss):
    r"""Contrastive loss with each sample paired to the class mean fields.

    With :math:`d_{ic} = 1 - \cos(x_i, w_c)` and :math:`D_{ck} = 1 - \cos(w_c, w_k)`:

    .. math::
        L = \frac1B \sum_i \Bigl([d_{i y_i} - m^+]_+ + \sum_{c \ne y_i} [m^- - d_{ic}]_+\Bigr)
            + \lambda \frac1C \sum_c \sum_{k \ne c} [m^- - D_{ck}]_+^{p}

    The second term (the mean-field regulariser, weight ``mf_reg``) keeps
    the class vectors of different classes apart.

    Parameters
    ----------
    pos_margin : float, default=0.02
        :math:`m^+` (a cosine distance).
    neg_margin : float, default=0.3
        :math:`m^-` (a cosine distance).
    mf_reg : float, default=0.0
        :math:`\lambda`.
    mf_power : float, default=2
        :math:`p`.
    num_classes, embedding_size : int, default=None
        Filled in by estimators; the class vectors ``W`` (embedding_size x
        num_classes, N(0, 1)) are created when both are known.

    Notes
    -----
    Defaults of the margins are the official ``train.py`` argument defaults;
    the official code requires ``mf_reg`` (no default), 0 here.  A miner's
    ``indices_tuple`` is ignored.  Formula checked against the official code
    (``loss/mean_field_contrastive_loss.py`` of the paper's repository); the
    paper itself was not reachable.

    References
    ----------""" + _REFERENCE

    def __init__(self, *, pos_margin=0.02, neg_margin=0.3, mf_reg=0.0, mf_power=2,
                 num_classes=None, embedding_size=None):
        super().__init__()
        self.pos_margin = pos_margin
        self.neg_margin = neg_margin
        self.mf_reg = mf_reg
        self.mf_power = mf_power
        self._set_sizes(num_classes, embedding_size)

    def compute_loss(self, embeddings, labels, indices_tuple):
        self._check_sizes(embeddings, labels)
        self._check_numbers(("pos_margin", "neg_margin", "mf_reg", "mf_power"))
        d = self.sample_class_distances(embeddings)
        target = nn.functional.one_hot(labels, self.num_classes).to(torch.bool)
        terms = torch.where(
            target, torch.relu(d - self.pos_margin), torch.relu(self.neg_margin - d)
        )
        loss = terms.sum(1).mean()
        if self.mf_reg:
            dc = self.class_distances(embeddings.dtype)
            off = ~torch.eye(self.num_classes, dtype=torch.bool, device=dc.device)
            reg = torch.where(off, torch.relu(self.neg_margin - dc), 0.0).pow(self.mf_power)
            loss = loss + self.mf_reg * reg.sum(1).mean()
        return loss


class MeanFieldMultiSimilarityLoss(_BaseMeanFieldLoss):
    r"""Class-wise multi-similarity loss over the class mean fields.

    With :math:`s_{ic} = \cos(x_i, w_c)`, :math:`\bar{(\cdot)}_c` the mean
    over the batch samples of class :math:`c`, :math:`P` the classes
    present in the batch:

    .. math::
        L = \frac{1}{\alpha |P|} \sum_{c \in P}
              \log\bigl(1 + \overline{e^{-\alpha (s_{ic} - \lambda)}}_c\bigr)
          + \frac{1}{2 \beta |P|} \sum_{c \ne k}
              \log\bigl(1 + \overline{e^{\beta (s_{ik} - \lambda)}}_c
                          + \overline{e^{\beta (s_{ic} - \lambda)}}_k\bigr)
          + \mu \frac1C \sum_c \sum_{k \ne c}
              \operatorname{softplus}_\beta(1 - \lambda - D_{ck})^{p}

    (a class absent from the batch contributes an empty mean, 0), with
    :math:`D_{ck} = 1 - \cos(w_c, w_k)` and
    :math:`\operatorname{softplus}_\beta(z) = \log(1 + e^{\beta z}) / \beta`.

    Parameters
    ----------
    alpha : float, default=0.01
    beta : float, default=80
    base : float, default=0.8
        :math:`\lambda`.
    mf_reg : float, default=0.0
        :math:`\mu`.
    mf_power : float, default=2
        :math:`p`.
    num_classes, embedding_size : int, default=None
        As in :class:`MeanFieldContrastiveLoss`.

    Notes
    -----
    Defaults are those of the official README's commands for every dataset.
    The exponentials are computed as written (as the official code), so a
    large ``beta`` times a cosine above ``base`` can overflow in float32 for
    ``beta`` much above 80.  A miner's ``indices_tuple`` is ignored.  Formula
    checked against the official code
    (``loss/mean_field_class_wise_multi_similarity_loss.py``); the paper itself
    was not reachable.

    References
    ----------""" + _REFERENCE

    def __init__(self, *, alpha=0.01, beta=80.0, base=0.8, mf_reg=0.0, mf_power=2,
                 num_classes=None, embedding_size=None):
        super().__init__()
        self.alpha = alpha
        self.beta = beta
        self.base = base
        self.mf_reg = mf_reg
        self.mf_power = mf_power
        self._set_sizes(num_classes, embedding_size)

    def compute_loss(self, embeddings, labels, indices_tuple):
        self._check_sizes(embeddings, labels)
        self._check_numbers(("alpha", "beta", "base", "mf_reg", "mf_power"))
        for name in ("alpha", "beta"):
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"`{name}` of MeanFieldMultiSimilarityLoss must be > 0; "
                    f"got {getattr(self, name)!r}."
                )
        s = 1 - self.sample_class_distances(embeddings)  # cosines (B, C)
        onehot = nn.functional.one_hot(labels, self.num_classes).to(s.dtype)
        counts = onehot.sum(0)
        class_mean = onehot / counts.clamp_min(1)  # column c: mean over class c
        pos = class_mean.T @ torch.exp(-self.alpha * (s - self.base))  # (C, C)
        neg = class_mean.T @ torch.exp(self.beta * (s - self.base))
        neg = neg + neg.T
        eye = torch.eye(self.num_classes, dtype=torch.bool, device=s.device)
        n_present = (counts > 0).sum().to(s.dtype)
        pos_term = torch.where(eye, torch.log1p(pos), 0.0).sum() / (self.alpha * n_present)
        neg_term = torch.where(eye, 0.0, torch.log1p(neg)).sum() / (2 * self.beta * n_present)
        loss = pos_term + neg_term
        if self.mf_reg:
            dc = self.class_distances(embeddings.dtype)
            soft = nn.functional.softplus(1 - self.base - dc, beta=self.beta)
            reg = torch.where(eye, 0.0, soft).pow(self.mf_power)
            loss = loss + self.mf_reg * reg.sum(1).mean()
        return loss

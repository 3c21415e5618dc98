"""Proxy-Anchor loss (Kim et al., 2020)."""

import torch
from torch import nn

from .._blocks import DistanceUser
from .._tuples import miner_weights
from ..distances import CosineSimilarity
from ._utils import masked_logsumexp
from .base import BaseProxyLoss


__all__ = ["ProxyAnchorLoss"]


class ProxyAnchorLoss(DistanceUser, BaseProxyLoss):
    r"""Each class proxy is an anchor that pulls its samples and pushes the rest.

    With :math:`s(x, p)` the cosine similarity between a sample and proxy
    :math:`p`, :math:`P^+` the proxies of the classes present in the batch,
    :math:`X_p^+` the samples of class :math:`p` and :math:`X_p^-` the others:

    .. math::
        L = \frac{1}{|P^+|} \sum_{p \in P^+}
                \log\big(1 + \sum_{x \in X_p^+} e^{-\alpha (s(x,p) - \delta)}\big)
          + \frac{1}{C} \sum_{p=1}^{C}
                \log\big(1 + \sum_{x \in X_p^-} e^{\alpha (s(x,p) + \delta)}\big)

    computed as log-sum-exps with an appended 0.

    Parameters
    ----------
    alpha : float, default=32
        Scale :math:`\alpha`.
    margin : float, default=0.1
        Margin :math:`\delta`.
    num_classes : int, default=None
        Number of classes ``C`` (filled in by estimators).
    embedding_size : int, default=None
        Embedding dimension (filled in by estimators).
    distance : BaseDistance, str or None, default=None
        ``None`` means :class:`~skmetric.distances.CosineSimilarity`.

    Attributes
    ----------
    proxies : torch.nn.Parameter of shape (num_classes, embedding_size)
        Learnable proxies, Kaiming-normal initialised (``mode="fan_out"``)
        as in the official code and pytorch-metric-learning.  The official
        recipe trains them with a learning rate 100 times the backbone's.

    Notes
    -----
    With ``indices_tuple`` each sample gets pytorch-metric-learning's miner
    weight ``w`` (its count in the tuple over the largest count) and
    ``w - 1`` is added to its exponents.

    References
    ----------
    S. Kim, D. Kim, M. Cho and S. Kwak. "Proxy Anchor Loss for Deep Metric
    Learning". CVPR 2020. arXiv:2003.13911.
    """

    default_distance = CosineSimilarity()

    def __init__(self, *, alpha=32.0, margin=0.1, num_classes=None, embedding_size=None,
                 distance=None):
        super().__init__()
        self.alpha = alpha
        self.margin = margin
        self.num_classes = num_classes
        self.embedding_size = embedding_size
        self.distance = distance
        if num_classes is not None and embedding_size is not None:
            self.proxies = nn.Parameter(torch.empty(num_classes, embedding_size))
            nn.init.kaiming_normal_(self.proxies, mode="fan_out")

    def compute_loss(self, embeddings, labels, indices_tuple):
        self._check_sizes(embeddings, labels)
        dist = self.pair_distance()
        sim = dist(embeddings, self.proxies.to(embeddings.dtype))  # (B, C)
        pos_mask = torch.nn.functional.one_hot(labels, self.num_classes).bool()
        pos_logits = self.alpha * dist.margin(sim, self.margin)
        neg_logits = self.alpha * dist.margin(-self.margin, sim)
        if indices_tuple is not None:
            w = miner_weights(indices_tuple, len(labels), sim.dtype, sim.device)
            shift = (w - 1).unsqueeze(1)
            pos_logits, neg_logits = pos_logits + shift, neg_logits + shift
        pos = masked_logsumexp(pos_logits, pos_mask, dim=0, add_one=True)
        neg = masked_logsumexp(neg_logits, ~pos_mask, dim=0, add_one=True)
        n_with_pos = pos_mask.any(0).sum().to(sim.dtype)
        return pos.sum() / n_with_pos + neg.sum() / self.num_classes

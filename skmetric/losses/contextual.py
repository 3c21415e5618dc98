"""Contextual similarity loss (Liao, Tsiligkaridis & Kulis, ICML 2023)."""

import math

import torch

from ..distances._normalize import l2_normalize
from .base import BaseMetricLoss

__all__ = ["ContextualLoss", "contextual_similarity"]

# slope of the straight-through gradient of the neighbourhood indicators
# (a constant of the official code)
STEP_GRADIENT = 10.0


class _AtLeast(torch.autograd.Function):
    # forward: 1(x >= y); backward: STEP_GRADIENT * grad for x (y is a
    # detached threshold), the official straight-through estimator
    @staticmethod
    def forward(ctx, x, y):
        return (x >= y).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad * STEP_GRADIENT, None


def contextual_similarity(cosines, k=4, eps=0.05):
    r"""Contextual (k-NN set) similarity of a batch from its cosine matrix.

    With :math:`D = \max(2 - 2\cos, 0)` (squared distances of unit vectors),
    :math:`N_k(i)` the samples within ``eps`` of :math:`i`'s k-th nearest
    (itself included, ties kept) and :math:`N_{k/2}` likewise at rank
    :math:`\lfloor k/2 \rfloor`:

    .. math::
        \tilde W_{ij} = \mathbb{1}[j \in N_k(i)] \, \tfrac12\Bigl(
            \frac{|N_k(i) \cap N_k(j)|}{|N_k(i)|} +
            \frac{|\bar N_k(i) \cap \bar N_k(j)|}{|\bar N_k(i)|}\Bigr),
        \qquad
        R_{ij} = \mathbb{1}[j \in N_{k/2}(i)] \, \mathbb{1}[i \in N_{k/2}(j)]

    .. math::
        J = \frac{R \tilde W}{R \mathbf{1}}, \qquad
        \text{returns } \tfrac12 (J + J^\top)

    The indicators use a straight-through gradient (slope ``10`` in the
    official code); the set sizes in the first two denominators are
    constants for the gradient.  A complement :math:`\bar N_k(i)` that is
    empty (a batch no larger than ``k``) counts as size 1, where the
    official code divides by zero.
    """
    n = cosines.shape[0]
    k = min(int(k), n)
    dist = (2.0 - 2.0 * cosines).clamp_min(0.0)
    ranked = (-dist).topk(k, dim=1).values.detach()
    closeness = -dist + eps
    in_k = _AtLeast.apply(closeness, ranked[:, k - 1:k])
    out_k = 1.0 - in_k
    inter = (in_k @ in_k.T) / in_k.sum(1, keepdim=True).detach()
    inter_not = (out_k @ out_k.T) / out_k.sum(1, keepdim=True).detach().clamp_min(1.0)
    w_tilde = 0.5 * (inter + inter_not) * in_k
    half = max(k // 2, 1)
    in_half = _AtLeast.apply(closeness, ranked[:, half - 1:half])
    mutual = in_half * in_half.T
    jac = (mutual @ w_tilde) / mutual.sum(1, keepdim=True)
    return 0.5 * (jac + jac.T)


class ContextualLoss(BaseMetricLoss):
    r"""Contrastive cosine loss plus a loss on the contextual (k-NN Jaccard) similarity.

    With unit embeddings, :math:`s = x x^\top`, :math:`w_{ij} = \mathbb{1}[y_i = y_j]`
    and :math:`J` the :func:`contextual_similarity` of :math:`s`:

    .. math::
        L = \lambda L_{ctx} + \gamma (\bar s - s_{reg})^2
            + (1 - \lambda - \gamma) L_{con}

    .. math::
        L_{ctx} = \frac{1}{B^2} \sum_{i \ne j} w_{ij} (1 - J_{ij})^2 + (1 - w_{ij}) J_{ij}^2

    .. math::
        L_{con} = \operatorname{AvgNonZero}_{i \ne j,\, w_{ij} = 1} [m^+ - s_{ij}]_+
                + \operatorname{AvgNonZero}_{w_{ij} = 0} [s_{ij} - m^-]_+

    :math:`\bar s` is the mean of the whole :math:`B \times B` matrix (diagonal
    included), a regulariser that keeps the embeddings spread.

    Parameters
    ----------
    lam : float, default=0.4
        :math:`\lambda`, weight of the contextual term.
    gamma : float, default=0.1
        :math:`\gamma`, weight of the similarity-mean regulariser.
    k : int, default=4
        Neighbourhood size of the contextual similarity (capped at the batch
        size); the official batches hold 4 samples per class.
    eps : float, default=0.05
        Slack on the k-th neighbour's squared distance (ties within ``eps``
        join the neighbourhood).
    pos_margin : float, default=0.75
        :math:`m^+` (cosine).
    neg_margin : float, default=0.6
        :math:`m^-` (cosine).
    reg_sim : float, default=0.25
        :math:`s_{reg}`, the target mean similarity.

    Notes
    -----
    Defaults are the official ``main.py`` argument defaults (the paper tunes
    them per dataset).  The indicator gradient is the official
    straight-through estimate, so the loss's gradient is not the derivative
    of its (piecewise constant) contextual term.  Checked against the
    official code (``Chris210634/metric-learning-using-contextual-similarity``,
    ``losses.py`` and the ``hybrid`` loss of ``main.py``); the paper was not
    reachable.

    References
    ----------
    C. Liao, T. Tsiligkaridis and B. Kulis. "Supervised Metric Learning to
    Rank for Retrieval via Contextual Similarity Optimization". ICML 2023.
    """

    def __init__(self, *, lam=0.4, gamma=0.1, k=4, eps=0.05, pos_margin=0.75,
                 neg_margin=0.6, reg_sim=0.25):
        super().__init__()
        self.lam = lam
        self.gamma = gamma
        self.k = k
        self.eps = eps
        self.pos_margin = pos_margin
        self.neg_margin = neg_margin
        self.reg_sim = reg_sim

    def _check_params(self):
        for name in ("lam", "gamma", "eps", "pos_margin", "neg_margin", "reg_sim"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value)):
                raise ValueError(
                    f"`{name}` of ContextualLoss must be a finite number; got {value!r}."
                )
        if not (isinstance(self.k, int) and not isinstance(self.k, bool) and self.k >= 1):
            raise ValueError(f"`k` of ContextualLoss must be an integer >= 1; got {self.k!r}.")

    def compute_loss(self, embeddings, labels, indices_tuple):
        self._check_params()
        x = l2_normalize(embeddings)
        s = x @ x.T
        n = len(labels)
        same = labels[:, None] == labels[None, :]
        # float masks (multiplications are cheaper than torch.where in backward)
        off = 1 - torch.eye(n, dtype=s.dtype, device=s.device)
        w = same.to(s.dtype)
        w_off = w * off
        jac = contextual_similarity(s, self.k, self.eps)
        ctx = (w_off * (1 - jac).square() + (1 - w) * jac.square()).sum() / (n * n)
        reg = (s.mean() - self.reg_sim).square()
        pos = torch.relu(self.pos_margin - s) * w_off
        neg = torch.relu(s - self.neg_margin) * (1 - w)
        con = _avg_positive(pos) + _avg_positive(neg)
        return self.lam * ctx + self.gamma * reg + (1 - self.lam - self.gamma) * con


def _avg_positive(terms):
    # sum of the terms over the count of strictly positive ones (0 if none)
    return terms.sum() / (terms > 0).sum().clamp_min(1).to(terms.dtype)

"""Pairwise softmax loss, PSL (Yang et al., NeurIPS 2024)."""

import math

import torch

from ..distances._normalize import l2_normalize
from ._utils import masked_logsumexp
from .base import BaseMetricLoss, zero_loss

__all__ = ["PairwiseSoftmaxLoss"]

ACTIVATIONS = ("tanh", "atan", "relu", "exp")


def psl_activation(d, activation):
    r""":math:`\log \sigma(d)`, the surrogate that replaces :math:`d` in the softmax loss.

    ``"tanh"``: :math:`\log(\tanh d + 1)`; ``"atan"``: :math:`\log(\arctan d + 1)`;
    ``"relu"``: :math:`\log \max(d + 1, 0)`; ``"exp"``: :math:`d` (the
    softmax loss itself).  The argument of the log is clamped at the dtype's
    smallest normal number, so ``"relu"`` at :math:`d \le -1` (and
    ``"atan"`` below :math:`-\tan 1`) gives a large negative finite value
    with a zero gradient rather than ``-inf``.
    """
    if activation == "exp":
        return d
    if activation == "tanh":
        inner = torch.tanh(d) + 1
    elif activation == "atan":
        inner = torch.atan(d) + 1
    else:
        inner = torch.relu(d + 1)
    return inner.clamp_min(torch.finfo(d.dtype).tiny).log()


class PairwiseSoftmaxLoss(BaseMetricLoss):
    r"""The softmax loss written over score differences, with another activation.

    For an anchor :math:`a`, a positive :math:`p` (same label) and the
    negatives :math:`n` of the batch (other labels), with cosine scores
    :math:`f_{ai} = \cos(x_a, x_i) / \tau` and :math:`d_{apn} = f_{an} - f_{ap}`:

    .. math::
        \ell_{ap} = \log \sum_{n} \exp\bigl(\log\sigma(d_{apn}) / \tau^*\bigr),
        \qquad L = \operatorname{mean}_{(a, p)} \ell_{ap}

    (PSL1 of the official code: the positive is not in the sum, and the sum
    is a log-sum-exp, not a log-mean-exp).  With :math:`\sigma = \exp` this is
    the softmax loss at temperature :math:`\tau \tau^*` over the negatives.
    The paper's activations (``"tanh"``, ``"atan"``, ``"relu"``) bound the
    exponent, which makes the loss a tighter surrogate of DCG and less
    sensitive to false negatives.  The mean runs over the positive pairs
    whose anchor has a negative; a batch with none gives 0 (still in the
    graph).

    Parameters
    ----------
    activation : {"tanh", "atan", "relu", "exp"}, default="tanh"
        The surrogate :math:`\sigma` (see :func:`psl_activation`); ``"exp"``
        is the plain softmax loss, for comparison.
    temperature : float, default=2.0
        :math:`\tau`, the score scale.  The official code requires
        :math:`\tau \ge 2` so that :math:`d \in [-1, 1]`, the range where the
        activations satisfy :math:`\mathbb{1}(d \ge 0) \le \sigma(d) \le e^d`;
        smaller values are accepted.
    robust_temperature : float, default=0.05
        :math:`\tau^*`, the temperature of the log-sum-exp (the DRO radius).

    Notes
    -----
    Adapted from recommendation (user :math:`u`, positive item :math:`i`,
    sampled negatives :math:`j`) to a labelled batch: every sample is a
    "user", its same-label samples the positives and the other-label
    samples the negatives.  Memory is :math:`O(P B)` for :math:`P`
    positive pairs (one term per (positive pair, negative)).  The defaults of :math:`\tau` and
    :math:`\tau^*` are ours (:math:`\tau \tau^* = 0.1`, a usual softmax
    temperature); the paper tunes both per dataset, and its second form
    (PSL2, one log-mean-exp over every (positive, negative) pair of an
    anchor) is not implemented.  Formula checked against the official code
    (``Tiny-Snow/IR-Benchmark``, ``optim_PSL.py``); the paper itself was not
    reachable.

    References
    ----------
    W. Yang, J. Chen, X. Xin, S. Zhou, B. Hu, Y. Feng, C. Chen and C. Wang.
    "PSL: Rethinking and Improving Softmax Loss from Pairwise Perspective for
    Recommendation". NeurIPS 2024 (arXiv number not checked).
    """

    def __init__(self, *, activation="tanh", temperature=2.0, robust_temperature=0.05):
        super().__init__()
        self.activation = activation
        self.temperature = temperature
        self.robust_temperature = robust_temperature

    def _check_params(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"`activation` of PairwiseSoftmaxLoss must be one of {list(ACTIVATIONS)}; "
                f"got {self.activation!r}."
            )
        for name in ("temperature", "robust_temperature"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(
                    f"`{name}` of PairwiseSoftmaxLoss must be a positive number; got {value!r}."
                )

    def compute_loss(self, embeddings, labels, indices_tuple):
        self._check_params()
        x = l2_normalize(embeddings)
        scores = (x @ x.T) / self.temperature
        same = labels[:, None] == labels[None, :]
        eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
        pos = same & ~eye
        neg = ~same
        pos = pos & neg.any(1, keepdim=True)  # anchors without a negative drop out
        if not pos.any():
            return zero_loss(embeddings)
        a, p = pos.nonzero(as_tuple=True)
        d = scores[a] - scores[a, p][:, None]  # (n_pos, B): f_an - f_ap
        terms = psl_activation(d, self.activation) / self.robust_temperature
        return masked_logsumexp(terms, neg[a]).mean()

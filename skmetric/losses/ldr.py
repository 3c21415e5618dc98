"""Label-distributionally robust loss LDR-KL and its adaptive form (Zhu, Ying & Yang, 2023)."""

import math

import torch

from ._per_sample import PerSampleProxyLoss, check_positive

__all__ = ["LDRLoss", "ldr_kl"]


def ldr_kl(logits, labels, margin, lam):
    r"""Per-sample LDR-KL loss with per-sample temperatures ``lam`` (``(batch,)``).

    :math:`\lambda \log \frac1K \sum_k \exp\big((o_k - o_y + c\,[k \ne
    y])/\lambda\big)`, the maximum over label distributions :math:`p` of
    :math:`\sum_k p_k (o_k - o_y + c\,[k\ne y]) - \lambda\,\mathrm{KL}(p \,\|\,
    \text{uniform})`.
    """
    true = logits.gather(1, labels.unsqueeze(1))
    diff = logits - true + margin
    diff = diff.scatter(1, labels.unsqueeze(1), 0.0)  # the true class: no margin
    lam = lam.unsqueeze(1)
    return lam.squeeze(1) * (torch.logsumexp(diff / lam, 1) - math.log(logits.shape[1]))


class LDRLoss(PerSampleProxyLoss):
    r"""LDR-KL: the worst case over label distributions near uniform, with an adaptive temperature.

    With logits :math:`o_k = s\cos(x, w_k)` against learnable class vectors
    and a margin :math:`c` on the wrong classes:

    .. math::
        L = \max_{p \in \Delta_K} \sum_k p_k\,(o_k - o_y + c\,[k \ne y])
            - \lambda\,\mathrm{KL}(p\,\|\,\tfrac1K)
          = \lambda \log \frac1K \sum_k e^{(o_k - o_y + c\,[k \ne y])/\lambda}

    As :math:`\lambda \to 0` it tends to the Crammer-Singer hinge
    :math:`\max_k (o_k - o_y + c[k\ne y])`; as :math:`\lambda \to \infty` to
    the mean of the margins (Weston-Watkins without the hinge).

    ``adaptive=True`` (ALDR-KL) gives each sample its own temperature, from
    how far its predicted distribution :math:`\pi = \operatorname{softmax}(o
    / \lambda_0)` is from uniform:

    .. math::
        \lambda_i = \lambda_0 \Big(1 - \frac{\mathrm{KL}(\pi\,\|\,\tfrac1K)}
                                          {\alpha \log K}\Big)

    treated as a constant, plus the (gradient-free) term
    :math:`-\frac{\alpha \log K}{2\lambda_0}(\lambda_i - \lambda_0)^2`:
    confident samples get a smaller :math:`\lambda_i`, i.e. a harder,
    more hinge-like loss.

    Parameters
    ----------
    margin : float, default=1.0
        The margin :math:`c`, in logit units (official default 1).
    temperature : float, default=1.0
        :math:`\lambda` (:math:`\lambda_0` when adaptive; official default 1).
    adaptive : bool, default=True
        Per-sample temperatures (ALDR-KL).
    alpha : float, default=2.0
        :math:`\alpha` of the adaptive rule; :math:`\lambda_i \ge \lambda_0(1
        - 1/\alpha)`.  Must exceed 1 (not verified: the default of the
        official code is 1, where :math:`\lambda_i` can reach 0).
    scale : float, default=10.0
        :math:`s`, the scale of the cosine logits.
    num_classes, embedding_size, reducer
        As in :class:`~skmetric.losses.BaseMarginSoftmaxLoss`.

    Notes
    -----
    Differences from the official code (the paper's text was not read): the
    official losses normalise raw logits (softplus, or division by their
    mean absolute value) before the margin; here the logits are scaled
    cosines, bounded by construction.  The official adaptive loss keeps each
    training sample's :math:`\lambda_i` from its previous visit (indexed by
    sample id) and computes :math:`\pi` with it; a loss here sees no sample
    ids, so :math:`\pi` uses :math:`\lambda_0`.  Its minimum is
    :math:`-\lambda \log K`, not 0.

    References
    ----------
    D. Zhu, Y. Ying and T. Yang. "Label Distributionally Robust Losses for
    Multi-class Classification: Consistency, Robustness and Adaptivity".
    ICML 2023. arXiv:2112.14869 (venue and number from memory, not checked
    here).  Code: the authors' ``LDRLoss_V1`` / ``ALDRLoss_V1``.
    """

    weight_name = "weight"

    def __init__(self, *, margin=1.0, temperature=1.0, adaptive=True, alpha=2.0,
                 scale=10.0, num_classes=None, embedding_size=None, reducer=None):
        super().__init__()
        self.margin = margin
        self.temperature = temperature
        self.adaptive = adaptive
        self.alpha = alpha
        self.scale = scale
        self.reducer = reducer
        self._set_sizes(num_classes, embedding_size)

    def logits(self, embeddings, labels):
        return self.class_cosines(embeddings, scale=self.scale)

    def temperatures(self, logits):
        """``(batch,)`` per-sample temperatures :math:`\\lambda_i` (constants)."""
        lam0 = float(self.temperature)
        n, k = logits.shape
        if not self.adaptive or k < 2:
            return logits.new_full((n,), lam0)
        log_pi = torch.log_softmax(logits.detach() / lam0, 1)
        kl = (log_pi.exp() * (log_pi + math.log(k))).sum(1).clamp_min(0)
        return lam0 * (1 - kl / (self.alpha * math.log(k)))

    def sample_losses(self, embeddings, labels):
        check_positive(self, "temperature", self.temperature)
        if self.adaptive and not self.alpha > 1:
            raise ValueError(
                f"`alpha` of LDRLoss must be greater than 1 when `adaptive=True` "
                f"(else a temperature can reach 0); got {self.alpha!r}."
            )
        logits = self.logits(embeddings, labels)
        lam = self.temperatures(logits)
        losses = ldr_kl(logits, labels, float(self.margin), lam)
        if self.adaptive and logits.shape[1] > 1:
            lam0 = float(self.temperature)
            spread = self.alpha * math.log(logits.shape[1]) / (2 * lam0)
            losses = losses - spread * (lam - lam0) ** 2
        return losses

"""Generalized cross-entropy and the comp-sum family (Zhang & Sabuncu, 2018; Mao et al., 2023)."""

import torch

from ._per_sample import PerSampleProxyLoss

__all__ = ["GeneralizedCrossEntropyLoss", "generalized_cross_entropy"]


def generalized_cross_entropy(logits, labels, q):
    r"""Per-sample :math:`L_q = (1 - p_y^q)/q` of the softmax of ``logits``.

    Computed as :math:`-\operatorname{expm1}(q \log p_y)/q`, which is exact
    near :math:`q = 0`; :math:`q = 0` gives :math:`-\log p_y`.
    """
    log_p = torch.log_softmax(logits, 1).gather(1, labels.unsqueeze(1)).squeeze(1)
    if q == 0:
        return -log_p
    return -torch.expm1(q * log_p) / q


class GeneralizedCrossEntropyLoss(PerSampleProxyLoss):
    r"""The comp-sum losses on cosine logits: CE, GCE and MAE as one family in ``q``.

    With :math:`p = \operatorname{softmax}(\cos(x, w_k)/T)` over learnable
    class vectors:

    .. math::
        L_q = \frac{1 - p_y^{\,q}}{q}

    - :math:`q \to 0`: the cross-entropy :math:`-\log p_y`;
    - :math:`0 < q < 1`: the generalized cross-entropy, bounded by
      :math:`1/q` and robust to noisy labels;
    - :math:`q = 1`: :math:`1 - p_y`, the mean absolute error
      :math:`\|e_y - p\|_1 = 2(1 - p_y)` halved;
    - :math:`q = -1`: :math:`1/p_y - 1 = \sum_{k \ne y} e^{o_k - o_y}`, the
      sum-exponential loss.

    Written with :math:`u = \sum_{k\ne y} e^{o_k - o_y}` (so :math:`p_y =
    1/(1+u)`), :math:`L_q` is the comp-sum loss :math:`\Phi^\tau(u)` of Mao,
    Mohri and Zhong with :math:`\tau = q + 1`.

    Parameters
    ----------
    q : float, default=0.7
        The exponent (0.7 is the GCE paper's choice).
    temperature : float, default=0.05
        Softmax temperature :math:`T` of the cosine logits.
    num_classes, embedding_size, reducer
        As in :class:`~skmetric.losses.BaseMarginSoftmaxLoss`.

    Notes
    -----
    The truncated variant (:math:`L_q` capped where :math:`p_y < k`, which
    needs per-sample state across epochs) is not included.

    References
    ----------
    Z. Zhang and M. R. Sabuncu. "Generalized Cross Entropy Loss for Training
    Deep Neural Networks with Noisy Labels". NeurIPS 2018. arXiv:1805.07836.

    A. Mao, M. Mohri and Y. Zhong. "Cross-Entropy Loss Functions: Theoretical
    Analysis and Applications". ICML 2023. arXiv:2304.07288.
    """

    weight_name = "weight"

    def __init__(self, *, q=0.7, temperature=0.05, num_classes=None, embedding_size=None,
                 reducer=None):
        super().__init__()
        self.q = q
        self.temperature = temperature
        self.reducer = reducer
        self._set_sizes(num_classes, embedding_size)

    def sample_losses(self, embeddings, labels):
        return generalized_cross_entropy(self.logits(embeddings, labels), labels, float(self.q))

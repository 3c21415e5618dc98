"""Circle loss in its class-level form, with learnable class proxies (Sun et al., 2020)."""

import torch

from .margin_softmax import BaseMarginSoftmaxLoss

__all__ = ["CircleProxyLoss"]


class CircleProxyLoss(BaseMarginSoftmaxLoss):
    r"""Circle loss with class-level labels: one positive and :math:`C-1` negatives per sample.

    With :math:`s_p = \cos(x, w_y)` (the sample's own class vector) and
    :math:`s_n = \cos(x, w_n)` for the other classes:

    .. math::
        L = \log\Big(1 + \sum_{n \ne y}
              e^{\gamma \alpha_n (s_n - \Delta_n)}\,
              e^{-\gamma \alpha_p (s_p - \Delta_p)}\Big)

    with :math:`\alpha_p = [1 + m - s_p]_+` and :math:`\alpha_n = [s_n +
    m]_+` treated as constants, :math:`\Delta_p = 1 - m` and :math:`\Delta_n
    = m`: the rules of the pair form (:class:`~skmetric.losses.CircleLoss`).
    It is the cross-entropy of the logits :math:`\gamma\alpha_n(s_n -
    \Delta_n)` with the true class's replaced by :math:`\gamma\alpha_p(s_p -
    \Delta_p)`, and is computed that way (stable at ``gamma=256``).

    Parameters
    ----------
    m : float, default=0.25
        Relaxation margin (the paper's setting for class-level labels).
    gamma : float, default=256
        Scale (the paper's face-recognition setting).
    num_classes, embedding_size, reducer
        As in :class:`~skmetric.losses.BaseMarginSoftmaxLoss`.

    Notes
    -----
    The paper defines the class-level form as the pair formula with the
    class weights as the similarity partners; no official class-level code
    was read, so the learnable proxies' initialisation (N(0, 1), as the
    other margin-softmax losses here) is ours.

    References
    ----------
    Y. Sun, C. Cheng, Y. Zhang, C. Zhang, L. Zheng, Z. Wang and Y. Wei.
    "Circle Loss: A Unified Perspective of Pair Similarity Optimization".
    CVPR 2020. arXiv:2002.10857.
    """

    def __init__(self, *, m=0.25, gamma=256.0, num_classes=None, embedding_size=None,
                 reducer=None):
        super().__init__()
        self.m = m
        self.gamma = gamma
        self.reducer = reducer
        self._set_sizes(num_classes, embedding_size)

    def logits(self, embeddings, labels):
        s = self.class_cosines(embeddings)
        sd = s.detach()
        neg = self.gamma * torch.relu(sd + self.m) * (s - self.m)
        pos = self.gamma * torch.relu(1 + self.m - sd) * (s - (1 - self.m))
        target = torch.nn.functional.one_hot(labels, s.shape[1]).bool()
        return torch.where(target, pos, neg)

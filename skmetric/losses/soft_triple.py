"""SoftTriple loss (Qian et al., 2019)."""

import math

import torch
from torch import nn

from ..distances._normalize import cosine_matrix, l2_normalize
from .margin_softmax import BaseMarginSoftmaxLoss, FusedHead

__all__ = ["SoftTripleLoss"]


class _RelaxedSimilarity(torch.autograd.Function):
    # S_ic = scale * sum_k softmax_k(s_ikc / gamma) s_ikc over the centres
    # axis k of a (B, K, C) block (centre-major, so every reduction runs over
    # whole (B, C) slices); dS/ds_ikc = scale * p_ikc (1 + (s_ikc - S_ic/scale)
    # / gamma), kept from the forward pass so backward is one product.
    @staticmethod
    def forward(ctx, sim, gamma, scale):
        e = sim * (1.0 / gamma)
        e.sub_(e.amax(1, keepdim=True)).exp_()
        total = e.sum(1, keepdim=True)
        relaxed = (e * sim).sum(1, keepdim=True).div_(total)
        # p (1 + (s - S) / gamma) = e (s - (S - gamma)) / (gamma total)
        slope = torch.sub(sim, relaxed - gamma).mul_(e).mul_(total.mul_(gamma).reciprocal_())
        ctx.save_for_backward(slope)
        ctx.scale = scale
        return relaxed.squeeze(1) * scale  # a new tensor, not a view (edited in place)

    @staticmethod
    def backward(ctx, grad):
        (slope,) = ctx.saved_tensors
        return slope * (grad * ctx.scale).unsqueeze(1), None, None


class SoftTripleLoss(BaseMarginSoftmaxLoss):
    r"""Softmax over relaxed similarities to ``centers_per_class`` centres per class.

    With :math:`s_{ick} = \hat x_i \cdot \hat w_c^k`, the relaxed similarity
    :math:`S_{ic} = \sum_k \operatorname{softmax}_k(s_{ick}/\gamma)\,s_{ick}`
    and

    .. math::
        L = \frac1B\sum_i -\log\frac{e^{\lambda(S_{iy} - \delta)}}
            {e^{\lambda(S_{iy} - \delta)} + \sum_{j \ne y} e^{\lambda S_{ij}}}
            + \tau R,\qquad
        R = \frac{\sum_c \sum_{t < t'} \sqrt{2 + 10^{-5} - 2\hat w_c^t\cdot\hat w_c^{t'}}}
                 {C K (K - 1)}

    :math:`R` (the official code's centre regulariser, absent from
    pytorch-metric-learning) is added when ``K > 1``; ``tau=0`` gives
    pytorch-metric-learning's loss.

    Parameters
    ----------
    centers_per_class : int, default=10
        ``K``.
    la : float, default=20
        Scale :math:`\lambda`.
    gamma : float, default=0.1
        Softmax temperature :math:`\gamma` over a class's centres.
    margin : float, default=0.01
        Margin :math:`\delta`.
    tau : float, default=0.2
        Weight of the centre regulariser.
    num_classes, embedding_size, reducer
        As in :class:`~skmetric.losses.BaseMarginSoftmaxLoss`.

    Attributes
    ----------
    fc : torch.nn.Parameter of shape (embedding_size, num_classes * centers_per_class)
        Column ``c * K + k`` is centre ``k`` of class ``c``; Kaiming-uniform
        (``a = sqrt(5)``) initialised, as in pytorch-metric-learning.

    References
    ----------
    Q. Qian, L. Shang, B. Sun, J. Hu, H. Li and R. Jin. "SoftTriple Loss:
    Deep Metric Learning Without Triplet Sampling". ICCV 2019.
    arXiv:1909.05235.
    """

    weight_name = "fc"

    def __init__(self, *, centers_per_class=10, la=20.0, gamma=0.1, margin=0.01, tau=0.2,
                 num_classes=None, embedding_size=None, reducer=None):
        super().__init__()
        self.centers_per_class = centers_per_class
        self.la = la
        self.gamma = gamma
        self.margin = margin
        self.tau = tau
        self.reducer = reducer
        self._set_sizes(num_classes, embedding_size)

    @property
    def vectors_per_class(self):
        return self.centers_per_class

    def init_weight(self, n_vectors, embedding_size):
        self.fc = nn.Parameter(torch.empty(embedding_size, n_vectors))
        nn.init.kaiming_uniform_(self.fc, a=math.sqrt(5))

    def logits(self, embeddings, labels):
        C, K = self.num_classes, self.centers_per_class
        sim = self.class_cosines(embeddings).view(len(labels), C, K)
        prob = torch.softmax(sim * (1.0 / self.gamma), dim=2)
        relaxed = (prob * sim).sum(2)
        return self.la * self.with_target(relaxed, labels, lambda t: t - self.margin)

    def fused_head(self, embeddings, labels):
        # the relaxed similarity's exponentials are taken without a shift:
        # |cos / gamma| must stay where exp neither overflows nor underflows
        limit = {torch.float32: 80.0, torch.float64: 700.0}.get(embeddings.dtype)
        if limit is None or not abs(1.0 / self.gamma) <= limit:
            return None
        K = self.centers_per_class
        return self.class_columns(embeddings.dtype), FusedHead(
            1.0 / self.gamma, pool="soft", k=K, logit_scale=self.la,
            target_shift=self.la * self.margin, bound=self.la * (1 + abs(self.margin)),
        )

    def margin_parts(self, embeddings, labels):
        C, K = self.num_classes, self.centers_per_class
        # centres reordered centre-major: row k * C + c is centre k of class c
        centers = self.class_vectors(embeddings.dtype).view(C, K, -1).transpose(0, 1)
        sim = cosine_matrix(embeddings, centers.reshape(K * C, -1)).view(len(labels), K, C)
        relaxed = _RelaxedSimilarity.apply(sim, self.gamma, self.la)
        shift = self.la * self.margin
        return relaxed, None, lambda t: (t - shift, None)

    def compute_loss(self, embeddings, labels, indices_tuple):
        loss = super().compute_loss(embeddings, labels, indices_tuple)
        C, K = self.num_classes, self.centers_per_class
        if self.tau and K > 1:
            centers = l2_normalize(self.class_vectors(embeddings.dtype)).view(C, K, -1)
            gram = centers @ centers.transpose(1, 2)
            # pairs i < j in row-major order (as a boolean triu mask), by
            # index: a mask would list them with nonzero, a host sync
            i, j = torch.triu_indices(K, K, 1, device=gram.device)
            reg = torch.sqrt(2.0 + 1e-5 - 2.0 * gram[:, i, j]).sum() / (C * K * (K - 1))
            loss = loss + self.tau * reg
        return loss

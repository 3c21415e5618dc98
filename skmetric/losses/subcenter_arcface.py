"""Sub-center ArcFace (Deng et al., 2020)."""

import math

import torch

from ..distances._normalize import cosine_matrix
from .arcface import ArcFaceLoss, _arc_bound, _arc_target
from .margin_softmax import _LOG2E, FusedHead

__all__ = ["SubCenterArcFaceLoss"]


class _MaxOverCenters(torch.autograd.Function):
    # max over axis 1 of a (B, K, C) block by amax (torch.max with indices
    # over a middle axis is over ten times slower); the gradient goes to the
    # first maximal sub-centre, as with torch.max
    @staticmethod
    def forward(ctx, cos):
        ctx.save_for_backward(cos)  # not the output, which callers edit in place
        return cos.amax(1)

    @staticmethod
    def backward(ctx, grad):
        (cos,) = ctx.saved_tensors
        hit = cos == cos.amax(1, keepdim=True)
        # exact ties: keep the first (no data-dependent branch, so no host
        # sync on a GPU)
        taken = hit[:, 0].clone()
        for k in range(1, cos.shape[1]):
            hit[:, k].logical_and_(taken.logical_not())
            taken.logical_or_(hit[:, k])
        return hit * grad.unsqueeze(1)


class SubCenterArcFaceLoss(ArcFaceLoss):
    r"""ArcFace with ``sub_centers`` weight vectors per class.

    The cosine to class :math:`j` is the largest cosine to its sub-centres,
    :math:`\cos\theta_j = \max_k \hat w_{jk}\cdot\hat x`; then the ArcFace
    margin applies (see :class:`~skmetric.losses.ArcFaceLoss`).  Noisy
    samples can settle on a non-dominant sub-centre instead of pulling the
    class's main one.

    Parameters
    ----------
    margin : float, default=28.6
        Angular margin in **degrees** (pytorch-metric-learning's unit).
    scale : float, default=64
    sub_centers : int, default=3
        Sub-centres per class ``K``.
    num_classes, embedding_size, reducer
        As in :class:`~skmetric.losses.BaseMarginSoftmaxLoss`.

    Attributes
    ----------
    W : torch.nn.Parameter of shape (embedding_size, num_classes * sub_centers)
        Column ``j * K + k`` is sub-centre ``k`` of class ``j``; N(0, 1)
        initialised, as in pytorch-metric-learning.

    Notes
    -----
    pytorch-metric-learning's ``get_outliers`` (dropping samples far from
    their class's dominant sub-centre) is not offered.

    References
    ----------
    J. Deng, J. Guo, T. Liu, M. Gong and S. Zafeiriou. "Sub-center ArcFace:
    Boosting Face Recognition by Large-Scale Noisy Web Faces". ECCV 2020.
    """

    # the logits are an amax output, which its backward reads
    target_inplace = False

    def __init__(self, *, margin=28.6, scale=64.0, sub_centers=3, num_classes=None,
                 embedding_size=None, reducer=None):
        super(ArcFaceLoss, self).__init__()
        self.margin = margin
        self.scale = scale
        self.sub_centers = sub_centers
        self.reducer = reducer
        self._set_sizes(num_classes, embedding_size)

    @property
    def vectors_per_class(self):
        return self.sub_centers

    def class_cosines(self, embeddings, scale=1.0):
        cos = super().class_cosines(embeddings, scale=scale)
        return cos.view(len(embeddings), self.num_classes, self.sub_centers).amax(2)

    def fused_head(self, embeddings, labels):
        margin, scale = math.radians(self.margin), self.scale
        return self.class_columns(embeddings.dtype), FusedHead(
            scale, pool="max", k=self.sub_centers,
            # the node passes base-2 logits (scale / ln 2)
            target_fn=lambda t: _arc_target(t, margin, scale * _LOG2E),
            bound=_arc_bound(margin, scale),
        )

    def margin_parts(self, embeddings, labels):
        C, K = self.num_classes, self.sub_centers
        # sub-centres reordered centre-major (row k * C + c), so the max over
        # them runs over whole (batch, C) slices; its backward is a scatter
        centers = self.class_vectors(embeddings.dtype).view(C, K, -1).transpose(0, 1)
        cos = cosine_matrix(embeddings, centers.reshape(K * C, -1), scale=self.scale)
        best = _MaxOverCenters.apply(cos.view(len(labels), K, C))
        margin = math.radians(self.margin)
        return best, None, lambda t: _arc_target(t, margin, self.scale)

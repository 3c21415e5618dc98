"""Unified Negative Pair Generation (Jung et al., 2022)."""

import math

import torch

from ..distances._normalize import l2_normalize
from ._per_sample import PerSampleProxyLoss, check_positive

__all__ = ["UNPGLoss", "whisker_filter"]

_BASES = ("arcface", "cosface")
_DEFAULT_MARGIN = {"arcface": 28.6, "cosface": 0.35}


def _fences(values, n, whisker):
    # values: 1-D and detached, n = its length
    q1 = torch.kthvalue(values, n // 4 + 1).values
    q3 = torch.kthvalue(values, (3 * n) // 4 + 1).values
    iqr = q3 - q1
    return q1 - whisker * iqr, q3 + whisker * iqr


def whisker_filter(values, whisker=1.5):
    r"""The entries of 1-D ``values`` inside the box-and-whisker fences.

    With :math:`S` sorted (length :math:`L`), :math:`Q_1 =
    S_{\lfloor 0.25 L\rfloor}` and :math:`Q_3 = S_{\lfloor 0.75 L\rfloor}`
    (0-based), an entry is kept when :math:`Q_1 - w\,\mathrm{IQR} \le s \le
    Q_3 + w\,\mathrm{IQR}`.  The fences are constants (no gradient).
    """
    if values.numel() == 0:
        return values
    v = values.detach()
    lo, hi = _fences(v, v.numel(), whisker)
    return values[(v >= lo) & (v <= hi)]


# exp() of arguments below about -87 runs on a slow path (float32
# subnormals, underflow); terms 80 nats below the largest are floored there,
# which changes the sum by less than one part in 1e30 at batch 10^4.
_FLOOR = 80.0


def _arc_target(cos, margin):
    # cos(theta + m) = cos cos m - sin sin m; for theta > pi - m,
    # cos - m sin m (decreasing in theta), as in ArcFaceLoss
    sin = (1 - cos * cos).clamp_min(torch.finfo(cos.dtype).eps).sqrt()
    value = cos * math.cos(margin) - sin * math.sin(margin)
    return torch.where(cos < -math.cos(margin), cos - margin * math.sin(margin), value)


class UNPGLoss(PerSampleProxyLoss):
    r"""A margin softmax whose denominators also hold the batch's negative pairs.

    With :math:`\cos\theta_{ij}` the cosine of sample :math:`i` to class
    vector :math:`j`, the target logit gets the ArcFace
    (:math:`\cos(\theta_y + m)`) or CosFace (:math:`\cos\theta_y - m`)
    margin.  The in-batch negatives :math:`S_n = \{\hat x_i \cdot \hat x_j :
    i < j,\ y_i \ne y_j\}` are filtered with a box-and-whisker rule (see
    :func:`whisker_filter`) into :math:`S_n'`, and the **same** filtered
    cosines are appended to every row of logits:

    .. math::
        L_i = -\log\frac{e^{s\,\psi(\theta_{i y_i})}}
              {\sum_j e^{s\,\psi_j(\theta_{ij})} + \sum_{c \in S_n'} e^{s c}}

    The extra columns are never targets; they only enlarge each denominator.
    They enter once per batch, as :math:`\operatorname{LSE}_{c \in S_n'}(s
    c)`, so the memory stays :math:`O(B^2)`.  With no negative pair (a
    one-class batch) :math:`S_n'` is empty and the loss is the base margin
    loss (:class:`~skmetric.losses.ArcFaceLoss` or
    :class:`~skmetric.losses.CosFaceLoss` with the same class vectors).

    Parameters
    ----------
    base : {"arcface", "cosface"}, default="arcface"
        The margin on the true class.
    margin : float, default=None
        The margin: degrees for ArcFace (as in
        :class:`~skmetric.losses.ArcFaceLoss`), a cosine for CosFace.
        ``None`` means 28.6° (0.5 rad, the official setting) or 0.35.
    scale : float, default=64
        Logit scale :math:`s` (official).
    whisker : float, default=1.5
        Whisker length :math:`w` of the negative filter, in IQRs.
    num_classes, embedding_size, reducer
        As in :class:`~skmetric.losses.BaseMarginSoftmaxLoss`.

    Notes
    -----
    Read from the official code (``models/build.py``, ``models/head.py``,
    ``data/head.zoo.yaml``): the filter on the sorted upper-triangle
    negatives (gradients kept), :math:`w = 1.5` for ``unpg``, :math:`s =
    64`, ArcFace :math:`m = 0.5` rad, the same filtered cosines appended to
    every row.  Differences: the official ArcFace head has no
    :math:`\theta > \pi - m` fallback (taken here from ArcFaceLoss), and its
    CosFace setting is :math:`m = 0.5` where the default here is the CosFace
    paper's 0.35.

    References
    ----------
    J. Jung et al. "Unified Negative Pair Generation toward
    Well-discriminative Feature Space for Face Recognition". 2022.
    arXiv:2203.11593.  Code:
    https://github.com/Jung-Jun-Uk/UNPG
    """

    def __init__(self, *, base="arcface", margin=None, scale=64.0, whisker=1.5,
                 num_classes=None, embedding_size=None, reducer=None):
        super().__init__()
        self.base = base
        self.margin = margin
        self.scale = scale
        self.whisker = whisker
        self.reducer = reducer
        self._set_sizes(num_classes, embedding_size)

    def logits(self, embeddings, labels):
        """``(batch, num_classes)`` scaled cosines with the margin on the true class."""
        if self.base not in _BASES:
            raise ValueError(
                f"`base` of UNPGLoss must be one of {list(_BASES)}; got {self.base!r}."
            )
        margin = _DEFAULT_MARGIN[self.base] if self.margin is None else self.margin
        if self.base == "arcface":
            def target(t):
                return _arc_target(t, math.radians(margin))
        else:
            def target(t):
                return t - margin
        cos = self.class_cosines(embeddings)
        rows = torch.arange(len(labels), device=labels.device)
        cos = cos.index_put((rows, labels), target(cos[rows, labels]))
        return self.scale * cos

    def negative_logsumexp(self, embeddings, labels):
        r""":math:`\operatorname{LSE}_{c \in S_n'}(s\,c)`, or ``None`` without negative pairs.

        The fences come from the list of negative cosines; the log-sum-exp
        runs on the masked ``(B, B)`` matrix (each pair once).
        """
        if not self.whisker >= 0:
            raise ValueError(
                f"`whisker` of UNPGLoss must be a non-negative number; got {self.whisker!r}."
            )
        x = l2_normalize(embeddings)
        cos = x @ x.T
        neg = torch.ones_like(cos, dtype=torch.bool).triu_(1)
        neg &= labels.unsqueeze(0) != labels.unsqueeze(1)
        c = cos.detach()
        values = c[neg]  # selection is linear in their number: select them once
        if values.numel() == 0:
            return None
        lo, hi = _fences(values, values.numel(), self.whisker)
        keep = neg & (c >= lo) & (c <= hi)
        z = (self.scale * cos).masked_fill(~keep, torch.finfo(cos.dtype).min)
        m = z.detach().max()
        total = (torch.exp((z - m).clamp_min(-_FLOOR)) * keep).sum()
        return torch.log(total) + m

    def sample_losses(self, embeddings, labels):
        check_positive(self, "scale", self.scale)
        logits = self.logits(embeddings, labels)
        lse = torch.logsumexp(logits, 1)
        extra = self.negative_logsumexp(embeddings, labels)
        if extra is not None:
            lse = torch.logaddexp(lse, extra)
        return lse - logits.gather(1, labels.unsqueeze(1)).squeeze(1)

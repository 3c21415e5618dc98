"""ProcSim: proxy-based per-sample confidence (Barbany et al., 2023)."""

import math

import torch
from torch import nn

from ..distances._normalize import l2_normalize
from ._wrapping import PartsAttribute, build_part
from .base import BaseMetricLoss
from .reducers import BaseReducer

__all__ = ["ProcSimLoss", "procsim_confidence"]


def procsim_confidence(embeddings, labels, representatives, temperature=0.1):
    r"""Confidence of each sample's label from its distance to the class representatives.

    With :math:`d_{ic} = 1 - \cos(x_i, r_c)`, the normalised distance to
    the own class's representative is
    :math:`\rho_i = d_{i y_i} / \min_{c \ne y_i} d_{ic}` (below 1: closer to
    its own class than to any other), and the confidence is
    :math:`c_i = \operatorname{sigmoid}((1 - \rho_i) / T)`, in (0, 1).  With
    a single representative :math:`\rho_i = d_{i y_i} / 1`.  No gradient
    flows through it.
    """
    with torch.no_grad():
        reps = l2_normalize(representatives.to(embeddings.dtype))
        d = 1 - l2_normalize(embeddings) @ reps.T
        own = d.gather(1, labels[:, None]).squeeze(1)
        if reps.shape[0] > 1:
            other = d.scatter(1, labels[:, None], float("inf")).amin(1)
        else:
            other = torch.ones_like(own)
        ratio = own / other.clamp_min(torch.finfo(d.dtype).eps)
        return torch.sigmoid((1 - ratio) / temperature)


class _ConfidenceWeightedMean(BaseReducer):
    # sum_t c[anchor_t] l_t / sum_t c[anchor_t]; the confidences are set by
    # ProcSimLoss for the duration of one call only
    confidence = None

    def reduce(self, losses, anchors):
        if losses.numel() == 0:
            return losses.sum()
        c = self.confidence
        w = c if anchors is None else c[anchors]
        return (w * losses).sum() / w.sum().clamp_min(torch.finfo(losses.dtype).tiny)


class ProcSimLoss(BaseMetricLoss):
    r"""Weight a loss's per-sample terms by a proxy-based label confidence.

    Each sample gets the confidence :math:`c_i` of :func:`procsim_confidence`
    (from its cosine distance to its class's representative, normalised by
    the distance to the nearest other class's); the wrapped loss's terms are
    averaged with weights :math:`c_{a(t)}` (:math:`a(t)` the term's anchor):
    :math:`L = \sum_t c_{a(t)} \ell_t / \sum_t c_{a(t)}`.  Samples that sit
    nearer another class's representative than their own, likely wrong
    labels, count less.

    The representatives are the wrapped loss's class vectors when it has
    them (the ``class_vectors`` method of the margin-softmax losses; with
    several vectors per class, the first of each), else the batch's class
    means (detached).

    Parameters
    ----------
    loss : str or loss object, default="normalized_softmax"
        A loss with a ``reducer`` parameter (its terms go through it).  A
        name is built with :func:`~skmetric.losses.get_loss`; an object is
        copied (never modified).
    temperature : float, default=0.1
        :math:`T` of the confidence's sigmoid; smaller is closer to a hard
        0/1 filter.
    num_classes, embedding_size : int, default=None
        Passed to the wrapped loss when it needs them (filled in by
        estimators).

    Attributes
    ----------
    parts : torch.nn.ModuleList
        The built wrapped loss (its reducer replaced by the weighted mean).

    Notes
    -----
    Not verified against the paper or code (neither was reachable): the
    paper's abstract says the confidence comes from "the normalized distance
    to its class representative"; the normalisation by the nearest other
    class, the sigmoid and the weighted mean are this implementation's
    choices.  A miner's ``indices_tuple`` is passed to the wrapped loss.

    References
    ----------
    O. Barbany, X. Lin, M. Bastan and A. Dhua. "ProcSim: Proxy-based
    Confidence for Robust Similarity Learning". arXiv:2311.00668, 2023.
    """

    requires_num_classes = PartsAttribute("requires_num_classes", True, any, False)
    min_samples_per_class = PartsAttribute("min_samples_per_class", 1, max, 1)
    prefers_normalized = PartsAttribute("prefers_normalized", True, all, True)

    def __init__(self, *, loss="normalized_softmax", temperature=0.1, num_classes=None,
                 embedding_size=None):
        super().__init__()
        self.loss = loss
        self.temperature = temperature
        self.num_classes = num_classes
        self.embedding_size = embedding_size
        self._build()

    def _build(self):
        part = build_part(self.loss, self.num_classes, self.embedding_size)
        if "reducer" not in getattr(part, "_get_param_names", lambda: [])():
            raise ValueError(
                "`loss` of ProcSimLoss must have a `reducer` parameter (its per-sample "
                f"terms are reweighted); got {type(part).__name__}."
            )
        part.reducer = _ConfidenceWeightedMean()
        self.parts = nn.ModuleList([part])

    def set_params(self, **params):
        super().set_params(**params)
        if {"loss", "num_classes", "embedding_size"} & {k.split("__")[0] for k in params}:
            self._build()
        return self

    def _representatives(self, part, embeddings, labels):
        if hasattr(part, "class_vectors") and getattr(part, "num_classes", None):
            w = part.class_vectors(embeddings.dtype)
            k = w.shape[0] // part.num_classes
            return w[::k] if k > 1 else w, labels
        classes, local = torch.unique(labels, return_inverse=True)
        onehot = nn.functional.one_hot(local, len(classes)).to(embeddings.dtype)
        means = (onehot.T @ l2_normalize(embeddings.detach())) / onehot.sum(0)[:, None]
        return means, local

    def compute_loss(self, embeddings, labels, indices_tuple):
        t = self.temperature
        if not (isinstance(t, (int, float)) and math.isfinite(t) and t > 0):
            raise ValueError(f"`temperature` of ProcSimLoss must be > 0; got {t!r}.")
        part = self.parts[0]
        if hasattr(part, "_check_sizes"):
            part._check_sizes(embeddings, labels)
        reps, idx = self._representatives(part, embeddings, labels)
        reducer = part.reducer
        reducer.confidence = procsim_confidence(embeddings, idx, reps, t)
        try:
            return part(embeddings, labels, indices_tuple)
        finally:
            reducer.confidence = None

"""A weighted sum of losses."""

from torch import nn

from ._wrapping import PartsAttribute, build_part
from .base import BaseMetricLoss

__all__ = ["CombinedLoss"]


def _check_losses(losses):
    try:
        entries = [(loss, float(weight)) for loss, weight in losses]
    except (TypeError, ValueError):
        raise ValueError(
            "`losses` of CombinedLoss must be a sequence of (loss, weight) pairs, a loss "
            f"being a registry name or a loss object; got {losses!r}."
        ) from None
    if not entries:
        raise ValueError("`losses` of CombinedLoss must hold at least one (loss, weight) pair.")
    return entries


class CombinedLoss(BaseMetricLoss):
    r""":math:`L = \sum_k w_k L_k`, e.g. a base loss plus a regulariser.

    Parameters
    ----------
    losses : sequence of (str or loss, float), default=(("multi_similarity", 1.0), ("tcm", 0.1))
        The parts and their weights.  A name is built with
        :func:`~skmetric.losses.get_loss`; an object is deep-copied, or
        rebuilt from its parameters when it needs ``num_classes`` and
        ``embedding_size`` and they are known (the given object is never
        modified).
    num_classes : int, default=None
        Passed to the parts that need it (filled in by estimators).
    embedding_size : int, default=None
        Passed to the parts that need it (filled in by estimators).

    Attributes
    ----------
    parts : torch.nn.ModuleList
        The built losses; their learnable parameters (proxies, betas) are
        parameters of this module, so they train.

    Notes
    -----
    ``requires_num_classes`` is ``True`` on the class (estimators then pass
    the sizes) and, on an instance, true when a part needs them;
    ``min_samples_per_class`` is the largest of the parts'.  A miner's
    ``indices_tuple`` is passed to every part.  ``MetricLearner(loss=[("multi_similarity", 1.0),
    ("tcm", 0.1)])`` builds one; nested parameters (``loss__...``) then
    apply to a ``CombinedLoss`` object only, not to the list.
    """

    requires_num_classes = PartsAttribute("requires_num_classes", True, any, False)
    min_samples_per_class = PartsAttribute("min_samples_per_class", 2, max, 1)
    prefers_normalized = PartsAttribute("prefers_normalized", True, all, True)

    def __init__(self, *, losses=(("multi_similarity", 1.0), ("tcm", 0.1)), num_classes=None,
                 embedding_size=None):
        super().__init__()
        self.losses = losses
        self.num_classes = num_classes
        self.embedding_size = embedding_size
        self._build()

    def _build(self):
        entries = _check_losses(self.losses)
        self.parts = nn.ModuleList(
            [build_part(loss, self.num_classes, self.embedding_size) for loss, _ in entries]
        )
        self.weights = [w for _, w in entries]

    def set_params(self, **params):
        super().set_params(**params)
        if {"losses", "num_classes", "embedding_size"} & set(params):
            self._build()
        return self

    def compute_loss(self, embeddings, labels, indices_tuple):
        total = 0
        for weight, part in zip(self.weights, self.parts):
            total = total + weight * part(embeddings, labels, indices_tuple)
        return total

"""Metric losses (pure torch).

Each loss is a ``torch.nn.Module`` called as ``loss(embeddings, labels)`` and
returning a scalar.  Build one by object (``MultiSimilarityLoss(alpha=2)``)
or by its registry name with :func:`get_loss`.  Adding a loss is one new
file plus one line in ``LOSSES``.
"""

from .arcface import ArcFaceLoss
from .base import BaseMetricLoss, BaseProxyLoss
from .circle import CircleLoss
from .contrastive import ContrastiveLoss
from .multi_similarity import MultiSimilarityLoss
from .normalized_softmax import NormalizedSoftmaxLoss
from .prototypical import PrototypicalLoss
from .proxy_anchor import ProxyAnchorLoss
from .triplet_margin import TripletMarginLoss

# registry: snake_case name -> class
LOSSES = {
    "normalized_softmax": NormalizedSoftmaxLoss,
    "contrastive": ContrastiveLoss,
    "triplet_margin": TripletMarginLoss,
    "multi_similarity": MultiSimilarityLoss,
    "circle": CircleLoss,
    "proxy_anchor": ProxyAnchorLoss,
    "arcface": ArcFaceLoss,
    "prototypical": PrototypicalLoss,
}

__all__ = [
    "BaseMetricLoss",
    "BaseProxyLoss",
    "ArcFaceLoss",
    "CircleLoss",
    "ContrastiveLoss",
    "MultiSimilarityLoss",
    "NormalizedSoftmaxLoss",
    "ProxyAnchorLoss",
    "TripletMarginLoss",
    "LOSSES",
    "get_loss",
]


def get_loss(name, **params):
    """Build a loss from its registry name.

    Parameters
    ----------
    name : str
        A key of :data:`LOSSES` (``"multi_similarity"``, ``"circle"``...).
    **params
        Keyword arguments of the loss class.

    Raises
    ------
    ValueError
        If ``name`` is unknown; the message lists the valid names.
    """
    try:
        cls = LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown loss {name!r}. Valid names are: {sorted(LOSSES)}."
        ) from None
    return cls(**params)

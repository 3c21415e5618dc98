"""Reducers: how a loss turns its per-element terms into one scalar (pure torch).

A loss computes one term per element it scores (a sample, a pair, a
triplet) and hands the terms to its reducer, with the anchor (batch index)
of each term.  Choose one by name (``reducer="sum"``) or by object
(``reducer=PerAnchorReducer(aggregation="sum")``); ``reducer=None`` keeps
the loss's own reduction (the one of pytorch-metric-learning, named in each
loss's docstring), computed by its fastest path.

An empty set of terms reduces to a zero that is still connected to the
graph.  Reducers hold no tensors.
"""

import torch

from .._blocks import build_by_name
from .._params import ParamsMixin

__all__ = [
    "AvgNonZeroReducer",
    "BaseReducer",
    "MeanReducer",
    "PerAnchorReducer",
    "REDUCERS",
    "SumReducer",
    "avg_nonzero",
    "get_reducer",
]


def avg_nonzero(losses):
    """Mean of the strictly positive entries (0, still in the graph, if none).

    No host synchronisation: the count is a tensor.
    """
    keep = losses > 0
    total = torch.where(keep, losses, torch.zeros((), dtype=losses.dtype, device=losses.device)).sum()
    return total / keep.sum().clamp_min(1).to(losses.dtype)


class BaseReducer(ParamsMixin):
    """Template: ``reducer(losses, anchors=None)`` returns a scalar tensor.

    ``losses`` is a 1-D tensor of terms; ``anchors`` (same length, long)
    says which batch sample each term belongs to (``None``: term ``i``
    belongs to sample ``i``).  Subclasses write :meth:`reduce`.
    """

    def __call__(self, losses, anchors=None):
        losses = losses.reshape(-1)
        if anchors is not None and anchors.shape != losses.shape:
            raise ValueError(
                f"{type(self).__name__} needs one anchor per term; got {losses.numel()} "
                f"terms and {anchors.numel()} anchors."
            )
        return self.reduce(losses, anchors)

    def reduce(self, losses, anchors):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({self._repr_params()})"

    def __eq__(self, other):
        return type(self) is type(other) and self.get_params() == other.get_params()

    def __hash__(self):
        return hash(type(self))


class MeanReducer(BaseReducer):
    """The mean of all terms (0 when there is none)."""

    def reduce(self, losses, anchors):
        return losses.mean() if losses.numel() else losses.sum()


class SumReducer(BaseReducer):
    """The sum of all terms."""

    def reduce(self, losses, anchors):
        return losses.sum()


class AvgNonZeroReducer(BaseReducer):
    """The mean of the strictly positive terms (0 when there is none).

    Terms a hinge already satisfies do not dilute the mean.
    """

    def reduce(self, losses, anchors):
        return avg_nonzero(losses)


class PerAnchorReducer(BaseReducer):
    """Aggregate each anchor's terms, then average over the anchors that have terms.

    Every anchor weighs the same, however many pairs or triplets it has.

    Parameters
    ----------
    aggregation : {"mean", "sum"}, default="mean"
        How an anchor's own terms are combined.
    """

    _AGGREGATIONS = ("mean", "sum")

    def __init__(self, *, aggregation="mean"):
        self.aggregation = aggregation

    def reduce(self, losses, anchors):
        if self.aggregation not in self._AGGREGATIONS:
            raise ValueError(
                f"`aggregation` of PerAnchorReducer must be one of "
                f"{list(self._AGGREGATIONS)}; got {self.aggregation!r}."
            )
        if anchors is None or losses.numel() == 0:
            return MeanReducer.reduce(self, losses, anchors)
        size = int(anchors.max()) + 1
        sums = losses.new_zeros(size).index_add(0, anchors, losses)
        counts = torch.bincount(anchors, minlength=size).to(losses.dtype)
        has = counts > 0
        per_anchor = sums[has]
        if self.aggregation == "mean":
            per_anchor = per_anchor / counts[has]
        return per_anchor.mean()


# registry: name -> class
REDUCERS = {
    "mean": MeanReducer,
    "sum": SumReducer,
    "mean_nonzero": AvgNonZeroReducer,
    "per_anchor": PerAnchorReducer,
}


def get_reducer(reducer):
    """A reducer object from a name of :data:`REDUCERS` or a reducer object.

    Raises
    ------
    ValueError
        If ``reducer`` is neither; the message lists the valid names.
    """
    if isinstance(reducer, BaseReducer):
        return reducer
    return build_by_name(REDUCERS, reducer, "reducer", {})

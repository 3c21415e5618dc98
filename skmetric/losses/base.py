"""Base class of every metric loss (pure torch, no scikit-learn).

A loss is a ``torch.nn.Module`` called as ``loss(embeddings, labels)`` (an
optional ``indices_tuple`` from a miner restricts the pairs or triplets it
uses) and returns a scalar tensor.  The base ``forward`` does the chores once:
shape and label checks, moving labels to the embeddings' device, and the
"nothing to compute" case; a subclass writes only :meth:`compute_loss`.

Two families share more: :class:`BasePairLoss` (a distance matrix over the
batch and its positive/negative pairs, from labels or from a miner's
``indices_tuple``) and :class:`BaseProxyLoss` (learnable per-class vectors).
A loss with a ``reducer`` parameter hands its per-element terms to a reducer
(:mod:`skmetric.losses.reducers`).
"""

import torch
from torch import nn

from .._blocks import DistanceUser, ReplaceableSubmodules, check_batch
from .._params import ParamsMixin
from .._tuples import pairs_to_counts, tuple_masks
from ._utils import log_counts, masked_logsumexp
from .reducers import get_reducer

__all__ = ["BaseMetricLoss", "BasePairLoss", "BaseProxyLoss"]


class BaseMetricLoss(ReplaceableSubmodules, ParamsMixin, nn.Module):
    """Template for metric losses.

    Class attributes read by estimators (never a loss's internals):

    ``requires_num_classes``
        The loss owns per-class parameters (proxies, class weights) and needs
        ``num_classes`` and ``embedding_size`` at construction.
    ``min_samples_per_class``
        Fewest samples of a class a batch needs for the loss to see a
        positive pair (2 for pair and triplet losses, 1 for proxy losses).
    ``prefers_normalized``
        The loss works on cosine similarities, so the estimator L2-normalises
        the embedding it outputs by default.
    """

    requires_num_classes = False
    min_samples_per_class = 2
    prefers_normalized = True

    def forward(self, embeddings, labels, indices_tuple=None):
        labels = check_batch(self, embeddings, labels)
        if embeddings.shape[0] == 0:
            return zero_loss(embeddings)
        return self.compute_loss(embeddings, labels, indices_tuple)

    def compute_loss(self, embeddings, labels, indices_tuple):  # pragma: no cover
        raise NotImplementedError

    def reduce(self, losses, anchors=None, *, default="mean"):
        """Reduce per-element ``losses`` with ``self.reducer`` (``None``: ``default``).

        ``anchors`` gives each term's batch index (see
        :class:`~skmetric.losses.reducers.BaseReducer`).
        """
        reducer = getattr(self, "reducer", None)
        return get_reducer(default if reducer is None else reducer)(losses, anchors)

    def extra_repr(self):
        return self._repr_params()


class BasePairLoss(DistanceUser, BaseMetricLoss):
    """A loss on the pairs of a batch: one preamble for distance and pairs.

    ``default_distance`` (a shared, stateless distance object) is used when
    the ``distance`` parameter is ``None``; losses without a ``distance``
    parameter always use it.  The positive and negative pairs are every pair
    of the batch or those of a miner's ``indices_tuple`` (pairs, or triplets
    turned into pairs).
    """

    def pairs_as_masks(self, embeddings, labels, indices_tuple):
        """``(distance, matrix, pos_mask, neg_mask)``; a pair counts once."""
        dist = self.pair_distance()
        mat = dist(embeddings)
        pos, neg = tuple_masks(indices_tuple, labels, mat.shape, mat.device)
        return dist, mat, pos, neg

    def pairs_as_counts(self, embeddings, labels, indices_tuple):
        """``(distance, matrix, pos_counts, neg_counts)``: float matrices that
        count a miner's pairs with their multiplicity (0/1 without a miner)."""
        dist = self.pair_distance()
        mat = dist(embeddings)
        pos, neg = pairs_to_counts(indices_tuple, labels, mat.shape, mat.dtype)
        return dist, mat, pos, neg

    @staticmethod
    def has_pairs(pos_counts, neg_counts):
        """0-d bool tensor: the batch (or the miner) gives a positive and a negative pair.

        A tensor, not a Python bool, so that no host sync is needed: a loss
        multiplies its (finite) value by it (:func:`gated`) instead of
        returning early, which gives 0 with a zero gradient when it is False.
        """
        return (pos_counts > 0).any() & (neg_counts > 0).any()

    def positive_vs_negatives(self, pos_logits, neg_logits, pos_counts, neg_counts):
        r"""Each positive pair's softmax against its anchor's negatives.

        :math:`\ell_{ap} = \operatorname{softplus}(\operatorname{LSE}_{n \in
        N_a} z^-_{an} - z^+_{ap})`, one log-sum-exp per anchor; a pair whose
        anchor has no negative gives 0.  Reduced over the positive pairs
        (with their multiplicity); the default is their mean.
        """
        has_neg = neg_counts > 0
        neg_lse = masked_logsumexp(neg_logits + log_counts(neg_counts), has_neg)
        losses = torch.nn.functional.softplus(neg_lse.unsqueeze(1) - pos_logits)
        if getattr(self, "reducer", None) is not None:
            return self.reduce_pairs(losses * has_neg.any(1, keepdim=True), pos_counts)
        weights = pos_counts * has_neg.any(1, keepdim=True)
        # no positive pair (0 / 1) or no negative (all weights 0) gives 0
        # with a zero gradient: no early exit, no host sync
        return (losses * weights).sum() / pos_counts.sum().clamp_min(1)

    def reduce_pairs(self, losses, counts):
        """Reduce a ``(B, B)`` matrix of per-pair terms over the pairs that
        ``counts`` holds, each as many times as counted; row = anchor."""
        rows, cols = counts.nonzero(as_tuple=True)
        reps = counts[rows, cols].long()
        total = int(reps.sum())
        return self.reduce(
            losses[rows, cols].repeat_interleave(reps, output_size=total),
            rows.repeat_interleave(reps, output_size=total),
        )


class BaseProxyLoss(BaseMetricLoss):
    """A loss with one or more learnable vectors per class.

    ``num_classes`` and ``embedding_size`` are ordinary parameters; estimators
    fill them in from the data.  The parameters are created in ``__init__``
    when both are known.
    """

    requires_num_classes = True
    min_samples_per_class = 1

    def _check_sizes(self, embeddings, labels):
        if self.num_classes is None or self.embedding_size is None:
            raise ValueError(
                f"{type(self).__name__} needs `num_classes` and `embedding_size`; "
                "pass them when building the loss (MetricLearner fills them in)."
            )
        if embeddings.shape[1] != self.embedding_size:
            raise ValueError(
                f"{type(self).__name__} was built for embedding_size="
                f"{self.embedding_size}; got embeddings of size {embeddings.shape[1]}."
            )
        if not labels.numel():
            return
        low, high = torch.aminmax(labels)
        if labels.device.type == "cpu":
            # reading two CPU scalars waits for nothing
            if low.item() < 0 or high.item() >= self.num_classes:
                raise ValueError(self._label_range_message())
            return
        # On an accelerator, reading the range would wait for the device
        # every batch: the check is queued with the batch instead and fails
        # at the next synchronisation (an out-of-range label would otherwise
        # index another class's vector or fail inside a kernel).
        torch._assert_async((low >= 0) & (high < self.num_classes), self._label_range_message())

    def _label_range_message(self):
        return (
            f"{type(self).__name__} was built for num_classes={self.num_classes}; "
            f"labels must be integers in [0, {self.num_classes})."
        )


def zero_loss(embeddings):
    """A zero that is still connected to the graph, so ``backward`` runs."""
    return (embeddings * 0).sum()


def gated(value, keep):
    """``value`` where the 0-d bool tensor ``keep`` is True, else 0 (zero gradient).

    The branch-free form of ``if not keep: return zero_loss(...)``: no host
    sync.  ``value`` must be finite (``inf * 0`` is NaN); when ``keep`` is
    True the value and its gradient are unchanged (a product by 1).
    """
    return value * keep.to(value.dtype)

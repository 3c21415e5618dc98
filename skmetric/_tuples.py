"""Index tuples of a batch: pairs and triplets from labels or a miner (pure torch).

Shared by losses and miners (neither imports the other's internals).
Everything is vectorised: pair and triplet index sets are built with
``nonzero`` / ``repeat_interleave`` in memory linear in their size (never a
``B x B x B`` tensor).

Index-tuple conventions (those of pytorch-metric-learning):

- pairs: ``(a1, p, a2, n)``: ``(a1[i], p[i])`` are positive pairs and
  ``(a2[j], n[j])`` negative pairs;
- triplets: ``(a, p, n)``.
"""

import torch

__all__ = [
    "pair_masks",
    "all_pairs",
    "all_triplets",
    "to_pairs",
    "to_triplets",
    "pairs_to_masks",
    "pairs_to_counts",
    "tuple_masks",
    "miner_weights",
    "empty_indices",
]


def pair_masks(labels, ref_labels=None):
    """Boolean ``(B, R)`` masks of positive and negative pairs.

    Without ``ref_labels`` the diagonal (self-pairs) is excluded from the
    positives.
    """
    same = labels.unsqueeze(1) == (labels if ref_labels is None else ref_labels).unsqueeze(0)
    neg = ~same
    if ref_labels is None:
        same.fill_diagonal_(False)
    return same, neg

def empty_indices(device, n=4):
    """A tuple of ``n`` empty long tensors on ``device``."""
    return tuple(torch.empty(0, dtype=torch.long, device=device) for _ in range(n))

def all_pairs(labels):
    """All positive and negative pairs of a batch as ``(a1, p, a2, n)``."""
    pos, neg = pair_masks(labels)
    a1, p = pos.nonzero(as_tuple=True)
    a2, n = neg.nonzero(as_tuple=True)
    return a1, p, a2, n

def _join(anchor_of_first, others_sorted, group_counts, group_starts):
    """Pair each element of a first list with every member of its anchor's group.

    ``others_sorted`` lists the second elements grouped by anchor (group
    ``k`` occupies ``others_sorted[group_starts[k]:group_starts[k] +
    group_counts[k]]``).  Returns ``(rep, second)``: ``rep`` indexes the
    first list (each entry repeated by its group's size) and ``second`` the
    matching group members, in the order of the first list then of the group.
    """
    reps = group_counts[anchor_of_first]
    total = int(reps.sum())
    idx = torch.arange(len(anchor_of_first), device=reps.device)
    rep = idx.repeat_interleave(reps, output_size=total)
    offsets = torch.arange(total, device=reps.device) - (
        reps.cumsum(0) - reps
    ).repeat_interleave(reps, output_size=total)
    second = others_sorted[group_starts[anchor_of_first[rep]] + offsets]
    return rep, second

def all_triplets(labels):
    """All valid triplets ``(a, p, n)`` of a batch, in lexicographic order.

    Memory is linear in the number of triplets (no ``B^3`` mask).
    """
    pos, neg = pair_masks(labels)
    a1, p = pos.nonzero(as_tuple=True)
    neg_counts = neg.sum(1)
    neg_flat = neg.nonzero(as_tuple=True)[1]  # grouped by anchor, ascending
    starts = neg_counts.cumsum(0) - neg_counts
    rep, n = _join(a1, neg_flat, neg_counts, starts)
    return a1[rep], p[rep], n

def to_pairs(indices_tuple, labels):
    """Convert ``None`` (all pairs), pairs or triplets to ``(a1, p, a2, n)``.

    Triplets ``(a, p, n)`` become ``(a, p, a, n)``, duplicates kept, as in
    pytorch-metric-learning.
    """
    if indices_tuple is None:
        return all_pairs(labels)
    if len(indices_tuple) == 4:
        return tuple(indices_tuple)
    if len(indices_tuple) == 3:
        a, p, n = indices_tuple
        return a, p, a, n
    raise ValueError(
        "indices_tuple must hold 3 tensors (anchors, positives, negatives) or 4 "
        f"(anchors1, positives, anchors2, negatives); got {len(indices_tuple)}."
    )

def to_triplets(indices_tuple, labels):
    """Convert ``None`` (all triplets), pairs or triplets to ``(a, p, n)``.

    Pairs are joined on their anchor: every positive pair ``(a, p)`` meets
    every negative pair ``(a, n)`` with the same anchor (the order of
    pytorch-metric-learning's ``convert_to_triplets``).
    """
    if indices_tuple is None:
        return all_triplets(labels)
    if len(indices_tuple) == 3:
        return tuple(indices_tuple)
    if len(indices_tuple) != 4:
        to_pairs(indices_tuple, labels)  # raises the error message
    a1, p, a2, n = indices_tuple
    if len(a1) == 0 or len(a2) == 0:
        return empty_indices(labels.device, 3)
    size = int(max(a1.max(), a2.max())) + 1
    order = torch.argsort(a2, stable=True)
    counts = torch.bincount(a2, minlength=size)
    starts = counts.cumsum(0) - counts
    rep, n_joined = _join(a1, n[order], counts, starts)
    return a1[rep], p[rep], n_joined

def pairs_to_masks(indices_tuple, shape, device):
    """Boolean masks of the positive and negative pairs of ``(a1, p, a2, n)``."""
    a1, p, a2, n = indices_tuple
    pos = torch.zeros(shape, dtype=torch.bool, device=device)
    neg = torch.zeros(shape, dtype=torch.bool, device=device)
    pos[a1, p] = True
    neg[a2, n] = True
    if (pos & neg).any():
        raise ValueError("A pair of indices_tuple is both positive and negative.")
    return pos, neg

def pairs_to_counts(indices_tuple, labels, shape, dtype):
    """Float ``(B, R)`` matrices counting each positive and negative pair.

    ``None`` means all pairs of the batch (counts are 0/1).  A miner's pairs
    (or triplets, converted with :func:`to_pairs`) are counted with their
    multiplicity, as losses that reduce over pytorch-metric-learning's pair
    lists do.  Raises if a pair is both positive and negative.
    """
    if indices_tuple is None:
        pos, neg = pair_masks(labels)
        return pos.to(dtype), neg.to(dtype)
    a1, p, a2, n = to_pairs(indices_tuple, labels)
    device = labels.device
    numel = shape[0] * shape[1]
    pos = torch.bincount(a1 * shape[1] + p, minlength=numel).view(shape).to(dtype)
    neg = torch.bincount(a2 * shape[1] + n, minlength=numel).view(shape).to(dtype)
    if ((pos > 0) & (neg > 0)).any():
        raise ValueError("A pair of indices_tuple is both positive and negative.")
    return pos.to(device), neg.to(device)

def miner_weights(indices_tuple, batch_size, dtype, device):
    """Per-sample weights from a miner's output (pytorch-metric-learning's rule).

    Each sample is weighted by how often it appears in ``indices_tuple``,
    divided by the largest count.  Without a tuple, or with an empty one,
    every weight is 1.
    """
    weights = torch.ones(batch_size, dtype=dtype, device=device)
    if indices_tuple is None or all(len(x) == 0 for x in indices_tuple):
        return weights
    counts = torch.bincount(torch.cat(list(indices_tuple)), minlength=batch_size)
    counts = counts.to(dtype)
    return counts / counts.max()


def tuple_masks(indices_tuple, labels, shape, device):
    """Boolean ``(B, B)`` positive and negative masks: every pair of the batch
    (``indices_tuple=None``) or a miner's pairs or triplets (duplicates count once)."""
    if indices_tuple is None:
        return pair_masks(labels)
    return pairs_to_masks(to_pairs(indices_tuple, labels), shape, device)

"""Batch samplers: class-balanced P x K batches and plain shuffled batches.

Both draw every random number from an explicit ``torch.Generator`` so that a
fit is reproducible bit for bit from ``random_state`` and touches no global
random state.
"""

import math

import torch

__all__ = ["ClassBalancedBatchSampler", "ShuffledBatchSampler"]


class ShuffledBatchSampler:
    """Yield index tensors of ``batch_size`` shuffled samples, one epoch each pass."""

    def __init__(self, n_samples, batch_size, *, generator, drop_last=False):
        self.n_samples = n_samples
        self.batch_size = min(batch_size, n_samples)
        self.generator = generator
        self.drop_last = drop_last

    def __len__(self):
        if self.drop_last:
            return max(1, self.n_samples // self.batch_size)
        return math.ceil(self.n_samples / self.batch_size)

    def __iter__(self):
        perm = torch.randperm(self.n_samples, generator=self.generator)
        for i in range(len(self)):
            yield perm[i * self.batch_size : (i + 1) * self.batch_size]


class ClassBalancedBatchSampler:
    """P x K batches: ``P`` classes per batch, ``K = samples_per_class`` each.

    Pair and triplet losses only learn from batches in which classes appear
    at least twice; with many classes a shuffled batch has few such pairs.
    Each batch draws ``P = batch_size // K`` distinct classes (all of them if
    there are fewer), then ``K`` samples of each, without replacement when
    the class is large enough.  An epoch has ``ceil(n_samples / batch_size)``
    batches, so it sees about as many samples as a plain epoch.

    Parameters
    ----------
    labels : 1-D integer tensor
        Encoded labels in ``[0, n_classes)``.
    batch_size : int
    samples_per_class : int
    generator : torch.Generator
    """

    def __init__(self, labels, batch_size, samples_per_class, *, generator):
        labels = torch.as_tensor(labels)
        self.n_samples = labels.shape[0]
        self.batch_size = batch_size
        self.samples_per_class = samples_per_class
        self.generator = generator
        order = torch.argsort(labels, stable=True)
        counts = torch.bincount(labels)
        self.class_indices = [
            idx for idx in torch.split(order, counts.tolist()) if idx.numel() > 0
        ]
        self.n_classes = len(self.class_indices)
        self.classes_per_batch = max(
            1, min(self.n_classes, batch_size // samples_per_class)
        )

    def __len__(self):
        return max(1, math.ceil(self.n_samples / self.batch_size))

    def __iter__(self):
        g = self.generator
        K = self.samples_per_class
        for _ in range(len(self)):
            chosen = torch.randperm(self.n_classes, generator=g)[: self.classes_per_batch]
            parts = []
            for c in chosen.tolist():
                idx = self.class_indices[c]
                n = idx.numel()
                if n >= K:
                    pick = torch.randperm(n, generator=g)[:K]
                else:
                    pick = torch.randint(n, (K,), generator=g)
                parts.append(idx[pick])
            yield torch.cat(parts)

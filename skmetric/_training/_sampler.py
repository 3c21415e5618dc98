"""Batch samplers: shuffled, class-balanced P x K, episodic and stratified batches.

All draw every random number from an explicit ``torch.Generator`` so that a
fit is reproducible bit for bit from ``random_state`` and touches no global
random state.
"""

import math

import torch

__all__ = [
    "ClassBalancedBatchSampler",
    "EpisodicBatchSampler",
    "ShuffledBatchSampler",
    "StratifiedBatchSampler",
]


class ShuffledBatchSampler:
    """Yield index tensors of ``batch_size`` shuffled samples, one epoch each pass.

    A last batch of a single sample is merged into the batch before it
    (batch norm cannot train on one sample).

    ``min_batches`` (default 1) makes an epoch at least that many batches:
    when one pass over the data gives fewer, the epoch runs several passes,
    each over a new permutation (on small data an epoch is then several
    optimisation steps, so the per-epoch work of the fit loop -- callbacks,
    history, validation -- is paid once per ``min_batches`` steps).
    """

    def __init__(self, n_samples, batch_size, *, generator, drop_last=False, min_batches=1):
        self.n_samples = n_samples
        self.batch_size = min(batch_size, n_samples)
        self.generator = generator
        self.drop_last = drop_last
        self.min_batches = max(1, int(min_batches))

    def _batches_per_pass(self):
        if self.drop_last or self.n_samples % self.batch_size == 1:
            # a last batch of one sample joins the one before: batch norm
            # cannot train on a single sample
            return max(1, self.n_samples // self.batch_size)
        return math.ceil(self.n_samples / self.batch_size)

    def __len__(self):
        per_pass = self._batches_per_pass()
        return per_pass * math.ceil(self.min_batches / per_pass)

    def __iter__(self):
        n_batches = self._batches_per_pass()
        for _ in range(len(self) // n_batches):
            perm = torch.randperm(self.n_samples, generator=self.generator)
            for i in range(n_batches):
                stop = (i + 1) * self.batch_size
                if i == n_batches - 1 and not self.drop_last and self.n_samples - stop == 1:
                    stop += 1
                yield perm[i * self.batch_size : stop]


class ClassBalancedBatchSampler:
    """P x K batches: ``P`` classes per batch, ``K = samples_per_class`` each.

    Pair and triplet losses only learn from batches in which classes appear
    at least twice; with many classes a shuffled batch has few such pairs.
    Each batch draws ``P = batch_size // K`` distinct classes (all of them if
    there are fewer), then ``K`` samples of each, without replacement when
    the class is large enough.  An epoch has ``ceil(n_samples / batch_size)``
    batches (at least ``min_batches``), so it sees about as many samples as a
    plain epoch.

    Parameters
    ----------
    labels : 1-D integer tensor
        Encoded labels in ``[0, n_classes)``.
    batch_size : int
    samples_per_class : int
    generator : torch.Generator
    min_batches : int, default=1
        Batches per epoch at least (see :class:`ShuffledBatchSampler`).
    """

    def __init__(self, labels, batch_size, samples_per_class, *, generator, min_batches=1):
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
        self.min_batches = max(1, int(min_batches))

    def __len__(self):
        return max(self.min_batches, math.ceil(self.n_samples / self.batch_size))

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


class EpisodicBatchSampler:
    """Few-shot episodes: ``n_way`` classes, ``n_shot + n_query`` samples each.

    Each batch is one episode: ``n_way`` distinct classes drawn at random,
    then ``n_shot + n_query`` distinct samples of each.  The batch lists the
    support samples of every class first (``n_way * n_shot`` indices, class
    by class), then the queries, so a loss that takes the first ``n_shot``
    samples of each class as its support (``PrototypicalLoss``) finds the
    episode's support.  An epoch has ``n_episodes`` episodes; by default
    ``ceil(n_samples / episode_size)``, so it sees about as many samples as a
    plain epoch.

    Parameters
    ----------
    labels : 1-D integer tensor
        Encoded labels in ``[0, n_classes)``.
    n_way, n_shot, n_query : int
    generator : torch.Generator
    n_episodes : int or None, default=None

    Raises
    ------
    ValueError
        If there are fewer than ``n_way`` classes, or a class has fewer than
        ``n_shot + n_query`` samples.
    """

    def __init__(self, labels, n_way, n_shot, n_query, *, generator, n_episodes=None):
        labels = torch.as_tensor(labels)
        self.n_samples = labels.shape[0]
        self.n_way = int(n_way)
        self.n_shot = int(n_shot)
        self.n_query = int(n_query)
        self.generator = generator
        order = torch.argsort(labels, stable=True)
        counts = torch.bincount(labels)
        self.class_indices = [
            idx for idx in torch.split(order, counts.tolist()) if idx.numel() > 0
        ]
        n_classes = len(self.class_indices)
        if self.n_way > n_classes:
            raise ValueError(
                f"n_way={self.n_way} is larger than the number of classes ({n_classes})."
            )
        need = self.n_shot + self.n_query
        smallest = min(idx.numel() for idx in self.class_indices)
        if need > smallest:
            raise ValueError(
                f"n_shot + n_query = {need} is larger than the smallest class "
                f"({smallest} samples)."
            )
        if n_episodes is None:
            n_episodes = math.ceil(self.n_samples / (self.n_way * need))
        self.n_episodes = max(1, int(n_episodes))

    def __len__(self):
        return self.n_episodes

    def __iter__(self):
        g = self.generator
        n_classes = len(self.class_indices)
        for _ in range(self.n_episodes):
            chosen = torch.randperm(n_classes, generator=g)[: self.n_way]
            picks = []
            for c in chosen.tolist():
                idx = self.class_indices[c]
                picks.append(idx[torch.randperm(idx.numel(), generator=g)[: self.n_shot + self.n_query]])
            picks = torch.stack(picks)  # (n_way, n_shot + n_query)
            yield torch.cat([picks[:, : self.n_shot].reshape(-1), picks[:, self.n_shot :].reshape(-1)])


class StratifiedBatchSampler:
    """Shuffled batches that each hold every class in its overall proportion.

    An epoch has ``ceil(n / batch_size)`` batches; each class's shuffled
    indices are dealt evenly across them.  A class with fewer samples than
    batches is cycled (reshuffled) so that every batch holds at least one of
    it: a batch without positives gives F1 or recall no gradient.
    """

    def __init__(self, y, batch_size, generator):
        y = torch.as_tensor(y)
        self.n_samples = y.shape[0]
        self.n_batches = max(1, math.ceil(self.n_samples / batch_size))
        self.generator = generator
        order = torch.argsort(y, stable=True)
        counts = torch.bincount(y)
        self.class_indices = [i for i in torch.split(order, counts.tolist()) if i.numel()]

    def __len__(self):
        return self.n_batches

    def __iter__(self):
        g = self.generator
        nb = self.n_batches
        per_batch = [[] for _ in range(nb)]
        for idx in self.class_indices:
            perm = idx[torch.randperm(idx.numel(), generator=g)]
            if perm.numel() < nb:
                reps = math.ceil(nb / perm.numel())
                perm = torch.cat(
                    [idx[torch.randperm(idx.numel(), generator=g)] for _ in range(reps)]
                )[:nb]
            # deal the class across batches, starting at a random batch
            offset = int(torch.randint(nb, (1,), generator=g))
            for b, chunk in enumerate(torch.tensor_split(perm, nb)):
                per_batch[(b + offset) % nb].append(chunk)
        for b in torch.randperm(nb, generator=g).tolist():
            batch = torch.cat(per_batch[b])
            yield batch[torch.randperm(batch.numel(), generator=g)]

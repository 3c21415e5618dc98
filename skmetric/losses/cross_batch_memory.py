"""Cross-batch memory (Wang et al., 2020): compare each batch with past embeddings."""

import torch
from torch import nn

from .._tuples import to_pairs
from ._wrapping import build_part
from .base import BaseMetricLoss

__all__ = ["CrossBatchMemory"]


class CrossBatchMemory(BaseMetricLoss):
    r"""Wrap a pair or triplet loss so that anchors meet a queue of past embeddings.

    A first-in-first-out memory holds the last ``memory_size`` (detached)
    embeddings and labels.  At each training step the batch is enqueued,
    then the wrapped loss is computed on the pairs (batch anchor, memory
    entry), a sample never paired with its own memory slot -- as
    pytorch-metric-learning's ``CrossBatchMemory``.  The wrapped loss gets
    the concatenation ``[batch; memory]`` with those pairs as its
    ``indices_tuple``, so memory use is ``O((B + M)^2)`` for matrix-based
    losses.  In eval mode the memory is read but not updated.

    Parameters
    ----------
    loss : str or loss object, default="contrastive"
        A pair or triplet loss (proxy losses are not supported).
    memory_size : int, default=1024
        ``M``, at least the batch size.

    Attributes
    ----------
    parts : torch.nn.ModuleList
        The built wrapped loss.
    embedding_memory : torch.Tensor of shape (memory_size, embedding_size)
        Buffer (allocated at the first call, float32), saved in the
        ``state_dict``.
    label_memory, queue_idx, n_filled : torch.Tensor
        Buffers: stored labels, next write position, entries filled.

    Notes
    -----
    A miner's ``indices_tuple`` on the batch is added as batch-batch pairs.

    References
    ----------
    X. Wang, H. Zhang, W. Huang and M. R. Scott. "Cross-Batch Memory for
    Embedding Learning". CVPR 2020. arXiv:1912.06798.
    """

    def __init__(self, *, loss="contrastive", memory_size=1024):
        super().__init__()
        self.loss = loss
        self.memory_size = memory_size
        self.parts = nn.ModuleList([build_part(loss)])
        self.register_buffer("embedding_memory", torch.zeros(0, 0))
        self.register_buffer("label_memory", torch.zeros(0, dtype=torch.long))
        self.register_buffer("queue_idx", torch.zeros((), dtype=torch.long))
        self.register_buffer("n_filled", torch.zeros((), dtype=torch.long))

    def reset_queue(self):
        """Empty the memory."""
        self.embedding_memory = torch.zeros(0, 0, device=self.embedding_memory.device)
        self.label_memory = torch.zeros(0, dtype=torch.long, device=self.label_memory.device)
        self.queue_idx.zero_()
        self.n_filled.zero_()

    def _enqueue(self, embeddings, labels):
        M = int(self.memory_size)
        if self.embedding_memory.shape != (M, embeddings.shape[1]):
            self.embedding_memory = torch.zeros(M, embeddings.shape[1], device=embeddings.device)
            self.label_memory = torch.zeros(M, dtype=torch.long, device=embeddings.device)
            self.queue_idx.zero_()
            self.n_filled.zero_()
        slots = (self.queue_idx + torch.arange(len(labels), device=labels.device)) % M
        self.embedding_memory[slots] = embeddings.detach().to(self.embedding_memory.dtype)
        self.label_memory[slots] = labels
        self.queue_idx.copy_((self.queue_idx + len(labels)) % M)
        self.n_filled.clamp_(max=M - len(labels)).add_(len(labels))
        return slots

    def compute_loss(self, embeddings, labels, indices_tuple):
        inner = self.parts[0]
        if getattr(inner, "requires_num_classes", False):
            raise ValueError(
                f"CrossBatchMemory wraps pair and triplet losses; {type(inner).__name__} "
                "has per-class parameters."
            )
        if len(labels) > self.memory_size:
            raise ValueError(
                f"`memory_size` of CrossBatchMemory ({self.memory_size}) must be at least "
                f"the batch size ({len(labels)})."
            )
        slots = self._enqueue(embeddings, labels) if self.training else None
        if self.embedding_memory.numel() == 0:
            return inner(embeddings, labels, indices_tuple)
        filled = int(self.n_filled)
        mem = self.embedding_memory[:filled].to(embeddings.dtype)
        mem_labels = self.label_memory[:filled]
        same = labels.unsqueeze(1) == mem_labels.unsqueeze(0)
        pos = same.clone()
        if slots is not None:
            rows = torch.arange(len(labels), device=labels.device)
            pos[rows, slots] = False  # not with itself
        a1, p = pos.nonzero(as_tuple=True)
        a2, n = (~same).nonzero(as_tuple=True)
        offset = len(labels)
        pairs = [a1, p + offset, a2, n + offset]
        if indices_tuple is not None:
            extra = to_pairs(indices_tuple, labels)
            pairs = [torch.cat([x, e]) for x, e in zip(pairs, extra)]
        return inner(torch.cat([embeddings, mem]), torch.cat([labels, mem_labels]), tuple(pairs))

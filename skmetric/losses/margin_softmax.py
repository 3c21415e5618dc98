"""One base for the softmax losses over learnable class vectors (pure torch).

ArcFace, CosFace, SphereFace, sub-center ArcFace, ElasticFace, normalized
softmax, SoftTriple, EBV, harmonic and ProxyNCA all compute per-class logits
from the embedding and a set of class vectors, change the true class's logit
(the margin) and take the cross-entropy.  The base owns the class vectors,
the cosine logits, the true-class replacement, the cross-entropy, the miner
weights and the reduction; a subclass writes :meth:`logits`.
"""

import torch
from torch import nn

from .._tuples import miner_weights
from ..distances._normalize import cosine_matrix
from .base import BaseProxyLoss

__all__ = ["BaseMarginSoftmaxLoss"]


class _ReplaceTarget(torch.autograd.Function):
    # logits with each row's true-class entry t replaced by f(t), in place;
    # target_fn returns (f(t), f'(t)) for the B entries, so the backward pass
    # is one gather and one product on them (f' = None: nothing to do)
    @staticmethod
    def forward(ctx, logits, labels, target_fn):
        rows = torch.arange(len(labels), device=labels.device)
        value, slope = target_fn(logits[rows, labels])
        logits.index_put_((rows, labels), value)
        ctx.mark_dirty(logits)
        ctx.save_for_backward(labels, slope)
        ctx.rows = rows
        return logits

    @staticmethod
    def backward(ctx, grad):
        labels, slope = ctx.saved_tensors
        if slope is None:
            return grad, None, None
        index = (ctx.rows, labels)
        return grad.clone().index_put_(index, grad[index] * slope), None, None


class BaseMarginSoftmaxLoss(BaseProxyLoss):
    """Cross-entropy over per-class logits with a margin on the true class.

    Parameters shared by every subclass:

    num_classes : int, default=None
        Number of classes (filled in by estimators).
    embedding_size : int, default=None
        Embedding dimension (filled in by estimators).  The class vectors
        are created when both sizes are known.
    reducer : str, BaseReducer or None, default=None
        Reduces the per-sample cross-entropies (times the miner weights);
        ``None`` means ``"mean"`` (see :mod:`skmetric.losses.reducers`).

    The class vectors live in the attribute named by ``weight_name``
    (``W``, of shape ``(embedding_size, num_classes)`` and N(0, 1)
    initialised unless the subclass says otherwise).

    Class attributes a subclass may set:

    ``weight_name``
        Attribute that holds the class vectors (``"W"``).
    ``weight_layout``
        ``"columns"``: a ``(embedding_size, num_classes * k)`` matrix, one
        class vector per column (pytorch-metric-learning's layout);
        ``"rows"``: ``(num_classes * k, embedding_size)``.
    ``target_inplace``
        The true-class logits may be written into the logits tensor in place
        (``False`` when the op that made it saved its output for backward).

    With ``indices_tuple`` each sample's cross-entropy is multiplied by its
    miner weight (its count in the tuple over the largest count), as in
    pytorch-metric-learning; then the reducer (default ``"mean"``) applies.
    """

    weight_name = "W"
    weight_layout = "columns"
    target_inplace = True
    label_smoothing = 0.0

    @property
    def vectors_per_class(self):
        """Class vectors per class (``k``)."""
        return 1

    def _set_sizes(self, num_classes, embedding_size):
        # store the sizes and, when both are known, create the class vectors
        self.num_classes = num_classes
        self.embedding_size = embedding_size
        if num_classes is not None and embedding_size is not None:
            self.init_weight(num_classes * self.vectors_per_class, embedding_size)

    def init_weight(self, n_vectors, embedding_size):
        """Create the class vectors: N(0, 1) as in pytorch-metric-learning."""
        shape = (
            (embedding_size, n_vectors) if self.weight_layout == "columns"
            else (n_vectors, embedding_size)
        )
        setattr(self, self.weight_name, nn.Parameter(torch.randn(*shape)))

    def class_vectors(self, dtype):
        """The class vectors as rows, ``(num_classes * k, embedding_size)``."""
        w = getattr(self, self.weight_name).to(dtype)
        return w.T if self.weight_layout == "columns" else w

    def class_cosines(self, embeddings, scale=1.0):
        """``scale * cos(x_i, w_j)``, shape ``(batch, num_classes * k)``."""
        return cosine_matrix(embeddings, self.class_vectors(embeddings.dtype), scale=scale)

    def with_target(self, logits, labels, transform):
        """``logits`` with each row's true-class entry ``t`` replaced by ``transform(t)``."""
        rows = torch.arange(len(labels), device=labels.device)
        target = transform(logits[rows, labels])
        if self.target_inplace:
            return logits.index_put_((rows, labels), target)
        return logits.index_put((rows, labels), target)

    def logits(self, embeddings, labels):  # pragma: no cover - abstract
        """``(batch, num_classes)`` logits with the margin applied."""
        raise NotImplementedError

    def margin_parts(self, embeddings, labels):
        """Optional fast path: the logits as ``(base, row_scale, target_fn)``, or None.

        The logits are then ``row_scale * base`` with each row's true-class
        entry ``row_scale * f(base[i, y_i])`` (``row_scale`` of shape
        ``(batch, 1)`` or None for 1).  ``target_fn`` maps the ``(batch,)``
        true-class entries ``t`` (no autograd) to ``(f(t), f'(t))`` (the
        derivative may be None for 1); None means no margin.  ``base`` is
        changed in place, so it must be a fresh tensor that no autograd node
        saved.  :meth:`compute_loss` then replaces the true-class entries in
        one autograd node (its backward is one product on B entries) before
        the cross-entropy.  The default, None, uses :meth:`logits`; a
        subclass that overrides this must keep :meth:`logits` equal to it.
        """
        return None

    def miner_indices(self, indices_tuple):
        """The indices whose counts weight the samples (all of them)."""
        return indices_tuple

    def compute_loss(self, embeddings, labels, indices_tuple):
        self._check_sizes(embeddings, labels)
        parts = self.margin_parts(embeddings, labels)
        if parts is None:
            logits = self.logits(embeddings, labels)
        else:
            logits, row_scale, target_fn = parts
            if target_fn is not None:
                logits = _ReplaceTarget.apply(logits, labels, target_fn)
            if row_scale is not None:
                logits = logits * row_scale
        if indices_tuple is None and self.reducer is None:
            return nn.functional.cross_entropy(
                logits, labels, label_smoothing=self.label_smoothing
            )
        losses = nn.functional.cross_entropy(
            logits, labels, reduction="none", label_smoothing=self.label_smoothing
        )
        if indices_tuple is not None:
            losses = losses * miner_weights(
                self.miner_indices(indices_tuple), len(labels), losses.dtype, losses.device
            )
        return self.reduce(losses)

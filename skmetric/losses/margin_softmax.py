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


class _MarginCrossEntropy(torch.autograd.Function):
    # Per-row cross-entropy of ``row_scale * logits`` whose true-class entry
    # is ``row_scale * target_fn(logits[i, y_i])``, in one node:
    #   loss_i = logsumexp_j z_ij - z_iy_i
    # Forward keeps the softmax (computed once, in place over the margin
    # logits, without a one-hot); backward is
    #   dz = g (softmax - onehot), then through row_scale and target_fn
    # (``target_fn`` returns the B true-class values and their derivatives).
    @staticmethod
    def forward(ctx, logits, row_scale, labels, target_fn):
        rows = torch.arange(len(labels), device=labels.device)
        base_y = logits[rows, labels]
        target, slope = (base_y, None) if target_fn is None else target_fn(base_y)
        # the margin logits z, in a fresh tensor (the input stays untouched)
        z_y = target if row_scale is None else target * row_scale.squeeze(1)
        if row_scale is None and target_fn is None:
            top = logits.amax(1, keepdim=True)
            prob = torch.sub(logits, top).exp_()
        else:
            z = logits.clone() if row_scale is None else logits * row_scale
            z[rows, labels] = z_y
            top = z.amax(1, keepdim=True)
            prob = z.sub_(top).exp_()
        total = prob.sum(1, keepdim=True)
        prob.div_(total)
        ctx.save_for_backward(prob, labels, logits, row_scale, target, slope)
        ctx.has_scale = row_scale is not None
        ctx.rows = rows
        return total.log_().add_(top).squeeze(1) - z_y

    @staticmethod
    def backward(ctx, grad):
        prob, labels, logits, row_scale, target, slope = ctx.saved_tensors
        rows = ctx.rows
        dz = prob * grad.unsqueeze(1)  # d loss / d z
        dz_y = dz[rows, labels] - grad
        d_scale = None
        if ctx.has_scale:
            if ctx.needs_input_grad[1]:
                # d s_i = sum_{j != y} dz_ij b_ij + dz_iy target_i
                dz[rows, labels] = dz_y
                d_scale = (dz * logits).sum(1) + dz_y * (target - logits[rows, labels])
                d_scale = d_scale.unsqueeze(1)
            dz.mul_(row_scale)
            dz_y = dz_y * row_scale.squeeze(1)
        dz[rows, labels] = dz_y if slope is None else dz_y * slope
        return dz, d_scale, None, None


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
        derivative may be None for 1); None means no margin.
        :meth:`compute_loss` then takes the cross-entropy in one autograd
        node, without building the margin logits.  The default, None, uses :meth:`logits`; a subclass that
        overrides this must keep :meth:`logits` equal to it.
        """
        return None

    def miner_indices(self, indices_tuple):
        """The indices whose counts weight the samples (all of them)."""
        return indices_tuple

    def compute_loss(self, embeddings, labels, indices_tuple):
        self._check_sizes(embeddings, labels)
        parts = None if self.label_smoothing else self.margin_parts(embeddings, labels)
        if parts is not None:
            base, row_scale, target_fn = parts
            losses = _MarginCrossEntropy.apply(base, row_scale, labels, target_fn)
            if indices_tuple is None and self.reducer is None:
                return losses.mean()
        else:
            logits = self.logits(embeddings, labels)
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

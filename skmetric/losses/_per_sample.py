"""A base for proxy losses that are not a cross-entropy (pure torch).

Z-loss, generalized cross-entropy, LDR-KL and NBC-softmax score each sample
from its logits against learnable class vectors, like the margin-softmax
losses, but with another per-sample function.  They share the class
vectors of :class:`~skmetric.losses.BaseMarginSoftmaxLoss` and this
``compute_loss``: one term per sample, times the miner weights, then the
reducer.
"""

from .._tuples import miner_weights
from .margin_softmax import BaseMarginSoftmaxLoss

__all__ = ["PerSampleProxyLoss", "check_positive"]


def check_positive(loss, name, value):
    """Raise a ValueError naming ``loss``'s parameter ``name`` unless ``value > 0``."""
    if not value > 0:
        raise ValueError(
            f"`{name}` of {type(loss).__name__} must be a positive number; got {value!r}."
        )


class PerSampleProxyLoss(BaseMarginSoftmaxLoss):
    """Template: a subclass writes :meth:`sample_losses` (one term per sample)."""

    def sample_losses(self, embeddings, labels):  # pragma: no cover - abstract
        """``(batch,)`` per-sample terms."""
        raise NotImplementedError

    def logits(self, embeddings, labels):
        """Default logits: cosines to the class vectors divided by ``self.temperature``."""
        check_positive(self, "temperature", self.temperature)
        return self.class_cosines(embeddings, scale=1 / self.temperature)

    def batch_term(self, embeddings, labels):
        """A term added once per batch after the reduction (``None``: nothing)."""
        return None

    def compute_loss(self, embeddings, labels, indices_tuple):
        self._check_sizes(embeddings, labels)
        losses = self.sample_losses(embeddings, labels)
        if indices_tuple is not None:
            losses = losses * miner_weights(
                self.miner_indices(indices_tuple), len(labels), losses.dtype, losses.device
            )
        loss = self.reduce(losses)
        extra = self.batch_term(embeddings, labels)
        return loss if extra is None else loss + extra

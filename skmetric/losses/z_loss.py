"""Z-loss: a shift- and scale-invariant classification loss (de Brébisson & Vincent, 2016)."""

import torch

from ..distances._normalize import safe_sqrt
from ._per_sample import PerSampleProxyLoss, check_positive

__all__ = ["ZLoss", "z_scores"]


def z_scores(logits, labels, *, eps=1e-8):
    r"""Each sample's standardised true-class logit :math:`z_y = (o_y - \mu)/(\sigma + \epsilon)`.

    :math:`\mu` and :math:`\sigma` are the mean and the population standard
    deviation of the row of ``logits``, so :math:`z_y` does not change when
    the row is shifted or multiplied by a positive number, and
    :math:`z_y \le \sqrt{K - 1}` for :math:`K` classes (equality when every
    other logit is equal and below :math:`o_y`).
    """
    # population standard deviation, from the centred row (var_mean's
    # backward is about twice as slow)
    centred = logits - logits.mean(1, keepdim=True)
    std = safe_sqrt(centred.square().mean(1))  # gradient 0, not inf, at std 0
    true = centred.gather(1, labels.unsqueeze(1)).squeeze(1)
    return true / (std + eps)


class ZLoss(PerSampleProxyLoss):
    r"""Softplus of the standardised true-class logit, with learnable class vectors.

    With logits :math:`o_k = x \cdot w_k` against learnable class vectors
    and :math:`z_y` the true-class logit standardised over the row (see
    :func:`z_scores`):

    .. math::
        L = \frac{1}{a}\operatorname{softplus}\big(a\,(b - z_y)\big)

    averaged over the batch.  :math:`L` is unchanged by :math:`o \to \alpha o
    + \beta` (:math:`\alpha > 0`), so neither the norm of the embedding nor
    that of the class vectors can lower it; since :math:`z_y \le
    \sqrt{K-1}`, an offset ``b`` above that bound keeps every sample's loss
    large.

    Parameters
    ----------
    a : float, default=1.0
        Slope of the softplus.
    b : float, default=2.0
        Offset: the standardised score beyond which a sample stops
        mattering.  The paper tunes ``a`` and ``b`` per task and gives no
        default (not verified); 2 is below the bound for 5 classes or more.
    num_classes, embedding_size, reducer
        As in :class:`~skmetric.losses.BaseMarginSoftmaxLoss`.

    Notes
    -----
    :math:`\sigma + 10^{-8}` keeps a row of equal logits finite.  The paper
    uses the output layer of a classifier; here the logits are dot products
    with the class vectors ``W`` (``(embedding_size, num_classes)``, N(0, 1)
    initialised).  Predict with the largest logit.

    References
    ----------
    A. de Brébisson and P. Vincent. "The Z-loss: a shift and scale invariant
    classification loss belonging to the Spherical Family". 2016.
    arXiv:1604.08859.
    """

    def __init__(self, *, a=1.0, b=2.0, num_classes=None, embedding_size=None,
                 reducer=None):
        super().__init__()
        self.a = a
        self.b = b
        self.reducer = reducer
        self._set_sizes(num_classes, embedding_size)

    def logits(self, embeddings, labels):
        return embeddings @ self.class_vectors(embeddings.dtype).T

    def sample_losses(self, embeddings, labels):
        check_positive(self, "a", self.a)
        z = z_scores(self.logits(embeddings, labels), labels)
        return torch.nn.functional.softplus(self.a * (self.b - z)) / self.a

"""NBC-Softmax: softmax plus a negative block-contrastive term (Kulatilleke et al., 2022)."""

import torch

from ..distances._normalize import l2_normalize
from ._per_sample import PerSampleProxyLoss

__all__ = ["NBCSoftmaxLoss", "negative_block_contrastive"]


def negative_block_contrastive(embeddings, labels, num_classes, tau):
    r"""The NBC term: class means of the batch pushed apart, no positives.

    With :math:`\mu_c` the mean embedding of class :math:`c` in the batch
    and :math:`P` the classes present,
    :math:`\frac{1}{C}\cdot\frac{1}{|P|}\sum_{c \in P}\log\big(1 +
    \sum_{c' \in P, c' \ne c} e^{\tau \cos(\mu_c, \mu_{c'})}\big)`
    (the 1 is the diagonal, whose similarity the official code sets to 0).
    """
    sums = embeddings.new_zeros(num_classes, embeddings.shape[1]).index_add(0, labels, embeddings)
    present = torch.bincount(labels, minlength=num_classes) > 0
    mu = l2_normalize(sums[present])  # the mean's direction: 1/count cancels
    sim = tau * (mu @ mu.T)
    sim = sim.masked_fill(torch.eye(len(mu), dtype=torch.bool, device=mu.device), 0.0)
    return torch.logsumexp(sim, 1).mean() / num_classes


class NBCSoftmaxLoss(PerSampleProxyLoss):
    r"""Softmax cross-entropy plus a negative block-contrastive term on class means.

    .. math::
        L = (1 - r)\,\mathrm{CE}\big(\cos(x, w_k)/T\big)
          + r \cdot \frac{1}{C}\cdot\frac{1}{|P|}\sum_{c \in P}
            \log\Big(1 + \sum_{c' \in P,\,c' \ne c} e^{\tau\cos(\mu_c, \mu_{c'})}\Big)

    where :math:`\mu_c` is the mean embedding of class :math:`c` in the
    batch, :math:`P` the classes present and :math:`C` the number of
    classes.  The second term ("negative block contrastive") uses only
    negatives: whole classes (blocks) are pushed apart through their means,
    with no margin and no pair sampling, in :math:`O(B \cdot C)`.

    Parameters
    ----------
    ratio : float, default=0.5
        :math:`r`, the weight of the NBC term (official setting 0.5).
    tau : float, default=0.2
        :math:`\tau`, which *multiplies* the cosines (official default 0.2).
    temperature : float, default=0.05
        Softmax temperature :math:`T` of the cross-entropy part.
    num_classes, embedding_size, reducer
        As in :class:`~skmetric.losses.BaseMarginSoftmaxLoss`; the reducer
        applies to the per-sample cross-entropies.

    Notes
    -----
    Taken from the official code (the paper's text was not read): the
    :math:`1/C` factor, the zeroed diagonal and :math:`\tau` as a
    multiplier.  The official softmax part is a plain linear classifier on
    the embedding; here it is the cosine softmax of
    :class:`~skmetric.losses.NormalizedSoftmaxLoss`.  The official optional
    projection head before the NBC term (``proj_dim``, 0 in the published
    settings) is left out.

    References
    ----------
    G. K. Kulatilleke, S. S. Chandra and M. Portmann. "NBC-Softmax: Darkweb
    Author fingerprinting and migration tracking". 2022.  Code:
    https://github.com/gayanku/NBC-Softmax
    """

    weight_name = "weight"

    def __init__(self, *, ratio=0.5, tau=0.2, temperature=0.05, num_classes=None,
                 embedding_size=None, reducer=None):
        super().__init__()
        self.ratio = ratio
        self.tau = tau
        self.temperature = temperature
        self.reducer = reducer
        self._set_sizes(num_classes, embedding_size)

    def sample_losses(self, embeddings, labels):
        if not 0 <= self.ratio <= 1:
            raise ValueError(
                f"`ratio` of NBCSoftmaxLoss must be in [0, 1]; got {self.ratio!r}."
            )
        ce = torch.nn.functional.cross_entropy(
            self.logits(embeddings, labels), labels, reduction="none"
        )
        return (1 - self.ratio) * ce

    def batch_term(self, embeddings, labels):
        if self.ratio == 0:
            return None
        return self.ratio * negative_block_contrastive(
            embeddings, labels, self.num_classes, float(self.tau)
        )

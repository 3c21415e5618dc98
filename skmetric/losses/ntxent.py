"""NT-Xent / InfoNCE loss (Chen et al., 2020; van den Oord et al., 2018)."""

from ..distances import CosineSimilarity
from .base import BasePairLoss

__all__ = ["NTXentLoss"]


class NTXentLoss(BasePairLoss):
    r"""Softmax of each positive pair against the anchor's negatives.

    For a positive pair :math:`(a, p)`, with :math:`N_a` the negatives of
    :math:`a` and :math:`\tau` the temperature:

    .. math::
        \ell_{ap} = -\log \frac{e^{s_{ap}/\tau}}
            {e^{s_{ap}/\tau} + \sum_{n \in N_a} e^{s_{an}/\tau}}
          = \operatorname{softplus}\big(\operatorname{LSE}_{n \in N_a}
            (s_{an}/\tau) - s_{ap}/\tau\big)

    and :math:`L` is the mean over positive pairs.  The anchor's other
    positives are not in the denominator.  The log-sum-exp over negatives is
    computed once per anchor, so the whole loss is a few ``B x B`` matrix
    operations (pytorch-metric-learning builds a (positive pairs x negative
    pairs) matrix, about 3 s per step at batch 256).  With a distance,
    :math:`s = -d`.

    Parameters
    ----------
    temperature : float, default=0.07
    distance : BaseDistance, str or None, default=None
        ``None`` means :class:`~skmetric.distances.CosineSimilarity`.
    reducer : str, BaseReducer or None, default=None
        Reduces the per-positive-pair terms (with their multiplicity).  ``None`` means ``"mean"``.

    Notes
    -----
    A positive pair whose anchor has no negative gives 0 (and counts in the
    mean); a batch without positive or negative pairs gives zero.  With
    ``indices_tuple`` pairs count with their multiplicity.

    References
    ----------
    T. Chen, S. Kornblith, M. Norouzi and G. Hinton. "A Simple Framework for
    Contrastive Learning of Visual Representations". ICML 2020.
    arXiv:2002.05709.
    """

    default_distance = CosineSimilarity()

    def __init__(self, *, temperature=0.07, distance=None, reducer=None):
        super().__init__()
        self.temperature = temperature
        self.distance = distance
        self.reducer = reducer

    def compute_loss(self, embeddings, labels, indices_tuple):
        dist, mat, pos_c, neg_c = self.pairs_as_counts(embeddings, labels, indices_tuple)
        # a batch without a positive or a negative pair gives 0 (zero
        # gradient) through the formula itself: no early exit, no host sync
        logits = mat / (self.temperature if dist.is_inverted else -self.temperature)
        return self.positive_vs_negatives(logits, logits, pos_c, neg_c)

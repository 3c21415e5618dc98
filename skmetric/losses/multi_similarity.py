"""Multi-similarity loss (Wang et al., 2019)."""

from ..distances import CosineSimilarity
from ._utils import masked_logsumexp
from .base import BasePairLoss

__all__ = ["MultiSimilarityLoss"]


class MultiSimilarityLoss(BasePairLoss):
    r"""Soft-weight every positive and negative pair by its similarity.

    With cosine similarities :math:`S` and :math:`\lambda` = ``base``:

    .. math::
        L = \frac{1}{B} \sum_{i=1}^{B} \Big[
            \frac{1}{\alpha} \log\big(1 + \sum_{j \in P_i} e^{-\alpha (S_{ij} - \lambda)}\big)
          + \frac{1}{\beta} \log\big(1 + \sum_{k \in N_i} e^{\beta (S_{ik} - \lambda)}\big)
          \Big]

    Each :math:`\log(1 + \sum e^{z})` is a log-sum-exp with an appended 0,
    so it stays finite for large ``alpha``/``beta``.  An anchor with no
    positive (or no negative) contributes 0 for that side, and the mean is
    over all ``B`` anchors (pytorch-metric-learning's reduction; the official
    code skips anchors lacking either kind).

    Parameters
    ----------
    alpha : float, default=2
        Weight of the positive pairs.
    beta : float, default=50
        Weight of the negative pairs (the official config uses 40).
    base : float, default=0.5
        The similarity offset :math:`\lambda`.
    distance : BaseDistance, str or None, default=None
        ``None`` means :class:`~skmetric.distances.CosineSimilarity`.  With
        a distance (not a similarity) the signs flip.
    reducer : str, BaseReducer or None, default=None
        Reduces the per-anchor terms.  ``None`` means ``"mean"``.

    Notes
    -----
    With ``indices_tuple`` (usually from
    :class:`~skmetric.miners.MultiSimilarityMiner`) only the given pairs are
    used (duplicates count once); triplets ``(a, p, n)`` become pairs.

    References
    ----------
    X. Wang, X. Han, W. Huang, D. Dong and M. R. Scott. "Multi-Similarity
    Loss with General Pair Weighting for Deep Metric Learning". CVPR 2019.
    arXiv:1904.06627.
    """

    default_distance = CosineSimilarity()

    def __init__(self, *, alpha=2.0, beta=50.0, base=0.5, distance=None, reducer=None):
        super().__init__()
        self.alpha = alpha
        self.beta = beta
        self.base = base
        self.distance = distance
        self.reducer = reducer

    def compute_loss(self, embeddings, labels, indices_tuple):
        dist, mat, pos_mask, neg_mask = self.pairs_as_masks(embeddings, labels, indices_tuple)
        pos = masked_logsumexp(
            self.alpha * dist.margin(mat, self.base), pos_mask, add_one=True
        )
        neg = masked_logsumexp(
            self.beta * dist.margin(self.base, mat), neg_mask, add_one=True
        )
        return self.reduce(pos / self.alpha + neg / self.beta)

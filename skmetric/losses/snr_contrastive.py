"""Signal-to-noise-ratio contrastive loss (Yuan et al., 2019)."""

from ..distances import SNRDistance
from ._utils import pair_values, resolve_distance, to_pairs
from .base import zero_loss
from .contrastive import ContrastiveLoss

__all__ = ["SNRContrastiveLoss"]

# the default distance (stateless, shared)
_DEFAULT_DISTANCE = SNRDistance()


class SNRContrastiveLoss(ContrastiveLoss):
    r"""The contrastive loss with the signal-to-noise-ratio distance.

    .. math::
        L = \operatorname{AvgNonZero}_{(i,j) \in P} [d_{SNR}(i, j) - m_{pos}]_+
          + \operatorname{AvgNonZero}_{(i,k) \in N} [m_{neg} - d_{SNR}(i, k)]_+

    with :math:`d_{SNR}(a, b) = \operatorname{Var}(b - a) /
    \operatorname{Var}(a)` (see :class:`~skmetric.distances.SNRDistance`;
    asymmetric, so both orders of a pair count).

    Parameters
    ----------
    pos_margin : float, default=0
    neg_margin : float, default=1
    squared : bool, default=False
        Square each hinge term.
    distance : BaseDistance, str or None, default=None
        ``None`` means ``SNRDistance(normalize_embeddings=True)``.

    Notes
    -----
    The paper also regularises the embeddings towards zero mean
    (:math:`\lambda\,\operatorname{mean}_i |\sum_d h_{id}|`); add it with a
    :class:`~skmetric.losses.CombinedLoss` if wanted.

    References
    ----------
    T. Yuan, W. Deng, J. Tang, Y. Tang and B. Chen. "Signal-to-Noise Ratio:
    A Robust Distance Metric for Deep Metric Learning". CVPR 2019.
    arXiv:1904.02616.
    """

    def compute_loss(self, embeddings, labels, indices_tuple):
        dist = resolve_distance(self.distance, _DEFAULT_DISTANCE)
        if indices_tuple is None:
            return self._all_pairs(dist, dist(embeddings), labels)
        a1, p, a2, n = to_pairs(indices_tuple, labels)
        if len(a1) == 0 and len(a2) == 0:
            return zero_loss(embeddings)
        values = pair_values(dist, embeddings, [(a1, p), (a2, n)])
        if values is None:
            mat = dist(embeddings)
            values = mat[a1, p], mat[a2, n]
        pos = dist.margin(values[0], self.pos_margin)
        neg = dist.margin(self.neg_margin, values[1])
        return self._mean_positive(pos, pos > 0) + self._mean_positive(neg, neg > 0)

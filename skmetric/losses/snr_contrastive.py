"""Signal-to-noise-ratio contrastive loss (Yuan et al., 2019)."""

from ..distances import SNRDistance
from .contrastive import ContrastiveLoss

__all__ = ["SNRContrastiveLoss"]


class SNRContrastiveLoss(ContrastiveLoss):
    r"""The contrastive loss with the signal-to-noise-ratio distance.

    Only the default distance differs from
    :class:`~skmetric.losses.ContrastiveLoss`:

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
    reducer : str, BaseReducer or None, default=None
        As in :class:`~skmetric.losses.ContrastiveLoss`.

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

    default_distance = SNRDistance()

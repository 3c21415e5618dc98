"""ProxyNCA loss (Movshovitz-Attias et al., 2017)."""

from ..distances._resolve import resolve_distance
from .margin_softmax import BaseMarginSoftmaxLoss

__all__ = ["ProxyNCALoss"]


class ProxyNCALoss(BaseMarginSoftmaxLoss):
    r"""NCA with one learnable proxy per class as the reference set.

    .. math::
        L = -\frac1B \sum_i \log \operatorname{softmax}_{y_i}
            \big(-s\,\|\hat x_i - \hat p_c\|^2\big)_{c = 1..C}

    (pytorch-metric-learning's form: the positive proxy is in the
    denominator).  On unit vectors :math:`\|\hat x - \hat p\|^2 = 2 -
    2\cos`, so the default distance is computed as a softmax over
    :math:`2s\cos(x, p_c)`, with ``log_softmax`` (pytorch-metric-learning
    drops rows whose probability underflows to 0; here they stay, finite).

    Parameters
    ----------
    softmax_scale : float, default=1
        Scale :math:`s` (the Proxy-Anchor repository uses 32).
    distance : BaseDistance, str or None, default=None
        ``None`` means the squared Euclidean distance between L2-normalised
        embeddings and proxies.  With a similarity the logits are
        :math:`+s \cdot s(x, p)`.
    num_classes, embedding_size, reducer
        As in :class:`~skmetric.losses.BaseMarginSoftmaxLoss`.

    Attributes
    ----------
    proxies : torch.nn.Parameter of shape (num_classes, embedding_size)
        Learnable proxies, initialised N(0, 1) as in pytorch-metric-learning.

    Notes
    -----
    With ``indices_tuple`` each sample's term is multiplied by its miner
    weight before the mean, counting anchors only (pytorch-metric-learning's
    rule for a loss with a reference set).

    References
    ----------
    Y. Movshovitz-Attias, A. Toshev, T. K. Leung, S. Ioffe and S. Singh. "No
    Fuss Distance Metric Learning using Proxies". ICCV 2017.
    arXiv:1703.07464.
    """

    weight_name = "proxies"
    weight_layout = "rows"

    def __init__(self, *, softmax_scale=1.0, num_classes=None, embedding_size=None,
                 distance=None, reducer=None):
        super().__init__()
        self.softmax_scale = softmax_scale
        self.distance = distance
        self.reducer = reducer
        self._set_sizes(num_classes, embedding_size)

    def logits(self, embeddings, labels):
        if self.distance is None:
            return self.class_cosines(embeddings, scale=2 * self.softmax_scale)
        dist = resolve_distance(self.distance, None)
        mat = dist(embeddings, self.class_vectors(embeddings.dtype))
        return self.softmax_scale * (mat if dist.is_inverted else -mat)

    def miner_indices(self, indices_tuple):
        # only anchors count (pytorch-metric-learning's rule with a reference set)
        return (indices_tuple[0],) if len(indices_tuple) == 3 else indices_tuple[0::2]

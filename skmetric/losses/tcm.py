"""Threshold-Consistent Margin (TCM) regulariser (Zhang et al., 2024)."""

from ..distances import CosineSimilarity
from .base import BasePairLoss

__all__ = ["TCMLoss"]


class TCMLoss(BasePairLoss):
    r"""Penalise positives below ``margin_plus`` and negatives above ``margin_minus``.

    With :math:`S^+` and :math:`S^-` the cosine similarities of the batch's
    positive and negative pairs:

    .. math::
        L = \lambda^+ \frac{\sum_{s \in S^+} (m^+ - s)\,[s \le m^+]}{\sum [s \le m^+]}
          + \lambda^- \frac{\sum_{s \in S^-} (s - m^-)\,[s \ge m^-]}{\sum [s \ge m^-]}

    (an empty selection gives 0).  A regulariser: add it to a base loss with
    :class:`~skmetric.losses.CombinedLoss`, e.g. ``MetricLearner(loss=
    [("multi_similarity", 1.0), ("tcm", 0.1)])``; the miner
    ``"tcm_hard_negative"`` restricts it to the hardest negatives.

    Parameters
    ----------
    lambda_plus : float, default=1
    lambda_minus : float, default=1
    margin_plus : float, default=0.9
    margin_minus : float, default=0.5

    Notes
    -----
    Cosine similarity only.  With ``indices_tuple`` pairs count with their
    multiplicity, as in pytorch-metric-learning.

    References
    ----------
    Q. Zhang, L. Xu, Q. Tang, J. Fang, Y. N. Wu, J. Tighe and Y. Xing.
    "Threshold-Consistent Margin Loss for Open-World Deep Metric Learning".
    ICLR 2024. arXiv:2307.04047.
    """

    default_distance = CosineSimilarity()

    def __init__(self, *, lambda_plus=1.0, lambda_minus=1.0, margin_plus=0.9,
                 margin_minus=0.5):
        super().__init__()
        self.lambda_plus = lambda_plus
        self.lambda_minus = lambda_minus
        self.margin_plus = margin_plus
        self.margin_minus = margin_minus

    def compute_loss(self, embeddings, labels, indices_tuple):
        _, s, pos_c, neg_c = self.pairs_as_counts(embeddings, labels, indices_tuple)
        # no pair at all gives 0 / 1 + 0 / 1 = 0 (zero gradient) by itself
        w_pos = pos_c * (s <= self.margin_plus)
        w_neg = neg_c * (s >= self.margin_minus)
        pos = ((self.margin_plus - s) * w_pos).sum() / w_pos.sum().clamp_min(1)
        neg = ((s - self.margin_minus) * w_neg).sum() / w_neg.sum().clamp_min(1)
        return self.lambda_plus * pos + self.lambda_minus * neg

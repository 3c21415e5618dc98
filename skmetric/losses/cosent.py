"""CoSENT ranking loss (Su, 2022)."""

import torch

from ..distances import CosineSimilarity
from ._utils import masked_logsumexp, pair_masks, resolve_distance, to_pairs
from .base import BaseMetricLoss, zero_loss

__all__ = ["CoSENTLoss"]

# the default distance (stateless, shared)
_DEFAULT_DISTANCE = CosineSimilarity()


class CoSENTLoss(BaseMetricLoss):
    r"""Rank the similarities of pairs in the order of their target scores.

    For pairs :math:`k` with similarity :math:`s_k` and target score
    :math:`t_k`, and :math:`\lambda` = ``scale``:

    .. math::
        L = \log\Big(1 + \sum_{k, l \,:\, t_k > t_l}
            e^{\lambda (s_l - s_k)}\Big)

    Only the order of the scores matters, so graded similarities (0 to 1,
    or 0 to 5) are used as they are.  With class labels (``loss(embeddings,
    labels)``) the pairs of the batch are scored 1 (same class, each
    unordered pair once) or 0 (different classes): every positive pair is
    asked to be more similar than every negative pair, and the double sum
    factorises into :math:`\operatorname{softplus}(\operatorname{LSE}_{n}
    \lambda s_n + \operatorname{LSE}_{p} (-\lambda s_p))`, a few
    ``B x B`` operations.  Graded pairs go through :meth:`graded`.  With a
    distance, :math:`s = -d`.

    Parameters
    ----------
    scale : float, default=20.0
        :math:`\lambda` (the inverse of a temperature).
    distance : BaseDistance, str or None, default=None
        ``None`` means :class:`~skmetric.distances.CosineSimilarity`.

    Notes
    -----
    A miner's pairs ``(a1, p, a2, n)`` (or triplets, as ``(a, p, a, n)``)
    count with their multiplicity.  A batch without a positive or a negative
    pair gives zero.

    References
    ----------
    J. Su. "CoSENT: a more efficient sentence vector scheme than
    Sentence-BERT". 2022. https://kexue.fm/archives/8847
    """

    supports_graded = True

    def __init__(self, *, scale=20.0, distance=None):
        super().__init__()
        self.scale = scale
        self.distance = distance

    def _similarity(self, dist, values):
        return values if dist.is_inverted else -values

    def compute_loss(self, embeddings, labels, indices_tuple):
        dist = resolve_distance(self.distance, _DEFAULT_DISTANCE)
        if indices_tuple is None:
            sim = self._similarity(dist, dist(embeddings))
            pos, neg = pair_masks(labels)
            upper = torch.ones_like(pos).triu_(1)
            pos &= upper
            neg &= upper
            sim_pos, sim_neg = sim[pos], sim[neg]
        else:
            a1, p, a2, n = to_pairs(indices_tuple, labels)
            sim_pos = self._similarity(dist, dist.pairs(embeddings[a1], embeddings[p]))
            sim_neg = self._similarity(dist, dist.pairs(embeddings[a2], embeddings[n]))
        if sim_pos.numel() == 0 or sim_neg.numel() == 0:
            return zero_loss(embeddings)
        lse_neg = torch.logsumexp(self.scale * sim_neg, 0)
        lse_pos = torch.logsumexp(-self.scale * sim_pos, 0)
        return torch.nn.functional.softplus(lse_neg + lse_pos)

    def graded(self, embeddings_a, embeddings_b, scores):
        """CoSENT of the aligned pairs ``(embeddings_a[k], embeddings_b[k])``.

        Parameters
        ----------
        embeddings_a, embeddings_b : tensors of shape (n_pairs, embedding_size)
        scores : tensor of shape (n_pairs,)
            Target scores; only their order is used (higher = more similar).

        Returns
        -------
        loss : scalar tensor
            Zero (still in the graph) when all scores are equal.
        """
        dist = resolve_distance(self.distance, _DEFAULT_DISTANCE)
        scores = torch.as_tensor(scores, device=embeddings_a.device)
        if embeddings_a.shape != embeddings_b.shape or scores.shape != embeddings_a.shape[:1]:
            raise ValueError(
                f"{type(self).__name__}.graded expects two (n_pairs, embedding_size) "
                f"tensors and n_pairs scores; got {tuple(embeddings_a.shape)}, "
                f"{tuple(embeddings_b.shape)} and {tuple(scores.shape)}."
            )
        sim = self._similarity(dist, dist.pairs(embeddings_a, embeddings_b))
        # entry (k, l): lambda (s_l - s_k), kept where t_k > t_l
        logits = self.scale * (sim.unsqueeze(0) - sim.unsqueeze(1))
        keep = scores.unsqueeze(1) > scores.unsqueeze(0)
        if not keep.any():
            return zero_loss(embeddings_a) + zero_loss(embeddings_b)
        return masked_logsumexp(logits.reshape(1, -1), keep.reshape(1, -1), add_one=True)[0]

"""ICNN loss (Mendez-Ruiz et al., 2023)."""

import torch

from ..distances import EuclideanDistance
from .base import BasePairLoss, zero_loss

__all__ = ["ICNNLoss"]


class ICNNLoss(BasePairLoss):
    r"""One minus a nearest-neighbour class-separability score.

    For each sample :math:`i`, take its ``k`` nearest neighbours in the
    batch (chosen without gradient), split into same-class ones :math:`S_i`
    and other-class ones :math:`D_i`:

    - :math:`\lambda_i = |S_i| / k`, the share of same-class neighbours;
    - :math:`\omega_i = \bar d(i, D_i) / (\bar d(i, S_i) + \bar d(i, D_i))`,
      inter- versus intra-class distance (means over the neighbours; 1 when
      :math:`D_i` is empty, 0 when :math:`S_i` is);
    - score :math:`\lambda_i \omega_i`, and :math:`L = 1 -
      \operatorname{mean}_i \lambda_i\omega_i`.

    The gradient flows through the distances in :math:`\omega`.

    Parameters
    ----------
    k : int, default=5
        Neighbours per sample (at most ``B - 1``).
    distance : BaseDistance, str or None, default=None
        A distance (not a similarity); ``None`` means
        ``EuclideanDistance(normalize_embeddings=True)``.

    Notes
    -----
    The formula is the working definition of papers.md (D5), not checked
    against the authors' code.  ``indices_tuple`` is ignored.  A batch of
    one sample gives zero.

    References
    ----------
    M. Mendez-Ruiz et al. "SuSana Distancia is all you need: Enforcing class
    separability in metric learning via two novel distance-based loss
    functions for few-shot image classification". 2023. arXiv:2305.09062.
    """

    default_distance = EuclideanDistance(normalize_embeddings=True)

    def __init__(self, *, k=5, distance=None):
        super().__init__()
        self.k = k
        self.distance = distance

    def compute_loss(self, embeddings, labels, indices_tuple):
        dist = self.pair_distance()
        if dist.is_inverted:
            raise ValueError(
                f"ICNNLoss needs a distance, not a similarity; got {type(dist).__name__}."
            )
        n = len(labels)
        k = min(int(self.k), n - 1)
        if k < 1:
            return zero_loss(embeddings)
        d = dist(embeddings)
        with torch.no_grad():
            keys = d.detach().clone().fill_diagonal_(float("inf"))
            idx = keys.topk(k, dim=1, largest=False).indices
        d_nb = d.gather(1, idx)
        same = labels[idx] == labels.unsqueeze(1)
        n_same = same.sum(1)
        n_diff = k - n_same
        zero = torch.zeros((), dtype=d.dtype, device=d.device)
        intra = torch.where(same, d_nb, zero).sum(1) / n_same.clamp_min(1)
        inter = torch.where(same, zero, d_nb).sum(1) / n_diff.clamp_min(1)
        tiny = torch.finfo(d.dtype).tiny
        omega = inter / (intra + inter).clamp_min(tiny)
        omega = torch.where(n_diff == 0, 1.0, torch.where(n_same == 0, 0.0, omega))
        score = (n_same.to(d.dtype) / k) * omega
        return 1 - score.mean()

"""MW loss: a smooth AUC surrogate (Sheikholeslami et al., 2025)."""

import torch

from .._tuples import pair_masks, to_triplets
from ..distances import CosineSimilarity
from ..distances._resolve import as_badness
from .base import BasePairLoss, zero_loss

__all__ = ["MWLoss"]


class _AllTripletsSoftplus(torch.autograd.Function):
    # mean over all (a, p, n) of softplus((u[a, p] - u[a, n]) / tau), with
    # u "larger is farther"; rows of positive pairs in chunks of B so that
    # forward and backward hold O(B^2) memory, the gradient accumulated
    # into a B x B matrix.
    @staticmethod
    def forward(ctx, u, pos, neg, tau):
        a, p = pos.nonzero(as_tuple=True)
        n_neg = neg.sum(1)
        count = (n_neg[a]).sum().clamp_min(1).to(u.dtype)
        total = u.new_zeros(())
        chunk = max(1, u.shape[0])
        for start in range(0, len(a), chunk):
            aa, pp = a[start:start + chunk], p[start:start + chunk]
            z = (u[aa, pp].unsqueeze(1) - u[aa]) / tau
            total += (torch.nn.functional.softplus(z) * neg[aa]).sum()
        ctx.save_for_backward(u, a, p, neg, count)
        ctx.tau = tau
        return total / count

    @staticmethod
    def backward(ctx, grad):
        u, a, p, neg, count = ctx.saved_tensors
        tau = ctx.tau
        g = torch.zeros_like(u)
        chunk = max(1, u.shape[0])
        scale = grad / (count * tau)
        for start in range(0, len(a), chunk):
            aa, pp = a[start:start + chunk], p[start:start + chunk]
            z = (u[aa, pp].unsqueeze(1) - u[aa]) / tau
            w = torch.sigmoid(z) * neg[aa] * scale  # d/du[a,p] = +w, d/du[a,n] = -w
            g.index_add_(0, aa, -w)
            g.index_put_((aa, pp), w.sum(1), accumulate=True)
        return g, None, None, None


class MWLoss(BasePairLoss):
    r"""Binary cross-entropy on score differences: a Mann-Whitney (AUC) surrogate.

    For each anchor :math:`a`, every positive :math:`p` should score above
    every negative :math:`n`:

    .. math::
        L = \operatorname{mean}_{(a,p,n)} \operatorname{softplus}
            \big((s_{an} - s_{ap}) / \tau\big)

    which upper-bounds :math:`\log 2 \cdot (1 - \mathrm{AUC})` of each
    query's ranking.  All triplets are used without listing them: the
    positive pairs are processed in chunks of ``B`` rows and the gradient
    is written by hand, so memory stays ``O(B^2)``.

    Parameters
    ----------
    temperature : float, default=1
        :math:`\tau` (the paper's form has none; smaller values sharpen the
        surrogate).
    distance : BaseDistance, str or None, default=None
        ``None`` means :class:`~skmetric.distances.CosineSimilarity`; with a
        distance the score is :math:`-d`.

    Notes
    -----
    The pairs are compared per query (anchor), the retrieval AUC; the paper's
    exact pair scope (per query or across the batch) is not verified.  With
    ``indices_tuple`` the given triplets (or pairs joined on their anchor)
    are used.  No triplet gives zero.

    References
    ----------
    S. Sheikholeslami et al. "Optimizing What Matters: AUC-Driven Learning
    for Robust Neural Retrieval". 2025. arXiv:2510.00137.
    """

    default_distance = CosineSimilarity()

    def __init__(self, *, temperature=1.0, distance=None):
        super().__init__()
        self.temperature = temperature
        self.distance = distance

    def compute_loss(self, embeddings, labels, indices_tuple):
        dist = self.pair_distance()
        u = as_badness(dist(embeddings), dist)
        if indices_tuple is None:
            pos, neg = pair_masks(labels)
            if not (pos.any(1) & neg.any(1)).any():
                return zero_loss(embeddings)
            return _AllTripletsSoftplus.apply(u, pos, neg.to(u.dtype), float(self.temperature))
        a, p, n = to_triplets(indices_tuple, labels)
        if len(a) == 0:
            return zero_loss(embeddings)
        return torch.nn.functional.softplus((u[a, p] - u[a, n]) / self.temperature).mean()

"""Triplet margin loss (Schroff et al., 2015)."""

import torch

from .._tuples import pair_masks, to_triplets
from ..distances import EuclideanDistance
from ..distances._resolve import as_badness
from ._utils import pair_values
from .base import BasePairLoss, zero_loss

__all__ = ["TripletMarginLoss"]



class TripletMarginLoss(BasePairLoss):
    r"""Ask each positive to be closer than each negative by ``margin``.

    For a triplet (anchor :math:`a`, positive :math:`p`, negative :math:`n`):

    .. math::
        \ell_{apn} = [d_{ap} - d_{an} + m]_+ ,\qquad
        L = \operatorname{AvgNonZero}_{(a,p,n)} \ell_{apn}

    (the mean of the strictly positive terms; 0 when none).  With
    ``smooth_loss=True`` the hinge is replaced by
    :math:`\operatorname{softplus}(d_{ap} - d_{an} + m)`; with ``swap=True``
    :math:`d_{an}` becomes :math:`\min(d_{an}, d_{pn})`.  For a similarity
    the differences are reversed (:math:`s_{an} - s_{ap} + m`).

    Parameters
    ----------
    margin : float, default=0.05
        The margin :math:`m` (pytorch-metric-learning's default, on unit
        vectors; FaceNet used 0.2 on squared distances).
    swap : bool, default=False
        Use the positive-negative distance when it is smaller (Balntas et
        al.'s "distance swap").
    smooth_loss : bool, default=False
        Softplus instead of the hinge.
    distance : BaseDistance, str or None, default=None
        ``None`` means ``EuclideanDistance(normalize_embeddings=True)``.
    reducer : str, BaseReducer or None, default=None
        Reduces the per-triplet terms (anchor: the triplet's anchor); with a reducer every triplet is listed.  ``None`` means ``"mean_nonzero"``.

    Notes
    -----
    Without ``indices_tuple`` all valid triplets of the batch are used.  For
    the default hinge this is computed without listing the triplets: per
    anchor the negatives are sorted once, and for each positive the number
    of violating negatives and their sum come from a binary search and a
    cumulative sum (``O(B^2 log B)`` time, ``O(B^2)`` memory).  With
    ``swap`` or ``smooth_loss`` a dense (positive pairs x batch) matrix is
    used: memory ``O(|P| B)``, at most about ``B^3 / 4`` for two classes.  A miner's
    triplets are used as given; pairs ``(a1, p, a2, n)`` are joined on the
    anchor as in pytorch-metric-learning.  PML's ``triplets_per_anchor``
    (random subsampling) is not offered: use a miner.

    References
    ----------
    F. Schroff, D. Kalenichenko and J. Philbin. "FaceNet: A Unified
    Embedding for Face Recognition and Clustering". CVPR 2015.
    arXiv:1503.03832.
    """

    default_distance = EuclideanDistance(normalize_embeddings=True)

    def __init__(self, *, margin=0.05, swap=False, smooth_loss=False, distance=None,
                 reducer=None):
        super().__init__()
        self.margin = margin
        self.swap = swap
        self.smooth_loss = smooth_loss
        self.distance = distance
        self.reducer = reducer

    def compute_loss(self, embeddings, labels, indices_tuple):
        dist = self.pair_distance()
        if indices_tuple is None and self.reducer is None:
            u = as_badness(dist(embeddings), dist)
            if self.swap or self.smooth_loss:
                return self._all_triplets_dense(u, labels)
            return self._all_triplets_hinge(u, labels)
        a, p, n = to_triplets(indices_tuple, labels)
        if len(a) == 0:
            return zero_loss(embeddings)
        pairs = [(a, p), (a, n)] + ([(p, n)] if self.swap else [])
        values = pair_values(dist, embeddings, pairs)
        if values is None:
            mat = dist(embeddings)
            values = [mat[i, j] for i, j in pairs]
        values = [as_badness(v, dist) for v in values]
        ap, an = values[0], values[1]
        if self.swap:
            an = torch.minimum(an, values[2])
        violation = ap - an + self.margin
        if self.smooth_loss:
            losses = torch.nn.functional.softplus(violation)
        else:
            losses = torch.relu(violation)
        return self.reduce(losses, a, default="mean_nonzero")

    def _all_triplets_dense(self, u, labels):
        # one row per positive pair (a, p), one column per candidate negative:
        # rows of u are copied whole (contiguous), never single elements.
        pos, neg = pair_masks(labels)
        a, p = pos.nonzero(as_tuple=True)
        an = u.index_select(0, a)
        if self.swap:
            an = torch.minimum(an, u.index_select(0, p))
        violation = u[a, p].unsqueeze(1) + self.margin - an
        if self.smooth_loss:
            losses = torch.nn.functional.softplus(violation)
        else:
            losses = torch.relu(violation)
        keep = neg.index_select(0, a).logical_and_(losses > 0)
        return (losses * keep).sum() / keep.sum().clamp_min(1).to(losses.dtype)

    def _all_triplets_hinge(self, u, labels):
        # u: "larger is farther" matrix.  For anchor a and positive p, the
        # violating negatives are those with u[a, n] < u[a, p] + margin; their
        # count k and the sum of their u come from the sorted negative row.
        pos, neg = pair_masks(labels)
        keys = u.detach().masked_fill(~neg, float("inf"))
        keys, order = keys.sort(dim=1)
        vals = u.gather(1, order).masked_fill(torch.isinf(keys), 0)
        csum = torch.nn.functional.pad(vals.cumsum(1), (1, 0))
        x = u + self.margin
        k = torch.searchsorted(keys, x.detach()).masked_fill_(~pos, 0)
        total = (k.to(u.dtype) * x - csum.gather(1, k)).sum()
        return total / k.sum().clamp_min(1).to(u.dtype)

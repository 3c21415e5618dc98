"""Triplet-margin miner: hard, semi-hard, easy or all margin violators."""

from .._tuples import all_triplets
from ..distances import EuclideanDistance
from ..distances._resolve import as_badness
from .base import BaseMiner

__all__ = ["TripletMarginMiner"]

_TYPES = ("all", "hard", "semihard", "easy")


class TripletMarginMiner(BaseMiner):
    r"""Keep the triplets whose margin :math:`\mu = d_{an} - d_{ap}` qualifies.

    With ``margin`` :math:`m` (for a similarity :math:`\mu = s_{ap} -
    s_{an}`):

    - ``"all"``: :math:`\mu \le m` (every triplet that violates the margin);
    - ``"hard"``: :math:`\mu \le 0` (the negative is at least as close as
      the positive);
    - ``"semihard"``: :math:`0 < \mu \le m` (FaceNet's semi-hard
      negatives);
    - ``"easy"``: :math:`\mu > m`.

    Returns triplets ``(a, p, n)``, in lexicographic order.  The registry
    name ``"semihard"`` builds this miner with ``type_of_triplets="semihard"``.

    Parameters
    ----------
    margin : float, default=0.2
        The margin :math:`m`.
    type_of_triplets : {"semihard", "hard", "all", "easy"}, default="semihard"
        Which triplets to keep.  pytorch-metric-learning defaults to
        ``"all"``; we default to FaceNet's semi-hard selection.
    distance : BaseDistance, str or None, default=None
        ``None`` means ``EuclideanDistance(normalize_embeddings=True)``.

    References
    ----------
    F. Schroff, D. Kalenichenko and J. Philbin. "FaceNet: A Unified
    Embedding for Face Recognition and Clustering". CVPR 2015.
    arXiv:1503.03832.
    """

    tuple_size = 3

    default_distance = EuclideanDistance(normalize_embeddings=True)

    def __init__(self, *, margin=0.2, type_of_triplets="semihard", distance=None):
        super().__init__()
        self.margin = margin
        self.type_of_triplets = type_of_triplets
        self.distance = distance

    def mine(self, embeddings, labels):
        if self.type_of_triplets not in _TYPES:
            raise ValueError(
                f"`type_of_triplets` of {type(self).__name__} must be one of "
                f"{list(_TYPES)}; got {self.type_of_triplets!r}."
            )
        dist = self.pair_distance()
        a, p, n = all_triplets(labels)
        u = as_badness(dist(embeddings), dist)
        mu = u[a, n] - u[a, p]
        if self.type_of_triplets == "easy":
            keep = mu > self.margin
        else:
            keep = mu <= self.margin
            if self.type_of_triplets == "hard":
                keep &= mu <= 0
            elif self.type_of_triplets == "semihard":
                keep &= mu > 0
        return a[keep], p[keep], n[keep]

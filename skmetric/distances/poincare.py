"""Geodesic distance of the Poincaré ball (pure torch)."""

from ..geometry import expmap0, pairwise_dist, dist, project
from .base import BaseDistance

__all__ = ["PoincareDistance"]


class PoincareDistance(BaseDistance):
    r"""Geodesic distance in the Poincaré ball of curvature :math:`-c`.

    .. math::
        d_c(x, y) = \frac{2}{\sqrt c}\operatorname{artanh}
        \big(\sqrt c\,\|(-x)\oplus_c y\|\big)

    computed in a clamp-free ``asinh`` form that stays accurate at the edge
    of the ball (see :mod:`skmetric.geometry`).

    Parameters
    ----------
    c : float, default=1.0
        Curvature magnitude; ``0`` gives twice the Euclidean distance.
    tangent_input : bool, default=True
        Treat the embeddings as tangent vectors at the origin and map them
        into the ball with ``expmap0`` (what a network with a Euclidean last
        layer produces).  ``False``: the embeddings are already points of the
        ball; they are projected inside it.
    normalize_embeddings : bool, default=False
        L2-normalise the embeddings first (before the map).
    """

    def __init__(self, *, c=1.0, tangent_input=True, normalize_embeddings=False):
        super().__init__(normalize_embeddings=normalize_embeddings)
        self.c = c
        self.tangent_input = tangent_input

    def _to_ball(self, x):
        if self.tangent_input:
            return expmap0(x, c=self.c)
        return project(x, c=self.c)

    def compute_matrix(self, query, ref):
        return pairwise_dist(self._to_ball(query), self._to_ball(ref), c=self.c)

    def compute_pairs(self, a, b):
        return dist(self._to_ball(a), self._to_ball(b), c=self.c)

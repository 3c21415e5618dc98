"""Signal-to-noise-ratio distance (Yuan et al., 2019) (pure torch)."""

from .base import BaseDistance

__all__ = ["SNRDistance"]

# Var(anchor) floor: a constant embedding would divide by zero
_EPS = 1e-12


class SNRDistance(BaseDistance):
    r"""Signal-to-noise ratio :math:`\operatorname{Var}(b - a) / \operatorname{Var}(a)`.

    The variance is taken over the embedding dimensions (unbiased, as in
    pytorch-metric-learning; the ratio does not depend on it).  The distance
    is **asymmetric**: the query ``a`` is the signal, ``b - a`` the noise.
    The matrix is computed from centred rows,
    :math:`\|\tilde a - \tilde b\|^2 / ((D - 1)\operatorname{Var}(a))`, so
    no ``B x B x D`` tensor is formed.  ``Var(a)`` is floored at ``1e-12``.

    Parameters
    ----------
    normalize_embeddings : bool, default=True
        L2-normalise the embeddings first (pytorch-metric-learning's default
        for this distance).

    References
    ----------
    T. Yuan, W. Deng, J. Tang, Y. Tang and B. Chen. "Signal-to-Noise Ratio:
    A Robust Distance Metric for Deep Metric Learning". CVPR 2019.
    arXiv:1904.02616.
    """

    def __init__(self, *, normalize_embeddings=True):
        super().__init__(normalize_embeddings=normalize_embeddings)

    @staticmethod
    def _centred(x):
        return x - x.mean(-1, keepdim=True)

    def compute_matrix(self, query, ref):
        from ._distances import _squared_euclidean

        qc = self._centred(query)
        rc = qc if ref is query else self._centred(ref)
        dof = max(query.shape[-1] - 1, 1)
        var_q = (qc * qc).sum(-1, keepdim=True).clamp_min(_EPS * dof)
        return _squared_euclidean(qc, rc) / var_q

    def compute_pairs(self, a, b):
        ac = self._centred(a)
        noise = self._centred(b - a)
        dof = max(a.shape[-1] - 1, 1)
        return (noise * noise).sum(-1) / (ac * ac).sum(-1).clamp_min(_EPS * dof)

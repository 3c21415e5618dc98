"""Equiangular Basis Vectors (Shen, Sun & Wei, 2023)."""

import math
import warnings

import torch
from torch import nn

from .margin_softmax import BaseMarginSoftmaxLoss
from .polytope import POLYTOPES, polytope_vectors

__all__ = ["EBVLoss", "equiangular_vectors"]


def welch_bound(n, d):
    """Lowest possible largest ``|cos|`` of ``n`` unit vectors in ``R^d``."""
    if n <= d:
        return 0.0
    return math.sqrt((n - d) / (d * (n - 1)))


def equiangular_vectors(n, d, *, max_cosine=None, max_iter=2000, dtype=torch.float32):
    r"""``n`` unit vectors in ``R^d`` with pairwise :math:`|\cos| \le` ``max_cosine``.

    For ``n <= d`` an orthonormal set (a QR factor of a Gaussian matrix;
    every cosine is 0).  Otherwise random unit vectors are moved to minimise
    :math:`\sum_{i \ne j} [|w_i \cdot w_j| - \epsilon]_+^2` (Adam,
    renormalised each step; the official code's unsquared hinge lets a few
    pairs collapse in low dimension) until the largest
    :math:`|\cos|` is within ``1e-4`` of :math:`\epsilon` or ``max_iter``
    steps.  Random draws use torch's generator.

    ``max_cosine=None`` means 0 for ``n <= d`` and the Welch bound plus 0.1
    otherwise (the bound itself is rarely reachable); a warning says when
    the target was not reached.  A target below the Welch bound
    :math:`\sqrt{(n - d)/(d(n - 1))}` is impossible and raises.
    """
    bound = welch_bound(n, d)
    eps = (bound + 0.1 if n > d else 0.0) if max_cosine is None else float(max_cosine)
    if eps < bound:
        raise ValueError(
            f"`max_cosine`={eps} is below the Welch bound {bound:.4g} for {n} vectors in "
            f"dimension {d}: no such vectors exist."
        )
    if n <= d:
        q, _ = torch.linalg.qr(torch.randn(d, n, dtype=torch.float64))
        return q.T.contiguous().to(dtype)
    w = nn.functional.normalize(torch.randn(n, d, dtype=torch.float64), dim=1)
    w.requires_grad_(True)
    opt = torch.optim.Adam([w], lr=1e-2)
    off = ~torch.eye(n, dtype=torch.bool)
    worst = float("inf")
    for _ in range(max_iter):
        cos = (w @ w.T)[off].abs()
        worst = cos.max().item()
        if worst <= eps + 1e-4:
            break
        opt.zero_grad()
        (torch.relu(cos - eps) ** 2).sum().backward()
        opt.step()
        with torch.no_grad():
            w.div_(w.norm(dim=1, keepdim=True))
    if worst > eps + 1e-4:
        warnings.warn(
            f"equiangular_vectors: largest |cos| {worst:.4g} after {max_iter} steps "
            f"(target {eps:.4g}).",
            RuntimeWarning,
            stacklevel=2,
        )
    return w.detach().to(dtype)


class EBVLoss(BaseMarginSoftmaxLoss):
    r"""Cross-entropy towards fixed, nearly orthogonal class vectors.

    Each class gets a frozen unit vector :math:`w_c` (see
    :func:`equiangular_vectors`); the loss is the cross-entropy of the
    logits :math:`\hat x \cdot w_c / \tau`, i.e. it minimises the spherical
    distance to the class's vector.  Nothing is learned in the loss.

    With ``geometry="simplex"``, ``"orthoplex"`` or ``"cube"`` the class
    vectors are instead the vertices of a regular polytope, as in CoReS
    (see :func:`~skmetric.losses.polytope.polytope_vectors`): deterministic,
    and limited to ``embedding_size + 1``, ``2 * embedding_size`` and
    ``2 ** embedding_size`` classes respectively (a ``ValueError`` says so
    when the loss is built with more).

    Parameters
    ----------
    temperature : float, default=0.07
        :math:`\tau` (official value).
    label_smoothing : float, default=0
        The official ImageNet script uses 0.1.
    max_cosine : float, default=None
        Largest allowed :math:`|\cos|` between two class vectors (see
        :func:`equiangular_vectors`); used by ``geometry="ebv"`` only.
    geometry : {"ebv", "simplex", "orthoplex", "cube"}, default="ebv"
        How the fixed class vectors are made: equiangular basis vectors, or
        a CoReS regular polytope.
    num_classes, embedding_size, reducer
        As in :class:`~skmetric.losses.BaseMarginSoftmaxLoss`.

    Attributes
    ----------
    vectors : torch.Tensor of shape (num_classes, embedding_size)
        The class vectors (a buffer, not a parameter).

    References
    ----------
    Y. Shen, X. Sun and X.-S. Wei. "Equiangular Basis Vectors". CVPR 2023.
    arXiv:2303.11637.

    N. Biondi, F. Pernici, M. Bruni and A. Del Bimbo. "CoReS: Compatible
    Representations via Stationarity". IEEE TPAMI 2023 (polytope vectors;
    the CoReS training of compatible models across updates is not part of
    this loss).
    """

    weight_name = "vectors"
    weight_layout = "rows"

    def __init__(self, *, temperature=0.07, label_smoothing=0.0, max_cosine=None,
                 geometry="ebv", num_classes=None, embedding_size=None, reducer=None):
        super().__init__()
        self.temperature = temperature
        self.label_smoothing = label_smoothing
        self.max_cosine = max_cosine
        self.geometry = geometry
        self.reducer = reducer
        self._set_sizes(num_classes, embedding_size)

    def init_weight(self, n_vectors, embedding_size):
        # frozen: a buffer, not a parameter
        kind = self.geometry
        if kind == "ebv":
            w = equiangular_vectors(n_vectors, embedding_size, max_cosine=self.max_cosine)
        elif kind in POLYTOPES:
            w = polytope_vectors(kind, n_vectors, embedding_size)
        else:
            raise ValueError(
                f"`geometry` of EBVLoss must be one of {['ebv', *POLYTOPES]}; got {kind!r}."
            )
        self.register_buffer("vectors", w)

    def set_params(self, **params):
        # new class vectors when what makes them changes
        super().set_params(**params)
        if {"geometry", "max_cosine"} & set(params):
            self._set_sizes(self.num_classes, self.embedding_size)
        return self

    def logits(self, embeddings, labels):
        return self.class_cosines(embeddings, scale=1 / self.temperature)

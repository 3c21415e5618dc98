"""Regular-polytope class vectors (CoReS: Biondi et al., TPAMI 2023).

Fixed, non-learned classifier vectors at the vertices of a regular
polytope: the simplex (the most separated: every cosine ``-1/(K-1)``), the
orthoplex (``±e_i``) or the hypercube (``±1/sqrt(m)`` coordinates).
"""

import math

import torch

__all__ = ["POLYTOPES", "polytope_vectors"]

POLYTOPES = ("simplex", "orthoplex", "cube")


def _max_classes(kind, d):
    if kind == "simplex":
        return d + 1
    if kind == "orthoplex":
        return 2 * d
    return 2 ** d if d < 63 else math.inf


def polytope_vectors(kind, n, d, *, dtype=torch.float32):
    r"""``n`` unit vectors in ``R^d`` at vertices of a regular polytope.

    ``"simplex"``: the ``n`` vertices of the regular simplex in
    :math:`\mathbb{R}^{n-1}` (the centred standard basis, in the Helmert
    basis), padded with zeros; every pairwise cosine is :math:`-1/(n-1)`.
    Needs :math:`n \le d + 1`.

    ``"orthoplex"``: :math:`e_1, -e_1, e_2, -e_2, \dots` (the first ``n``);
    cosines are 0 or -1.  Needs :math:`n \le 2d`.

    ``"cube"``: the first ``n`` vertices (in binary order) of the cube
    :math:`\{\pm 1/\sqrt m\}^m`, :math:`m = \lceil \log_2 n \rceil` (at least
    1), padded with zeros.  Needs :math:`n \le 2^d`.

    Deterministic (no random draw).  Raises ``ValueError`` when the polytope
    has fewer than ``n`` vertices in dimension ``d``.
    """
    if kind not in POLYTOPES:
        raise ValueError(f"Unknown polytope {kind!r}; expected one of {list(POLYTOPES)}.")
    n, d = int(n), int(d)
    limit = _max_classes(kind, d)
    if n > limit:
        raise ValueError(
            f"A {kind} in dimension {d} has {limit} vertices; {n} classes need "
            f"embedding_size >= {_min_dimension(kind, n)}."
        )
    out = torch.zeros(n, d, dtype=torch.float64)
    if kind == "simplex":
        if n == 1:
            out[0, 0] = 1.0
        else:
            out[:, : n - 1] = _helmert(n).T
    elif kind == "orthoplex":
        idx = torch.arange(n)
        out[idx, idx // 2] = torch.where(idx % 2 == 0, 1.0, -1.0).double()
    else:
        m = max(1, math.ceil(math.log2(n)))
        bits = (torch.arange(n)[:, None] >> torch.arange(m - 1, -1, -1)[None, :]) & 1
        out[:, :m] = (1.0 - 2.0 * bits.double()) / math.sqrt(m)
    out = out / out.norm(dim=1, keepdim=True)
    return out.to(dtype)


def _min_dimension(kind, n):
    if kind == "simplex":
        return n - 1
    if kind == "orthoplex":
        return math.ceil(n / 2)
    return max(1, math.ceil(math.log2(n)))


def _helmert(n):
    # (n - 1, n): orthonormal rows orthogonal to the all-ones vector
    h = torch.zeros(n - 1, n, dtype=torch.float64)
    for i in range(1, n):
        h[i - 1, :i] = 1.0
        h[i - 1, i] = -float(i)
        h[i - 1] /= math.sqrt(i * (i + 1))
    return h

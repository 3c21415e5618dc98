"""Distances: properties and agreement with torch's own functions."""

import pickle

import pytest
import torch
from sklearn.base import clone

from skmetric.distances import (
    DISTANCES,
    BaseDistance,
    CosineSimilarity,
    DotProductSimilarity,
    EuclideanDistance,
    SquaredEuclideanDistance,
    get_distance,
)

SEEDS = [0, 1, 2]


def _x(seed, n=9, dim=5, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=g, dtype=dtype)


ALL = [EuclideanDistance, SquaredEuclideanDistance, CosineSimilarity, DotProductSimilarity]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_symmetric_and_pairs_match_matrix(cls, seed):
    x, y = _x(seed), _x(seed + 10, n=6)
    d = cls()
    mat = d(x)
    torch.testing.assert_close(mat, mat.T)
    assert d(x, y).shape == (9, 6)
    torch.testing.assert_close(d.pairs(x[:6], y), torch.diagonal(d(x[:6], y)))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("normalize", [False, True])
def test_euclidean_matches_cdist(seed, normalize):
    x, y = _x(seed), _x(seed + 10, n=6)
    if normalize:
        xn, yn = torch.nn.functional.normalize(x, dim=1), torch.nn.functional.normalize(y, dim=1)
    else:
        xn, yn = x, y
    d = EuclideanDistance(normalize_embeddings=normalize)
    torch.testing.assert_close(d(x, y), torch.cdist(xn, yn))
    torch.testing.assert_close(d(x), torch.cdist(xn, xn), atol=1e-7, rtol=1e-7)
    sq = SquaredEuclideanDistance(normalize_embeddings=normalize)
    torch.testing.assert_close(sq(x, y), torch.cdist(xn, yn) ** 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_self_distance_zero(seed):
    x = _x(seed)
    for d in (EuclideanDistance(), SquaredEuclideanDistance(), EuclideanDistance(normalize_embeddings=True)):
        assert (torch.diagonal(d(x)) == 0).all()
        assert (d.pairs(x, x) == 0).all()
    torch.testing.assert_close(torch.diagonal(CosineSimilarity()(x)), torch.ones(9, dtype=x.dtype))


@pytest.mark.parametrize("seed", SEEDS)
def test_triangle_inequality(seed):
    d = EuclideanDistance()(_x(seed, n=7))
    assert (d.unsqueeze(2) <= d.unsqueeze(1) + d.T.unsqueeze(0) + 1e-12).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_cosine_and_dot(seed):
    x, y = _x(seed), _x(seed + 10, n=6)
    cos = torch.nn.functional.cosine_similarity(x.unsqueeze(1), y.unsqueeze(0), dim=-1)
    torch.testing.assert_close(CosineSimilarity()(x, y), cos)
    # cosine is scale invariant; the dot product is not
    torch.testing.assert_close(CosineSimilarity()(3 * x, y), cos)
    torch.testing.assert_close(DotProductSimilarity()(x, y), x @ y.T)
    xn = torch.nn.functional.normalize(x, dim=1)
    yn = torch.nn.functional.normalize(y, dim=1)
    torch.testing.assert_close(DotProductSimilarity(normalize_embeddings=True)(x, y), xn @ yn.T)


def test_gradient_finite_at_duplicates():
    x = torch.tensor([[1.0, 2.0], [1.0, 2.0], [0.0, 1.0]], requires_grad=True)
    d = EuclideanDistance()
    (d(x).sum() + d.pairs(x[:2], x[1:]).sum()).backward()
    assert torch.isfinite(x.grad).all()


def test_inverted_margin_closer():
    assert not EuclideanDistance.is_inverted and not SquaredEuclideanDistance.is_inverted
    assert CosineSimilarity.is_inverted and DotProductSimilarity.is_inverted
    a, b = torch.tensor([1.0]), torch.tensor([2.0])
    # distance: 1 is closer than 2; similarity: 2 is closer than 1
    assert EuclideanDistance().closer(a, b).item() and not CosineSimilarity().closer(a, b).item()
    assert EuclideanDistance().margin(b, a).item() == 1.0  # a is closer by 1
    assert CosineSimilarity().margin(a, b).item() == 1.0  # b is closer by 1


def test_registry():
    assert {"euclidean", "sqeuclidean", "cosine", "dot"} <= set(DISTANCES)
    for name in ("euclidean", "sqeuclidean", "cosine", "dot"):
        assert type(get_distance(name)) is DISTANCES[name]
    d = CosineSimilarity()
    assert get_distance(d) is d
    assert get_distance("euclidean", normalize_embeddings=True).normalize_embeddings
    with pytest.raises(ValueError, match="Unknown distance 'l1'. Valid names are: \\["):
        get_distance("l1")


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_params_clone_pickle(cls):
    d = cls(normalize_embeddings=True)
    assert d.get_params() == {"normalize_embeddings": True}
    d2 = clone(d)
    assert isinstance(d2, BaseDistance) and d2.get_params() == d.get_params()
    pickle.loads(pickle.dumps(d))
    d.set_params(normalize_embeddings=True)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("normalize", [False, True])
def test_euclidean_gradient_matches_cdist(seed, normalize):
    x = _x(seed).requires_grad_(True)
    x2 = x.detach().clone().requires_grad_(True)
    w = _x(seed + 20, n=9, dim=9)
    w.fill_diagonal_(0)  # cdist's gradient at 0 is 0 too, but keep the test on smooth terms
    (EuclideanDistance(normalize_embeddings=normalize)(x) * w).sum().backward()
    xn = torch.nn.functional.normalize(x2, dim=1) if normalize else x2
    (torch.cdist(xn, xn) * w).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad)


@pytest.mark.parametrize("seed", SEEDS)
def test_l2_normalize_matches_torch(seed):
    from skmetric.distances._normalize import l2_normalize

    x = _x(seed)
    x[0] = 0.0  # a zero row: clamped norm
    x[1] *= 1e-14
    g = _x(seed + 5)
    a = x.clone().requires_grad_(True)
    b = x.clone().requires_grad_(True)
    ya, yb = l2_normalize(a), torch.nn.functional.normalize(b, dim=-1)
    torch.testing.assert_close(ya, yb)
    (ya * g).sum().backward()
    (yb * g).sum().backward()
    torch.testing.assert_close(a.grad, b.grad)


def test_cosine_matrix_gradcheck():
    from skmetric.distances._normalize import cosine_matrix, safe_sqrt

    a = _x(0, n=6, dim=4).requires_grad_(True)
    b = _x(1, n=3, dim=4).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: cosine_matrix(a, b, scale=3.0), (a, b))
    assert torch.autograd.gradcheck(lambda a: cosine_matrix(a, scale=0.5), (a,))
    assert torch.autograd.gradcheck(lambda b: cosine_matrix(a.detach(), b), (b,))
    d2 = (_x(2, n=5, dim=1).abs() + 0.1).requires_grad_(True)
    assert torch.autograd.gradcheck(safe_sqrt, (d2,))
    # no grad: same values through the plain path
    with torch.no_grad():
        torch.testing.assert_close(cosine_matrix(a, b), CosineSimilarity()(a, b))


# ---------------------------------------------------------------- SNR and Lp

from skmetric.distances import LpDistance, SNRDistance  # noqa: E402


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("normalize", [False, True])
def test_snr_matches_pml(seed, normalize):
    from pytorch_metric_learning.distances import SNRDistance as PMLSNR

    x, y = _x(seed), _x(seed + 10, n=6)
    ours, theirs = SNRDistance(normalize_embeddings=normalize), PMLSNR(normalize_embeddings=normalize)
    torch.testing.assert_close(ours(x, y), theirs(x, y))
    torch.testing.assert_close(ours(x), theirs(x), atol=1e-12, rtol=1e-7)
    torch.testing.assert_close(ours.pairs(x[:6], y), theirs.pairwise_distance(
        theirs.maybe_normalize(x[:6]), theirs.maybe_normalize(y)))
    assert (torch.diagonal(ours(x)) == 0).all()
    # asymmetric: the query is the signal
    assert not torch.allclose(ours(x, y)[:6, :6], ours(y, x[:6]).T)


def test_snr_constant_embedding_finite():
    x = torch.tensor([[1.0, 1.0, 1.0], [0.0, 1.0, 2.0]], requires_grad=True)
    d = SNRDistance(normalize_embeddings=False)(x)
    d.sum().backward()
    assert torch.isfinite(d).all() and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("p", [1, 1.5, 2, 3, float("inf")])
def test_lp_matches_pml_and_gradient_finite(seed, p):
    from pytorch_metric_learning.distances import LpDistance as PMLLp

    x, y = _x(seed), _x(seed + 10, n=6)
    d = LpDistance(p=p)
    torch.testing.assert_close(d(x, y), PMLLp(p=p, normalize_embeddings=False)(x, y))
    torch.testing.assert_close(d.pairs(x[:6], y), torch.diagonal(d(x[:6], y)))
    z = x.clone().requires_grad_(True)
    (d(z).sum() + d.pairs(z, z).sum()).backward()
    assert torch.isfinite(z.grad).all()
    with pytest.raises(ValueError, match="`p` of LpDistance must be positive"):
        LpDistance(p=0)(x)


def test_new_distances_registered_and_usable_by_losses():
    from skmetric.losses import ContrastiveLoss

    assert type(get_distance("snr")) is SNRDistance and get_distance("lp", p=1).p == 1
    emb = _x(0)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 0, 1, 2])
    for name in ("snr", "lp"):
        assert torch.isfinite(ContrastiveLoss(distance=name)(emb, labels))

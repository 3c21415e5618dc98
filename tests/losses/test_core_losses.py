"""Losses: values and gradients against pytorch-metric-learning and loop references."""

import pickle

import pytest
import torch
from pytorch_metric_learning import distances as pml_distances
from pytorch_metric_learning import losses as pml_losses
from pytorch_metric_learning import miners as pml_miners
from sklearn.base import clone

from skmetric.distances import CosineSimilarity, EuclideanDistance
from skmetric.losses import (
    LOSSES,
    ArcFaceLoss,
    CircleLoss,
    ContrastiveLoss,
    MultiSimilarityLoss,
    NormalizedSoftmaxLoss,
    ProxyAnchorLoss,
    TripletMarginLoss,
    get_loss,
)
from skmetric import _tuples
from skmetric.losses import _utils
from skmetric.losses.reducers import avg_nonzero

import _reference as ref

SEEDS = [0, 1, 2]
RTOL, ATOL = 1e-5, 1e-10
N_CLASSES, DIM = 5, 8


def _batch(seed, n=24, n_classes=N_CLASSES, dim=DIM, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    emb = torch.randn(n, dim, generator=g, dtype=dtype)
    labels = torch.randint(0, n_classes, (n,), generator=g)
    return emb, labels


def _proxy_pair(ours, theirs, our_attr, their_attr):
    ours = ours.double()
    theirs = theirs.double()
    getattr(ours, our_attr).data.copy_(getattr(theirs, their_attr).data)
    return ours, theirs


# name -> () -> (skmetric loss, PML loss); hyperparameters matched, some off-default
CASES = {
    "contrastive": lambda: (ContrastiveLoss(), pml_losses.ContrastiveLoss()),
    "contrastive_margins": lambda: (
        ContrastiveLoss(pos_margin=0.3, neg_margin=0.9),
        pml_losses.ContrastiveLoss(pos_margin=0.3, neg_margin=0.9),
    ),
    "contrastive_cosine": lambda: (
        ContrastiveLoss(pos_margin=0.8, neg_margin=0.2, distance="cosine"),
        pml_losses.ContrastiveLoss(
            pos_margin=0.8, neg_margin=0.2, distance=pml_distances.CosineSimilarity()
        ),
    ),
    "triplet_margin": lambda: (TripletMarginLoss(), pml_losses.TripletMarginLoss()),
    "triplet_margin_0.3": lambda: (
        TripletMarginLoss(margin=0.3), pml_losses.TripletMarginLoss(margin=0.3)
    ),
    "triplet_swap": lambda: (
        TripletMarginLoss(swap=True), pml_losses.TripletMarginLoss(swap=True)
    ),
    "triplet_smooth": lambda: (
        TripletMarginLoss(smooth_loss=True), pml_losses.TripletMarginLoss(smooth_loss=True)
    ),
    "triplet_cosine": lambda: (
        TripletMarginLoss(margin=0.2, distance=CosineSimilarity()),
        pml_losses.TripletMarginLoss(margin=0.2, distance=pml_distances.CosineSimilarity()),
    ),
    "multi_similarity": lambda: (MultiSimilarityLoss(), pml_losses.MultiSimilarityLoss()),
    "multi_similarity_tuned": lambda: (
        MultiSimilarityLoss(alpha=18, beta=76, base=0.77),
        pml_losses.MultiSimilarityLoss(alpha=18, beta=76, base=0.77),
    ),
    "multi_similarity_euclidean": lambda: (
        MultiSimilarityLoss(distance=EuclideanDistance(normalize_embeddings=True)),
        pml_losses.MultiSimilarityLoss(distance=pml_distances.LpDistance()),
    ),
    "circle": lambda: (CircleLoss(), pml_losses.CircleLoss()),
    "circle_face": lambda: (
        CircleLoss(m=0.25, gamma=256), pml_losses.CircleLoss(m=0.25, gamma=256)
    ),
    "proxy_anchor": lambda: _proxy_pair(
        ProxyAnchorLoss(num_classes=N_CLASSES, embedding_size=DIM),
        pml_losses.ProxyAnchorLoss(N_CLASSES, DIM),
        "proxies", "proxies",
    ),
    "proxy_anchor_tuned": lambda: _proxy_pair(
        ProxyAnchorLoss(alpha=16, margin=0.2, num_classes=N_CLASSES, embedding_size=DIM),
        pml_losses.ProxyAnchorLoss(N_CLASSES, DIM, margin=0.2, alpha=16),
        "proxies", "proxies",
    ),
    "arcface": lambda: _proxy_pair(
        ArcFaceLoss(num_classes=N_CLASSES, embedding_size=DIM),
        pml_losses.ArcFaceLoss(N_CLASSES, DIM),
        "W", "W",
    ),
    "arcface_tuned": lambda: _proxy_pair(
        ArcFaceLoss(margin=23.2, scale=100, num_classes=N_CLASSES, embedding_size=DIM),
        pml_losses.ArcFaceLoss(N_CLASSES, DIM, margin=23.2, scale=100),
        "W", "W",
    ),
    "normalized_softmax": lambda: _proxy_pair(
        NormalizedSoftmaxLoss(num_classes=N_CLASSES, embedding_size=DIM),
        pml_losses.NormalizedSoftmaxLoss(N_CLASSES, DIM),
        "weight", "W",
    ),
}


def _value_and_grads(loss, emb, labels, indices_tuple=None):
    emb = emb.clone().requires_grad_(True)
    value = loss(emb, labels, indices_tuple)
    params = [p for p in loss.parameters()]
    grads = torch.autograd.grad(value, [emb] + params, allow_unused=True)
    return value.detach(), grads


def _assert_same(ours, theirs):
    (v1, g1), (v2, g2) = ours, theirs
    torch.testing.assert_close(v1, v2, rtol=RTOL, atol=ATOL)
    assert len(g1) == len(g2)
    for a, b in zip(g1, g2):
        a = torch.zeros_like(b) if a is None else a
        b = torch.zeros_like(a) if b is None else b
        torch.testing.assert_close(a, b, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_pml(case, seed):
    ours, theirs = CASES[case]()
    emb, labels = _batch(seed)
    _assert_same(_value_and_grads(ours, emb, labels), _value_and_grads(theirs, emb, labels))


def _mined(kind, emb, labels):
    if kind == "pairs":
        return pml_miners.MultiSimilarityMiner(epsilon=0.1)(emb, labels)
    if kind == "triplets":
        return pml_miners.TripletMarginMiner(margin=0.2, type_of_triplets="all")(emb, labels)
    return pml_miners.BatchHardMiner()(emb, labels)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", ["pairs", "triplets", "batch_hard"])
@pytest.mark.parametrize(
    "case",
    ["contrastive", "triplet_margin", "triplet_swap", "multi_similarity", "circle",
     "proxy_anchor", "arcface", "normalized_softmax"],
)
def test_matches_pml_with_miner_indices(case, kind, seed):
    ours, theirs = CASES[case]()
    emb, labels = _batch(seed, n=20)
    indices = _mined(kind, emb, labels)
    assert len(indices[0]) > 0
    _assert_same(
        _value_and_grads(ours, emb, labels, indices),
        _value_and_grads(theirs, emb, labels, indices),
    )


# ---------------------------------------------------------------- loop references

REFERENCES = {
    "contrastive": (lambda: ContrastiveLoss(pos_margin=0.2, neg_margin=0.9),
                    lambda e, y: ref.contrastive(e, y, 0.2, 0.9)),
    "contrastive_squared": (lambda: ContrastiveLoss(squared=True),
                            lambda e, y: ref.contrastive(e, y, squared=True)),
    "triplet_margin": (lambda: TripletMarginLoss(margin=0.2),
                       lambda e, y: ref.triplet_margin(e, y, 0.2)),
    "triplet_swap": (lambda: TripletMarginLoss(margin=0.2, swap=True),
                     lambda e, y: ref.triplet_margin(e, y, 0.2, swap=True)),
    "multi_similarity": (lambda: MultiSimilarityLoss(),
                         lambda e, y: ref.multi_similarity(e, y)),
    "circle": (lambda: CircleLoss(), lambda e, y: ref.circle(e, y)),
}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", sorted(REFERENCES))
def test_matches_loop_reference(case, seed, dtype):
    make, reference = REFERENCES[case]
    emb, labels = _batch(seed, n=12, n_classes=3, dtype=dtype)
    loss = make()
    tol = dict(rtol=1e-5, atol=1e-10) if dtype == torch.float64 else dict(rtol=1e-3, atol=1e-5)
    e1 = emb.clone().requires_grad_(True)
    e2 = emb.clone().requires_grad_(True)
    v1 = loss(e1, labels)
    v2 = reference(e2, labels.tolist())
    v1.backward()
    v2.backward()
    torch.testing.assert_close(v1, v2.to(v1.dtype), **tol)
    torch.testing.assert_close(e1.grad, e2.grad, **tol)


@pytest.mark.parametrize("seed", [0, 1])
def test_proxy_losses_match_loop_reference(seed):
    emb, labels = _batch(seed, n=10, n_classes=4)
    arc = ArcFaceLoss(num_classes=4, embedding_size=DIM).double()
    pa = ProxyAnchorLoss(num_classes=4, embedding_size=DIM).double()
    for loss, reference in (
        (arc, lambda e: ref.arcface(e, labels.tolist(), arc.W)),
        (pa, lambda e: ref.proxy_anchor(e, labels.tolist(), pa.proxies)),
    ):
        e1 = emb.clone().requires_grad_(True)
        e2 = emb.clone().requires_grad_(True)
        v1, v2 = loss(e1, labels), reference(e2)
        v1.backward()
        v2.backward()
        torch.testing.assert_close(v1, v2, rtol=1e-6, atol=1e-10)
        torch.testing.assert_close(e1.grad, e2.grad, rtol=1e-6, atol=1e-10)


def test_arcface_handles_theta_beyond_pi_minus_margin():
    # embedding opposite to its class weight: theta ~ pi > pi - m
    loss = ArcFaceLoss(num_classes=2, embedding_size=2).double()
    loss.W.data = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    emb = torch.tensor([[-1.0, 0.05], [0.3, 1.0]], dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1])
    value = loss(emb, labels)
    value.backward()
    expected = ref.arcface(emb.detach().clone(), [0, 1], loss.W.detach())
    torch.testing.assert_close(value, expected)
    assert torch.isfinite(emb.grad).all()


def test_arcface_gradient_finite_at_cos_one():
    loss = ArcFaceLoss(num_classes=2, embedding_size=2)
    loss.W.data = torch.eye(2)
    emb = torch.tensor([[1.0, 0.0], [0.0, -1.0]], requires_grad=True)
    loss(emb, torch.tensor([0, 1])).backward()
    assert torch.isfinite(emb.grad).all()
    assert torch.isfinite(loss.W.grad).all()


# ---------------------------------------------------------------- edge cases

def _build(name, n_classes=3, dim=4):
    cls = LOSSES[name]
    kwargs = {"num_classes": n_classes, "embedding_size": dim} if cls.requires_num_classes else {}
    return get_loss(name, **kwargs)


PAIR_LOSSES = ["contrastive", "triplet_margin", "multi_similarity", "circle"]


DEGENERATE = {
    "one_class": [0, 0, 0, 0],
    "all_distinct": [0, 1, 2],
    "single_sample": [1],
}
# (loss, batch) where nothing can be computed.  Contrastive and
# multi-similarity still have a positive term on a one-class batch and a
# negative term on an all-distinct batch (as in PML, checked below).
NOTHING_TO_COMPUTE = [
    (name, batch)
    for name in PAIR_LOSSES
    for batch in DEGENERATE
    if name in ("triplet_margin", "circle") or batch == "single_sample"
]


@pytest.mark.parametrize("name, batch", NOTHING_TO_COMPUTE)
def test_no_valid_pairs_gives_zero_and_backward_runs(name, batch):
    labels = DEGENERATE[batch]
    loss = _build(name)
    emb = torch.randn(len(labels), 4, requires_grad=True)
    value = loss(emb, torch.tensor(labels))
    value.backward()
    assert value.item() == 0.0
    assert torch.isfinite(emb.grad).all() and (emb.grad == 0).all()


@pytest.mark.parametrize("batch", sorted(DEGENERATE))
@pytest.mark.parametrize(
    "case", ["contrastive", "triplet_margin", "multi_similarity", "circle"]
)
def test_degenerate_batches_match_pml(case, batch):
    ours, theirs = CASES[case]()
    labels = torch.tensor(DEGENERATE[batch])
    emb = torch.randn(len(labels), DIM, dtype=torch.float64)
    _assert_same(_value_and_grads(ours, emb, labels), _value_and_grads(theirs, emb, labels))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_empty_miner_output_backward_runs(name):
    loss = _build(name)
    emb = torch.randn(6, 4, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    for n in (3, 4):
        value = loss(emb, labels, _tuples.empty_indices(emb.device, n))
        value.backward()
        assert torch.isfinite(value) and torch.isfinite(emb.grad).all()
        if name in PAIR_LOSSES:
            assert value.item() == 0.0


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_empty_batch(name):
    loss = _build(name)
    emb = torch.zeros(0, 4, requires_grad=True)
    value = loss(emb, torch.zeros(0, dtype=torch.long))
    value.backward()
    assert value.item() == 0.0


@pytest.mark.parametrize(
    "loss",
    [
        CircleLoss(m=0.25, gamma=256),
        MultiSimilarityLoss(alpha=50, beta=200),
        TripletMarginLoss(smooth_loss=True, margin=1.0),
        ContrastiveLoss(squared=True),
        ProxyAnchorLoss(alpha=64, num_classes=4, embedding_size=16),
        ArcFaceLoss(scale=64, num_classes=4, embedding_size=16),
        NormalizedSoftmaxLoss(temperature=0.01, num_classes=4, embedding_size=16),
    ],
    ids=lambda loss: type(loss).__name__,
)
def test_float32_stable_at_large_scale(loss):
    g = torch.Generator().manual_seed(0)
    # large-norm embeddings with near-duplicates and exact duplicates
    emb = 1e3 * torch.randn(32, 16, generator=g)
    emb[1] = emb[0]
    emb[3] = emb[2] + 1e-4
    labels = torch.arange(32) % 4
    emb.requires_grad_(True)
    value = loss(emb, labels)
    value.backward()
    assert torch.isfinite(value)
    assert torch.isfinite(emb.grad).all()
    for p in loss.parameters():
        assert torch.isfinite(p.grad).all()


def test_circle_float32_matches_float64_at_gamma_256():
    emb, labels = _batch(0, n=32)
    loss = CircleLoss(m=0.25, gamma=256)
    v64 = loss(emb, labels)
    v32 = loss(emb.float(), labels)
    torch.testing.assert_close(v32.double(), v64, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "options", [{}, {"swap": True}, {"smooth_loss": True}, {"swap": True, "smooth_loss": True}]
)
def test_triplet_all_triplets_fast_path_matches_indexed_path(options):
    # the sort/searchsorted (hinge) and dense (swap, smooth) computations
    # equal listing every triplet
    emb, labels = _batch(3, n=40, n_classes=5)
    loss = TripletMarginLoss(margin=0.3, **options)
    triplets = _tuples.all_triplets(labels)
    _assert_same(
        _value_and_grads(loss, emb, labels),
        _value_and_grads(loss, emb, labels, triplets),
    )


def test_triplet_loss_batch_256_memory_reasonable():
    # all triplets of a 256 batch (~440k triplets) with every option
    emb, labels = _batch(0, n=256, n_classes=32, dim=16, dtype=torch.float32)
    for loss in (TripletMarginLoss(), TripletMarginLoss(swap=True, smooth_loss=True)):
        e = emb.clone().requires_grad_(True)
        loss(e, labels).backward()
        assert torch.isfinite(e.grad).all()


# ---------------------------------------------------------------- helpers

@pytest.mark.parametrize("seed", SEEDS)
def test_all_triplets_brute_force(seed):
    _, labels = _batch(seed, n=15, n_classes=4)
    got = list(zip(*[t.tolist() for t in _tuples.all_triplets(labels)]))
    y = labels.tolist()
    expected = [
        (a, p, n)
        for a in range(15) for p in range(15) for n in range(15)
        if a != p and y[a] == y[p] and y[n] != y[a]
    ]
    assert got == expected


@pytest.mark.parametrize("seed", SEEDS)
def test_pairs_to_triplets_like_pml(seed):
    from pytorch_metric_learning.utils import loss_and_miner_utils as lmu

    emb, labels = _batch(seed, n=20)
    pairs = pml_miners.MultiSimilarityMiner(epsilon=0.3)(emb, labels)
    ours = _tuples.to_triplets(pairs, labels)
    theirs = lmu.convert_to_triplets(pairs, labels)
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)
    assert _tuples.to_pairs(ours, labels)[2] is ours[0]


def test_masked_logsumexp():
    g = torch.Generator().manual_seed(0)
    x = 100 * torch.randn(5, 7, generator=g, dtype=torch.float64)
    mask = torch.rand(5, 7, generator=g) > 0.4
    mask[2] = False
    x.requires_grad_(True)
    out = _utils.masked_logsumexp(x, mask)
    out1 = _utils.masked_logsumexp(x, mask, add_one=True)
    for i in range(5):
        row = x[i][mask[i]]
        expected = torch.logsumexp(row, 0) if len(row) else torch.tensor(0.0, dtype=x.dtype)
        torch.testing.assert_close(out[i], expected)
        expected1 = torch.logsumexp(torch.cat([row, torch.zeros(1, dtype=x.dtype)]), 0)
        torch.testing.assert_close(out1[i], expected1)
    (out.sum() + out1.sum()).backward()
    assert torch.isfinite(x.grad).all()
    assert (x.grad[~mask] == 0).all()
    # along dim 0, float32 with huge values
    y = torch.tensor([[1e4, -1e4], [3e4, 0.0]], requires_grad=True)
    out = _utils.masked_logsumexp(y, torch.ones(2, 2, dtype=torch.bool), dim=0, add_one=True)
    torch.testing.assert_close(out, torch.tensor([3e4, 0.6931472]))


def test_avg_nonzero():
    x = torch.tensor([0.0, 2.0, 0.0, 4.0], requires_grad=True)
    assert avg_nonzero(x).item() == 3.0
    assert avg_nonzero(torch.zeros(3)).item() == 0.0
    assert avg_nonzero(torch.zeros(0)).item() == 0.0


def test_bad_indices_tuple():
    loss = ContrastiveLoss()
    emb, labels = _batch(0, n=6)
    with pytest.raises(ValueError, match="indices_tuple must hold 3 tensors"):
        loss(emb, labels, (torch.tensor([0]), torch.tensor([1])))


def test_pair_both_positive_and_negative_is_an_error():
    emb, labels = _batch(0, n=6)
    t = torch.tensor([0])
    with pytest.raises(ValueError, match="both positive and negative"):
        MultiSimilarityLoss()(emb, labels, (t, t + 1, t, t + 1))


# ---------------------------------------------------------------- params and registry

def test_registry_names():
    assert {
        "contrastive", "triplet_margin", "multi_similarity", "circle",
        "proxy_anchor", "arcface", "normalized_softmax",
    } <= set(LOSSES)
    assert isinstance(get_loss("circle", gamma=10), CircleLoss)
    assert get_loss("circle", gamma=10).gamma == 10
    with pytest.raises(ValueError, match="Unknown loss 'circl'"):
        get_loss("circl")


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_keyword_only_and_params_roundtrip(name):
    cls = LOSSES[name]
    params = cls().get_params()
    with pytest.raises(TypeError):
        cls(*params.values())
    loss = _build(name)
    loss2 = clone(loss)
    assert type(loss2) is cls
    assert loss2.get_params(deep=False).keys() == loss.get_params(deep=False).keys()
    for k, v in loss.get_params(deep=False).items():
        assert loss2.get_params(deep=False)[k] == v
    pickle.loads(pickle.dumps(loss))
    assert repr(loss).startswith(cls.__name__)


def test_set_params_and_nested_distance():
    loss = ContrastiveLoss(distance=CosineSimilarity())
    assert "distance__normalize_embeddings" in loss.get_params()
    loss.set_params(neg_margin=0.5, distance__normalize_embeddings=True)
    assert loss.neg_margin == 0.5
    loss.set_params(distance="cosine")  # a module replaced by a name
    assert loss.distance == "cosine"
    emb, labels = _batch(0)
    expected = ContrastiveLoss(neg_margin=0.5, distance=CosineSimilarity())(emb, labels)
    torch.testing.assert_close(loss(emb, labels), expected)
    loss.set_params(distance=EuclideanDistance(normalize_embeddings=True))
    torch.testing.assert_close(loss(emb, labels), ContrastiveLoss(neg_margin=0.5)(emb, labels))
    clone(loss)
    with pytest.raises(ValueError, match="Invalid parameter 'gamma'"):
        loss.set_params(gamma=1)


def test_unknown_distance_name():
    emb, labels = _batch(0)
    with pytest.raises(ValueError, match="Unknown distance 'manhattan'"):
        TripletMarginLoss(distance="manhattan")(emb, labels)


def test_proxy_losses_need_sizes_and_check_them():
    emb, labels = _batch(0)
    with pytest.raises(ValueError, match="needs `num_classes` and `embedding_size`"):
        ProxyAnchorLoss()(emb, labels)
    with pytest.raises(ValueError, match="built for embedding_size=3"):
        ArcFaceLoss(num_classes=5, embedding_size=3)(emb, labels)
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 2\)"):
        ProxyAnchorLoss(num_classes=2, embedding_size=DIM)(emb, labels)


def test_proxy_anchor_init_and_learnable():
    torch.manual_seed(0)
    loss = ProxyAnchorLoss(num_classes=100, embedding_size=64)
    assert loss.proxies.shape == (100, 64)
    # kaiming normal, fan_out = num_classes: std sqrt(2 / 100)
    assert abs(loss.proxies.std().item() - (2 / 100) ** 0.5) < 0.01
    assert [n for n, _ in loss.named_parameters()] == ["proxies"]
    arc = ArcFaceLoss(num_classes=7, embedding_size=5)
    assert arc.W.shape == (5, 7)
    assert ArcFaceLoss.requires_num_classes and ProxyAnchorLoss.min_samples_per_class == 1
    assert not ContrastiveLoss.requires_num_classes


def test_float64_input_float32_parameters():
    # parameters stay float32; the graph casts, and the gradient reaches them
    loss = ProxyAnchorLoss(num_classes=N_CLASSES, embedding_size=DIM)
    emb, labels = _batch(0)
    loss(emb, labels).backward()
    assert loss.proxies.dtype == torch.float32 and loss.proxies.grad is not None


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("swap", [False, True])
def test_few_mined_triplets_use_pair_path_same_values(seed, swap):
    # few indices: distances of the listed pairs only, no matrix; same result
    emb, labels = _batch(seed, n=64, n_classes=8)
    triplets = tuple(t[:40] for t in _tuples.all_triplets(labels))
    loss = TripletMarginLoss(margin=0.5, swap=swap)
    assert _utils.pair_values(EuclideanDistance(), emb, [triplets[:2]] * 3) is not None
    theirs = pml_losses.TripletMarginLoss(margin=0.5, swap=swap)
    _assert_same(
        _value_and_grads(loss, emb, labels, triplets),
        _value_and_grads(theirs, emb, labels, triplets),
    )


def test_masked_logsumexp_gradcheck():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 6, generator=g, dtype=torch.float64, requires_grad=True)
    mask = torch.rand(4, 6, generator=g) > 0.5
    mask[0] = False
    for dim in (0, 1):
        for add_one in (False, True):
            assert torch.autograd.gradcheck(
                lambda x: _utils.masked_logsumexp(x, mask, dim=dim, add_one=add_one), (x,)
            )


def test_arcface_margin_gradcheck():
    from skmetric.losses.arcface import _ArcMarginTarget

    g = torch.Generator().manual_seed(0)
    c = (torch.rand(40, generator=g, dtype=torch.float64) * 1.98 - 0.99) * 64
    c.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda c: _ArcMarginTarget.apply(c, 0.5, 64.0), (c,))

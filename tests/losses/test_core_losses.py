"""The core losses (pair, triplet, proxy, ArcFace): values and gradients against
pytorch-metric-learning and loop references, edge cases, numerical stability."""

import pytest
import torch
from pytorch_metric_learning import distances as pml_distances
from pytorch_metric_learning import losses as pml_losses

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
)
from skmetric import _tuples
from skmetric.losses import _utils

import _reference as ref

SEEDS = [0, 1, 2]
N_CLASSES, DIM = 5, 8


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
    "proxy_anchor": lambda: ref.copy_weights(
        ProxyAnchorLoss(num_classes=N_CLASSES, embedding_size=DIM),
        pml_losses.ProxyAnchorLoss(N_CLASSES, DIM),
        "proxies", "proxies",
    ),
    "proxy_anchor_tuned": lambda: ref.copy_weights(
        ProxyAnchorLoss(alpha=16, margin=0.2, num_classes=N_CLASSES, embedding_size=DIM),
        pml_losses.ProxyAnchorLoss(N_CLASSES, DIM, margin=0.2, alpha=16),
        "proxies", "proxies",
    ),
    "arcface": lambda: ref.copy_weights(
        ArcFaceLoss(num_classes=N_CLASSES, embedding_size=DIM),
        pml_losses.ArcFaceLoss(N_CLASSES, DIM),
        "W", "W",
    ),
    "arcface_tuned": lambda: ref.copy_weights(
        ArcFaceLoss(margin=23.2, scale=100, num_classes=N_CLASSES, embedding_size=DIM),
        pml_losses.ArcFaceLoss(N_CLASSES, DIM, margin=23.2, scale=100),
        "W", "W",
    ),
    "normalized_softmax": lambda: ref.copy_weights(
        NormalizedSoftmaxLoss(num_classes=N_CLASSES, embedding_size=DIM),
        pml_losses.NormalizedSoftmaxLoss(N_CLASSES, DIM),
        "weight", "W",
    ),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_pml(case, seed):
    ours, theirs = CASES[case]()
    emb, labels = ref.batch(seed)
    ref.assert_same(ref.value_and_grads(ours, emb, labels), ref.value_and_grads(theirs, emb, labels))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", ["pairs", "triplets", "batch_hard"])
@pytest.mark.parametrize(
    "case",
    ["contrastive", "triplet_margin", "triplet_swap", "multi_similarity", "circle",
     "proxy_anchor", "arcface", "normalized_softmax"],
)
def test_matches_pml_with_miner_indices(case, kind, seed):
    ours, theirs = CASES[case]()
    emb, labels = ref.batch(seed, n=20)
    indices = ref.pml_mined(kind, emb, labels)
    assert len(indices[0]) > 0
    ref.assert_same(
        ref.value_and_grads(ours, emb, labels, indices),
        ref.value_and_grads(theirs, emb, labels, indices),
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
    emb, labels = ref.batch(seed, n=12, n_classes=3, dtype=dtype)
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
    emb, labels = ref.batch(seed, n=10, n_classes=4)
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
    loss = ref.build_loss(name)
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
    ref.assert_same(ref.value_and_grads(ours, emb, labels), ref.value_and_grads(theirs, emb, labels))


@pytest.mark.parametrize("name", ref.EMBEDDING_LOSSES)
def test_empty_miner_output_backward_runs(name):
    loss = ref.build_loss(name)
    emb = torch.randn(6, 4, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    for n in (3, 4):
        value = loss(emb, labels, _tuples.empty_indices(emb.device, n))
        value.backward()
        assert torch.isfinite(value) and torch.isfinite(emb.grad).all()
        if name in PAIR_LOSSES:
            assert value.item() == 0.0


@pytest.mark.parametrize("name", ref.EMBEDDING_LOSSES)
def test_empty_batch(name):
    loss = ref.build_loss(name)
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
    emb, labels = ref.batch(0, n=32)
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
    emb, labels = ref.batch(3, n=40, n_classes=5)
    loss = TripletMarginLoss(margin=0.3, **options)
    triplets = _tuples.all_triplets(labels)
    ref.assert_same(
        ref.value_and_grads(loss, emb, labels),
        ref.value_and_grads(loss, emb, labels, triplets),
    )


def test_triplet_loss_batch_256_memory_reasonable():
    # all triplets of a 256 batch (~440k triplets) with every option
    emb, labels = ref.batch(0, n=256, n_classes=32, dim=16, dtype=torch.float32)
    for loss in (TripletMarginLoss(), TripletMarginLoss(swap=True, smooth_loss=True)):
        e = emb.clone().requires_grad_(True)
        loss(e, labels).backward()
        assert torch.isfinite(e.grad).all()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("swap", [False, True])
def test_few_mined_triplets_use_pair_path_same_values(seed, swap):
    # few indices: distances of the listed pairs only, no matrix; same result
    emb, labels = ref.batch(seed, n=64, n_classes=8)
    triplets = tuple(t[:40] for t in _tuples.all_triplets(labels))
    loss = TripletMarginLoss(margin=0.5, swap=swap)
    assert _utils.pair_values(EuclideanDistance(), emb, [triplets[:2]] * 3) is not None
    theirs = pml_losses.TripletMarginLoss(margin=0.5, swap=swap)
    ref.assert_same(
        ref.value_and_grads(loss, emb, labels, triplets),
        ref.value_and_grads(theirs, emb, labels, triplets),
    )


def test_arcface_margin_gradcheck():
    from skmetric.losses.arcface import _ArcMarginTarget

    g = torch.Generator().manual_seed(0)
    c = (torch.rand(40, generator=g, dtype=torch.float64) * 1.98 - 0.99) * 64
    c.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda c: _ArcMarginTarget.apply(c, 0.5, 64.0), (c,))

"""The loss zoo: PML parity, loop references, edge cases, and training on digits."""

import numpy as np
import pytest
import torch
from pytorch_metric_learning import distances as pml_distances
from pytorch_metric_learning import losses as pml_losses

from skmetric import _tuples
from skmetric import losses as L
from skmetric.distances import SquaredEuclideanDistance
from skmetric.losses import LOSSES

import _reference as ref

SEEDS = [0, 1, 2]
C, DIM = 5, 8


# name -> () -> (skmetric loss, PML loss) with matched hyperparameters
CASES = {
    "lifted_structure": lambda: (L.LiftedStructureLoss(), pml_losses.LiftedStructureLoss()),
    "lifted_structure_margins": lambda: (
        L.LiftedStructureLoss(neg_margin=0.7, pos_margin=0.1),
        pml_losses.LiftedStructureLoss(neg_margin=0.7, pos_margin=0.1),
    ),
    "lifted_structure_cosine": lambda: (
        L.LiftedStructureLoss(neg_margin=0.3, pos_margin=0.8, distance="cosine"),
        pml_losses.LiftedStructureLoss(
            neg_margin=0.3, pos_margin=0.8, distance=pml_distances.CosineSimilarity()
        ),
    ),
    "generalized_lifted_structure": lambda: (
        L.GeneralizedLiftedStructureLoss(), pml_losses.GeneralizedLiftedStructureLoss()
    ),
    "generalized_lifted_structure_margins": lambda: (
        L.GeneralizedLiftedStructureLoss(neg_margin=0.5, pos_margin=0.2),
        pml_losses.GeneralizedLiftedStructureLoss(neg_margin=0.5, pos_margin=0.2),
    ),
    "npairs": lambda: (L.NPairsLoss(), pml_losses.NPairsLoss()),
    "npairs_euclidean": lambda: (
        L.NPairsLoss(distance="euclidean"),
        pml_losses.NPairsLoss(distance=pml_distances.LpDistance(normalize_embeddings=False)),
    ),
    "ntxent": lambda: (L.NTXentLoss(), pml_losses.NTXentLoss()),
    "ntxent_0.5": lambda: (L.NTXentLoss(temperature=0.5), pml_losses.NTXentLoss(temperature=0.5)),
    "ntxent_tiny_temperature": lambda: (
        L.NTXentLoss(temperature=0.009), pml_losses.NTXentLoss(temperature=0.009)
    ),
    "supcon": lambda: (L.SupConLoss(), pml_losses.SupConLoss()),
    "supcon_0.5": lambda: (L.SupConLoss(temperature=0.5), pml_losses.SupConLoss(temperature=0.5)),
    "margin_fixed_beta": lambda: (
        L.MarginLoss(learn_beta=False).double(), pml_losses.MarginLoss().double()
    ),
    "margin_learn_beta_nu": lambda: (
        L.MarginLoss(margin=0.1, nu=0.1, beta=1.0).double(),
        pml_losses.MarginLoss(margin=0.1, nu=0.1, beta=1.0, learn_beta=True).double(),
    ),
    "margin_per_class_beta": lambda: (
        L.MarginLoss(nu=0.05, num_classes=C).double(),
        pml_losses.MarginLoss(nu=0.05, learn_beta=True, num_classes=C).double(),
    ),
    "tuplet_margin": lambda: (L.TupletMarginLoss(), pml_losses.TupletMarginLoss()),
    "tuplet_margin_tuned": lambda: (
        L.TupletMarginLoss(margin=10, scale=32), pml_losses.TupletMarginLoss(margin=10, scale=32)
    ),
    "snr_contrastive": lambda: (
        L.SNRContrastiveLoss(), pml_losses.SignalToNoiseRatioContrastiveLoss()
    ),
    "snr_contrastive_tuned": lambda: (
        L.SNRContrastiveLoss(pos_margin=0.33, neg_margin=0.84),
        pml_losses.SignalToNoiseRatioContrastiveLoss(pos_margin=0.33, neg_margin=0.84),
    ),
    "proxy_nca": lambda: ref.copy_weights(
        L.ProxyNCALoss(**ref.SIZES), pml_losses.ProxyNCALoss(C, DIM), "proxies", "proxies"
    ),
    "proxy_nca_scale": lambda: ref.copy_weights(
        L.ProxyNCALoss(softmax_scale=8, **ref.SIZES),
        pml_losses.ProxyNCALoss(C, DIM, softmax_scale=8), "proxies", "proxies",
    ),
    "proxy_nca_sqeuclidean": lambda: ref.copy_weights(
        L.ProxyNCALoss(softmax_scale=3, distance=SquaredEuclideanDistance(normalize_embeddings=True),
                       **ref.SIZES),
        pml_losses.ProxyNCALoss(C, DIM, softmax_scale=3), "proxies", "proxies",
    ),
    "cosface": lambda: ref.copy_weights(L.CosFaceLoss(**ref.SIZES), pml_losses.CosFaceLoss(C, DIM), "W", "W"),
    "cosface_tuned": lambda: ref.copy_weights(
        L.CosFaceLoss(margin=0.62, scale=100, **ref.SIZES),
        pml_losses.CosFaceLoss(C, DIM, margin=0.62, scale=100), "W", "W",
    ),
    "subcenter_arcface": lambda: ref.copy_weights(
        L.SubCenterArcFaceLoss(**ref.SIZES),
        pml_losses.SubCenterArcFaceLoss(num_classes=C, embedding_size=DIM), "W", "W",
    ),
    "subcenter_arcface_tuned": lambda: ref.copy_weights(
        L.SubCenterArcFaceLoss(margin=20, scale=30, sub_centers=2, **ref.SIZES),
        pml_losses.SubCenterArcFaceLoss(
            num_classes=C, embedding_size=DIM, margin=20, scale=30, sub_centers=2
        ), "W", "W",
    ),
    "sphereface": lambda: ref.copy_weights(
        L.SphereFaceLoss(**ref.SIZES), pml_losses.SphereFaceLoss(C, DIM), "W", "W"
    ),
    "sphereface_m3": lambda: ref.copy_weights(
        L.SphereFaceLoss(margin=3, scale=2, **ref.SIZES),
        pml_losses.SphereFaceLoss(C, DIM, margin=3, scale=2), "W", "W",
    ),
    "soft_triple": lambda: ref.copy_weights(
        L.SoftTripleLoss(tau=0, **ref.SIZES), pml_losses.SoftTripleLoss(C, DIM), "fc", "fc"
    ),
    "soft_triple_tuned": lambda: ref.copy_weights(
        L.SoftTripleLoss(tau=0, centers_per_class=3, la=10, gamma=0.2, margin=0.05, **ref.SIZES),
        pml_losses.SoftTripleLoss(C, DIM, centers_per_class=3, la=10, gamma=0.2, margin=0.05),
        "fc", "fc",
    ),
    "tcm": lambda: (L.TCMLoss(), pml_losses.ThresholdConsistentMarginLoss()),
    "tcm_tuned": lambda: (
        L.TCMLoss(lambda_plus=0.5, lambda_minus=2, margin_plus=0.3, margin_minus=0.1),
        pml_losses.ThresholdConsistentMarginLoss(
            lambda_plus=0.5, lambda_minus=2, margin_plus=0.3, margin_minus=0.1
        ),
    ),
}

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_pml(case, seed):
    ours, theirs = CASES[case]()
    emb, labels = ref.batch(seed)
    ref.assert_same(ref.value_and_grads(ours, emb, labels), ref.value_and_grads(theirs, emb, labels))

MINED_CASES = [
    "lifted_structure", "generalized_lifted_structure", "npairs", "ntxent", "supcon",
    "margin_learn_beta_nu", "tuplet_margin", "snr_contrastive", "proxy_nca", "cosface",
    "subcenter_arcface", "sphereface", "soft_triple", "tcm",
]

@pytest.mark.parametrize("seed", SEEDS[:2])
@pytest.mark.parametrize("kind", ["pairs", "triplets"])
@pytest.mark.parametrize("case", MINED_CASES)
def test_matches_pml_with_miner_indices(case, kind, seed):
    ours, theirs = CASES[case]()
    emb, labels = ref.batch(seed, n=20)
    indices = ref.pml_mined(kind, emb, labels)
    assert len(indices[0]) > 0
    ref.assert_same(
        ref.value_and_grads(ours, emb, labels, indices),
        ref.value_and_grads(theirs, emb, labels, indices),
    )

@pytest.mark.parametrize("batch", [[0, 0, 0, 0], [0, 1, 2, 3], [1]])
@pytest.mark.parametrize(
    "case",
    ["lifted_structure", "generalized_lifted_structure", "npairs", "ntxent", "supcon",
     "margin_fixed_beta", "tuplet_margin", "snr_contrastive", "tcm"],
)
def test_degenerate_batches_match_pml(case, batch):
    ours, theirs = CASES[case]()
    labels = torch.tensor(batch)
    emb = torch.randn(len(labels), DIM, dtype=torch.float64)
    ref.assert_same(ref.value_and_grads(ours, emb, labels), ref.value_and_grads(theirs, emb, labels))

# ---------------------------------------------------------------- loop references

REFERENCES = {
    "ntxent": (lambda: L.NTXentLoss(), ref.ntxent),
    "ntxent_0.3": (lambda: L.NTXentLoss(temperature=0.3), lambda e, y: ref.ntxent(e, y, 0.3)),
    "supcon": (lambda: L.SupConLoss(), ref.supcon),
    "proto_triplet": (lambda: L.ProtoTripletLoss(), ref.proto_triplet),
    "proto_triplet_0.5": (lambda: L.ProtoTripletLoss(margin=0.5),
                          lambda e, y: ref.proto_triplet(e, y, 0.5)),
    "icnn": (lambda: L.ICNNLoss(), ref.icnn),
    "icnn_k3": (lambda: L.ICNNLoss(k=3), lambda e, y: ref.icnn(e, y, 3)),
    "mw": (lambda: L.MWLoss(), ref.mw),
    "mw_0.1": (lambda: L.MWLoss(temperature=0.1), lambda e, y: ref.mw(e, y, 0.1)),
    "align_uniform": (lambda: L.AlignUniformLoss(), ref.align_uniform),
    "align_uniform_alpha1": (lambda: L.AlignUniformLoss(alpha=1.0, t=3.0),
                             lambda e, y: ref.align_uniform(e, y, 1.0, 3.0)),
}

@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", sorted(REFERENCES))
def test_matches_loop_reference(case, seed, dtype):
    make, reference = REFERENCES[case]
    emb, labels = ref.batch(seed, n=12, n_classes=3, dtype=dtype)
    labels[0] = 7  # a singleton class
    tol = dict(rtol=1e-6, atol=1e-10) if dtype == torch.float64 else dict(rtol=1e-3, atol=1e-5)
    e1, e2 = emb.clone().requires_grad_(True), emb.clone().requires_grad_(True)
    v1, v2 = make()(e1, labels), reference(e2, labels.tolist())
    v1.backward()
    v2.backward()
    torch.testing.assert_close(v1, v2.to(v1.dtype), **tol)
    torch.testing.assert_close(e1.grad, e2.grad, **tol)

# ---------------------------------------------------------------- edge cases, scale

@pytest.mark.parametrize("labels", [[0, 0, 0, 0], [0, 1, 2, 3], [1]])
@pytest.mark.parametrize("name", ref.EMBEDDING_LOSSES)
def test_degenerate_batches_finite_and_backward(name, labels):
    loss = ref.build_loss(name, n_classes=4, dim=4)
    emb = torch.randn(len(labels), 4, requires_grad=True)
    value = loss(emb, torch.tensor(labels))
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(emb.grad).all()

NO_PAIR_LOSSES = [
    "lifted_structure", "ntxent", "supcon", "margin", "tuplet_margin", "npairs", "mw",
    "proto_triplet",
]

@pytest.mark.parametrize("labels", [[0, 0, 0, 0], [0, 1, 2, 3], [1]])
@pytest.mark.parametrize("name", NO_PAIR_LOSSES)
def test_no_valid_pair_or_triplet_gives_zero(name, labels):
    if name in ("npairs",) and labels == [0, 0, 0, 0]:
        pytest.skip("one positive pair per class: a one-class batch has one pair")
    loss = ref.build_loss(name, n_classes=4, dim=4)
    emb = torch.randn(len(labels), 4, requires_grad=True)
    value = loss(emb, torch.tensor(labels))
    value.backward()
    assert value.item() == 0.0 and (emb.grad == 0).all()

LARGE_SCALE = {
    "ntxent": dict(temperature=0.009),
    "supcon": dict(temperature=0.01),
    "tuplet_margin": dict(scale=256),
    "cosface": dict(scale=64),
    "subcenter_arcface": dict(scale=64),
    "elasticface": dict(scale=64),
    "sphereface": dict(scale=64),
    "soft_triple": dict(la=256),
    "proxy_nca": dict(softmax_scale=64),
    "ebv": dict(temperature=0.005),
    "harmonic": dict(exponent=64),
    "mw": dict(temperature=0.01),
    "lifted_structure": dict(neg_margin=50),
    "generalized_lifted_structure": dict(neg_margin=50),
}

@pytest.mark.parametrize("name", ref.EMBEDDING_LOSSES)
def test_float32_stable_at_large_scale(name):
    loss = ref.build_loss(name, n_classes=4, dim=16)
    if name in LARGE_SCALE:
        loss.set_params(**LARGE_SCALE[name])
    g = torch.Generator().manual_seed(0)
    emb = 1e3 * torch.randn(32, 16, generator=g)
    emb[1] = emb[0]
    emb[3] = emb[2] + 1e-4
    labels = torch.arange(32) % 4
    emb.requires_grad_(True)
    torch.manual_seed(0)
    value = loss(emb, labels)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(emb.grad).all()
    for p in loss.parameters():
        assert p.grad is None or torch.isfinite(p.grad).all()

def test_ntxent_float32_matches_float64_at_small_temperature():
    emb, labels = ref.batch(0, n=64)
    loss = L.NTXentLoss(temperature=0.009)
    torch.testing.assert_close(loss(emb.float(), labels).double(), loss(emb, labels), rtol=1e-4, atol=1e-4)

def test_ntxent_memory_is_batch_squared():
    # batch 1024: PML's (positive pairs x negative pairs) matrix would hold
    # ~3e10 entries; here a few B x B matrices
    emb, labels = ref.batch(0, n=1024, n_classes=32, dim=16, dtype=torch.float32)
    e = emb.requires_grad_(True)
    L.NTXentLoss()(e, labels).backward()
    assert torch.isfinite(e.grad).all()

def test_mw_all_triplets_match_listed_triplets():
    emb, labels = ref.batch(3, n=40)
    loss = L.MWLoss(temperature=0.5)
    ref.assert_same(
        ref.value_and_grads(loss, emb, labels),
        ref.value_and_grads(loss, emb, labels, _tuples.all_triplets(labels)),
    )
    e = emb.clone().requires_grad_(True)
    torch.autograd.gradcheck(lambda x: loss(x, labels), (e,))

def test_margin_all_triplets_match_listed_triplets():
    emb, labels = ref.batch(4, n=30)
    loss = L.MarginLoss(nu=0.1, num_classes=C).double()
    ref.assert_same(
        ref.value_and_grads(loss, emb, labels),
        ref.value_and_grads(loss, emb, labels, _tuples.all_triplets(labels)),
    )

# ---------------------------------------------------------------- MetricLearner on digits

FAST_NAMES = ["ntxent", "cosface", "tcm", "metrix"]

def _fit_digits(digits_split, loss):
    from skmetric import MetricLearner

    X_tr, X_te, y_tr, y_te = digits_split
    model = MetricLearner(
        loss=loss, max_epochs=3, hidden_sizes=(64,), n_components=32, batch_size=128,
        random_state=0,
    ).fit(X_tr, y_tr)
    assert np.isfinite(model.history_[:, "train_loss"]).all()
    return model.score(X_te, y_te)

# quality bar: held-out leave-one-out Recall@1 >= 0.9 after 3 epochs (raw
# features: 0.98; the default network starts at a PCA of them)
@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=() if n in FAST_NAMES else pytest.mark.slow) for n in ref.EMBEDDING_LOSSES],
)
def test_every_loss_trains_through_metric_learner(digits_split, name):
    assert _fit_digits(digits_split, name) >= 0.9

def test_metric_learner_loss_list(digits_split):
    from skmetric import MetricLearner

    assert _fit_digits(digits_split, [("multi_similarity", 1.0), ("tcm", 0.1)]) >= 0.9
    X_tr, _, y_tr, _ = digits_split
    model = MetricLearner(loss=[("cosface", 1.0), ("tcm", 0.1)], max_epochs=1,
                          hidden_sizes=(16,), random_state=0).fit(X_tr[:200], y_tr[:200])
    assert isinstance(model.loss_, L.CombinedLoss)
    assert model.loss_.parts[0].W.shape == (model.embedding_size_, 10)

"""Second-round seed losses: Z-loss, UNPG, class-level Circle, GCE, LDR-KL,
NBC-softmax and NCA, against loop references and their papers' properties."""

import math
import re

import pytest
import torch

import skmetric.losses as L
from skmetric.losses.generalized_cross_entropy import generalized_cross_entropy
from skmetric.losses.unpg import whisker_filter
from skmetric.losses.z_loss import z_scores

import _reference as ref

C, D = 4, 6

# registry name -> (reference, parameter settings to compare)
PROXY_CASES = {
    "z_loss": (ref.z_loss, [{}, {"a": 0.5, "b": 1.0}]),
    "unpg": (ref.unpg, [{}, {"base": "cosface", "margin": 0.2, "scale": 16.0, "whisker": 0.5}]),
    "circle_proxy": (ref.circle_proxy, [{}, {"m": 0.4, "gamma": 80.0}]),
    "generalized_cross_entropy": (
        ref.generalized_cross_entropy, [{}, {"q": 0.3, "temperature": 0.2}, {"q": -1.0}],
    ),
    "ldr": (ref.ldr, [{}, {"adaptive": False, "margin": 0.5, "temperature": 0.3},
                      {"alpha": 3.0, "temperature": 2.0, "scale": 4.0}]),
    "nbc_softmax": (ref.nbc_softmax, [{}, {"ratio": 0.8, "tau": 2.0, "temperature": 0.5}]),
}
PROXY_PARAMS = [
    (name, i) for name, (_, settings) in PROXY_CASES.items() for i in range(len(settings))
]


def _proxy_loss(name, params, n_classes=C, dim=D):
    torch.manual_seed(0)
    loss = L.get_loss(name, num_classes=n_classes, embedding_size=dim, **params).double()
    return loss, next(loss.parameters())


def _batch(seed, n=14):
    emb, labels = ref.batch(seed, n=n, n_classes=C, dim=D)
    labels[0] = C - 1  # make sure the last class appears
    return emb, labels


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name, setting", PROXY_PARAMS)
def test_proxy_losses_match_loop_reference(name, setting, seed):
    reference, settings = PROXY_CASES[name]
    params = settings[setting]
    loss, W = _proxy_loss(name, params)
    emb, labels = _batch(seed)
    e1 = emb.clone().requires_grad_(True)
    value = loss(e1, labels)
    g1 = torch.autograd.grad(value, [e1, W])
    e2 = emb.clone().requires_grad_(True)
    W2 = W.detach().clone().requires_grad_(True)
    expected = reference(e2, labels.tolist(), W2, **params)
    g2 = torch.autograd.grad(expected, [e2, W2])
    tol = dict(rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(value, expected, **tol)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, **tol)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("params", [{}, {"temperature": 0.3, "squared": False}])
def test_nca_matches_loop_reference(params, seed):
    emb, labels = ref.batch(seed, n=14, n_classes=5, dim=D)
    labels[0] = 9  # an anchor with no positive: left out
    e1, e2 = emb.clone().requires_grad_(True), emb.clone().requires_grad_(True)
    value, expected = L.NCALoss(**params)(e1, labels), ref.nca(e2, labels.tolist(), **params)
    value.backward()
    expected.backward()
    torch.testing.assert_close(value, expected, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(e1.grad, e2.grad, rtol=1e-9, atol=1e-12)


def test_nca_matches_pytorch_metric_learning():
    from pytorch_metric_learning import distances, losses

    emb, labels = ref.batch(3, n=20, n_classes=4, dim=D)
    theirs = losses.NCALoss(
        softmax_scale=1 / 0.5, distance=distances.LpDistance(normalize_embeddings=False, power=2)
    )
    ref.assert_same(
        ref.value_and_grads(L.NCALoss(temperature=0.5), emb, labels),
        ref.value_and_grads(theirs, emb, labels),
    )


# ---------------------------------------------------------------- gradients

# circle_proxy and the adaptive LDR treat a weight as a constant (the
# paper's rule), so their gradient is not that of the value: checked
# against the loop reference above instead.
GRADCHECK = [
    ("z_loss", {}), ("unpg", {"scale": 4.0}), ("unpg", {"base": "cosface", "scale": 4.0}),
    ("generalized_cross_entropy", {"temperature": 0.5}), ("ldr", {"adaptive": False}),
    ("nbc_softmax", {"temperature": 0.5, "tau": 1.0}),
]


@pytest.mark.parametrize("name, params", GRADCHECK)
def test_gradcheck(name, params):
    loss, _ = _proxy_loss(name, params, n_classes=3, dim=4)
    (pname, W), = loss.named_parameters()
    emb, labels = ref.batch(5, n=6, n_classes=3, dim=4)

    def f(e, w):
        return torch.func.functional_call(loss, {pname: w}, (e, labels))

    inputs = (emb.requires_grad_(True), W.detach().clone().requires_grad_(True))
    assert torch.autograd.gradcheck(f, inputs)


@pytest.mark.parametrize("params", [{}, {"squared": False, "temperature": 2.0}])
def test_nca_gradcheck(params):
    emb, labels = ref.batch(6, n=7, n_classes=3, dim=3)
    loss = L.NCALoss(**params)
    assert torch.autograd.gradcheck(lambda e: loss(e, labels), (emb.requires_grad_(True),))


# ---------------------------------------------------------------- Z-loss: invariances and the bound

def test_z_scores_shift_and_scale_invariant():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(10, 7, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 7, (10,), generator=g)
    z = z_scores(logits, labels)
    torch.testing.assert_close(z_scores(3.5 * logits - 12.0, labels), z)
    assert not torch.allclose(z_scores(-logits, labels), z)  # alpha < 0 flips it


def test_z_loss_ignores_the_scale_of_the_class_vectors():
    loss, W = _proxy_loss("z_loss", {})
    emb, labels = _batch(0)
    before = loss(emb, labels)
    with torch.no_grad():
        W.mul_(7.0)
    torch.testing.assert_close(loss(emb, labels), before)
    torch.testing.assert_close(loss(3.0 * emb, labels), before)


@pytest.mark.parametrize("K", [2, 5, 10])
def test_z_score_bound_sqrt_k_minus_1(K):
    g = torch.Generator().manual_seed(K)
    logits = torch.randn(200, K, generator=g, dtype=torch.float64)
    labels = torch.randint(0, K, (200,), generator=g)
    assert (z_scores(logits, labels) <= math.sqrt(K - 1) + 1e-12).all()
    one_hot = torch.nn.functional.one_hot(labels, K).double()  # the bound is reached
    bound = torch.full((200,), math.sqrt(K - 1), dtype=torch.float64)
    torch.testing.assert_close(z_scores(5 * one_hot, labels), bound)


def test_z_loss_offset_above_the_bound_keeps_every_loss_large():
    loss, W = _proxy_loss("z_loss", {"a": 2.0, "b": math.sqrt(C - 1) + 1.0})
    with torch.no_grad():  # class vectors = the embeddings' directions: best case
        W.copy_(torch.eye(D, C, dtype=torch.float64) * 100)
    labels = torch.arange(C)
    emb = torch.eye(C, D, dtype=torch.float64)
    # z_y <= sqrt(K - 1) = b - 1, so each loss >= softplus(a * 1) / a; reached here
    floor = math.log1p(math.exp(2.0)) / 2.0
    per_sample = loss.sample_losses(emb, labels)
    assert (per_sample >= floor - 1e-9).all()
    torch.testing.assert_close(per_sample, torch.full((C,), floor, dtype=torch.float64))


# ---------------------------------------------------------------- UNPG

def test_whisker_filter_drops_outliers_only():
    values = torch.tensor([0.0, 1, 2, 3, 4, 5, 6, 7, 100, -50])
    # sorted: -50 0 1 ... 7 100; Q1 = S[2] = 1, Q3 = S[7] = 6, fences -6.5 and 13.5
    kept = whisker_filter(values, 1.5)
    assert sorted(kept.tolist()) == [0, 1, 2, 3, 4, 5, 6, 7]
    assert whisker_filter(torch.zeros(0)).numel() == 0


@pytest.mark.parametrize("base, cls", [("arcface", L.ArcFaceLoss), ("cosface", L.CosFaceLoss)])
def test_unpg_without_negatives_is_the_base_margin_loss(base, cls):
    loss, W = _proxy_loss("unpg", {"base": base, "scale": 16.0})
    plain = cls(scale=16.0, num_classes=C, embedding_size=D).double()
    with torch.no_grad():
        plain.W.copy_(W)
    emb = torch.randn(6, D, dtype=torch.float64)
    one_class = torch.full((6,), 2)
    ref.assert_same(ref.value_and_grads(loss, emb, one_class),
                    ref.value_and_grads(plain, emb, one_class))
    mixed = torch.tensor([0, 1, 2, 0, 1, 2])  # negatives only enlarge the denominators
    assert loss(emb, mixed) > plain(emb, mixed)


# ---------------------------------------------------------------- GCE: CE and MAE at the ends

def test_gce_q_to_zero_is_cross_entropy_and_q_one_is_half_mae():
    emb, labels = _batch(2)
    loss, W = _proxy_loss("generalized_cross_entropy", {"temperature": 0.2})
    ce = L.NormalizedSoftmaxLoss(temperature=0.2, num_classes=C, embedding_size=D).double()
    with torch.no_grad():
        ce.weight.copy_(W)
    for q in (0.0, 1e-9):
        ref.assert_same(ref.value_and_grads(loss.set_params(q=q), emb, labels),
                        ref.value_and_grads(ce, emb, labels), rtol=1e-7, atol=1e-9)
    p = torch.softmax(loss.logits(emb, labels), 1)
    mae = (torch.nn.functional.one_hot(labels, C) - p).abs().sum(1).mean()
    torch.testing.assert_close(loss.set_params(q=1.0)(emb, labels), mae / 2)


def test_gce_is_bounded_by_one_over_q():
    logits = torch.tensor([[-30.0, 30.0], [30.0, -30.0]], dtype=torch.float64)
    labels = torch.tensor([0, 1])
    torch.testing.assert_close(generalized_cross_entropy(logits, labels, 0.5),
                               torch.full((2,), 2.0, dtype=torch.float64))


# ---------------------------------------------------------------- LDR-KL

def test_ldr_small_temperature_tends_to_the_hinge():
    emb, labels = _batch(3)
    loss, _ = _proxy_loss("ldr", {"adaptive": False, "temperature": 1e-3, "margin": 0.5})
    o = loss.logits(emb, labels)
    margins = o - o.gather(1, labels[:, None]) + 0.5
    margins = margins.scatter(1, labels[:, None], 0.0)
    hinge = margins.max(1).values.mean()  # >= 0: the true class contributes 0
    value = loss(emb, labels)
    assert hinge - 1e-3 * math.log(C) - 1e-9 <= value <= hinge + 1e-9


def test_ldr_adaptive_temperatures_stay_in_their_range():
    emb, labels = _batch(4)
    loss, _ = _proxy_loss("ldr", {"temperature": 2.0, "alpha": 4.0, "scale": 30.0})
    lam = loss.temperatures(loss.logits(emb, labels))
    assert ((lam <= 2.0) & (lam >= 2.0 * (1 - 1 / 4.0))).all()
    assert lam.std() > 0  # confident samples get a smaller temperature


# ---------------------------------------------------------------- NBC-softmax

def test_nbc_ratio_zero_is_normalized_softmax_and_one_class_adds_nothing():
    emb, labels = _batch(5)
    loss, W = _proxy_loss("nbc_softmax", {"ratio": 0.0, "temperature": 0.1})
    ns = L.NormalizedSoftmaxLoss(temperature=0.1, num_classes=C, embedding_size=D).double()
    with torch.no_grad():
        ns.weight.copy_(W)
    ref.assert_same(ref.value_and_grads(loss, emb, labels), ref.value_and_grads(ns, emb, labels))
    one_class = torch.full_like(labels, 1)
    loss.set_params(ratio=0.5)
    torch.testing.assert_close(loss(emb, one_class), 0.5 * ns(emb, one_class))


def test_nbc_term_falls_as_class_means_separate():
    from skmetric.losses.nbc_softmax import negative_block_contrastive

    labels = torch.tensor([0, 0, 1, 1])
    close = torch.tensor([[1.0, 0.1], [1.0, -0.1], [1.0, 0.2], [1.0, 0.0]])
    apart = torch.tensor([[1.0, 0.1], [1.0, -0.1], [-1.0, 0.2], [-1.0, 0.0]])
    assert negative_block_contrastive(apart, labels, 2, 1.0) < negative_block_contrastive(
        close, labels, 2, 1.0)


# ---------------------------------------------------------------- NCA

def test_nca_without_positives_is_zero_and_anchors_without_one_are_left_out():
    emb = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    value = L.NCALoss()(emb, torch.tensor([0, 1, 2, 3]))
    value.backward()
    assert value.item() == 0.0 and (emb.grad == 0).all()
    labels = torch.tensor([0, 0, 1, 1, 7])
    emb = torch.randn(5, 3, dtype=torch.float64)
    kept = L.NCALoss()(emb, labels)  # the lone anchor 4 is left out, not counted as 0
    d = torch.cdist(emb, emb) ** 2
    by_hand = 0
    for i in range(4):
        w = torch.exp(-d[i]).index_fill(0, torch.tensor([i]), 0)
        by_hand = by_hand - torch.log(w[labels == labels[i]].sum() / w.sum())
    torch.testing.assert_close(kept, by_hand / 4)


def test_nca_perfect_clusters_give_near_zero():
    emb = torch.tensor([[0.0, 0], [0, 0.1], [10, 10], [10, 10.1]], dtype=torch.float64)
    assert L.NCALoss()(emb, torch.tensor([0, 0, 1, 1])) < 1e-30


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize(
    "name, params, message",
    [
        ("z_loss", {"a": 0.0}, "`a` of ZLoss must be a positive number; got 0.0."),
        ("generalized_cross_entropy", {"temperature": -1.0},
         "`temperature` of GeneralizedCrossEntropyLoss must be a positive number; got -1.0."),
        ("unpg", {"base": "sphereface"},
         "`base` of UNPGLoss must be one of ['arcface', 'cosface']; got 'sphereface'."),
        ("unpg", {"whisker": -1.0},
         "`whisker` of UNPGLoss must be a non-negative number; got -1.0."),
        ("ldr", {"alpha": 1.0},
         "`alpha` of LDRLoss must be greater than 1 when `adaptive=True` "
         "(else a temperature can reach 0); got 1.0."),
        ("nbc_softmax", {"ratio": 1.5}, "`ratio` of NBCSoftmaxLoss must be in [0, 1]; got 1.5."),
    ],
)
def test_bad_parameters_are_named(name, params, message):
    loss, _ = _proxy_loss(name, params)
    emb, labels = _batch(0)
    with pytest.raises(ValueError, match=re.escape(message)):
        loss(emb, labels)
    with pytest.raises(ValueError, match=re.escape(
            "`temperature` of NCALoss must be a positive number; got 0.")):
        L.NCALoss(temperature=0)(emb, labels)

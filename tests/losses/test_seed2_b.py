"""Seed losses, round 2 (b): PSL, contextual, mean field, ProcSim, CoReS polytopes.

Each loss against a loop-written float64 reference (tests/_reference.py),
gradients by ``gradcheck`` where the loss is differentiable, and its edge
cases; the registry-wide contracts (degenerate batches, empty batch, float32
at large scale, params round trip) run in the shared loss tests.
"""

import itertools
import math
import re

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skmetric import losses as L
from skmetric.losses import get_loss
from skmetric.losses.contextual import contextual_similarity
from skmetric.losses.pairwise_softmax import psl_activation
from skmetric.losses.polytope import polytope_vectors
from skmetric.losses.procsim import procsim_confidence

import _reference as ref

SEEDS = [0, 1, 2]
C, DIM = 5, 8


def _grad(fn, emb):
    e = emb.clone().requires_grad_(True)
    value = fn(e)
    value.backward()
    return value.detach(), e.grad


def _assert_matches(ours, theirs, emb, rtol=1e-9, atol=1e-12):
    v1, g1 = _grad(ours, emb)
    v2, g2 = _grad(theirs, emb)
    torch.testing.assert_close(v1, v2, rtol=rtol, atol=atol)
    torch.testing.assert_close(g1, g2, rtol=rtol, atol=atol)


def test_registry_names():
    for name, cls in [
        ("pairwise_softmax", L.PairwiseSoftmaxLoss), ("contextual", L.ContextualLoss),
        ("mean_field_contrastive", L.MeanFieldContrastiveLoss),
        ("mean_field_multi_similarity", L.MeanFieldMultiSimilarityLoss),
        ("procsim", L.ProcSimLoss),
    ]:
        assert L.LOSSES[name] is cls


# ---------------------------------------------------------------- PSL

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("activation", ["tanh", "atan", "relu", "exp"])
def test_psl_matches_loop(activation, seed):
    emb, labels = ref.batch(seed, n=14, n_classes=4)
    params = dict(activation=activation, temperature=2.0, robust_temperature=0.1)
    _assert_matches(
        lambda e: L.PairwiseSoftmaxLoss(**params)(e, labels),
        lambda e: ref.pairwise_softmax(e, labels.tolist(), **params),
        emb,
    )


def test_psl_exp_is_the_softmax_loss_over_negatives():
    # sigma = exp: log sum_n exp((s_an - s_ap) / (tau tau*)), by hand
    emb, labels = ref.batch(3, n=10, n_classes=3)
    x = emb / emb.norm(dim=1, keepdim=True)
    s = x @ x.T / (2.0 * 0.05)
    terms = []
    for a, p in itertools.permutations(range(10), 2):
        if labels[a] == labels[p]:
            negs = labels != labels[a]
            terms.append(torch.logsumexp(s[a][negs] - s[a, p], 0))
    expected = torch.stack(terms).mean()
    value = L.PairwiseSoftmaxLoss(activation="exp", temperature=2.0, robust_temperature=0.05)(
        emb, labels
    )
    torch.testing.assert_close(value, expected, rtol=1e-12, atol=1e-12)


def test_psl_activations_bounds():
    # the official condition on [-1, 1]: 1(d >= 0) <= sigma(d) <= e^d
    d = torch.linspace(-1, 1, 201, dtype=torch.float64)
    for act in ("tanh", "atan", "relu"):
        sigma = psl_activation(d, act).exp()
        assert (sigma <= d.exp() + 1e-12).all()
        assert (sigma[d >= 0] >= 1 - 1e-12).all()
    # relu at d = -1 is clamped, finite, with a zero gradient
    e = torch.tensor([-1.0, -2.0], dtype=torch.float64, requires_grad=True)
    v = psl_activation(e, "relu")
    v.sum().backward()
    assert torch.isfinite(v).all() and (e.grad == 0).all()


@pytest.mark.parametrize("activation", ["tanh", "atan", "relu"])
def test_psl_gradcheck(activation):
    emb, labels = ref.batch(5, n=8, n_classes=3, dim=4)
    loss = L.PairwiseSoftmaxLoss(activation=activation, robust_temperature=0.2)
    torch.autograd.gradcheck(lambda e: loss(e, labels), (emb.clone().requires_grad_(True),))


@pytest.mark.parametrize("labels", [[0, 0, 0, 0], [0, 1, 2, 3], [1]])
def test_psl_no_pair_gives_zero(labels):
    emb = torch.randn(len(labels), 4, requires_grad=True)
    value = L.PairwiseSoftmaxLoss()(emb, torch.tensor(labels))
    value.backward()
    assert value.item() == 0.0 and (emb.grad == 0).all()


def test_psl_anchor_without_negative_drops_out():
    # class 0 spans the batch except one sample: only anchors with a negative count
    emb, _ = ref.batch(6, n=6)
    labels = torch.tensor([0, 0, 0, 1, 1, 2])
    value = L.PairwiseSoftmaxLoss()(emb, labels)
    torch.testing.assert_close(value, ref.pairwise_softmax(emb, labels.tolist()))


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(activation="sigmoid"), "`activation` of PairwiseSoftmaxLoss must be one of "
                                     "['tanh', 'atan', 'relu', 'exp']; got 'sigmoid'."),
        (dict(temperature=0), "`temperature` of PairwiseSoftmaxLoss must be a positive number; "
                              "got 0."),
        (dict(robust_temperature=-1.0), "`robust_temperature` of PairwiseSoftmaxLoss must be a "
                                        "positive number; got -1.0."),
    ],
)
def test_psl_bad_params(params, message):
    emb, labels = ref.batch(0, n=6)
    with pytest.raises(ValueError, match=re.escape(message)):
        L.PairwiseSoftmaxLoss(**params)(emb, labels)


# ---------------------------------------------------------------- contextual

@pytest.mark.parametrize("seed", SEEDS)
def test_contextual_similarity_matches_loop(seed):
    emb, _ = ref.batch(seed, n=12, dim=4)
    x = emb / emb.norm(dim=1, keepdim=True)
    ours = contextual_similarity(x @ x.T, k=4, eps=0.05)
    theirs = torch.stack([torch.stack(row) for row in ref.contextual_similarity(emb, 4, 0.05)])
    torch.testing.assert_close(ours, theirs.to(ours.dtype), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours, ours.T)
    assert (ours >= 0).all() and (ours <= 1 + 1e-12).all()


def test_contextual_similarity_on_two_clusters():
    # two tight, far-apart clusters of 4: neighbourhoods are the clusters, so
    # J = 1 within a cluster and 0 across
    g = torch.Generator().manual_seed(0)
    centers = torch.tensor([[1.0, 0, 0], [-1.0, 0, 0]], dtype=torch.float64)
    x = centers.repeat_interleave(4, 0) + 1e-3 * torch.randn(8, 3, generator=g, dtype=torch.float64)
    x = x / x.norm(dim=1, keepdim=True)
    J = contextual_similarity(x @ x.T, k=4, eps=0.05)
    same = torch.arange(8)[:, None] // 4 == torch.arange(8)[None, :] // 4
    torch.testing.assert_close(J[same], torch.ones(32, dtype=torch.float64))
    torch.testing.assert_close(J[~same], torch.zeros(32, dtype=torch.float64))


@pytest.mark.parametrize("seed", SEEDS)
def test_contextual_loss_matches_loop(seed):
    emb, labels = ref.batch(seed, n=12, n_classes=3, dim=4)
    _assert_matches(
        lambda e: L.ContextualLoss()(e, labels),
        lambda e: ref.contextual(e, labels.tolist()),
        emb,
    )
    params = dict(lam=0.6, gamma=0.2, k=3, eps=0.1, pos_margin=0.5, neg_margin=0.2, reg_sim=0.1)
    _assert_matches(
        lambda e: L.ContextualLoss(**params)(e, labels),
        lambda e: ref.contextual(e, labels.tolist(), **params),
        emb,
    )


def test_contextual_gradcheck_of_the_differentiable_part():
    # the contextual term has a straight-through (not true) gradient: with lam=0
    # the loss is the contrastive term plus the regulariser, checked numerically
    emb, labels = ref.batch(7, n=8, n_classes=2, dim=4)
    loss = L.ContextualLoss(lam=0.0, pos_margin=0.9, neg_margin=-0.2)
    torch.autograd.gradcheck(lambda e: loss(e, labels), (emb.clone().requires_grad_(True),))


def test_contextual_small_batch_is_finite():
    # batch smaller than k (official code: division by zero)
    emb = torch.randn(3, 4, requires_grad=True)
    value = L.ContextualLoss(k=4)(emb, torch.tensor([0, 0, 1]))
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(emb.grad).all()


def test_contextual_bad_k():
    emb, labels = ref.batch(0, n=6)
    with pytest.raises(ValueError, match=re.escape("`k` of ContextualLoss must be an integer >= 1; got 0.")):
        L.ContextualLoss(k=0)(emb, labels)


# ---------------------------------------------------------------- mean field

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mf_reg", [0.0, 0.5])
def test_mean_field_contrastive_matches_loop(seed, mf_reg):
    emb, labels = ref.batch(seed, n=16)
    torch.manual_seed(seed)
    loss = L.MeanFieldContrastiveLoss(mf_reg=mf_reg, neg_margin=0.9, **ref.SIZES).double()
    W = loss.W
    ours = ref.value_and_grads(loss, emb, labels)
    e = emb.clone().requires_grad_(True)
    value = ref.mean_field_contrastive(e, labels.tolist(), W, neg_margin=0.9, mf_reg=mf_reg)
    grads = torch.autograd.grad(value, [e, W])
    ref.assert_same(ours, (value.detach(), grads), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("params", [{}, dict(alpha=2.0, beta=10.0, base=0.5, mf_reg=0.3)])
def test_mean_field_multi_similarity_matches_loop(seed, params):
    emb, labels = ref.batch(seed, n=16)
    labels[labels == 4] = 3  # class 4 absent from the batch
    torch.manual_seed(seed)
    loss = L.MeanFieldMultiSimilarityLoss(**params, **ref.SIZES).double()
    W = loss.W
    ours = ref.value_and_grads(loss, emb, labels)
    e = emb.clone().requires_grad_(True)
    value = ref.mean_field_multi_similarity(e, labels.tolist(), W, **params)
    grads = torch.autograd.grad(value, [e, W])
    ref.assert_same(ours, (value.detach(), grads), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda: L.MeanFieldContrastiveLoss(mf_reg=0.5, neg_margin=0.9, num_classes=3,
                                           embedding_size=4),
        lambda: L.MeanFieldMultiSimilarityLoss(alpha=2.0, beta=10.0, mf_reg=0.3, num_classes=3,
                                               embedding_size=4),
    ],
)
def test_mean_field_gradcheck(make):
    emb, labels = ref.batch(8, n=8, n_classes=3, dim=4)
    torch.manual_seed(0)
    loss = make().double()
    torch.autograd.gradcheck(lambda e: loss(e, labels), (emb.clone().requires_grad_(True),))


def test_mean_field_contrastive_reaches_zero_at_the_class_vectors():
    # embeddings on their class vectors, class vectors far apart: loss 0
    loss = L.MeanFieldContrastiveLoss(mf_reg=1.0, num_classes=3, embedding_size=3).double()
    with torch.no_grad():
        loss.W.copy_(torch.eye(3, dtype=torch.float64))
    emb = torch.eye(3, dtype=torch.float64).repeat(2, 1)
    assert loss(emb, torch.tensor([0, 1, 2, 0, 1, 2])).item() == 0.0


@pytest.mark.parametrize(
    "cls, params, message",
    [
        (L.MeanFieldContrastiveLoss, dict(mf_reg=-1.0),
         "`mf_reg` of MeanFieldContrastiveLoss must be >= 0; got -1.0."),
        (L.MeanFieldMultiSimilarityLoss, dict(alpha=0.0),
         "`alpha` of MeanFieldMultiSimilarityLoss must be > 0; got 0.0."),
        (L.MeanFieldContrastiveLoss, dict(pos_margin=float("nan")),
         "`pos_margin` of MeanFieldContrastiveLoss must be a finite number; got nan."),
    ],
)
def test_mean_field_bad_params(cls, params, message):
    emb, labels = ref.batch(0, n=6)
    with pytest.raises(ValueError, match=re.escape(message)):
        cls(**params, **ref.SIZES)(emb, labels)


# ---------------------------------------------------------------- ProcSim

@pytest.mark.parametrize("seed", SEEDS)
def test_procsim_matches_loop(seed):
    emb, labels = ref.batch(seed, n=20)
    torch.manual_seed(seed)
    loss = L.ProcSimLoss(temperature=0.2, **ref.SIZES).double()
    weight = loss.parts[0].weight
    ours = ref.value_and_grads(loss, emb, labels)
    e = emb.clone().requires_grad_(True)
    value = ref.procsim_normalized_softmax(e, labels.tolist(), weight, conf_temperature=0.2)
    grads = torch.autograd.grad(value, [e, weight])
    ref.assert_same(ours, (value.detach(), grads), rtol=1e-10, atol=1e-12)


def test_procsim_gradcheck_with_flat_confidence():
    # the confidence is a constant for the gradient (so the loss's gradient is
    # not its numerical derivative); with a flat confidence it is
    emb, labels = ref.batch(9, n=10, n_classes=3, dim=4)
    torch.manual_seed(0)
    loss = L.ProcSimLoss(temperature=1e12, num_classes=3, embedding_size=4).double()
    torch.autograd.gradcheck(lambda e: loss(e, labels), (emb.clone().requires_grad_(True),))


def test_procsim_downweights_a_mislabelled_sample():
    reps = torch.eye(3, dtype=torch.float64)
    emb = torch.tensor([[1.0, 0.1, 0], [0.1, 1.0, 0], [0.0, 0.1, 1.0]], dtype=torch.float64)
    conf = procsim_confidence(emb, torch.tensor([0, 0, 2]), reps, temperature=0.1)
    assert conf[0] > 0.99 and conf[2] > 0.99  # near their own class vector
    assert conf[1] < 0.01  # labelled 0, sits on class 1's vector


def test_procsim_confidence_is_constant_for_the_gradient():
    emb, labels = ref.batch(1, n=12)
    torch.manual_seed(0)
    loss = L.ProcSimLoss(**ref.SIZES).double()
    part = loss.parts[0]
    # same value and gradient as the weighted mean with the confidences fixed
    e = emb.clone().requires_grad_(True)
    w = part.class_vectors(torch.float64)
    conf = procsim_confidence(emb, labels, w, 0.1)
    logits = torch.nn.functional.normalize(e, dim=1) @ torch.nn.functional.normalize(w, dim=1).T
    ce = torch.nn.functional.cross_entropy(logits / 0.05, labels, reduction="none")
    expected = (conf * ce).sum() / conf.sum()
    expected.backward()
    e2 = emb.clone().requires_grad_(True)
    value = loss(e2, labels)
    value.backward()
    torch.testing.assert_close(value, expected)
    torch.testing.assert_close(e2.grad, e.grad)


def test_procsim_wraps_a_pair_loss_with_batch_means():
    # no class vectors: the representatives are the batch class means; uniform
    # confidence (temperature -> inf) gives the wrapped loss's mean
    emb, labels = ref.batch(2, n=16)
    wrapped = L.ProcSimLoss(loss="contrastive", temperature=1e12)
    plain = L.ContrastiveLoss(reducer="mean")
    torch.testing.assert_close(wrapped(emb, labels), plain(emb, labels), rtol=1e-9, atol=1e-12)
    assert wrapped.requires_num_classes is False and wrapped.min_samples_per_class == 2
    assert L.ProcSimLoss.requires_num_classes is True


def test_procsim_never_modifies_the_given_loss_and_clones():
    inner = L.NormalizedSoftmaxLoss(temperature=0.1)
    loss = L.ProcSimLoss(loss=inner, num_classes=3, embedding_size=4)
    assert inner.reducer is None and loss.parts[0].temperature == 0.1
    assert loss.parts[0].weight.shape == (4, 3)
    assert clone(loss).get_params()["loss"] is not None


def test_procsim_nested_params_rebuild_the_part():
    loss = L.ProcSimLoss(loss="cosface", num_classes=3, embedding_size=4)
    loss.set_params(loss="arcface")
    assert isinstance(loss.parts[0], L.ArcFaceLoss)
    inner = L.ArcFaceLoss(scale=10.0)
    loss.set_params(loss=inner)
    loss.set_params(loss__scale=20.0)
    assert loss.parts[0].scale == 20.0 and loss.parts[0].W.shape == (4, 3)


def test_procsim_rejects_a_loss_without_reducer():
    with pytest.raises(ValueError, match=re.escape(
        "`loss` of ProcSimLoss must have a `reducer` parameter (its per-sample terms are "
        "reweighted); got ICNNLoss."
    )):
        L.ProcSimLoss(loss="icnn")


def test_procsim_bad_temperature():
    emb, labels = ref.batch(0, n=6)
    with pytest.raises(ValueError, match=re.escape("`temperature` of ProcSimLoss must be > 0; got 0.")):
        L.ProcSimLoss(temperature=0, **ref.SIZES)(emb, labels)


# ---------------------------------------------------------------- CoReS polytopes

@pytest.mark.parametrize("n, d", [(2, 1), (3, 2), (5, 4), (5, 16), (11, 10)])
def test_simplex_cosines(n, d):
    w = polytope_vectors("simplex", n, d, dtype=torch.float64)
    assert w.shape == (n, d)
    cos = w @ w.T
    expected = torch.full((n, n), -1.0 / (n - 1), dtype=torch.float64).fill_diagonal_(1.0)
    torch.testing.assert_close(cos, expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(w.sum(0), torch.zeros(d, dtype=torch.float64), rtol=0, atol=1e-12)


@pytest.mark.parametrize("n, d", [(1, 3), (4, 2), (5, 3), (6, 3)])
def test_orthoplex_vectors(n, d):
    w = polytope_vectors("orthoplex", n, d, dtype=torch.float64)
    for i in range(n):
        expected = torch.zeros(d, dtype=torch.float64)
        expected[i // 2] = 1.0 if i % 2 == 0 else -1.0
        torch.testing.assert_close(w[i], expected)


@pytest.mark.parametrize("n, d", [(1, 2), (2, 2), (4, 2), (5, 8), (8, 3)])
def test_cube_vectors(n, d):
    w = polytope_vectors("cube", n, d, dtype=torch.float64)
    m = max(1, math.ceil(math.log2(n)))
    torch.testing.assert_close(w.norm(dim=1), torch.ones(n, dtype=torch.float64))
    assert (w[:, m:] == 0).all()
    assert torch.allclose(w[:, :m].abs(), torch.full((n, m), 1 / math.sqrt(m), dtype=torch.float64))
    assert len({tuple(r) for r in w.sign().tolist()}) == n  # distinct vertices


@pytest.mark.parametrize(
    "kind, n, d, message",
    [
        ("simplex", 6, 4, "A simplex in dimension 4 has 5 vertices; 6 classes need "
                          "embedding_size >= 5."),
        ("orthoplex", 7, 3, "A orthoplex in dimension 3 has 6 vertices; 7 classes need "
                            "embedding_size >= 4."),
        ("cube", 9, 3, "A cube in dimension 3 has 8 vertices; 9 classes need "
                       "embedding_size >= 4."),
    ],
)
def test_polytope_infeasible(kind, n, d, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        polytope_vectors(kind, n, d)
    with pytest.raises(ValueError, match=re.escape(message)):
        L.EBVLoss(geometry=kind, num_classes=n, embedding_size=d)


def test_ebv_geometry_option():
    loss = L.EBVLoss(geometry="simplex", num_classes=4, embedding_size=6)
    torch.testing.assert_close(loss.vectors, polytope_vectors("simplex", 4, 6))
    assert not list(loss.parameters())  # fixed, a buffer
    # the default stays EBV (orthonormal for n <= d)
    default = L.EBVLoss(num_classes=4, embedding_size=6)
    assert default.geometry == "ebv"
    torch.testing.assert_close(default.vectors @ default.vectors.T, torch.eye(4), atol=1e-6, rtol=0)
    # set_params rebuilds the vectors
    default.set_params(geometry="orthoplex")
    torch.testing.assert_close(default.vectors, polytope_vectors("orthoplex", 4, 6))
    with pytest.raises(ValueError, match=re.escape(
        "`geometry` of EBVLoss must be one of ['ebv', 'simplex', 'orthoplex', 'cube']; got 'cone'."
    )):
        L.EBVLoss(geometry="cone", num_classes=4, embedding_size=6)


@pytest.mark.parametrize("geometry", ["simplex", "orthoplex", "cube"])
def test_ebv_polytope_loss_matches_hand_cross_entropy(geometry):
    emb, labels = ref.batch(4, n=12, n_classes=4, dim=6)
    loss = L.EBVLoss(geometry=geometry, temperature=0.1, num_classes=4, embedding_size=6).double()
    w = loss.vectors
    torch.testing.assert_close(w, polytope_vectors(geometry, 4, 6, dtype=torch.float64),
                               rtol=0, atol=1e-7)
    w = w / w.norm(dim=1, keepdim=True)  # stored as float32
    x = emb / emb.norm(dim=1, keepdim=True)
    expected = sum(
        torch.logsumexp(x[i] @ w.T / 0.1, 0) - x[i] @ w[labels[i]] / 0.1 for i in range(12)
    ) / 12
    torch.testing.assert_close(loss(emb, labels), expected, rtol=1e-12, atol=1e-12)
    torch.autograd.gradcheck(lambda e: loss(e, labels), (emb.clone().requires_grad_(True),))


# ---------------------------------------------------------------- through MetricLearner

@pytest.mark.parametrize(
    "loss",
    ["pairwise_softmax", "contextual", "mean_field_contrastive", "mean_field_multi_similarity",
     "procsim"],
)
def test_metric_learner_fits_by_name(blobs, loss):
    from skmetric import MetricLearner

    X, y = blobs
    model = MetricLearner(loss=loss, max_epochs=2, hidden_sizes=(8,), batch_size=32,
                          random_state=0).fit(X, y)
    Z = model.transform(X)
    assert Z.shape[0] == len(X) and np.isfinite(Z).all()
    assert np.isfinite(model.history_[:, "train_loss"]).all()


def test_metric_learner_ebv_simplex(blobs):
    from skmetric import MetricLearner

    X, y = blobs
    model = MetricLearner(loss="ebv", max_epochs=2, hidden_sizes=(8,), batch_size=32,
                          random_state=0).set_params(loss__geometry="simplex").fit(X, y)
    w = model.loss_.vectors
    cos = w @ w.T
    torch.testing.assert_close(cos[~torch.eye(4, dtype=torch.bool)], torch.full((12,), -1 / 3))

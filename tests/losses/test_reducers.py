"""Reducers: each against a hand computation, and swapped into losses."""

import re

import pytest
import torch
from sklearn.base import clone

from skmetric import MetricLearner
from skmetric.losses import (
    LOSSES,
    ArcFaceLoss,
    AvgNonZeroReducer,
    ContrastiveLoss,
    MeanReducer,
    MultiSimilarityLoss,
    NTXentLoss,
    PerAnchorReducer,
    SumReducer,
    TripletMarginLoss,
    get_reducer,
)
from skmetric.losses.reducers import avg_nonzero

import _reference as ref

# terms 0, 2, 0, 4, 1 of anchors 0, 0, 1, 1, 3 (anchor 2 has none)
TERMS = [0.0, 2.0, 0.0, 4.0, 1.0]
ANCHORS = [0, 0, 1, 1, 3]
HAND = {
    "mean": 7 / 5,
    "sum": 7.0,
    "mean_nonzero": 7 / 3,  # (2 + 4 + 1) / 3
    "per_anchor": (1 + 2 + 1) / 3,  # anchor means 1, 2, 1
}


@pytest.mark.parametrize("name", sorted(HAND))
def test_reducer_matches_hand_computation(name):
    losses = torch.tensor(TERMS, dtype=torch.float64, requires_grad=True)
    value = get_reducer(name)(losses, torch.tensor(ANCHORS))
    assert value.item() == pytest.approx(HAND[name], rel=1e-12)
    value.backward()
    assert torch.isfinite(losses.grad).all()


def test_per_anchor_sum_aggregation_and_no_anchors():
    losses = torch.tensor(TERMS, dtype=torch.float64)
    value = PerAnchorReducer(aggregation="sum")(losses, torch.tensor(ANCHORS))
    assert value.item() == pytest.approx((2 + 4 + 1) / 3)
    # without anchors each term is its own anchor: the mean
    assert PerAnchorReducer()(losses).item() == pytest.approx(7 / 5)


@pytest.mark.parametrize("reducer", [MeanReducer(), SumReducer(), AvgNonZeroReducer(),
                                     PerAnchorReducer()])
def test_no_terms_reduce_to_a_connected_zero(reducer):
    emb = torch.randn(3, 2, requires_grad=True)
    empty = emb[:0, 0] * 2
    value = reducer(empty, torch.zeros(0, dtype=torch.long))
    assert value.item() == 0.0
    value.backward()
    assert (emb.grad == 0).all()


def test_avg_nonzero():
    x = torch.tensor([0.0, 2.0, 0.0, 4.0], requires_grad=True)
    assert avg_nonzero(x).item() == 3.0
    assert avg_nonzero(torch.zeros(3)).item() == 0.0
    assert avg_nonzero(torch.zeros(0)).item() == 0.0


def test_get_reducer_names_objects_and_errors():
    assert isinstance(get_reducer("sum"), SumReducer)
    obj = PerAnchorReducer(aggregation="sum")
    assert get_reducer(obj) is obj
    msg = "Unknown reducer 'median'. Valid names are: ['mean', 'mean_nonzero', 'per_anchor', 'sum']."
    with pytest.raises(ValueError, match=re.escape(msg)):
        get_reducer("median")
    msg = "`aggregation` of PerAnchorReducer must be one of ['mean', 'sum']; got 'max'."
    with pytest.raises(ValueError, match=re.escape(msg)):
        PerAnchorReducer(aggregation="max")(torch.ones(2), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="needs one anchor per term; got 2 terms and 1 anchors"):
        SumReducer()(torch.ones(2), torch.tensor([0]))
    assert repr(obj) == "PerAnchorReducer(aggregation='sum')"
    assert clone(obj) == obj and clone(obj) is not obj


# ---------------------------------------------------------------- swapped into losses

# the reduction each loss uses when ``reducer=None``
DEFAULT_REDUCER = {
    "contrastive": "mean_nonzero", "snr_contrastive": "mean_nonzero",
    "triplet_margin": "mean_nonzero", "circle": "mean_nonzero", "supcon": "mean_nonzero",
    "multi_similarity": "mean", "generalized_lifted_structure": "mean",
    "ntxent": "mean", "lifted_structure": "mean", "tuplet_margin": "mean",
    "arcface": "mean", "cosface": "mean", "sphereface": "mean", "subcenter_arcface": "mean",
    "elasticface": "mean", "normalized_softmax": "mean", "ebv": "mean", "soft_triple": "mean",
    "harmonic": "mean", "proxy_nca": "mean",
    "z_loss": "mean", "unpg": "mean", "circle_proxy": "mean",
    "generalized_cross_entropy": "mean", "ldr": "mean", "nbc_softmax": "mean",
}


def test_every_loss_with_a_reducer_is_listed():
    with_reducer = {n for n, cls in LOSSES.items() if "reducer" in cls._get_param_names()}
    assert with_reducer == set(DEFAULT_REDUCER)


def _value(name, emb, labels, indices_tuple=None, **params):
    torch.manual_seed(0)  # same class vectors for every reducer
    loss = ref.build_loss(name, n_classes=5, dim=emb.shape[1])
    loss.set_params(**params)
    loss.eval()  # ElasticFace: no random margins
    return loss.double()(emb, labels, indices_tuple)


@pytest.mark.parametrize("mined", [None, "pairs", "triplets"])
@pytest.mark.parametrize("name", sorted(DEFAULT_REDUCER))
def test_naming_the_default_reducer_changes_nothing(name, mined):
    emb, labels = ref.batch(0, n=20)
    it = None if mined is None else ref.pml_mined(mined, emb, labels)
    default = _value(name, emb, labels, it)
    named = _value(name, emb, labels, it, reducer=DEFAULT_REDUCER[name])
    torch.testing.assert_close(named, default, rtol=1e-12, atol=1e-12)
    for other in ("sum", "per_anchor"):
        value = _value(name, emb, labels, it, reducer=other)
        assert torch.isfinite(value)


def test_contrastive_reducers_against_loop():
    emb, labels = ref.batch(1, n=16)
    pos, neg = ref.contrastive_terms(emb, labels)
    pos_t = torch.stack([t for _, t in pos])
    neg_t = torch.stack([t for _, t in neg])
    torch.testing.assert_close(
        ContrastiveLoss(reducer="sum")(emb, labels), pos_t.sum() + neg_t.sum()
    )
    torch.testing.assert_close(
        ContrastiveLoss(reducer="mean")(emb, labels), pos_t.mean() + neg_t.mean()
    )


def _per_anchor_mean(terms):
    by_anchor = {}
    for a, t in terms:
        by_anchor.setdefault(a, []).append(t)
    return sum(sum(ts) / len(ts) for ts in by_anchor.values()) / len(by_anchor)


def test_ntxent_per_anchor_against_loop():
    emb, labels = ref.batch(2, n=16)
    terms = ref.ntxent_terms(emb, labels)
    torch.testing.assert_close(
        NTXentLoss(reducer="per_anchor")(emb, labels), _per_anchor_mean(terms)
    )
    torch.testing.assert_close(
        NTXentLoss(reducer="sum")(emb, labels), sum(t for _, t in terms)
    )


def test_triplet_sum_counts_every_triplet():
    emb, labels = ref.batch(3, n=12)
    a, p, n = (t.tolist() for t in ref_all_triplets(labels))
    x = emb / emb.norm(dim=1, keepdim=True)
    expected = sum(
        torch.relu((x[i] - x[j]).norm() - (x[i] - x[k]).norm() + 0.05)
        for i, j, k in zip(a, p, n)
    )
    torch.testing.assert_close(TripletMarginLoss(reducer="sum")(emb, labels), expected)


def ref_all_triplets(labels):
    y = labels.tolist()
    r = range(len(y))
    triplets = [(a, p, n) for a in r for p in r for n in r
                if a != p and y[a] == y[p] and y[n] != y[a]]
    return [torch.tensor(c) for c in zip(*triplets)]


def test_sum_is_batch_size_times_mean_for_per_sample_losses():
    emb, labels = ref.batch(4, n=20)
    for cls in (MultiSimilarityLoss,):
        torch.testing.assert_close(cls(reducer="sum")(emb, labels), 20 * cls()(emb, labels))
    torch.manual_seed(0)
    arc = ArcFaceLoss(num_classes=5, embedding_size=8).double()
    mean = arc(emb, labels)
    arc.set_params(reducer="sum")
    torch.testing.assert_close(arc(emb, labels), 20 * mean)


def test_reducer_routes_through_an_estimator():
    est = MetricLearner(loss=ContrastiveLoss(reducer=PerAnchorReducer()))
    params = clone(est).get_params()
    assert params["loss__reducer__aggregation"] == "mean"
    est.set_params(loss__reducer="sum")
    assert est.get_params()["loss__reducer"] == "sum"
    named = MetricLearner(loss="contrastive").set_params(loss__reducer="per_anchor")
    assert named.get_params()["loss__reducer"] == "per_anchor"

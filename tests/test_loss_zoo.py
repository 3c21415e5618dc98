"""The loss zoo: PML parity, loop references, edge cases, and training on digits."""

import math
import pickle

import numpy as np
import pytest
import torch
from pytorch_metric_learning import distances as pml_distances
from pytorch_metric_learning import losses as pml_losses
from pytorch_metric_learning import miners as pml_miners

from skmetric.distances import CosineSimilarity, SNRDistance, SquaredEuclideanDistance
from skmetric import losses as L
from skmetric.losses import LOSSES, get_loss
from skmetric.losses import _utils

import _reference as ref

SEEDS = [0, 1, 2]
RTOL, ATOL = 1e-5, 1e-10
C, DIM = 5, 8


def _batch(seed, n=24, n_classes=C, dim=DIM, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    emb = torch.randn(n, dim, generator=g, dtype=dtype)
    labels = torch.randint(0, n_classes, (n,), generator=g)
    return emb, labels


def _copy(ours, theirs, our_attr, their_attr, transpose=False):
    ours, theirs = ours.double(), theirs.double()
    src = getattr(theirs, their_attr).data
    getattr(ours, our_attr).data.copy_(src.T if transpose else src)
    return ours, theirs


def _sizes(**kw):
    return dict(num_classes=C, embedding_size=DIM, **kw)


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
    "proxy_nca": lambda: _copy(
        L.ProxyNCALoss(**_sizes()), pml_losses.ProxyNCALoss(C, DIM), "proxies", "proxies"
    ),
    "proxy_nca_scale": lambda: _copy(
        L.ProxyNCALoss(softmax_scale=8, **_sizes()),
        pml_losses.ProxyNCALoss(C, DIM, softmax_scale=8), "proxies", "proxies",
    ),
    "proxy_nca_sqeuclidean": lambda: _copy(
        L.ProxyNCALoss(softmax_scale=3, distance=SquaredEuclideanDistance(normalize_embeddings=True),
                       **_sizes()),
        pml_losses.ProxyNCALoss(C, DIM, softmax_scale=3), "proxies", "proxies",
    ),
    "cosface": lambda: _copy(L.CosFaceLoss(**_sizes()), pml_losses.CosFaceLoss(C, DIM), "W", "W"),
    "cosface_tuned": lambda: _copy(
        L.CosFaceLoss(margin=0.62, scale=100, **_sizes()),
        pml_losses.CosFaceLoss(C, DIM, margin=0.62, scale=100), "W", "W",
    ),
    "subcenter_arcface": lambda: _copy(
        L.SubCenterArcFaceLoss(**_sizes()),
        pml_losses.SubCenterArcFaceLoss(num_classes=C, embedding_size=DIM), "W", "W",
    ),
    "subcenter_arcface_tuned": lambda: _copy(
        L.SubCenterArcFaceLoss(margin=20, scale=30, sub_centers=2, **_sizes()),
        pml_losses.SubCenterArcFaceLoss(
            num_classes=C, embedding_size=DIM, margin=20, scale=30, sub_centers=2
        ), "W", "W",
    ),
    "sphereface": lambda: _copy(
        L.SphereFaceLoss(**_sizes()), pml_losses.SphereFaceLoss(C, DIM), "W", "W"
    ),
    "sphereface_m3": lambda: _copy(
        L.SphereFaceLoss(margin=3, scale=2, **_sizes()),
        pml_losses.SphereFaceLoss(C, DIM, margin=3, scale=2), "W", "W",
    ),
    "soft_triple": lambda: _copy(
        L.SoftTripleLoss(tau=0, **_sizes()), pml_losses.SoftTripleLoss(C, DIM), "fc", "fc"
    ),
    "soft_triple_tuned": lambda: _copy(
        L.SoftTripleLoss(tau=0, centers_per_class=3, la=10, gamma=0.2, margin=0.05, **_sizes()),
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


def _value_and_grads(loss, emb, labels, indices_tuple=None):
    emb = emb.clone().requires_grad_(True)
    value = loss(emb, labels, indices_tuple)
    params = [p for p in loss.parameters()]
    grads = torch.autograd.grad(value, [emb] + params, allow_unused=True)
    return torch.as_tensor(value).detach().reshape(()), grads


def _assert_same(ours, theirs, rtol=RTOL, atol=ATOL):
    (v1, g1), (v2, g2) = ours, theirs
    torch.testing.assert_close(v1, v2.to(v1.dtype), rtol=rtol, atol=atol)
    assert len(g1) == len(g2)
    for a, b in zip(g1, g2):
        if a is None and b is None:
            continue
        a = torch.zeros_like(b) if a is None else a
        b = torch.zeros_like(a) if b is None else b
        torch.testing.assert_close(a, b.reshape(a.shape).to(a.dtype), rtol=rtol, atol=atol)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_pml(case, seed):
    ours, theirs = CASES[case]()
    emb, labels = _batch(seed)
    _assert_same(_value_and_grads(ours, emb, labels), _value_and_grads(theirs, emb, labels))


def _mined(kind, emb, labels):
    if kind == "pairs":
        return pml_miners.MultiSimilarityMiner(epsilon=0.1)(emb, labels)
    return pml_miners.TripletMarginMiner(margin=0.2, type_of_triplets="all")(emb, labels)


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
    emb, labels = _batch(seed, n=20)
    indices = _mined(kind, emb, labels)
    assert len(indices[0]) > 0
    _assert_same(
        _value_and_grads(ours, emb, labels, indices),
        _value_and_grads(theirs, emb, labels, indices),
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
    _assert_same(_value_and_grads(ours, emb, labels), _value_and_grads(theirs, emb, labels))

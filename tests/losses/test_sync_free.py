"""Losses without a host-sync early exit keep the empty-pair values and gradients.

A batch without a positive pair (all labels distinct) or without a negative
(one class) gives 0 with a zero gradient, as pytorch-metric-learning does; the losses reach it by their formulas (a
denominator clamped at 1, a product by a 0-d bool tensor) instead of an
``if not mask.any(): return``.
"""

import pytest
import torch
from pytorch_metric_learning import losses as pml_losses

import skmetric.losses as L
from skmetric.losses.base import gated

import _reference as ref

CASES = {
    "ntxent": (L.NTXentLoss, pml_losses.NTXentLoss),
    "supcon": (L.SupConLoss, pml_losses.SupConLoss),
    "lifted_structure": (L.LiftedStructureLoss, pml_losses.LiftedStructureLoss),
    "tuplet_margin": (L.TupletMarginLoss, pml_losses.TupletMarginLoss),
    "tcm": (L.TCMLoss, pml_losses.ThresholdConsistentMarginLoss),
}
EMPTY = {"no_positive": [0, 1, 2, 3, 4, 5], "no_negative": [2, 2, 2, 2, 2, 2], "one_sample": [4]}


@pytest.mark.parametrize("batch", sorted(EMPTY))
@pytest.mark.parametrize("case", sorted(CASES))
def test_empty_pairs_give_zero_and_zero_gradient(case, batch):
    ours, theirs = CASES[case]
    labels = torch.tensor(EMPTY[batch])
    emb = torch.randn(len(labels), 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    got = ref.value_and_grads(ours(), emb, labels)
    ref.assert_same(got, ref.value_and_grads(theirs(), emb, labels))
    if case == "tcm" and batch != "one_sample":
        # TCM scores each kind of pair on its own: only a batch without any
        # pair (where the early exit was) is 0
        assert got[0].item() > 0
        return
    assert got[0].item() == 0.0
    assert torch.equal(got[1][0], torch.zeros_like(emb))


@pytest.mark.parametrize("case", ["lifted_structure", "supcon"])
def test_gated_losses_with_a_reducer_on_one_class(case):
    # positives but no negative: the formula alone would not be 0
    ours, theirs = CASES[case]
    labels = torch.zeros(5, dtype=torch.long)
    emb = torch.randn(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    value, grads = ref.value_and_grads(ours(reducer="sum"), emb, labels)
    assert value.item() == 0.0 and torch.equal(grads[0], torch.zeros_like(emb))


@pytest.mark.parametrize("case", sorted(CASES))
def test_non_empty_batches_still_match_pml(case):
    ours, theirs = CASES[case]
    emb, labels = ref.batch(5, n=16, n_classes=4)
    ref.assert_same(ref.value_and_grads(ours(), emb, labels),
                    ref.value_and_grads(theirs(), emb, labels))


def test_gated_is_the_value_or_a_connected_zero():
    x = torch.tensor([1.5, -2.0], requires_grad=True)
    kept = gated((x * x).sum(), torch.tensor(True))
    kept.backward()
    assert kept.item() == 6.25 and x.grad.tolist() == [3.0, -4.0]
    x.grad = None
    dropped = gated((x * x).sum(), torch.tensor(False))
    dropped.backward()
    assert dropped.item() == 0.0 and x.grad.tolist() == [0.0, 0.0]


def test_proxy_label_range_is_still_checked_on_cpu():
    loss = L.NormalizedSoftmaxLoss(num_classes=3, embedding_size=4)
    emb = torch.randn(4, 4)
    with pytest.raises(ValueError, match=r"num_classes=3; labels must be integers in \[0, 3\)"):
        loss(emb, torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="num_classes=3"):
        loss(emb, torch.tensor([0, -1, 2, 1]))
    assert torch.isfinite(loss(emb, torch.tensor([0, 1, 2, 1])))


# Losses whose forward and backward never read a value back to the host:
# they run on the "meta" device, where ``.item()``, ``bool(tensor)`` and
# ``nonzero`` (any data-dependent shape) raise.  On a GPU such a loss queues
# its kernels without waiting for the device.
SYNC_FREE = [
    "align_uniform", "arcface", "circle", "circle_proxy", "combined", "contextual",
    "contrastive", "cosface", "ebv", "elasticface", "generalized_cross_entropy",
    "generalized_lifted_structure", "harmonic", "icnn", "ldr", "lifted_structure", "margin",
    "mean_field_contrastive", "mean_field_multi_similarity", "multi_similarity", "nca",
    "normalized_softmax", "ntxent", "procsim", "proxy_anchor", "proxy_nca", "snr_contrastive",
    "soft_triple", "sphereface", "subcenter_arcface", "supcon", "tcm", "triplet_margin",
    "tuplet_margin", "z_loss",
]


@pytest.mark.parametrize("name", SYNC_FREE)
def test_loss_runs_without_host_sync(name):
    if L.LOSSES[name].requires_num_classes:
        loss = L.get_loss(name, num_classes=8, embedding_size=16)
    else:
        loss = L.get_loss(name)
    loss = loss.to("meta")
    emb = torch.randn(32, 16, device="meta", requires_grad=True)
    labels = torch.arange(32, device="meta") % 8
    value = loss(emb, labels)
    value.backward()
    assert value.device.type == "meta" and value.shape == ()
    assert emb.grad is not None and emb.grad.shape == emb.shape


def test_meta_device_catches_a_sync():
    # the check above can fail: a loss that reads a value back raises there
    loss = L.get_loss("cross_batch_memory")
    with pytest.raises((RuntimeError, NotImplementedError)):
        loss.to("meta")(torch.randn(8, 4, device="meta"), torch.arange(8, device="meta") % 2)

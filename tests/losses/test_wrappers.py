"""Losses built from losses: cross-batch memory, combined losses, Metrix."""

import pytest
import torch
from pytorch_metric_learning import losses as pml_losses

from skmetric import losses as L

import _reference as ref

DIM = 8


def test_cross_batch_memory_matches_pml_over_steps():
    ours = L.CrossBatchMemory(loss=L.ContrastiveLoss(), memory_size=40).double()
    theirs = pml_losses.CrossBatchMemory(pml_losses.ContrastiveLoss(), DIM, memory_size=40)
    for step in range(4):  # wraps around the memory
        emb, labels = ref.batch(step, n=16)
        ref.assert_same(
            ref.value_and_grads(ours, emb, labels), ref.value_and_grads(theirs, emb, labels)
        )
    assert int(ours.n_filled) == 40 and int(ours.queue_idx) == 64 % 40
    state = ours.state_dict()
    assert {"embedding_memory", "label_memory", "queue_idx", "n_filled"} <= set(state)
    with pytest.raises(ValueError, match="must be at least the batch size"):
        L.CrossBatchMemory(memory_size=4)(*ref.batch(0))
    with pytest.raises(ValueError, match="wraps pair and triplet losses"):
        L.CrossBatchMemory(loss=L.CosFaceLoss(**ref.SIZES))(*ref.batch(0))

def test_combined_loss():
    emb, labels = ref.batch(0)
    combined = L.CombinedLoss(losses=[("multi_similarity", 1.0), (L.TCMLoss(), 0.1)])
    expected = L.MultiSimilarityLoss()(emb, labels) + 0.1 * L.TCMLoss()(emb, labels)
    torch.testing.assert_close(combined(emb, labels), expected)
    assert not combined.requires_num_classes and L.CombinedLoss.requires_num_classes
    proxy = L.CosFaceLoss(scale=10)
    c2 = L.CombinedLoss(losses=[(proxy, 1.0), ("margin", 0.5)], **ref.SIZES)
    assert c2.requires_num_classes and c2.min_samples_per_class == 2
    assert not hasattr(proxy, "W")  # the given object is not modified
    names = [n for n, _ in c2.named_parameters()]
    assert names == ["parts.0.W", "parts.1.betas"]
    c2(emb.float(), labels).backward()
    assert all(p.grad is not None for p in c2.parameters())
    c2.set_params(losses=[("ntxent", 1.0)])
    assert len(c2.parts) == 1 and isinstance(c2.parts[0], L.NTXentLoss)
    with pytest.raises(ValueError, match=r"sequence of \(loss, weight\) pairs"):
        L.CombinedLoss(losses=["tcm"])

def test_metrix():
    emb, labels = ref.batch(0)
    inner = L.MultiSimilarityLoss()
    metrix = L.MetrixLoss(loss=inner)
    metrix.eval()
    torch.testing.assert_close(metrix(emb, labels), inner(emb, labels))
    metrix.train()
    torch.manual_seed(3)
    e = emb.clone().requires_grad_(True)
    a = metrix(e, labels)
    a.backward()
    torch.manual_seed(3)
    assert metrix(emb, labels) == a and a > inner(emb, labels)
    assert torch.isfinite(e.grad).all()
    assert metrix.set_params(mix_weight=0)(emb, labels) == inner(emb, labels)
    # proxy path: mixed embeddings with both labels
    proxy = L.MetrixLoss(loss="cosface", **ref.SIZES)
    assert proxy.requires_num_classes and not L.MetrixLoss(loss="ntxent").requires_num_classes
    proxy(emb.float(), labels).backward()
    assert proxy.parts[0].W.grad is not None
    # a single class: nothing to mix, the clean loss
    one = torch.zeros(6, dtype=torch.long)
    torch.testing.assert_close(metrix(emb[:6], one), inner(emb[:6], one))

@pytest.mark.parametrize("wrapped", ["contrastive", "triplet_margin", "ntxent", "supcon"])
def test_metrix_and_memory_wrap_pair_losses(wrapped):
    emb, labels = ref.batch(1)
    for loss in (L.MetrixLoss(loss=wrapped), L.CrossBatchMemory(loss=wrapped, memory_size=64)):
        e = emb.clone().requires_grad_(True)
        torch.manual_seed(0)
        value = loss(e, labels)
        value.backward()
        assert torch.isfinite(value) and torch.isfinite(e.grad).all()

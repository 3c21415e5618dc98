"""Index tuples (skmetric._tuples): all triplets, conversions, checks."""

import pytest
import torch
from pytorch_metric_learning import miners as pml_miners

from skmetric import _tuples
from skmetric.losses import ContrastiveLoss, MultiSimilarityLoss

import _reference as ref

SEEDS = [0, 1, 2]


@pytest.mark.parametrize("seed", SEEDS)
def test_all_triplets_brute_force(seed):
    _, labels = ref.batch(seed, n=15, n_classes=4)
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

    emb, labels = ref.batch(seed, n=20)
    pairs = pml_miners.MultiSimilarityMiner(epsilon=0.3)(emb, labels)
    ours = _tuples.to_triplets(pairs, labels)
    theirs = lmu.convert_to_triplets(pairs, labels)
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)
    assert _tuples.to_pairs(ours, labels)[2] is ours[0]


def test_bad_indices_tuple():
    loss = ContrastiveLoss()
    emb, labels = ref.batch(0, n=6)
    with pytest.raises(ValueError, match="indices_tuple must hold 3 tensors"):
        loss(emb, labels, (torch.tensor([0]), torch.tensor([1])))


def test_pair_both_positive_and_negative_is_an_error():
    emb, labels = ref.batch(0, n=6)
    t = torch.tensor([0])
    with pytest.raises(ValueError, match="both positive and negative"):
        MultiSimilarityLoss()(emb, labels, (t, t + 1, t, t + 1))

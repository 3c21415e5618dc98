"""Miners: against pytorch-metric-learning's miners and brute force."""

import pickle

import pytest
import torch
from pytorch_metric_learning import distances as pml_distances
from pytorch_metric_learning import miners as pml_miners
from sklearn.base import clone

from skmetric.distances import CosineSimilarity, EuclideanDistance
from skmetric.losses import MultiSimilarityLoss, TripletMarginLoss
from skmetric.miners import (
    MINERS,
    BatchHardMiner,
    MultiSimilarityMiner,
    TripletMarginMiner,
    get_miner,
)

import _reference as ref

SEEDS = [0, 1, 2]



def _pairs(a, b):
    return sorted(zip(a.tolist(), b.tolist()))


def _check_output(out, n):
    assert len(out) == n
    for t in out:
        assert t.dtype == torch.long and t.ndim == 1 and not t.requires_grad


DISTANCES = {
    "cosine": (CosineSimilarity, pml_distances.CosineSimilarity),
    "euclidean": (lambda: EuclideanDistance(normalize_embeddings=True), pml_distances.LpDistance),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("distance", sorted(DISTANCES))
@pytest.mark.parametrize("epsilon", [0.1, 0.4])
def test_multi_similarity_miner_matches_pml(seed, distance, epsilon):
    ours_d, theirs_d = DISTANCES[distance]
    emb, labels = ref.batch(seed)
    ours = MultiSimilarityMiner(epsilon=epsilon, distance=ours_d())(emb, labels)
    theirs = pml_miners.MultiSimilarityMiner(epsilon=epsilon, distance=theirs_d())(emb, labels)
    _check_output(ours, 4)
    assert len(ours[0]) > 0 and len(ours[2]) > 0
    assert _pairs(ours[0], ours[1]) == _pairs(theirs[0], theirs[1])
    assert _pairs(ours[2], ours[3]) == _pairs(theirs[2], theirs[3])


@pytest.mark.parametrize("seed", SEEDS)
def test_multi_similarity_miner_brute_force(seed):
    emb, labels = ref.batch(seed, n=12, n_classes=3)
    eps = 0.1
    x = emb / emb.norm(dim=1, keepdim=True)
    S = (x @ x.T).tolist()
    y = labels.tolist()
    pos, neg = [], []
    for i in range(12):
        P = [j for j in range(12) if j != i and y[j] == y[i]]
        N = [k for k in range(12) if y[k] != y[i]]
        if not P or not N:
            continue
        min_pos = min(S[i][j] for j in P)
        max_neg = max(S[i][k] for k in N)
        neg += [(i, k) for k in N if S[i][k] + eps > min_pos]
        pos += [(i, j) for j in P if S[i][j] - eps < max_neg]
    a1, p, a2, n = MultiSimilarityMiner(epsilon=eps)(emb, labels)
    assert _pairs(a1, p) == sorted(pos)
    assert _pairs(a2, n) == sorted(neg)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("distance", sorted(DISTANCES))
def test_batch_hard_miner_matches_pml(seed, distance):
    ours_d, theirs_d = DISTANCES[distance]
    emb, labels = ref.batch(seed)
    labels[0] = 99  # a singleton class: anchor 0 has no positive and is dropped
    ours = BatchHardMiner(distance=ours_d())(emb, labels)
    theirs = pml_miners.BatchHardMiner(distance=theirs_d())(emb, labels)
    _check_output(ours, 3)
    assert 0 not in ours[0].tolist()
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)


@pytest.mark.parametrize("seed", SEEDS)
def test_batch_hard_miner_brute_force(seed):
    emb, labels = ref.batch(seed, n=10, n_classes=3)
    x = emb / emb.norm(dim=1, keepdim=True)
    D = torch.cdist(x, x).tolist()
    y = labels.tolist()
    expected = []
    for a in range(10):
        P = [j for j in range(10) if j != a and y[j] == y[a]]
        N = [k for k in range(10) if y[k] != y[a]]
        if P and N:
            expected.append((a, max(P, key=lambda j: D[a][j]), min(N, key=lambda k: D[a][k])))
    got = list(zip(*[t.tolist() for t in BatchHardMiner()(emb, labels)]))
    assert got == expected


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("distance", sorted(DISTANCES))
@pytest.mark.parametrize("kind", ["all", "hard", "semihard", "easy"])
def test_triplet_margin_miner_matches_pml(seed, distance, kind):
    ours_d, theirs_d = DISTANCES[distance]
    emb, labels = ref.batch(seed)
    ours = TripletMarginMiner(margin=0.2, type_of_triplets=kind, distance=ours_d())(emb, labels)
    theirs = pml_miners.TripletMarginMiner(
        margin=0.2, type_of_triplets=kind, distance=theirs_d()
    )(emb, labels)
    _check_output(ours, 3)
    assert len(ours[0]) > 0
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)


def test_triplet_margin_miner_semihard_brute_force():
    emb, labels = ref.batch(4, n=10, n_classes=3)
    x = emb / emb.norm(dim=1, keepdim=True)
    D = torch.cdist(x, x).tolist()
    y = labels.tolist()
    m = 0.3
    expected = [
        (a, p, n)
        for a in range(10) for p in range(10) for n in range(10)
        if a != p and y[a] == y[p] and y[n] != y[a] and 0 < D[a][n] - D[a][p] <= m
    ]
    got = list(zip(*[t.tolist() for t in TripletMarginMiner(margin=m)(emb, labels)]))
    assert got == expected


@pytest.mark.parametrize(
    "miner", [MultiSimilarityMiner(), BatchHardMiner(), TripletMarginMiner()],
    ids=lambda m: type(m).__name__,
)
@pytest.mark.parametrize("labels", [[0, 0, 0, 0], [0, 1, 2, 3], [5]])
def test_nothing_qualifies_gives_empty_long_tensors(miner, labels):
    emb = torch.randn(len(labels), 4, requires_grad=True)
    out = miner(emb, torch.tensor(labels))
    _check_output(out, 4 if isinstance(miner, MultiSimilarityMiner) else 3)
    assert all(len(t) == 0 for t in out)
    assert all(t.device == emb.device for t in out)


def test_miner_runs_without_grad():
    emb, labels = ref.batch(0)
    emb.requires_grad_(True)
    for miner in (MultiSimilarityMiner(), BatchHardMiner(), TripletMarginMiner()):
        out = miner(emb, labels)
        assert all(not t.requires_grad for t in out)


@pytest.mark.parametrize("seed", SEEDS)
def test_miner_feeds_loss(seed):
    emb, labels = ref.batch(seed)
    emb.requires_grad_(True)
    for miner, loss in (
        (MultiSimilarityMiner(), MultiSimilarityLoss()),
        (BatchHardMiner(), TripletMarginLoss(margin=0.5)),
        (TripletMarginMiner(type_of_triplets="all"), TripletMarginLoss()),
    ):
        value = loss(emb, labels, miner(emb, labels))
        value.backward()
        assert torch.isfinite(value) and value > 0


def test_unknown_type_of_triplets():
    emb, labels = ref.batch(0)
    with pytest.raises(ValueError, match=r"`type_of_triplets` of TripletMarginMiner must be one of \['all', 'hard', 'semihard', 'easy'\]; got 'semi'"):
        TripletMarginMiner(type_of_triplets="semi")(emb, labels)


def test_input_checks():
    with pytest.raises(ValueError, match="expects one label per embedding"):
        BatchHardMiner()(torch.randn(4, 2), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="expects integer labels"):
        BatchHardMiner()(torch.randn(2, 2), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="expects embeddings of shape"):
        BatchHardMiner()(torch.randn(4), torch.tensor([0, 1, 0, 1]))


def test_registry():
    assert {"multi_similarity", "batch_hard", "triplet_margin", "semihard"} <= set(MINERS)
    semihard = get_miner("semihard")
    assert isinstance(semihard, TripletMarginMiner) and semihard.type_of_triplets == "semihard"
    assert get_miner("triplet_margin", margin=0.1).margin == 0.1
    with pytest.raises(ValueError, match="Unknown miner 'hardest'. Valid names are: \\["):
        get_miner("hardest")


@pytest.mark.parametrize("name", sorted(MINERS))
def test_params_clone_pickle(name):
    miner = get_miner(name)
    miner2 = clone(miner)
    assert type(miner2) is type(miner)
    assert miner2.get_params() == miner.get_params()
    pickle.loads(pickle.dumps(miner))
    with pytest.raises(TypeError):
        type(miner)(*miner.get_params().values()) if miner.get_params() else type(miner)(1)
    assert miner.min_samples_per_class == 2


def test_set_params_distance_name_and_object():
    miner = MultiSimilarityMiner(distance=CosineSimilarity())
    miner.set_params(epsilon=0.2, distance="cosine")
    assert miner.epsilon == 0.2 and miner.distance == "cosine"
    emb, labels = ref.batch(0)
    expected = MultiSimilarityMiner(epsilon=0.2)(emb, labels)
    got = miner(emb, labels)
    assert all(torch.equal(a, b) for a, b in zip(got, expected))
    clone(miner)


# ---------------------------------------------------------------- zoo miners

from skmetric.miners import (  # noqa: E402
    BatchEasyHardMiner,
    DistanceWeightedMiner,
    PairMarginMiner,
    TCMHardNegativeMiner,
)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("distance", sorted(DISTANCES))
@pytest.mark.parametrize("margins", [(0.2, 0.8), (0.9, 0.3)])
def test_pair_margin_miner_matches_pml(seed, distance, margins):
    ours_d, theirs_d = DISTANCES[distance]
    emb, labels = ref.batch(seed)
    ours = PairMarginMiner(pos_margin=margins[0], neg_margin=margins[1], distance=ours_d())(emb, labels)
    theirs = pml_miners.PairMarginMiner(
        pos_margin=margins[0], neg_margin=margins[1], distance=theirs_d()
    )(emb, labels)
    _check_output(ours, 4)
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)


STRATEGIES = [
    ("easy", "semihard"), ("easy", "hard"), ("hard", "hard"), ("semihard", "hard"),
    ("hard", "easy"), ("all", "hard"), ("easy", "all"), ("all", "all"),
]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("distance", sorted(DISTANCES))
@pytest.mark.parametrize("pos, neg", STRATEGIES)
def test_batch_easy_hard_miner_matches_pml(seed, distance, pos, neg):
    ours_d, theirs_d = DISTANCES[distance]
    emb, labels = ref.batch(seed)
    ranges = {}
    if seed == 2:
        ranges = dict(allowed_pos_range=(-0.9, 0.9) if distance == "cosine" else (0.2, 1.4),
                      allowed_neg_range=(-0.5, 0.95) if distance == "cosine" else (0.3, 1.6))
    ours = BatchEasyHardMiner(pos_strategy=pos, neg_strategy=neg, distance=ours_d(), **ranges)(
        emb, labels
    )
    theirs = pml_miners.BatchEasyHardMiner(
        pos_strategy=pos, neg_strategy=neg, distance=theirs_d(), **ranges
    )(emb, labels)
    _check_output(ours, 4)
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)


def test_batch_easy_hard_invalid_strategies():
    emb, labels = ref.batch(0)
    with pytest.raises(ValueError, match="cannot both be 'semihard'"):
        BatchEasyHardMiner(pos_strategy="semihard")(emb, labels)
    with pytest.raises(ValueError, match="cannot be combined with 'all'"):
        BatchEasyHardMiner(pos_strategy="all", neg_strategy="semihard")(emb, labels)
    with pytest.raises(ValueError, match="must be one of"):
        BatchEasyHardMiner(pos_strategy="medium")(emb, labels)


def test_distance_weighted_weights_and_sampling():
    emb, labels = ref.batch(0, n=30, dim=6)
    miner = DistanceWeightedMiner(cutoff=0.5, nonzero_loss_cutoff=1.4)
    w = miner.weights(emb, labels)
    x = emb / emb.norm(dim=1, keepdim=True)
    D = torch.cdist(x, x)
    d = 6.0
    y = labels.tolist()
    for i in range(30):
        raw = []
        for j in range(30):
            dist = max(D[i, j].item(), 0.5)
            ok = y[j] != y[i] and D[i, j].item() < 1.4
            raw.append(dist ** (2 - d) * (1 - dist ** 2 / 4) ** (-(d - 3) / 2) if ok else 0.0)
        total = sum(raw)
        expected = torch.tensor([r / total if total else 0.0 for r in raw], dtype=w.dtype)
        torch.testing.assert_close(w[i], expected)
    torch.manual_seed(0)
    a, p, n = miner(emb, labels)
    assert len(a) > 0 and (labels[a] == labels[p]).all() and (labels[a] != labels[n]).all()
    assert (w[a, n] > 0).all()
    torch.manual_seed(0)
    assert all(torch.equal(u, v) for u, v in zip(miner(emb, labels), (a, p, n)))


def test_tcm_hard_negative_miner_brute_force():
    emb, labels = ref.batch(1, n=16, n_classes=3)
    x = emb / emb.norm(dim=1, keepdim=True)
    S = (x @ x.T).tolist()
    y = labels.tolist()
    a1, p, a2, n = TCMHardNegativeMiner(num_negatives=2, margin=0.1)(emb, labels)
    assert _pairs(a1, p) == sorted((i, j) for i in range(16) for j in range(16) if i != j and y[i] == y[j])
    expected = []
    for i in range(16):
        negs = sorted((k for k in range(16) if y[k] != y[i] and S[i][k] > 0.1), key=lambda k: -S[i][k])
        expected += [(i, k) for k in negs[:2]]
    assert _pairs(a2, n) == sorted(expected)
    assert len(TCMHardNegativeMiner(margin=None)(emb, labels)[2]) == 16 * 5

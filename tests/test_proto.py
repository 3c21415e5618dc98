"""ProtoClassifier, the prototypical loss, the episodic sampler and few_shot_accuracy."""

import math
import pickle
import re

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.neighbors import NearestCentroid

from skmetric._proto import ProtoClassifier
from skmetric._training._sampler import EpisodicBatchSampler
from skmetric.losses import LOSSES, get_loss
from skmetric.losses.prototypical import PrototypicalLoss
from skmetric.metrics.few_shot import few_shot_accuracy, few_shot_episodes

FAST = dict(max_epochs=2, hidden_sizes=(16,), n_shot=2, n_query=2, random_state=0)


@pytest.fixture(scope="module")
def digits():
    return load_digits(return_X_y=True)


# ----------------------------------------------------------------- the loss

def _reference_loss(emb, labels, n_shot, metric="sqeuclidean", temperature=1.0):
    """Plain loops: first n_shot of each class (batch order) are the support."""
    emb = emb.tolist()
    labels = labels.tolist()
    classes = sorted(set(labels))
    seen = {c: 0 for c in classes}
    support = {c: [] for c in classes}
    queries = []
    for e, c in zip(emb, labels):
        k = n_shot if n_shot is not None else max(labels.count(c) // 2, 1)
        if seen[c] < k:
            support[c].append(e)
        else:
            queries.append((e, c))
        seen[c] += 1
    protos = {c: [sum(v[j] for v in support[c]) / len(support[c]) for j in range(len(emb[0]))]
              for c in classes}

    def dist(a, b):
        if metric == "cosine":
            na = math.sqrt(sum(x * x for x in a))
            nb = math.sqrt(sum(x * x for x in b))
            return 1 - sum(x * y for x, y in zip(a, b)) / (na * nb)
        return sum((x - y) ** 2 for x, y in zip(a, b))

    total = 0.0
    for e, c in queries:
        logits = [-dist(e, protos[k]) / temperature for k in classes]
        m = max(logits)
        log_z = m + math.log(sum(math.exp(v - m) for v in logits))
        total += log_z - logits[classes.index(c)]
    return total / len(queries)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "n_shot, metric, temperature",
    [(2, "sqeuclidean", 1.0), (1, "sqeuclidean", 0.5), (None, "sqeuclidean", 1.0),
     (3, "cosine", 0.1)],
)
def test_prototypical_loss_matches_reference_loop(seed, n_shot, metric, temperature):
    g = torch.Generator().manual_seed(seed)
    labels = torch.tensor([7, 3, 3, 9, 7, 3, 9, 7, 9, 3, 7, 9, 3])  # non-contiguous, mixed order
    emb = torch.randn(labels.numel(), 5, generator=g, dtype=torch.float64)
    loss = PrototypicalLoss(n_shot=n_shot, metric=metric, temperature=temperature)
    value = loss(emb, labels)
    expected = _reference_loss(emb, labels, n_shot, metric, temperature)
    assert value.item() == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_prototypical_loss_gradient_and_registry():
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    emb = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    loss = get_loss("prototypical", n_shot=1)
    assert isinstance(loss, PrototypicalLoss) and LOSSES["prototypical"] is PrototypicalLoss
    assert torch.autograd.gradcheck(lambda e: loss(e, labels), (emb,))


def test_prototypical_loss_without_queries_is_zero():
    emb = torch.randn(3, 4, requires_grad=True)
    value = PrototypicalLoss(n_shot=1)(emb, torch.tensor([0, 1, 2]))
    value.backward()
    assert value.item() == 0.0 and (emb.grad == 0).all()


def test_one_shot_prototype_is_the_sample():
    # query equal to its class's single support sample: distance 0 to it
    emb = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    value = PrototypicalLoss(n_shot=1)(emb, torch.tensor([0, 1, 0]))
    assert value.item() == pytest.approx(math.log1p(math.exp(-100.0)))


# --------------------------------------------------------------- the sampler

def test_episodic_sampler_structure_and_reproducibility():
    labels = torch.arange(6).repeat_interleave(10)
    sampler = EpisodicBatchSampler(
        labels, 4, 2, 3, generator=torch.Generator().manual_seed(0), n_episodes=20
    )
    batches = list(sampler)
    assert len(batches) == len(sampler) == 20
    for idx in batches:
        assert idx.numel() == 4 * 5 and idx.unique().numel() == 20
        lab = labels[idx]
        support, query = lab[:8].view(4, 2), lab[8:].view(4, 3)
        assert (support == support[:, :1]).all() and (query == query[:, :1]).all()
        assert torch.equal(support[:, 0], query[:, 0])
        assert support[:, 0].unique().numel() == 4
        # the loss's "first n_shot of each class" rule picks exactly the support
    again = list(EpisodicBatchSampler(
        labels, 4, 2, 3, generator=torch.Generator().manual_seed(0), n_episodes=20
    ))
    assert all(torch.equal(a, b) for a, b in zip(batches, again))
    default = EpisodicBatchSampler(labels, 4, 2, 3, generator=torch.Generator())
    assert len(default) == math.ceil(60 / 20)


def test_episodic_sampler_errors():
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2])
    g = torch.Generator()
    with pytest.raises(ValueError, match=re.escape("n_way=4 is larger than the number of classes (3).")):
        EpisodicBatchSampler(labels, 4, 1, 1, generator=g)
    with pytest.raises(ValueError, match=re.escape(
        "n_shot + n_query = 3 is larger than the smallest class (2 samples)."
    )):
        EpisodicBatchSampler(labels, 2, 2, 1, generator=g)


# ---------------------------------------------------------------- estimator

def test_prototypes_equal_class_means(blobs):
    X, y = blobs
    clf = ProtoClassifier(**FAST).fit(X, y)
    emb = clf.transform(X).astype(np.float64)
    means = np.stack([emb[y == c].mean(axis=0) for c in clf.classes_])
    np.testing.assert_allclose(clf.prototypes_, means, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(clf.class_count_, np.bincount(y))
    assert clf.prototypes_.shape == (4, clf.embedding_size_)
    assert clf.n_features_in_ == 6


@pytest.mark.parametrize("temperature", [1.0, 0.3])
def test_predict_proba_equals_linear_view_oracle(blobs, temperature):
    X, y = blobs
    clf = ProtoClassifier(**FAST, temperature=temperature).fit(X, y)
    f = clf.transform(X).astype(np.float64)
    C = clf.prototypes_
    # w_k = 2 c_k, b_k = -||c_k||^2: the logits up to the per-row constant -||f||^2
    logits = (f @ (2 * C).T - (C * C).sum(axis=1)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[expected.argmax(axis=1)])
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-9)
    # decision_function = -||f - c||^2 / T
    d = ((f[:, None, :] - C[None]) ** 2).sum(-1)
    np.testing.assert_allclose(clf.decision_function(X), -d / temperature, rtol=1e-9, atol=1e-9)


def test_cosine_metric(blobs):
    X, y = blobs
    clf = ProtoClassifier(**FAST, metric="cosine", temperature=0.1).fit(X, y)
    f = clf.transform(X).astype(np.float64)
    f /= np.linalg.norm(f, axis=1, keepdims=True)
    C = clf.prototypes_ / np.linalg.norm(clf.prototypes_, axis=1, keepdims=True)
    np.testing.assert_allclose(clf.decision_function(X), -(1 - f @ C.T) / 0.1, atol=1e-9)
    assert clf.loss_.metric == "cosine" and clf.loss_.temperature == 0.1


def test_binary_decision_function(blobs):
    X, y = blobs
    keep = y < 2
    clf = ProtoClassifier(**FAST).fit(X[keep], y[keep])
    scores = clf.decision_function(X[keep])
    assert scores.shape == (keep.sum(),)
    np.testing.assert_array_equal(clf.predict(X[keep]), clf.classes_[(scores > 0).astype(int)])


def test_string_and_noncontiguous_labels(blobs):
    X, y = blobs
    names = np.array(["cat", "dog", "emu", "yak"])[y]
    ints = np.array([3, 10, 42, 7])[y]
    a = ProtoClassifier(**FAST).fit(X, names)
    b = ProtoClassifier(**FAST).fit(X, ints)
    assert list(a.classes_) == ["cat", "dog", "emu", "yak"]
    assert list(b.classes_) == [3, 7, 10, 42]
    assert set(a.predict(X)) <= set(a.classes_) and a.score(X, names) > 0.9
    a.add_classes(X[:3] + 100, ["gnu", "gnu", "ant"])
    assert list(a.classes_) == ["cat", "dog", "emu", "yak", "ant", "gnu"]
    assert a.predict_proba(X).shape == (60, 6)


def test_non_episodic_loss(blobs):
    X, y = blobs
    clf = ProtoClassifier("multi_similarity", **FAST).fit(X, y)
    assert type(clf.loss_).__name__ == "MultiSimilarityLoss"
    np.testing.assert_allclose(np.linalg.norm(clf.transform(X), axis=1), 1.0, rtol=1e-5)
    assert clf.score(X, y) > 0.9
    clf = ProtoClassifier("prototypical", **FAST).set_params(loss__temperature=2.0)
    assert clf.fit(X, y).loss_.temperature == 2.0 and clf.loss_.n_shot == 2


def test_episode_settings_reach_the_loss_when_it_is_built(blobs):
    X, y = blobs
    clf = ProtoClassifier(**{**FAST, "n_shot": 3}, metric="cosine", temperature=0.5).fit(X, y)
    assert (clf.loss_.n_shot, clf.loss_.metric, clf.loss_.temperature) == (3, "cosine", 0.5)
    user = PrototypicalLoss(n_shot=7, metric="sqeuclidean", temperature=4.0)
    clf = ProtoClassifier(user, **FAST, metric="cosine").fit(X, y)
    # an object keeps its own metric and temperature, gets the episode's n_shot
    assert (clf.loss_.n_shot, clf.loss_.metric, clf.loss_.temperature) == (2, "sqeuclidean", 4.0)
    assert clf.loss_ is not user and user.n_shot == 7


# ---------------------------------------------------------------- few-shot

def test_add_classes_on_held_out_digits(digits):
    """Train on digits 0-4; 5 shots of each of 5-9 give > 85% on the rest of 5-9.

    The bar is for a 10-way problem among all classes (raw features give
    about 0.9 here); chance is 10%.
    """
    X, y = digits
    old = y < 5
    clf = ProtoClassifier(max_epochs=3, hidden_sizes=(64,), random_state=0).fit(X[old], y[old])
    rng = np.random.RandomState(0)
    support = np.concatenate([rng.choice(np.flatnonzero(y == c), 5, replace=False)
                              for c in range(5, 10)])
    query = np.setdiff1d(np.flatnonzero(~old), support)
    state = {k: v.clone() for k, v in clf.module_.state_dict().items()}
    clf.add_classes(X[support], y[support])
    assert list(clf.classes_) == list(range(10))
    assert clf.score(X[query], y[query]) > 0.85
    # the embedding was not touched
    assert all(torch.equal(state[k], v) for k, v in clf.module_.state_dict().items())


def test_add_classes_refines_exactly(blobs):
    X, y = blobs
    clf = ProtoClassifier(**FAST).fit(X[y < 3], y[y < 3])
    emb_fit = clf.transform(X[y < 3]).astype(np.float64)
    new = np.flatnonzero(y == 3)
    extra0 = np.flatnonzero(y == 0)[:4]
    # in two pieces, the second mixing a refinement of class 0 with the new class
    X1, y1 = X[new[:5]], y[new[:5]]
    X2, y2 = np.vstack([X[new[5:]], X[extra0]]), np.r_[y[new[5:]], y[extra0]]
    e1 = clf.transform(X1).astype(np.float64)
    e2 = clf.transform(X2).astype(np.float64)
    clf.add_classes(X1, y1)
    clf.add_classes(X2, y2)
    np.testing.assert_allclose(
        clf.prototypes_[3], np.vstack([e1, e2[y2 == 3]]).mean(axis=0), rtol=1e-12
    )
    expected0 = np.vstack([emb_fit[y[y < 3] == 0], e2[y2 == 0]]).mean(axis=0)
    np.testing.assert_allclose(clf.prototypes_[0], expected0, rtol=1e-12)
    np.testing.assert_array_equal(clf.class_count_, [19, 15, 15, 15])


def test_partial_fit(blobs):
    X, y = blobs
    a = ProtoClassifier(**FAST).partial_fit(X[y < 3], y[y < 3])
    b = ProtoClassifier(**FAST).fit(X[y < 3], y[y < 3])
    np.testing.assert_array_equal(a.prototypes_, b.prototypes_)
    a.partial_fit(X[y == 3], y[y == 3])
    b.add_classes(X[y == 3], y[y == 3])
    np.testing.assert_array_equal(a.prototypes_, b.prototypes_)
    np.testing.assert_array_equal(a.classes_, [0, 1, 2, 3])


def test_reproducible_bit_for_bit(blobs):
    X, y = blobs
    a = ProtoClassifier(**FAST).fit(X, y)
    b = ProtoClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(a.prototypes_, b.prototypes_)
    for (k, v), w in zip(a.module_.state_dict().items(), b.module_.state_dict().values()):
        assert torch.equal(v, w), k
    # (4 classes: the default's overlapping class folds may keep the start,
    # whose prototypes do not depend on the seed; its initial weights do)
    c = ProtoClassifier(**{**FAST, "random_state": 1}).fit(X, y)
    assert not all(torch.equal(v, w) for v, w in zip(
        a.module_.state_dict().values(), c.module_.state_dict().values()))
    trained = [ProtoClassifier(**{**FAST, "random_state": seed, "validation_fraction": None})
               .fit(X, y).prototypes_ for seed in (0, 1)]
    assert not np.array_equal(*trained)


def test_pickle_and_clone_after_add_classes(blobs):
    X, y = blobs
    clf = ProtoClassifier(**FAST).fit(X[y < 3], y[y < 3])
    clf.add_classes(X[y == 3][:5], y[y == 3][:5])
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.classes_, [0, 1, 2, 3])
    fresh = clone(clf)
    assert not hasattr(fresh, "prototypes_") and fresh.get_params() == clf.get_params()


def test_feature_names(blobs):
    pd = pytest.importorskip("pandas")
    X, y = blobs
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    clf = ProtoClassifier(**FAST).fit(df, y)
    assert list(clf.feature_names_in_) == list(df.columns)
    assert clf.get_feature_names_out()[0] == "protoclassifier0"
    with pytest.warns(UserWarning, match="feature names"):
        clf.add_classes(X[:2], [9, 9])


# ------------------------------------------------------------------ errors

def test_add_classes_errors(blobs):
    X, y = blobs
    clf = ProtoClassifier(**FAST).fit(X[y < 3], y[y < 3])
    with pytest.raises(ValueError, match=re.escape(
        "X has 5 features, but ProtoClassifier is expecting 6 features as input."
    )):
        clf.add_classes(X[:, :5], y)
    with pytest.raises(ValueError, match=re.escape(
        "Every class needs at least one support example; class 8 has zero in `y_support`."
    )):
        clf.add_classes(X[y == 3], y[y == 3], classes=[3, 8])
    with pytest.raises(ValueError, match=re.escape(
        "`y_support` has label 5, which is not in `classes`."
    )):
        clf.add_classes(X[:3], [3, 3, 5], classes=[3])
    with pytest.raises(ValueError, match="strings and numbers cannot be mixed"):
        clf.add_classes(X[:2], ["a", "b"])
    with pytest.raises(ValueError, match=re.escape(
        "Every class needs at least one example; class 5 has zero in `y`."
    )):
        ProtoClassifier(**FAST).partial_fit(X, y, classes=[0, 1, 2, 3, 5])
    before = clf.prototypes_.copy()
    with pytest.raises(ValueError):
        clf.add_classes(X[:0], y[:0])
    np.testing.assert_array_equal(clf.prototypes_, before)


def test_episode_errors(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match=re.escape(
        "`n_way`=5 is larger than the number of training classes (4)."
    )):
        ProtoClassifier(**FAST, n_way=5, validation_fraction=None).fit(X, y)
    with pytest.raises(ValueError, match=re.escape(
        "`n_way`=3 is larger than the number of training classes (2) (2 of the 4 "
        "classes are held out for validation; see `validation_split` and "
        "`validation_fraction`)."
    )):
        ProtoClassifier(**FAST, n_way=3).fit(X, y)
    keep = np.r_[np.flatnonzero(y != 2), np.flatnonzero(y == 2)[:3]]
    with pytest.raises(ValueError, match=re.escape(
        "`n_shot` + `n_query` = 2 + 2 = 4 is larger than the smallest training "
        "class: class 2 has 3 samples."
    )):
        ProtoClassifier(**FAST, validation_fraction=None).fit(X[keep], y[keep])
    with pytest.raises(ValueError, match=re.escape(
        "ProtoClassifier needs samples of at least 2 classes; got 1 class (0)."
    )):
        ProtoClassifier(**FAST).fit(X[y == 0], y[y == 0])
    clf = ProtoClassifier(**FAST, n_way=5, validation_fraction=None)
    with pytest.raises(ValueError):
        clf.fit(X, y)
    assert not hasattr(clf, "classes_") or not hasattr(clf, "prototypes_")


def test_numpy_scalar_parameters(blobs):
    X, y = blobs
    clf = ProtoClassifier(**{**FAST, "n_shot": np.int64(2), "temperature": np.float32(0.5)})
    assert clf.fit(X, y).score(X, y) > 0.9


# --------------------------------------------------------- few_shot_accuracy

@pytest.mark.filterwarnings("ignore:self.within_class_std_dev_")
def test_few_shot_accuracy_equals_nearest_centroid(digits):
    X, y = digits
    mean, ci = few_shot_accuracy(None, X, y, n_way=5, n_shot=3, n_query=4,
                                 n_episodes=50, random_state=0)
    scores = []
    for support, query in few_shot_episodes(y, 5, 3, 4, 50, random_state=0):
        nc = NearestCentroid().fit(X[support], y[support])
        scores.append(np.mean(nc.predict(X[query]) == y[query]))
    assert mean == pytest.approx(np.mean(scores), abs=1e-12)
    assert ci == pytest.approx(1.96 * np.std(scores, ddof=1) / np.sqrt(50))
    assert few_shot_accuracy(None, X, y, 5, 3, 4, 50, 0) == (mean, ci)


def test_few_shot_accuracy_uses_transform(digits, blobs):
    X, y = digits
    old = y < 5
    clf = ProtoClassifier(**FAST).fit(X[old], y[old])
    mean, ci = few_shot_accuracy(clf, X[~old], y[~old], 5, 5, 15, 100, 0)
    assert 0.5 < mean <= 1 and 0 < ci < 0.05


def test_few_shot_accuracy_errors(digits):
    X, y = digits
    with pytest.raises(ValueError, match=re.escape(
        "`n_way`=11 is larger than the number of classes in y (10)."
    )):
        few_shot_accuracy(None, X, y, n_way=11)
    with pytest.raises(ValueError, match=re.escape(
        "`n_shot` + `n_query` = 100 + 100 = 200 is larger than the smallest class: "
        "class 8 has 174 samples."
    )):
        few_shot_accuracy(None, X, y, n_shot=100, n_query=100)
    with pytest.raises(ValueError, match="`n_shot` must be an integer >= 1; got 0"):
        few_shot_accuracy(None, X, y, n_shot=0)

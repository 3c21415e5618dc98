"""ProtoClassifier's prediction rules: matching vote, transductive refinement,
rejection of unknown classes, zero-shot classes from attribute vectors."""

import copy
import math
import pickle
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.metrics import roc_auc_score

from skmetric._proto import ProtoClassifier

FAST = dict(max_epochs=2, hidden_sizes=(16,), n_shot=1, n_query=2, random_state=0)


def _gaussian_classes(n_classes, n_per_class, dim, spread, seed, noise_seed=None):
    """Unit-variance Gaussian classes; ``noise_seed`` draws new samples of the
    same classes (the centres come from ``seed``)."""
    rng = np.random.RandomState(seed)
    centers = rng.normal(scale=spread, size=(n_classes, dim))
    if noise_seed is not None:
        rng = np.random.RandomState(noise_seed)
    y = np.repeat(np.arange(n_classes), n_per_class)
    return centers[y] + rng.normal(size=(y.size, dim)), y


@pytest.fixture(scope="module")
def gauss():
    """10 Gaussian classes in 8-d; a classifier fitted on classes 0-4 only."""
    X, y = _gaussian_classes(10, 40, 8, 1.5, seed=0)
    clf = ProtoClassifier(**FAST).fit(X[y < 5], y[y < 5])
    return X, y, clf


def _episode(X, y, classes, n_shot, n_query, seed):
    rng = np.random.RandomState(seed)
    sup, qry = [], []
    for k in classes:
        idx = rng.permutation(np.flatnonzero(y == k))
        sup.append(idx[:n_shot])
        qry.append(idx[n_shot:n_shot + n_query])
    return np.concatenate(sup), np.concatenate(qry)


# ------------------------------------------------------------------ matching

def _reference_matching_proba(queries, support, labels, classes, temperature):
    """Plain loops: softmax attention over the support set, summed per class."""
    out = []
    for q in queries.tolist():
        nq = math.sqrt(sum(v * v for v in q))
        sims = []
        for s in support.tolist():
            ns = math.sqrt(sum(v * v for v in s))
            sims.append(sum(a * b for a, b in zip(q, s)) / (nq * ns) / temperature)
        m = max(sims)
        weights = [math.exp(v - m) for v in sims]
        total = sum(weights)
        out.append([sum(w for w, lab in zip(weights, labels) if lab == k) / total
                    for k in classes])
    return np.array(out)


@pytest.mark.parametrize("temperature", [1.0, 0.1])
def test_matching_rule_equals_loop_written_vote(blobs, temperature):
    X, y = blobs
    clf = ProtoClassifier(**FAST, rule="matching", temperature=temperature)
    clf.fit(X[y < 3], y[y < 3])
    new = np.flatnonzero(y == 3)[:2]
    clf.add_classes(X[new], y[new])
    support = np.vstack([clf.transform(X[y < 3]), clf.transform(X[new])])
    labels = np.r_[y[y < 3], y[new]]
    expected = _reference_matching_proba(clf.transform(X), support, labels,
                                         [0, 1, 2, 3], temperature)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[expected.argmax(axis=1)])
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), expected, rtol=1e-9)
    np.testing.assert_allclose(clf.decision_function(X), np.log(expected), rtol=1e-9)
    # the vote is not the prototype rule: the two give other probabilities
    assert not np.allclose(proba, clf.set_params(rule="prototype").predict_proba(X))


def test_matching_one_shot_equals_nearest_cosine_prototype(gauss):
    """With one example per class the vote's argmax is the cosine-nearest example."""
    X, y, clf = gauss
    for seed in range(5):
        sup, qry = _episode(X, y, range(5, 10), 1, 15, seed)
        c = copy.copy(clf).add_classes(X[sup], y[sup], replace=True)
        matching = c.set_params(rule="matching", temperature=0.5).predict(X[qry])
        cosine = c.set_params(rule="prototype", metric="cosine").predict(X[qry])
        np.testing.assert_array_equal(matching, cosine)


def test_matching_counts_zero_shot_prototype_as_one_example(gauss):
    X, y, _ = gauss
    c = ProtoClassifier(**FAST, rule="matching").fit(X[y < 5], y[y < 5])
    c.fit_attribute_map(np.eye(5))
    c.add_classes(attributes=[[1.0, 1.0, 0, 0, 0]], classes=[9])
    c.set_params(temperature=0.2)
    support = np.vstack([c.transform(X[y < 5]), c.prototypes_[-1:]])
    expected = _reference_matching_proba(c.transform(X[:7]), support,
                                         np.r_[y[y < 5], 9], list(c.classes_), 0.2)
    np.testing.assert_allclose(c.predict_proba(X[:7]), expected, rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------- transductive

def _reference_refinement(queries, sums, counts, prototypes, temperature, n_steps):
    """Ren et al. (2018) soft k-means, written with loops (squared Euclidean)."""
    protos = [list(p) for p in prototypes.tolist()]
    q = queries.tolist()
    for _ in range(n_steps):
        z = []
        for x in q:
            logits = [-sum((a - b) ** 2 for a, b in zip(x, c)) / temperature for c in protos]
            m = max(logits)
            e = [math.exp(v - m) for v in logits]
            z.append([v / sum(e) for v in e])
        new = []
        for k in range(len(protos)):
            den = counts[k] + sum(z[i][k] for i in range(len(q)))
            new.append([(sums[k][j] + sum(z[i][k] * q[i][j] for i in range(len(q)))) / den
                        for j in range(len(protos[k]))])
        protos = new
    return np.array(protos)


@pytest.mark.parametrize("steps", [True, 3])
def test_transductive_equals_loop_written_soft_kmeans(gauss, steps):
    X, y, clf = gauss
    sup, qry = _episode(X, y, range(5, 10), 2, 6, seed=0)
    c = copy.copy(clf).add_classes(X[sup], y[sup], replace=True)
    c.set_params(transductive=steps, temperature=2.0)
    f = c.transform(X[qry])
    refined = _reference_refinement(f, c.embedding_sum_.tolist(), c.class_count_.tolist(),
                                    c.prototypes_, 2.0, int(steps))
    d = ((f[:, None, :] - refined[None]) ** 2).sum(-1)
    np.testing.assert_allclose(c.decision_function(X[qry]), -d / 2.0, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(c.score_samples(X[qry]), -d.min(axis=1), rtol=1e-9, atol=1e-9)
    # the stored prototypes are not changed by predicting
    np.testing.assert_array_equal(c.prototypes_, c.embedding_sum_ / c.class_count_[:, None])


def test_transductive_improves_one_shot(gauss):
    """1-shot prototypes are single noisy samples; the queries' soft k-means
    step moves them toward the class means (0.78 -> 0.88 measured)."""
    X, y, clf = gauss
    acc = {False: [], True: []}
    for seed in range(30):
        sup, qry = _episode(X, y, range(5, 10), 1, 15, seed)
        c = copy.copy(clf).add_classes(X[sup], y[sup], replace=True)
        for flag in acc:
            acc[flag].append(np.mean(c.set_params(transductive=flag).predict(X[qry]) == y[qry]))
    assert np.mean(acc[True]) > np.mean(acc[False]) + 0.05


def test_transductive_is_a_deterministic_function_of_the_batch(gauss):
    X, y, clf = gauss
    sup, qry = _episode(X, y, range(5, 10), 1, 15, seed=3)
    c = copy.copy(clf).add_classes(X[sup], y[sup], replace=True).set_params(transductive=True)
    first = c.predict(X[qry])
    np.testing.assert_array_equal(c.predict(X[qry]), first)
    perm = np.random.RandomState(0).permutation(qry.size)
    np.testing.assert_array_equal(c.predict(X[qry][perm]), first[perm])
    # one query alone sees other prototypes than within its episode
    alone = c.decision_function(X[qry[:1]])
    assert not np.allclose(alone, c.decision_function(X[qry])[:1])


# ------------------------------------------------------------------- rejection

def test_score_samples_detects_unknown_classes_and_reject_predicts_label(gauss):
    X, y, clf = gauss
    # fresh samples of the known classes 0-4 (not used for the prototypes)
    X_fresh, y_fresh = _gaussian_classes(10, 40, 8, 1.5, seed=0, noise_seed=1)
    X_known = X_fresh[y_fresh < 5]
    unknown = np.flatnonzero(y >= 5)
    scores = clf.score_samples(np.vstack([X_known, X[unknown]]))
    auroc = roc_auc_score(np.r_[np.ones(len(X_known)), np.zeros(unknown.size)], scores)
    assert auroc > 0.85
    emb = clf.transform(X[unknown])
    brute = ((emb[:, None, :] - clf.prototypes_[None]) ** 2).sum(-1).min(axis=1)
    np.testing.assert_allclose(clf.score_samples(X[unknown]), -brute, rtol=1e-9)

    c = copy.copy(clf).set_params(reject_threshold=float(np.median(brute)))
    pred = c.predict(X[unknown])
    np.testing.assert_array_equal(pred == -1, brute > np.median(brute))
    np.testing.assert_array_equal(pred[pred != -1], clf.predict(X[unknown])[pred != -1])
    assert pred.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(c.predict_proba(X[unknown]), clf.predict_proba(X[unknown]))


@pytest.mark.parametrize("rate", [0.05, 0.2])
def test_calibrate_reject_bounds_the_false_reject_rate(gauss, rate):
    X, y, clf = gauss
    X_cal, y_cal = _gaussian_classes(10, 60, 8, 1.5, seed=0, noise_seed=2)
    X_cal = X_cal[y_cal < 5]
    c = copy.copy(clf).calibrate_reject(X_cal, false_reject_rate=rate)
    rejected = np.mean(c.predict(X_cal) == -1)
    assert rejected <= rate and rejected >= rate - 0.05
    dist = -c.score_samples(X_cal)
    assert c.reject_threshold == pytest.approx(np.sort(dist)[math.ceil((1 - rate) * (dist.size - 1))])
    # unknown classes are rejected far more often
    assert np.mean(c.predict(X[y >= 5]) == -1) > 3 * rate
    assert clone(c).reject_threshold == c.reject_threshold


def test_reject_label_for_string_and_custom_labels(blobs):
    X, y = blobs
    names = np.array(["cat", "dog", "emu", "yak"])[y]
    clf = ProtoClassifier(**FAST, reject_threshold=0.0).fit(X, names)
    pred = clf.predict(X + 50)
    assert pred.tolist() == ["unknown"] * 60  # not truncated to the classes' "<U3"
    assert clf.set_params(reject_label="?").predict(X + 50).tolist() == ["?"] * 60
    ints = ProtoClassifier(**FAST, reject_threshold=0.0, reject_label=99).fit(X, y)
    assert set(ints.predict(X + 50).tolist()) == {99}


def test_reject_errors(blobs):
    X, y = blobs
    clf = ProtoClassifier(**FAST, reject_threshold=1.0).fit(X, y - 1)  # classes -1..2
    with pytest.raises(ValueError, match=re.escape(
        "`reject_label`=-1 is one of the classes; choose a label that is not in `classes_`."
    )):
        clf.predict(X)
    with pytest.raises(ValueError, match=re.escape(
        "`reject_label`='no' must be of the same kind as the classes (int64): strings "
        "and numbers cannot be mixed."
    )):
        clf.set_params(reject_label="no").predict(X)
    with pytest.raises(ValueError, match=re.escape(
        "`false_reject_rate` must be in (0, 1); got 1.5."
    )):
        clf.calibrate_reject(X, false_reject_rate=1.5)
    with pytest.raises(ValueError, match="'reject_threshold' parameter"):
        clf.set_params(reject_threshold=-1.0).predict(X)


# ------------------------------------------------------------------ zero-shot

@pytest.fixture(scope="module")
def attribute_classes():
    """20 classes whose means are a linear function of binary attributes."""
    rng = np.random.RandomState(0)
    A = rng.binomial(1, 0.5, size=(20, 12)).astype(float)
    M = rng.normal(size=(12, 10))
    y = np.repeat(np.arange(20), 30)
    X = A[y] @ M + rng.normal(scale=1.0, size=(y.size, 10))
    clf = ProtoClassifier(max_epochs=2, hidden_sizes=(32,), random_state=0)
    return X, y, A, clf.fit(X[y < 15], y[y < 15])


def test_attribute_map_is_ridge_on_the_prototypes(attribute_classes):
    X, y, A, clf = attribute_classes
    c = copy.copy(clf).fit_attribute_map(A[:15], alpha=0.5)
    ridge = Ridge(alpha=0.5).fit(A[:15], clf.prototypes_)
    np.testing.assert_allclose(c.attribute_coef_, ridge.coef_.T, rtol=1e-8, atol=1e-10)
    c.add_classes(attributes=A[[17, 15]], classes=[17, 15])
    assert list(c.classes_) == list(range(15)) + [15, 17]
    np.testing.assert_allclose(c.prototypes_[15:], ridge.predict(A[[15, 17]]), rtol=1e-8)
    np.testing.assert_array_equal(c.class_count_[15:], [0, 0])


def test_zero_shot_beats_chance(attribute_classes):
    X, y, A, clf = attribute_classes
    c = copy.copy(clf).fit_attribute_map(A[:15])
    new = y >= 15
    only_new = copy.copy(c).add_classes(attributes=A[15:], classes=range(15, 20), replace=True)
    assert only_new.score(X[new], y[new]) > 0.6  # 5-way; chance 0.2
    c.add_classes(attributes=A[15:], classes=np.arange(15, 20))
    assert c.score(X[new], y[new]) > 0.5  # 20-way; chance 0.05
    # a random map does not get there (the test can fail)
    rng = np.random.RandomState(0)
    bad = copy.copy(clf).fit_attribute_map(rng.permutation(A[:15]))
    bad.add_classes(attributes=A[15:], classes=range(15, 20), replace=True)
    assert bad.score(X[new], y[new]) < only_new.score(X[new], y[new])


def test_zero_shot_class_takes_its_examples_mean_once_it_has_some(attribute_classes):
    X, y, A, clf = attribute_classes
    c = copy.copy(clf).fit_attribute_map(A[:15])
    c.add_classes(attributes=A[15:16], classes=[15])
    sup = np.flatnonzero(y == 15)[:3]
    c.add_classes(X[sup], y[sup])
    np.testing.assert_allclose(c.prototypes_[15], c.transform(X[sup]).mean(axis=0), rtol=1e-12)
    assert c.class_count_[15] == 3


def test_zero_shot_errors(attribute_classes):
    X, y, A, clf = attribute_classes
    c = copy.copy(clf)
    vars(c).pop("attribute_coef_", None)
    with pytest.raises(ValueError, match=re.escape(
        "Adding classes from `attributes` needs the map learned by "
        "fit_attribute_map(attributes, classes) first."
    )):
        c.add_classes(attributes=A[15:], classes=range(15, 20))
    with pytest.raises(ValueError, match=re.escape(
        "`attributes` has 3 rows but there are 15 classes: one attribute vector per class."
    )):
        c.fit_attribute_map(A[:3])
    with pytest.raises(ValueError, match=re.escape("Class 42 is not in `classes_`.")):
        c.fit_attribute_map(A[:2], [0, 42])
    c.fit_attribute_map(A[:15])
    with pytest.raises(ValueError, match=re.escape(
        "`attributes` has 11 columns, but the attribute map was fitted on 12."
    )):
        c.add_classes(attributes=A[15:, :11], classes=range(15, 20))
    with pytest.raises(ValueError, match=re.escape(
        "Class 3 already has a prototype; zero-shot classes must be new."
    )):
        c.add_classes(attributes=A[:1], classes=[3])
    with pytest.raises(ValueError, match=re.escape(
        "Give either a support set (`X_support`, `y_support`) or `attributes` with "
        "`classes`, not both."
    )):
        c.add_classes(X[:2], y[:2], attributes=A[:2], classes=[20, 21])
    with pytest.raises(ValueError, match=re.escape(
        "`attributes` needs `classes`: the label of each row."
    )):
        c.add_classes(attributes=A[15:])
    with pytest.raises(ValueError, match=re.escape("`alpha` must be a float >= 0; got -1.")):
        c.fit_attribute_map(A[:15], alpha=-1)


# ---------------------------------------------------------------- the estimator

def test_add_classes_replace_keeps_only_the_new_classes(gauss):
    X, y, clf = gauss
    before = clf.prototypes_.copy()
    sup, _ = _episode(X, y, [7, 5, 9], 2, 0, seed=0)
    c = copy.copy(clf).add_classes(X[sup], y[sup], replace=True)
    assert list(c.classes_) == [5, 7, 9]
    assert c.support_embeddings_.shape == (6, clf.embedding_size_)
    np.testing.assert_array_equal(c.classes_[c.support_labels_], y[sup])
    np.testing.assert_allclose(c.support_embeddings_, c.transform(X[sup]), rtol=1e-12)
    np.testing.assert_array_equal(clf.prototypes_, before)
    assert clf.classes_.size == 5
    named = copy.copy(clf).add_classes(X[sup], np.array(["a", "b", "c"])[sup % 3], replace=True)
    assert named.classes_.dtype.kind == "U"


def test_matching_needs_stored_examples_and_default_fit_stores_none(gauss):
    X, y, clf = gauss
    assert clf.support_embeddings_.shape == (0, clf.embedding_size_)  # small pickles
    with pytest.raises(ValueError, match=re.escape(
        "`rule`='matching' votes over stored examples, and class 0 has none: fit keeps "
        "the training examples' embeddings only with `rule`='matching'. Refit with "
        "`rule`='matching', or give the classes' examples with "
        "add_classes(X, y, replace=True)."
    )):
        copy.copy(clf).set_params(rule="matching").predict(X[:3])
    fitted = ProtoClassifier(**FAST, rule="matching").fit(X[y < 5], y[y < 5])
    np.testing.assert_allclose(fitted.support_embeddings_, fitted.transform(X[y < 5]),
                               rtol=1e-12)
    np.testing.assert_array_equal(fitted.support_labels_, y[y < 5])


def test_rule_settings_validated_in_fit_and_predict(blobs):
    X, y = blobs
    msg = re.escape("`transductive`=True refines prototypes and needs `rule`='prototype'; "
                    "got `rule`='matching'.")
    with pytest.raises(ValueError, match=msg):
        ProtoClassifier(**FAST, rule="matching", transductive=True).fit(X, y)
    clf = ProtoClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match=msg):
        clf.set_params(rule="matching", transductive=True).predict(X)
    with pytest.raises(ValueError, match="'rule' parameter"):
        clf.set_params(rule="knn", transductive=False).predict(X)


def test_pickle_keeps_rules_and_attribute_map(attribute_classes):
    X, y, A, clf = attribute_classes
    c = copy.copy(clf).fit_attribute_map(A[:15])
    c.add_classes(attributes=A[15:], classes=range(15, 20))
    c.set_params(transductive=True, temperature=0.5, reject_threshold=5.0)
    loaded = pickle.loads(pickle.dumps(c))
    np.testing.assert_array_equal(loaded.predict(X), c.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), c.predict_proba(X))
    refit = clone(c).fit(X[y < 15], y[y < 15])
    assert not hasattr(refit, "attribute_coef_")

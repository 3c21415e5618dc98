"""Tests for FrechetMeanPredictor (Loki)."""

import re

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from skmetric._frechet import FrechetMeanPredictor
from skmetric.label_space import EmbeddingMetric


class ProbaIsX(ClassifierMixin, BaseEstimator):
    """Test double: ``predict_proba(X)`` returns ``X`` (rows are probabilities)."""

    def __init__(self, classes=None):
        self.classes = classes

    def fit(self, X, y=None):
        X = np.asarray(X)
        self.classes_ = np.asarray(self.classes if self.classes is not None else np.unique(y))
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X):
        return np.asarray(X, dtype=np.float64)


def _prefit(classes):
    classes = np.asarray(classes)
    return ProbaIsX(classes).fit(np.zeros((1, classes.size)))


def _random_simplex(rng, n, m):
    P = rng.gamma(0.5, size=(n, m))
    return P / P.sum(axis=1, keepdims=True)


def _random_metric(rng, K, dim=3):
    pts = rng.normal(size=(K, dim))
    return np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1))


def _brute_force(P, D, labels, classes):
    obs = [list(labels).index(c) for c in classes]
    out = []
    for p in P:
        scores = [sum(p[i] * D[y, obs[i]] ** 2 for i in range(len(obs))) for y in range(len(labels))]
        out.append(labels[int(np.argmin(scores))])
    return np.asarray(out)


# ----------------------------------------------------------------------------
# Correctness against a brute-force argmin
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("chunk_size", [None, 1, 4])
def test_matches_brute_force_random_metric(seed, chunk_size):
    rng = np.random.default_rng(seed)
    K, m = 12, 5
    D = _random_metric(rng, K)
    labels = np.array([f"l{k}" for k in range(K)])
    classes = np.sort(rng.choice(labels, m, replace=False))
    P = _random_simplex(rng, 40, m)
    est = FrechetMeanPredictor(
        _prefit(classes), D, labels=labels, prefit=True, chunk_size=chunk_size
    ).fit()
    np.testing.assert_array_equal(est.predict(P), _brute_force(P, D, labels, classes))
    obs = [list(labels).index(c) for c in classes]
    np.testing.assert_allclose(est.frechet_scores(P), P @ D[obs] ** 2)


@pytest.mark.parametrize("chunk_size", [None, 3])
def test_row_blocks_give_the_unblocked_answer(monkeypatch, chunk_size):
    # predict scores rows in blocks of _ROW_BLOCK (bounded memory at 1M rows);
    # blocks of 7 rows, including a short last one, must not change any label
    import skmetric._frechet as frechet

    rng = np.random.default_rng(0)
    K, m = 12, 5
    D = _random_metric(rng, K)
    labels = np.arange(K)
    classes = np.sort(rng.choice(labels, m, replace=False))
    P = _random_simplex(rng, 50, m)
    est = FrechetMeanPredictor(_prefit(classes), D, prefit=True, chunk_size=chunk_size).fit()
    whole = est.predict(P)
    monkeypatch.setattr(frechet, "_ROW_BLOCK", 7)
    blocked = est.predict(P)
    np.testing.assert_array_equal(blocked, whole)
    np.testing.assert_array_equal(blocked, _brute_force(P, D, labels, classes))
    np.testing.assert_array_equal(blocked, labels[np.argmin(est.frechet_scores(P), axis=1)])


def test_squares_distances_exactly_once():
    # path 0 - 1 - 2 with lengths 1 and 3: squared once, the middle label wins
    # for p = (0.5, 0.5) on (0, 2): 0.5*1 + 0.5*9 = 5 < 8; squared twice it
    # would be 0.5*1 + 0.5*81 = 41 > 32 (label 0); not squared, 2 = 2 (tie -> 0).
    D = np.array([[0, 1, 4], [1, 0, 3], [4, 3, 0]], dtype=float)
    est = FrechetMeanPredictor(_prefit([0, 2]), D, prefit=True).fit()
    P = np.array([[0.5, 0.5]])
    np.testing.assert_allclose(est.frechet_scores(P), [[8.0, 5.0, 8.0]])
    assert est.predict(P).tolist() == [1]


def test_ties_go_to_first_label():
    D = np.array([[0, 1, 1, 2], [1, 0, 2, 1], [1, 2, 0, 1], [2, 1, 1, 0]], dtype=float)
    est = FrechetMeanPredictor(_prefit([0, 3]), D, prefit=True, chunk_size=1).fit()
    # labels 1 and 2 tie at p = (0.5, 0.5): the first one wins, across chunks too
    assert est.predict(np.array([[0.5, 0.5]])).tolist() == [1]


def test_float32_matches_float64():
    rng = np.random.default_rng(0)
    D = _random_metric(rng, 30)
    P = _random_simplex(rng, 50, 10)
    kw = dict(label_metric=D, prefit=True)
    p64 = FrechetMeanPredictor(_prefit(np.arange(10)), **kw).fit().predict(P)
    est32 = FrechetMeanPredictor(_prefit(np.arange(10)), dtype=np.float32, **kw).fit()
    assert est32.frechet_scores(P).dtype == np.float32
    assert (est32.predict(P) == p64).mean() > 0.95


# ----------------------------------------------------------------------------
# papers.md oracles
# ----------------------------------------------------------------------------


def test_discrete_metric_is_argmax():
    rng = np.random.default_rng(1)
    classes = np.array(["a", "b", "c", "d"])
    P = _random_simplex(rng, 100, 4)
    est = FrechetMeanPredictor(_prefit(classes), prefit=True).fit()
    np.testing.assert_array_equal(est.predict(P), classes[P.argmax(1)])
    # the same with an explicit 0/1 matrix
    D = 1.0 - np.eye(4)
    est = FrechetMeanPredictor(_prefit(classes), D, labels=classes, prefit=True).fit()
    np.testing.assert_array_equal(est.predict(P), classes[P.argmax(1)])


def test_one_hot_probabilities_give_that_class():
    rng = np.random.default_rng(2)
    D = _random_metric(rng, 15)
    classes = np.array([1, 4, 7, 9, 13])
    est = FrechetMeanPredictor(_prefit(classes), D, prefit=True).fit()
    np.testing.assert_array_equal(est.predict(np.eye(5)), classes)


@pytest.mark.parametrize("seed", range(3))
def test_euclidean_embeddings_nearest_to_weighted_mean(seed):
    rng = np.random.default_rng(seed)
    E = rng.normal(size=(40, 4))
    classes = np.arange(0, 40, 4)
    P = _random_simplex(rng, 60, classes.size)
    est = FrechetMeanPredictor(_prefit(classes), E, prefit=True, chunk_size=7).fit()
    ebar = P @ E[classes]
    expected = np.argmin(((E[None] - ebar[:, None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(est.predict(P), expected)
    # the fast path equals the dense matrix path
    D = np.sqrt(((E[:, None] - E[None]) ** 2).sum(-1))
    D = (D + D.T) / 2
    np.fill_diagonal(D, 0)
    dense = FrechetMeanPredictor(_prefit(classes), D, prefit=True).fit()
    np.testing.assert_allclose(est.frechet_scores(P), dense.frechet_scores(P), atol=1e-9)


def test_cosine_embeddings():
    E = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    m = EmbeddingMetric(E, metric="cosine")
    np.testing.assert_allclose(m.distances_from([0]), [[0, 1 - np.sqrt(0.5), 1]])
    est = FrechetMeanPredictor(
        _prefit([0, 2]), E, metric_kind="embeddings", embedding_metric="cosine", prefit=True
    ).fit()
    assert est.predict(np.array([[0.5, 0.5], [0.97, 0.03]])).tolist() == [1, 0]


# ----------------------------------------------------------------------------
# Trees and graphs
# ----------------------------------------------------------------------------


def test_tree_parent_predicted_when_children_equally_likely(taxonomy):
    est = FrechetMeanPredictor(_prefit(["bus", "car", "cat", "dog"]), taxonomy, prefit=True).fit()
    P = np.array(
        [
            [0.0, 0.0, 0.5, 0.5],  # cat = dog -> animal
            [0.5, 0.5, 0.0, 0.0],  # car = bus -> vehicle
            [0.0, 0.0, 0.9, 0.1],  # mostly cat -> cat
            [0.25, 0.25, 0.25, 0.25],  # everything -> root
        ]
    )
    assert est.predict(P).tolist() == ["animal", "vehicle", "cat", "root"]
    assert "fox" in est.labels_ and "fox" not in est.classes_


@pytest.mark.parametrize("weighted", [False, True])
def test_graph_chunked_equals_dense(weighted):
    rng = np.random.default_rng(3)
    K = 25
    # a connected random graph: a path plus random extra edges
    u = list(range(K - 1)) + list(rng.integers(0, K, 20))
    v = list(range(1, K)) + list(rng.integers(0, K, 20))
    w = rng.uniform(0.5, 2.0, len(u)) if weighted else np.ones(len(u))
    keep = np.array(u) != np.array(v)
    A = sp.coo_matrix((w[keep], (np.array(u)[keep], np.array(v)[keep])), shape=(K, K)).tocsr()
    D = shortest_path(A, directed=False)
    classes = np.array([0, 3, 8, 12, 20])
    P = _random_simplex(rng, 30, 5)
    g = FrechetMeanPredictor(_prefit(classes), A, prefit=True, chunk_size=3).fit()
    d = FrechetMeanPredictor(_prefit(classes), D, prefit=True).fit()
    np.testing.assert_array_equal(g.predict(P), d.predict(P))
    np.testing.assert_allclose(g.frechet_scores(P), d.frechet_scores(P))


def test_callable_metric():
    f = lambda a, b: np.abs(a[:, None] - b[None, :]).astype(float)  # noqa: E731
    labels = np.arange(10)
    est = FrechetMeanPredictor(_prefit([0, 9]), f, labels=labels, prefit=True).fit()
    # p = (1 - w, w) on 0 and 9: the Fréchet mean is the label nearest 9 w
    P = np.array([[1.0, 0.0], [0.5, 0.5], [0.2, 0.8]])
    assert est.predict(P).tolist() == [0, 4, 7]  # 4.5 ties 4 and 5 -> 4


# ----------------------------------------------------------------------------
# With real wrapped estimators
# ----------------------------------------------------------------------------


def _line_metric(a, b):
    return np.abs(np.subtract.outer(np.asarray(a, dtype=float), np.asarray(b, dtype=float)))


class _ScaledDiscrete:
    """d(a, b) = 2 [a != b], for labels of any type (usable by sklearn's checks).

    A class with a fixed repr keeps test ids stable across pytest-xdist workers.
    """

    def __call__(self, a, b):
        return 2.0 * (np.asarray(a)[:, None] != np.asarray(b)[None, :])

    def __repr__(self):
        return "scaled_discrete"


def _blobs(rng, centers, n=20, scale=0.3):
    X = np.vstack([c + scale * rng.normal(size=(n, len(c))) for c in centers])
    return X


def test_string_labels_unfitted_estimator():
    rng = np.random.default_rng(0)
    X = _blobs(rng, [[0, 0], [4, 0], [8, 0]])
    y = np.repeat(["left", "middle", "right"], 20)
    D = np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0]], dtype=float)
    est = FrechetMeanPredictor(LogisticRegression(), D, labels=["left", "middle", "right"])
    est.fit(X, y)
    assert est.classes_.tolist() == ["left", "middle", "right"]
    assert est.n_features_in_ == 2
    assert est.score(X, y) > 0.95
    np.testing.assert_allclose(est.predict_proba(X), est.estimator_.predict_proba(X))
    assert est.estimator is not est.estimator_
    with pytest.raises(NotFittedError):
        est.estimator.predict(X)


def test_unseen_middle_label_is_predicted():
    rng = np.random.default_rng(0)
    X = _blobs(rng, [[0.0], [8.0]], n=50, scale=1.0)
    y = np.repeat(["left", "right"], 50)
    path = [("left", "middle"), ("middle", "right")]
    est = FrechetMeanPredictor(LogisticRegression(), path).fit(X, y)
    assert est.labels_.tolist() == ["left", "middle", "right"]
    assert est.predict([[0.0], [4.0], [8.0]]).tolist() == ["left", "middle", "right"]


def test_prefit_estimator_used_as_is():
    rng = np.random.default_rng(0)
    X = _blobs(rng, [[0, 0], [4, 0]])
    y = np.repeat([0, 1], 20)
    inner = KNeighborsClassifier(3).fit(X, y)
    est = FrechetMeanPredictor(inner, prefit=True).fit()
    assert est.estimator_ is inner
    np.testing.assert_array_equal(est.predict(X), inner.predict(X))
    with pytest.raises(
        NotFittedError,
        match=re.escape("`estimator` must be fitted when `prefit=True` in FrechetMeanPredictor."),
    ):
        FrechetMeanPredictor(LogisticRegression(), prefit=True).fit(X, y)


def test_feature_names_delegated():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame({"a": [0.0, 0.1, 1.0, 1.1], "b": [1.0, 0.9, 0.0, 0.1]})
    est = FrechetMeanPredictor(LogisticRegression()).fit(X, [0, 0, 1, 1])
    assert est.feature_names_in_.tolist() == ["a", "b"]


def test_no_fitted_attributes_before_fit():
    est = FrechetMeanPredictor(LogisticRegression())
    assert not hasattr(est, "n_features_in_")
    with pytest.raises(NotFittedError):
        est.predict(np.zeros((1, 2)))


# ----------------------------------------------------------------------------
# Bad input: pinned messages
# ----------------------------------------------------------------------------

_BAD = [
    (
        np.ones((3, 4)),
        {"metric_kind": "distances"},
        "The label distance matrix must be square, got shape (3, 4).",
    ),
    (
        np.array([[0, 1, 2], [1, 0, 1], [3, 1, 0.0]]),
        {},
        "The label distance matrix must be symmetric: D[0, 2]=2 but D[2, 0]=3.",
    ),
    (
        np.array([[0, -1, 2], [-1, 0, 1], [2, 1, 0.0]]),
        {},
        "The label distance matrix contains negative distances (minimum -1).",
    ),
    (
        np.array([[0, np.nan, 2], [np.nan, 0, 1], [2, 1, 0.0]]),
        {},
        "The label distance matrix contains NaN or infinity.",
    ),
    (
        np.array([[1, 1, 2], [1, 0, 1], [2, 1, 0.0]]),
        {},
        "The label distance matrix must have a zero diagonal (largest diagonal entry 1).",
    ),
    (
        sp.csr_matrix(([1.0], ([0], [1])), shape=(3, 3)),
        {},
        "The label graph is disconnected: label 2 cannot be reached from label 0.",
    ),
    (
        sp.csr_matrix(([np.nan], ([0], [1])), shape=(2, 2)),
        {},
        "The label graph contains NaN or infinity.",
    ),
    (
        np.array([[0.0, np.nan], [1.0, 1.0], [2.0, 2.0]]),
        {},
        "The label embeddings contain NaN or infinity.",
    ),
]


@pytest.mark.parametrize("metric, kwargs, message", _BAD)
def test_bad_label_metric_raises(metric, kwargs, message):
    est = FrechetMeanPredictor(_prefit([0, 1]), metric, prefit=True, **kwargs)
    with pytest.raises(ValueError, match=re.escape(message)):
        est.fit()


def test_metric_labels_must_cover_classes():
    D = 1.0 - np.eye(3)
    est = FrechetMeanPredictor(_prefit(["a", "b", "z"]), D, labels=["a", "b", "c"], prefit=True)
    msg = (
        "The labels of `label_metric` do not cover the estimator's classes: 'z' "
        "missing from the 3 labels of the label space."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        est.fit()


def test_labels_length_mismatch():
    est = FrechetMeanPredictor(_prefit([0]), 1.0 - np.eye(3), labels=["a", "b"], prefit=True)
    msg = "`labels` has 2 entries but the label distance matrix has 3 rows."
    with pytest.raises(ValueError, match=re.escape(msg)):
        est.fit()


def test_callable_defaults_to_observed_classes():
    est = FrechetMeanPredictor(_prefit([0, 5]), _line_metric, prefit=True).fit()
    assert est.labels_.tolist() == [0, 5]


def test_proba_rows_must_sum_to_one():
    est = FrechetMeanPredictor(_prefit([0, 1]), prefit=True).fit()
    msg = "`estimator.predict_proba` rows must sum to 1; row 1 sums to 0.5."
    with pytest.raises(ValueError, match=re.escape(msg)):
        est.predict(np.array([[0.5, 0.5], [0.25, 0.25]]))
    # within 1e-6: renormalised
    assert est.predict(np.array([[0.2, 0.8 + 5e-7]])).tolist() == [1]


def test_y_none_raises():
    msg = "FrechetMeanPredictor requires y to be passed, but the target y is None."
    with pytest.raises(ValueError, match=re.escape(msg)):
        FrechetMeanPredictor(LogisticRegression()).fit(np.zeros((4, 2)))


def test_invalid_param_raises():
    with pytest.raises(ValueError, match="'metric_kind' parameter"):
        FrechetMeanPredictor(LogisticRegression(), metric_kind="nope").fit([[0], [1]], [0, 1])


# ----------------------------------------------------------------------------
# scikit-learn's common checks
# ----------------------------------------------------------------------------


@parametrize_with_checks(
    [
        FrechetMeanPredictor(LogisticRegression()),
        FrechetMeanPredictor(KNeighborsClassifier(3)),
        FrechetMeanPredictor(LogisticRegression(), _ScaledDiscrete(), chunk_size=1),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)

"""The within-class whitening start (``init``): the projection against a
loop-written reference, the rule that chooses it on class folds, and the
estimator on data where it transfers to unseen classes and on data where
the raw features must be kept."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

import skmetric.nn._embedders as emb
from skmetric import MetricLearner, StartingModelKeptWarning
from skmetric._training._class_folds import choose_start
from skmetric.metrics import recall_at_k
from skmetric.nn import within_class_projection

from _start_folds import make_data

FOLDS = dict(loss="multi_similarity", lr=1e-4, validation_fraction=0.4,
             validation_split="class_folds", hidden_sizes=(16,), batch_size=64,
             random_state=0)


def _reference_whitening(X, y, shrinkage):
    """S_w^{-1/2} of the shrunk within-class covariance, by loops over rows."""
    X = np.asarray(X, dtype=np.float64)
    d = X.shape[1]
    within = np.zeros((d, d))
    for c in np.unique(y):
        rows = X[y == c]
        centre = rows.mean(axis=0)
        for row in rows:
            within += np.outer(row - centre, row - centre)
    within /= X.shape[0]
    level = np.trace(within) / d
    shrunk = (1 - shrinkage) * within + shrinkage * level * np.eye(d)
    values, vectors = np.linalg.eigh(shrunk)
    return vectors @ np.diag(values ** -0.5) @ vectors.T


def _sq_dists(Z):
    return ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1)


def _nuisance_data(n_classes=10, n_per_class=30, seed=0):
    """Classes apart in 3 features; 6 features of a larger within-class
    spread, the same for every class (nuisance directions)."""
    return make_data(n_classes, n_per_class, seed, spread=0.4, noise=3.0, n_noise=6)


def _unseen_recall(Z, y, unseen):
    return recall_at_k(Z[unseen], y[unseen], k=1)


@pytest.mark.parametrize("shrinkage", [0.05, 0.3, 1.0])
def test_projection_matches_the_loop_written_whitening(shrinkage):
    X, y = _nuisance_data(n_classes=4, n_per_class=15)
    mean, scale, proj = within_class_projection(X, y, X.shape[1], shrinkage)
    np.testing.assert_allclose(mean, X.astype(np.float64).mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(scale, X.astype(np.float64).std(axis=0), rtol=1e-6)
    ref = (X - mean) @ _reference_whitening(X, y, shrinkage)
    Z = (X - mean) @ proj
    # the same geometry up to the normalising scale: total variance 1
    np.testing.assert_allclose(Z.var(axis=0).sum(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(_sq_dists(Z), _sq_dists(ref) / ref.var(axis=0).sum(),
                               rtol=1e-5, atol=1e-9)


def test_full_whitening_makes_the_within_class_covariance_isotropic_and_one_is_raw():
    X, y = _nuisance_data(n_classes=4, n_per_class=40)
    mean, _, proj = within_class_projection(X, y, X.shape[1], 1e-9)
    Z = (X - mean) @ proj
    R = Z - np.stack([Z[y == c].mean(axis=0) for c in range(4)])[y]
    cov = R.T @ R / len(R)
    np.testing.assert_allclose(cov / cov[0, 0], np.eye(X.shape[1]), atol=1e-5)
    # shrinkage 1: a multiple of the identity, the raw features' distances
    mean, _, proj = within_class_projection(X, y, X.shape[1], 1.0)
    Z = (X - mean) @ proj
    raw = _sq_dists(X.astype(np.float64))
    np.testing.assert_allclose(_sq_dists(Z) * raw.max() / _sq_dists(Z).max(), raw,
                               rtol=1e-5, atol=1e-6)


def test_fewer_components_keep_the_top_axes_of_the_whitened_data():
    X, y = _nuisance_data(n_classes=5, n_per_class=20)
    mean, _, full = within_class_projection(X, y, X.shape[1], 0.2)
    _, _, part = within_class_projection(X, y, 4, 0.2)
    W = (X - mean) @ full
    values, vectors = np.linalg.eigh(np.cov(W.T, bias=True))
    top = W @ vectors[:, ::-1][:, :4]
    Z = (X - mean) @ part
    assert Z.shape == (X.shape[0], 4)
    np.testing.assert_allclose(_sq_dists(Z), _sq_dists(top), rtol=1e-4, atol=1e-8)


def test_blockwise_statistics_equal_the_whole_array(monkeypatch):
    X, y = _nuisance_data(n_classes=3, n_per_class=20)
    whole = within_class_projection(X, y, 5, 0.1)
    monkeypatch.setattr(emb, "_CHUNK_VALUES", 7 * X.shape[1])
    blocked = within_class_projection(X, y, 5, 0.1)
    for a, b in zip(whole, blocked):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_projection_rejects_a_bad_shrinkage_and_falls_back_without_spread():
    X, y = _nuisance_data(n_classes=3, n_per_class=5)
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="shrinkage must be in"):
            within_class_projection(X, y, 3, bad)
    # one sample per class: no within-class spread, the features' start
    got = within_class_projection(X[::5], y[::5], 3, 0.1)
    want = emb.initial_projection(X[::5], 3)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_choose_start_asks_every_fold_of_a_start_beyond_the_baseline():
    # column 0: the features; a start must beat them in every fold
    assert choose_start([[0.5, 0.9, 0.7], [0.5, 0.4, 0.6]]) == 2
    assert choose_start([[0.5, 0.9, 0.4], [0.5, 0.4, 0.6]]) == 0
    # among those that do, the best mean; ties to the later column
    assert choose_start([[0.5, 0.7, 0.7, 0.6], [0.5, 0.6, 0.6, 0.9]]) == 3
    assert choose_start([[0.5, 0.7, 0.7], [0.5, 0.6, 0.6]]) == 2
    # equal to the baseline is not better
    assert choose_start([[0.5, 0.5], [0.5, 0.9]]) == 0
    # no baseline: the best mean
    assert choose_start([[0.5, 0.7], [0.9, 0.6]], baseline=False) == 0


def test_class_folds_choose_the_whitening_where_it_transfers():
    X, y = _nuisance_data()
    seen, unseen = y < 5, y >= 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StartingModelKeptWarning)
        est = MetricLearner(max_epochs=2, **FOLDS).fit(X[seen], y[seen])
        pca = MetricLearner(max_epochs=2, init="pca", **FOLDS).fit(X[seen], y[seen])
    assert est.init_ == "within_class" and est.init_shrinkage_ in (0.03, 0.1, 0.3)
    assert pca.init_ == "pca" and pca.init_shrinkage_ is None and pca.init_fold_scores_ is None
    scores = est.init_fold_scores_
    assert scores.shape == (3, 4)  # 3 folds; the features and 3 shrinkages
    j = 1 + (0.03, 0.1, 0.3).index(est.init_shrinkage_)
    assert np.all(scores[:, j] > scores[:, 0])
    raw = _unseen_recall(X, y, unseen)
    assert raw < 0.7
    assert _unseen_recall(est.transform(X), y, unseen) > raw + 0.15
    assert _unseen_recall(est.transform(X), y, unseen) > _unseen_recall(pca.transform(X), y,
                                                                        unseen) + 0.1


def test_class_folds_keep_the_features_where_whitening_loses():
    # the classes lie apart along one feature of large within-class spread;
    # the others are noise of small spread, which whitening would stretch
    rng = np.random.RandomState(0)
    y = np.repeat(np.arange(8), 25)
    X = np.hstack([(8.0 * y + rng.normal(scale=3.0, size=y.size))[:, None],
                   rng.normal(scale=0.3, size=(y.size, 5))]).astype(np.float32)
    seen = y < 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StartingModelKeptWarning)
        auto = MetricLearner(max_epochs=2, **FOLDS).fit(X[seen], y[seen])
        pca = MetricLearner(max_epochs=2, init="pca", **FOLDS).fit(X[seen], y[seen])
    assert auto.init_ == "pca" and auto.init_shrinkage_ is None
    scores = auto.init_fold_scores_
    # no shrinkage beats the features in every fold; the strongest loses on average
    assert not np.any(np.all(scores[:, 1:] > scores[:, :1], axis=0))
    assert np.all(scores[:, 1] < scores[:, 0])
    # the choice draws from its own copy of the generator: the epoch folds
    # and the final fit are those of init="pca", bit for bit
    np.testing.assert_array_equal(auto.transform(X), pca.transform(X))
    assert auto.history_[:, "valid_score"] == pca.history_[:, "valid_score"]


def test_class_folds_whitening_choice_is_bit_identical_with_random_state():
    X, y = _nuisance_data()
    seen = y < 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StartingModelKeptWarning)
        a = MetricLearner(max_epochs=2, **FOLDS).fit(X[seen], y[seen])
        b = MetricLearner(max_epochs=2, **FOLDS).fit(X[seen], y[seen])
    assert a.init_shrinkage_ == b.init_shrinkage_ is not None
    np.testing.assert_array_equal(a.init_fold_scores_, b.init_fold_scores_)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_fixed_within_class_start_without_folds():
    # init="within_class" with a fixed shrinkage starts any fit there: with a
    # step too small to move the weights, the embedding is the whitening
    X, y = _nuisance_data(n_classes=4, n_per_class=20)
    est = MetricLearner(module="linear", init="within_class", init_shrinkage=0.2,
                        optimizer="adamw", lr=1e-12, max_epochs=1, random_state=0).fit(X, y)
    assert est.init_ == "within_class" and est.init_shrinkage_ == 0.2
    mean, _, proj = within_class_projection(X, y, X.shape[1], 0.2)
    np.testing.assert_allclose(est.transform(X), (X - mean) @ proj, rtol=1e-4, atol=1e-5)
    # "auto" shrinkage without class folds: the documented default, 0.1
    est = MetricLearner(module="linear", init="within_class", optimizer="adamw", lr=1e-12,
                        max_epochs=1, random_state=0).fit(X, y)
    assert est.init_shrinkage_ == 0.1
    # and init="auto" without class folds starts at the features
    est = MetricLearner(module="linear", max_epochs=1, random_state=0).fit(X, y)
    assert est.init_ == "pca" and est.init_shrinkage_ is None


def test_init_parameters_are_validated():
    X, y = _nuisance_data(n_classes=3, n_per_class=10)
    with pytest.raises(InvalidParameterError, match="init"):
        MetricLearner(init="lda").fit(X, y)
    for bad in (0.0, 1.5):
        with pytest.raises(InvalidParameterError, match="init_shrinkage"):
            MetricLearner(init="within_class", init_shrinkage=bad).fit(X, y)
    with pytest.raises(ValueError, match="a module passed as an object"):
        MetricLearner(module=torch.nn.Linear(X.shape[1], 4), init="within_class").fit(X, y)

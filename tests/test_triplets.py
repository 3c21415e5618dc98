"""TripletMetricLearner."""

import pickle
import re

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from skmetric import TripletMetricLearner
from skmetric._triplets import _TripletCriterion
from skmetric.losses import get_loss
from skmetric.metrics import recall_at_k

FAST = dict(max_epochs=5, hidden_sizes=(64,), random_state=0)


@pytest.fixture(scope="module")
def noisy_digits():
    """Digits plus 32 loud noise features (raw R@1 ~0.19); triplets drawn
    from labels the estimator never sees, with held-out triplets on test rows."""
    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(0)
    X = np.hstack([X / 16.0, 1.5 * rng.normal(size=(len(X), 32))])

    def draw(labels, size):
        a = rng.randint(len(labels), size=size)
        p = np.array([rng.choice(np.flatnonzero(labels == labels[i])) for i in a])
        n = np.array([rng.choice(np.flatnonzero(labels != labels[i])) for i in a])
        return np.stack([a, p, n], 1)

    X_tr, y_tr, X_te, y_te = X[:1000], y[:1000], X[1000:], y[1000:]
    return X_tr, y_tr, X_te, y_te, draw(y_tr, 1500), draw(y_te, 500)


def test_criterion_uses_each_batch_triplet():
    out = torch.randn(9, 4, dtype=torch.float64)
    loss = get_loss("triplet_margin", margin=0.3)
    ours = _TripletCriterion(loss)(out, torch.zeros(3, dtype=torch.long))
    i = torch.arange(3)
    torch.testing.assert_close(ours, loss(out, torch.arange(9), (i, i + 3, i + 6)))


def test_errors_name_the_problem():
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match=re.escape(
        "`triplets` must be an array of shape (n_triplets, 3, n_features) or of "
        "indices (n_triplets, 3) into `preprocessor`; got shape (4, 2).")):
        TripletMetricLearner(preprocessor=X).fit(np.zeros((4, 2), dtype=int))
    with pytest.raises(ValueError, match=re.escape(
        "`triplets` holds index 7, out of range of `preprocessor` with 5 rows")):
        TripletMetricLearner(preprocessor=X).fit(np.array([[0, 1, 7], [0, 1, 2]]))
    with pytest.raises(ValueError, match="are read as indices, but no `preprocessor`"):
        TripletMetricLearner().fit(np.array([[0, 1, 2], [0, 1, 3]]))
    with pytest.raises(ValueError, match="Input triplets contains NaN"):
        TripletMetricLearner().fit(np.full((3, 3, 2), np.nan))


def test_predict_score_decision_by_brute_force(noisy_digits):
    X_tr, _, X_te, _, trip, held = noisy_digits
    model = TripletMetricLearner(preprocessor=X_tr, **FAST).fit(trip)
    Z = model.transform(X_tr).astype(np.float64)
    d_ap = np.linalg.norm(Z[trip[:, 0]] - Z[trip[:, 1]], axis=1)
    d_an = np.linalg.norm(Z[trip[:, 0]] - Z[trip[:, 2]], axis=1)
    np.testing.assert_allclose(model.decision_function(trip), d_an - d_ap, atol=1e-5)
    np.testing.assert_array_equal(model.predict(trip), np.where(d_an - d_ap > 0, 1, -1))
    assert model.score(trip) == pytest.approx(np.mean(d_ap < d_an), abs=2e-3)
    # rows instead of indices give the same answers
    np.testing.assert_array_equal(model.predict(X_tr[trip]), model.predict(trip))


def test_beats_raw_and_untrained_on_held_out_triplets(noisy_digits):
    X_tr, _, X_te, y_te, trip, held = noisy_digits
    rows = X_te[held]
    raw = np.mean(
        np.linalg.norm(rows[:, 0] - rows[:, 1], axis=1)
        < np.linalg.norm(rows[:, 0] - rows[:, 2], axis=1)
    )
    model = TripletMetricLearner(preprocessor=X_tr, **FAST).fit(trip)
    control = TripletMetricLearner(preprocessor=X_tr, lr=1e-12, validation_fraction=None,
                                   **FAST).fit(trip)
    assert abs(control.score(rows) - raw) < 0.05
    assert model.score(rows) > raw + 0.15
    assert recall_at_k(model.transform(X_te), y_te, k=1) > recall_at_k(X_te, y_te, k=1) + 0.2
    assert model.best_score_ > model.baseline_score_


def test_random_state_clone_pickle_grid_search(noisy_digits):
    X_tr, _, X_te, _, trip, _ = noisy_digits
    model = TripletMetricLearner(preprocessor=X_tr, max_epochs=2, hidden_sizes=(16,),
                                 random_state=0)
    Z = model.fit(trip[:300]).transform(X_te)
    np.testing.assert_array_equal(clone(model).fit(trip[:300]).transform(X_te), Z)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).transform(X_te), Z)
    search = GridSearchCV(clone(model), {"loss": ["auto", "triplet_margin"]}, cv=2).fit(trip[:300])
    assert 0.5 < search.best_score_ <= 1.0
    # the search ran both settings and refit the winner with its own setting
    assert [p["loss"] for p in search.cv_results_["params"]] == ["auto", "triplet_margin"]
    assert search.best_estimator_.get_params()["loss"] == search.best_params_["loss"]

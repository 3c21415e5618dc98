"""Loki's expected squared distance and its scorer."""

import re

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from skmetric import FrechetMeanPredictor
from skmetric.metrics import (
    expected_squared_distance,
    get_scorer,
    make_expected_squared_distance_scorer,
)


def test_expected_squared_distance(taxonomy):
    assert expected_squared_distance(["cat", "bus"], ["dog", "bus"], taxonomy) == 2.0
    assert expected_squared_distance([0, 1, 2], [0, 2, 2]) == pytest.approx(1 / 3)
    D = np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0.0]])
    assert expected_squared_distance([0, 0], [2, 1], D, sample_weight=[3, 1]) == 13 / 4
    with pytest.raises(ValueError, match=re.escape("Labels of y_pred not in the label space")):
        expected_squared_distance(["cat"], ["zebra"], taxonomy)


def test_scorer_in_grid_search():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 30)
    X = 4.0 * y[:, None] + rng.normal(scale=1.2, size=(90, 1))
    D = np.abs(np.subtract.outer(np.arange(3), np.arange(3))).astype(float)
    scorer = make_expected_squared_distance_scorer(D)
    assert repr(scorer).startswith("make_scorer(expected_squared_distance, ")
    search = GridSearchCV(
        FrechetMeanPredictor(LogisticRegression(), D),
        {"estimator__C": [0.01, 1.0]},
        scoring=scorer,
        cv=3,
    ).fit(X, y)
    assert search.best_score_ <= 0
    est = search.best_estimator_
    expected = -expected_squared_distance(y, est.predict(X), D)
    assert scorer(est, X, y) == pytest.approx(expected)
    # the registered scorer reads the estimator's own label_metric_
    assert get_scorer("neg_expected_squared_distance")(est, X, y) == pytest.approx(expected)

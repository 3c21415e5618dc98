import re

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmetric import scorers
from skmetric.metrics import (
    ami,
    get_scorer,
    get_scorer_names,
    map_at_r,
    mrr,
    nmi,
    precision_at_k,
    r_precision,
    recall_at_k,
    recall_at_k_scorer,
    uniformity,
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600], y[:600]


@pytest.mark.parametrize(
    "name, func, kwargs, sign",
    [
        ("recall@1", recall_at_k, {"k": 1}, 1),
        ("recall@4", recall_at_k, {"k": 4}, 1),
        ("R@2", recall_at_k, {"k": 2}, 1),
        ("precision@1", precision_at_k, {"k": 1}, 1),
        ("p@3", precision_at_k, {"k": 3}, 1),
        ("map@r", map_at_r, {}, 1),
        ("r_precision", r_precision, {}, 1),
        ("mrr", mrr, {}, 1),
        ("nmi", nmi, {"random_state": 0}, 1),
        ("ami", ami, {"random_state": 0}, 1),
    ],
)
def test_named_scorer_equals_metric_on_transformed(digits, name, func, kwargs, sign):
    X, y = digits
    pca = PCA(n_components=8, random_state=0).fit(X)
    scorer = get_scorer(name)
    assert scorer(pca, X, y) == pytest.approx(sign * func(pca.transform(X), y, **kwargs))


def test_loss_scorers_are_negated(digits):
    X, y = digits
    pca = PCA(n_components=8, random_state=0).fit(X)
    assert get_scorer("neg_uniformity")(pca, X, y) == pytest.approx(-uniformity(pca.transform(X)))
    for name in ("neg_alignment", "neg_opis", "neg_equal_error_rate", "pair_roc_auc", "map"):
        assert np.isfinite(get_scorer(name)(pca, X[:200], y[:200]))


def test_repr_is_readable():
    assert repr(recall_at_k_scorer(k=1)) == (
        "make_embedding_scorer(recall_at_k, k=1, metric='euclidean')")
    assert repr(get_scorer("neg_uniformity")) == "make_embedding_scorer(uniformity, sign=-1)"
    assert repr(get_scorer("nmi")) == "make_embedding_scorer(nmi, random_state=0)"


def test_gridsearch_single_and_dict_scoring(digits):
    X, y = digits
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    pipe = make_pipeline(StandardScaler(), PCA(random_state=0))
    grid = {"pca__n_components": [2, 16]}
    search = GridSearchCV(pipe, grid, cv=cv, scoring=recall_at_k_scorer(k=1)).fit(X, y)
    assert search.best_params_ == {"pca__n_components": 16}
    assert 0 < search.best_score_ <= 1
    multi = GridSearchCV(
        pipe, grid, cv=cv, refit="map@r",
        scoring={"r@1": get_scorer("recall@1"), "map@r": get_scorer("map@r"),
                 "nmi": scorers.nmi_scorer()},
    ).fit(X, y)
    for key in ("mean_test_r@1", "mean_test_map@r", "mean_test_nmi"):
        assert np.all(np.isfinite(multi.cv_results_[key]))
    np.testing.assert_allclose(multi.cv_results_["mean_test_r@1"],
                               search.cv_results_["mean_test_score"])
    assert multi.best_params_ == {"pca__n_components": 16}


def test_cross_val_score_string_labels(digits):
    X, y = digits
    ys = np.array([f"digit-{v}" for v in y])
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    a = cross_val_score(PCA(8), X, ys, cv=cv, scoring=get_scorer("map@r"))
    b = cross_val_score(PCA(8), X, y, cv=cv, scoring=get_scorer("map@r"))
    np.testing.assert_allclose(a, b)


def test_names_listed_and_all_resolve():
    names = get_scorer_names()
    assert "recall@K" in names and "map@r" in names
    for name in names:
        get_scorer(name.replace("@K", "@2"))


@pytest.mark.parametrize("name", ["recall@0", "recall", "top1", "map@k"])
def test_unknown_name(name):
    with pytest.raises(ValueError, match=re.escape(f"Unknown scorer {name!r}. Valid names:")):
        get_scorer(name)


def test_estimator_without_transform(digits):
    X, y = digits
    clf = LogisticRegression(max_iter=50).fit(X[:100], y[:100])
    msg = ("make_embedding_scorer(recall_at_k, k=1, metric='euclidean') needs an estimator "
           "with `transform` (it scores the embedding); LogisticRegression has none.")
    with pytest.raises(ValueError, match=re.escape(msg)):
        recall_at_k_scorer()(clf, X, y)

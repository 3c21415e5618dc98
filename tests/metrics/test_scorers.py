"""Scorers: every name against its metric, the one scorer contract, searches."""

import pickle
import re

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.metrics import get_scorer_names as sklearn_scorer_names
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

import skmetric.metrics
from skmetric.metrics import (
    ami,
    expected_squared_distance,
    get_scorer,
    get_scorer_names,
    make_anyloss_scorer,
    make_expected_squared_distance_scorer,
    make_scorer,
    map_at_r,
    mrr,
    nmi,
    nmi_scorer,
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
        "make_scorer(recall_at_k, response_method='transform', k=1, metric='euclidean')")
    assert repr(get_scorer("neg_uniformity")) == (
        "make_scorer(uniformity, response_method='transform', greater_is_better=False)")
    assert repr(get_scorer("nmi")) == (
        "make_scorer(nmi, response_method='transform', random_state=0)")


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
                 "nmi": nmi_scorer()},
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


@pytest.mark.parametrize("name", ["recall@0", "recal", "top1", "map@k"])
def test_unknown_name(name):
    with pytest.raises(ValueError, match=re.escape(f"Unknown scorer {name!r}. Valid names:")):
        get_scorer(name)


def test_estimator_without_transform(digits):
    X, y = digits
    clf = LogisticRegression(max_iter=50).fit(X[:100], y[:100])
    msg = ("make_scorer(recall_at_k, response_method='transform', k=1, metric='euclidean') "
           "needs an estimator with `transform`; LogisticRegression has none.")
    with pytest.raises(ValueError, match=re.escape(msg)):
        recall_at_k_scorer()(clf, X, y)


# --------------------------------------------------------------------------
# The one scorer contract: repr, response_method, sample_weight, names.
# --------------------------------------------------------------------------

def _skmetric_names():
    return [n.replace("@K", "@3") for n in get_scorer_names()
            if n not in sklearn_scorer_names()]


def _first_value(y_true, response):
    return float(np.asarray(response).ravel()[0])


def test_every_skmetric_scorer_repr_evaluates_to_an_equal_scorer():
    names = _skmetric_names()
    for name in ("recall@3", "map@r", "soft_f1", "hard_mcc", "neg_expected_squared_distance"):
        assert name in names
    for name in names:
        scorer = get_scorer(name)
        rebuilt = eval(repr(scorer), vars(skmetric.metrics))
        assert rebuilt == scorer, name
        assert rebuilt is not scorer
        assert pickle.loads(pickle.dumps(scorer)) == scorer, name
    assert get_scorer("recall@3") != get_scorer("recall@2")
    assert get_scorer("map@r") != get_scorer("neg_uniformity")


def test_skmetric_names_do_not_shadow_sklearn_names():
    assert not set(_skmetric_names()) & set(sklearn_scorer_names())
    assert {"accuracy", "f1", "recall@K", "soft_f1"} <= set(get_scorer_names())


def test_sklearn_fallback(digits):
    X, y = digits
    X, yb = X / 16, (y < 5).astype(int)
    clf = LogisticRegression(max_iter=200).fit(X, yb)
    assert get_scorer("accuracy")(clf, X, yb) == accuracy_score(yb, clf.predict(X))
    assert get_scorer("f1")(clf, X, yb) == f1_score(yb, clf.predict(X))
    # skmetric names are case-insensitive, scikit-learn's are not
    assert get_scorer("MAP@R") == get_scorer("map@r")
    with pytest.raises(ValueError, match=re.escape("Unknown scorer 'Accuracy'. Valid names:")):
        get_scorer("Accuracy")


def test_unknown_name_lists_both_registries():
    with pytest.raises(ValueError) as err:
        get_scorer("top1")
    message = str(err.value)
    for name in ("recall@K", "map@r", "soft_f1", "hard_f1", "neg_expected_squared_distance",
                 "accuracy", "f1"):
        assert f" {name}," in message or f" {name}." in message, name


def test_response_method_preference_tuple(digits):
    X, y = digits
    X, yb = X / 16, (y < 5).astype(int)
    scorer = make_scorer(_first_value, response_method=("predict_proba", "decision_function"))
    proba = LogisticRegression(max_iter=200).fit(X, yb)
    svm = LinearSVC(max_iter=200).fit(X, yb)
    assert scorer(proba, X, yb) == proba.predict_proba(X)[0, 0]
    assert scorer(svm, X, yb) == svm.decision_function(X)[0]
    as_list = make_scorer(_first_value, response_method=["predict_proba", "decision_function"])
    assert as_list == scorer
    kmeans = KMeans(2, n_init=1, random_state=0).fit(X)
    msg = ("make_scorer(_first_value, response_method=('predict_proba', 'decision_function')) "
           "needs an estimator with `predict_proba` or `decision_function`; KMeans has none.")
    with pytest.raises(ValueError, match=re.escape(msg)):
        scorer(kmeans, X, yb)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"response_method": "score"}, "`response_method` must be one of ('transform', "
         "'predict', 'predict_proba', 'decision_function') or a tuple of them; got 'score'."),
        ({"response_method": ("transform", "predict")},
         "`response_method` cannot mix 'transform' with prediction methods"),
        ({"fitted_kwargs": {"k": "k_"}, "k": 1},
         "Arguments given both fixed and in `fitted_kwargs`: ['k']."),
    ],
)
def test_make_scorer_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make_scorer(recall_at_k, **kwargs)


def test_sample_weight_policy(digits):
    X, y = digits
    rng = np.random.default_rng(0)
    w = rng.uniform(0.1, 2.0, size=len(y))
    clf = LogisticRegression(C=1e-3, max_iter=200).fit(X / 16, y)
    X = X / 16
    D = np.abs(np.subtract.outer(np.arange(10), np.arange(10))).astype(float)
    esd = make_expected_squared_distance_scorer(D)
    # passed on to a score function that takes it...
    assert esd(clf, X, y, sample_weight=w) == pytest.approx(
        -expected_squared_distance(y, clf.predict(X), D, sample_weight=w))
    assert esd(clf, X, y, sample_weight=w) != pytest.approx(esd(clf, X, y))
    # ...and refused, never ignored, by one that does not
    pca = PCA(4, random_state=0).fit(X)
    msg = ("make_scorer(recall_at_k, response_method='transform', k=1, metric='euclidean') "
           "does not support `sample_weight`: recall_at_k takes no `sample_weight`.")
    with pytest.raises(ValueError, match=re.escape(msg)):
        get_scorer("recall@1")(pca, X, y, sample_weight=w)
    with pytest.raises(ValueError, match="anyloss_score takes no `sample_weight`"):
        make_anyloss_scorer("f1")(clf, X, y, sample_weight=w)


def test_fitted_kwargs_need_the_attribute(digits):
    X, y = digits
    clf = LogisticRegression(max_iter=50).fit(X[:100], y[:100])
    msg = ("make_scorer(expected_squared_distance, response_method='predict', "
           "greater_is_better=False, fitted_kwargs={'label_metric': 'label_metric_'}) reads "
           "`label_metric_` from the fitted estimator; LogisticRegression has no such attribute.")
    with pytest.raises(ValueError, match=re.escape(msg)):
        get_scorer("neg_expected_squared_distance")(clf, X, y)


def test_gridsearch_with_get_scorer_of_each_kind(digits):
    X, y = digits
    X, yb = X / 16, (y < 5).astype(int)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(LogisticRegression(max_iter=200), {"C": [1e-4, 1.0]}, cv=cv,
                          scoring=get_scorer("hard_mcc")).fit(X, yb)
    assert search.best_params_ == {"C": 1.0}
    soft = GridSearchCV(LogisticRegression(max_iter=200), {"C": [1e-4, 1.0]}, cv=cv,
                        scoring=get_scorer("soft_f1")).fit(X, yb)
    assert soft.best_params_ == {"C": 1.0} and 0 < soft.best_score_ <= 1

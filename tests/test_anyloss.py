"""AnyLossClassifier and the AnyLoss scorers.

The metric functions and the losses are tested in tests/losses/test_confusion.py.
"""

import math
import pickle
import re

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_blobs, make_classification
from sklearn.metrics import (
    balanced_accuracy_score,
    f1_score,
    fbeta_score,
    matthews_corrcoef,
    recall_score,
)
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from torch import nn

from skmetric._anyloss import AnyLossClassifier
from skmetric.metrics import get_scorer, make_anyloss_scorer
from skmetric.losses import FBetaLoss
from skmetric.losses import confusion as cm


FAST = dict(max_epochs=15, batch_size=32, hidden_sizes=(16,), random_state=0)


def _gmean_hard(y, p):
    tpr = recall_score(y, p, zero_division=0)
    tnr = recall_score(1 - y, 1 - p, zero_division=0)
    return math.sqrt(tpr * tnr)


# ---------------------------------------------------------- scorers
@pytest.fixture(scope="module")
def fitted_binary():
    X, y = make_classification(300, weights=[0.85, 0.15], random_state=0)
    labels = np.array(["no", "yes"])[y]
    clf = AnyLossClassifier(**FAST).fit(X, labels)
    return clf, X, labels


def test_hard_scorers_equal_sklearn(fitted_binary):
    clf, X, y = fitted_binary
    pred = clf.predict(X)
    assert get_scorer("hard_f1")(clf, X, y) == f1_score(y, pred, pos_label="yes")
    assert get_scorer("hard_mcc")(clf, X, y) == matthews_corrcoef(y, pred)
    assert get_scorer("hard_balanced_accuracy")(clf, X, y) == balanced_accuracy_score(y, pred)
    fb = make_anyloss_scorer("fbeta", beta=2.0)(clf, X, y)
    assert fb == pytest.approx(fbeta_score(y, pred, beta=2.0, pos_label="yes"))
    yb, pb = (y == "yes").astype(int), (pred == "yes").astype(int)
    assert get_scorer("hard_gmean")(clf, X, y) == pytest.approx(_gmean_hard(yb, pb))


def test_soft_scorer_equals_function_on_predict_proba(fitted_binary):
    clf, X, y = fitted_binary
    p = torch.as_tensor(clf.predict_proba(X)[:, 1])
    yt = torch.as_tensor((y == "yes").astype(int))
    for name in cm.METRICS:
        assert get_scorer(f"soft_{name}")(clf, X, y) == pytest.approx(
            float(cm.METRICS[name](yt, p))
        ), name
    assert get_scorer("soft_f1") == make_anyloss_scorer("f1", soft=True, L=73.0)
    pickle.loads(pickle.dumps(get_scorer("soft_mcc")))


def test_scorer_in_search_and_multiclass():
    X, y = make_blobs(150, centers=3, random_state=0)
    scorer = make_anyloss_scorer("f1", average="weighted")
    clf = AnyLossClassifier(**FAST)
    scores = cross_val_score(clf, X, y, cv=3, scoring=scorer)
    assert scores.shape == (3,) and np.all(scores > 0.7)
    fitted = clf.fit(X, y)
    assert scorer(fitted, X, y) == pytest.approx(
        f1_score(y, fitted.predict(X), average="weighted")
    )
    soft = make_anyloss_scorer("f1", soft=True, average="macro")(fitted, X, y)
    assert 0 < soft <= 1


def test_scorer_errors(fitted_binary):
    clf, X, y = fitted_binary
    with pytest.raises(ValueError, match="Unknown AnyLoss metric 'auc'"):
        make_anyloss_scorer("auc")
    with pytest.raises(ValueError, match="`average` must be one of"):
        make_anyloss_scorer("f1", average="samples")
    msg = "y_true holds labels outside `classes`: ['maybe']"
    with pytest.raises(ValueError, match=re.escape(msg)):
        make_anyloss_scorer("f1", soft=True)(clf, X[:3], np.array(["no", "yes", "maybe"]))


# ------------------------------------------------------- classifier
def test_classifier_binary_string_labels(fitted_binary):
    clf, X, y = fitted_binary
    proba = clf.predict_proba(X)
    assert proba.shape == (300, 2)
    np.testing.assert_allclose(proba.sum(1), 1)
    dec = clf.decision_function(X)
    assert dec.shape == (300,)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(proba[:, 1] > 0.5).astype(int)])
    np.testing.assert_array_equal(clf.classes_, ["no", "yes"])
    assert clf.n_features_in_ == 20
    assert f1_score(y, clf.predict(X), pos_label="yes") > 0.7


def test_classifier_multiclass():
    X, y = make_blobs(200, centers=4, random_state=1)
    clf = AnyLossClassifier(metric="mcc", **FAST).fit(X, y)
    assert clf.decision_function(X).shape == (200, 4)
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1)
    assert (clf.predict(X) == y).mean() > 0.9


def test_classifier_reproducible_bit_for_bit():
    X, y = make_classification(200, weights=[0.8, 0.2], random_state=0)
    a = AnyLossClassifier(**FAST).fit(X, y).predict_proba(X)
    b = AnyLossClassifier(**FAST).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    c = AnyLossClassifier(**{**FAST, "random_state": 1}).fit(X, y).predict_proba(X)
    assert not np.array_equal(a, c)


def test_classifier_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = make_classification(100, n_features=4, random_state=0)
    df = pd.DataFrame(X, columns=list("abcd"))
    clf = AnyLossClassifier(**FAST).fit(df, y)
    np.testing.assert_array_equal(clf.feature_names_in_, list("abcd"))


def test_classifier_params_grid_search():
    X, y = make_classification(200, weights=[0.8, 0.2], random_state=0)
    grid = GridSearchCV(
        AnyLossClassifier(**FAST),
        {"metric__L": [10.0, 73.0], "ce_weight": [0.0, 0.5]},
        scoring=get_scorer("hard_f1"),
        cv=2,
    ).fit(X, y)
    # the nested parameter reaches the trained loss of the refitted winner
    assert grid.best_estimator_.loss_.L == grid.best_params_["metric__L"]
    clf = AnyLossClassifier(FBetaLoss(beta=2.0), **FAST)
    assert clone(clf).get_params()["metric__beta"] == 2.0
    clf.fit(X, y)
    assert clf.loss_ is not clf.metric  # the user's object is never trained


def test_classifier_user_module_and_validation():
    X, y = make_classification(200, n_features=5, random_state=0)
    module = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))
    clf = AnyLossClassifier(module=module, validation_fraction=0.2, **FAST).fit(X, y)
    assert clf.decision_function(X).shape == (200,)
    scores = clf.history_[:, "valid_score"]
    assert len(scores) == clf.n_epochs_ + 1  # epoch 0, the starting model, first
    assert clf.baseline_score_ == scores[0]
    assert clf.best_epoch_ == int(np.argmax(scores)) and clf.best_score_ == max(scores)


def test_classifier_errors():
    X, y = make_classification(50, n_features=5, random_state=0)
    with pytest.raises(ValueError, match=re.escape("needs samples of at least 2 classes; got 1 class ('a')")):
        AnyLossClassifier(**FAST).fit(X, np.array(["a"] * 50))
    with pytest.raises(ValueError, match="The 'metric' parameter of AnyLossClassifier must be"):
        AnyLossClassifier(metric="auc", **FAST).fit(X, y)
    with pytest.raises(ValueError, match="The 'ce_weight' parameter"):
        AnyLossClassifier(ce_weight=1.5, **FAST).fit(X, y)
    with pytest.raises(ValueError, match=re.escape("`module` must output logits of shape (n, 1) or (n, 2) for 2 classes; got shape (2, 3)")):
        AnyLossClassifier(module=nn.Linear(5, 3), **FAST).fit(X, y)
    with pytest.raises(ValueError, match="Unknown label type"):
        AnyLossClassifier(**FAST).fit(X, np.linspace(0, 1, 50))
    clf = AnyLossClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="X has 4 features, but AnyLossClassifier is expecting 5"):
        clf.predict(X[:, :4])
    assert not hasattr(AnyLossClassifier(), "classes_")


def test_classifier_numpy_scalar_params():
    X, y = make_classification(60, n_features=4, random_state=0)
    clf = AnyLossClassifier(max_epochs=np.int64(3), lr=np.float32(1e-2), batch_size=np.int64(16),
                            hidden_sizes=(8,), random_state=0)
    clf.fit(X, y)


@pytest.mark.slow
def test_classifier_quality_on_imbalanced_data():
    """Quality bar: test F1 >= 0.75 on make_classification with 5% positives
    (measured with the defaults: 0.802 for this split, 0.786 +- 0.025 over
    the 5 seeds of benchmarks/bench_anyloss.py; LogisticRegression with
    class_weight="balanced" gets 0.615)."""
    X, y = make_classification(5000, weights=[0.95, 0.05], random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    clf = AnyLossClassifier(metric="f1", random_state=0).fit(X_tr, y_tr)
    score = f1_score(y_te, clf.predict(X_te))
    assert score >= 0.75

"""AnyLoss score functions (hard and soft) against scikit-learn's metrics."""

import re

import numpy as np
import pytest
from sklearn.metrics import f1_score, fbeta_score, matthews_corrcoef, recall_score

from skmetric.metrics import anyloss_score, soft_anyloss_score


@pytest.fixture
def labels():
    rng = np.random.default_rng(0)
    y = rng.choice(["a", "b", "c"], size=60)
    pred = np.where(rng.random(60) < 0.7, y, rng.choice(["a", "b", "c"], size=60))
    return y, pred


def test_hard_equals_sklearn(labels):
    y, pred = labels
    assert anyloss_score(y, pred, metric="f1") == pytest.approx(
        f1_score(y, pred, average="macro"))
    assert anyloss_score(y, pred, metric="recall", average="weighted") == pytest.approx(
        recall_score(y, pred, average="weighted"))
    assert anyloss_score(y, pred, metric="mcc") == pytest.approx(matthews_corrcoef(y, pred))
    yb, pb = y == "a", pred == "a"
    # binary with "auto": the second class is positive
    assert anyloss_score(yb, pb, metric="fbeta", beta=2.0) == pytest.approx(
        fbeta_score(yb, pb, beta=2.0))


def test_classes_decide_binary_or_macro(labels):
    y, pred = labels
    keep = (y != "c") & (pred != "c")
    # two labels present, but the estimator knows three: macro over three
    three = anyloss_score(y[keep], pred[keep], metric="f1", classes=["a", "b", "c"])
    assert three == pytest.approx(
        f1_score(y[keep], pred[keep], labels=["a", "b", "c"], average="macro", zero_division=0))
    assert anyloss_score(y[keep], pred[keep], metric="f1") == pytest.approx(
        f1_score(y[keep], pred[keep], pos_label="b"))


def test_soft_on_one_hot_equals_hard(labels):
    y, pred = labels
    one_hot = (pred[:, None] == np.array(["a", "b", "c"])[None]).astype(float)
    for metric in ("f1", "mcc", "balanced_accuracy", "gmean"):
        assert soft_anyloss_score(y, one_hot, metric=metric) == pytest.approx(
            anyloss_score(y, pred, metric=metric), abs=1e-6), metric


def test_unknown_labels_and_metric():
    msg = "y_true holds labels outside `classes`: ['z'] (classes = ['a', 'b'])."
    with pytest.raises(ValueError, match=re.escape(msg)):
        soft_anyloss_score(["a", "z"], [[1.0, 0.0], [0.0, 1.0]], classes=["a", "b"])
    with pytest.raises(ValueError, match=re.escape("Unknown AnyLoss metric 'auc'")):
        anyloss_score([0, 1], [0, 1], metric="auc")

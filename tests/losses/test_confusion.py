"""AnyLoss: the soft confusion-matrix metrics and the AnyLoss losses."""

import math
import re

import numpy as np
import pytest
import torch
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    fbeta_score,
    jaccard_score,
    matthews_corrcoef,
    precision_score,
    recall_score,
)

from skmetric.losses import LOSSES, F1Loss, FBetaLoss, FormulaLoss, get_loss
from skmetric.losses import confusion as cm
from skmetric.losses.anyloss import ANYLOSS_LOSSES

DTYPES = [torch.float32, torch.float64]
# On 0/1 inputs the soft metrics equal the hard ones up to the residuals
# A(0) = e^{-L/2} ~ 1e-16 per sample, divided by at most eps = 1.5e-8 (float64)
TOL = {torch.float32: 1e-6, torch.float64: 1e-6}
AVERAGED = {
    "precision": precision_score,
    "recall": recall_score,
    "f1": f1_score,
    "jaccard": jaccard_score,
}
PLAIN = {
    "accuracy": accuracy_score,
    "balanced_accuracy": balanced_accuracy_score,
    "mcc": matthews_corrcoef,
}


def _binary_cases():
    rng = np.random.RandomState(0)
    cases = [(rng.randint(2, size=40), rng.randint(2, size=40)) for _ in range(5)]
    y = (rng.rand(40) < 0.1).astype(int)
    cases.append((y, (rng.rand(40) < 0.1).astype(int)))  # imbalanced
    cases.append((np.zeros(10, int), rng.randint(2, size=10)))  # no positives
    cases.append((rng.randint(2, size=10), np.zeros(10, int)))  # none predicted
    cases.append((np.array([0, 1, 1]), np.array([0, 1, 1])))  # perfect
    return cases


def _gmean_hard(y, p):
    tpr = recall_score(y, p, zero_division=0)
    tnr = recall_score(1 - y, 1 - p, zero_division=0)
    return math.sqrt(tpr * tnr)


# ------------------------------------------------ soft == hard on 0/1 input
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(9))
def test_binary_hard_inputs_match_sklearn(dtype, case):
    y, p = _binary_cases()[case]
    yt, pt = torch.as_tensor(y), torch.as_tensor(p, dtype=dtype)
    tol = TOL[dtype]
    for name, fn in AVERAGED.items():
        expected = fn(y, p, zero_division=0)
        assert float(getattr(cm, name)(yt, pt)) == pytest.approx(expected, abs=tol), name
    assert float(cm.fbeta(yt, pt, beta=2.0)) == pytest.approx(
        fbeta_score(y, p, beta=2.0, zero_division=0), abs=tol
    )
    assert float(cm.accuracy(yt, pt)) == pytest.approx(accuracy_score(y, p), abs=tol)
    assert float(cm.mcc(yt, pt)) == pytest.approx(matthews_corrcoef(y, p), abs=tol)
    assert float(cm.gmean(yt, pt)) == pytest.approx(_gmean_hard(y, p), abs=tol)
    if len(np.unique(y)) == 2:  # sklearn warns and averages the present class
        assert float(cm.balanced_accuracy(yt, pt)) == pytest.approx(
            balanced_accuracy_score(y, p), abs=tol
        )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_classes", [2, 3, 5])
@pytest.mark.parametrize("average", ["macro", "micro", "weighted", None])
def test_multiclass_averaging_matches_sklearn(dtype, n_classes, average):
    rng = np.random.RandomState(n_classes)
    y = rng.randint(n_classes, size=60)
    y[:n_classes] = np.arange(n_classes)
    pred = np.where(rng.rand(60) < 0.6, y, rng.randint(n_classes, size=60))
    P = torch.as_tensor(np.eye(n_classes)[pred], dtype=dtype)
    yt = torch.as_tensor(y)
    labels = list(range(n_classes))
    for name, fn in AVERAGED.items():
        got = getattr(cm, name)(yt, P, average=average).numpy()
        want = fn(y, pred, average=average, labels=labels, zero_division=0)
        np.testing.assert_allclose(got, want, atol=TOL[dtype], err_msg=name)
    got = cm.fbeta(yt, P, beta=0.5, average=average).numpy()
    want = fbeta_score(y, pred, beta=0.5, average=average, labels=labels, zero_division=0)
    np.testing.assert_allclose(got, want, atol=TOL[dtype])


@pytest.mark.parametrize("n_classes", [2, 3, 6])
def test_multiclass_plain_metrics_match_sklearn(n_classes):
    rng = np.random.RandomState(1)
    y = rng.randint(n_classes, size=80)
    pred = np.where(rng.rand(80) < 0.5, y, rng.randint(n_classes, size=80))
    P = torch.as_tensor(np.eye(n_classes)[pred], dtype=torch.float64)
    yt = torch.as_tensor(y)
    for name, fn in PLAIN.items():
        assert float(cm.METRICS[name](yt, P)) == pytest.approx(fn(y, pred), abs=1e-12), name


def test_binary_two_column_input_equals_one_column():
    rng = np.random.RandomState(0)
    y = torch.as_tensor(rng.randint(2, size=30))
    p = torch.as_tensor(rng.rand(30))
    two = torch.stack([1 - p, p], dim=1)
    for name in cm.METRICS:
        assert float(cm.METRICS[name](y, two)) == pytest.approx(
            float(cm.METRICS[name](y, p)), abs=1e-12
        ), name


def test_multilabel_threshold_decision_matches_sklearn():
    rng = np.random.RandomState(0)
    Y = rng.randint(2, size=(50, 4))
    pred = rng.randint(2, size=(50, 4))
    P = torch.as_tensor(pred, dtype=torch.float64)
    for average in ["macro", "micro", "weighted"]:
        got = float(cm.f1(torch.as_tensor(Y), P, average=average, decision="threshold"))
        assert got == pytest.approx(
            f1_score(Y, pred, average=average, zero_division=0), abs=1e-12
        )


# ------------------------------------------------- soft values by hand
def _A(p, L=73.0):
    return 1.0 / (1.0 + math.exp(-L * (p - 0.5)))


def test_soft_binary_values_by_hand():
    y = [1, 0, 1, 0, 0, 1]
    p = [0.9, 0.2, 0.45, 0.55, 0.5, 0.52]
    L = 20.0
    a = [_A(v, L) for v in p]
    tp = sum(ai for ai, yi in zip(a, y) if yi == 1)
    fp = sum(ai for ai, yi in zip(a, y) if yi == 0)
    fn = sum(1 - ai for ai, yi in zip(a, y) if yi == 1)
    tn = sum(1 - ai for ai, yi in zip(a, y) if yi == 0)
    yt, pt = torch.tensor(y), torch.tensor(p, dtype=torch.float64)
    TP, FP, FN, TN = cm.soft_confusion_matrix(yt, pt, L=L)
    assert [float(TP[1]), float(FP[1]), float(FN[1]), float(TN[1])] == pytest.approx(
        [tp, fp, fn, tn], abs=1e-12
    )
    expected = {
        "precision": tp / (tp + fp),
        "recall": tp / (tp + fn),
        "f1": 2 * tp / (2 * tp + fp + fn),
        "jaccard": tp / (tp + fp + fn),
        "accuracy": (tp + tn) / 6,
        "balanced_accuracy": (tp / (tp + fn) + tn / (tn + fp)) / 2,
        "gmean": math.sqrt(tp / (tp + fn) * tn / (tn + fp)),
        "mcc": (tp * tn - fp * fn)
        / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)),
    }
    for name, value in expected.items():
        assert float(cm.METRICS[name](yt, pt, L=L)) == pytest.approx(value, abs=1e-12), name
    f2 = 5 * tp / (5 * tp + 4 * fn + fp)
    assert float(cm.fbeta(yt, pt, beta=2.0, L=L)) == pytest.approx(f2, abs=1e-12)
    spec = cm.confusion_metric(lambda tp, fp, fn, tn: tn / (tn + fp), yt, pt, L=L)
    assert float(spec) == pytest.approx(tn / (tn + fp), abs=1e-12)


def test_soft_multiclass_values_by_hand():
    y = [0, 1, 2, 1]
    P = [[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.3, 0.3, 0.4], [0.1, 0.1, 0.8]]
    L = 10.0
    soft = []
    for row in P:
        e = [math.exp(L * v / 2) for v in row]
        soft.append([v / sum(e) for v in e])
    f1s, supports, tps, fps, fns = [], [], [], [], []
    for k in range(3):
        tp = sum(s[k] for s, yi in zip(soft, y) if yi == k)
        fp = sum(s[k] for s, yi in zip(soft, y) if yi != k)
        fn = sum(1 - s[k] for s, yi in zip(soft, y) if yi == k)
        f1s.append(2 * tp / (2 * tp + fp + fn))
        supports.append(sum(yi == k for yi in y))
        tps.append(tp), fps.append(fp), fns.append(fn)
    yt, Pt = torch.tensor(y), torch.tensor(P, dtype=torch.float64)
    assert float(cm.f1(yt, Pt, average="macro", L=L)) == pytest.approx(np.mean(f1s), abs=1e-12)
    w = np.dot(f1s, supports) / sum(supports)
    assert float(cm.f1(yt, Pt, average="weighted", L=L)) == pytest.approx(w, abs=1e-12)
    micro = 2 * sum(tps) / (2 * sum(tps) + sum(fps) + sum(fns))
    assert float(cm.f1(yt, Pt, average="micro", L=L)) == pytest.approx(micro, abs=1e-12)
    assert float(cm.accuracy(yt, Pt, L=L)) == pytest.approx(sum(tps) / 4, abs=1e-12)


def test_soft_argmax_of_two_classes_is_the_approximation():
    p = torch.linspace(0, 1, 11, dtype=torch.float64)
    y = torch.tensor([0, 1] * 5 + [1])
    two = torch.stack([1 - p, p], 1)
    tp2 = cm.soft_confusion_matrix(y, two, L=30.0)[0]
    tp1 = cm.soft_confusion_matrix(y, p, L=30.0)[0]
    torch.testing.assert_close(tp1, tp2)


def test_approximate():
    p = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
    a = cm.approximate(p)
    assert float(a[1]) == 0.5
    assert float(a[0]) == pytest.approx(math.exp(-36.5), rel=1e-6)
    assert float(a[2]) == pytest.approx(1.0, abs=1e-15)


def test_no_approximation_uses_probabilities():
    y = torch.tensor([1, 0, 1])
    p = torch.tensor([0.8, 0.3, 0.4], dtype=torch.float64)
    assert float(cm.recall(y, p, L=None)) == pytest.approx(0.6)


# ----------------------------------------------------------- gradients
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("labels", ["mixed", "no_positives", "all_positives"])
def test_gradients_finite(dtype, value, labels):
    y = {"mixed": torch.tensor([0, 1, 0, 1, 0]),
         "no_positives": torch.zeros(5, dtype=torch.long),
         "all_positives": torch.ones(5, dtype=torch.long)}[labels]
    for name in list(cm.METRICS) + ["formula"]:
        p = torch.full((5,), value, dtype=dtype, requires_grad=True)
        if name == "formula":
            out = cm.confusion_metric(lambda tp, fp, fn, tn: tp / (tp + fp + 1), y, p)
        else:
            out = cm.METRICS[name](y, p)
        out.backward()
        assert torch.isfinite(out), (name, float(out))
        assert torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize("average", ["macro", "micro", "weighted"])
def test_multiclass_gradients_finite_with_absent_class(average):
    y = torch.tensor([0, 0, 1, 1])  # class 2 absent from the batch
    for P in [torch.full((4, 3), 1 / 3), torch.eye(3)[[0, 0, 1, 2]]]:
        for name in cm.METRICS:
            P_ = P.clone().double().requires_grad_(True)
            kwargs = {"average": average} if name in cm._AVERAGED else {}
            out = cm.METRICS[name](y, P_, **kwargs)
            out.backward()
            assert torch.isfinite(out) and torch.isfinite(P_.grad).all(), name


def test_no_positives_convention():
    y = torch.zeros(4, dtype=torch.long)
    p = torch.tensor([0.1, 0.2, 0.9, 0.3], dtype=torch.float64)
    assert float(cm.f1(y, p)) == 0.0
    assert float(cm.recall(y, p)) == 0.0
    # balanced accuracy averages the classes present: here the TNR only
    tnr = float(cm.soft_confusion_matrix(y, p)[0][0] / 4)
    assert float(cm.balanced_accuracy(y, p)) == pytest.approx(tnr)
    # a perfect all-negative prediction
    assert float(cm.precision(y, torch.zeros(4, dtype=torch.float64))) == pytest.approx(0.0)


# ------------------------------------------------------------- errors
def test_metric_errors():
    y = torch.tensor([0, 1, 2])
    P = torch.eye(3)
    with pytest.raises(ValueError, match=re.escape("average='binary' needs two classes; y_prob has 3 columns")):
        cm.f1(y, P)
    with pytest.raises(ValueError, match="`average` must be one of"):
        cm.f1(y, P, average="samples")
    with pytest.raises(ValueError, match=re.escape("`y_true` must hold labels in [0, 2)")):
        cm.f1(torch.tensor([0, 1, 2]), torch.rand(3))
    with pytest.raises(ValueError, match="same number of samples"):
        cm.f1(torch.tensor([0, 1]), torch.rand(3))
    with pytest.raises(ValueError, match="`L` must be a positive number or None"):
        cm.f1(torch.tensor([0, 1]), torch.rand(2), L=0)
    with pytest.raises(ValueError, match="`beta` must be a positive number"):
        cm.fbeta(torch.tensor([0, 1]), torch.rand(2), beta=-1)
    with pytest.raises(ValueError, match="`decision` must be one of"):
        cm.f1(y, P, average="macro", decision="max")
    with pytest.raises(ValueError, match=re.escape("`y_prob` must have shape")):
        cm.f1(y, torch.rand(3, 3, 1))
    with pytest.raises(ValueError, match="Unknown loss 'anyloss_f2'"):
        get_loss("anyloss_f2")


# ------------------------------------------------------------- losses
def test_losses_are_one_minus_metric_and_have_params():
    y = torch.tensor([0, 1, 1, 0, 1])
    p = torch.tensor([0.2, 0.7, 0.4, 0.6, 0.9], dtype=torch.float64)
    assert sorted(ANYLOSS_LOSSES) == sorted(f"anyloss_{m}" for m in cm.METRICS)
    for name, cls in ANYLOSS_LOSSES.items():
        assert LOSSES[name] is cls
        loss = get_loss(name)
        metric = cm.METRICS[name.removeprefix("anyloss_")]
        assert float(loss(p, y)) == pytest.approx(1 - float(metric(y, p)))
        assert loss.get_params()["L"] == 73.0
    loss = FBetaLoss(beta=2.0, L=20.0)
    assert loss.set_params(L=30.0).L == 30.0
    assert float(loss(p, y)) == pytest.approx(1 - float(cm.fbeta(y, p, beta=2.0, L=30.0)))
    formula = FormulaLoss(cm._jaccard)
    assert float(formula(p, y)) == pytest.approx(1 - float(cm.jaccard(y, p)))
    assert "L=30.0" in repr(loss)
    with pytest.raises(ValueError, match="`average` cannot be None"):
        F1Loss(average=None)(p, y)

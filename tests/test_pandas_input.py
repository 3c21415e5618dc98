"""Every public estimator takes pandas input without a warning.

pandas (copy-on-write) hands out read-only NumPy views of a DataFrame;
torch warns ("The given NumPy array is not writable") when such a view
becomes a tensor. Any warning here is an error. torch gives that warning
once per process, so ``torch.set_warn_always`` is on for these tests.
"""

import warnings

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from skmetric import (
    AnyLossClassifier,
    FrechetMeanPredictor,
    HyperbolicOneClass,
    MetricLearner,
    ProtoClassifier,
)
from skmetric.metrics import (
    alignment,
    ami,
    equal_error_rate,
    far_frr,
    few_shot_accuracy,
    map_at_r,
    mean_average_precision,
    mrr,
    nmi,
    opis,
    pair_roc_auc,
    precision_at_k,
    r_precision,
    recall_at_k,
    retrieval_report,
    uniformity,
)
from skmetric.neighbors import kneighbors

pd = pytest.importorskip("pandas")

METHODS = ("transform", "predict", "predict_proba", "decision_function", "score_samples", "score")

ESTIMATORS = [
    MetricLearner(max_epochs=2, random_state=0),
    MetricLearner(max_epochs=2, validation_fraction=0.25, validation_split="classes",
                  random_state=0),
    ProtoClassifier(max_epochs=2, random_state=0),
    AnyLossClassifier(max_epochs=2, validation_fraction=0.25, random_state=0),
    HyperbolicOneClass(max_epochs=2, random_state=0),
    FrechetMeanPredictor(LogisticRegression(max_iter=1000)),
]


@pytest.fixture(autouse=True)
def warn_always():
    before = torch.is_warn_always_enabled()
    torch.set_warn_always(True)
    yield
    torch.set_warn_always(before)


def _frame(dtype):
    rng = np.random.RandomState(0)
    y = np.repeat(np.arange(4), 20)
    X = rng.normal(size=(4, 6))[y] * 3 + rng.normal(size=(80, 6))
    X = pd.DataFrame(X.astype(dtype), columns=[f"f{i}" for i in range(6)])
    return X, pd.Series(y, name="label")


def test_frames_are_read_only():
    # the premise: without a copy, the array a DataFrame hands out is read-only
    X, _ = _frame(np.float32)
    assert not X.to_numpy().flags.writeable


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_estimators_take_frames_without_warning(est, dtype):
    from skmetric import StartingModelKeptWarning

    X, y = _frame(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # a short fit on easy data may keep its starting model: that says so
        # by design (the honest-fit warning), it is not about the input
        warnings.simplefilter("ignore", StartingModelKeptWarning)
        if isinstance(est, HyperbolicOneClass):
            est.fit(X[y == 0])
        else:
            est.fit(X, y)
        for method in METHODS:
            if hasattr(est, method):
                if method == "score" and isinstance(est, HyperbolicOneClass):
                    continue
                out = (getattr(est, method)(X, y) if method == "score"
                       else getattr(est, method)(X))
                assert np.all(np.isfinite(out))
        if isinstance(est, ProtoClassifier):
            new = pd.DataFrame(X.to_numpy()[:5] + 10, columns=X.columns)
            est.add_classes(new, pd.Series([9] * 5))
            assert 9 in est.predict(new).tolist()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_metrics_take_frames_without_warning(dtype):
    X, y = _frame(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for metric in (recall_at_k, precision_at_k, map_at_r, mean_average_precision, mrr,
                       r_precision, nmi, ami, alignment, pair_roc_auc, equal_error_rate, opis):
            # the same value as on a writable copy of the array
            expected = metric(X.to_numpy().copy(), y.to_numpy())
            assert metric(X, y) == pytest.approx(expected), metric.__name__
        assert uniformity(X) == pytest.approx(uniformity(X.to_numpy().copy()))
        far_frr(X, y, 0.5)
        retrieval_report(X, y)
        dist, ind = kneighbors(X, X, n_neighbors=3)
        assert ind.shape == (80, 3)
        few_shot_accuracy(None, X, y, n_way=2, n_shot=1, n_query=3, n_episodes=5,
                          random_state=0)

"""HyperbolicOneClass.

Its building blocks: tests/geometry/test_poincare.py, tests/nn/test_hyp_oc_net.py,
tests/losses/test_hyp_oc_losses.py.
"""

import math
import pickle
import re

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from torch import nn

from skmetric._hyperbolic_oc import AUTO_OFFSET, HyperbolicOneClass
from skmetric._training import TrainingDivergedError


# ---------------------------------------------------------------- estimator
FAST = dict(max_epochs=5, batch_size=32, hidden_sizes=(32,), random_state=0)


@pytest.fixture(scope="module")
def digit0():
    X, y = load_digits(return_X_y=True)
    X_tr, X_in = train_test_split(X[y == 0], train_size=0.7, random_state=0)
    X_test = np.vstack([X_in, X[y != 0]])
    is_inlier = np.r_[np.ones(len(X_in)), np.zeros((y != 0).sum())]
    return X_tr, X_test, is_inlier


def test_quality_digit_zero(digit0):
    X_tr, X_test, is_inlier = digit0
    det = HyperbolicOneClass(max_epochs=20, random_state=0).fit(X_tr)
    assert roc_auc_score(is_inlier, det.score_samples(X_test)) > 0.98


@pytest.mark.slow
def test_quality_all_digits():
    X, y = load_digits(return_X_y=True)
    aucs = []
    for d in range(10):
        tr, te = train_test_split(np.flatnonzero(y == d), train_size=0.7, random_state=0)
        det = HyperbolicOneClass(random_state=0).fit(X[tr])
        X_test = np.vstack([X[te], X[y != d]])
        aucs.append(roc_auc_score(np.r_[np.ones(te.size), np.zeros((y != d).sum())],
                                  det.score_samples(X_test)))
    # the benchmark splits: HyperbolicOneClass 0.986, OneClassSVM(gamma="scale") 0.977
    assert np.mean(aucs) > 0.97


def test_quality_breast_cancer():
    # heavy-tailed, strongly correlated features on very different scales:
    # the benchmark's weak spot before whitening + the distance head (0.74)
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    tr, te = train_test_split(np.flatnonzero(y == 1), train_size=0.7, random_state=0)
    det = HyperbolicOneClass(random_state=0).fit(X[tr])
    X_test = np.vstack([X[te], X[y == 0]])
    is_inlier = np.r_[np.ones(te.size), np.zeros((y == 0).sum())]
    # benchmark split: 0.963; OneClassSVM(gamma="scale") 0.942, LOF 0.955
    assert roc_auc_score(is_inlier, det.score_samples(X_test)) > 0.95


@pytest.mark.parametrize("options", [
    dict(head="mlr"), dict(standardize=True), dict(standardize=False), dict(c=0.0),
])
def test_heads_and_scalings(digit0, options):
    X_tr, X_test, is_inlier = digit0
    det = HyperbolicOneClass(**options, **FAST).fit(X_tr)
    scores = det.score_samples(X_test)
    assert np.isfinite(scores).all() and np.all(scores <= 0)
    assert roc_auc_score(is_inlier, scores) > 0.9


def test_whitening_starts_from_mahalanobis(digit0):
    # untrained (lr ~ 0, Euclidean limit c=0): the distance head's score ranks like the Mahalanobis
    # distance under the Ledoit-Wolf covariance of the standardised features
    from scipy.stats import spearmanr
    from sklearn.covariance import LedoitWolf

    X_tr, X_test, _ = digit0
    det = HyperbolicOneClass(
        c=0.0, n_components=64, clip_radius=None, lr=1e-12, max_epochs=1, random_state=0
    ).fit(X_tr)
    mean, std = X_tr.mean(0), X_tr.std(0)
    std[std <= 1e-12 * np.abs(X_tr).max()] = 1.0
    lw = LedoitWolf(assume_centered=True).fit((X_tr - mean) / std)
    maha = lw.mahalanobis((X_test - mean) / std - lw.location_)
    rho = spearmanr(-det.score_samples(X_test), maha).statistic
    assert rho > 0.99


def test_outlier_api(digit0):
    X_tr, X_test, _ = digit0
    det = HyperbolicOneClass(**FAST).fit(X_tr)
    assert det.offset_ == AUTO_OFFSET == math.log(0.5)
    scores = det.score_samples(X_test)
    assert scores.dtype == np.float64 and np.all(scores <= 0)
    np.testing.assert_allclose(det.decision_function(X_test), scores - det.offset_)
    pred = det.predict(X_test)
    assert set(np.unique(pred)) <= {-1, 1}
    np.testing.assert_array_equal(pred, np.where(scores - det.offset_ < 0, -1, 1))
    assert det.n_features_in_ == 64 and det.embedding_size_ == 64


def test_contamination_sets_offset(digit0):
    X_tr = digit0[0]
    det = HyperbolicOneClass(contamination=0.1, **FAST).fit(X_tr)
    frac = np.mean(det.predict(X_tr) == -1)
    assert abs(frac - 0.1) <= 1.0 / len(X_tr) + 1e-9
    np.testing.assert_array_equal(
        HyperbolicOneClass(contamination=0.1, **FAST).fit_predict(X_tr), det.predict(X_tr)
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transform_in_the_ball(digit0, dtype):
    X_tr, X_test, _ = digit0
    for c in (0.1, 2.0):
        det = HyperbolicOneClass(c=c, **FAST).fit(X_tr.astype(dtype))
        Z = det.transform(X_test.astype(dtype))
        assert Z.dtype == dtype and Z.shape == (len(X_test), 64)
        assert np.all(np.linalg.norm(Z.astype(np.float64), axis=1) * math.sqrt(c) < 1)
        assert det.ball_.c == c


def test_reproducible_and_pickles(digit0):
    X_tr, X_test, _ = digit0
    a = HyperbolicOneClass(**FAST).fit(X_tr).score_samples(X_test)
    det = HyperbolicOneClass(**FAST).fit(X_tr)
    b = det.score_samples(X_test)
    np.testing.assert_array_equal(a, b)
    det2 = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(det2.score_samples(X_test), b)
    other = HyperbolicOneClass(**{**FAST, "random_state": 1}).fit(X_tr).score_samples(X_test)
    assert not np.array_equal(a, other)


def test_feature_names(digit0):
    pd = pytest.importorskip("pandas")
    X_tr = pd.DataFrame(digit0[0], columns=[f"px{i}" for i in range(64)])
    det = HyperbolicOneClass(**FAST).fit(X_tr)
    assert list(det.feature_names_in_) == list(X_tr.columns)
    assert det.get_feature_names_out()[0] == "hyperboliconeclass0"


def test_bad_inputs(digit0):
    X_tr = digit0[0]
    det = HyperbolicOneClass(**FAST)
    X_nan = X_tr.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        det.fit(X_nan)
    X_inf = X_tr.copy()
    X_inf[0, 0] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        det.fit(X_inf)
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        det.fit(np.zeros((0, 64)))
    det.fit(X_tr)
    with pytest.raises(ValueError, match="X has 3 features, but HyperbolicOneClass is expecting 64"):
        det.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=re.escape("The 'contamination' parameter")):
        HyperbolicOneClass(contamination=0.7).fit(X_tr)
    with pytest.raises(ValueError, match=re.escape("The 'c' parameter")):
        HyperbolicOneClass(c=-1.0).fit(X_tr)


def test_user_encoder_and_bad_output(digit0):
    X_tr, X_test, _ = digit0
    enc = nn.Sequential(nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 8))
    before = [p.detach().clone() for p in enc.parameters()]
    det = HyperbolicOneClass(enc, **FAST).fit(X_tr)
    assert det.embedding_size_ == 8 and det.transform(X_test).shape == (len(X_test), 8)
    assert all(torch.equal(p, q) for p, q in zip(before, enc.parameters()))
    with pytest.raises(ValueError, match=re.escape("`encoder` must output a 2-D tensor")):
        HyperbolicOneClass(nn.Flatten(0), **FAST).fit(X_tr)


@pytest.mark.parametrize("c", [0.0, 1.0])
def test_edge_of_the_ball_training_is_finite(digit0, c):
    # no clipping and a huge encoder gain: every point sits at the ball's edge
    X_tr, X_test, _ = digit0

    class Loud(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(64, 4)

        def forward(self, x):
            return 1e4 * self.lin(x)

    det = HyperbolicOneClass(Loud(), c=c, clip_radius=None, **FAST).fit(X_tr)
    assert np.isfinite(det.history_[:, "train_loss"]).all()
    assert np.isfinite(det.score_samples(X_test)).all()


def test_nan_guard_stops_divergence(digit0):
    X_tr = digit0[0]
    det = HyperbolicOneClass(lr=1e30, grad_clip=None, optimizer="sgd", **FAST)
    with pytest.raises(TrainingDivergedError, match="HyperbolicOneClass: the training loss"):
        det.fit(X_tr)
    assert not hasattr(det, "offset_")


def test_validation_fraction_and_options(digit0):
    X_tr, X_test, _ = digit0
    det = HyperbolicOneClass(
        validation_fraction=0.2, pc_distance="arctan", pc_weight=0.5, momentum=0.0, grad_clip=None,
        **FAST,
    ).fit(X_tr)
    assert "valid_score" in det.history_[-1]
    assert np.isfinite(det.score_samples(X_test)).all()

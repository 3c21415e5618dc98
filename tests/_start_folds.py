"""Shared by the tests of fits that choose (epoch, weight) on class folds
(``start_interpolation``, ``start_mixing``): data, fast settings, a
loop-written reference of the every-fold rule, and a fit that records what
the folds chose."""

import warnings

import numpy as np
import pytest

from skmetric import MetricLearner, StartingModelKeptWarning

FAST = dict(max_epochs=3, hidden_sizes=(16,), batch_size=32, lr=3e-3,
            loss="multi_similarity", random_state=0)


def make_data(n_classes=6, n_per_class=20, seed=0, spread=0.5, noise=2.0, n_noise=5):
    """Classes apart in 3 features (within-class spread ``spread``), and
    ``n_noise`` features of spread ``noise`` shared by every class."""
    rng = np.random.RandomState(seed)
    centres = rng.normal(scale=1.5, size=(n_classes, 3))
    y = np.repeat(np.arange(n_classes), n_per_class)
    X = np.hstack([centres[y] + rng.normal(scale=spread, size=(y.size, 3)),
                   rng.normal(scale=noise, size=(y.size, n_noise))])
    return X.astype(np.float32), y


def choose_loop(folds):
    """(epoch, weight index) by loops over folds[k][j][e] (start: [k][*][0])."""
    n_folds, n_weights, length = len(folds), len(folds[0]), len(folds[0][0])
    mean = [[sum(folds[k][j][e] for k in range(n_folds)) / n_folds for e in range(length)]
            for j in range(n_weights)]
    ok = [(e, j) for e in range(1, length) for j in range(n_weights)
          if mean[j][e] > mean[0][0]
          and all(folds[k][j][e] > folds[k][0][0] for k in range(n_folds))]
    if not ok:
        return 0, n_weights - 1
    top = max(mean[j][e] for e, j in ok)
    return max((e, j) for e, j in ok if mean[j][e] >= top)


def fit_twice_recording_choice(**extra):
    """Two class-fold fits of the same MetricLearner on 5 of 6 classes, and
    what ``choose_epoch_and_weight`` received and returned in the first."""
    import skmetric._metric_learner as ml

    X, y = make_data(n_classes=6)
    seen = y < 5
    captured = {}
    original = ml.choose_epoch_and_weight

    def spy(curves, tolerance, folds=None):
        captured["curves"], captured["folds"] = curves, folds
        captured["choice"] = original(curves, tolerance, folds)
        return captured["choice"]

    params = dict(FAST, max_epochs=6, validation_fraction=0.4, validation_split="class_folds",
                  **extra)
    with warnings.catch_warnings(), pytest.MonkeyPatch.context() as mp:
        warnings.simplefilter("ignore", StartingModelKeptWarning)
        mp.setattr(ml, "choose_epoch_and_weight", spy)
        est = MetricLearner(**params).fit(X[seen], y[seen])
        again = MetricLearner(**params).fit(X[seen], y[seen])
    return est, again, captured, X


def check_start_weights_validation(param, attr, **fast):
    """The checks of a start-weights parameter (``start_interpolation``,
    ``start_mixing``; one validation, ``_start_weights``): it needs class
    folds, takes a non-empty tuple of weights in (0, 1] and ``(1.0,)``
    keeps the trained model (``attr`` = 1.0) without folds."""
    X, y = make_data()
    with pytest.raises(ValueError, match="need validation_split='class_folds'"):
        MetricLearner(**{param: (0.5, 1.0)}, **fast).fit(X, y)
    folds = dict(validation_fraction=0.4, validation_split="class_folds")
    for bad in ((), (0.0, 1.0), (1.5,), ("a",)):
        with pytest.raises(ValueError, match=param):
            MetricLearner(**{param: bad}, **folds, **fast).fit(X, y)
    est = MetricLearner(**{param: [1.0]}, **fast).fit(X, y)
    assert getattr(est, attr) == 1.0

"""Tiny fitted instances of every torch estimator, shared by the reliability tests.

``CASES`` maps a name to ``(make, fit_args, calls)``: ``make(**params)``
builds the unfitted estimator (tiny network, 1-3 epochs), ``fit_args``
feeds ``fit``, and ``calls`` lists ``(method, X)`` pairs whose outputs must
be reproducible.
"""

import numpy as np

from skmetric import (
    TLDR,
    AnyLossClassifier,
    FrechetMeanPredictor,
    HyperbolicOneClass,
    MetricLearner,
    PairMetricLearner,
    ProtoClassifier,
    TripletMetricLearner,
)


def _data():
    rng = np.random.RandomState(0)
    centers = rng.normal(scale=4.0, size=(4, 6))
    y = np.repeat(np.arange(4), 12)
    X = centers[y] + rng.normal(size=(48, 6))
    same = np.array([rng.choice(np.flatnonzero(y == c)) for c in y])
    other = np.array([rng.choice(np.flatnonzero(y != c)) for c in y])
    return X, y, same, other


X, Y, SAME, OTHER = _data()
PAIRS = np.concatenate([np.stack([X, X[SAME]], 1), np.stack([X, X[OTHER]], 1)])
PAIR_Y = np.r_[np.ones(len(X)), -np.ones(len(X))].astype(int)
TRIPLETS = np.stack([X, X[SAME], X[OTHER]], 1)
# 4 classes on a line: the Fréchet mean can fall between observed classes
LINE = np.abs(np.subtract.outer(np.arange(4.0), np.arange(4.0)))

SMALL = dict(max_epochs=3, batch_size=16, random_state=0)

CASES = {
    "MetricLearner": (
        lambda **p: MetricLearner(hidden_sizes=(16,), **{**SMALL, **p}),
        (X, Y), [("transform", X)]),
    "MetricLearner-valid": (
        lambda **p: MetricLearner(hidden_sizes=(16,), validation_fraction=0.25,
                                  lr=0.01, **{**SMALL, **p}),
        (X, Y), [("transform", X)]),
    "ProtoClassifier": (
        lambda **p: ProtoClassifier(hidden_sizes=(16,), n_shot=2, n_query=2,
                                    validation_fraction=None, **{**SMALL, **p}),
        (X, Y), [("transform", X), ("predict_proba", X), ("predict", X)]),
    "FrechetMeanPredictor": (
        lambda **p: FrechetMeanPredictor(
            ProtoClassifier(hidden_sizes=(16,), n_shot=2, n_query=2,
                            validation_fraction=None, **{**SMALL, **p}),
            label_metric=LINE),
        (X, Y), [("predict", X), ("frechet_scores", X)]),
    "HyperbolicOneClass": (
        lambda **p: HyperbolicOneClass(hidden_sizes=(16,), **{**SMALL, **p}),
        (X[Y == 0],), [("score_samples", X), ("decision_function", X), ("predict", X)]),
    "AnyLossClassifier": (
        lambda **p: AnyLossClassifier(hidden_sizes=(16,), **{**SMALL, **p}),
        (X, Y % 2), [("predict_proba", X), ("predict", X)]),
    "PairMetricLearner": (
        lambda **p: PairMetricLearner(hidden_sizes=(16,), validation_fraction=None,
                                      **{**SMALL, **p}),
        (PAIRS, PAIR_Y), [("transform", X), ("decision_function", PAIRS)]),
    "TripletMetricLearner": (
        lambda **p: TripletMetricLearner(hidden_sizes=(16,), validation_fraction=None,
                                         **{**SMALL, **p}),
        (TRIPLETS,), [("transform", X), ("decision_function", TRIPLETS),
                      ("predict", TRIPLETS)]),
    "TLDR": (
        lambda **p: TLDR(n_neighbors=3, projector_sizes=(16,), **{**SMALL, **p}),
        (X,), [("transform", X)]),
}


def fitted(name, **params):
    """A fitted instance of case ``name``."""
    make, fit_args, _ = CASES[name]
    return make(**params).fit(*fit_args)


def outputs(est, name):
    """``{method: output array}`` of the case's calls on ``est``."""
    return {m: np.asarray(getattr(est, m)(data)) for m, data in CASES[name][2]}

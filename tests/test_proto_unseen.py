"""ProtoClassifier on classes never seen in training: validation by rotating class folds."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skmetric import ProtoClassifier, StartingModelKeptWarning
from skmetric._training._class_folds import (
    ReplayScore,
    choose_epoch,
    class_folds,
    mean_curve,
)
from skmetric.metrics.few_shot import few_shot_accuracy

FAST = dict(max_epochs=8, patience=3, hidden_sizes=(64,), random_state=0)
# the untrained control: `lr` must be > 0, and 1e-12 leaves float32 weights
# of the order of 1 unchanged (the MLP branch's zero last layer moves ~1e-11)
LR0 = dict(lr=1e-12, validation_fraction=None)


def _digits(n_per_class=60):
    """Digits 0-4 (``n_per_class`` rows each) to train on, all of 5-9 to test."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    rng = np.random.RandomState(0)
    seen = np.concatenate(
        [rng.permutation(np.flatnonzero(y == c))[:n_per_class] for c in range(5)]
    )
    unseen = y >= 5
    return X[seen], y[seen], X[unseen], y[unseen]


def _subspace_classes(seed=0, n_per_class=60):
    """10 classes that differ in 3 informative features, hidden among 12
    high-variance noise features: raw nearest centroid is weak, and what
    training on classes 0-4 learns (ignore the noise) transfers to 5-9."""
    rng = np.random.RandomState(seed)
    centers = rng.normal(scale=1.0, size=(10, 3))
    y = np.repeat(np.arange(10), n_per_class)
    informative = centers[y] + rng.normal(scale=0.25, size=(y.size, 3))
    noise = rng.normal(scale=2.5, size=(y.size, 12))
    X = np.hstack([informative, noise])
    seen = y < 5
    return X[seen], y[seen], X[~seen], y[~seen]


def _five_shot(model, X, y, n_episodes=100):
    return few_shot_accuracy(model, X, y, 5, 5, 15, n_episodes, 0)[0]


TINY = dict(max_epochs=2, patience=1, hidden_sizes=(16,), n_shot=2, n_query=2,
            random_state=0)


@pytest.mark.parametrize("n_classes, fraction, resolved", [
    (5, 0.1, "class_folds"),   # 3 folds of 2 held-out classes
    (5, 0.5, "class_folds"),   # round(2.5) = 2 held out: still 3 folds
    (5, 0.6, "class_folds"),   # 3 held out: 2 rotating folds + 1 overlapping
    (4, 0.1, "class_folds"),   # 2 rotating folds of 2 + 1 overlapping
    (3, 0.1, "classes"),       # no fold leaves 2 classes to train on
    # ("classes" then trains without validation)
    (5, None, "classes"),      # nothing held out
])
def test_auto_split_resolves_and_equals_the_spelled_out_split(n_classes, fraction, resolved):
    Xs, ys, _, _ = _subspace_classes(n_per_class=12)
    keep = ys < n_classes
    X, y = Xs[keep], ys[keep]
    params = dict(TINY, validation_fraction=fraction)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        auto = ProtoClassifier(**params).fit(X, y)
        spelled = ProtoClassifier(validation_split=resolved, **params).fit(X, y)
        other = "classes" if resolved == "class_folds" else "class_folds"
        if fraction is not None:
            control = ProtoClassifier(validation_split=other, **params).fit(X, y)
    assert ProtoClassifier().validation_split == "auto"  # the default
    assert auto.validation_split_ == resolved
    assert spelled.validation_split_ == resolved
    np.testing.assert_array_equal(auto.transform(X), spelled.transform(X))
    np.testing.assert_array_equal(auto.prototypes_, spelled.prototypes_)
    assert auto.best_epoch_ == spelled.best_epoch_
    assert auto.n_epochs_ == spelled.n_epochs_
    assert [r.get("valid_score") for r in auto.history_] == [
        r.get("valid_score") for r in spelled.history_
    ]
    if fraction is not None:
        # the other split gives another fit: the equality above is not
        # one that any split would pass
        assert control.validation_split_ == other
        assert not (
            control.n_epochs_ == auto.n_epochs_
            and np.array_equal(control.transform(X), auto.transform(X))
        )


def test_class_folds_rotate_without_repeats():
    rng = np.random.RandomState(0)
    folds = class_folds(np.arange(5), 2, 5, rng)
    assert len(folds) == 3  # ceil(5 / 2)
    assert all(f.size == 2 and np.unique(f).size == 2 for f in folds)
    assert set(np.concatenate(folds)) == set(range(5))  # every class held out
    folds = class_folds(np.arange(13), 2, 5, rng)
    assert len(folds) == 5  # capped
    held = np.concatenate(folds)
    assert np.unique(held).size == 10  # no class held out twice


def test_mean_curve_and_replay():
    curves = [[0.5, 0.7, 0.6, 0.9], [0.3, 0.5, 0.8], [0.4, 0.4, 0.4, 0.4, 0.4]]
    # a curve that stopped early counts with its last score afterwards
    expected = [np.mean([c[min(e, len(c) - 1)] for c in curves]) for e in range(5)]
    np.testing.assert_allclose(mean_curve(curves), expected)
    replay = ReplayScore(expected)
    got = [replay(None, None, None) for _ in range(6)]
    np.testing.assert_allclose(got[:5], expected)
    assert np.isnan(got[5])


def _choose_epoch_loop(curve, tol):
    best = 0
    for e in range(1, len(curve)):
        if curve[e] > curve[0] and curve[e] >= max(curve) - tol and max(curve) > curve[0]:
            best = e
    return best


@pytest.mark.parametrize("curve", [
    [0.9, 0.8, 0.85, 0.7],          # nothing beats the start: 0
    [0.5, 0.7, 0.69, 0.6, 0.685],   # latest within 0.02 of the best
    [0.5, 0.51, 0.52, 0.4],         # within tolerance but must beat the start
    [0.5, 0.5, 0.5],                # a tie with the start is not a gain
])
def test_choose_epoch_matches_loop(curve):
    assert choose_epoch(curve, 0.02) == _choose_epoch_loop(curve, 0.02)
    assert choose_epoch([0.5, 0.7, 0.69, 0.6, 0.685], 0.02) == 4


@pytest.mark.slow
def test_class_folds_keep_start_where_training_hurts_unseen_classes():
    # digits 0-4 -> 5-9: training on five digits moves the embedding away
    # from what separates the other five (the folds' held-out curves fall
    # after epoch 0), so the folds must keep the starting embedding
    # (small: 60 rows per seen digit, 4 epochs; the default split resolves
    # to the class folds here)
    Xs, ys, Xu, yu = _digits(n_per_class=60)
    params = dict(max_epochs=4, patience=2, hidden_sizes=(32,), random_state=0)
    with pytest.warns(StartingModelKeptWarning):
        clf = ProtoClassifier(**params).fit(Xs, ys)
    assert clf.validation_split_ == "class_folds"
    assert clf.best_epoch_ == 0
    control = ProtoClassifier(**LR0, **params).fit(Xs, ys)
    np.testing.assert_allclose(clf.transform(Xu), control.transform(Xu), atol=1e-6)
    raw = _five_shot(None, Xu, yu, n_episodes=50)
    assert _five_shot(clf, Xu, yu, n_episodes=50) >= raw - 0.01
    # the control: training for as many epochs without the folds is worse
    # (0.77 against 0.89 when written)
    trained = ProtoClassifier(validation_fraction=None, **params).fit(Xs, ys)
    assert _five_shot(trained, Xu, yu, n_episodes=50) < raw - 0.05


@pytest.mark.slow
def test_class_folds_train_where_training_transfers():
    Xs, ys, Xu, yu = _subspace_classes()
    params = dict(FAST, lr_schedule="constant")
    clf = ProtoClassifier(validation_split="class_folds", **params).fit(Xs, ys)
    assert clf.best_epoch_ > 0
    scores = [row["valid_score"] for row in clf.history_]
    assert clf.baseline_score_ == scores[0]
    assert clf.best_score_ == scores[clf.best_epoch_] > scores[0]
    assert clf.best_score_ >= max(scores) - 0.02
    control = ProtoClassifier(**LR0, **params).fit(Xs, ys)
    assert _five_shot(clf, Xu, yu) > _five_shot(control, Xu, yu) + 0.1
    # the kept weights are those of training on every class for best_epoch_
    # epochs (same seed, constant lr): the fold fits only chose the budget
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StartingModelKeptWarning)
        refit = ProtoClassifier(
            validation_fraction=None, **dict(params, max_epochs=clf.best_epoch_)
        ).fit(Xs, ys)
    np.testing.assert_array_equal(clf.transform(Xu), refit.transform(Xu))


def test_class_folds_too_few_classes_keep_start():
    # 3 classes: holding out 2 leaves 1 to train on, no fold is possible
    Xs, ys, Xu, _ = _subspace_classes(n_per_class=20)
    keep = ys < 3
    with pytest.warns(UserWarning, match="no evidence that training transfers"):
        clf = ProtoClassifier(validation_split="class_folds", **FAST).fit(
            Xs[keep], ys[keep]
        )
    assert clf.best_epoch_ == 0 and clf.baseline_score_ is None
    control = ProtoClassifier(**LR0, **FAST).fit(Xs[keep], ys[keep])
    np.testing.assert_allclose(clf.transform(Xu), control.transform(Xu), atol=1e-6)


@pytest.mark.parametrize("n_classes, fraction, layout", [
    (3, 0.1, None),            # 2 held out leave 1 to train on
    (4, 0.1, (2, 3, True)),    # 2 rotating folds + 1 overlapping
    (5, 0.1, (2, 3, False)),   # 3 rotating folds
    (5, 0.6, (3, 3, True)),    # 3 held out: 2 rotating folds + 1 overlapping
    (5, 0.8, None),            # 4 held out leave 1 to train on
    (12, 0.1, (2, 5, False)),  # capped at MAX_FOLDS
])
def test_fold_layout_and_groups(n_classes, fraction, layout):
    from skmetric._proto import _fold_layout, _held_out_groups

    assert _fold_layout(n_classes, fraction) == layout
    for seed in range(20):
        groups = _held_out_groups(np.arange(n_classes), fraction, np.random.RandomState(seed))
        if layout is None:
            assert groups is None
            continue
        n_valid, n_folds, overlapping = layout
        assert len(groups) == n_folds
        assert len({tuple(g) for g in groups}) == n_folds  # distinct groups
        assert all(g.size == n_valid and np.unique(g).size == n_valid for g in groups)
        assert all(n_classes - g.size >= 2 for g in groups)  # 2 classes train
        if n_folds * n_valid >= n_classes:  # (not capped) every class held out
            assert set(np.concatenate(groups)) == set(range(n_classes))
        rotating = class_folds(np.arange(n_classes), n_valid, 5, np.random.RandomState(seed))
        if overlapping:
            # the rotating folds, then distinct groups drawn at random
            assert len(rotating) < n_folds
            for g, r in zip(groups, rotating):
                np.testing.assert_array_equal(g, r)
        else:
            # exactly the rotating folds (the same draws as before)
            assert len(groups) == len(rotating)
            for g, r in zip(groups, rotating):
                np.testing.assert_array_equal(g, r)


def _patched_folds(monkeypatch, folds, overlapping):
    folds = np.asarray(folds, dtype=np.float64)

    def fake(self, X, y_enc, rng):
        return folds.mean(axis=0), [folds.shape[1] - 1] * len(folds), folds, overlapping

    monkeypatch.setattr(ProtoClassifier, "_fold_curve", fake)


# the mean gains at epoch 2 (0.61 > 0.5), one fold does not (0.48 < 0.5)
_SPLIT_FOLDS = [[0.5, 0.6, 0.7], [0.5, 0.55, 0.65], [0.5, 0.45, 0.48]]


def test_overlapping_folds_need_a_gain_in_every_fold(monkeypatch):
    Xs, ys, Xu, _ = _subspace_classes(n_per_class=12)
    keep = ys < 4
    params = dict(TINY, validation_split="class_folds")
    _patched_folds(monkeypatch, _SPLIT_FOLDS, overlapping=True)
    with pytest.warns(StartingModelKeptWarning, match="starting embedding was kept"):
        clf = ProtoClassifier(**params).fit(Xs[keep], ys[keep])
    assert clf.best_epoch_ == 0
    assert clf.baseline_score_ == 0.5 and clf.best_score_ == 0.5
    control = ProtoClassifier(**LR0, **TINY).fit(Xs[keep], ys[keep])
    np.testing.assert_allclose(clf.transform(Xu), control.transform(Xu), atol=1e-6)
    # rotating folds (no class held out twice) keep the mean-curve rule:
    # the same curves train for 2 epochs
    _patched_folds(monkeypatch, _SPLIT_FOLDS, overlapping=False)
    rotating = ProtoClassifier(**params).fit(Xs[keep], ys[keep])
    assert rotating.best_epoch_ == 2 and rotating.n_epochs_ == 2
    assert not np.allclose(rotating.transform(Xu), control.transform(Xu), atol=1e-4)
    # every fold gaining at epoch 2 trains for 2 epochs with overlapping folds too
    _patched_folds(monkeypatch, [[0.5, 0.6, 0.7], [0.5, 0.55, 0.65], [0.5, 0.45, 0.52]],
                   overlapping=True)
    assert ProtoClassifier(**params).fit(Xs[keep], ys[keep]).best_epoch_ == 2


@pytest.mark.slow
def test_four_classes_folds_train_where_training_transfers():
    # 4 training classes (marketing's case in docs/proto.md): the default
    # split runs 3 overlapping folds of 2 held-out classes and, where
    # training transfers, trains and beats the untrained control
    Xs, ys, Xu, yu = _subspace_classes()
    keep = ys < 4
    params = dict(FAST, lr_schedule="constant")
    clf = ProtoClassifier(**params).fit(Xs[keep], ys[keep])
    assert clf.validation_split_ == "class_folds"
    assert clf.best_epoch_ > 0
    control = ProtoClassifier(**LR0, **params).fit(Xs[keep], ys[keep])
    assert _five_shot(clf, Xu, yu) > _five_shot(control, Xu, yu) + 0.05

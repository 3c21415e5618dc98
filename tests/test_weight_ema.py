"""Weight averaging (``ema_decay``): an exponential moving average of the weights.

The references are written as loops here: a fit without averaging records
the parameters after every optimisation step (averaging must not change the
trained trajectory, only what is validated and kept), and the EMA of those
steps is computed with the formula of the docstring.
"""

import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from skmetric import MetricLearner, StartingModelKeptWarning
from skmetric._training._callbacks import WeightEMA


class _Record(Callback):
    """Parameters of the module after every training step and every epoch."""

    def initialize(self):
        self.start, self.steps, self.epochs = None, [], []
        return self

    def on_train_begin(self, net, **kwargs):
        self.start = self._params(net)

    def _params(self, net):
        return [p.detach().clone() for p in net.module_.parameters()]

    def on_batch_end(self, net, training=None, **kwargs):
        if training:
            self.steps.append(self._params(net))

    def on_epoch_end(self, net, **kwargs):
        self.epochs.append(self._params(net))


def _loop_ema(start, steps, decay):
    avg = [p.clone() for p in start]
    for params in steps:
        avg = [decay * a + (1 - decay) * p for a, p in zip(avg, params)]
    return avg


def _params(est):
    return [p.detach().clone() for p in est.module_.parameters()]


def _data(seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(6), 20)
    X = rng.normal(scale=2.0, size=(6, 8))[y] + rng.normal(size=(y.size, 8))
    return X.astype(np.float32), y


def _noisy_data(seed=0):
    # 3 weakly informative features and 6 of noise: validation peaks early
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(6), 20)
    X = np.hstack([rng.normal(scale=0.7, size=(6, 3))[y] + rng.normal(size=(y.size, 3)),
                   rng.normal(scale=2, size=(y.size, 6))])
    return X.astype(np.float32), y


PARAMS = dict(loss="multi_similarity", hidden_sizes=(16,), batch_size=32, lr=1e-2,
              max_epochs=4, random_state=0)


def test_ema_weights_equal_a_loop_written_ema_of_the_steps():
    X, y = _data()
    plain = MetricLearner(ema_decay=None, callbacks=[("record", _Record())], **PARAMS).fit(X, y)
    record = dict(plain.net_.callbacks_)["record"]
    steps = record.steps
    assert len(steps) >= 8
    ema = MetricLearner(ema_decay=0.9, **PARAMS).fit(X, y)
    expected = _loop_ema(record.start, steps, 0.9)
    fitted = _params(ema)
    for got, want in zip(fitted, expected):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    # ...and they are not the last step's weights (nor the start's)
    assert max(float((g - s).abs().max()) for g, s in zip(fitted, steps[-1])) > 1e-3
    assert max(float((g - s).abs().max())
               for g, s in zip(fitted, record.start)) > 1e-3


def test_restored_weights_are_the_averaged_weights_of_the_best_epoch():
    X, y = _noisy_data()
    params = dict(PARAMS, max_epochs=12, lr=3e-2, patience=None, validation_fraction=0.3)
    plain = MetricLearner(ema_decay=None, callbacks=[("record", _Record())], **params).fit(X, y)
    record = dict(plain.net_.callbacks_)["record"]
    steps = record.steps
    ema = MetricLearner(ema_decay=0.8, callbacks=[("record", _Record())], **params).fit(X, y)
    epochs = dict(ema.net_.callbacks_)["record"].epochs
    # the data was chosen so that the averaged model peaks before the end
    assert 0 < ema.best_epoch_ < ema.n_epochs_ == 12
    best = epochs[ema.best_epoch_ - 1]  # what the module held at that epoch's end
    for got, want in zip(_params(ema), best):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    # that is the EMA of the steps up to the end of the best epoch
    per_epoch = len(steps) // plain.n_epochs_
    expected = _loop_ema(record.start, steps[:ema.best_epoch_ * per_epoch], 0.8)
    for got, want in zip(_params(ema), expected):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    # and not the last epoch's average
    assert max(float((g - w).abs().max()) for g, w in zip(_params(ema), epochs[-1])) > 1e-4


def test_ema_fit_is_bit_identical_with_random_state():
    X, y = _data()
    params = dict(PARAMS, ema_decay=0.95, validation_fraction=0.4, validation_split="class_folds")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StartingModelKeptWarning)
        a = MetricLearner(**params).fit(X, y)
        b = MetricLearner(**params).fit(X, y)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert a.history_[:, "valid_score"] == b.history_[:, "valid_score"]


def test_class_folds_average_in_every_fold_and_in_the_final_fit(monkeypatch):
    X, y = _data()
    decays = []
    original = WeightEMA.on_train_begin

    def spy(self, net, **kwargs):
        decays.append(self.decay)
        return original(self, net, **kwargs)

    monkeypatch.setattr(WeightEMA, "on_train_begin", spy)
    params = dict(PARAMS, validation_fraction=0.4, validation_split="class_folds")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StartingModelKeptWarning)
        MetricLearner(ema_decay=0.95, **params).fit(X, y)
        # 6 classes, 2 held out per fold: 3 folds, then the final fit
        assert decays == [0.95] * 4
        decays.clear()
        MetricLearner(ema_decay=None, **params).fit(X, y)
    assert decays == []


def test_ema_decay_auto_and_validation():
    from sklearn.utils._param_validation import InvalidParameterError

    from skmetric._metric_learner import _OPEN_SET_EMA_DECAY, _auto_training_settings

    closed = MetricLearner()
    assert _auto_training_settings(closed, 100)["ema_decay"] is None
    for split in ("classes", "class_folds"):
        open_set = MetricLearner(validation_fraction=0.4, validation_split=split)
        assert _auto_training_settings(open_set, 100)["ema_decay"] == _OPEN_SET_EMA_DECAY
    linear = MetricLearner(module="linear", validation_fraction=0.4, validation_split="classes")
    assert _auto_training_settings(linear, 100)["ema_decay"] is None
    assert _auto_training_settings(MetricLearner(ema_decay=0.9), 100)["ema_decay"] == 0.9
    X, y = _data()
    for bad in (1.0, 0.0, "ema"):
        with pytest.raises(InvalidParameterError, match="ema_decay"):
            MetricLearner(ema_decay=bad).fit(X, y)


def test_weight_ema_leaves_no_copies_in_the_fitted_net():
    X, y = _data()
    est = MetricLearner(ema_decay=0.9, **PARAMS).fit(X, y)
    cb = dict(est.net_.callbacks_)["weight_ema"]
    assert cb._averaged is None and cb._trained is None
    assert torch.is_tensor(next(est.module_.parameters()))


# ------------------------------------ class folds: epochs that gain in every fold
def _choose_every_fold_loop(curves, tol):
    length = max(len(c) for c in curves)
    rows = [list(c) + [c[-1]] * (length - len(c)) for c in curves]
    mean = [sum(r[e] for r in rows) / len(rows) for e in range(length)]
    ok = [e for e in range(length)
          if mean[e] > mean[0] and all(r[e] > r[0] for r in rows)]
    if not ok:
        return 0
    top = max(mean[e] for e in ok)
    return max(e for e in ok if mean[e] >= top - tol)


@pytest.mark.parametrize("curves, expected, mean_only", [
    # one fold's gain makes the mean's best epoch (3); the other fold stood
    # still there: only epoch 1, where both gained, counts
    ([[0.90, 0.91, 0.90, 0.99], [0.80, 0.81, 0.80, 0.80]], 1, 3),
    # one of two folds never beats its start: no epoch counts
    ([[0.5, 0.6, 0.7], [0.9, 0.9, 0.8]], 0, 2),
    # 3 folds: epoch 2 gains in one only (and is the mean's best), epoch 1
    # in all three
    ([[0.5, 0.6, 0.99], [0.4, 0.5, 0.39], [0.5, 0.6, 0.45]], 1, 2),
    # the third fold stopped early (padded with its last score) below its
    # start: no epoch gains in all three
    ([[0.5, 0.6, 0.7, 0.65], [0.4, 0.45, 0.5, 0.6], [0.3, 0.25]], 0, 3),
    # every fold gains at the mean's best epoch: as the mean alone
    ([[0.5, 0.6, 0.7, 0.65], [0.4, 0.45, 0.5, 0.6], [0.3, 0.35, 0.4]], 3, 3),
])
def test_choose_epoch_with_folds_matches_loop(curves, expected, mean_only):
    from skmetric._training._class_folds import choose_epoch, mean_curve, padded_curves

    mean = mean_curve(curves)
    got = choose_epoch(mean, 0.0, padded_curves(curves))
    assert got == _choose_every_fold_loop(curves, 0.0) == expected
    assert choose_epoch(mean, 0.0) == mean_only

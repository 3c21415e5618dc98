"""Interpolation toward the starting weights (``start_interpolation``, WiSE-FT).

References are written out: the interpolated weights against the formula
``theta0 + a (theta - theta0)`` on two fits that differ only by it, the
choice of (epoch, weight) against a loop over the folds' tables.
"""

import numpy as np
import pytest
import torch

from skmetric import MetricLearner
from skmetric._training._class_folds import (
    InterpolatedScores,
    InterpolateToStart,
    choose_epoch_and_weight,
    interpolate_state,
)

from _start_folds import FAST, check_start_weights_validation, choose_loop
from _start_folds import fit_twice_recording_choice
from _start_folds import make_data as _data

def _params(est):
    return [p.detach().clone() for p in est.module_.parameters()]


def test_interpolate_state_ends_and_midpoint():
    start = {"w": torch.tensor([0.0, 2.0]), "n": torch.tensor(3)}
    end = {"w": torch.tensor([1.0, -2.0]), "n": torch.tensor(7)}
    assert torch.equal(interpolate_state(start, end, 0.0)["w"], start["w"])
    assert torch.equal(interpolate_state(start, end, 1.0)["w"], end["w"])
    half = interpolate_state(start, end, 0.5)
    assert torch.equal(half["w"], torch.tensor([0.5, 0.0]))
    assert int(half["n"]) == 7  # counters are the trained ones
    assert torch.equal(interpolate_state(start, end, 0.25)["w"], torch.tensor([0.25, 1.0]))


def test_interpolation_callback_gives_start_trained_and_between():
    X, y = _data()
    kw = dict(FAST, normalize=False)
    full = MetricLearner(**kw).fit(X, y)
    zero = MetricLearner(**kw, callbacks=[InterpolateToStart(0.0)]).fit(X, y)
    half = MetricLearner(**kw, callbacks=[InterpolateToStart(0.5)]).fit(X, y)
    # a = 0: exactly the starting embedding, the centred raw features (up
    # to one scale)
    Z, Xc = zero.transform(X), X - X.mean(axis=0)
    np.testing.assert_allclose(Z * (np.linalg.norm(Xc) / np.linalg.norm(Z)), Xc, atol=1e-4)
    # the trained embedding moved away from it
    assert np.abs(full.transform(X) - zero.transform(X)).max() > 1e-2
    # a = 0.5: the midpoint of the start's and the trained weights
    for h, z, f in zip(_params(half), _params(zero), _params(full)):
        torch.testing.assert_close(h, (z + f) / 2, rtol=1e-6, atol=1e-7)


def test_interpolated_scores_record_each_weight_and_restore_the_module():
    torch.manual_seed(0)
    module = torch.nn.Linear(3, 2)
    X = torch.randn(5, 3)

    def score(m, X, y):
        return float(m(X).detach().sum())

    scores = InterpolatedScores(score, [0.5, 1.0])
    start = {k: v.clone() for k, v in module.state_dict().items()}
    first = scores(module, X, None)
    with torch.no_grad():
        module.weight.add_(1.0)
    trained = {k: v.clone() for k, v in module.state_dict().items()}
    got = scores(module, X, None)
    # the module holds its trained weights again
    for k in trained:
        assert torch.equal(module.state_dict()[k], trained[k])
    mid = torch.nn.Linear(3, 2)
    mid.load_state_dict({k: (start[k] + trained[k]) / 2 for k in start})
    want = [score(mid, X, None), score(module, X, None)]
    np.testing.assert_allclose(scores.table, [[first, want[0]], [first, want[1]]], rtol=1e-6)
    assert got == max(want)


@pytest.mark.parametrize("folds, expected", [
    # the trained weights (a = 1) lose in fold 1 at every epoch; a = 0.5
    # gains in both folds at epoch 2
    ([[[0.9, 0.92, 0.93], [0.9, 0.95, 0.99]],
      [[0.8, 0.81, 0.82], [0.8, 0.79, 0.78]]], (2, 0)),
    # both gain everywhere, a = 1 most: as the epoch alone
    ([[[0.5, 0.55, 0.56], [0.5, 0.6, 0.7]],
      [[0.4, 0.45, 0.46], [0.4, 0.5, 0.6]]], (2, 1)),
    # a tie between the weights at the best epoch goes to the larger weight
    ([[[0.5, 0.6, 0.7], [0.5, 0.6, 0.7]],
      [[0.5, 0.6, 0.7], [0.5, 0.6, 0.7]]], (2, 1)),
    # nothing beats the start in every fold
    ([[[0.5, 0.6, 0.7], [0.5, 0.7, 0.8]],
      [[0.5, 0.4, 0.5], [0.5, 0.5, 0.3]]], (0, 1)),
])
def test_choose_epoch_and_weight_matches_loop(folds, expected):
    arr = np.array(folds)
    got = choose_epoch_and_weight(arr.mean(axis=0), 0.0, arr)
    assert got == choose_loop(folds) == expected


@pytest.fixture(scope="module")
def interpolated_fit():
    return fit_twice_recording_choice(start_interpolation=(0.25, 0.5, 1.0))


@pytest.mark.slow
def test_class_folds_choose_epoch_and_weight_by_the_rule(interpolated_fit):
    est, _, captured, _ = interpolated_fit
    folds = captured["folds"]
    # one curve per weight in every fold, the start shared by the weights
    assert folds.shape[1] == 3
    np.testing.assert_array_equal(folds[:, :, 0], folds[:, :1, 0].repeat(3, axis=1))
    epoch, j = choose_loop(folds.tolist())
    assert (est.best_epoch_, est.interpolation_weight_) == (
        epoch, (0.25, 0.5, 1.0)[j] if epoch else 1.0)
    # history_ holds the chosen weight's fold-mean curve
    curve = captured["curves"][j]
    np.testing.assert_allclose(est.history_[:, "valid_score"], curve[:len(est.history_)])


@pytest.mark.slow
def test_class_folds_interpolation_is_bit_identical(interpolated_fit):
    est, again, _, X = interpolated_fit
    np.testing.assert_array_equal(est.transform(X), again.transform(X))
    assert est.interpolation_weight_ == again.interpolation_weight_


def test_start_interpolation_validation():
    check_start_weights_validation("start_interpolation", "interpolation_weight_", **FAST)


def test_decay_to_start_adds_the_l2sp_gradient():
    # L2-SP (benchmarks/bench_open_set.py, folds_l2sp_*): the gradient of
    # strength / 2 |theta - theta0|^2 is added before the step
    from types import SimpleNamespace

    from skmetric._training._callbacks import DecayToStart

    torch.manual_seed(0)
    module = torch.nn.Linear(3, 2)
    net = SimpleNamespace(module_=module)
    cb = DecayToStart(2.5).initialize()
    cb.on_train_begin(net)
    start = [p.detach().clone() for p in module.parameters()]
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p))
            p.grad = torch.ones_like(p)
    cb.on_grad_computed(net, named_parameters=module.named_parameters())
    for p, p0 in zip(module.parameters(), start):
        torch.testing.assert_close(p.grad, 1 + 2.5 * (p.detach() - p0))
    cb.on_train_end(net)
    assert cb._start is None

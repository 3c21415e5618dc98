"""Output mixing with the starting embedding (``start_mixing``).

References are written out: squared distances of the mixed output against
``(1 - a) d0^2 + a d^2`` of two separate fits, the folds' mixed scores
against scoring the concatenation by hand, and the choice of (epoch,
weight) against a loop over the folds' tables.
"""


import numpy as np
import pytest
import torch

from skmetric import MetricLearner
from skmetric._training._class_folds import InterpolateToStart, MixedScores, MixWithStart
from skmetric.nn import MixedWithStart

from _start_folds import FAST as _FAST
from _start_folds import check_start_weights_validation, choose_loop, fit_twice_recording_choice
from _start_folds import make_data as _data

FAST = dict(_FAST, normalize=False)


def _sq_dists(Z):
    Z = np.asarray(Z, dtype=np.float64)
    return ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1)


def test_mixed_module_distances_are_the_weighted_sum():
    torch.manual_seed(0)
    start, trained = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    X = torch.randn(7, 4)
    with torch.no_grad():
        d0, d1 = _sq_dists(start(X)), _sq_dists(trained(X))
        for a in (0.0, 0.1, 0.5, 1.0):
            mixed = MixedWithStart(start, trained, a)(X)
            assert mixed.shape == (7, 6)
            np.testing.assert_allclose(_sq_dists(mixed), (1 - a) * d0 + a * d1,
                                       rtol=1e-5, atol=1e-5)
        # the ends: exactly the start's (a = 0) and the trained outputs (a = 1)
        assert torch.equal(MixedWithStart(start, trained, 0.0)(X)[:, :3], start(X))
        assert torch.equal(MixedWithStart(start, trained, 1.0)(X)[:, 3:], trained(X))
    # the start is frozen, the trained module is not
    mixed = MixedWithStart(start, trained, 0.5)
    assert not any(p.requires_grad for p in mixed.start.parameters())
    assert all(p.requires_grad for p in mixed.module.parameters())
    with pytest.raises(ValueError, match="weight"):
        MixedWithStart(start, trained, 1.5)


def test_mix_callback_gives_the_start_beside_the_trained_embedding():
    X, y = _data()
    full = MetricLearner(**FAST).fit(X, y)
    # the start, by the weight interpolation's independent route (a = 0)
    start = MetricLearner(**FAST, callbacks=[InterpolateToStart(0.0)]).fit(X, y)
    d0, d1 = _sq_dists(start.transform(X)), _sq_dists(full.transform(X))
    # the trained distances differ from the start's: the mix below is not trivial
    assert np.abs(d1 - d0).max() > 1e-2 * d0.max()
    for a in (0.0, 0.3):
        est = MetricLearner(**FAST, callbacks=[MixWithStart(a)]).fit(X, y)
        assert isinstance(est.module_, MixedWithStart)
        np.testing.assert_allclose(_sq_dists(est.transform(X)), (1 - a) * d0 + a * d1,
                                   rtol=1e-4, atol=1e-4)
    # a = 1: the trained module itself, unwrapped
    one = MetricLearner(**FAST, callbacks=[MixWithStart(1.0)]).fit(X, y)
    np.testing.assert_array_equal(one.transform(X), full.transform(X))


def test_mixed_scores_score_the_concatenation():
    torch.manual_seed(0)
    module = torch.nn.Linear(3, 2)
    X = torch.randn(6, 3)

    def score(m, X, y):  # depends on the outputs' squared distances
        with torch.no_grad():
            return float(_sq_dists(m(X)).sum())

    scores = MixedScores(score, [0.25, 1.0])
    first = scores(module, X, None)
    with torch.no_grad():
        start = module(X).numpy().copy()
        module.weight.mul_(3.0)
        trained = module(X).numpy().copy()
    got = scores(module, X, None)
    d0, d1 = _sq_dists(start).sum(), _sq_dists(trained).sum()
    want = [0.75 * d0 + 0.25 * d1, d1]
    np.testing.assert_allclose(first, d0, rtol=1e-5)
    np.testing.assert_allclose(scores.table, [[first, want[0]], [first, want[1]]], rtol=1e-5)
    assert got == max(scores.table[:, 1])


@pytest.fixture(scope="module")
def mixed_fit():
    return fit_twice_recording_choice(start_mixing=(0.1, 0.5, 1.0), normalize=False)


@pytest.mark.slow
def test_class_folds_choose_epoch_and_mixing_weight_by_the_rule(mixed_fit):
    est, _, captured, X = mixed_fit
    folds = captured["folds"]
    assert folds.shape[1] == 3
    # the mixed scores at epoch 0 are the start's for every weight
    np.testing.assert_array_equal(folds[:, :, 0], folds[:, :1, 0].repeat(3, axis=1))
    epoch, j = choose_loop(folds.tolist())
    weight = (0.1, 0.5, 1.0)[j] if epoch else 1.0
    assert (est.best_epoch_, est.mixing_weight_) == (epoch, weight)
    assert est.interpolation_weight_ == 1.0
    width = 16 if weight != 1 else 8  # the start beside the trained embedding
    assert est.embedding_size_ == width == est.transform(X).shape[1]
    np.testing.assert_allclose(est.history_[:, "valid_score"],
                               captured["curves"][j][:len(est.history_)])


@pytest.mark.slow
def test_class_folds_mixing_is_bit_identical(mixed_fit):
    est, again, _, X = mixed_fit
    np.testing.assert_array_equal(est.transform(X), again.transform(X))
    assert est.mixing_weight_ == again.mixing_weight_


def test_start_mixing_validation():
    check_start_weights_validation("start_mixing", "mixing_weight_", **FAST)
    X, y = _data()
    with pytest.raises(ValueError, match="cannot both"):
        MetricLearner(start_mixing=(0.5, 1.0), start_interpolation=(0.5, 1.0),
                      validation_fraction=0.4, validation_split="class_folds",
                      **FAST).fit(X, y)

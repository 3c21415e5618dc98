"""``max_epochs="auto"``: the number of optimisation steps, not the data size, sets the cost."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from skmetric import MetricLearner
from skmetric._training import ClassBalancedBatchSampler, ShuffledBatchSampler
from skmetric._training._engine import (
    AUTO_MAX_STEPS,
    AUTO_MIN_STEPS,
    AUTO_PASSES,
    AUTO_STEPS_PER_EPOCH,
    auto_epochs,
)


class _CountSteps(Callback):
    """Counts optimisation steps (training batches) and epochs."""

    def initialize(self):
        self.steps_ = 0
        self.epochs_ = 0
        return self

    def on_batch_end(self, net, training=None, **kwargs):
        if training:
            self.steps_ += 1

    def on_epoch_end(self, net, **kwargs):
        self.epochs_ += 1


def _blobs(n, n_classes=3, d=5, seed=0):
    rng = np.random.RandomState(seed)
    y = np.arange(n) % n_classes
    X = rng.normal(size=(n, d)) + 3 * np.eye(n_classes, d)[y]
    return X.astype(np.float32), y


def _fit_counting(n, **params):
    X, y = _blobs(n)
    est = MetricLearner(hidden_sizes=(8,), random_state=0,
                        callbacks=[("count", _CountSteps())], **params).fit(X, y)
    return est, dict(est.net_.callbacks_)["count"]


def test_auto_epochs_follow_the_step_budget():
    # (n, batch_size, batches per pass) -> (epochs, steps): the budget is
    # clip(AUTO_PASSES * n / batch_size, AUTO_MIN_STEPS, AUTO_MAX_STEPS) steps,
    # in epochs of whole passes and at least AUTO_STEPS_PER_EPOCH steps
    assert (AUTO_PASSES, AUTO_MIN_STEPS, AUTO_MAX_STEPS, AUTO_STEPS_PER_EPOCH) == (
        100, 50, 3000, 10)
    cases = {
        (12, 256, 1): (5, 50),  # tiny: the floor of 50 steps
        (105, 256, 1): (5, 50),  # iris
        (250, 256, 1): (10, 100),  # 97.7 steps
        (398, 256, 2): (16, 160),  # breast_cancer: 155.5 steps
        (120, 40, 3): (25, 300),
        (7000, 256, 28): (98, 2744),  # 2734.4 steps
        (14000, 256, 55): (55, 3025),  # KEEL letter: the cap of 3000
        (1_000_000, 256, 3907): (1, 3907),  # at least one pass
    }
    for (n, batch_size, batches), (epochs, steps) in cases.items():
        n_epochs, min_batches = auto_epochs(n, batch_size, batches)
        per_epoch = batches * -(-min_batches // batches)
        assert (n_epochs, n_epochs * per_epoch) == (epochs, steps), (n, batches)


@pytest.mark.parametrize("n", [12, 60, 120])
def test_tiny_data_gets_the_same_number_of_steps_whatever_n(n):
    # one batch holds all the data: 50 steps in 5 epochs of 10 steps, for
    # 12 rows as for 120 (with max_epochs=100: 100 epochs of one step each)
    est, count = _fit_counting(n, max_epochs="auto")
    assert (count.steps_, count.epochs_) == (AUTO_MIN_STEPS, 5)
    assert est.n_epochs_ == 5 and len(est.history_) == 6
    assert est.stop_reason_ == "max_epochs"


def test_auto_epochs_closed_set_budget_skips_the_first_batch():
    # (passes, skip_batches) = (300, 1): clip(300 * (n / batch_size - 1), 50, 3000)
    from skmetric._metric_learner import _CLOSED_SET_BUDGET

    assert _CLOSED_SET_BUDGET == (300, 1)
    cases = {
        (105, 1): (5, 50),  # iris: one batch, the floor
        (320, 2): (8, 80),  # 300 * 0.25 = 75 steps
        (398, 2): (17, 170),  # breast_cancer: 166.4 steps
        (2800, 11): (271, 2981),  # 2981.25 steps
        (14000, 55): (55, 3025),  # the cap
    }
    for (n, batches), (epochs, steps) in cases.items():
        n_epochs, min_batches = auto_epochs(n, 256, batches, *_CLOSED_SET_BUDGET)
        per_epoch = batches * -(-min_batches // batches)
        assert (n_epochs, n_epochs * per_epoch) == (epochs, steps), n
    # the default arguments are the plain budget
    assert auto_epochs(2800, 256, 11) == auto_epochs(2800, 256, 11, AUTO_PASSES, 0) == (99, 10)


def test_auto_steps_grow_with_the_data():
    # 2 batches of 30 rows per pass; the closed-set budget is
    # 300 * (60 / 30 - 1) = 300 steps (the plain budget: 100 * 60 / 30 = 200),
    # in epochs of 10 steps (5 passes)
    _, count = _fit_counting(60, max_epochs="auto", batch_size=30)
    assert (count.steps_, count.epochs_) == (300, 30)
    # 3 batches per pass: 300 * (120 / 40 - 1) = 600 steps in epochs of 12
    assert auto_epochs(120, 40, 3, 300, 1) == (50, 10)


@pytest.mark.filterwarnings("ignore::skmetric.StartingModelKeptWarning")
def test_open_set_setting_keeps_the_plain_budget():
    # held-out classes: 100 passes' worth of the training rows (no skipped
    # batch), not the closed-set budget; patience longer than the fit
    X, y = _blobs(100, n_classes=5)
    est = MetricLearner(loss="normalized_softmax", hidden_sizes=(8,), batch_size=30,
                        validation_fraction=0.4, validation_split="classes", patience=1000,
                        random_state=0, callbacks=[("count", _CountSteps())]).fit(X, y)
    count = dict(est.net_.callbacks_)["count"]
    # 3 of 5 classes train: 60 rows, 2 batches per pass; 100 * 60 / 30 = 200
    # steps in epochs of 10 (the closed-set budget would be 300 * 1 = 300)
    assert (count.steps_, count.epochs_) == (200, 20)


def test_integer_max_epochs_keeps_one_pass_per_epoch():
    _, count = _fit_counting(60, max_epochs=7)
    assert (count.steps_, count.epochs_) == (7, 7)
    _, count = _fit_counting(120, max_epochs=4, batch_size=40)
    assert (count.steps_, count.epochs_) == (12, 4)


@pytest.mark.filterwarnings("ignore::skmetric.StartingModelKeptWarning")
def test_auto_budget_keeps_epoch_zero_validation_and_early_stopping():
    X, y = _blobs(200)
    est = MetricLearner(hidden_sizes=(8,), max_epochs="auto", validation_fraction=0.25,
                        patience=2, random_state=0).fit(X, y)
    assert est.history_[0]["epoch"] == 0
    assert est.history_[0]["valid_score"] == est.baseline_score_
    assert len(est.history_[:, "valid_score"]) == est.n_epochs_ + 1
    assert est.n_epochs_ <= 5


def test_auto_budget_is_bit_identical_for_a_seed():
    X, y = _blobs(80)
    a = MetricLearner(hidden_sizes=(8,), max_epochs="auto", random_state=3).fit(X, y)
    b = MetricLearner(hidden_sizes=(8,), max_epochs="auto", random_state=3).fit(X, y)
    c = MetricLearner(hidden_sizes=(8,), max_epochs="auto", random_state=4).fit(X, y)
    assert np.array_equal(a.transform(X), b.transform(X))
    assert not np.array_equal(a.transform(X), c.transform(X))


def test_shuffled_sampler_min_batches_runs_whole_passes():
    s = ShuffledBatchSampler(10, 4, generator=torch.Generator().manual_seed(0),
                             min_batches=7)
    batches = list(s)
    # 3 batches per pass (4, 4, 2), whole passes until >= 7 batches: 9
    assert len(s) == 9 and [len(b) for b in batches] == [4, 4, 2] * 3
    for p in range(3):
        assert sorted(torch.cat(batches[3 * p: 3 * p + 3]).tolist()) == list(range(10))
    # each pass is a new permutation
    assert not torch.equal(torch.cat(batches[:3]), torch.cat(batches[3:6]))


def test_shuffled_sampler_default_is_one_pass():
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    one = list(ShuffledBatchSampler(9, 4, generator=g1))
    same = list(ShuffledBatchSampler(9, 4, generator=g2, min_batches=1))
    assert [b.tolist() for b in one] == [b.tolist() for b in same]
    assert [len(b) for b in one] == [4, 5]  # the last single sample joins


def test_class_balanced_sampler_min_batches():
    labels = torch.tensor([0] * 6 + [1] * 6)
    s = ClassBalancedBatchSampler(labels, 8, 4, generator=torch.Generator().manual_seed(0),
                                  min_batches=5)
    assert len(s) == 5 and len(list(s)) == 5

"""The shared fit loop: samplers, seeding, NaN guard, early stopping, callbacks."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from skmetric import MetricLearner, TrainingDivergedError
from skmetric._training import ClassBalancedBatchSampler, ShuffledBatchSampler
from skmetric.losses import BaseMetricLoss
from sklearn.exceptions import NotFittedError


def test_shuffled_sampler_covers_every_index_once_per_epoch():
    s = ShuffledBatchSampler(10, 4, generator=torch.Generator().manual_seed(0))
    batches = list(s)
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(torch.cat(batches).tolist()) == list(range(10))


def test_class_balanced_sampler_gives_p_by_k_batches():
    labels = torch.tensor([0] * 10 + [1] * 3 + [2] * 7 + [3] * 1)
    s = ClassBalancedBatchSampler(labels, 8, 4, generator=torch.Generator().manual_seed(0))
    assert len(s) == 3  # ceil(21 / 8)
    for batch in s:
        counts = torch.bincount(labels[batch], minlength=4)
        assert batch.numel() == 8
        assert sorted(counts[counts > 0].tolist()) == [4, 4]  # P=2 classes x K=4


def test_class_balanced_sampler_without_replacement_when_class_is_large():
    labels = torch.tensor([0] * 8 + [1] * 8)
    s = ClassBalancedBatchSampler(labels, 8, 4, generator=torch.Generator().manual_seed(1))
    for batch in s:
        assert batch.unique().numel() == 8


class _NaNAfter(BaseMetricLoss):
    """A loss that turns NaN at a chosen call, to exercise the NaN guard."""

    min_samples_per_class = 1

    def __init__(self, *, after=3):
        super().__init__()
        self.after = after
        self.calls = 0

    def compute_loss(self, embeddings, labels, indices_tuple):
        self.calls += 1
        value = (embeddings**2).mean()
        return value * float("nan") if self.calls > self.after else value


def test_nan_guard_names_the_epoch_and_leaves_estimator_unfitted(blobs):
    X, y = blobs
    est = MetricLearner(
        loss=_NaNAfter(after=5), batch_size=20, max_epochs=5,
        validation_fraction=None, random_state=0,
    )
    with pytest.raises(TrainingDivergedError, match=r"at epoch 2, batch 3\. .*lower the learning rate"):
        est.fit(X, y)
    with pytest.raises(NotFittedError):
        est.transform(X)


def test_nan_guard_after_a_successful_fit_leaves_it_unfitted(blobs):
    X, y = blobs
    est = MetricLearner(max_epochs=1, validation_fraction=None, random_state=0).fit(X, y)
    est.set_params(loss=_NaNAfter(after=0))
    with pytest.raises(TrainingDivergedError):
        est.fit(X, y)
    assert not hasattr(est, "net_")
    with pytest.raises(NotFittedError):
        est.transform(X)


class _CountEpochs(Callback):
    def initialize(self):
        self.n = 0
        return self

    def on_epoch_end(self, net, **kwargs):
        self.n += 1


def test_user_callbacks_run_and_are_not_mutated(blobs):
    X, y = blobs
    cb = _CountEpochs()
    est = MetricLearner(max_epochs=3, validation_fraction=None, callbacks=[("count", cb)],
                        random_state=0).fit(X, y)
    assert dict(est.net_.callbacks_)["count"].n == 3
    assert not hasattr(cb, "n")  # the user's object is copied


def test_early_stopping_records_scores_and_stops(blobs):
    X, y = blobs
    est = MetricLearner(max_epochs=50, patience=2, validation_fraction=0.2,
                        random_state=0).fit(X, y)
    scores = est.history_[:, "valid_score"]
    assert len(scores) == est.n_epochs_
    assert est.n_epochs_ < 50  # easy blobs: recall@1 saturates at 1.0 at once
    assert 0 <= est.best_epoch_ <= est.n_epochs_


def test_initial_embedding_is_kept_when_training_never_beats_it(blobs):
    X, y = blobs
    # lr so small that no epoch improves on the starting point's perfect recall
    est = MetricLearner(max_epochs=3, patience=5, lr=1e-12, validation_fraction=0.2,
                        random_state=0).fit(X, y)
    assert est.best_epoch_ == 0


def test_device_auto_resolves_to_cpu_without_cuda(blobs):
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    X, y = blobs
    est = MetricLearner(max_epochs=1, device="auto", random_state=0).fit(X, y)
    assert next(est.module_.parameters()).device.type == "cpu"
    with pytest.raises(ValueError, match="CUDA is not available"):
        MetricLearner(max_epochs=1, device="cuda").fit(X, y)


def test_global_torch_rng_untouched(blobs):
    X, y = blobs
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    MetricLearner(max_epochs=1, random_state=0).fit(X, y)
    assert torch.equal(torch.rand(3), expected)

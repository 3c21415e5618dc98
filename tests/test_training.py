"""The shared fit loop: samplers, seeding, NaN guard, early stopping, callbacks."""

import io
import pickle
import re

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


# ------------------------------------------------------- optimizer parameters
def _momentum(est):
    return [g["momentum"] for g in est.net_.optimizer_.param_groups]


def _torch_estimators():
    from skmetric import TLDR, AnyLossClassifier, HyperbolicOneClass, ProtoClassifier

    fast = dict(max_epochs=1, random_state=0)
    return [
        MetricLearner(hidden_sizes=(8,), **fast),
        ProtoClassifier(hidden_sizes=(8,), n_shot=2, n_query=2, **fast),
        AnyLossClassifier(hidden_sizes=(8,), **fast),
        HyperbolicOneClass(hidden_sizes=(8,), **fast),
        TLDR(n_components=4, n_neighbors=2, **fast),
    ]


@pytest.mark.parametrize("est", _torch_estimators(), ids=lambda e: type(e).__name__)
def test_optimizer_params_reach_the_optimizer(blobs, est):
    X, y = blobs
    est.set_params(optimizer="sgd")
    assert _momentum(est.fit(X, y)) == [0.9]  # "sgd" defaults to momentum 0.9
    est.set_params(optimizer__momentum=0.5, optimizer__nesterov=True)
    assert est.optimizer_params == {"momentum": 0.5, "nesterov": True}
    est.fit(X, y)
    assert _momentum(est) == [0.5] and est.net_.optimizer_.param_groups[0]["nesterov"]
    # the class itself keeps torch's defaults
    assert _momentum(est.set_params(optimizer=torch.optim.SGD, optimizer_params=None).fit(X, y)) == [0.0]
    est.set_params(optimizer="adam", optimizer__betas=(0.5, 0.6)).fit(X, y)
    assert est.net_.optimizer_.param_groups[0]["betas"] == (0.5, 0.6)


def test_optimizer_params_change_training_and_default_is_bit_identical(blobs):
    X, y = blobs
    base = dict(hidden_sizes=(8,), max_epochs=2, random_state=0, optimizer="sgd")
    a = MetricLearner(**base).fit(X, y).transform(X)
    b = MetricLearner(**base, optimizer_params={}).fit(X, y).transform(X)
    c = MetricLearner(**base, optimizer_params={"momentum": 0.0}).fit(X, y).transform(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_optimizer_params_with_clone_and_grid_search(blobs):
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    X, y = blobs
    est = MetricLearner(optimizer="sgd", hidden_sizes=(8,), max_epochs=1, random_state=0)
    before = {"momentum": 0.1}
    est.set_params(optimizer_params=before).set_params(optimizer__dampening=0.2)
    assert before == {"momentum": 0.1}  # the user's dict is not modified
    assert clone(est).optimizer_params == {"momentum": 0.1, "dampening": 0.2}
    grid = GridSearchCV(est, {"optimizer__momentum": [0.0, 0.7]}, cv=2).fit(X, y)
    assert [p["optimizer__momentum"] for p in grid.cv_results_["params"]] == [0.0, 0.7]
    best = grid.best_params_["optimizer__momentum"]
    assert _momentum(grid.best_estimator_) == [best]
    assert grid.best_estimator_.optimizer_params == {"momentum": best, "dampening": 0.2}


def test_optimizer_params_errors(blobs):
    X, y = blobs
    est = MetricLearner(hidden_sizes=(8,), max_epochs=1, optimizer_params={"momentum": 0.9})
    with pytest.raises(ValueError, match=re.escape(
        "`optimizer_params` has unknown keys ['momentum'] for the optimizer "
        "torch.optim.adamw.AdamW; its parameters are ['amsgrad', 'betas', 'capturable',"
    )):
        est.fit(X, y)
    with pytest.raises(NotFittedError):
        est.transform(X)
    with pytest.raises(ValueError, match=re.escape(
        "`optimizer_params` cannot hold 'lr': set `lr` instead."
    )):
        est.set_params(optimizer_params={"lr": 0.1}).fit(X, y)
    with pytest.raises(ValueError, match="The 'optimizer_params' parameter of MetricLearner must be"):
        est.set_params(optimizer_params=[("momentum", 0.9)]).fit(X, y)


# ----------------------------------------------------------------- pickling
def _nbytes(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.tell()


def test_pickle_leaves_out_optimizer_state_and_shares_the_network(digits_split):
    from skmetric import ProtoClassifier

    X, _, y, _ = digits_split
    est = MetricLearner(max_epochs=1, random_state=0).fit(X, y)
    weights = _nbytes(est.module_.state_dict())
    assert weights > 1e6  # the default network: big enough to see a copy
    assert est.net_.optimizer_.state  # Adam's moments exist in memory...
    blob = pickle.dumps(est)
    # ...and are not pickled: no second copy of any tensor (was 6x the weights)
    assert len(blob) < 1.1 * weights
    assert est.net_.optimizer_.state  # pickling did not drop them in memory
    loaded = pickle.loads(blob)
    assert not loaded.net_.optimizer_.state
    assert loaded.module_ is loaded.net_.module_ is loaded.net_.module
    assert loaded.loss_ is loaded.net_.criterion_.loss
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))

    proto = ProtoClassifier(max_epochs=1, random_state=0).fit(X, y)
    blob = pickle.dumps(proto)
    assert len(blob) < 1.1 * weights + 2e5  # the float64 copy is rebuilt, not pickled
    loaded = pickle.loads(blob)
    assert next(loaded._module_float64_.parameters()).dtype == torch.float64
    np.testing.assert_array_equal(loaded.predict_proba(X), proto.predict_proba(X))


@pytest.mark.parametrize("name", ["PairMetricLearner", "TripletMetricLearner"])
def test_optimizer_params_reach_the_optimizer_of_tuple_learners(blobs, name):
    import skmetric

    X, y = blobs
    rng = np.random.RandomState(0)
    same = [rng.choice(np.flatnonzero(y == c), 2, replace=False) for c in y]
    other = [rng.choice(np.flatnonzero(y != c)) for c in y]
    tuples = np.column_stack([np.arange(len(y)), [s[1] for s in same], other])
    if name == "PairMetricLearner":
        tuples = tuples[:, :2]
    est = getattr(skmetric, name)(preprocessor=X, hidden_sizes=(8,), max_epochs=1,
                                  validation_fraction=None, random_state=0)
    est.set_params(optimizer="sgd", optimizer__momentum=0.3).fit(tuples)
    assert est.optimizer_params == {"momentum": 0.3} and _momentum(est) == [0.3]

"""The shared fit loop: samplers, seeding, NaN guard, early stopping, callbacks."""

import io
import pickle
import re

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from skmetric import (
    CollapsedEmbeddingWarning,
    MetricLearner,
    ProtoClassifier,
    StartingModelKeptWarning,
    TrainingDivergedError,
)
from skmetric._training import ClassBalancedBatchSampler, ShuffledBatchSampler
from skmetric._training._engine import embedding_spread
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


KEPT = ("training did not improve on the starting embedding on held-out data; "
        "the starting embedding was kept")


def test_early_stopping_records_epoch_0_and_stops_on_patience(blobs, capsys):
    X, y = blobs
    # easy blobs: the starting embedding already has held-out recall@1 = 1.0,
    # no epoch beats it, so patience=2 stops after exactly 2 epochs
    est = MetricLearner(max_epochs=50, patience=2, validation_fraction=0.2,
                        verbose=1, random_state=0)
    with pytest.warns(StartingModelKeptWarning, match=re.escape(KEPT)):
        est.fit(X, y)
    assert est.baseline_score_ == 1.0 and est.best_score_ == 1.0
    assert (est.n_epochs_, est.best_epoch_, est.stop_reason_) == (2, 0, "patience")
    assert est.history_[:, "epoch"] == [0, 1, 2]
    assert est.history_[0] == {"epoch": 0, "valid_score": 1.0, "valid_score_best": True}
    assert len(est.history_[:, "train_loss"]) == 2  # epoch 0 has no training loss
    out = capsys.readouterr().out
    assert ("MetricLearner: training stopped after 2 epochs: validation score did not "
            "improve for 2 epochs (patience=2; best 1.0000 at epoch 0); kept epoch 0 "
            "(validation score 1.0000; epoch 0: 1.0000).") in out


def test_stop_reason_max_epochs_and_history_without_validation(blobs, capsys):
    X, y = blobs
    est = MetricLearner(max_epochs=2, validation_fraction=None, hidden_sizes=(8,),
                        verbose=1, random_state=0).fit(X, y)
    assert (est.n_epochs_, est.best_epoch_, est.stop_reason_) == (2, 2, "max_epochs")
    assert est.baseline_score_ is None and est.best_score_ is None
    assert est.history_[0] == {"epoch": 0}
    assert est.history_[:, "epoch"] == [0, 1, 2]
    assert "training stopped after 2 epochs: reached max_epochs=2; kept epoch 2." in (
        capsys.readouterr().out)


def test_divergence_is_printed_with_verbose(blobs, capsys):
    X, y = blobs
    est = MetricLearner(loss=_NaNAfter(after=0), max_epochs=2, validation_fraction=None,
                        verbose=1, random_state=0)
    with pytest.raises(TrainingDivergedError):
        est.fit(X, y)
    assert "MetricLearner: training stopped: divergence" in capsys.readouterr().out


class _Stop(Callback):
    def on_epoch_end(self, net, **kwargs):
        from skmetric._training import StopTraining

        raise StopTraining("stopped by the test")


def test_stop_reason_of_a_callback(blobs):
    X, y = blobs
    est = MetricLearner(max_epochs=5, validation_fraction=None, hidden_sizes=(8,),
                        callbacks=[_Stop()], random_state=0).fit(X, y)
    assert (est.n_epochs_, est.stop_reason_) == (1, "callback")


class _Record(Callback):
    """Copies of the module's weights at the start and after each epoch."""

    def initialize(self):
        self.states = []
        return self

    def _copy(self, net):
        self.states.append({k: v.detach().clone() for k, v in net.module_.state_dict().items()})

    def on_train_begin(self, net, **kwargs):
        self._copy(net)

    def on_epoch_end(self, net, **kwargs):
        self._copy(net)


class _Wreck(Callback):
    """From epoch ``start`` on, replace every weight by loud noise after the epoch."""

    def __init__(self, start=2):
        self.start = start

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) >= self.start:
            g = torch.Generator().manual_seed(len(net.history))
            with torch.no_grad():
                for p in net.module_.parameters():
                    p.copy_(torch.randn(p.shape, generator=g) * 10)


def _equal_states(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def noisy_digits():
    """Digits (0-4) with 64 loud noise features: raw-feature kNN is weak."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(n_class=5, return_X_y=True)
    rng = np.random.RandomState(0)
    X = np.hstack([X / 16.0, 3.0 * rng.standard_normal((X.shape[0], 64))])
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


def test_kept_weights_are_the_best_epochs_snapshot(noisy_digits):
    X_tr, _, y_tr, _ = noisy_digits
    est = MetricLearner(max_epochs=8, patience=3, validation_fraction=0.25,
                        hidden_sizes=(32,), callbacks=[("record", _Record()), ("wreck", _Wreck(2))],
                        random_state=0).fit(X_tr, y_tr)
    states = dict(est.net_.callbacks_)["record"].states
    # epoch 0 and every trained epoch but the last (the patience stop is
    # raised before the recorder runs)
    assert est.stop_reason_ == "patience" and len(states) == est.n_epochs_
    scores = est.history_[:, "valid_score"]
    assert len(scores) == est.n_epochs_ + 1
    assert est.best_epoch_ == int(np.argmax(scores)) and est.best_score_ == max(scores)
    assert est.baseline_score_ == scores[0]
    # training helped (the noise only starts after epoch 2) and then hurt
    assert 0 < est.best_epoch_ <= 2 < est.n_epochs_
    kept = est.module_.state_dict()
    assert _equal_states(kept, states[est.best_epoch_])
    assert not _equal_states(kept, states[est.best_epoch_ + 1])
    # fit changed the trained parameters (not only buffers such as running means)
    names = [name for name, _ in est.module_.named_parameters()]
    assert not _equal_states({k: kept[k] for k in names}, {k: states[0][k] for k in names})


def _knn_accuracy(Z_tr, y_tr, Z_te, y_te):
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(n_neighbors=5).fit(Z_tr, y_tr).score(Z_te, y_te)


@pytest.mark.parametrize("Estimator", [MetricLearner, ProtoClassifier])
def test_training_beats_its_starting_embedding(Estimator, noisy_digits):
    # the control is the same estimator with a learning rate too small to move
    # a weight: its embedding is the starting one (it ranks like the raw
    # features), so this fails if training does not learn or is not kept
    X_tr, X_te, y_tr, y_te = noisy_digits
    params = dict(max_epochs=5, hidden_sizes=(64,), validation_fraction=None, random_state=0)
    trained = Estimator(**params).fit(X_tr, y_tr)
    control = Estimator(**params, lr=1e-12).fit(X_tr, y_tr)
    acc = _knn_accuracy(trained.transform(X_tr), y_tr, trained.transform(X_te), y_te)
    acc0 = _knn_accuracy(control.transform(X_tr), y_tr, control.transform(X_te), y_te)
    raw = _knn_accuracy(X_tr, y_tr, X_te, y_te)
    assert abs(acc0 - raw) < 0.05  # the control is the starting embedding
    assert acc > acc0 + 0.1, (acc, acc0, raw)


def test_initial_embedding_is_kept_when_training_never_beats_it(blobs):
    X, y = blobs
    # lr so small that no epoch improves on the starting point's perfect recall
    est = MetricLearner(max_epochs=3, patience=5, lr=1e-12, validation_fraction=0.2,
                        callbacks=[("record", _Record())], random_state=0)
    with pytest.warns(StartingModelKeptWarning, match=re.escape(KEPT)) as record:
        est.fit(X, y)
    assert len([w for w in record if w.category is StartingModelKeptWarning]) == 1
    assert est.best_epoch_ == 0 and est.stop_reason_ == "max_epochs"
    assert est.best_score_ == est.baseline_score_ == est.history_[0]["valid_score"]
    states = dict(est.net_.callbacks_)["record"].states
    assert _equal_states(est.module_.state_dict(), states[0])


class _Collapse(Callback):
    """Zero every weight after each epoch: every sample maps to one point."""

    def on_epoch_end(self, net, **kwargs):
        with torch.no_grad():
            for p in net.module_.parameters():
                p.zero_()


def test_a_collapsed_embedding_warns(blobs):
    X, y = blobs
    est = MetricLearner(max_epochs=1, validation_fraction=None, hidden_sizes=(8,),
                        callbacks=[_Collapse()], random_state=0)
    with pytest.warns(CollapsedEmbeddingWarning, match="the trained embedding collapsed"):
        est.fit(X, y)
    assert np.ptp(est.transform(X), axis=0).max() < 1e-6


def test_a_healthy_fit_does_not_warn(blobs):
    import warnings

    X, y = blobs
    with warnings.catch_warnings():
        warnings.simplefilter("error", CollapsedEmbeddingWarning)
        warnings.simplefilter("error", StartingModelKeptWarning)
        MetricLearner(max_epochs=2, validation_fraction=None, hidden_sizes=(8,),
                      random_state=0).fit(X, y)


def test_embedding_spread():
    X = torch.randn(50, 3, generator=torch.Generator().manual_seed(0))
    identity = torch.nn.Identity()
    assert 0.9 < embedding_spread(identity, X, "cpu") < 1.1  # centred N(0, I)
    constant = torch.ones(50, 3) * 7
    assert embedding_spread(identity, constant, "cpu") == 0.0
    assert embedding_spread(identity, torch.zeros(50, 3), "cpu") == 0.0
    # the spread relative to the squared norm: 7 + N(0, 0.01^2)
    near = constant + 0.01 * X
    np.testing.assert_allclose(embedding_spread(identity, near, "cpu"),
                               (0.01 * X).double().var(0, unbiased=False).sum()
                               / near.double().pow(2).sum(1).mean(), rtol=1e-4)
    assert embedding_spread(identity, X[:1], "cpu") is None


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


def test_the_mlp_branch_of_the_default_embedder_learns(noisy_digits):
    # the MLP branch starts at zero (its last layer is zero): a fit whose
    # gradient never reaches it leaves it at zero
    X_tr, _, y_tr, _ = noisy_digits
    est = MetricLearner(max_epochs=2, hidden_sizes=(32,), validation_fraction=None,
                        random_state=0).fit(X_tr, y_tr)
    body = est.module_.module
    x = torch.as_tensor(X_tr, dtype=torch.float32)
    with torch.no_grad():
        xc = x - body.mean
        mlp, skip = body.mlp(xc / body.scale), body.skip(xc)
    assert mlp.norm() > 0.05 * skip.norm(), (mlp.norm(), skip.norm())

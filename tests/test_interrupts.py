"""Interrupts: Ctrl-C during the epochs keeps the weights so far (and is raised
again); any other failure of fit leaves the estimator unfitted."""

import pickle
import re

import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback

from skmetric import ProtoClassifier, TrainingInterruptedWarning

from _fitted import CASES, X, Y, fitted, outputs

pytestmark = pytest.mark.filterwarnings(
    "ignore::skmetric.StartingModelKeptWarning", "ignore::skmetric.CollapsedEmbeddingWarning"
)

TORCH_CASES = [n for n in CASES if n != "FrechetMeanPredictor"]
# a constant learning rate: 3 epochs of a 5-epoch fit equal a 3-epoch fit
CONSTANT = dict(lr_schedule="constant")


class RaiseAt(Callback):
    """Raise ``exc(message)`` at the end of epoch ``epoch``."""

    def __init__(self, exc, epoch=3, where="on_epoch_end"):
        self.exc = exc
        self.epoch = epoch
        self.where = where

    def _maybe_raise(self, net, hook):
        # the history has a row per epoch begun (none when training begins)
        if hook == self.where and (hook == "on_train_begin" or len(net.history) == self.epoch):
            raise self.exc(f"raised by a callback in {hook}, epoch {self.epoch}")

    def on_epoch_end(self, net, **kwargs):
        self._maybe_raise(net, "on_epoch_end")

    def on_batch_begin(self, net, **kwargs):
        self._maybe_raise(net, "on_batch_begin")

    def on_train_begin(self, net, **kwargs):
        self._maybe_raise(net, "on_train_begin")


def _fitted_names(est):
    return sorted(k for k in vars(est) if k.endswith("_") and not k.startswith("__"))


@pytest.mark.parametrize("name", TORCH_CASES)
def test_ctrl_c_at_epoch_3_keeps_the_weights_so_far_and_is_raised_again(name):
    make, fit_args, _ = CASES[name]
    est = make(max_epochs=5, callbacks=[RaiseAt(KeyboardInterrupt)], **CONSTANT)
    kept = "of the best validated epoch" if name == "MetricLearner-valid" else (
        "trained until the interrupt")
    message = (f"{type(est).__name__}: training was interrupted (KeyboardInterrupt) "
               f"during epoch 3; the estimator is fitted with the weights {kept} "
               f"(epoch ")
    with pytest.raises(KeyboardInterrupt) as raised, pytest.warns(
        TrainingInterruptedWarning, match=re.escape(message)
    ):
        est.fit(*fit_args)
    # the same interrupt, raised again with its traceback into the callback
    assert "raised by a callback in on_epoch_end, epoch 3" in str(raised.value)
    assert any(entry.name == "_maybe_raise" for entry in raised.traceback)
    check_is_fitted(est)
    assert est.stop_reason_ == "interrupted" and est.n_epochs_ == 3
    assert "_pending_interrupt" not in vars(est) and est.net_._interrupt is None
    # the same as training 3 epochs without interruption, bit for bit
    full = fitted(name, max_epochs=3, **CONSTANT)
    assert _fitted_names(est) == _fitted_names(full)
    assert est.best_epoch_ == full.best_epoch_
    want = outputs(full, name)
    got = outputs(pickle.loads(pickle.dumps(est)), name)
    for method in want:
        assert got[method].tobytes() == want[method].tobytes(), method


@pytest.mark.parametrize("name", TORCH_CASES)
def test_callback_error_at_epoch_3_leaves_the_estimator_unfitted(name):
    est = fitted(name)  # a refit that fails must not keep the old fit either
    est.set_params(max_epochs=5, callbacks=[RaiseAt(RuntimeError)])
    with pytest.raises(RuntimeError, match="raised by a callback in on_epoch_end, epoch 3"):
        est.fit(*CASES[name][1])
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    assert _fitted_names(est) == []


@pytest.mark.parametrize("where", ["on_train_begin", "on_batch_begin"])
def test_ctrl_c_outside_a_finished_epoch(where):
    # before training: unfitted; in the middle of epoch 2: fitted, n_epochs_ counts it
    est = CASES["MetricLearner"][0](
        max_epochs=4, callbacks=[RaiseAt(KeyboardInterrupt, epoch=2, where=where)])
    if where == "on_train_begin":
        with pytest.raises(KeyboardInterrupt):
            est.fit(X, Y)
        assert _fitted_names(est) == []
    else:
        with pytest.raises(KeyboardInterrupt), pytest.warns(
            TrainingInterruptedWarning, match="during epoch 2"
        ):
            est.fit(X, Y)
        assert est.stop_reason_ == "interrupted" and est.n_epochs_ == 2
        assert est.transform(X).shape == (len(X), 6)


def test_ctrl_c_after_training_leaves_the_estimator_unfitted(monkeypatch):
    # the prototypes are computed after the epochs: an interrupt there unfits
    def interrupted(self, X):
        raise KeyboardInterrupt

    monkeypatch.setattr(ProtoClassifier, "_embed", interrupted)
    est = CASES["ProtoClassifier"][0]()
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, Y)
    assert _fitted_names(est) == []


def test_meta_estimator_is_unfitted_when_its_estimator_is_interrupted():
    make, fit_args, _ = CASES["FrechetMeanPredictor"]
    est = fitted("FrechetMeanPredictor")
    est.estimator.set_params(max_epochs=5, callbacks=[RaiseAt(KeyboardInterrupt)])
    with pytest.raises(KeyboardInterrupt), pytest.warns(TrainingInterruptedWarning):
        est.fit(*fit_args)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    assert _fitted_names(est) == []


def test_a_failed_fit_keeps_the_set_output_configuration():
    est = CASES["MetricLearner"][0](max_epochs=4, callbacks=[RaiseAt(RuntimeError)])
    est.set_output(transform="pandas")
    with pytest.raises(RuntimeError):
        est.fit(X, Y)
    assert _fitted_names(est) == []
    est.set_params(callbacks=None).fit(X, Y)
    assert type(est.transform(X)).__name__ == "DataFrame"

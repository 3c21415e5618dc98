"""The fit loop's full-batch branch and SciPy's L-BFGS (``optimizer="lbfgs"``).

When every batch holds every training row, the engine keeps the training set
on the device as one batch and steps the optimizer with a lean closure
instead of skorch's DataLoader and train step.  Checked against the general
path (a DataLoader over the same rows in the same order, skorch's own
``train_step``): the same weights and losses bit for bit.  ``ScipyLBFGS``
hands full-batch L-BFGS steps to SciPy's L-BFGS-B: checked against SciPy run
to convergence and torch's LBFGS on the same problem.
"""

import numpy as np
import pytest
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback

import skmetric._training._engine as engine
from skmetric import MetricLearner
from skmetric._training._lbfgs import ScipyLBFGS


@pytest.fixture(scope="module")
def small():
    rng = np.random.RandomState(0)
    centres = rng.normal(scale=2.0, size=(3, 6))
    y = np.repeat(np.arange(3), 15)
    X = centres[y] + rng.normal(size=(45, 6))
    return X, y


class _InOrder(engine.ShuffledBatchSampler):
    """Batches of the rows in their own order (the resident batch's order)."""

    def __iter__(self):
        for _ in range(len(self)):
            yield torch.arange(self.n_samples)


def _general_path(monkeypatch):
    """Route fits through skorch's loader and train step, rows in order."""
    monkeypatch.setattr(engine, "ShuffledBatchSampler", _InOrder)
    monkeypatch.setattr(engine._EngineNet, "get_iterator", NeuralNet.get_iterator)
    monkeypatch.setattr(engine._EngineNet, "train_step", NeuralNet.train_step)


def _weights(est):
    return [p.detach().clone() for p in est.module_.parameters()]


def _losses(est):
    return [b["train_loss"] for h in est.history_[1:] for b in h["batches"]]


@pytest.mark.parametrize("params", [
    dict(module="linear"),  # NCA + L-BFGS, full batch
    # AdamW, one batch per step (no dropout: the DataLoader of the general path
    # draws a seed from torch's global generator, which moves the dropout masks)
    dict(hidden_sizes=(8,), dropout=0.0, max_epochs=3, batch_size=64),
])
def test_full_batch_branch_equals_the_general_path(small, params, monkeypatch):
    X, y = small
    fast = MetricLearner(random_state=0, **params).fit(X, y)
    spy = []
    real = engine._EngineNet._evaluate
    monkeypatch.setattr(engine._EngineNet, "_evaluate",
                        lambda self, *a: spy.append(1) or real(self, *a))
    with monkeypatch.context() as m:
        _general_path(m)
        slow = MetricLearner(random_state=0, **params).fit(X, y)
    assert not spy  # the reference did not take the lean step
    assert _losses(fast) == _losses(slow) and len(_losses(fast)) >= 3
    assert all(torch.equal(a, b) for a, b in zip(_weights(fast), _weights(slow)))
    assert [h["train_batch_size"] for h in fast.history_[1]["batches"]] == [len(X)] * len(
        fast.history_[1]["batches"])
    # the trained weights moved: the comparison is not between two starts
    start = MetricLearner(random_state=0, **{**params, "lr": 1e-12}).fit(X, y)
    assert not torch.equal(_weights(fast)[0], _weights(start)[0])


def test_full_batch_fit_keeps_no_training_data_and_is_reproducible(small):
    X, y = small
    a = MetricLearner(module="linear", random_state=1).fit(X, y)
    assert "_resident_batch" not in vars(a.net_)
    b = MetricLearner(module="linear", random_state=1).fit(X, y)
    assert np.array_equal(a.transform(X), b.transform(X))
    assert a.history_[0]["epoch"] == 0 and a.n_epochs_ == len(a.history_) - 1


def test_full_batch_with_validation_keeps_epoch_0_and_early_stopping(small):
    X, y = small
    est = MetricLearner(module="linear", validation_fraction=0.3, patience=1,
                        max_epochs=4, random_state=0).fit(X, y)
    assert est.history_[0]["valid_score"] == est.baseline_score_
    assert all("valid_score" in h for h in est.history_)
    assert est.stop_reason_ in ("patience", "max_epochs")


class _GradSpy(Callback):
    def initialize(self):
        self.calls_ = 0
        return self

    def on_grad_computed(self, net, named_parameters, **kwargs):
        self.calls_ += 1


def test_a_gradient_callback_gets_every_evaluation(small):
    # a callback on the gradients (e.g. clipping) needs skorch's step, which
    # notifies it once per evaluation of the loss
    X, y = small
    est = MetricLearner(module="linear", callbacks=[("spy", _GradSpy())],
                        random_state=0).fit(X, y)
    opt = est.net_.optimizer_
    evals = opt.state[opt.param_groups[0]["params"][0]]["func_evals"]
    assert dict(est.net_.callbacks_)["spy"].calls_ == evals > 3


def _logistic_problem(dtype):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(60, 5, generator=g, dtype=dtype)
    w_true = torch.randn(5, 1, generator=g, dtype=dtype)
    y = ((X @ w_true).squeeze(1) + 0.5 * torch.randn(60, generator=g, dtype=dtype) > 0)
    return X, y.to(dtype)


def _run(opt_cls, dtype, steps=3, **kwargs):
    X, y = _logistic_problem(dtype)
    model = torch.nn.Linear(5, 1).to(dtype)
    with torch.no_grad():
        model.weight.fill_(0.1)
        model.bias.fill_(-0.2)
    opt = opt_cls(model.parameters(), **kwargs)
    losses = []

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(X).squeeze(1), y)
        loss = loss + 1e-2 * model.weight.pow(2).sum()
        loss.backward()
        return loss

    for _ in range(steps):
        losses.append(float(opt.step(closure).detach()))
    state = opt.state[opt.param_groups[0]["params"][0]]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double()
    return flat, losses, state["func_evals"], state["n_iter"]


def _scipy_reference(dtype=torch.float64):
    """The minimiser of the logistic problem by SciPy's L-BFGS-B run to convergence."""
    from scipy.optimize import minimize

    X, y = _logistic_problem(dtype)

    def fun(v):
        w = torch.tensor(v, dtype=torch.float64, requires_grad=True)
        logits = X.double() @ w[:5] + w[5]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y.double())
        loss = loss + 1e-2 * w[:5].pow(2).sum()
        loss.backward()
        return float(loss), w.grad.numpy()

    start = np.array([0.1] * 5 + [-0.2])
    return minimize(fun, start, jac=True, method="L-BFGS-B",
                    options=dict(maxiter=1000, gtol=1e-12, ftol=1e-15)).x


def test_scipy_lbfgs_reaches_the_minimum_and_torch_lbfgs_agrees():
    kwargs = dict(line_search_fn="strong_wolfe", max_iter=10, tolerance_change=1e-12,
                  tolerance_grad=1e-10)
    ours = _run(ScipyLBFGS, torch.float64, steps=5, **kwargs)
    theirs = _run(torch.optim.LBFGS, torch.float64, steps=5, **kwargs)
    ref = _scipy_reference()
    np.testing.assert_allclose(ours[0].numpy(), ref, rtol=1e-6, atol=1e-8)
    # torch's stops once its steps are shorter than tolerance_change
    np.testing.assert_allclose(theirs[0].numpy(), ref, rtol=1e-4, atol=1e-6)
    assert ours[1][-1] < ours[1][0]  # the loss at each step's start decreases
    start = torch.tensor([0.1] * 5 + [-0.2], dtype=torch.float64)
    assert (ours[0] - start).abs().max() > 0.1  # it moved


def test_scipy_lbfgs_step_keeps_to_max_iter():
    one = _run(ScipyLBFGS, torch.float64, steps=1, line_search_fn="strong_wolfe", max_iter=2)
    assert one[3] == 2  # iterations of the one step
    assert 3 <= one[2] <= 5  # evaluations: the start, then 1-2 per iteration
    ref = _scipy_reference()
    assert np.abs(one[0].numpy() - ref).max() > 1e-3  # not converged in 2 iterations


@pytest.mark.parametrize("kwargs", [
    dict(lr=0.5, max_iter=6, line_search_fn="strong_wolfe"),  # a step size SciPy has not
    dict(max_iter=6),  # no line search: fixed steps
])
def test_scipy_lbfgs_falls_back_to_torch_where_scipy_cannot_stand_in(kwargs):
    ours = _run(ScipyLBFGS, torch.float64, **kwargs)
    theirs = _run(torch.optim.LBFGS, torch.float64, **kwargs)
    assert ours[2:] == theirs[2:]
    assert ours[1] == theirs[1]
    assert torch.equal(ours[0], theirs[0])


def test_scipy_lbfgs_in_float32_reaches_the_float64_minimum():
    ours = _run(ScipyLBFGS, torch.float32, steps=5, line_search_fn="strong_wolfe")
    np.testing.assert_allclose(ours[0].numpy(), _scipy_reference(torch.float32), rtol=1e-3, atol=1e-3)


def test_scipy_lbfgs_is_what_lbfgs_names():
    assert engine.OPTIMIZERS["lbfgs"] is torch.optim.LBFGS
    assert issubclass(ScipyLBFGS, torch.optim.LBFGS)


def test_full_batch_lbfgs_runs_scipy_and_mini_batches_torch(small, monkeypatch):
    import skmetric._metric_learner as ml_module

    X, y = small
    est = MetricLearner(module="linear", random_state=0).fit(X, y)
    assert type(est.net_.optimizer_) is ScipyLBFGS
    monkeypatch.setattr(ml_module, "_LBFGS_MAX_BATCH", 20)
    est = MetricLearner(module="linear", random_state=0).fit(X, y)
    assert type(est.net_.optimizer_) is torch.optim.LBFGS


def test_reused_evaluation_saves_the_repeated_one(small, monkeypatch):
    # each epoch's step starts where the last one ended: on the resident
    # batch that point's loss and gradient are reused, not evaluated again,
    # and the trajectory is the one of the general path (checked above)
    X, y = small
    evals = []
    real = engine._EngineNet._evaluate
    monkeypatch.setattr(engine._EngineNet, "_evaluate",
                        lambda self, *a: evals.append(1) or real(self, *a))
    est = MetricLearner(module="linear", random_state=0).fit(X, y)
    opt = est.net_.optimizer_
    counted = opt.state[opt.param_groups[0]["params"][0]]["func_evals"]
    assert len(evals) == counted
    with monkeypatch.context() as m:
        _general_path(m)
        ref = MetricLearner(module="linear", random_state=0).fit(X, y)
    ref_evals = ref.net_.optimizer_.state[ref.net_.optimizer_.param_groups[0]["params"][0]]
    assert counted == ref_evals["func_evals"] - (est.n_epochs_ - 1)

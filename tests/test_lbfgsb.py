"""``optimizer="lbfgsb"``: SciPy's L-BFGS-B as a torch optimizer in the fit loop.

The optimizer must take exactly SciPy's iterates (it only evaluates the
closure for SciPy), treat several parameters as one flat vector, keep the
NaN guard working, and be what ``MetricLearner(module="linear")`` trains
small data with (one epoch, one full batch, bit-identical refits).
"""

import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize
from sklearn.datasets import load_iris, load_wine
from sklearn.preprocessing import StandardScaler

from skmetric import MetricLearner, TrainingDivergedError
from skmetric._training import _lbfgsb as _lbfgsb_module
from skmetric._training._lbfgsb import LBFGSB
from skmetric.losses import NCALoss


def _quadratic(n=12, seed=0):
    rng = np.random.RandomState(seed)
    M = rng.normal(size=(n, n))
    A = M @ M.T / n + 0.1 * np.eye(n)  # positive definite, condition ~ 100
    b = rng.normal(size=n)
    return A, b


def _closure(params, A, b, counter):
    A_t, b_t = torch.as_tensor(A), torch.as_tensor(b)

    def closure():
        for p in params:
            p.grad = None
        x = torch.cat([p.reshape(-1) for p in params])
        loss = 0.5 * x @ (A_t @ x) - b_t @ x
        loss.backward()
        counter.append(loss.item())
        return loss

    return closure


def test_step_takes_scipys_iterates_on_a_convex_quadratic():
    A, b = _quadratic()
    x = torch.zeros(12, dtype=torch.float64, requires_grad=True)
    opt = LBFGSB([x], max_iter=8, tolerance_change=1e-12, tolerance_grad=1e-12)
    values = []
    first = opt.step(_closure([x], A, b, values))
    reference = minimize(lambda v: (0.5 * v @ A @ v - b @ v, A @ v - b), np.zeros(12),
                         jac=True, method="L-BFGS-B",
                         options={"maxiter": 8, "maxfun": 10, "maxcor": 10,
                                  "ftol": 1e-12, "gtol": 1e-12})
    np.testing.assert_allclose(x.detach().numpy(), reference.x, rtol=1e-9, atol=1e-12)
    state = opt.state[x]
    assert state["func_evals"] == reference.nfev == len(values) > 3
    assert state["n_iter"] == reference.nit == 8  # stopped by max_iter, not converged
    assert first.item() == values[0] == 0.0  # the loss at the start (x = 0)
    # further steps converge to the solution of A x = b
    for _ in range(10):
        opt.step(_closure([x], A, b, values))
    np.testing.assert_allclose(x.detach().numpy(), np.linalg.solve(A, b), atol=1e-4)


def test_several_parameters_are_one_flat_vector():
    A, b = _quadratic(seed=1)
    whole = torch.zeros(12, dtype=torch.float64, requires_grad=True)
    parts = [torch.zeros(3, 2, dtype=torch.float64, requires_grad=True),
             torch.zeros(6, dtype=torch.float64, requires_grad=True)]
    LBFGSB([whole], max_iter=6).step(_closure([whole], A, b, []))
    LBFGSB(parts, max_iter=6).step(_closure(parts, A, b, []))
    joined = torch.cat([p.detach().reshape(-1) for p in parts])
    assert torch.equal(joined, whole.detach())
    assert not torch.equal(whole.detach(), torch.zeros(12, dtype=torch.float64))


def test_float32_parameters_and_lr_check():
    A, b = _quadratic(seed=2)
    x = torch.zeros(12, dtype=torch.float32, requires_grad=True)
    A32, b32 = A.astype(np.float32), b.astype(np.float32)
    LBFGSB([x], max_iter=50, tolerance_change=1e-9).step(_closure([x], A32, b32, []))
    assert x.dtype == torch.float32
    # float32 losses near the minimum: about three digits
    np.testing.assert_allclose(x.detach().numpy(), np.linalg.solve(A, b), rtol=1e-2, atol=0)
    with pytest.raises(ValueError, match="lr=1.0 only"):
        LBFGSB([x], lr=0.5)


def test_non_finite_loss_is_returned_for_the_nan_guard():
    x = torch.ones(3, requires_grad=True)

    def closure():
        x.grad = None
        loss = (x * torch.tensor(float("nan"))).sum()
        loss.backward()
        return loss

    out = LBFGSB([x]).step(closure)
    assert torch.isnan(out)
    # a finite start, then non-finite values everywhere else: the step ends
    # at a finite point and returns the start's loss
    y = torch.zeros(2, requires_grad=True)

    def cliff():
        y.grad = None
        loss = (y - 1.0).pow(2).sum()
        if (y.detach() != 0).any():
            loss = loss * torch.tensor(float("inf"))
        loss.backward()
        return loss

    out = LBFGSB([y]).step(cliff)
    assert out.item() == 2.0
    assert torch.isfinite(y).all()


def test_diverging_linear_fit_raises_as_with_torch_lbfgs():
    X, y = load_iris(return_X_y=True)
    # logits of 1e38 x squared distances: inf - inf, the loss is NaN at the start
    loss = NCALoss(temperature=1e-38)
    for optimizer in ("lbfgsb", "lbfgs"):
        est = MetricLearner(module="linear", optimizer=optimizer, loss=loss, random_state=0)
        with pytest.raises(TrainingDivergedError, match="became nan at epoch 1"):
            est.fit(X, y)
        assert not hasattr(est, "net_")


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_linear_default_is_one_lbfgsb_epoch_on_small_data(wine):
    X, y = wine
    est = MetricLearner(module="linear", random_state=0).fit(X, y)
    opt = est.net_.optimizer_
    assert isinstance(opt, LBFGSB)
    assert est.n_epochs_ == 1 and len(est.history_) == 2  # epoch 0 and the one epoch
    assert est.history_[1]["batches"][0]["train_batch_size"] == len(X)
    evals = opt.state[opt.param_groups[0]["params"][0]]["func_evals"]
    assert 3 < evals <= 18  # max_iter=15, at most max_eval = 18 evaluations
    # the NCA loss of the kept map is the last one SciPy accepted: below the start's
    assert est.history_[1]["train_loss"] > est.loss_(
        torch.as_tensor(est.transform(X)), torch.as_tensor(y)).item()
    again = MetricLearner(module="linear", random_state=0).fit(X, y)
    assert torch.equal(est.module_.skip.weight, again.module_.skip.weight)
    assert [h.get("train_loss") for h in est.history_] == [
        h.get("train_loss") for h in again.history_]


def test_explicit_lbfgsb_equals_the_auto_setting(wine):
    X, y = wine
    auto = MetricLearner(module="linear", random_state=0).fit(X, y)
    named = MetricLearner(module="linear", optimizer="lbfgsb", max_epochs=1, lr=1.0,
                          random_state=0).fit(X, y)
    assert torch.equal(auto.module_.skip.weight, named.module_.skip.weight)
    assert auto.history_[1]["train_loss"] == named.history_[1]["train_loss"]
    # max_iter is the optimizer's (optimizer_params): fewer iterations, another map
    short = MetricLearner(module="linear", optimizer_params={"max_iter": 2},
                          random_state=0).fit(X, y)
    opt = short.net_.optimizer_
    assert opt.state[opt.param_groups[0]["params"][0]]["n_iter"] == 2
    assert not torch.equal(short.module_.skip.weight, auto.module_.skip.weight)


def _rosenbrock(x):
    f = np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return float(f), g


def _walled(x):
    # a quadratic with a wall of non-finite values: the line search backs off
    if x[0] > 0.5:
        return math.inf, np.zeros_like(x)
    return float(np.sum((x - 1.0) ** 2)), 2.0 * (x - 1.0)


@pytest.mark.parametrize("name, fun, x0, options", [
    ("quadratic", lambda v: (0.5 * v @ _quadratic()[0] @ v - _quadratic()[1] @ v,
                             _quadratic()[0] @ v - _quadratic()[1]), np.zeros(12),
     dict(maxiter=30, maxfun=60, maxcor=10, gtol=1e-8, ftol=1e-12)),
    # stopped by max_iter; by max_eval (maxfun); by the tolerance on the loss
    ("rosenbrock, maxiter", _rosenbrock, np.full(6, -1.2),
     dict(maxiter=15, maxfun=18, maxcor=10, gtol=1e-5, ftol=1e-3)),
    ("rosenbrock, maxfun", _rosenbrock, np.full(6, -1.2),
     dict(maxiter=100, maxfun=7, maxcor=3, gtol=1e-5, ftol=1e-12)),
    ("rosenbrock, ftol", _rosenbrock, np.linspace(-1, 1, 5),
     dict(maxiter=200, maxfun=300, maxcor=10, gtol=1e-5, ftol=1e-3)),
    ("non-finite wall", _walled, np.zeros(3),
     dict(maxiter=20, maxfun=40, maxcor=10, gtol=1e-5, ftol=1e-9)),
])
def test_own_driver_loop_repeats_scipys_minimize(name, fun, x0, options, monkeypatch):
    # the optimizer runs SciPy's driver loop of the compiled routine itself
    # (no ``minimize`` wrappers): the same evaluation points in the same
    # order, the same result, bit for bit, as ``minimize`` (the fallback)
    calls = {"own": [], "minimize": []}

    def recorded(key):
        def f(x):
            calls[key].append(x.copy())
            value, grad = fun(x)
            return value, grad
        return f

    assert _lbfgsb_module._setulb is not None  # SciPy >= 1.15 here: the own loop runs
    x_own, f_own, nit_own = _lbfgsb_module._minimize(recorded("own"), x0.copy(), options)
    monkeypatch.setattr(_lbfgsb_module, "_setulb", None)
    x_ref, f_ref, nit_ref = _lbfgsb_module._minimize(recorded("minimize"), x0.copy(), options)
    reference = minimize(fun, x0.copy(), jac=True, method="L-BFGS-B", options=options)
    assert np.array_equal(x_own, reference.x) and np.array_equal(x_ref, reference.x)
    assert f_own == f_ref == reference.fun and nit_own == nit_ref == reference.nit
    assert len(calls["own"]) == len(calls["minimize"]) == reference.nfev > 2
    for a, b in zip(calls["own"], calls["minimize"]):
        assert np.array_equal(a, b)

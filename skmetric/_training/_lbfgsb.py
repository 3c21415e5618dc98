"""SciPy's L-BFGS-B as a torch optimizer: a whole quasi-Newton run per step.

``torch.optim.LBFGS`` runs its two-loop recursion and strong-Wolfe line
search in Python on small tensors: on a small full-batch problem (a linear
metric on a few hundred rows) that costs as much as the loss itself.  SciPy's
L-BFGS-B runs them in compiled code.  One :meth:`LBFGSB.step` runs
``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` on the flat float64
parameters for up to ``max_iter`` iterations, each evaluation being one call
of the training step's closure (zero the gradients, forward, loss,
backward), as scikit-learn's ``NeighborhoodComponentsAnalysis`` does with
its numpy loss.  The curvature pairs live within one step: the optimizer
suits one full batch per epoch and one epoch (a new step starts a new
quasi-Newton run).
"""

import math

import numpy as np
import torch
from scipy.optimize import minimize

try:  # SciPy's compiled L-BFGS-B routine (private; its signature since SciPy 1.15)
    from scipy.optimize._lbfgsb import setulb as _setulb
except ImportError:  # pragma: no cover
    _setulb = None

__all__ = ["LBFGSB"]

_SETULB_SIGNATURE = "setulb(m,x,l,u,nbd,f,g,factr,pgtol,wa,iwa,task,lsave,isave,dsave,maxls,ln_task)"
# SciPy's default number of line-search steps per iteration (``maxls``)
_MAXLS = 20


class LBFGSB(torch.optim.Optimizer):
    """L-BFGS-B of SciPy over the parameters; one step = one minimisation.

    Parameters
    ----------
    params : iterable of tensors or dicts
        The parameters (one group; floating point, on any device).
    lr : float, default=1.0
        Must be 1.0: the line search sets every step (torch's ``LBFGS``
        scales its first step by ``lr``; SciPy has no such setting).
    max_iter : int, default=30
        Iterations per step (SciPy's ``maxiter``).
    max_eval : int or None, default=None
        Loss evaluations per step (SciPy's ``maxfun``); None: ``max_iter * 5 // 4``
        as torch's ``LBFGS``.
    tolerance_grad : float, default=1e-5
        Stop when the largest gradient entry is below it (SciPy's ``gtol``).
    tolerance_change : float, default=1e-4
        Stop when an iteration lowers the loss by less than
        ``tolerance_change * max(|loss|, 1)`` (SciPy's ``ftol``).
    history_size : int, default=10
        Curvature pairs kept (SciPy's ``maxcor``).

    Notes
    -----
    ``step(closure)`` returns the loss of the first evaluation (as torch's
    ``LBFGS``), or a non-finite loss when the minimisation ended at one
    (so that a NaN guard sees it).  The parameters are left at SciPy's
    result.  ``state[first parameter]`` counts ``func_evals`` and ``n_iter``
    over all steps.  Evaluations run on the parameters' device and dtype;
    SciPy works on a float64 host copy.
    """

    def __init__(self, params, lr=1.0, max_iter=30, max_eval=None, tolerance_grad=1e-5,
                 tolerance_change=1e-4, history_size=10):
        if lr != 1.0:
            raise ValueError(
                f"LBFGSB takes lr=1.0 only (the line search sets every step); got "
                f"lr={lr!r}."
            )
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGSB doesn't support per-parameter options "
                             "(parameter groups).")
        self._params = self.param_groups[0]["params"]

    @torch.no_grad()
    def step(self, closure):
        """Minimise the loss that ``closure`` computes (and back-propagates)."""
        group = self.param_groups[0]
        params = self._params
        state = self.state[params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        sizes = [p.numel() for p in params]
        # flat float64 host buffers: ``x_t`` / ``grad_t`` share memory with
        # ``x`` / ``grad``; each parameter is a slice of them
        x = np.empty(sum(sizes))
        grad = np.empty(sum(sizes))
        x_t, grad_t = torch.from_numpy(x), torch.from_numpy(grad)
        parts, start = [], 0
        for p, size in zip(params, sizes):
            parts.append((p, x_t[start:start + size].view(p.shape),
                          grad_t[start:start + size].view(p.shape)))
            start += size
        for p, x_part, _ in parts:
            x_part.copy_(p)
        first, bad = [], []

        def load(values):
            """The parameters set to the flat float64 ``values``."""
            x[:] = values
            for p, x_part, _ in parts:
                p.copy_(x_part)

        def fun(values):
            load(values)
            with torch.enable_grad():
                loss = closure()
            if not first:
                first.append(loss)
            value = float(loss)
            state["func_evals"] += 1
            if not math.isfinite(value):
                bad.append(loss)
                # SciPy's line search backs off from a non-finite point
                grad.fill(0.0)
                return math.inf, grad
            for p, _, g_part in parts:
                if p.grad is None:
                    g_part.zero_()
                else:
                    g_part.copy_(p.grad)
            return value, grad

        options = dict(maxiter=group["max_iter"], maxfun=group["max_eval"],
                       maxcor=group["history_size"], gtol=group["tolerance_grad"],
                       ftol=group["tolerance_change"])
        result_x, result_f, n_iter = _minimize(fun, x.copy(), options)
        state["n_iter"] += n_iter
        load(result_x)
        if not math.isfinite(result_f):
            return bad[-1] if bad else torch.tensor(result_f)
        return first[0]


def _minimize(fun, x0, options):
    """``(x, f, n_iter)`` of SciPy's L-BFGS-B from ``x0`` (no bounds).

    ``fun(x) -> (f, grad)``; ``options`` as ``minimize``'s for L-BFGS-B.
    Where SciPy's compiled routine has the signature that its own driver
    calls (SciPy 1.15 and later), the driver loop of
    ``scipy.optimize._lbfgsb_py._minimize_lbfgsb`` is run here, without its
    wrappers (``minimize``'s option checks, ``ScalarFunction``'s copies and
    caches): the same calls of the routine on the same numbers, so the same
    iterates, evaluations and result.  Otherwise through ``minimize``.
    """
    if _setulb is None or (_setulb.__doc__ or "").strip() != _SETULB_SIGNATURE:
        result = minimize(lambda x: tuple(np.copy(v) for v in fun(x)), x0, jac=True,
                          method="L-BFGS-B", options=options)
        return result.x, float(result.fun), int(result.nit)
    return _lbfgsb_loop(fun, x0, **options)


def _lbfgsb_loop(fun, x0, *, maxiter, maxfun, maxcor, gtol, ftol):
    """SciPy's driver loop of ``setulb`` (``_minimize_lbfgsb``, no bounds).

    As there: ``fun`` is evaluated once at ``x0`` first; the routine asks
    for the value and gradient (task 3) at a point, evaluated unless it is
    the last one evaluated; a new iteration (task 1) stops the run after
    ``maxiter`` iterations or more than ``maxfun`` evaluations.
    """
    n = x0.size
    m = maxcor
    x = np.array(x0, dtype=np.float64)
    nbd = np.zeros(n, np.int32)
    low = np.zeros(n, np.float64)
    high = np.zeros(n, np.float64)
    wa = np.zeros(2 * m * n + 5 * n + 11 * m * m + 8 * m, np.float64)
    iwa = np.zeros(3 * n, dtype=np.int32)
    task = np.zeros(2, dtype=np.int32)
    ln_task = np.zeros(2, dtype=np.int32)
    lsave = np.zeros(4, dtype=np.int32)
    isave = np.zeros(44, dtype=np.int32)
    dsave = np.zeros(29, dtype=np.float64)
    factr = ftol / np.finfo(float).eps
    last_x = x.copy()
    f_last, g_last = fun(last_x.copy())
    g_last = np.array(g_last, dtype=np.float64)
    n_eval = 1
    f = np.array(0.0, dtype=np.float64)
    g = np.zeros(n, dtype=np.float64)
    n_iter = 0
    while True:
        g = np.array(g, dtype=np.float64)
        _setulb(m, x, low, high, nbd, f, g, factr, gtol, wa, iwa, task, lsave, isave,
                dsave, _MAXLS, ln_task)
        if task[0] == 3:
            if not np.array_equal(x, last_x):
                last_x = x.copy()
                f_last, g_last = fun(x.copy())
                g_last = np.array(g_last, dtype=np.float64)
                n_eval += 1
            f, g = f_last, g_last
        elif task[0] == 1:
            n_iter += 1
            if n_iter >= maxiter:
                task[0], task[1] = 5, 504
            elif n_eval > maxfun:
                task[0], task[1] = 5, 502
        else:
            break
    return x, float(f), n_iter

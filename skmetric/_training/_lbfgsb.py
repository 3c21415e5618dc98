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

__all__ = ["LBFGSB"]


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
        closure = torch.enable_grad()(closure)
        sizes = [p.numel() for p in params]
        x0 = np.concatenate([p.detach().reshape(-1).double().cpu().numpy()
                             for p in params])
        first, bad = [], []

        def fun(x):
            if len(params) == 1:
                params[0].copy_(torch.from_numpy(x).view_as(params[0]))
            else:
                for p, part in zip(params, np.split(x, np.cumsum(sizes)[:-1])):
                    p.copy_(torch.from_numpy(part).view_as(p))
            loss = closure()
            if not first:
                first.append(loss)
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
            grad = (grads[0].reshape(-1) if len(grads) == 1
                    else torch.cat([g.reshape(-1) for g in grads]))
            value = float(loss)
            state["func_evals"] += 1
            if not math.isfinite(value):
                bad.append(loss)
                # SciPy's line search backs off from a non-finite point
                return math.inf, np.zeros_like(x)
            return value, grad.double().cpu().numpy()

        result = minimize(fun, x0, jac=True, method="L-BFGS-B", options={
            "maxiter": group["max_iter"], "maxfun": group["max_eval"],
            "maxcor": group["history_size"], "gtol": group["tolerance_grad"],
            "ftol": group["tolerance_change"]})
        state["n_iter"] += int(result.nit)
        x = result.x
        if len(params) == 1:
            params[0].copy_(torch.from_numpy(x).view_as(params[0]))
        else:
            for p, part in zip(params, np.split(x, np.cumsum(sizes)[:-1])):
                p.copy_(torch.from_numpy(part).view_as(p))
        if not math.isfinite(float(result.fun)):
            return bad[-1] if bad else torch.tensor(float(result.fun))
        return first[0]

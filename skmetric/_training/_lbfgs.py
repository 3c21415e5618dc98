"""Full-batch L-BFGS by SciPy (``optimizer="lbfgs"`` on one batch).

``torch.optim.LBFGS`` does its algebra -- the two-loop recursion, the line
search's dot products and interpolations -- as tensor operations, a few
microseconds each.  On the small problems full-batch L-BFGS suits (a linear
metric on a few hundred rows, where one evaluation of the loss takes well
under a millisecond) that bookkeeping costs more than the evaluations.
:class:`ScipyLBFGS` hands each training step to SciPy's L-BFGS-B
(``scipy.optimize.minimize``, the optimizer scikit-learn's
``NeighborhoodComponentsAnalysis`` uses), which keeps the iterate, the
curvature pairs and the line search in compiled code on one float64
vector; the model's parameters are written once per evaluation of the
loss.  It takes ``torch.optim.LBFGS``'s parameters and falls back to its
step where SciPy cannot stand in (parameters off the CPU, complex or
sparse, a step size ``lr`` other than 1, or no line search).
"""

import numpy as np
import torch

__all__ = ["ScipyLBFGS"]

_CONTROLLER = []


def _one_blas_thread():
    """A context that runs SciPy's BLAS/LAPACK calls on one thread.

    L-BFGS-B's algebra is a few small products per iteration: with BLAS
    threads it waits on their synchronisation (ten times slower on a loaded
    2-core machine) and gains nothing.  The controller is built once per
    process (building it lists the loaded libraries: milliseconds).
    """
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


class ScipyLBFGS(torch.optim.LBFGS):
    """``torch.optim.LBFGS``'s interface; each ``step`` is one SciPy L-BFGS-B run.

    A step runs at most ``max_iter`` iterations and ``max_eval`` evaluations
    of ``closure`` from the current parameters, with ``history_size``
    curvature pairs, and stops when the largest gradient entry is at most
    ``tolerance_grad`` or the loss decreases by less than
    ``tolerance_change`` (relative to ``max(|loss|, 1)``, SciPy's ``ftol``).
    SciPy's run does not carry its curvature pairs over to the next step:
    each training step (epoch of full-batch training) starts afresh from
    the current parameters.  A closure marked ``same_function`` (every step
    evaluates the same function, e.g. the same full batch) reuses the
    evaluation at the point where the last step ended.  Returns the loss of
    the first evaluation (at the step's start), as torch's.
    """

    def _scipy_ready(self):
        group = self.param_groups[0]
        return (
            len(self.param_groups) == 1
            and float(group["lr"]) == 1.0
            and group["line_search_fn"] == "strong_wolfe"
            and all(p.device.type == "cpu" and p.layout == torch.strided
                    and not p.is_complex() and p.dtype in (torch.float32, torch.float64)
                    for p in self._params)
        )

    def _flat(self, grads):
        parts = []
        for p in self._params:
            v = p.grad if grads else p
            parts.append(np.zeros(p.numel()) if v is None
                         else v.detach().numpy().reshape(-1).astype(np.float64))
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def _write(self, x):
        start = 0
        for p in self._params:
            p.copy_(torch.from_numpy(x[start:start + p.numel()]).view_as(p))
            start += p.numel()

    @torch.no_grad()
    def step(self, closure):
        """At most ``max_iter`` L-BFGS-B iterations on ``closure`` (SciPy)."""
        if not self._scipy_ready():
            return super().step(closure)
        from scipy.optimize import minimize

        group = self.param_groups[0]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        same_function = getattr(closure, "same_function", False)
        closure = torch.enable_grad()(closure)
        last = state.pop("last", None) if same_function else None
        x0 = self._flat(grads=False)
        first = []
        evaluated = {}

        def fun(x):
            if last is not None and not first and np.array_equal(x, last[0]):
                loss, grad = last[1], last[2]  # where the last step ended
            else:
                self._write(x)
                loss = closure()
                grad = self._flat(grads=True)
                state["func_evals"] += 1
            if not first:
                first.append(loss)
            evaluated["x"], evaluated["loss"], evaluated["grad"] = x.copy(), loss, grad
            return float(loss), grad

        with _one_blas_thread():
            result = minimize(
                fun, x0, jac=True, method="L-BFGS-B",
                options=dict(maxiter=group["max_iter"], maxfun=group["max_eval"],
                             # a run keeps no more pairs than it has iterations
                             maxcor=min(group["history_size"], group["max_iter"]),
                             gtol=group["tolerance_grad"], ftol=group["tolerance_change"]),
            )
        state["n_iter"] += int(result.nit)
        self._write(result.x)
        if same_function and np.array_equal(evaluated["x"], result.x):
            # keyed by the parameters as stored (rounded to their dtype)
            state["last"] = (self._flat(grads=False), evaluated["loss"].detach(),
                             evaluated["grad"])
        return first[0]

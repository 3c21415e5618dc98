"""The one fit loop shared by every torch-backed estimator.

An estimator supplies a module, a criterion (called as
``criterion(module_output, y)``), the training data as float32 features and
integer targets, and optionally held-out data with a scoring function.  The
engine owns everything else: batching (class-balanced P x K or shuffled),
seeding from ``random_state``, device placement, the optimizer, early
stopping on the validation score, the NaN guard, ``history`` and extra
skorch callbacks.  Training runs through a skorch ``NeuralNet``, which the
estimator keeps as its fitted attribute ``net_``.
"""

import copy
import functools
import inspect
import threading
import warnings
import weakref
from collections import defaultdict
from collections.abc import Mapping
from contextlib import contextmanager
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import torch
from sklearn.preprocessing import LabelEncoder
from skorch import NeuralNet
from skorch.callbacks import Callback, LRScheduler
from skorch.dataset import get_len, unpack_data
from skorch.utils import TeeGenerator, to_tensor
from torch.optim.lr_scheduler import CosineAnnealingLR
from torch.utils.data import DataLoader

from ..utils._validation import (
    HasMethods,
    Interval,
    StrOptions,
    check_classification_targets,
    check_random_state,
    validate_data,
)
from ._callbacks import (
    CollapsedEmbeddingWarning,
    NaNGuard,
    PrintLog,
    StartingModelKeptWarning,
    StopTraining,
    TrainingDivergedError,
    TrainingInterruptedWarning,
    ValidationMonitor,
)
from ._lbfgsb import LBFGSB
from ._persistence import check_version, pack_fitted_state, stamp_version, unpack_fitted_state
from ._sampler import ClassBalancedBatchSampler, ShuffledBatchSampler

__all__ = [
    "TRAINING_PARAMETER_CONSTRAINTS",
    "TorchTrainingMixin",
    "guarded_fit",
    "resolve_device",
    "seeded",
]

OPTIMIZERS = {
    "adamw": torch.optim.AdamW,
    "adam": torch.optim.Adam,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
    "lbfgs": torch.optim.LBFGS,
    "lbfgsb": LBFGSB,
}
# defaults of an optimizer given by name, below the user's ``optimizer_params``:
# plain SGD (torch's momentum=0) trains deep nets far slower, so "sgd" means
# SGD with the usual momentum of 0.9; ``optimizer=torch.optim.SGD`` (the
# class) keeps torch's own defaults
OPTIMIZER_DEFAULTS = {"sgd": {"momentum": 0.9},
                      # full-batch quasi-Newton, as NCA's L-BFGS: a line search
                      # sets each step; at most 10 iterations per batch (training
                      # step), fewer once the loss changes by less than 1e-4;
                      # the last 10 curvature pairs, as SciPy's L-BFGS-B under
                      # NCA (torch's 100 cost a few small ops per pair and
                      # iteration).  On the 12 sets of bench_linear_nca.py
                      # (1e-5 and 100 before) the mean 5-NN accuracy is kept
                      # (0.9057 vs 0.9047) with fewer loss evaluations on 7
                      # sets (34 -> 18 on contraceptive), more on 4 (by at
                      # most 3) (docs/metric_learner.md, "Linear metric")
                      "lbfgs": {"line_search_fn": "strong_wolfe", "max_iter": 10,
                                "history_size": 10, "tolerance_change": 1e-4},
                      # SciPy's L-BFGS-B: one step is one minimisation of up
                      # to 15 iterations (a full batch trained in one epoch),
                      # ended once an iteration lowers the loss by less than
                      # 0.1% (of max(|loss|, 1)).  On the 5 sets of at most
                      # 2,048 training rows of bench_linear_nca.py: 9 loss
                      # evaluations on iris and wine (13-14 with 1e-4), 19 on
                      # breast_cancer (27 with 30 iterations; 5-NN accuracy
                      # 0.947 instead of 0.959, NCA's 0.930), the same on
                      # digits and contraceptive (docs/metric_learner.md)
                      "lbfgsb": {"max_iter": 15, "history_size": 10,
                                 "tolerance_change": 1e-3}}
# set by their own estimator parameters, not through ``optimizer_params``
_OWN_PARAMETERS = {"lr": "lr", "weight_decay": "weight_decay", "params": None}

TRAINING_PARAMETER_CONSTRAINTS = {
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "batch_size": [Interval(Integral, 2, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "optimizer": [StrOptions(set(OPTIMIZERS)), type],
    "optimizer_params": [dict, None],
    "lr_schedule": [StrOptions({"cosine", "constant"})],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
    "patience": [Interval(Integral, 1, None, closed="left"), None],
    "device": [StrOptions({"cpu", "cuda", "auto"}), torch.device],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "callbacks": [list, None],
    "accelerator": [HasMethods(["prepare", "backward"]), None],
}


# ``max_epochs="auto"``: the cost of a fit is set by its number of
# optimisation steps, not by the size of the data.  The step budget is the
# samples of AUTO_PASSES passes over the data in batches of ``batch_size``,
# at least AUTO_MIN_STEPS and at most AUTO_MAX_STEPS; an epoch is at least
# AUTO_STEPS_PER_EPOCH steps (several passes over small data), so the
# per-epoch work of the loop (callbacks, history, validation and early
# stopping) is paid once per that many steps.
AUTO_PASSES = 100
AUTO_MIN_STEPS = 50
AUTO_MAX_STEPS = 3000
AUTO_STEPS_PER_EPOCH = 10
# An estimator may pass its own ``(passes, skip_batches)`` as the setting
# ``auto_budget``: the budget is then ``passes * (n_samples / batch_size -
# skip_batches)`` steps, clipped as above (MetricLearner's closed-set default:
# 300 passes' worth of the rows beyond the first batch, so data that fits in
# one or two batches keeps the floor of AUTO_MIN_STEPS).


def auto_epochs(n_samples, batch_size, batches_per_pass, passes=AUTO_PASSES, skip_batches=0):
    """``(n_epochs, min_batches)`` of ``max_epochs="auto"``.

    ``batches_per_pass`` is the sampler's number of batches in one pass over
    the ``n_samples`` training rows; ``min_batches`` its minimum number of
    batches per epoch.  ``n_epochs`` epochs of ``max(batches_per_pass,
    min_batches)`` (whole passes) steps come closest to the step budget
    ``clip(passes * (n_samples / batch_size - skip_batches), AUTO_MIN_STEPS,
    AUTO_MAX_STEPS)``; at least one epoch.
    """
    batches_per_pass = max(1, int(batches_per_pass))
    budget = passes * (n_samples / batch_size - skip_batches)
    budget = min(max(budget, AUTO_MIN_STEPS), AUTO_MAX_STEPS)
    per_pass = -(-AUTO_STEPS_PER_EPOCH // batches_per_pass)
    return max(1, round(budget / (per_pass * batches_per_pass))), AUTO_STEPS_PER_EPOCH


def resolve_device(device):
    """``"auto"`` -> ``"cuda"`` when available, else ``"cpu"``."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but CUDA is not available.")
    return torch.device(device)


class _TensorBatches(torch.utils.data.Dataset):
    """A dataset indexed by whole batches of indices (no per-sample collate)."""

    def __init__(self, X, y):
        self.X = X
        self.y = y

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, idx):
        return self.X[idx], self.y[idx]

    def __getitems__(self, idx):  # a whole batch in one indexing call
        idx = torch.as_tensor(idx)
        return self.X[idx], self.y[idx]


def _whole_batch(batch):
    """``collate_fn`` for batches that ``__getitems__`` already assembled."""
    return batch


class _BatchLoader:
    """An ``iterator_train`` for skorch that yields the sampler's batches.

    The sampler is the loader's ``batch_sampler`` (so that Accelerate can
    shard batches across processes) and each batch is gathered by one
    fancy-indexing call instead of a per-sample collate.
    """

    def __init__(self, sampler, lean=False):
        self.sampler = sampler
        self.lean = lean

    def __call__(self, dataset, batch_size=None, shuffle=None, **_):
        if getattr(self, "lean", False):  # absent from older pickles
            return _LeanBatches(dataset, self.sampler)
        return DataLoader(dataset, batch_sampler=self.sampler, collate_fn=_whole_batch)


class _LeanBatches:
    """What the ``DataLoader`` of :class:`_BatchLoader` yields, without it.

    Building a ``DataLoader`` and its iterator at every epoch costs more
    than a small full-batch epoch's loss evaluation.  Without Accelerate
    (which shards a real ``DataLoader``) the batches are gathered here, the
    same ``__getitems__`` calls in the same order; each pass also draws the
    one number the ``DataLoader`` iterator draws from torch's global
    generator (its workers' base seed), so that every later random draw
    (dropout, a loss's sampling) is the same as through a ``DataLoader``.
    """

    def __init__(self, dataset, sampler):
        self.dataset = dataset
        self.sampler = sampler

    def __len__(self):
        return len(self.sampler)

    def __iter__(self):
        batches = iter(self.sampler)
        torch.empty((), dtype=torch.int64).random_()
        for idx in batches:
            yield self.dataset.__getitems__(idx)


class _EngineNet(NeuralNet):
    """skorch net whose early stop is an explicit exception, not Ctrl-C.

    skorch ends training on ``KeyboardInterrupt`` and swallows it, so a real
    Ctrl-C looks like a normal return.  Here a callback raises
    :class:`StopTraining`, and a real interrupt ends the loop, is recorded
    (``_interrupted_epoch``) and is raised again once the estimator's fit
    is complete (:func:`guarded_fit`).
    """

    def __getstate__(self):
        # A fitted estimator only predicts (no estimator resumes training), so
        # the optimizer's per-parameter state (Adam's two moments: twice the
        # weights) is not pickled; a loaded net has an optimizer with empty
        # state, as a new one.  The module and criterion given as instances
        # are the fitted ``module_`` / ``criterion_``: pickled once.
        opt = vars(self).get("optimizer_")
        saved = getattr(opt, "state", None)
        if saved is not None:
            opt.state = defaultdict(dict)
        try:
            state = super().__getstate__()
        finally:
            if saved is not None:
                opt.state = saved
        # The LR scheduler (rebuilt when training starts) refers to the
        # optimizer and would pickle it a second time: the callbacks are
        # pickled as copies without it.
        copies = {}
        for key in ("callbacks", "callbacks_"):
            if isinstance(state.get(key), list):
                state[key] = [_without_scheduler(item, copies) for item in state[key]]
        for name in ("module", "criterion"):
            if name in state and state[name] is vars(self).get(name + "_"):
                state[name] = _SameAsFitted
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        for name in ("module", "criterion"):
            if vars(self).get(name) is _SameAsFitted:
                setattr(self, name, getattr(self, name + "_"))

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """One pass over ``iterator``, as skorch's, without a host sync per batch.

        skorch reads each batch's loss with ``loss.item()``, which waits for
        the device to finish the batch.  Here the losses stay on the device
        and are read together once the epoch ends (one transfer); each
        batch's ``<prefix>_loss`` in ``history`` is then the same number as
        skorch records, so the epoch's ``train_loss`` is unchanged.  During
        the epoch a batch's entry holds ``None``.  The only per-batch sync
        left in training is the NaN guard's (:class:`NaNGuard`).
        """
        if iterator is None:
            return
        key = prefix + "_loss"
        losses = []
        batch_count = 0
        try:
            for batch in iterator:
                self.notify("on_batch_begin", batch=batch, training=training)
                step = step_fn(batch, **fit_params)
                losses.append(step["loss"].detach())
                self.history.record_batch(key, None)  # filled in below
                batch_size = (get_len(batch[0]) if isinstance(batch, (tuple, list))
                              else get_len(batch))
                self.history.record_batch(prefix + "_batch_size", batch_size)
                self.notify("on_batch_end", batch=batch, training=training, **step)
                batch_count += 1
        finally:
            # also when a callback or an interrupt ends the epoch early: the
            # batches run so far carry their loss
            if losses:
                values = _host_floats(losses)
                rows = self.history[-1]["batches"][-len(losses):]
                for row, value in zip(rows, values):
                    row[key] = value
        self.history.record(prefix + "_batch_count", batch_count)

    def train_step(self, batch, **fit_params):
        """skorch's training step, without its per-evaluation chores where unused.

        The same closure as skorch's (zero the gradients, forward, loss,
        backward), evaluated once by first-order optimizers and several
        times per step by L-BFGS.  ``on_grad_computed`` is notified only
        when the net or a callback implements it (skorch builds a generator
        of the parameters for every evaluation), and the gradients are set
        to None directly (:meth:`_zero_grad_optimizer`).
        """
        step_accumulator = self.get_train_step_accumulator()
        notify_grad = _implements(self, NeuralNet, "on_grad_computed") or any(
            _implements(cb, Callback, "on_grad_computed") for _, cb in self.callbacks_)
        evaluate = self._lean_step_single(batch, fit_params) if not notify_grad else None
        if evaluate is None:
            evaluate = functools.partial(self.train_step_single, batch, **fit_params)

        def step_fn():
            self._zero_grad_optimizer()
            step = evaluate()
            step_accumulator.store_step(step)
            if notify_grad:
                self.notify(
                    "on_grad_computed",
                    named_parameters=TeeGenerator(self.get_all_learnable_params()),
                    batch=batch,
                    training=True,
                )
            return step["loss"]

        self._step_optimizer(step_fn)
        return step_accumulator.get_step()

    def _lean_step_single(self, batch, fit_params):
        """skorch's ``train_step_single`` for ``batch``, with its per-batch work done once.

        A function that computes ``{"loss", "y_pred"}`` as skorch's
        ``train_step_single(batch)`` does (training mode, the module on the
        input, the criterion on its output and the target, backward), with
        what does not change between evaluations of one batch done here,
        once: setting training mode, unpacking the batch and moving it to
        the device (``infer`` and ``get_loss`` call ``to_tensor`` at every
        evaluation).  None when a subclass (Accelerate's) overrides one of
        those methods or the input is a dict: skorch's method is then used.
        """
        cls = type(self)
        if (cls.train_step_single is not NeuralNet.train_step_single
                or cls.infer is not NeuralNet.infer or cls.get_loss is not NeuralNet.get_loss):
            return None
        Xi, yi = unpack_data(batch)
        Xi = to_tensor(Xi, device=self.device)
        if isinstance(Xi, Mapping):
            return None
        yi = to_tensor(yi, device=self.device)
        self._set_training(True)
        module, criterion = self.module_, self.criterion_

        def evaluate():
            y_pred = module(Xi, **fit_params)
            loss = criterion(y_pred, yi)
            loss.backward()
            return {"loss": loss, "y_pred": y_pred}

        return evaluate

    def _zero_grad_optimizer(self, set_to_none=None):
        """As skorch's: ``optimizer.zero_grad()`` (gradients set to None).

        A plain torch optimizer's ``zero_grad`` passes through the dynamo
        and profiler wrappers (tens of microseconds per call, paid at every
        L-BFGS evaluation); its parameters' gradients are set to None here
        instead, the same result.  Other optimizers (Accelerate's wrapper,
        an optimizer with its own ``zero_grad``) are called as usual.
        """
        for name in self._optimizers:
            optimizer = getattr(self, name + "_")
            if set_to_none is None and (
                    type(optimizer).zero_grad is torch.optim.Optimizer.zero_grad):
                for group in optimizer.param_groups:
                    for param in group["params"]:
                        param.grad = None
            elif set_to_none is None:
                optimizer.zero_grad()
            else:
                optimizer.zero_grad(set_to_none=set_to_none)

    def _set_training(self, training=True):
        """As skorch's, skipping modules already in that mode.

        skorch calls it at every loss evaluation (each L-BFGS line-search
        step); ``Module.train`` sets the flag on every submodule through
        ``Module.__setattr__``, reading it is cheaper.
        """
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and any(
                    sub.training != training for sub in module.modules()):
                module.train(training)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        if not self.initialized_:
            self.initialize()
        self.notify("on_train_begin", X=X, y=y)
        self._stop_message = None
        self._interrupted_epoch = self._interrupt = None
        try:
            self.fit_loop(X, y, **fit_params)
        except StopTraining as exc:
            self._stop_message = str(exc) or "a callback raised StopTraining"
        except KeyboardInterrupt as exc:
            # the training loop ends here (weights as they are, or the best
            # epoch's once ``on_train_end`` restores them); the estimator
            # finishes its fit and :func:`guarded_fit` raises it again
            self._interrupted_epoch, self._interrupt = len(self.history), exc
        self.notify("on_train_end", X=X, y=y)
        return self


@functools.lru_cache(maxsize=256)
def _seed_of_int(random_state):
    """``_make_seed`` of an integer ``random_state`` (a new ``RandomState``
    costs about a millisecond; the seed depends on the integer only)."""
    rng = check_random_state(random_state)
    return int(rng.randint(np.iinfo(np.int32).max))


@functools.lru_cache(maxsize=64)
def _signature(optimizer):
    """``inspect.signature`` of an optimizer class (hundreds of microseconds)."""
    return inspect.signature(optimizer)


def _implements(obj, base, name):
    """Whether ``obj``'s class overrides ``base``'s method ``name`` (a hook)."""
    return getattr(type(obj), name, None) is not getattr(base, name)


def _host_floats(losses):
    """Python floats of a list of scalar loss tensors, in one device transfer.

    Each value equals ``loss.item()`` (float32, bfloat16 and float16 widen
    to float64 exactly).
    """
    flat = [v.reshape(()) for v in losses]
    same = all(v.dtype == flat[0].dtype and v.device == flat[0].device for v in flat)
    if same:
        return torch.stack(flat).cpu().tolist()
    return [v.item() for v in flat]


def _without_scheduler(item, copies):
    """``(name, callback)`` or a callback, copied without its ``lr_scheduler_``."""
    if isinstance(item, tuple) and len(item) == 2:
        return (item[0], _without_scheduler(item[1], copies))
    if getattr(item, "lr_scheduler_", None) is None:
        return item
    if id(item) not in copies:
        clone = copy.copy(item)
        clone.lr_scheduler_ = None
        copies[id(item)] = clone
    return copies[id(item)]


class _Float64Copy:
    """Pickle marker: ``_module_float64_`` is ``module_`` in float64, rebuilt on loading."""


def _is_float64_of(copy64, module):
    """Whether ``copy64`` is exactly ``copy.deepcopy(module).double()``."""
    if type(copy64) is not type(module):
        return False
    a, b = copy64.state_dict(), module.state_dict()
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        y = y.double() if y.is_floating_point() else y
        if x.dtype != y.dtype or x.shape != y.shape or not torch.equal(x.cpu(), y.cpu()):
            return False
    return True


class _SameAsFitted:
    """Pickle marker: this init attribute is the fitted attribute ``<name>_``."""


class _NetPart(NamedTuple):
    """Pickle marker: an estimator attribute that is a submodule of its net."""

    attr: str  # "module_" or "criterion_"
    path: str  # for ``get_submodule`` ("" is the module itself)


def _no_print(*args, **kwargs):
    """Print sink of the per-epoch log when ``verbose=0``."""


# a trained embedding whose spread (total variance) is below this fraction of
# its mean squared norm has collapsed: all training samples sit at one point
# up to float rounding (a standard deviation of 1e-3 of the norm, or less)
COLLAPSE_TOLERANCE = 1e-6
# rows of the training data embedded for the collapse check
_COLLAPSE_ROWS = 2048


def embedding_spread(module, X, device):
    """Relative spread ``trace(cov) / mean squared norm`` of ``module``'s outputs.

    0 when every row of ``X`` maps to the same point (and when all outputs
    are zero); about 1 for centred, well spread outputs.  None when the
    module does not return one tensor or cannot embed the rows alone (a
    diagnostic never fails a fit).  At most ``_COLLAPSE_ROWS`` rows, evenly
    spaced, are embedded.
    """
    n = X.shape[0]
    if n < 2:
        return None
    if n > _COLLAPSE_ROWS:
        X = X[torch.linspace(0, n - 1, _COLLAPSE_ROWS).round().long().unique()]
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            out = module(X.to(device))
    except Exception:  # e.g. a module that needs more than the rows
        return None
    finally:
        module.train(was_training)
    if not isinstance(out, torch.Tensor) or out.ndim == 0 or out.shape[0] < 2:
        return None
    out = out.detach().reshape(out.shape[0], -1).double().cpu()
    if not torch.isfinite(out).all():
        return None
    variance = out.var(dim=0, unbiased=False).sum()
    power = out.pow(2).sum(dim=1).mean()
    if power == 0:
        return 0.0
    return float(variance / power)


def __getattr__(name):
    # the Accelerate net class is built on first use (importing skorch.hf
    # takes seconds); this lets pickle find it by name in a new process
    if name == "_AccelerateEngineNet":
        return _accelerate_net_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _accelerate_net_class():
    """``_EngineNet`` with skorch's Hugging Face Accelerate integration."""
    cls = globals().get("_AccelerateEngineNet")
    if cls is not None:
        return cls
    from skorch.hf import AccelerateMixin

    class _AccelerateEngineNet(AccelerateMixin, _EngineNet):
        def __getstate__(self):
            # The Accelerator, its print sink and the LR scheduler it wrapped
            # do not pickle; a fitted net is only used for inference, so they
            # are dropped from the pickled state (not from this object).
            saved = dict(vars(self))
            try:
                self.accelerator = None
                self.device = "cpu"  # a loaded net maps its tensors to the CPU
                vars(self).pop("callbacks__print_log__sink", None)
                self.callbacks_ = [
                    (n, cb) for n, cb in self.callbacks_
                    if n not in ("lr_schedule", "print_log")
                ]
                self.callbacks = [(n, cb) for n, cb in self.callbacks if n != "lr_schedule"]
                opt = getattr(self, "optimizer_", None)
                if opt is not None:
                    # the torch optimizer inside Accelerate's wrapper; its
                    # patched ``step`` is removed for good (training is over)
                    self.optimizer_ = getattr(opt, "optimizer", opt)
                    vars(self.optimizer_).pop("step", None)
                return super().__getstate__()
            finally:
                vars(self).clear()
                vars(self).update(saved)

    _AccelerateEngineNet.__module__ = __name__
    _AccelerateEngineNet.__qualname__ = "_AccelerateEngineNet"
    globals()["_AccelerateEngineNet"] = _AccelerateEngineNet
    return _AccelerateEngineNet


def _lean_fitted_state(state, net):
    """``state`` without second copies of what ``net`` already pickles."""
    # attributes that are parts of the net (module_, loss_) are pickled
    # once, inside the net, and point into it again after loading
    parts = {}
    for attr in ("criterion_", "module_"):
        root = vars(net).get(attr)
        if isinstance(root, torch.nn.Module):
            for path, sub in root.named_modules():
                parts.setdefault(id(sub), _NetPart(attr, path))
    state = {
        k: parts[id(v)] if isinstance(v, torch.nn.Module) and id(v) in parts else v
        for k, v in state.items()
    }
    # the float64 inference copy is rebuilt on loading when it is exactly
    # the trained module in float64 (HyperbolicOneClass sets a float64
    # centre in it: then it is pickled)
    copy64 = state.get("_module_float64_")
    if copy64 is not None and _is_float64_of(copy64, net.module_):
        state["_module_float64_"] = _Float64Copy
    return state


def clear_fitted_state(estimator):
    """Remove every fitted attribute of ``estimator``.

    Fitted attributes: names ending in ``_`` (not dunders), and the private
    ones a class lists in ``_private_fitted_attributes``.  Other private
    state (``set_output``'s configuration, metadata requests) is kept.
    """
    extra = set(getattr(type(estimator), "_private_fitted_attributes", ()))
    for name in list(vars(estimator)):
        if (name.endswith("_") and not name.startswith("__")) or name in extra:
            delattr(estimator, name)


def guarded_fit(fit):
    """Decorate ``fit``: a fit that raises leaves the estimator unfitted.

    Any exception (a callback's, a validation error, a ``KeyboardInterrupt``
    outside the training epochs) removes every fitted attribute, so that
    ``check_is_fitted`` raises and no half-built state remains.  A
    ``KeyboardInterrupt`` during the training epochs ends training instead:
    the fit completes with the weights trained so far (``stop_reason_ ==
    "interrupted"``, a :class:`TrainingInterruptedWarning`) and the
    interrupt is raised again when ``fit`` returns, so that scripts, loops
    and searches stop as Ctrl-C asks.
    """

    @functools.wraps(fit)
    def guarded(self, *args, **kwargs):
        try:
            result = fit(self, *args, **kwargs)
        except BaseException:
            vars(self).pop("_pending_interrupt", None)
            clear_fitted_state(self)
            raise
        interrupt = vars(self).pop("_pending_interrupt", None)
        if interrupt is not None:
            raise interrupt  # with its traceback into the training loop
        return result

    return guarded


# ``_get_param_names`` of each estimator class (weak keys: classes made at run
# time, e.g. in tests, are not kept alive)
_PARAM_NAMES = weakref.WeakKeyDictionary()


class TorchTrainingMixin:
    """Mixin of torch estimators: one method, :meth:`_train`, runs the fit loop.

    The estimator must define the parameters listed in
    ``TRAINING_PARAMETER_CONSTRAINTS`` (``max_epochs``, ``batch_size``, ``lr``,
    ``weight_decay``, ``optimizer``, ``optimizer_params``, ``lr_schedule``,
    ``validation_fraction``, ``patience``, ``device``, ``random_state``,
    ``verbose``, ``callbacks``).

    ``optimizer_params`` (a dict, default None) holds further keyword
    arguments of the optimizer; ``set_params(optimizer__momentum=0.9)`` sets
    one key.  ``optimizer="sgd"`` defaults to ``momentum=0.9``.

    The estimator's ``fit`` wears :func:`guarded_fit` (outside
    ``_fit_context``): a fit that raises leaves it unfitted, and a
    ``KeyboardInterrupt`` during the epochs keeps the weights so far, then
    is raised again.

    Pickling (``pickle``, ``joblib``, ``copy.deepcopy``): the optimizer's
    state is left out (no estimator resumes training from it), and
    ``module_`` / ``loss_`` are pickled once, inside ``net_``.  The fitted
    state is one ``torch.save`` blob, loaded with CUDA tensors mapped to the
    CPU when CUDA is missing (the ``device`` parameter is kept: a refit there
    raises); the constructor parameters are pickled as usual.  Every pickle
    records the skmetric version; loading it under another version issues a
    :class:`~skmetric.PickleVersionWarning`.  A loaded estimator predicts
    bit for bit as the original on the same hardware.
    """

    @classmethod
    def _get_param_names(cls):
        """scikit-learn's, once per class: the parameter names of ``__init__``.

        scikit-learn reads ``__init__``'s signature (``inspect.signature``)
        at every ``get_params``, i.e. at every ``fit`` (parameter
        validation), ``clone`` and ``repr``; the names of a class do not change.
        """
        names = _PARAM_NAMES.get(cls)
        if names is None:
            names = _PARAM_NAMES[cls] = super()._get_param_names()
        return list(names)

    def set_params(self, **params):
        """Set parameters; ``optimizer__<name>`` sets a key of ``optimizer_params``.

        ``set_params(optimizer__momentum=0.9)`` is
        ``set_params(optimizer_params={**optimizer_params, "momentum": 0.9})``,
        so that ``GridSearchCV(est, {"optimizer__momentum": [0.5, 0.9]})`` works.
        """
        routed = {k[len("optimizer__"):]: params.pop(k)
                  for k in list(params) if k.startswith("optimizer__")}
        if routed:
            base = params.get("optimizer_params", getattr(self, "optimizer_params", None))
            params["optimizer_params"] = {**(base or {}), **routed}
        return super().set_params(**params)

    def __getstate__(self):
        state = stamp_version(super().__getstate__())
        net = state.get("net_")
        if net is not None:
            state = _lean_fitted_state(state, net)
        # the fitted state goes into one torch blob, loaded with a
        # map_location (CUDA tensors to the CPU where CUDA is missing)
        return pack_fitted_state(state, keep=self.get_params(deep=False))

    def __setstate__(self, state):
        state = check_version(self, dict(state))
        super().__setstate__(unpack_fitted_state(state))
        for k, v in list(vars(self).items()):
            if isinstance(v, _NetPart):
                setattr(self, k, getattr(self.net_, v.attr).get_submodule(v.path))
        if vars(self).get("_module_float64_") is _Float64Copy:
            self._module_float64_ = copy.deepcopy(self.net_.module_).double().eval()

    def _optimizer_kwargs(self, optimizer, settings=None):
        """``optimizer__*`` keyword arguments of the skorch net, checked."""
        cfg = _Settings(self, settings)
        name = cfg.optimizer if isinstance(cfg.optimizer, str) else None
        kwargs = dict(OPTIMIZER_DEFAULTS.get(name, {}))
        user = getattr(self, "optimizer_params", None) or {}
        for key in user:
            if not isinstance(key, str):
                raise ValueError(
                    f"`optimizer_params` keys must be strings; got {key!r}."
                )
            if key in _OWN_PARAMETERS:
                own = _OWN_PARAMETERS[key]
                hint = f"set `{own}` instead" if own else "the estimator passes the parameters"
                raise ValueError(
                    f"`optimizer_params` cannot hold {key!r}: {hint}."
                )
        sig = _signature(optimizer)
        accepts_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
        valid = sorted(n for n in sig.parameters if n not in ("self", "params"))
        unknown = sorted(set(user) - set(valid))
        if unknown and not accepts_any:
            raise ValueError(
                f"`optimizer_params` has unknown keys {unknown} for the optimizer "
                f"{optimizer.__module__}.{optimizer.__qualname__}; its parameters "
                f"are {[n for n in valid if n not in _OWN_PARAMETERS]}."
            )
        kwargs.update(user)
        if "weight_decay" in sig.parameters or accepts_any:
            kwargs["weight_decay"] = cfg.weight_decay
        elif cfg.weight_decay:
            # e.g. torch.optim.LBFGS: no weight decay of its own
            raise ValueError(
                f"The optimizer {optimizer.__module__}.{optimizer.__qualname__} takes "
                f"no weight_decay; got weight_decay={cfg.weight_decay!r}. Set "
                "weight_decay=0."
            )
        return {f"optimizer__{k}": v for k, v in kwargs.items()}

    def _make_seed(self):
        """One integer seed per fit, drawn from ``random_state``."""
        if isinstance(self.random_state, Integral) and not isinstance(self.random_state, bool):
            return _seed_of_int(int(self.random_state))
        rng = check_random_state(self.random_state)
        return int(rng.randint(np.iinfo(np.int32).max))

    def _train(
        self,
        module,
        criterion,
        X,
        y,
        *,
        seed,
        samples_per_class=None,
        X_valid=None,
        y_valid=None,
        valid_scoring=None,
        max_epochs=None,
        batch_sampler=None,
        extra_callbacks=(),
        check_collapse=True,
        settings=None,
    ):
        """Train ``module`` with ``criterion``; return the fitted skorch net.

        Sets the fitted attributes every torch estimator shares: ``net_``,
        ``module_``, ``history_``, ``n_epochs_``, ``best_epoch_`` (the
        epoch whose weights were kept; 0 is the untrained module),
        ``baseline_score_`` and ``best_score_`` (validation scores of epoch 0
        and of the kept epoch; None without validation) and ``stop_reason_``
        (``"max_epochs"``, ``"patience"``, ``"callback"`` or
        ``"interrupted"``).  A failed fit (e.g. :class:`TrainingDivergedError`
        or an exception in a callback) removes every fitted attribute
        instead.  A ``KeyboardInterrupt`` during the epochs ends training
        (see :func:`guarded_fit`, which the estimator's ``fit`` must wear).

        ``history_[0]`` is epoch 0, the starting model (its ``valid_score``
        when validated, no ``train_loss``); ``history_[k]`` is epoch ``k``
        and ``n_epochs_ = len(history_) - 1`` counts the trained epochs.
        When the kept epoch is 0, a :class:`StartingModelKeptWarning` is
        issued; when the trained module maps the training rows to one point,
        a :class:`CollapsedEmbeddingWarning`.

        Parameters
        ----------
        module, criterion : torch.nn.Module
            Built by the caller inside :func:`seeded` (so that their initial
            weights follow ``random_state``).  The loss of a batch is
            ``criterion(module(X_batch), y_batch)``; parameters of the
            criterion (proxies) are trained too.
        X, y : ndarrays
            Float features and integer targets (a dummy array of zeros for
            unsupervised criteria).
        seed : int
            From :meth:`_make_seed`.
        samples_per_class : int or None
            Class-balanced P x K batches when set, else shuffled batches.
        X_valid, y_valid, valid_scoring : optional
            Held-out data and ``valid_scoring(module, X_valid, y_valid) ->
            float`` (greater is better, called in eval mode under no_grad)
            for early stopping with best-weight restore (``patience``).
        max_epochs : int, optional
            Overrides ``self.max_epochs``.
        batch_sampler : callable, optional
            ``batch_sampler(y_tensor, generator) -> iterable of index
            tensors``, replacing the default samplers (e.g. episodes).
        extra_callbacks : sequence of (name, skorch callback)
            Estimator-specific callbacks (e.g. gradient clipping).
        check_collapse : bool, default=True
            Warn when the module's outputs on the training rows have
            near-zero spread (:func:`embedding_spread` below
            ``COLLAPSE_TOLERANCE``).
        settings : dict, optional
            Training parameters resolved by the estimator for this fit
            (``optimizer``, ``lr``, ``weight_decay``, ``batch_size``,
            ``max_epochs``, ``lr_schedule``), used instead of the estimator's
            attributes of the same names (which may hold ``"auto"``).
        """
        cfg = _Settings(self, settings)
        accelerator = getattr(self, "accelerator", None)
        # with an Accelerator, it places module, data and optimizer itself
        device = resolve_device(self.device) if accelerator is None else accelerator.device
        X_t = _as_tensor(X, np.float32)
        y_t = _as_tensor(y, None)
        generator = torch.Generator().manual_seed(seed)
        if batch_sampler is not None:
            sampler = batch_sampler(y_t, generator)
        elif samples_per_class is not None:
            sampler = ClassBalancedBatchSampler(
                y_t, cfg.batch_size, samples_per_class, generator=generator
            )
        else:
            sampler = ShuffledBatchSampler(
                X_t.shape[0], cfg.batch_size, generator=generator
            )
        n_epochs = cfg.max_epochs if max_epochs is None else max_epochs
        if isinstance(n_epochs, str):  # "auto": a budget of optimisation steps
            n_epochs, min_batches = auto_epochs(X_t.shape[0], cfg.batch_size, len(sampler),
                                                *(settings or {}).get("auto_budget", ()))
            sampler.min_batches = min_batches

        optimizer = cfg.optimizer
        if isinstance(optimizer, str):
            optimizer = OPTIMIZERS[optimizer]
        try:
            optimizer_kwargs = self._optimizer_kwargs(optimizer, settings)
        except ValueError:
            self._clear_fitted_state()
            raise
        owner = type(self).__name__
        callbacks = [("nan_guard", NaNGuard(owner=owner))]
        if cfg.lr_schedule == "cosine":
            callbacks.append(
                ("lr_schedule", LRScheduler(policy=CosineAnnealingLR, T_max=n_epochs))
            )
        if X_valid is not None:
            X_valid_t = _as_tensor(X_valid, np.float32)
            callbacks.append(
                (
                    "validation",
                    ValidationMonitor(
                        X_valid_t.to(device),
                        y_valid,
                        valid_scoring,
                        patience=self.patience,
                    ),
                )
            )
        callbacks.extend(extra_callbacks)
        for i, cb in enumerate(self.callbacks or []):
            if isinstance(cb, tuple) and len(cb) == 2 and isinstance(cb[0], str):
                callbacks.append((cb[0], copy.deepcopy(cb[1])))
            elif isinstance(cb, Callback) or isinstance(cb, type):
                callbacks.append((f"user_{i}", copy.deepcopy(cb)))
            else:
                raise ValueError(
                    f"`callbacks` must hold skorch callbacks or (name, callback) "
                    f"pairs; got {cb!r}."
                )

        net_class, accelerate_kwargs = _EngineNet, {}
        if accelerator is not None:
            net_class = _accelerate_net_class()
            accelerate_kwargs = {
                "accelerator": accelerator,
                "callbacks__print_log__sink": accelerator.print if self.verbose else _no_print,
            }
        net = net_class(
            module=module,
            criterion=criterion,
            optimizer=optimizer,
            lr=cfg.lr,
            **optimizer_kwargs,
            max_epochs=n_epochs,
            batch_size=cfg.batch_size,
            iterator_train=_BatchLoader(sampler, lean=accelerator is None),
            dataset=_TensorBatches,
            train_split=None,
            callbacks=callbacks,
            device=None if accelerator is not None else device,
            verbose=int(self.verbose),
            callbacks__print_log=PrintLog(),  # no colour codes outside a terminal
            **accelerate_kwargs,
        )
        try:
            with seeded(seed):
                net.initialize()
                net.partial_fit(X_t, y_t)
        except BaseException as exc:
            self._clear_fitted_state()
            if isinstance(exc, TrainingDivergedError) and self.verbose:
                _say(accelerator, f"{owner}: training stopped: divergence (the "
                                  "training loss is not finite); the estimator is unfitted.")
            raise
        finally:
            if accelerator is not None:
                # drop the references the Accelerator keeps to the prepared
                # module, optimizer, scheduler and loader (public API), so the
                # estimator holding it as a parameter pickles
                accelerator.free_memory()
        net.module_.eval()
        if getattr(self, "_float64_inference", False):
            self._module_float64_ = copy.deepcopy(net.module_).double().eval()
        self.net_ = net
        self.module_ = net.module_
        monitor = dict(net.callbacks_).get("validation")
        n_epochs = len(net.history)
        # epoch 0 (the starting model) goes first, after training, so that
        # skorch numbers the trained epochs 1, 2, ... as usual
        row0 = {"epoch": 0}
        if monitor is not None:
            row0.update(valid_score=monitor.initial_score_, valid_score_best=True)
        net.history.insert(0, row0)
        self.history_ = net.history
        self.n_epochs_ = n_epochs
        if monitor is not None:
            self.best_epoch_ = monitor.best_epoch_
            self.baseline_score_ = monitor.initial_score_
            self.best_score_ = (monitor.best_score_ if self.best_epoch_ > 0
                                else monitor.initial_score_)
        else:
            self.best_epoch_ = n_epochs
            self.baseline_score_ = None
            self.best_score_ = None
        interrupted = getattr(net, "_interrupted_epoch", None)
        if interrupted is not None:
            self.stop_reason_ = "interrupted"
            message = f"interrupted (KeyboardInterrupt) during epoch {interrupted}"
        elif monitor is not None and monitor.stop_reason_ is not None:
            self.stop_reason_, message = monitor.stop_reason_, monitor.stop_message_
        elif getattr(net, "_stop_message", None) is not None:
            self.stop_reason_, message = "callback", net._stop_message
        else:
            self.stop_reason_ = "max_epochs"
            message = f"reached max_epochs={n_epochs}"
        if self.verbose:
            kept = f"kept epoch {self.best_epoch_}"
            if monitor is not None:
                kept += (f" (validation score {self.best_score_:.4f}; epoch 0: "
                         f"{self.baseline_score_:.4f})")
            _say(accelerator, f"{owner}: training stopped after {n_epochs} epochs: "
                              f"{message}; {kept}.")
        if monitor is not None and self.best_epoch_ == 0:
            warnings.warn(
                f"{owner}: training did not improve on the starting embedding on "
                f"held-out data; the starting embedding was kept (validation score "
                f"{self.baseline_score_:.4f} at epoch 0, never beaten in {n_epochs} "
                f"epochs). Try another `lr`, more `max_epochs` or `patience`, or "
                "another loss.",
                StartingModelKeptWarning,
                stacklevel=3,
            )
        if check_collapse:
            spread = embedding_spread(net.module_, X_t, next(
                iter(net.module_.parameters()), torch.empty(0)).device)
            if spread is not None and spread < COLLAPSE_TOLERANCE:
                warnings.warn(
                    f"{owner}: the trained embedding collapsed: the training samples "
                    f"map to nearly one point (spread {spread:.3g} of the squared "
                    f"norm, below {COLLAPSE_TOLERANCE:g}); distances between "
                    "embeddings carry no information. Lower `lr`, check the loss "
                    "(e.g. its margin) or use validation data so that early "
                    "stopping keeps a better epoch.",
                    CollapsedEmbeddingWarning,
                    stacklevel=3,
                )
        if interrupted is not None:
            kept = ("of the best validated epoch" if monitor is not None
                    else "trained until the interrupt")
            warnings.warn(
                f"{owner}: training was interrupted (KeyboardInterrupt) during epoch "
                f"{interrupted}; the estimator is fitted with the weights {kept} "
                f"(epoch {self.best_epoch_}; stop_reason_='interrupted').",
                TrainingInterruptedWarning,
                stacklevel=3,
            )
            # raised again by ``guarded_fit`` once the estimator's fit is complete
            self._pending_interrupt = net._interrupt
        net._interrupt = None  # no traceback (and its frames) kept in the net
        return net

    def _clear_fitted_state(self):
        """Remove every fitted attribute: a failed fit leaves the estimator unfitted."""
        clear_fitted_state(self)

    def _forward(self, X, *, method=None, dtype=np.float32, batch_size=4096):
        """Outputs of the trained module for ``X`` (eval mode, no grad), as numpy.

        ``method`` names a method of the module to call instead of
        ``forward``.  With ``dtype=np.float64`` the computation runs on a
        float64 copy of the module, so that the output for a sample does not
        depend on the other rows of its batch (float32 matrix products round
        differently for different shapes).  Estimators that always predict in
        float64 set ``_float64_inference = True``: the copy is then made once,
        at the end of ``fit``.
        """
        module = self.net_.module_
        if np.dtype(dtype) == np.float64:
            module = getattr(self, "_module_float64_", None)
            if module is None:  # estimators without the cached copy
                module = copy.deepcopy(self.net_.module_).double()
        module.eval()
        fn = module if method is None else getattr(module, method)
        device = next(iter(module.parameters()), torch.empty(0)).device
        X_t = _as_tensor(X, dtype)
        n = X_t.shape[0]
        if n == 0:  # empty X: infer the output width from one dummy row
            with torch.no_grad():
                width = fn(torch.zeros((1, X_t.shape[1]), dtype=X_t.dtype, device=device))
            return np.zeros((0, width.shape[1]), dtype=dtype)
        # Bounded memory: every batch is written into one preallocated output
        # (a list of batches + concatenate would hold the output twice, and
        # the kept batches fragment the heap between the activations).
        out = None
        with torch.no_grad():
            for start in range(0, n, batch_size):
                part = fn(X_t[start : start + batch_size].to(device)).cpu()
                if out is None:
                    out = torch.empty((n, *part.shape[1:]), dtype=part.dtype)
                out[start : start + part.shape[0]] = part
                del part
        return out.numpy()

    # ------------------------------------------------------- shared fit steps
    def _validate_classification_data(self, X, y):
        """``validate_data`` + label encoding; sets ``classes_``, returns (X, y_enc).

        Labels may be strings or any integers; at least two classes.
        """
        X, y = validate_data(
            self, X, y, ensure_min_samples=2, dtype=[np.float32, np.float64]
        )
        if y.dtype.kind in "biu":
            # a 1-D array of integers (``validate_data`` made it 1-D) is
            # "binary" or "multiclass" to scikit-learn's target check, and
            # ``np.unique`` encodes it as ``LabelEncoder`` does (sorted
            # classes, their indices), without its checks of ``y`` again
            self.classes_, y_enc = np.unique(y, return_inverse=True)
        else:
            check_classification_targets(y)
            encoder = LabelEncoder().fit(y)
            self.classes_, y_enc = encoder.classes_, encoder.transform(y)
        if self.classes_.size < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes; got 1 "
                f"class ({self.classes_[0].item()!r})."
            )
        return X, y_enc.reshape(-1).astype(np.int64)

    def _split_validation(self, y, rng, *, by="samples", min_train=2, min_valid=2):
        """Indices ``(train, valid)`` from ``validation_fraction``, or ``(all, None)``.

        ``by="samples"`` holds out ``floor(fraction * n_c)`` samples of every
        class ``c`` that keeps ``min_train`` in training and gives at least
        ``min_valid``; ``by="classes"`` holds out whole classes (at least the
        estimator's ``_min_valid_classes``, 2 by default, leaving at least 2).
        ``y`` are integer labels (all zeros for one-class data).  No split is
        made when the validation set would hold fewer than 2 classes (fewer
        than 1 sample for one-class data; fewer than ``_min_valid_classes``
        by classes).
        """
        n = y.shape[0]
        fraction = self.validation_fraction
        if fraction is None:
            return np.arange(n), None
        classes = np.unique(y)
        if by == "classes":
            # a score that needs no second held-out class (e.g. retrieval
            # with the training classes as distractors) may hold out one
            min_classes = getattr(self, "_min_valid_classes", 2)
            n_val = max(min_classes, int(round(fraction * classes.size)))
            if classes.size - n_val < 2:
                return np.arange(n), None
            is_val = np.isin(y, rng.permutation(classes)[:n_val])
        else:
            is_val = np.zeros(n, dtype=bool)
            for c in classes:
                idx = np.flatnonzero(y == c)
                n_val = int(np.floor(fraction * idx.size))
                if n_val >= min_valid and idx.size - n_val >= min_train:
                    is_val[rng.permutation(idx)[:n_val]] = True
            if np.unique(y[is_val]).size < min(2, classes.size) or not is_val.any():
                return np.arange(n), None
        return np.flatnonzero(~is_val), np.flatnonzero(is_val)

    def _output_width(self, module, X, *, name="module"):
        """Width of ``module``'s 2-D output on two rows of ``X`` (clear error otherwise)."""
        was_training = module.training
        with torch.no_grad():
            out = module.eval()(torch.as_tensor(X[:2], dtype=torch.float32))
        module.train(was_training)
        if out.ndim != 2:
            raise ValueError(
                f"`{name}` must output a 2-D tensor (n_samples, n_components); got "
                f"shape {tuple(out.shape)}."
            )
        return int(out.shape[1])


class _Settings:
    """Training parameters of one fit: ``settings[name]``, else ``estimator.name``."""

    def __init__(self, estimator, settings):
        self._estimator = estimator
        self._settings = settings or {}

    def __getattr__(self, name):
        if name in self._settings:
            return self._settings[name]
        return getattr(self._estimator, name)


def _say(accelerator, message):
    """Print ``message`` (once, on the main process, under Accelerate)."""
    (accelerator.print if accelerator is not None else print)(message)


def _as_tensor(a, dtype):
    """A CPU tensor of ``a`` (copied when the array is read-only)."""
    a = np.ascontiguousarray(a, dtype=dtype)
    if not a.flags.writeable:
        a = a.copy()
    return torch.from_numpy(a)


# torch draws initial weights, dropout masks and ``randn`` calls in modules
# and losses from its process-wide generator (dropout takes no generator
# argument), so a seeded section sets that generator's state and must run
# alone: sections of concurrent fits in threads take turns on this lock.
_GLOBAL_RNG_LOCK = threading.RLock()


@contextmanager
def seeded(seed):
    """Context manager: torch's global RNG seeded with ``seed``, restored on exit.

    Holds a process-wide (re-entrant) lock for the duration, so that fits in
    threads (joblib's threading backend, ``GridSearchCV(n_jobs=...)`` with
    it) do not draw from each other's generator: each is bit-identical to a
    sequential fit with the same ``random_state``.  The price: the seeded
    sections of concurrent fits (building the blocks, the training epochs)
    run one at a time; validation, scoring and inference run concurrently.
    Code outside skmetric that draws from torch's global generator while a
    fit trains can still change that fit, and a callback must not wait for
    a fit running in another thread (that fit waits for the lock).
    Processes (joblib's loky or Dask backends) need no lock and train in
    parallel.
    """
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
        _manual_seed(seed)
        yield


def _manual_seed(seed):
    """``torch.manual_seed(seed)``, without its cost where no accelerator exists.

    ``torch.manual_seed`` also queues a lazy seeding of every accelerator
    backend (CUDA, XPU), capturing a stack trace each time (~0.6 ms per call
    on a CPU-only machine, twice per fit); with none available only the CPU
    generator needs the seed, and the CPU stream is the same.
    """
    if torch.cuda.is_available() or torch.backends.mps.is_available() or (
            hasattr(torch, "xpu") and torch.xpu.is_available()):
        torch.manual_seed(seed)
    else:
        torch.default_generator.manual_seed(seed)

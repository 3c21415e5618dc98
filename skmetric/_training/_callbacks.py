"""Callbacks of the shared fit loop: the NaN guard, validation monitoring, the epoch log."""

import copy
import math
import re
import sys

import torch
from skorch.callbacks import Callback
from skorch.callbacks import PrintLog as _SkorchPrintLog

__all__ = [
    "CollapsedEmbeddingWarning",
    "DecayToStart",
    "NaNGuard",
    "PrintLog",
    "StartingModelKeptWarning",
    "StopTraining",
    "TrainingDivergedError",
    "TrainingInterruptedWarning",
    "ValidationMonitor",
    "WeightEMA",
]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class TrainingDivergedError(ValueError):
    """The training loss became NaN or infinite."""


class StartingModelKeptWarning(UserWarning):
    """Training did not improve on the starting embedding on held-out data.

    Early stopping kept the weights of epoch 0 (the untrained model): the
    fitted estimator is its starting embedding.  Raised by every torch
    estimator that holds out validation data.
    """


class CollapsedEmbeddingWarning(UserWarning):
    """The trained model maps the training samples to (nearly) one point.

    The spread of the training embeddings is near zero relative to their
    norm, so distances between embeddings carry no information.
    """


class TrainingInterruptedWarning(UserWarning):
    """A ``KeyboardInterrupt`` ended training; the estimator kept the weights so far.

    The fit completed with the weights of the best validated epoch (with
    held-out data) or those trained until the interrupt (without);
    ``stop_reason_`` is ``"interrupted"``.  The interrupt is raised again
    when ``fit`` returns.
    """


class StopTraining(Exception):
    """Raised by a callback to end training early (caught by the fit loop)."""


class NaNGuard(Callback):
    """Stop fit with a clear error as soon as the training loss is not finite.

    Parameters
    ----------
    owner : str
        Name of the estimator, used in the message.
    """

    def __init__(self, owner="estimator"):
        self.owner = owner

    def initialize(self):
        self.batch_ = 0
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.batch_ = 0

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if not training or loss is None:
            return
        self.batch_ += 1
        value = float(loss.detach())
        if not math.isfinite(value):
            epoch = len(net.history)
            lr = getattr(net, "lr", None)
            raise TrainingDivergedError(
                f"{self.owner}: the training loss became {value} at epoch {epoch}, "
                f"batch {self.batch_}. Training diverged: lower the learning rate "
                f"(`lr`, now {lr}), scale the input features, or lower the loss's "
                "scale/temperature parameters. The estimator was left unfitted."
            )


# public as skmetric.<name>: shown (and pickled) under that name
StartingModelKeptWarning.__module__ = "skmetric"
CollapsedEmbeddingWarning.__module__ = "skmetric"
TrainingInterruptedWarning.__module__ = "skmetric"


class ValidationMonitor(Callback):
    """Score held-out data each epoch; early stopping with best-weight restore.

    The score of the untrained model (epoch 0) is the baseline
    (``initial_score_``): if training never beats it on the validation data,
    the initial weights are restored (``best_epoch_ == 0``).  A patience stop
    sets ``stop_reason_ = "patience"`` and ``stop_message_``.

    Parameters
    ----------
    X_valid, y_valid : arrays
        Held-out data.
    scoring : callable ``(module, X_valid, y_valid) -> float``
        Greater is better.  Called with the module in eval mode, no grad.
    patience : int or None
        Stop after this many epochs without improvement (``None``: never).
    restore_best : bool
        Put back the weights of the best epoch when training ends.
    """

    def __init__(self, X_valid, y_valid, scoring, *, patience=10, restore_best=True):
        self.X_valid = X_valid
        self.y_valid = y_valid
        self.scoring = scoring
        self.patience = patience
        self.restore_best = restore_best

    def initialize(self):
        self.best_score_ = -math.inf
        self.best_epoch_ = 0
        self.initial_score_ = None
        self.stopped_epoch_ = None
        self.stop_reason_ = None
        self.stop_message_ = None
        self._best_state = None
        return self

    def _score(self, net):
        module = net.module_
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad():
                return float(self.scoring(module, self.X_valid, self.y_valid))
        finally:
            module.train(was_training)

    def _snapshot(self, net):
        self._best_state = {
            "module": copy.deepcopy(net.module_.state_dict()),
            "criterion": copy.deepcopy(net.criterion_.state_dict()),
        }

    def on_train_begin(self, net, **kwargs):
        score = self._score(net)
        self.initial_score_ = score
        self.best_score_ = score if math.isfinite(score) else -math.inf
        self.best_epoch_ = 0
        self._snapshot(net)

    def on_epoch_end(self, net, **kwargs):
        score = self._score(net)
        epoch = len(net.history)
        improved = math.isfinite(score) and score > self.best_score_
        net.history.record("valid_score", score)
        net.history.record("valid_score_best", improved)
        if improved:
            self.best_score_ = score
            self.best_epoch_ = epoch
            self._snapshot(net)
        elif self.patience is not None and epoch - self.best_epoch_ >= self.patience:
            self.stopped_epoch_ = epoch
            self.stop_reason_ = "patience"
            self.stop_message_ = (
                f"validation score did not improve for {self.patience} epochs "
                f"(patience={self.patience}; best {self.best_score_:.4f} at epoch "
                f"{self.best_epoch_})"
            )
            raise StopTraining(self.stop_message_)

    def on_train_end(self, net, **kwargs):
        # an averaging callback holds its averaged weights in the module
        # between steps (what was validated); after an interrupt inside a
        # step, put them back before the best epoch's are restored
        for _, cb in getattr(net, "callbacks_", ()):
            if isinstance(cb, WeightEMA):
                cb.hold_averaged(net)
        if self.restore_best and self._best_state is not None:
            net.module_.load_state_dict(self._best_state["module"])
            net.criterion_.load_state_dict(self._best_state["criterion"])
        self._best_state = None


class WeightEMA(Callback):
    """Exponential moving average of the module's weights (Polyak averaging).

    The average starts at the module's weights when training begins and,
    after every optimisation step ``t``, becomes
    ``decay * average + (1 - decay) * weights_t`` (parameters only; buffers
    are the trained module's).  Between steps the module *holds the
    averaged weights*: the optimizer's weights are put back before each
    training step and the average after it, so that whatever reads the
    module between steps -- the validation score and best-epoch snapshot of
    :class:`ValidationMonitor`, the end of training -- sees the averaged
    model, and the fitted module is the average (or the best epoch's
    average, when validation restores one).

    Parameters
    ----------
    decay : float in (0, 1)
        Weight of the old average at each step; ``1 / (1 - decay)`` steps is
        the horizon of the average (100 steps for 0.99).
    """

    def __init__(self, decay=0.99):
        self.decay = decay

    def initialize(self):
        self._averaged = None
        self._trained = None
        self._holds_averaged = True
        return self

    def _params(self, net):
        return [p for p in net.module_.parameters()]

    def on_train_begin(self, net, **kwargs):
        params = self._params(net)
        with torch.no_grad():
            self._averaged = [p.detach().clone() for p in params]
            self._trained = [p.detach().clone() for p in params]
        self._holds_averaged = True

    def on_batch_begin(self, net, training=None, **kwargs):
        if not training or self._averaged is None or not self._holds_averaged:
            return
        with torch.no_grad():
            torch._foreach_copy_(self._params(net), self._trained)
        self._holds_averaged = False

    def on_batch_end(self, net, training=None, **kwargs):
        if not training or self._averaged is None or self._holds_averaged:
            return
        params = self._params(net)
        with torch.no_grad():
            torch._foreach_copy_(self._trained, params)
            torch._foreach_lerp_(self._averaged, self._trained, 1.0 - self.decay)
            torch._foreach_copy_(params, self._averaged)
        self._holds_averaged = True

    def hold_averaged(self, net):
        """Put the averaged weights in the module (after an interrupted step)."""
        if self._averaged is None or self._holds_averaged:
            return
        with torch.no_grad():
            torch._foreach_copy_(self._params(net), self._averaged)
        self._holds_averaged = True

    def on_train_end(self, net, **kwargs):
        self.hold_averaged(net)
        self._averaged = self._trained = None  # nothing kept in the fitted net


class DecayToStart(Callback):
    """Regularise the weights toward the start (L2-SP, Li et al. 2018).

    Adds the gradient of ``strength / 2 * |theta - theta0|^2`` to the
    module's parameters' gradients before every optimisation step, where
    ``theta0`` are the module's weights when training begins: the loss
    term of L2-SP, taken by the optimizer as the training loss is.

    Parameters
    ----------
    strength : float
        ``lambda`` of the penalty.
    """

    def __init__(self, strength=1.0):
        self.strength = strength

    def initialize(self):
        self._start = None
        return self

    def on_train_begin(self, net, **kwargs):
        self._start = [p.detach().clone() for p in net.module_.parameters()]

    def on_grad_computed(self, net, named_parameters, training=None, **kwargs):
        if self._start is None:
            return
        with torch.no_grad():
            for p, p0 in zip(net.module_.parameters(), self._start):
                if p.grad is not None:
                    p.grad.add_(p - p0, alpha=self.strength)

    def on_train_end(self, net, **kwargs):
        self._start = None  # nothing kept in the fitted net


class PrintLog(_SkorchPrintLog):
    """skorch's per-epoch table, coloured only when stdout is a terminal.

    skorch colours the best value of each column with ANSI escape codes;
    in a file, a notebook log or CI output they are noise, so they are
    dropped unless ``sys.stdout`` is a terminal (checked at every epoch).
    """

    def on_epoch_end(self, net, **kwargs):
        if self.sink is print and not net.verbose:
            return  # nothing would be printed: no table to build
        super().on_epoch_end(net, **kwargs)

    def table(self, row):
        text = super().table(row)
        isatty = getattr(sys.stdout, "isatty", None)
        return text if isatty is not None and isatty() else _ANSI.sub("", text)

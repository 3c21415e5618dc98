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
from numbers import Integral, Real

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, LRScheduler
from torch.optim.lr_scheduler import CosineAnnealingLR
from torch.utils.data import DataLoader

from ..utils._validation import Interval, StrOptions, check_random_state
from ._callbacks import NaNGuard, StopTraining, ValidationMonitor
from ._sampler import ClassBalancedBatchSampler, ShuffledBatchSampler

__all__ = ["TRAINING_PARAMETER_CONSTRAINTS", "TorchTrainingMixin", "resolve_device"]

OPTIMIZERS = {
    "adamw": torch.optim.AdamW,
    "adam": torch.optim.Adam,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}

TRAINING_PARAMETER_CONSTRAINTS = {
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "batch_size": [Interval(Integral, 2, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "optimizer": [StrOptions(set(OPTIMIZERS)), type],
    "lr_schedule": [StrOptions({"cosine", "constant"})],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
    "patience": [Interval(Integral, 1, None, closed="left"), None],
    "device": [StrOptions({"cpu", "cuda", "auto"}), torch.device],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "callbacks": [list, None],
}


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


class _BatchLoader:
    """An ``iterator_train`` for skorch that yields the sampler's batches.

    Each item of the loader is a whole batch (``batch_size=None``), gathered
    by one fancy-indexing call instead of a per-sample collate.
    """

    def __init__(self, sampler):
        self.sampler = sampler

    def __call__(self, dataset, batch_size=None, shuffle=None, **_):
        return DataLoader(dataset, batch_size=None, sampler=self.sampler)


class _EngineNet(NeuralNet):
    """skorch net whose early stop is an explicit exception, not Ctrl-C.

    skorch ends training on ``KeyboardInterrupt`` and swallows it, so a real
    Ctrl-C looks like a normal return.  Here a callback raises
    :class:`StopTraining` and a real interrupt propagates.
    """

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        if not self.initialized_:
            self.initialize()
        self.notify("on_train_begin", X=X, y=y)
        try:
            self.fit_loop(X, y, **fit_params)
        except StopTraining:
            pass
        self.notify("on_train_end", X=X, y=y)
        return self


class TorchTrainingMixin:
    """Mixin of torch estimators: one method, :meth:`_train`, runs the fit loop.

    The estimator must define the parameters listed in
    ``TRAINING_PARAMETER_CONSTRAINTS`` (``max_epochs``, ``batch_size``, ``lr``,
    ``weight_decay``, ``optimizer``, ``lr_schedule``, ``validation_fraction``, ``patience``,
    ``device``, ``random_state``, ``verbose``, ``callbacks``).
    """

    def _make_seed(self):
        """One integer seed per fit, drawn from ``random_state``."""
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
    ):
        """Train ``module`` with ``criterion`` and return the fitted skorch net.

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
        """
        device = resolve_device(self.device)
        X_t = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32))
        y_t = torch.as_tensor(np.ascontiguousarray(y))
        generator = torch.Generator().manual_seed(seed)
        if batch_sampler is not None:
            sampler = batch_sampler(y_t, generator)
        elif samples_per_class is not None:
            sampler = ClassBalancedBatchSampler(
                y_t, self.batch_size, samples_per_class, generator=generator
            )
        else:
            sampler = ShuffledBatchSampler(
                X_t.shape[0], self.batch_size, generator=generator
            )

        optimizer = self.optimizer
        if isinstance(optimizer, str):
            optimizer = OPTIMIZERS[optimizer]
        owner = type(self).__name__
        callbacks = [("nan_guard", NaNGuard(owner=owner))]
        n_epochs = self.max_epochs if max_epochs is None else max_epochs
        if self.lr_schedule == "cosine":
            callbacks.append(
                ("lr_schedule", LRScheduler(policy=CosineAnnealingLR, T_max=n_epochs))
            )
        if X_valid is not None:
            X_valid_t = torch.as_tensor(np.ascontiguousarray(X_valid, dtype=np.float32))
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

        net = _EngineNet(
            module=module,
            criterion=criterion,
            optimizer=optimizer,
            lr=self.lr,
            optimizer__weight_decay=self.weight_decay,
            max_epochs=n_epochs,
            batch_size=self.batch_size,
            iterator_train=_BatchLoader(sampler),
            dataset=_TensorBatches,
            train_split=None,
            callbacks=callbacks,
            device=device,
            verbose=int(self.verbose),
        )
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                net.initialize()
                net.partial_fit(X_t, y_t)
        except BaseException:
            self._clear_fitted_state()
            raise
        net.module_.eval()
        return net

    def _clear_fitted_state(self):
        """Remove every fitted attribute: a failed fit leaves the estimator unfitted."""
        for name in list(vars(self)):
            if name.endswith("_") and not name.startswith("__"):
                delattr(self, name)

    def _forward(self, X, *, batch_size=4096):
        """Module outputs for ``X`` (eval mode, no grad) as a float32 numpy array."""
        module = self.net_.module_
        device = next(iter(module.parameters()), torch.empty(0)).device
        X_t = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32))
        module.eval()
        outs = []
        with torch.no_grad():
            for start in range(0, X_t.shape[0], batch_size):
                outs.append(module(X_t[start : start + batch_size].to(device)).cpu())
        if not outs:
            return np.zeros((0, 0), dtype=np.float32)
        return torch.cat(outs).numpy()


def seeded(seed):
    """Context manager: a private torch RNG seeded with ``seed``."""
    class _Ctx:
        def __enter__(self):
            self._fork = torch.random.fork_rng(devices=[])
            self._fork.__enter__()
            torch.manual_seed(seed)

        def __exit__(self, *exc):
            return self._fork.__exit__(*exc)

    return _Ctx()

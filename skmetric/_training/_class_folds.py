"""Validation by rotating held-out classes (k-fold over the classes).

Holding out a few whole classes measures how an embedding transfers to new
classes, but with few training classes (two held out of five) one split is a
noisy, misleading early-stopping signal.  Rotating the held-out classes
over folds, training once per fold through the one fit loop, and averaging
the folds' validation curves epoch by epoch (a fold stopped early counting
with its last score) gives the number of epochs (0:
do not train) that transfers on average; the estimator then trains on all
classes and *replays* the averaged curve as its validation score, so that
the same loop stops at, and restores, the chosen epoch.

Helpers of the one fit loop; the estimator owns the fits.
"""

import math
import warnings

import numpy as np
from skorch.callbacks import Callback

from ._callbacks import CollapsedEmbeddingWarning, StartingModelKeptWarning, StopTraining

__all__ = [
    "MAX_FOLDS", "class_folds", "fold_curve", "fold_plan", "mean_curve", "padded_curves",
    "choose_epoch", "ReplayScore",
    "StopAtEpoch",
]


#: Most folds (fits before the final one) of a class-fold validation.
MAX_FOLDS = 5


def fold_plan(n_classes, fraction, min_folds, max_folds, min_valid=2):
    """``(n_valid, n_folds)`` of :func:`class_folds` for ``n_classes`` classes.

    Each fold holds out ``n_valid = max(min_valid, round(fraction * n_classes))``
    classes and there are ``min(ceil(n_classes / n_valid), max_folds)``
    folds.  ``None`` when the folds are not evidence enough: fewer than
    ``min_folds`` folds, or fewer than 2 classes left to train on in a fold.
    """
    n_valid = max(min_valid, int(round(fraction * n_classes)))
    n_folds = min(-(-n_classes // n_valid), max_folds)
    if n_classes - n_valid < 2 or n_folds < min_folds:
        return None
    return n_valid, n_folds


def class_folds(classes, n_valid, max_folds, rng):
    """Held-out class groups: ``n_valid`` classes each, rotating over a permutation.

    ``k = min(ceil(n / n_valid), max_folds)`` folds; fold ``i`` holds out
    the classes at positions ``i * n_valid ... i * n_valid + n_valid - 1``
    (cyclically) of a random permutation, so that every class is held out
    at least once when ``k`` folds suffice, and no fold repeats a class.
    """
    classes = np.asarray(classes)
    n = classes.size
    order = classes[rng.permutation(n)]
    n_folds = min(math.ceil(n / n_valid), max_folds)
    return [np.sort(order[(np.arange(n_valid) + i * n_valid) % n]) for i in range(n_folds)]


def fold_curve(y, n_valid, max_folds, rng, fit_fold, *, return_folds=False):
    """Mean validation curve of one fit per fold of held-out classes.

    For each fold of :func:`class_folds` over the classes of ``y``, draws a
    seed from ``rng`` and calls ``fit_fold(train_idx, valid_idx, seed)``,
    which trains a fresh embedding on the rows ``train_idx`` through the fit
    loop, validating on the held-out rows ``valid_idx``, and returns its
    ``history_``.  A fold keeping its starting embedding or collapsing is a
    result here, not news for the user: those warnings are silenced.
    Returns the epoch-by-epoch :func:`mean_curve` of the folds'
    ``valid_score`` and the folds' numbers of epochs (and, with
    ``return_folds``, the folds' curves padded as :func:`mean_curve` pads
    them, shape ``(n_folds, n_epochs + 1)``).
    """
    curves = []
    for held in class_folds(np.unique(y), n_valid, max_folds, rng):
        is_valid = np.isin(y, held)
        train_idx, valid_idx = np.flatnonzero(~is_valid), np.flatnonzero(is_valid)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StartingModelKeptWarning)
            warnings.simplefilter("ignore", CollapsedEmbeddingWarning)
            history = fit_fold(train_idx, valid_idx, seed)
        curves.append([row["valid_score"] for row in history])
    epochs = [len(c) - 1 for c in curves]
    if return_folds:
        return mean_curve(curves), epochs, padded_curves(curves)
    return mean_curve(curves), epochs


def mean_curve(curves):
    """Epoch-by-epoch mean of validation curves of different lengths.

    A fold stopped early (patience) counts with its last score for the
    later epochs: it had stopped improving, and dropping it would let the
    shortest fold cut every fold's curve.
    """
    return np.mean(padded_curves(curves), axis=0)


def padded_curves(curves):
    """The curves as rows of one array, each padded with its last score."""
    length = max(len(c) for c in curves)
    return np.array([np.concatenate([np.asarray(c, dtype=np.float64),
                                     np.full(length - len(c), float(c[-1]))]) for c in curves])


def choose_epoch(curve, tolerance, folds=None):
    """Epochs to train from a mean validation curve (``curve[0]``: the start).

    0 when no epoch beats the start; otherwise the *latest* epoch within
    ``tolerance`` of the best score that still beats the start: the final
    fit trains on more classes than each fold, and epochs the folds cannot
    tell apart (their scores differ by less than their noise) are not a
    reason to stop at the first of them.

    With ``folds`` (the folds' padded curves, :func:`padded_curves`), only
    epochs that beat the start *in every fold* count: a mean gain made by
    some folds while another lost or stood still is not evidence that the
    epoch transfers to new classes.
    """
    curve = np.asarray(curve, dtype=np.float64)
    ok = curve > curve[0]
    if folds is not None:
        folds = np.asarray(folds, dtype=np.float64)
        ok &= np.all(folds > folds[:, :1], axis=0)
    if not ok.any():
        return 0
    top = curve[ok].max()
    return int(np.flatnonzero(ok & (curve >= top - tolerance))[-1])


class ReplayScore:
    """A validation score that returns ``curve[e]`` at its ``e``-th call.

    Given as ``valid_scoring`` to the fit loop, which scores epoch 0 (the
    starting model) then every trained epoch, in order.
    """

    def __init__(self, curve):
        self.curve = [float(v) for v in curve]
        self.calls = 0

    def __call__(self, module, X, y):
        e = self.calls
        self.calls += 1
        return self.curve[e] if e < len(self.curve) else math.nan


class StopAtEpoch(Callback):
    """End training (``StopTraining``) once ``epoch`` epochs are trained."""

    def __init__(self, epoch, message):
        self.epoch = epoch
        self.message = message

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) >= self.epoch:
            raise StopTraining(self.message)

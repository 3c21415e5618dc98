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

With interpolation weights (WiSE-FT, Wortsman et al. 2022), each fold also
scores, every epoch, the weights interpolated toward the start,
``theta0 + a (theta - theta0)``, and the folds choose the pair (epoch,
``a``): a small ``a`` keeps most of the starting geometry and adds the part
of training that transfers.

With output mixing weights, each fold scores instead the embedding
``[sqrt(1 - a) f0(x), sqrt(a) f(x)]`` beside a frozen copy of the start
(:class:`~skmetric.nn.MixedWithStart`; squared distances ``(1 - a) d0^2 +
a d^2``), and the folds choose (epoch, ``a``) the same way: a small ``a``
keeps the starting distances and lets the trained ones reorder their near
ties.

Helpers of the one fit loop; the estimator owns the fits.
"""

import copy

import math
import warnings

import numpy as np
import torch
from skorch.callbacks import Callback

from ..nn import MixedWithStart
from ._callbacks import CollapsedEmbeddingWarning, StartingModelKeptWarning, StopTraining

__all__ = [
    "MAX_FOLDS", "class_folds", "fold_plan", "mean_curve", "padded_curves", "run_folds",
    "choose_epoch", "choose_start", "ReplayScore",
    "StopAtEpoch", "interpolate_state", "InterpolatedScores", "fold_weight_curves",
    "choose_epoch_and_weight", "InterpolateToStart", "MixedScores", "MixWithStart",
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


def choose_start(scores, baseline=True):
    """Column of ``scores`` (shape ``(n_folds, n_starts)``: each fold's
    held-out score of each starting embedding) to start from.

    With ``baseline``, column 0 is the default start and another is chosen
    only when it beats column 0 in *every* fold (as :func:`choose_epoch`
    asks of an epoch): among those, the best mean over the folds, ties to
    the later column; none: 0.  Without, the best mean, ties to the later
    column.
    """
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    mean = scores.mean(axis=0)
    if baseline:
        candidates = np.flatnonzero(np.all(scores[:, 1:] > scores[:, :1], axis=0)) + 1
        if candidates.size == 0:
            return 0
    else:
        candidates = np.arange(scores.shape[1])
    best = candidates[mean[candidates] == mean[candidates].max()]
    return int(best[-1])


def run_folds(y, groups, rng, fit_fold):
    """``fit_fold(train_idx, valid_idx, seed)`` of each fold, in order (a list).

    Fold ``i`` holds out the rows of ``y`` whose class is in ``groups[i]``
    (e.g. :func:`class_folds`) and trains on the others, with a seed drawn
    from ``rng``; ``fit_fold`` trains a fresh embedding through the fit loop
    and returns what its caller needs (its ``history_``, a score table).  A
    fold keeping its starting embedding or collapsing is a result here, not
    news for the user: those warnings are silenced.
    """
    results = []
    for held in groups:
        is_valid = np.isin(y, held)
        train_idx, valid_idx = np.flatnonzero(~is_valid), np.flatnonzero(is_valid)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StartingModelKeptWarning)
            warnings.simplefilter("ignore", CollapsedEmbeddingWarning)
            results.append(fit_fold(train_idx, valid_idx, seed))
    return results


def fold_weight_curves(y, n_valid, max_folds, rng, fit_fold):
    """Validation curves, one per interpolation weight, of one fit per fold.

    For each fold of :func:`class_folds` over the classes of ``y``
    (:func:`run_folds`), ``fit_fold(train_idx, valid_idx, seed)`` returns the fold's scores as an
    array of shape ``(n_weights, n_epochs + 1)`` (an :class:`InterpolatedScores`
    table).  Returns the folds' mean, shape ``(n_weights, length)``, the
    folds' epochs and the folds' padded tables, shape ``(n_folds, n_weights,
    length)`` (each weight's curve padded with its last score, as
    :func:`padded_curves`).
    """
    tables = [np.atleast_2d(np.asarray(t, dtype=np.float64))
              for t in run_folds(y, class_folds(np.unique(y), n_valid, max_folds, rng), rng,
                                 fit_fold)]
    epochs = [t.shape[1] - 1 for t in tables]
    length = max(t.shape[1] for t in tables)
    folds = np.stack([np.concatenate([t, np.repeat(t[:, -1:], length - t.shape[1], axis=1)],
                                     axis=1) for t in tables])
    return folds.mean(axis=0), epochs, folds


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


def choose_epoch_and_weight(curves, tolerance, folds=None):
    """``(epoch, weight index)`` from mean curves per interpolation weight.

    ``curves[j, e]``: the mean validation score of epoch ``e`` interpolated
    with the ``j``-th weight (weights in increasing order; column 0 is the
    start, the same for every weight).  As :func:`choose_epoch` over all the
    pairs: a pair counts when it beats the start on the mean and, with
    ``folds`` (shape ``(n_folds, n_weights, length)``), in every fold;
    ``(0, last)`` when none does; otherwise, among the pairs within
    ``tolerance`` of the best counting one, the latest epoch, and at that
    epoch the largest weight.
    """
    curves = np.atleast_2d(np.asarray(curves, dtype=np.float64))
    start = curves[0, 0]
    ok = curves > start
    if folds is not None:
        folds = np.asarray(folds, dtype=np.float64)
        ok &= np.all(folds > folds[:, :1, :1], axis=0)
    ok[:, 0] = False
    if not ok.any():
        return 0, curves.shape[0] - 1
    top = curves[ok].max()
    near = ok & (curves >= top - tolerance)
    epoch = int(np.flatnonzero(near.any(axis=0))[-1])
    return epoch, int(np.flatnonzero(near[:, epoch])[-1])


def interpolate_state(start, end, weight):
    """``start + weight * (end - start)`` of two state dicts (a new dict).

    Floating-point entries (parameters and running statistics) are
    interpolated; other entries (counters) are ``end``'s.  ``weight`` 0 gives
    ``start``'s tensors, 1 ``end``'s, exactly.
    """
    out = {}
    for name, value in end.items():
        if torch.is_floating_point(value) and weight != 1:
            first = start[name].to(value.device, value.dtype)
            out[name] = first.clone() if weight == 0 else torch.lerp(first, value, weight)
        else:
            out[name] = value.clone()
    return out


class InterpolatedScores:
    """A validation score, recorded for the weights interpolated toward the start.

    Wraps ``scoring(module, X, y)``.  Its first call (the fit loop's epoch 0)
    snapshots the module's weights as the start ``theta0``; every call
    scores the module's weights ``theta`` interpolated as
    ``theta0 + a (theta - theta0)`` for each ``a`` of ``weights``, puts
    ``theta`` back, appends the scores as a column of ``table`` (shape
    ``(n_weights, n_calls)``) and returns their maximum, so that early
    stopping waits while any weight still improves.
    """

    def __init__(self, scoring, weights):
        self.scoring = scoring
        self.weights = [float(a) for a in weights]
        self.start = None
        self.columns = []

    @property
    def table(self):
        return np.array(self.columns, dtype=np.float64).T

    def __call__(self, module, X, y):
        if self.weights == [1.0]:  # no interpolation: no copies of the weights
            score = float(self.scoring(module, X, y))
            self.columns.append([score])
            return score
        state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        if self.start is None:
            self.start = state
            score = float(self.scoring(module, X, y))
            self.columns.append([score] * len(self.weights))
            return score
        scores = []
        try:
            for a in self.weights:
                if a != 1:
                    module.load_state_dict(interpolate_state(self.start, state, a))
                scores.append(float(self.scoring(module, X, y)))
                if a != 1:
                    module.load_state_dict(state)
        finally:
            module.load_state_dict(state)
        self.columns.append(scores)
        return max(scores)


class _CombineWithStart(Callback):
    """At the end of training, combine the module with its start by ``weight``.

    Snapshots the module (:meth:`_snapshot`) when training begins; when it
    ends (after weight averaging and best-epoch restore, which run before
    it), :meth:`_combine` applies the snapshot unless ``weight`` is 1.
    Nothing is kept in the fitted net.
    """

    def __init__(self, weight):
        self.weight = weight

    def initialize(self):
        self._start = None
        return self

    def on_train_begin(self, net, **kwargs):
        self._start = self._snapshot(net.module_)

    def on_train_end(self, net, **kwargs):
        if self._start is None:
            return
        if self.weight != 1:
            self._combine(net, self._start)
        self._start = None


class InterpolateToStart(_CombineWithStart):
    """At the end of training, move the module's weights toward the start:
    ``theta0 + weight * (theta - theta0)`` (:func:`interpolate_state`)."""

    def _snapshot(self, module):
        return {k: v.detach().clone() for k, v in module.state_dict().items()}

    def _combine(self, net, start):
        with torch.no_grad():
            net.module_.load_state_dict(
                interpolate_state(start, net.module_.state_dict(), self.weight))


class MixedScores(InterpolatedScores):
    """A validation score, recorded for outputs mixed with the start's.

    As :class:`InterpolatedScores`, but each weight ``a`` scores the module
    :class:`~skmetric.nn.MixedWithStart` of a frozen copy of the module
    taken at the first call (the start, ``f0``) and the module itself:
    squared distances ``(1 - a) d0^2 + a d^2``.  ``a = 1`` scores the module
    alone.
    """

    def __call__(self, module, X, y):
        if self.start is None:
            self.start = copy.deepcopy(module).eval()
            score = float(self.scoring(module, X, y))
            self.columns.append([score] * len(self.weights))
            return score
        scores = [float(self.scoring(module if a == 1 else MixedWithStart(self.start, module, a),
                                     X, y)) for a in self.weights]
        self.columns.append(scores)
        return max(scores)


class MixWithStart(_CombineWithStart):
    """At the end of training, mix the module's output with its start's: the
    net's module becomes :class:`~skmetric.nn.MixedWithStart` of a frozen
    copy of the starting module and the trained one, with ``weight``."""

    def _snapshot(self, module):
        return copy.deepcopy(module).eval()

    def _combine(self, net, start):
        net.module_ = MixedWithStart(start, net.module_, self.weight)


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

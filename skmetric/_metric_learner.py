"""``MetricLearner``: learn an embedding with any metric loss."""

import copy
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from torch import nn

from ._embedding import EmbeddingLearnerMixin
from ._export import TorchExportMixin
from ._training import (
    OPTIMIZERS,
    TRAINING_PARAMETER_CONSTRAINTS,
    StartingModelKeptWarning,
    guarded_fit,
    seeded,
)
from ._training._callbacks import WeightEMA
from ._training._class_folds import (
    MAX_FOLDS,
    InterpolatedScores,
    InterpolateToStart,
    MixedScores,
    MixWithStart,
    StopAtEpoch,
    choose_epoch_and_weight,
    choose_start,
    class_folds,
    fold_plan,
    fold_weight_curves,
    run_folds,
)
from ._training._lbfgsb import LBFGSB
from .nn import Normalized, ResidualEmbedder
from .utils._validation import (
    Interval,
    StrOptions,
    _fit_context,
    check_is_fitted,
    validate_data,
)

__all__ = ["MetricLearner"]

# training samples used as the reference set of the validation score
_MAX_VALID_REFERENCE = 4000

# ---------------------------------------------------------------- "auto" values
# module="linear" (a Mahalanobis metric, the niche of scikit-learn's NCA) trains
# as NCA does: the NCA loss, full-batch L-BFGS; anything else as a deep net.
# Largest L-BFGS batch: the NCA loss holds a few batch x batch matrices.
_LBFGS_MAX_BATCH = 2048
_AUTO = {
    # parameter: (value with the L-BFGS optimizer, value otherwise)
    "lr": (1.0, 2e-3),
    "weight_decay": (0.0, 1e-4),
    "lr_schedule": ("constant", "cosine"),
    "max_epochs": (3, "auto"),  # L-BFGS: 3 x (at most) 10 iterations per batch;
    # "auto" otherwise: the engine sets the epochs from a budget of steps
}
# module="linear" on data that fits in one L-BFGS batch: SciPy's L-BFGS-B
# (compiled, its curvature pairs kept through one step of up to 15
# iterations), in one epoch: the loop's per-epoch work is paid once
# (benchmarks/bench_linear_nca.py, docs/metric_learner.md "Linear metric")
_LBFGSB_EPOCHS = 1


# closed set (no held-out classes), max_epochs="auto" with a gradient-based
# optimizer: the step budget (passes, skip_batches) of the engine's
# auto_epochs, 300 passes' worth of the rows beyond the first batch (more
# steps than 200 for 512 to 4,000 rows: measured in docs/metric_learner.md,
# "Closed set and open set"); data that fits
# in about one batch (iris, wine) keeps the floor of 50 steps, from about
# 2,800 rows the cap of 3,000 steps binds
# (benchmarks/bench_open_set.py --part closed, docs/metric_learner.md)
_CLOSED_SET_BUDGET = (300, 1)


# open-set setting (whole classes held out for early stopping), with loss and
# lr left at "auto": the pair loss and small step that transferred to unseen
# classes in benchmarks/bench_open_set.py (docs/metric_learner.md, open set)
_OPEN_SET_LOSS = "multi_similarity"
_OPEN_SET_LR = 1e-4
# ... and ema_decay="auto": the decay of the moving average of the weights
# that is validated and kept with the open-set setting (None: no averaging)
_OPEN_SET_EMA_DECAY = None
# ... and start_interpolation="auto" with validation_split="class_folds": the
# weights a of theta0 + a (theta - theta0) that the folds choose from,
# together with the epoch (1.0 alone: the trained weights, no interpolation)
_OPEN_SET_INTERPOLATION = (1.0,)
# ... and start_mixing="auto" with validation_split="class_folds": the weights
# a of the output mixing [sqrt(1 - a) f0(x), sqrt(a) f(x)] that the folds
# choose from, together with the epoch (1.0 alone: no mixing)
_OPEN_SET_MIXING = (1.0,)


# init="auto" with validation_split="class_folds": the shrinkages of the
# within-class whitening the folds compare with the features, closed form,
# before any training (benchmarks/bench_open_set.py, docs/metric_learner.md
# "Whitening by the seen classes"); init="within_class" without class folds
# and init_shrinkage="auto": _INIT_SHRINKAGE_DEFAULT
_INIT_SHRINKAGE = (0.03, 0.1, 0.3)
_INIT_SHRINKAGE_DEFAULT = 0.1


def _is_open_set(est):
    return (est.validation_split in ("classes", "class_folds")
            and est.validation_fraction is not None)


# validation_split="class_folds": the fold-mean Recall@1 closer than this to
# the best that counts as the best (the latest such epoch is trained: the
# final fit sees every class)
_FOLD_EPOCH_TOLERANCE = 0.0


def _auto_loss(module, open_set=False):
    if module == "linear":
        return "nca"
    return _OPEN_SET_LOSS if open_set else "normalized_softmax"


def _is_lbfgs(optimizer):
    return optimizer in ("lbfgs", "lbfgsb") or optimizer in (torch.optim.LBFGS, LBFGSB)


def _auto_training_settings(est, n_train):
    """The training parameters of ``est`` with ``"auto"`` resolved (a dict).

    ``optimizer``: for ``module="linear"`` ``"lbfgsb"`` (SciPy's L-BFGS-B,
    one epoch: ``_LBFGSB_EPOCHS``) when the training rows fit in one batch,
    else ``"lbfgs"``; otherwise ``"adamw"``; then
    ``lr``, ``weight_decay``, ``lr_schedule``, ``max_epochs`` by optimizer
    (``_AUTO``) and ``batch_size``: L-BFGS takes the whole training set in
    one batch (at most ``_LBFGS_MAX_BATCH`` rows), other optimizers 256.
    """
    optimizer = est.optimizer
    if optimizer == "auto":
        optimizer = "adamw"
        if est.module == "linear":
            optimizer = "lbfgsb" if n_train <= _LBFGS_MAX_BATCH else "lbfgs"
    lbfgs = _is_lbfgs(optimizer)
    settings = {"optimizer": optimizer}
    for name, (with_lbfgs, other) in _AUTO.items():
        value = getattr(est, name)
        settings[name] = (with_lbfgs if lbfgs else other) if value == "auto" else value
    if est.max_epochs == "auto" and optimizer in ("lbfgsb", LBFGSB):
        settings["max_epochs"] = _LBFGSB_EPOCHS
    batch_size = est.batch_size
    if batch_size == "auto":
        batch_size = max(2, min(n_train, _LBFGS_MAX_BATCH)) if lbfgs else 256
    settings["batch_size"] = batch_size
    if not lbfgs and est.lr == "auto" and _is_open_set(est):
        settings["lr"] = _OPEN_SET_LR
    if not lbfgs and est.max_epochs == "auto" and not _is_open_set(est):
        settings["auto_budget"] = _CLOSED_SET_BUDGET
    ema_decay = est.ema_decay
    if ema_decay == "auto":
        ema_decay = _OPEN_SET_EMA_DECAY if not lbfgs and _is_open_set(est) else None
    settings["ema_decay"] = ema_decay
    return settings


def _start_weights(est, name, auto):
    """The sorted weights of ``start_interpolation`` or ``start_mixing`` (a tuple)."""
    weights = getattr(est, name)
    if isinstance(weights, str):  # "auto"
        weights = auto
    try:
        values = sorted({float(a) for a in weights})
    except (TypeError, ValueError):
        values = []
    if not values or not all(0 < a <= 1 for a in values):
        raise ValueError(
            f"MetricLearner: `{name}` must be a non-empty tuple of "
            f"weights in (0, 1] or 'auto'; got {getattr(est, name)!r}."
        )
    folded = est.validation_split == "class_folds" and est.validation_fraction is not None
    if values != [1.0] and not folded:
        raise ValueError(
            f"MetricLearner: `{name}` weights other than 1.0 are chosen on "
            "held-out class folds: they need validation_split='class_folds' and a "
            f"validation_fraction; got validation_split={est.validation_split!r}, "
            f"validation_fraction={est.validation_fraction!r}."
        )
    return tuple(values)


def _interpolation_weights(est):
    """The sorted interpolation weights of ``start_interpolation`` (a tuple)."""
    return _start_weights(est, "start_interpolation", _OPEN_SET_INTERPOLATION)


def _mixing_weights(est):
    """``(weights, mix)``: the weights toward the start the folds choose from,
    and whether they mix outputs (``start_mixing``) rather than weights
    (``start_interpolation``); at most one of the two is not ``(1.0,)``."""
    interpolation = _interpolation_weights(est)
    mixing = _start_weights(est, "start_mixing", _OPEN_SET_MIXING)
    if mixing == (1.0,):
        return interpolation, False
    if interpolation != (1.0,):
        raise ValueError(
            "MetricLearner: `start_interpolation` and `start_mixing` cannot both "
            f"have weights other than 1.0; got {est.start_interpolation!r} and "
            f"{est.start_mixing!r}."
        )
    return mixing, True


def _init_candidates(est):
    """``(starts, fallback)``: the starts ``fit`` chooses from on class folds
    (None: the features; a float: the within-class whitening of that
    shrinkage, the features first when they are the default) and the start
    used when no fold can choose."""
    if est.init == "within_class" and isinstance(est.module, nn.Module):
        raise ValueError(
            "MetricLearner: `init`='within_class' sets the start of the built-in "
            "modules ('mlp', 'linear'); a module passed as an object starts as given. "
            "Use init='auto' or 'pca' with it."
        )
    if est.init == "pca" or isinstance(est.module, nn.Module):
        return (None,), None
    fixed = est.init_shrinkage != "auto"
    grid = (float(est.init_shrinkage),) if fixed else _INIT_SHRINKAGE
    folded = est.validation_split == "class_folds" and est.validation_fraction is not None
    if est.init == "within_class":
        default = grid[0] if fixed else _INIT_SHRINKAGE_DEFAULT
        return (grid if folded else (default,)), default
    return ((None, *grid) if folded else (None,)), None


def _averaging_callbacks(settings):
    """The fit loop's weight-averaging callback of resolved ``settings``."""
    decay = settings.get("ema_decay")
    return [] if decay is None else [("weight_ema", WeightEMA(decay))]


class _EmbeddingRecall:
    """Validation score: Recall@1 of held-out samples among everything else.

    Each validation embedding is searched against the other validation
    embeddings and a reference sample of the training embeddings, so the
    score reflects the kNN use of the embedding: with held-out samples it is
    the closed-set accuracy of 1-NN, with held-out classes it is open-set
    retrieval with the training classes as distractors.
    """

    def __init__(self, X_ref, y_ref):
        self.X_ref = X_ref
        self.y_ref = y_ref

    def _embed(self, module, X):
        """The embeddings of the validation rows and of the reference rows."""
        emb = module(X).cpu().numpy()
        ref = module(torch.as_tensor(self.X_ref, device=X.device)).cpu().numpy()
        return emb, ref

    def __call__(self, module, X, y):
        from .neighbors import kneighbors

        emb, ref = self._embed(module, X)
        d_val, i_val = kneighbors(emb, n_neighbors=1)
        d_ref, i_ref = kneighbors(emb, ref, n_neighbors=1)
        pred = np.where(d_val[:, 0] <= d_ref[:, 0], y[i_val[:, 0]], self.y_ref[i_ref[:, 0]])
        return float(np.mean(pred == y))


class _EmbeddingKNNAccuracy(_EmbeddingRecall):
    """Validation score of held-out samples (closed set): k-NN accuracy.

    Each validation embedding is classified by a majority vote of its
    ``n_neighbors`` nearest embeddings of a reference sample of the training
    rows (ties to the smallest label), as
    :class:`~sklearn.neighbors.KNeighborsClassifier` with uniform weights
    predicts once fitted on the training embeddings: the score tracks the kNN
    quality users get from the embedding, with the k of the default
    ``KNeighborsClassifier()`` (5), not only the nearest neighbour.
    """

    def __init__(self, X_ref, y_ref, n_neighbors=5):
        super().__init__(X_ref, y_ref)
        self.n_neighbors = n_neighbors

    def __call__(self, module, X, y):
        from .neighbors import kneighbors

        emb, ref = self._embed(module, X)
        k = min(self.n_neighbors, ref.shape[0])
        _, idx = kneighbors(emb, ref, n_neighbors=k)
        votes = np.asarray(self.y_ref)[idx]
        y = np.asarray(y)
        counts = np.zeros((votes.shape[0], int(max(votes.max(), y.max())) + 1))
        np.add.at(counts, (np.arange(votes.shape[0])[:, None], votes), 1)
        return float(np.mean(counts.argmax(1) == y))


class MetricLearner(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, TorchExportMixin, EmbeddingLearnerMixin,
    BaseEstimator,
):
    """Learn an embedding in which samples of a class are close.

    ``MetricLearner`` trains a neural embedding ``f(X)`` with a deep metric
    learning loss and is a scikit-learn transformer: ``transform`` returns the
    embeddings, so it goes first in a :class:`~sklearn.pipeline.Pipeline`
    before :class:`~sklearn.neighbors.KNeighborsClassifier`, clustering or
    retrieval.

    The default network starts *at the input features* (a learnable linear
    map initialised to the identity, or to PCA when ``n_components`` is
    smaller, plus an MLP branch initialised to zero).  With a validation
    split the score is also taken before the first epoch, so the kept
    embedding cannot be worse on held-out data than the features it started
    from; ``validation_split="classes"`` makes that guarantee hold for
    classes never seen in training (open-set retrieval).

    Parameters
    ----------
    loss : str, torch.nn.Module or list, default="auto"
        ``"auto"``: ``"nca"`` for ``module="linear"``; with the open-set
        setting (``validation_split="classes"`` or ``"class_folds"`` and a
        ``validation_fraction``) ``"multi_similarity"``, which transferred to
        unseen classes in the open-set benchmark; else
        ``"normalized_softmax"``.
        A name of :data:`skmetric.losses.LOSSES` (``"multi_similarity"``,
        ``"circle"``, ``"triplet_margin"``, ``"contrastive"``,
        ``"proxy_anchor"``, ``"normalized_softmax"``, ``"arcface"``...) or a
        loss object.  Its hyperparameters are nested parameters
        (``loss__alpha``); an object is copied, never modified.  Losses with
        per-class parameters get ``num_classes`` and ``embedding_size`` from
        the data.  A list of ``(name or loss, weight)`` pairs, e.g.
        ``[("multi_similarity", 1.0), ("tcm", 0.1)]``, trains their weighted
        sum (a :class:`~skmetric.losses.CombinedLoss`); nested parameters do
        not reach into a list -- pass a ``CombinedLoss`` object to grid-search
        ``loss__...``.
    miner : str, torch.nn.Module or None, default=None
        A miner (``"multi_similarity"``, ``"batch_hard"``,
        ``"triplet_margin"``...) whose pairs or triplets the loss uses.
    module : {"mlp", "linear"} or torch.nn.Module, default="mlp"
        ``"mlp"``: a residual MLP starting at the input features;
        ``"linear"``: a learned linear map, i.e. a Mahalanobis metric as
        :class:`~sklearn.neighbors.NeighborhoodComponentsAnalysis` learns
        (with the ``"auto"`` training values: NCA's loss and its optimiser,
        full-batch L-BFGS, in batches of at most 2,048 rows on larger data);
        or any module mapping ``(n, n_features)`` float32 tensors to
        ``(n, n_components)``.
    n_components : int, default=None
        Embedding size.  ``None``: ``min(n_features, 128)``.  Ignored (read
        from the module's output) for a user module.
    hidden_sizes : tuple of int or "auto", default="auto"
        Hidden widths of the ``"mlp"`` module.  ``"auto"``: two layers of
        ``8 * n_features`` rounded up to a power of two, between 128 and 512
        (``(128, 128)`` up to 16 features, ``(512, 512)`` from 33).
    dropout : float, default=0.2
        Dropout of the ``"mlp"`` module.
    normalize : bool or "auto", default="auto"
        L2-normalise the embedding.  ``"auto"``: when the loss works on
        cosine similarities (``loss.prefers_normalized``), except with
        ``validation_split="classes"`` or ``"class_folds"``, where the output stays unnormalised
        so that the starting embedding ranks neighbours exactly as the raw
        features do (cosine losses still normalise inside the loss).
    init : {"auto", "pca", "within_class"}, default="auto"
        Where the built-in network (``module="mlp"`` or ``"linear"``)
        starts.  ``"pca"``: at the input features (the identity, or their
        top principal axes when ``n_components`` is smaller), so that the
        untrained embedding ranks neighbours as the raw features do.
        ``"within_class"``: at the features whitened by their within-class
        covariance, shrunk toward the isotropic one by ``init_shrinkage``
        (Relevant Component Analysis; :func:`~skmetric.nn.within_class_projection`):
        directions in which the samples of a class spread are shrunk, which
        transfers to new classes that vary along the same directions.
        ``"auto"``: with ``validation_split="class_folds"`` (and a
        ``validation_fraction``) the class folds choose, before any training,
        between the features and their within-class whitening at shrinkage
        0.03, 0.1 and 0.3: a whitening is kept only when its untrained
        held-out-class Recall@1 beats the features' in *every* fold (the
        best mean among those); the folds and the final fit then train from
        that start (``init_``, ``init_shrinkage_``, ``init_fold_scores_``).
        Otherwise ``"pca"``.  A module passed as an object starts as given
        (``"within_class"`` raises a ValueError with it).
    init_shrinkage : float in (0, 1] or "auto", default="auto"
        The shrinkage of ``init="within_class"`` (1: the raw geometry).
        ``"auto"``: chosen among 0.03, 0.1 and 0.3 by the class folds with
        ``validation_split="class_folds"``, else 0.1.  With ``init="auto"``
        and class folds, a number fixes the one whitening the folds compare
        with the features.
    samples_per_class : int, "auto" or None, default="auto"
        Class-balanced P x K batches with ``K = samples_per_class``.
        ``"auto"``: 4 for pair and triplet losses (and whenever a miner is
        set), shuffled batches for proxy losses and with L-BFGS.
    max_epochs : int or "auto", default="auto"
        Epochs of training; an int makes each epoch one pass over the
        training data.  ``"auto"``: 1 with ``"lbfgsb"``, 3 with ``"lbfgs"``
        (at most 10 iterations per batch and epoch); otherwise the number of optimisation steps sets
        the cost -- a budget of ``300 * (n_samples / batch_size - 1)`` steps
        (300 passes' worth of the rows beyond the first batch; with the
        open-set setting ``100 * n_samples / batch_size``), at least 50 and
        at most 3,000, in epochs of at least 10 steps (several passes over
        small data).  Iris-sized data then trains 50 full-batch steps in 5
        epochs, 2,800 rows 2,981 steps (271 passes), 8,000 rows 94 passes
        (3,008 steps), 14,000 rows 3,025 steps (55 passes); at least one
        pass.
    batch_size : int or "auto", default="auto"
        ``"auto"``: with L-BFGS all training rows in one batch (at most
        2,048 rows per batch), else 256.
    lr : float or "auto", default="auto"
        ``"auto"``: 1.0 with L-BFGS (its line search scales the step); 1e-4
        with the open-set setting (``validation_split="classes"`` or ``"class_folds"`` and a
        ``validation_fraction``); else 2e-3.
    weight_decay : float or "auto", default="auto"
        ``"auto"``: 0 with L-BFGS (which has none), else 1e-4.
    optimizer : str or optimizer class, default="auto"
        ``"adamw"``, ``"adam"``, ``"sgd"``, ``"rmsprop"``, ``"lbfgs"``,
        ``"lbfgsb"`` or a ``torch.optim`` class.  ``"auto"``: for
        ``module="linear"``, ``"lbfgsb"`` when the training rows fit in one
        batch (2,048), else ``"lbfgs"``; otherwise ``"adamw"``.  ``"lbfgs"``
        is ``torch.optim.LBFGS`` with a strong-Wolfe line search, at most 10
        iterations per batch and ``tolerance_change=1e-4``; ``"lbfgsb"`` is
        SciPy's L-BFGS-B (compiled), one minimisation of at most 15
        iterations per batch, ended once an iteration lowers the loss by
        less than ``tolerance_change=1e-3`` times ``max(|loss|, 1)``; it
        takes ``lr=1.0`` only (``optimizer_params`` overrides the others).
    optimizer_params : dict or None, default=None
        Further keyword arguments of the optimizer (``{"momentum": 0.9}``,
        ``{"betas": (0.9, 0.99)}``); ``lr`` and ``weight_decay`` have their own
        parameters.  ``set_params(optimizer__momentum=0.9)`` sets one key, so
        ``optimizer__<name>`` can be grid-searched.  ``"sgd"`` defaults to
        ``momentum=0.9`` (torch's class, passed as such, to 0).  Unknown keys
        raise a ValueError naming the optimizer.
    lr_schedule : {"auto", "cosine", "constant"}, default="auto"
        ``"cosine"`` anneals the learning rate to 0 over ``max_epochs``.
        ``"auto"``: ``"constant"`` with L-BFGS, else ``"cosine"``.
    ema_decay : float in (0, 1), None or "auto", default="auto"
        Keep an exponential moving average of the network's weights
        (Polyak averaging, as ``torch.optim.swa_utils.get_ema_multi_avg_fn``):
        after each optimisation step the average becomes ``ema_decay *
        average + (1 - ema_decay) * weights``, starting at the initial
        weights.  The averaged weights are what is validated each epoch,
        kept as the best epoch and fitted (``module_``); with
        ``validation_split="class_folds"`` the folds average as the final fit
        does.  ``None``: no averaging.  ``"auto"``: no averaging (the
        open-set benchmark is in docs/metric_learner.md).
    start_interpolation : tuple of float in (0, 1] or "auto", default="auto"
        Weights ``a`` of the interpolation of the trained weights toward the
        starting ones, ``theta0 + a * (theta - theta0)`` (WiSE-FT): with
        ``validation_split="class_folds"`` every fold scores each weight
        every epoch, and the folds choose the pair (epoch, ``a``) under the
        same rule as the epoch alone (it must beat the start in every fold;
        ties go to the latest epoch, then to the largest ``a``); the final
        fit trains that many epochs and interpolates with that ``a``
        (``interpolation_weight_``).  A small ``a`` keeps most of the
        starting geometry (the raw features) and adds what of training
        transfers to new classes.  ``(1.0,)``: no interpolation.  Weights
        other than 1.0 need ``validation_split="class_folds"`` (a
        ValueError otherwise).  ``"auto"``: ``(1.0,)``.
    start_mixing : tuple of float in (0, 1] or "auto", default="auto"
        Weights ``a`` of the output mixing with the starting embedding
        ``f0``: the embedding ``[sqrt(1 - a) f0(x), sqrt(a) f(x)]``
        (:class:`~skmetric.nn.MixedWithStart`, twice ``n_components`` wide),
        whose squared distances are ``(1 - a) d0^2 + a d^2``.  Chosen with
        the epoch on the class folds as ``start_interpolation`` is
        (``mixing_weight_``); a small ``a`` keeps the starting distances
        and lets the trained ones reorder their near ties.  ``(1.0,)``: no
        mixing.  Weights other than 1.0 need ``validation_split="class_folds"``
        and ``start_interpolation`` left at ``(1.0,)`` (a ValueError
        otherwise).  ``"auto"``: ``(1.0,)``.
    validation_fraction : float or None, default=None
        Fraction of the training data held out to score the embedding each
        epoch, with early stopping (``patience``) and the best epoch's
        weights kept -- epoch 0, the starting embedding, included.  Held-out
        samples (``validation_split="samples"``) score their 5-NN accuracy
        against the training samples, as ``KNeighborsClassifier()`` predicts;
        held-out classes their Recall@1 against the other held-out samples and
        the training samples.
        ``None`` trains on all data for ``max_epochs``, which suits the
        closed-set use (kNN classification of the classes seen in ``fit``).
    validation_split : {"samples", "classes", "class_folds"}, default="samples"
        What ``validation_fraction`` holds out: a stratified fraction of the
        samples of every class, or whole classes (at least 1, leaving at
        least 2 to train; with only 2 classes nothing can be held out: the
        starting embedding is kept untrained and a ``UserWarning`` says so).
        Hold out classes (``"class_folds"``, or the cheaper and noisier
        ``"classes"``) for open-set
        retrieval, where queries come from classes never seen in training:
        the score then measures how the embedding generalises to new
        classes, and because the default network starts at the raw
        features, the kept embedding cannot be worse on the held-out classes
        than the features themselves.  What transfers to new classes is a
        pairwise loss with small steps, so with ``validation_split="classes"``
        and a ``validation_fraction``, ``loss`` and ``lr`` left at ``"auto"``
        become ``"multi_similarity"`` and 1e-4 (the proxy loss learns
        features of the seen classes only; docs/metric_learner.md, "Closed
        set and open set", has the measurements).
        ``"class_folds"`` rotates the held-out classes instead: up to 5 folds
        of ``round(validation_fraction * n_classes)`` classes (at least 1),
        each training a fresh embedding on the other classes with early
        stopping on its held-out ones; the epoch-by-epoch mean of their
        validation curves chooses the number of epochs, among the epochs
        that beat the start in every fold (0, when none does: the starting
        embedding is kept, with a ``StartingModelKeptWarning``), and a final
        fit trains on *every* class for that many epochs, so it costs about
        ``n_folds + 1`` fits (3 folds with ``validation_fraction=0.4``).
        ``history_`` then holds the folds' mean curve as ``valid_score``.
        ``loss`` and ``lr`` at ``"auto"`` resolve as with ``"classes"``.
    patience : int or None, default=10
        Epochs without a better validation score before training stops.
    device : {"cpu", "cuda", "auto"}, default="cpu"
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, batches, dropout and validation split; with an
        int, fits are identical bit for bit on CPU,
        also when fits run in threads.
    verbose : int, default=0
        Print a line per epoch when positive.
    callbacks : list of skorch callbacks or None, default=None
        Extra callbacks for the fit loop.  An exception raised in one
        leaves the estimator unfitted; a ``KeyboardInterrupt`` during the
        epochs keeps the weights so far (``stop_reason_ == "interrupted"``,
        a :class:`~skmetric.TrainingInterruptedWarning`) and is raised again.
    accelerator : accelerate.Accelerator or None, default=None
        Train through skorch's Hugging Face Accelerate integration (the
        ``accelerate`` extra): multi-GPU with ``accelerate launch``, mixed
        precision.  The accelerator places module and data; ``device`` is
        then ignored.  ``None`` trains on ``device`` in plain torch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has string feature names.
    embedding_size_ : int
    loss_ : torch.nn.Module
        The trained loss (with its learned proxies, if any).
    miner_ : torch.nn.Module or None
    module_ : torch.nn.Module
        The trained embedding network.
    net_ : skorch.NeuralNet
        The skorch net that ran the training.
    history_ : skorch.History
        One row per epoch: ``history_[0]`` is epoch 0 (the starting
        embedding, its ``valid_score`` only), ``history_[k]`` epoch ``k``
        (``train_loss``, ``valid_score``).
    best_epoch_ : int
        Epoch whose weights were kept (``n_epochs_`` without validation;
        0 = the starting embedding, with a ``StartingModelKeptWarning``).
    n_epochs_ : int
        Epochs trained (``len(history_) - 1``).
    baseline_score_, best_score_ : float or None
        Validation score of the starting embedding (epoch 0) and of the kept
        epoch; None without validation.
    init_ : {"pca", "within_class"}
        The start the network trained from (see ``init``).
    init_shrinkage_ : float or None
        The shrinkage of the within-class whitening started from (None:
        the features).
    init_fold_scores_ : ndarray of shape (n_folds, n_starts) or None
        With ``init`` chosen on class folds: each fold's held-out-class
        Recall@1 of each untrained start (column 0: the features with
        ``init="auto"``, then each shrinkage); else None.
    interpolation_weight_ : float
        The weight ``a`` of ``start_interpolation`` kept (1.0: the trained
        weights as they are).
    mixing_weight_ : float
        The weight ``a`` of ``start_mixing`` kept (1.0: the trained
        embedding alone).
    stop_reason_ : {"max_epochs", "patience", "callback", "interrupted"}
        Why training stopped.

    See Also
    --------
    sklearn.neighbors.NeighborhoodComponentsAnalysis : Linear metric learning
        by stochastic nearest neighbours.

    References
    ----------
    K. Musgrave, S. Belongie and S.-N. Lim. "A Metric Learning Reality
    Check". ECCV 2020.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from skmetric import MetricLearner
    >>> X, y = load_digits(return_X_y=True)
    >>> X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    >>> pipe = make_pipeline(MetricLearner(max_epochs=5, random_state=0),
    ...                      KNeighborsClassifier())
    >>> pipe.fit(X_tr, y_tr).score(X_te, y_te) > 0.95
    True
    """

    _parameter_constraints = {
        "loss": [str, nn.Module, list],
        "miner": [str, nn.Module, None],
        "module": [StrOptions({"mlp", "linear"}), nn.Module],
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "hidden_sizes": [tuple, list, StrOptions({"auto"})],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "normalize": ["boolean", StrOptions({"auto"})],
        "samples_per_class": [
            Interval(Integral, 2, None, closed="left"),
            StrOptions({"auto"}),
            None,
        ],
        "validation_split": [StrOptions({"classes", "class_folds", "samples"})],
        **TRAINING_PARAMETER_CONSTRAINTS,
        # "auto": resolved by module and optimizer in fit (_auto_training_settings)
        **{name: [*TRAINING_PARAMETER_CONSTRAINTS[name], StrOptions({"auto"})]
           for name in ("max_epochs", "batch_size", "lr", "weight_decay", "lr_schedule")},
        "optimizer": [StrOptions(set(OPTIMIZERS) | {"auto"}), type],
        "ema_decay": [Interval(Real, 0, 1, closed="neither"), None, StrOptions({"auto"})],
        "start_interpolation": [tuple, list, StrOptions({"auto"})],
        "start_mixing": [tuple, list, StrOptions({"auto"})],
        "init": [StrOptions({"auto", "pca", "within_class"})],
        "init_shrinkage": [Interval(Real, 0, 1, closed="right"), StrOptions({"auto"})],
    }

    def __init__(
        self,
        loss="auto",
        *,
        miner=None,
        module="mlp",
        n_components=None,
        hidden_sizes="auto",
        dropout=0.2,
        normalize="auto",
        init="auto",
        init_shrinkage="auto",
        samples_per_class="auto",
        max_epochs="auto",
        batch_size="auto",
        lr="auto",
        weight_decay="auto",
        optimizer="auto",
        optimizer_params=None,
        lr_schedule="auto",
        ema_decay="auto",
        start_interpolation="auto",
        start_mixing="auto",
        validation_fraction=None,
        validation_split="samples",
        patience=10,
        device="cpu",
        random_state=None,
        verbose=0,
        callbacks=None,
        accelerator=None,
    ):
        self.loss = loss
        self.miner = miner
        self.module = module
        self.n_components = n_components
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
        self.normalize = normalize
        self.init = init
        self.init_shrinkage = init_shrinkage
        self.samples_per_class = samples_per_class
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.optimizer_params = optimizer_params
        self.lr_schedule = lr_schedule
        self.ema_decay = ema_decay
        self.start_interpolation = start_interpolation
        self.start_mixing = start_mixing
        self.validation_fraction = validation_fraction
        self.validation_split = validation_split
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.accelerator = accelerator

    @guarded_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the embedding.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels (strings or any integers).

        Returns
        -------
        self : MetricLearner
        """
        f = self._start_fit(X, y)
        self._check_class_counts(f.y_train, f.train_classes, f.loss, f.miner)
        weights, mix = _mixing_weights(self)
        self.interpolation_weight_ = 1.0
        self.mixing_weight_ = 1.0
        self._set_init(self._start_shrinkage())
        self.init_fold_scores_ = None
        folded = self.validation_split == "class_folds" and self.validation_fraction is not None
        if folded:
            return self._fit_class_folds(f, weights, mix)
        keep_start = self._warn_no_validation_split(f)
        valid_kwargs = {}
        if f.valid_idx is not None:
            valid_kwargs = self._recall_valid_kwargs(f.X, f.y_enc, f.train_idx, f.valid_idx, f.rng)
        # open set (also when nothing could be held out, and the starting
        # embedding is kept): unnormalised, so that it ranks as raw features
        by_classes = self.validation_split == "classes" and (
            f.valid_idx is not None or keep_start)
        self._fit_embedding(
            f.module, f.loss, f.miner, f.X_train, f.y_train, seed=f.seed,
            by_classes=by_classes, max_epochs=0 if keep_start else None, **valid_kwargs,
        )
        self.embedding_size_ = f.embedding_size
        return self

    def _fit_embedding(self, module, loss, miner, X, y, *, seed, by_classes,
                       max_epochs=None, extra_callbacks=(), **valid_kwargs):
        """One fit through the shared loop with this estimator's resolved
        settings: normalisation, batching and weight averaging derived here,
        for the plain fit, each class fold and the final fit alike."""
        settings = _auto_training_settings(self, X.shape[0])
        self._train_embedding(
            module, loss, miner, X, y, seed=seed,
            normalize=self._resolve_normalize(loss, by_classes=by_classes),
            samples_per_class=self._batch_samples_per_class(loss, miner, settings),
            settings=settings,
            max_epochs=max_epochs,
            extra_callbacks=_averaging_callbacks(settings) + list(extra_callbacks),
            **valid_kwargs,
        )

    def _start_shrinkage(self):
        # the one start there is to choose from; with several, the features
        # (the final fit's network is rebuilt once the folds have chosen)
        starts, _ = _init_candidates(self)
        return starts[0] if len(starts) == 1 else None

    def _set_init(self, shrinkage):
        self.init_ = "pca" if shrinkage is None else "within_class"
        self.init_shrinkage_ = shrinkage

    def _choose_start(self, f, plan):
        """The start of the class-fold fits: each start of
        :func:`_init_candidates` is built on the training classes of each fold
        of :func:`class_folds` (the folds the epochs are chosen on next) and
        scored, untrained, on the fold's held-out classes as the epochs are
        (Recall@1, the training classes as distractors); :func:`choose_start`
        picks one.  Closed form: no training."""
        starts, fallback = _init_candidates(self)
        if len(starts) == 1 or plan is None:
            return starts[0] if len(starts) == 1 else fallback
        normalize = self._resolve_normalize(f.loss, by_classes=True)

        def score_fold(train_idx, valid_idx, seed):
            valid = self._recall_valid_kwargs(f.X, f.y_enc, train_idx, valid_idx, rng)
            X_valid = torch.as_tensor(np.asarray(valid["X_valid"], dtype=np.float32))
            scores = []
            for shrinkage in starts:
                start = ResidualEmbedder(
                    *self._start_projection(f.X[train_idx], f.y_enc[train_idx], shrinkage),
                    hidden_sizes=())
                if normalize:
                    start = Normalized(start)
                with torch.no_grad():
                    scores.append(valid["valid_scoring"](start, X_valid, valid["y_valid"]))
            return scores

        # a copy of the generator: the epoch folds then draw the same groups,
        # fold seeds and validation references from f.rng
        rng = copy.deepcopy(f.rng)
        groups = class_folds(np.unique(f.y_enc), plan[0], MAX_FOLDS, rng)
        scores = np.array(run_folds(f.y_enc, groups, rng, score_fold), dtype=np.float64)
        self.init_fold_scores_ = scores
        shrinkage = starts[choose_start(scores, baseline=starts[0] is None)]
        if self.verbose:
            print(f"class folds' held-out Recall@1 of the starts {starts}: "
                  f"{np.round(scores.mean(axis=0), 4).tolist()}; starting from "
                  + ("the features" if shrinkage is None
                     else f"the within-class whitening, shrinkage {shrinkage:g}"))
        return shrinkage

    def _batch_samples_per_class(self, loss, miner, settings):
        spc = self._resolve_samples_per_class(loss, miner)
        if _is_lbfgs(settings["optimizer"]) and self.samples_per_class == "auto":
            spc = None  # L-BFGS: large shuffled batches (all rows when they fit)
        return spc

    def _loss_param(self, module=None):
        if isinstance(self.loss, str) and self.loss == "auto":
            return _auto_loss(self.module if module is None else module, _is_open_set(self))
        return self.loss

    # ---------------------------------------------------------- open set
    def _split_validation(self, y, rng, *, by="samples", min_train=2, min_valid=2):
        # class folds: the final fit trains on every class (the folds are
        # fitted separately, see _fit_class_folds)
        if self.validation_split == "class_folds":
            return np.arange(y.shape[0]), None
        return super()._split_validation(
            y, rng, by=by, min_train=min_train, min_valid=min_valid
        )

    def _recall_valid_kwargs(self, X, y_enc, train_idx, valid_idx, rng):
        """Validation data and score against a sample of the training rows:
        held-out classes, the Recall@1 of their rows (``_EmbeddingRecall``);
        held-out samples (closed set), their 5-NN accuracy
        (``_EmbeddingKNNAccuracy``)."""
        ref = train_idx[rng.permutation(train_idx.size)[:_MAX_VALID_REFERENCE]]
        scorer = (_EmbeddingKNNAccuracy if self.validation_split == "samples"
                  else _EmbeddingRecall)
        return dict(
            X_valid=X[valid_idx],
            y_valid=y_enc[valid_idx],
            valid_scoring=scorer(X[ref].astype(np.float32), y_enc[ref]),
        )

    def _fold_curve(self, X, y_enc, rng, weights=(1.0,), mix=False, shrinkage=None):
        """Mean held-out-classes Recall@1 curves over rotating class folds.

        Each fold holds out ``max(1, round(validation_fraction * n_classes))``
        classes (:func:`class_folds`: at most ``MAX_FOLDS`` folds, no
        class held out twice), trains a fresh embedding on the others through
        the fit loop, with early stopping (``patience``) on the held-out
        classes, and records its validation score per epoch and per
        interpolation weight toward the start (``weights``,
        :class:`InterpolatedScores`), or per weight of the output mixing with
        the start (``mix``, :class:`MixedScores`).  Returns the epoch-by-epoch mean over
        the folds, shape ``(n_weights, length)``, the folds' epochs and their
        padded curves, shape ``(n_folds, n_weights, length)``
        (:func:`fold_weight_curves`), or ``(None, [], None)`` when no two
        folds leave 2 classes to train.  Each fold's network starts at its
        training rows' within-class whitening of ``shrinkage`` (None: at the
        features).
        """
        plan = self._fold_plan(y_enc)
        if plan is None:
            return None, [], None

        def fit_fold(train_idx, valid_idx, seed):
            train_classes, y_train = np.unique(y_enc[train_idx], return_inverse=True)
            module, loss, miner, _ = self._build_blocks(
                X[train_idx], train_classes.size, seed, y_train, shrinkage)
            self._check_class_counts(y_train, train_classes, loss, miner)
            valid_kwargs = self._recall_valid_kwargs(X, y_enc, train_idx, valid_idx, rng)
            scores = (MixedScores if mix else InterpolatedScores)(
                valid_kwargs["valid_scoring"], weights)
            valid_kwargs["valid_scoring"] = scores
            self._fit_embedding(
                module, loss, miner, X[train_idx], y_train, seed=seed, by_classes=True,
                **valid_kwargs,
            )
            return scores.table

        return fold_weight_curves(y_enc, plan[0], MAX_FOLDS, rng, fit_fold)

    def _fold_plan(self, y_enc):
        return fold_plan(np.unique(y_enc).size, self.validation_fraction, 2,
                         MAX_FOLDS, min_valid=self._min_valid_classes)

    def _fit_class_folds(self, f, weights=(1.0,), mix=False):
        """``validation_split="class_folds"``: choose the start (``init``), the
        epochs (and the interpolation or mixing weight toward the start) on
        rotating held-out classes, then train on every class for that many
        epochs."""
        shrinkage = self._choose_start(f, self._fold_plan(f.y_enc))
        if shrinkage != self.init_shrinkage_:
            # the same network as _start_fit's but for the start (the module
            # is built first from the seed: the loss's draws are unchanged)
            with seeded(f.seed):
                f.module = self._build_module(f.X_train, f.y_train, shrinkage)
            self._set_init(shrinkage)
        curves, fold_epochs, folds = self._fold_curve(f.X, f.y_enc, f.rng, weights, mix,
                                                      shrinkage)
        if curves is None:
            warnings.warn(
                "MetricLearner: `validation_split`='class_folds' needs at least 2 "
                "folds of held-out classes, each leaving 2 classes to train on; got "
                f"{self.classes_.size} classes. No held-out class can show that "
                "training transfers to new classes, so the starting embedding ("
                + ("the raw features" if shrinkage is None else
                   f"the within-class whitening, shrinkage {shrinkage:g}")
                + ") was kept untrained; use validation_split='samples' "
                "or validation_fraction=None to train.",
                UserWarning,
                stacklevel=3,
            )
            best, weight = 0, 1.0
        else:
            # among the epochs that beat the start in every fold, not only on
            # the mean (on penbased one fold's gain chose epochs that lost on
            # the unseen classes; "more than half of the folds" kept losses)
            best, j = choose_epoch_and_weight(curves, _FOLD_EPOCH_TOLERANCE, folds)
            weight = weights[j] if best > 0 else 1.0
            curve = curves[j]
        # _fit_embedding adds the same weight averaging as the folds', whose
        # curve chose the epoch
        extra = []
        if best > 0:
            message = (f"the class folds' mean validation curve chose epoch {best} "
                       f"(folds trained {fold_epochs} epochs)")
            if len(weights) > 1:
                message += (f" and the {'mixing' if mix else 'interpolation'} weight "
                            f"{weight:g} toward the start")
            extra.append(("class_folds", StopAtEpoch(best, message)))
            if weight != 1 and mix:
                extra.append(("start_mixing", MixWithStart(weight)))
            elif weight != 1:
                extra.append(("start_interpolation", InterpolateToStart(weight)))
        self._fit_embedding(
            f.module, f.loss, f.miner, f.X_train, f.y_train, seed=f.seed, by_classes=True,
            max_epochs=0 if best == 0 else None, extra_callbacks=extra,
        )
        mixed = mix and weight != 1
        # mixed: the start's output beside the trained one
        self.embedding_size_ = 2 * f.embedding_size if mixed else f.embedding_size
        if mix:
            self.mixing_weight_ = weight
        else:
            self.interpolation_weight_ = weight
        if curves is None:
            return self
        # the fold-mean curve is the validation record of the trained epochs
        for epoch in range(min(len(self.history_), len(curve))):
            self.history_[epoch]["valid_score"] = float(curve[epoch])
        self.baseline_score_ = float(curve[0])
        self.best_score_ = float(curve[min(best, self.n_epochs_)])
        if best == 0:
            warnings.warn(
                "MetricLearner: training did not improve on the starting embedding "
                "on held-out classes: no epoch beat it in every one of the class folds "
                f"(mean validation curve: epoch 0 {curves[0, 0]:.4f}, best "
                f"{curves.max():.4f}; "
                f"folds trained {fold_epochs} epochs); the starting embedding was "
                "kept untrained.",
                StartingModelKeptWarning,
                stacklevel=3,
            )
        return self

    # held-out classes are scored against the training classes as
    # distractors (``_EmbeddingRecall``), so one held-out class suffices:
    # with 3 classes, 1 is held out and 2 train
    _min_valid_classes = 1

    def _warn_no_validation_split(self, f):
        """Say so when ``validation_fraction`` is set but nothing could be held out.

        Returns True when the starting embedding is to be kept untrained: with
        ``validation_split="classes"`` no epoch can be shown to transfer to
        new classes better than the raw features, so none is trained (an
        unvalidated fit on 2 classes lost up to 16 points on the third one).
        """
        if self.validation_fraction is None or f.valid_idx is not None:
            return False
        if self.validation_split == "classes":
            warnings.warn(
                "MetricLearner: no validation data: holding out whole classes needs "
                f"at least 3 classes (1 held out, 2 to train); got {self.classes_.size}. "
                "No held-out class can show that training transfers to new classes, "
                "so the starting embedding (the raw features) was kept untrained; "
                "use validation_split='samples' or validation_fraction=None to train.",
                UserWarning,
                stacklevel=3,
            )
            return True
        warnings.warn(
            "MetricLearner: no validation data: no class has enough samples to hold "
            f"out validation_fraction={self.validation_fraction} of them and keep 2 "
            "in training. Trained on all the data without early stopping.",
            UserWarning,
            stacklevel=3,
        )
        return False

    # --------------------------------------------------------------- transform
    def transform(self, X):
        """Embed ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, embedding_size_)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        return self._forward(X).astype(X.dtype, copy=False)


    def score(self, X, y):
        """Leave-one-out Recall@1 of the embedding of ``X`` (greater is better)."""
        from .metrics import recall_at_k

        return recall_at_k(self.transform(X), np.asarray(y), k=1)

    @property
    def _n_features_out(self):
        return self.embedding_size_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = False
        return tags

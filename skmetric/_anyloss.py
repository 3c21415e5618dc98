"""``AnyLossClassifier``: train a classifier by maximising a confusion-matrix metric."""

import copy
from numbers import Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from torch import nn

from ._training import (
    TRAINING_PARAMETER_CONSTRAINTS,
    StratifiedBatchSampler,
    TorchTrainingMixin,
    guarded_fit,
    seeded,
)
from .losses import get_loss
from .losses.anyloss import ANYLOSS_LOSSES
from .nn._heads import StandardizedHead, feature_standardization
from .utils._validation import (
    Interval,
    StrOptions,
    _fit_context,
    check_is_fitted,
    validate_data,
)

__all__ = ["AnyLossClassifier"]

# metric="f1" builds the loss registered as "anyloss_f1"
_METRIC_NAMES = {cls.metric_name for cls in ANYLOSS_LOSSES.values()}


def _metric_loss(name):
    return get_loss(f"anyloss_{name}")


def _probabilities(logits, n_classes):
    """Module output -> probabilities: ``(n,)`` for binary, ``(n, K)`` otherwise."""
    if n_classes == 2:
        if logits.ndim == 2 and logits.shape[1] == 2:
            return torch.softmax(logits, dim=1)[:, 1]
        return torch.sigmoid(logits.reshape(-1))
    return torch.softmax(logits, dim=1)


def _positive_logit(logits):
    """Binary output (tensor or array) -> the positive class's logit, shape ``(n,)``.

    Two columns give their difference; one column or ``(n,)`` is taken as is.
    """
    if logits.ndim == 2 and logits.shape[1] == 2:
        return logits[:, 1] - logits[:, 0]
    return logits.reshape(-1)


def _balanced_cross_entropy(logits, y, n_classes):
    """Cross-entropy with class weights ``N / (K n_k)`` from the batch's counts.

    For two classes the weights are proportional to ``n_0 / N`` for the
    positives and ``n_1 / N`` for the negatives (the weighted BCE of the
    AnyLoss authors' hybrid loss).
    """
    counts = torch.bincount(y, minlength=n_classes).to(logits.dtype)
    weight = counts.sum() / (n_classes * counts.clamp_min(1))
    if n_classes == 2:
        z = _positive_logit(logits)
        w = weight[y]
        per_sample = nn.functional.binary_cross_entropy_with_logits(
            z, y.to(z.dtype), reduction="none"
        )
        return (w * per_sample).sum() / w.sum()
    return nn.functional.cross_entropy(logits, y, weight=weight)


class _AnyLossCriterion(nn.Module):
    """``(1 - w) loss(probabilities(logits), y) + w balanced_CE(logits, y)``."""

    def __init__(self, loss, n_classes, ce_weight=0.0):
        super().__init__()
        self.loss = loss
        self.n_classes = n_classes
        self.ce_weight = ce_weight

    def forward(self, logits, y):
        out = self.loss(_probabilities(logits, self.n_classes), y)
        if self.ce_weight:
            ce = _balanced_cross_entropy(logits, y, self.n_classes)
            out = (1 - self.ce_weight) * out + self.ce_weight * ce
        return out


class _HardMetric:
    """Validation score: the loss's metric on hard (0/1) predictions."""

    def __init__(self, loss, n_classes):
        self.loss = loss
        self.n_classes = n_classes

    def __call__(self, module, X, y):
        proba = _probabilities(module(X), self.n_classes)
        if self.n_classes == 2:
            hard = (proba > 0.5).to(proba.dtype)
        else:
            hard = nn.functional.one_hot(proba.argmax(1), self.n_classes).to(proba.dtype)
        y = torch.as_tensor(y, device=hard.device)
        return float(1 - self.loss(hard, y))


def _hard_metric_name(metric):
    return metric if isinstance(metric, str) else type(metric).__name__


class AnyLossClassifier(ClassifierMixin, TorchTrainingMixin, BaseEstimator):
    """A neural classifier trained to maximise F1, MCC, balanced accuracy...

    AnyLoss turns a confusion-matrix metric into a loss: each predicted
    probability is pushed towards 0 or 1 by the approximation function
    ``A(p) = sigmoid(L (p - 1/2))``, the soft TP, FP, FN, TN are sums over a
    batch, and the loss is ``1 - metric``.  The network is trained for the
    metric you will be judged on, at the threshold you will predict with
    (0.5, i.e. ``argmax``), so there is no ``class_weight`` and no threshold
    to tune.  Multi-class targets use a soft confusion matrix per class
    (one-vs-rest) with macro averaging by default; see
    :mod:`skmetric.losses.confusion`.

    Batches are stratified: every batch holds each class in its overall
    proportion (at least one sample), so the batch metric is an unbiased
    stand-in for the metric of the whole training set.

    Parameters
    ----------
    metric : str or torch.nn.Module, default="f1"
        A metric name (``"f1"``, ``"fbeta"``,
        ``"balanced_accuracy"``, ``"mcc"``, ``"gmean"``, ``"jaccard"``,
        ``"accuracy"``, ``"precision"``, ``"recall"``), which builds the loss
        ``skmetric.losses.LOSSES["anyloss_<name>"]``, or a loss object called
        as ``loss(probabilities, y)`` (an :class:`skmetric.losses.AnyLoss`,
        e.g. ``FBetaLoss(beta=2)`` or ``FormulaLoss(my_metric)``).  Its
        parameters are nested parameters: ``metric__L``, ``metric__beta``,
        ``metric__average``.  An object is copied, never modified.
    ce_weight : float in [0, 1], default=0.5
        Weight ``w`` of a class-balanced cross-entropy term: the loss is
        ``(1 - w) (1 - metric) + w CE``, the hybrid of the AnyLoss authors'
        follow-up work; ``0`` is pure AnyLoss.  The cross-entropy keeps a
        gradient on samples whose probability is far from 0.5, where the
        metric term is flat (measurements: ``docs/anyloss.md``).
    module : {"mlp", "linear"} or torch.nn.Module, default="mlp"
        ``"linear"``: a linear model on standardised features (logistic
        regression's shape); ``"mlp"``: an MLP with ``hidden_sizes``; or any
        module mapping ``(n, n_features)`` float32 tensors to logits of shape
        ``(n, 1)`` or ``(n, 2)`` for two classes and ``(n, n_classes)``
        otherwise.
    hidden_sizes : tuple of int, default=(64,)
        Hidden widths of the ``"mlp"`` module.
    dropout : float, default=0.0
        Dropout of the ``"mlp"`` module.
    max_epochs : int, default=100
    batch_size : int, default=256
        Larger batches make the batch metric closer to the metric of the data.
    lr : float, default=1e-2
    weight_decay : float, default=1e-4
    optimizer : {"adamw", "adam", "sgd", "rmsprop"} or optimizer class, default="adamw"
    optimizer_params : dict or None, default=None
        Further keyword arguments of the optimizer (``{"momentum": 0.9}``,
        ``{"betas": (0.9, 0.99)}``); ``lr`` and ``weight_decay`` have their own
        parameters.  ``set_params(optimizer__momentum=0.9)`` sets one key, so
        ``optimizer__<name>`` can be grid-searched.  ``"sgd"`` defaults to
        ``momentum=0.9`` (torch's class, passed as such, to 0).  Unknown keys
        raise a ValueError naming the optimizer.
    lr_schedule : {"cosine", "constant"}, default="cosine"
        Cosine annealing of the learning rate to 0 over ``max_epochs``.
    validation_fraction : float or None, default=None
        Fraction of the training data (stratified) held out to keep the
        weights of the epoch with the best *hard* metric; ``None`` trains on
        all data for ``max_epochs``.
    patience : int or None, default=10
        Epochs without a better validation score before training stops
        (only with ``validation_fraction``).
    device : {"cpu", "cuda", "auto"}, default="cpu"
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, batches, dropout and validation split; with an
        int, fits are identical bit for bit on CPU,
        also when fits run in threads.
    verbose : int, default=0
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
    loss_ : torch.nn.Module
        The loss that was trained (``1 - metric``).
    module_ : torch.nn.Module
        The trained network (outputs logits).
    net_ : skorch.NeuralNet
    history_ : skorch.History
        One row per epoch: ``history_[0]`` is epoch 0 (the starting
        embedding, its ``valid_score`` only), ``history_[k]`` epoch ``k``
        (``train_loss``, ``valid_score``).
    best_epoch_ : int
        Epoch whose weights were kept (``n_epochs_`` without validation;
        0 = the starting model, with a ``StartingModelKeptWarning``).
    n_epochs_ : int
        Epochs trained (``len(history_) - 1``).
    baseline_score_, best_score_ : float or None
        Validation score of the starting embedding (epoch 0) and of the kept
        epoch; None without validation.
    stop_reason_ : {"max_epochs", "patience", "callback", "interrupted"}
        Why training stopped.

    See Also
    --------
    sklearn.linear_model.LogisticRegression : With ``class_weight="balanced"``.
    sklearn.model_selection.TunedThresholdClassifierCV : Tune the decision
        threshold of a probabilistic classifier for a metric.

    References
    ----------
    D. Han, N. Moniz and N. V. Chawla. "AnyLoss: Transforming Classification
    Metrics into Loss Functions". KDD 2024. arXiv:2405.14745.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.metrics import f1_score
    >>> from skmetric import AnyLossClassifier
    >>> X, y = make_classification(500, weights=[0.9, 0.1], random_state=0)
    >>> clf = AnyLossClassifier(metric="f1", max_epochs=30, random_state=0).fit(X, y)
    >>> f1_score(y, clf.predict(X)) > 0.8
    True
    """

    _parameter_constraints = {
        "metric": [StrOptions(_METRIC_NAMES), nn.Module],
        "module": [StrOptions({"mlp", "linear"}), nn.Module],
        "ce_weight": [Interval(Real, 0, 1, closed="both")],
        "hidden_sizes": [tuple, list],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "lr_schedule": [StrOptions({"cosine", "constant"})],
        **TRAINING_PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        metric="f1",
        *,
        ce_weight=0.5,
        module="mlp",
        hidden_sizes=(64,),
        dropout=0.0,
        max_epochs=100,
        batch_size=256,
        lr=1e-2,
        weight_decay=1e-4,
        optimizer="adamw",
        optimizer_params=None,
        lr_schedule="cosine",
        validation_fraction=None,
        patience=10,
        device="cpu",
        random_state=None,
        verbose=0,
        callbacks=None,
        accelerator=None,
    ):
        self.metric = metric
        self.ce_weight = ce_weight
        self.module = module
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.optimizer_params = optimizer_params
        self.lr_schedule = lr_schedule
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.accelerator = accelerator

    # ------------------------------------------------------------------ params
    def set_params(self, **params):
        """Set parameters; ``metric__L`` also works when ``metric`` is a name."""
        if any(k.startswith("metric__") for k in params):
            value = params.get("metric", self.metric)
            if isinstance(value, str):
                params["metric"] = _metric_loss(value)
        return super().set_params(**params)

    # --------------------------------------------------------------------- fit
    def _build_loss(self):
        metric = self.metric
        if isinstance(metric, str):
            return _metric_loss(metric)
        if hasattr(metric, "get_params"):
            return type(metric)(**metric.get_params(deep=False))
        return copy.deepcopy(metric)

    def _build_module(self, X, n_outputs):
        if isinstance(self.module, nn.Module):
            return copy.deepcopy(self.module)
        mean, scale = feature_standardization(X)
        hidden = tuple(self.hidden_sizes) if self.module == "mlp" else ()
        return StandardizedHead(mean, scale, n_outputs, hidden_sizes=hidden,
                                dropout=self.dropout)

    def _check_output(self, module, X, n_classes):
        with torch.no_grad():
            was_training = module.training
            out = module.eval()(torch.as_tensor(X[:2], dtype=torch.float32))
            module.train(was_training)
        allowed = {(2, 1), (2, 2)} if n_classes == 2 else {(2, n_classes)}
        shape = tuple(out.shape)
        if n_classes == 2 and out.ndim == 1:
            shape = (shape[0], 1)
        if shape not in allowed or out.ndim not in (1, 2):
            want = "(n, 1) or (n, 2)" if n_classes == 2 else f"(n, {n_classes})"
            raise ValueError(
                f"`module` must output logits of shape {want} for {n_classes} "
                f"classes; got shape {tuple(out.shape)} for 2 samples."
            )

    @guarded_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels (strings or any integers), at least two classes.

        Returns
        -------
        self : AnyLossClassifier
        """
        X, y_enc = self._validate_classification_data(X, y)
        n_classes = self.classes_.size
        seed = self._make_seed()
        rng = np.random.RandomState(seed)
        train_idx, valid_idx = self._split_validation(y_enc, rng, min_train=1, min_valid=1)
        X_train, y_train = X[train_idx], y_enc[train_idx]

        with seeded(seed):
            module = self._build_module(X_train, 1 if n_classes == 2 else n_classes)
            loss = self._build_loss()
        self._check_output(module, X_train, n_classes)

        valid_kwargs = {}
        if valid_idx is not None:
            valid_kwargs = dict(
                X_valid=X[valid_idx],
                y_valid=y_enc[valid_idx],
                valid_scoring=_HardMetric(loss, n_classes),
            )
        batch_size = self.batch_size
        net = self._train(
            module,
            _AnyLossCriterion(loss, n_classes, self.ce_weight),
            X_train,
            y_train,
            seed=seed,
            batch_sampler=lambda y_t, g: StratifiedBatchSampler(y_t, batch_size, g),
            **valid_kwargs,
        )
        self.loss_ = net.criterion_.loss
        return self

    # ----------------------------------------------------------------- predict
    def _logits(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        out = self._forward(X).astype(np.float64)
        return _positive_logit(out) if self.classes_.size == 2 else out

    def decision_function(self, X):
        """Logits: shape ``(n,)`` (positive class) for two classes, else ``(n, n_classes)``."""
        return self._logits(X)

    def predict_proba(self, X):
        """Class probabilities, shape ``(n_samples, n_classes)``, in the order of ``classes_``."""
        z = self._logits(X)
        if self.classes_.size == 2:
            p = 1.0 / (1.0 + np.exp(-z))
            return np.column_stack([1.0 - p, p])
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Class labels: probability above 0.5 (binary) or the argmax."""
        z = self._logits(X)
        if self.classes_.size == 2:
            return self.classes_[(z > 0).astype(int)]
        return self.classes_[z.argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = False
        return tags


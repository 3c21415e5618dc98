"""What every estimator that learns an embedding with a metric loss shares.

``MetricLearner`` and ``ProtoClassifier`` both train an embedding network
with a loss (and optionally a miner) from the registries.  This mixin builds
those pieces from the estimator's parameters -- never modifying a user's
object -- checks the data against the loss's needs, and trains them through
the shared fit loop.
"""

import copy
from types import SimpleNamespace

import numpy as np
from torch import nn

from ._training import TorchTrainingMixin, seeded
from .losses import CombinedLoss, get_loss
from .miners import get_miner
from .nn import Normalized, ResidualEmbedder, initial_projection, within_class_projection

__all__ = ["EmbeddingLearnerMixin", "MetricCriterion", "auto_hidden_sizes"]


class MetricCriterion(nn.Module):
    """``criterion(embeddings, labels)``: optional miner, then the loss."""

    def __init__(self, loss, miner=None):
        super().__init__()
        self.loss = loss
        self.miner = miner

    def forward(self, embeddings, labels):
        indices = None
        if self.miner is not None:
            indices = self.miner(embeddings, labels)
        return self.loss(embeddings, labels, indices)


def auto_hidden_sizes(n_features):
    """``hidden_sizes="auto"``: two layers of 8 x ``n_features``, rounded up to a
    power of two, between 128 and 512 wide.

    The residual branch maps the features back to the embedding, so its
    width follows the input: low-dimensional tables (iris, wine, KEEL letter)
    get a 128-wide MLP, whose steps cost a fraction of a 512-wide one's,
    and 64 features or more the full (512, 512).
    """
    width = 1 << max(0, int(8 * n_features - 1).bit_length())
    width = min(max(width, 128), 512)
    return (width, width)


def _copy_block(obj, **fit_params):
    """A fresh copy of a user's loss or miner object, with ``fit_params`` set."""
    if hasattr(obj, "get_params"):
        return type(obj)(**{**obj.get_params(deep=False), **fit_params})
    return copy.deepcopy(obj)


class EmbeddingLearnerMixin(TorchTrainingMixin):
    """Module, loss and miner building for estimators with ``loss``/``module`` params.

    The estimator defines ``loss``, ``module``, ``n_components``,
    ``hidden_sizes``, ``dropout``, ``normalize`` and ``samples_per_class``
    (and optionally ``miner``), besides the training parameters.
    """

    # parameters holding a building block that may be given by name
    _named_blocks = {"loss": get_loss, "miner": get_miner}

    def set_params(self, **params):
        """Set parameters; ``loss__x`` / ``miner__x`` also work when ``loss`` is a name.

        A loss (or miner) given by name is replaced by the object of that name
        before its nested parameters are set, so that
        ``GridSearchCV(estimator, {"loss__alpha": [1, 2]})`` works.
        """
        for block, getter in self._named_blocks.items():
            if any(k.startswith(block + "__") for k in params):
                value = params.get(block, getattr(self, block, None))
                if block == "loss" and value == "auto":
                    value = self._loss_param(params.get("module"))
                if isinstance(value, str):
                    params[block] = getter(value)
        return super().set_params(**params)

    def _loss_param(self, module=None):
        """The ``loss`` parameter as built (an estimator may resolve ``"auto"``,
        by ``module`` when given, else by its own)."""
        return self.loss

    def _loss_name(self):
        loss = self._loss_param()
        return repr(loss) if isinstance(loss, str) else type(loss).__name__

    def _build_module(self, X_train, y_train=None, shrinkage=None):
        """The embedding network; ``shrinkage``: start at the features whitened
        by the within-class covariance of ``(X_train, y_train)``
        (:func:`~skmetric.nn.within_class_projection`), else at the features
        (:func:`~skmetric.nn.initial_projection`)."""
        if isinstance(self.module, nn.Module):
            return copy.deepcopy(self.module)
        mean, scale, proj = self._start_projection(X_train, y_train, shrinkage)
        hidden = self.hidden_sizes
        if isinstance(hidden, str):  # "auto"
            hidden = auto_hidden_sizes(X_train.shape[1])
        hidden = tuple(hidden) if self.module == "mlp" else ()
        return ResidualEmbedder(mean, scale, proj, hidden_sizes=hidden, dropout=self.dropout)

    def _start_projection(self, X_train, y_train=None, shrinkage=None):
        """``(mean, feature_scale, projection)`` of the built-in network's start
        (see :meth:`_build_module`)."""
        n_components = self.n_components or min(X_train.shape[1], 128)
        if shrinkage is None:
            return initial_projection(X_train, n_components)
        return within_class_projection(X_train, y_train, n_components, shrinkage)

    def _build_loss(self, n_classes, embedding_size):
        loss = self._loss_param()
        if isinstance(loss, list):
            return CombinedLoss(
                losses=loss, num_classes=n_classes, embedding_size=embedding_size
            )
        cls = type(get_loss(loss)) if isinstance(loss, str) else type(loss)
        if getattr(cls, "takes_probabilities", False):
            raise ValueError(
                f"`loss`={self._loss_name()} is an AnyLoss loss on class "
                f"probabilities, not on embeddings; {type(self).__name__} needs a "
                "metric-learning loss. Use AnyLossClassifier(metric=...) to train "
                "a classifier for a confusion-matrix metric."
            )
        fit_params = {}
        if getattr(cls, "requires_num_classes", False):
            fit_params = {"num_classes": n_classes, "embedding_size": embedding_size}
        fit_params.update(self._loss_build_params(cls, by_name=isinstance(loss, str)))
        if isinstance(loss, str):
            return get_loss(loss, **fit_params)
        return _copy_block(loss, **fit_params)

    def _loss_build_params(self, cls, *, by_name):
        """Estimator settings passed to the loss of class ``cls`` when it is built.

        A built loss is never modified afterwards.  ``by_name``: the loss was
        given by its registry name (not as an object).
        """
        return {}

    def _build_miner(self):
        miner = getattr(self, "miner", None)
        if miner is None:
            return None
        if isinstance(miner, str):
            return get_miner(miner)
        return _copy_block(miner)

    def _build_blocks(self, X_train, n_train_classes, seed, y_train=None, shrinkage=None):
        """``(module, loss, miner, embedding_size)``, initialised from ``seed``
        (``y_train``, ``shrinkage``: see :meth:`_build_module`)."""
        with seeded(seed):
            module = self._build_module(X_train, y_train, shrinkage)
            embedding_size = self._output_width(module, X_train)
            loss = self._build_loss(n_train_classes, embedding_size)
            miner = self._build_miner()
        return module, loss, miner, embedding_size

    def _start_fit(self, X, y):
        """The first steps of ``fit``, shared: validate, split, build the blocks.

        Returns a namespace with ``X``, ``y_enc`` (encoded labels), ``seed``,
        ``rng`` (None when ``validation_fraction`` is None), ``train_idx``,
        ``valid_idx`` (None without validation), ``X_train``,
        ``train_classes`` and ``y_train`` (training labels re-encoded to
        ``[0, n_train_classes)`` for the loss), ``module``, ``loss``,
        ``miner`` and ``embedding_size``.
        """
        X, y_enc = self._validate_classification_data(X, y)
        seed = self._make_seed()
        # the generator of the held-out split (and of the validation
        # reference set, the class folds): only drawn from when
        # ``validation_fraction`` holds data out, else None (seeding one
        # costs more than a small model's loss evaluation)
        rng = None if self.validation_fraction is None else np.random.RandomState(seed)
        by = "classes" if self.validation_split == "classes" else "samples"
        train_idx, valid_idx = self._split_validation(y_enc, rng, by=by)
        # no copy of X when every row trains (no validation split) and X is
        # writeable (torch shares it; a read-only array, e.g. from a frame,
        # is copied here as the engine would copy it anyway)
        X_train = X if valid_idx is None and X.flags.writeable else X[train_idx]
        train_classes, y_train = np.unique(y_enc[train_idx], return_inverse=True)
        module, loss, miner, embedding_size = self._build_blocks(
            X_train, train_classes.size, seed, y_train, self._start_shrinkage()
        )
        return SimpleNamespace(
            X=X, y_enc=y_enc, seed=seed, rng=rng, train_idx=train_idx,
            valid_idx=valid_idx, X_train=X_train, train_classes=train_classes,
            y_train=y_train, module=module, loss=loss, miner=miner,
            embedding_size=embedding_size,
        )

    def _start_shrinkage(self):
        """The within-class whitening the network of ``fit`` starts from (a
        shrinkage, see :meth:`_build_module`), or None: the features."""
        return None

    def _check_class_counts(self, y_train, train_classes, loss, miner):
        """Clear error when a class has fewer samples than the loss needs."""
        counts = np.bincount(y_train)
        need = max(
            getattr(loss, "min_samples_per_class", 1),
            getattr(miner, "min_samples_per_class", 2) if miner is not None else 1,
        )
        if counts.min() < need:
            worst = int(np.argmin(counts))
            label = self.classes_[train_classes[worst]].item()
            raise ValueError(
                f"The loss {self._loss_name()} needs at least {need} samples per "
                f"class; class {label!r} has {counts[worst]}."
            )

    def _resolve_samples_per_class(self, loss, miner):
        spc = self.samples_per_class
        if spc == "auto":
            pairwise = getattr(loss, "min_samples_per_class", 2) >= 2 or miner is not None
            spc = 4 if pairwise else None
        return spc

    def _resolve_normalize(self, loss, *, by_classes=False):
        normalize = self.normalize
        if normalize == "auto":
            normalize = bool(getattr(loss, "prefers_normalized", False)) and not by_classes
        return normalize

    def _train_embedding(self, module, loss, miner, X_train, y_train, *, seed,
                         normalize, **train_kwargs):
        """Train through the shared loop; sets ``loss_`` (and ``miner_``) besides
        the engine's fitted attributes."""
        if normalize:
            module = Normalized(module)
        net = self._train(module, MetricCriterion(loss, miner), X_train, y_train,
                          seed=seed, **train_kwargs)
        self.loss_ = net.criterion_.loss
        if hasattr(self, "miner"):
            self.miner_ = net.criterion_.miner
        return net

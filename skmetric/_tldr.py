"""``TLDR``: unsupervised dimensionality reduction by twin learning on neighbours."""

import copy
import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from torch import nn

from ._export import TorchExportMixin
from ._training import (
    TRAINING_PARAMETER_CONSTRAINTS,
    TorchTrainingMixin,
    guarded_fit,
    seeded,
)
from .losses import BarlowTwinsLoss
from .utils._validation import (
    Interval,
    StrOptions,
    _fit_context,
    check_is_fitted,
    validate_data,
)

__all__ = ["TLDR"]

# no held-out score exists without labels: no validation split, no patience
_TRAINING_CONSTRAINTS = {
    k: v
    for k, v in TRAINING_PARAMETER_CONSTRAINTS.items()
    if k not in ("validation_fraction", "patience")
}


class _LinearEncoder(nn.Module):
    """``W (x - mean) + b``: a centred linear map, as PCA's transform."""

    def __init__(self, mean, weight):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        n_components, n_features = weight.shape
        self.linear = nn.Linear(n_features, n_components)
        with torch.no_grad():
            self.linear.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
            self.linear.bias.zero_()

    def forward(self, x):
        return self.linear(x - self.mean)

    def as_plain_torch(self):
        """The same map from ``torch.nn`` layers only (for ``to_torch``)."""
        from ._export import centered_linear

        return centered_linear(self.mean, self.linear.weight, self.linear.bias)


class _MLPEncoder(nn.Module):
    """Standardised input, then Linear-BatchNorm-ReLU blocks and a linear output."""

    def __init__(self, mean, scale, hidden_sizes, n_components):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        layers, width = [], mean.shape[0]
        for h in hidden_sizes:
            layers += [nn.Linear(width, h, bias=False), nn.BatchNorm1d(h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, n_components))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net((x - self.mean) / self.scale)

    def as_plain_torch(self):
        """The same map from ``torch.nn`` layers only (for ``to_torch``)."""
        from ._export import standardized_mlp

        return standardized_mlp(self.mean, self.scale, self.net)


def _projector(n_components, sizes):
    """The expander MLP of Barlow Twins: (Linear-BN-ReLU) x (len-1), Linear."""
    layers, width = [], n_components
    for h in sizes[:-1]:
        layers += [nn.Linear(width, h, bias=False), nn.BatchNorm1d(h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, sizes[-1], bias=False))
    return nn.Sequential(*layers)


class _TwinCriterion(nn.Module):
    """``criterion(encoder_output, _)`` of a batch ``[anchors; neighbours]``.

    The first half of the batch are anchors, the second half one neighbour
    of each; both halves go through the projector (training only, a
    parameter of the criterion so the fit loop trains it) and the loss sees
    pair ``i`` as the two samples labelled ``i``.
    """

    def __init__(self, projector, loss):
        super().__init__()
        self.projector = projector
        self.loss = loss

    def forward(self, z, _target):
        n_pairs = z.shape[0] // 2
        if self.projector is not None:
            z = torch.cat([self.projector(z[:n_pairs]), self.projector(z[n_pairs:])])
        pair = torch.arange(n_pairs, device=z.device)
        return self.loss(z, torch.cat([pair, pair]))


class _NeighbourPairSampler:
    """Batches ``[anchors; one random neighbour of each]`` of ``batch_size`` pairs.

    Every epoch visits each sample once as an anchor (in shuffled order,
    the incomplete last batch dropped so batch statistics stay stable) and
    draws its partner uniformly among its ``k`` nearest neighbours.
    """

    def __init__(self, neighbours, batch_size, *, generator):
        self.neighbours = torch.as_tensor(neighbours)
        self.n_samples, self.k = self.neighbours.shape
        self.batch_size = min(batch_size, self.n_samples)
        self.generator = generator

    def __len__(self):
        return max(1, self.n_samples // self.batch_size)

    def __iter__(self):
        perm = torch.randperm(self.n_samples, generator=self.generator)
        pick = torch.randint(self.k, (self.n_samples,), generator=self.generator)
        for i in range(len(self)):
            batch = slice(i * self.batch_size, (i + 1) * self.batch_size)
            anchors = perm[batch]
            partners = self.neighbours[anchors, pick[batch]]
            yield torch.cat([anchors, partners])


class TLDR(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, TorchExportMixin, TorchTrainingMixin,
    BaseEstimator,
):
    """Unsupervised dimensionality reduction by twin learning (TLDR).

    A drop-in alternative to :class:`~sklearn.decomposition.PCA` that keeps
    *neighbourhoods* rather than variance.  Each training pair is a sample
    and one of its ``n_neighbors`` nearest neighbours (exact Euclidean kNN,
    :func:`skmetric.neighbors.kneighbors`, by default after PCA-whitening
    to ``n_components`` dimensions, see ``neighbor_space``); the
    encoder output goes through an expander MLP (the projector, used only
    in training) and the :class:`~skmetric.losses.BarlowTwinsLoss` makes the
    two members of a pair agree while decorrelating the output dimensions.
    No labels are used.

    Parameters
    ----------
    n_components : int, default=None
        Output dimension.  ``None``: ``min(n_features, 32)``.  The linear
        encoder needs ``n_components <= n_features``.
    n_neighbors : int, default=5
        Positives of a sample are drawn from its ``n_neighbors`` nearest
        neighbours (itself excluded); must be smaller than ``n_samples``.
    neighbor_space : {"pca_whitened", "pca", "input"}, default="pca_whitened"
        Where those neighbours are searched (Euclidean):
        ``"pca_whitened"``, the training set projected on its top
        ``n_components`` principal axes, each scaled to unit variance (a
        denoised space; beat the other two on the benchmark); ``"pca"``, the
        same projection unscaled (PCA's own neighbours); ``"input"``, the
        features as given.
    encoder : {"linear", "mlp"} or torch.nn.Module, default="linear"
        ``"linear"``: a centred linear map, like PCA (see ``init``);
        ``"mlp"``: standardised input, then ``hidden_sizes`` blocks of
        Linear-BatchNorm-ReLU and a linear output; or a module mapping
        ``(n, n_features)`` float32 tensors to ``(n, n_components)``
        (``n_components`` is then read from its output).
    hidden_sizes : tuple of int, default=(512,)
        Hidden widths of the ``"mlp"`` encoder.
    init : {"pca", "random"}, default="pca"
        Start of the linear encoder: the top principal axes (an untrained
        ``TLDR`` is then PCA) or a random map.  Ignored by the other
        encoders.
    projector_sizes : tuple of int or None, default=(128, 128)
        Widths of the projector MLP (the last is the dimension the loss
        sees); ``None`` or ``()`` applies the loss to the encoder output.
    off_diagonal_weight : float, default=None
        Weight of the redundancy term of the loss; ``None``: ``1 / d`` with
        ``d`` the dimension the loss sees.
    max_epochs : int, default=100
    batch_size : int, default=256
        Pairs per batch (the network sees twice as many rows).
    lr : float, default=3e-3
    weight_decay : float, default=1e-4
    optimizer : {"adamw", "adam", "sgd", "rmsprop"} or optimizer class, default="adamw"
    optimizer_params : dict or None, default=None
        Further keyword arguments of the optimizer; ``set_params(optimizer__momentum=0.9)``
        sets one key (see :class:`MetricLearner`).
    lr_schedule : {"cosine", "constant"}, default="cosine"
    device : {"cpu", "cuda", "auto"}, default="cpu"
    random_state : int, RandomState instance or None, default=None
        Seeds the weights and the pairs drawn; with an int, fits are
        identical bit for bit on CPU,
        also when fits run in threads.
    verbose : int, default=0
    callbacks : list of skorch callbacks or None, default=None
    accelerator : accelerate.Accelerator or None, default=None
        Train through skorch's Hugging Face Accelerate integration.

    Attributes
    ----------
    n_components_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has string feature names.
    module_ : torch.nn.Module
        The trained encoder (``transform`` runs it; the projector is not
        part of it).
    loss_ : BarlowTwinsLoss
    net_ : skorch.NeuralNet
    history_ : skorch.History
        ``history_[0]`` is epoch 0 (the starting model, no loss),
        ``history_[k]`` epoch ``k``.
    n_epochs_ : int
        Epochs trained (``len(history_) - 1``).
    best_epoch_ : int
        Always ``n_epochs_``: TLDR holds out no validation data, so it has no
        early stopping, no ``StartingModelKeptWarning`` and its
        ``baseline_score_`` and ``best_score_`` are None.
    baseline_score_, best_score_ : None
    stop_reason_ : {"max_epochs", "callback", "interrupted"}

    See Also
    --------
    sklearn.decomposition.PCA : Linear reduction keeping the most variance.
    skmetric.MetricLearner : The supervised counterpart (class labels).

    References
    ----------
    Y. Kalantidis, C. Lassance, J. Almazán and D. Larlus. "TLDR: Twin
    Learning for Dimensionality Reduction". TMLR 2022. arXiv:2110.09455.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from skmetric import TLDR
    >>> X, y = load_digits(return_X_y=True)
    >>> pipe = make_pipeline(TLDR(n_components=16, max_epochs=5, random_state=0),
    ...                      KNeighborsClassifier())
    >>> pipe.fit(X[:1200], y[:1200]).score(X[1200:], y[1200:]) > 0.9
    True
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "neighbor_space": [StrOptions({"pca", "pca_whitened", "input"})],
        "encoder": [StrOptions({"linear", "mlp"}), nn.Module],
        "hidden_sizes": [tuple, list],
        "init": [StrOptions({"pca", "random"})],
        "projector_sizes": [tuple, list, None],
        "off_diagonal_weight": [Interval(Real, 0, None, closed="left"), None],
        **_TRAINING_CONSTRAINTS,
    }

    def __init__(
        self,
        n_components=None,
        *,
        n_neighbors=5,
        neighbor_space="pca_whitened",
        encoder="linear",
        hidden_sizes=(512,),
        init="pca",
        projector_sizes=(128, 128),
        off_diagonal_weight=None,
        max_epochs=100,
        batch_size=256,
        lr=3e-3,
        weight_decay=1e-4,
        optimizer="adamw",
        optimizer_params=None,
        lr_schedule="cosine",
        device="cpu",
        random_state=None,
        verbose=0,
        callbacks=None,
        accelerator=None,
    ):
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.neighbor_space = neighbor_space
        self.encoder = encoder
        self.hidden_sizes = hidden_sizes
        self.init = init
        self.projector_sizes = projector_sizes
        self.off_diagonal_weight = off_diagonal_weight
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.optimizer_params = optimizer_params
        self.lr_schedule = lr_schedule
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.accelerator = accelerator

    @guarded_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the reduction from ``X`` alone.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : TLDR
        """
        from .neighbors import kneighbors

        X = validate_data(self, X, ensure_min_samples=2, dtype=[np.float32, np.float64])
        n_samples, n_features = X.shape
        if self.n_neighbors >= n_samples:
            raise ValueError(
                f"`n_neighbors` must be smaller than the number of samples; got "
                f"n_neighbors={self.n_neighbors} with n_samples={n_samples}."
            )
        n_components = self.n_components
        if n_components is None:
            n_components = min(n_features, 32)
        if self.encoder == "linear" and n_components > n_features:
            raise ValueError(
                f"`n_components` must be at most n_features={n_features} with the "
                f"linear encoder; got n_components={n_components}."
            )
        sizes = tuple(self.projector_sizes or ())
        for name, widths in (("hidden_sizes", self.hidden_sizes), ("projector_sizes", sizes)):
            if not all(isinstance(h, Integral) and h >= 1 for h in widths):
                raise ValueError(
                    f"`{name}` must hold positive integers; got {tuple(widths)!r}."
                )

        mean = X.mean(axis=0, dtype=np.float64)
        _, sv, vt = np.linalg.svd(X.astype(np.float64) - mean, full_matrices=False)
        _, neighbours = kneighbors(
            self._neighbour_space(X, mean, sv, vt, n_components), n_neighbors=self.n_neighbors
        )
        seed = self._make_seed()
        with seeded(seed):
            encoder = self._build_encoder(X, mean, vt, n_components, seed)
            n_out = self._output_width(encoder, X, name="encoder")
            projector = _projector(n_out, sizes) if sizes else None
            loss_dim = sizes[-1] if sizes else n_out
            weight = self.off_diagonal_weight
            loss = BarlowTwinsLoss(off_diagonal_weight=1.0 / loss_dim if weight is None else weight)
            criterion = _TwinCriterion(projector, loss)

        batch_size = self.batch_size

        def batch_sampler(_y, generator):
            return _NeighbourPairSampler(neighbours, batch_size, generator=generator)

        self._train(
            encoder,
            criterion,
            X,
            np.zeros(n_samples, dtype=np.int64),
            seed=seed,
            batch_sampler=batch_sampler,
        )
        self.loss_ = self.net_.criterion_.loss
        self.n_components_ = n_out
        return self

    def _neighbour_space(self, X, mean, sv, vt, n_components):
        """The rows whose Euclidean kNN give the positive pairs."""
        if self.neighbor_space == "input":
            return X
        k = min(n_components, vt.shape[0])
        Z = (X.astype(np.float64) - mean) @ vt[:k].T
        if self.neighbor_space == "pca_whitened":
            # axes beyond the numerical rank of X are zeroed, not blown up
            keep = sv[:k] > sv[0] * max(X.shape) * np.finfo(np.float64).eps
            Z[:, keep] /= sv[:k][keep]
            Z[:, ~keep] = 0.0
        return Z

    def _build_encoder(self, X, mean, vt, n_components, seed):
        if isinstance(self.encoder, nn.Module):
            return copy.deepcopy(self.encoder)
        X = np.asarray(X, dtype=np.float64)
        if self.encoder == "mlp":
            std = X.std(axis=0)
            scale = np.where(std > 1e-12 * max(1.0, float(np.abs(X).max(initial=0))), std, 1.0)
            return _MLPEncoder(mean, scale, tuple(self.hidden_sizes), n_components)
        rng = np.random.RandomState(seed)
        n_features = X.shape[1]
        weight = rng.normal(size=(n_components, n_features)) / math.sqrt(n_features)
        if self.init == "pca":
            k = min(n_components, vt.shape[0])
            weight[:k] = vt[:k]  # rows beyond the rank of X stay random
        return _LinearEncoder(mean, weight)

    def transform(self, X):
        """Reduce ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        return self._forward(X).astype(X.dtype, copy=False)

    @property
    def _n_features_out(self):
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

"""``HyperbolicOneClass``: Hyp-OC one-class detection in the Poincaré ball."""

import copy
import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    OutlierMixin,
    TransformerMixin,
)
from torch import nn
from torch.nn import functional as F

from ._training import (
    TRAINING_PARAMETER_CONSTRAINTS,
    TorchTrainingMixin,
    guarded_fit,
    seeded,
)
from .geometry import PoincareBall, project
from .losses.hyperbolic import HypOCCriterion
from .nn import HypOCNet, ResidualEmbedder, initial_projection
from .utils._validation import (
    Interval,
    StrOptions,
    _fit_context,
    check_is_fitted,
    validate_data,
)

__all__ = ["HyperbolicOneClass"]

# offset_ for contamination="auto": log p(real) = log(1/2), the Bayes boundary
# between the data and the pseudo-negatives at equal priors.
AUTO_OFFSET = math.log(0.5)


class _HeldOutLogLoss:
    """Validation score: minus the log-loss of held-out real samples vs fixed pseudo-negatives."""

    def __init__(self, X_pseudo):
        self.X_pseudo = X_pseudo

    def __call__(self, module, X, y):
        device = X.device
        real = module(X)
        pseudo = module(self.X_pseudo.to(device))
        ce_real = F.cross_entropy(real, torch.zeros(real.shape[0], dtype=torch.long, device=device))
        ce_pseudo = F.cross_entropy(
            pseudo, torch.ones(pseudo.shape[0], dtype=torch.long, device=device)
        )
        return -float(ce_real + ce_pseudo) / 2.0


def _log_p_real(logits):
    """``log softmax(logits)[:, 0]`` computed stably in float64."""
    logits = np.asarray(logits, dtype=np.float64)
    return -np.logaddexp(0.0, logits[:, 1] - logits[:, 0])


class HyperbolicOneClass(
    ClassNamePrefixFeaturesOutMixin,
    OutlierMixin,
    TransformerMixin,
    TorchTrainingMixin,
    BaseEstimator,
):
    r"""One-class novelty detection in the Poincaré ball (Hyp-OC).

    Trained on normal samples only, like :class:`~sklearn.svm.OneClassSVM`.
    The network (:class:`skmetric.nn.HypOCNet`) standardises and whitens the
    input, encodes it with a residual MLP, clips the features to a norm of
    ``clip_radius`` and maps them into the Poincaré ball of curvature
    :math:`-c`.  A head tells the real samples from *pseudo-negatives* drawn
    from :math:`\mathcal N(\mu, \sigma^2 I)` around a running mean :math:`\mu`
    of the (whitened) real features, trained with Hyp-CE (cross-entropy on the
    head's logits) and Hyp-PC (mean geodesic distance between paired real
    samples).  The default head scores a point by its geodesic distance to the
    mean of the real ball points.

    ``score_samples`` is the log-probability the head gives to "real"
    (greater is more normal), ``decision_function`` the score minus
    ``offset_`` and ``predict`` its sign.  How the defaults were chosen, with
    the measured AUCs: ``docs/hyperbolic.md``.

    Parameters
    ----------
    encoder : "mlp" or torch.nn.Module, default="mlp"
        ``"mlp"``: a residual MLP that starts at the principal axes of the
        standardised training data (:class:`skmetric.nn.ResidualEmbedder`);
        or any module mapping ``(n, n_features)`` float32 standardised
        features to ``(n, d)`` (copied, never modified).
    n_components : int, default=None
        Dimension of the ball; ``None``: ``min(n_features, 64)``.  Ignored
        (read from its output) for a user encoder.
    hidden_sizes : tuple of int, default=(128,)
        Hidden widths of the ``"mlp"`` encoder.
    dropout : float, default=0.0
        Dropout of the ``"mlp"`` encoder.
    standardize : bool or "whiten", default="whiten"
        ``True``: centre and scale the features inside the network.
        ``"whiten"``: then also decorrelate them with the inverse square root
        of the Ledoit-Wolf shrunk correlation matrix (ZCA), so that distances
        at initialisation are (shrunk) Mahalanobis distances.  ``False``: raw
        features.  Pseudo-negatives are drawn in the transformed space.
    head : {"distance", "mlr"}, default="distance"
        ``"distance"``: :math:`\operatorname{logit}_{\text{pseudo}} -
        \operatorname{logit}_{\text{real}} = (d_c(z, m)^2 - r^2) / t`, with
        :math:`m` the running mean (``momentum``) of the real ball points
        during training and their exact mean after it, and learnable
        :math:`r^2, t`.  ``"mlr"``: the paper's two-class hyperbolic MLR.
    c : float, default=0.1
        Curvature magnitude of the ball (radius :math:`1/\sqrt c`); ``0`` is
        the Euclidean ablation.
    clip_radius : float or None, default=4.0
        Euclidean feature clipping radius before the map into the ball
        (Guo et al.); ``None`` disables it.
    pseudo_std : float, default=2.0
        Standard deviation :math:`\sigma` of the pseudo-negative Gaussian,
        in standard deviations of the (whitened) data.
    momentum : float, default=0.8
        Weight :math:`\alpha` of the old value in the running means
        :math:`\mu \leftarrow \alpha\mu + (1-\alpha)\bar x_{\text{batch}}`,
        initialised at the first batch's mean.
    ce_weight, pc_weight : float, default=1.0
        Weights of Hyp-CE and Hyp-PC in the loss.
    pc_distance : {"geodesic", "arctan"}, default="geodesic"
        Distance of Hyp-PC: the Poincaré geodesic, or the official code's
        arctan variant.
    grad_clip : float or None, default=3.0
        Maximum gradient norm (skorch's ``GradientNormClipping``); ``None``
        disables clipping.
    contamination : "auto" or float in (0, 0.5], default="auto"
        Sets ``offset_``.  ``"auto"``: :math:`\log(1/2)`, so that a sample is
        an inlier when the head finds it more likely real than
        pseudo-negative.  A fraction: the ``contamination`` quantile of the
        training scores, as in :class:`~sklearn.ensemble.IsolationForest`.
    max_epochs : int, default=10
        Longer training overfits the pseudo-negative task (the AUC falls
        while the held-out log-loss keeps improving).
    batch_size : int, default=64
    lr : float, default=1e-3
    weight_decay : float, default=1e-6
    optimizer : {"adam", "adamw", "sgd", "rmsprop"} or optimizer class, default="adam"
    optimizer_params : dict or None, default=None
        Further keyword arguments of the optimizer; ``optimizer__<name>``
        sets one key (see :class:`~skmetric.MetricLearner`).
    lr_schedule : {"constant", "cosine"}, default="constant"
        Learning-rate schedule of the shared fit loop.
    validation_fraction : float or None, default=None
        Fraction of the training data held out for early stopping on the
        log-loss of held-out samples against a fixed set of pseudo-negatives;
        ``None`` trains on all the data for ``max_epochs``.
    patience : int or None, default=10
    device : {"cpu", "cuda", "auto"}, default="cpu"
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, batches and pseudo-negatives; with an int, fits
        are identical bit for bit on CPU,
        also when fits run in threads.
    verbose : int, default=0
    callbacks : list of skorch callbacks or None, default=None
        Extra callbacks for the fit loop.  An exception raised in one
        leaves the estimator unfitted; a ``KeyboardInterrupt`` during the
        epochs keeps the weights so far (``stop_reason_ == "interrupted"``,
        a :class:`~skmetric.TrainingInterruptedWarning`) and is raised again.
    accelerator : accelerate.Accelerator or None, default=None
        Train through skorch's Hugging Face Accelerate integration (the
        ``accelerate`` extra); ``device`` is then ignored.

    Attributes
    ----------
    offset_ : float
        ``decision_function = score_samples - offset_``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has string feature names.
    embedding_size_ : int
        Dimension of the ball.
    ball_ : skmetric.geometry.PoincareBall
        The ball the points of :meth:`transform` live in.
    module_ : torch.nn.Module
        The trained network (:class:`skmetric.nn.HypOCNet`).
    net_ : skorch.NeuralNet
    history_ : skorch.History
        One row per epoch: ``history_[0]`` is epoch 0 (the starting
        embedding, its ``valid_score`` only), ``history_[k]`` epoch ``k``
        (``train_loss``, ``valid_score``).
    best_epoch_ : int
        Epoch whose weights were kept (``n_epochs_`` without validation;
        0 = the starting model, with a
        ``StartingModelKeptWarning``).
    n_epochs_ : int
        Epochs trained (``len(history_) - 1``).
    baseline_score_, best_score_ : float or None
        Validation score of the starting embedding (epoch 0) and of the kept
        epoch; None without validation.
    stop_reason_ : {"max_epochs", "patience", "callback", "interrupted"}
        Why training stopped.

    See Also
    --------
    sklearn.svm.OneClassSVM : Kernel one-class detector.
    sklearn.ensemble.IsolationForest : Tree-based outlier detector.
    sklearn.neighbors.LocalOutlierFactor : Density-based detector
        (``novelty=True`` for new data).

    References
    ----------
    K. Narayan and V. M. Patel. "Hyp-OC: Hyperbolic One Class Classification
    for Face Anti-Spoofing". FG 2024. arXiv:2404.14406.

    O. Ganea, G. Bécigneul and T. Hofmann. "Hyperbolic Neural Networks".
    NeurIPS 2018. arXiv:1805.09112.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.metrics import roc_auc_score
    >>> from skmetric import HyperbolicOneClass
    >>> X, y = load_digits(return_X_y=True)
    >>> det = HyperbolicOneClass(max_epochs=20, random_state=0).fit(X[y == 0][:120])
    >>> X_test = np.vstack([X[y == 0][120:], X[y != 0][:300]])
    >>> is_inlier = np.r_[np.ones((y == 0).sum() - 120), np.zeros(300)]
    >>> roc_auc_score(is_inlier, det.score_samples(X_test)) > 0.9
    True
    """

    # predictions run on a float64 copy of the network (batch-invariant)
    _float64_inference = True

    _parameter_constraints = {
        "encoder": [StrOptions({"mlp"}), nn.Module],
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "hidden_sizes": [tuple, list],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "standardize": ["boolean", StrOptions({"whiten"})],
        "head": [StrOptions({"mlr", "distance"})],
        "c": [Interval(Real, 0, None, closed="left")],
        "clip_radius": [Interval(Real, 0, None, closed="neither"), None],
        "pseudo_std": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "ce_weight": [Interval(Real, 0, None, closed="left")],
        "pc_weight": [Interval(Real, 0, None, closed="left")],
        "pc_distance": [StrOptions({"geodesic", "arctan"})],
        "grad_clip": [Interval(Real, 0, None, closed="neither"), None],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        **TRAINING_PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        encoder="mlp",
        *,
        n_components=None,
        hidden_sizes=(128,),
        dropout=0.0,
        standardize="whiten",
        head="distance",
        c=0.1,
        clip_radius=4.0,
        pseudo_std=2.0,
        momentum=0.8,
        ce_weight=1.0,
        pc_weight=1.0,
        pc_distance="geodesic",
        grad_clip=3.0,
        contamination="auto",
        max_epochs=10,
        batch_size=64,
        lr=1e-3,
        weight_decay=1e-6,
        optimizer="adam",
        optimizer_params=None,
        lr_schedule="constant",
        validation_fraction=None,
        patience=10,
        device="cpu",
        random_state=None,
        verbose=0,
        callbacks=None,
        accelerator=None,
    ):
        self.encoder = encoder
        self.n_components = n_components
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
        self.standardize = standardize
        self.head = head
        self.c = c
        self.clip_radius = clip_radius
        self.pseudo_std = pseudo_std
        self.momentum = momentum
        self.ce_weight = ce_weight
        self.pc_weight = pc_weight
        self.pc_distance = pc_distance
        self.grad_clip = grad_clip
        self.contamination = contamination
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

    # --------------------------------------------------------------------- fit
    def _standardization(self, X):
        n_features = X.shape[1]
        if not self.standardize:
            return np.zeros(n_features), np.ones(n_features)
        mean = X.mean(axis=0)
        std = X.std(axis=0)
        floor = 1e-12 * max(1.0, float(np.abs(X).max(initial=0.0)))
        return mean, np.where(std > floor, std, 1.0)

    def _whitening(self, X_std):
        """ZCA whitening of standardised features with the Ledoit-Wolf correlation.

        Returns ``(W, W_inv)`` (``None, None`` unless ``standardize="whiten"``):
        ``X_std @ W`` has (shrunk) identity covariance, so Euclidean
        distances there are Mahalanobis distances of the input.
        """
        if self.standardize != "whiten":
            return None, None
        from sklearn.covariance import ledoit_wolf

        cov, _ = ledoit_wolf(X_std, assume_centered=True)
        w, V = np.linalg.eigh(cov)
        if not w.max() > 1e-12:
            # every training row is the same point: nothing to decorrelate
            # (a 1e-300 floor would give a whitening matrix of 1e150)
            eye = np.eye(X_std.shape[1])
            return eye, eye
        w = np.maximum(w, 1e-12 * max(float(w.max()), 1e-300))
        return (V / np.sqrt(w)) @ V.T, (V * np.sqrt(w)) @ V.T

    def _build_encoder(self, X_std):
        if isinstance(self.encoder, nn.Module):
            return copy.deepcopy(self.encoder)
        n_components = self.n_components or min(X_std.shape[1], 64)
        mean, scale, proj = initial_projection(X_std, n_components)
        return ResidualEmbedder(
            mean,
            scale,
            proj,
            hidden_sizes=tuple(self.hidden_sizes),
            dropout=self.dropout,
            batch_norm=False,
        )

    @staticmethod
    def _init_distance_head(module, X_std):
        """Set r^2 and t of the distance head from the untrained network.

        The running mean starts at the data mean; r^2 is the mean squared
        distance of the training points to its image and t = r^2, so the
        initial logits are O(1) and a typical training point sits on the
        p(real) = 1/2 boundary.
        """
        with torch.no_grad():
            x = torch.as_tensor(X_std, dtype=torch.float32)
            module.eval()
            z = module.embed_standardized(x)
            module.ball_mean.copy_(z.mean(0))
            d2 = float((module.center_distance(z) ** 2).mean())
            module.train()
            module.ball_mean.zero_()
            d2 = max(d2, 1e-6)
            module.radius2.fill_(d2)
            module.log_temperature.fill_(math.log(d2))

    @guarded_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the detector on normal samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        self : HyperbolicOneClass
        """
        X = validate_data(self, X, ensure_min_samples=2, dtype=[np.float64, np.float32])
        seed = self._make_seed()
        rng = np.random.RandomState(seed)
        train_idx, valid_idx = self._split_validation(
            np.zeros(X.shape[0], dtype=np.int64), rng, min_valid=1
        )
        X_train = X[train_idx]
        mean, scale = self._standardization(X_train)
        X_std = (X_train - mean) / scale
        whitening, unwhitening = self._whitening(X_std)
        if whitening is not None:
            X_std = X_std @ whitening

        with seeded(seed):
            encoder = self._build_encoder(X_std)
            embedding_size = self._output_width(encoder, X_std, name="encoder")
            module = HypOCNet(
                encoder,
                mean,
                scale,
                embedding_size,
                c=self.c,
                clip_radius=self.clip_radius,
                pseudo_std=self.pseudo_std,
                momentum=self.momentum,
                whitening=whitening,
                head=self.head,
            )
            if self.head == "distance":
                self._init_distance_head(module, X_std)
        criterion = HypOCCriterion(
            c=float(self.c),
            ce_weight=float(self.ce_weight),
            pc_weight=float(self.pc_weight),
            pc_distance=self.pc_distance,
        )
        extra_callbacks = []
        if self.grad_clip is not None:
            from skorch.callbacks import GradientNormClipping

            extra_callbacks.append(
                ("grad_clip", GradientNormClipping(gradient_clip_value=float(self.grad_clip)))
            )
        valid_kwargs = {}
        if valid_idx is not None:
            # a fixed set of pseudo-negatives around the training mean, in raw units
            noise = rng.standard_normal((valid_idx.size, X.shape[1]))
            noise = self.pseudo_std * noise
            if unwhitening is not None:
                noise = noise @ unwhitening
            X_pseudo = mean + scale * noise
            valid_kwargs = dict(
                X_valid=X[valid_idx],
                y_valid=np.zeros(valid_idx.size, dtype=np.int64),
                valid_scoring=_HeldOutLogLoss(torch.as_tensor(X_pseudo, dtype=torch.float32)),
            )
        self._train(
            module,
            criterion,
            X_train,
            np.zeros(X_train.shape[0], dtype=np.int64),
            seed=seed,
            extra_callbacks=extra_callbacks,
            **valid_kwargs,
        )
        if self.head == "distance":
            # score against the exact mean of the training ball points: the
            # running mean is a training-time estimate that depends on the
            # last batches (as batch norm swaps batch for population statistics)
            center = self._infer(X_train, "embed").mean(axis=0)
            for m in (self.module_, getattr(self, "_module_float64_", None)):
                if m is not None:
                    m.ball_mean.copy_(torch.as_tensor(center, dtype=m.ball_mean.dtype))
        self.embedding_size_ = embedding_size
        self.ball_ = PoincareBall(c=float(self.c))
        if self.contamination == "auto":
            self.offset_ = AUTO_OFFSET
        else:
            self.offset_ = float(
                np.percentile(self._score(X), 100.0 * self.contamination)
            )
        return self

    # ----------------------------------------------------------------- predict
    def _infer(self, X, method=None):
        """Run a float64 copy of the trained network on ``X``.

        Inference in float64 makes the scores of a sample independent of the
        other rows of ``X`` (float32 matrix products round differently for
        different batch shapes) and keeps points near the ball's edge exact.
        """
        return self._forward(X, method=method, dtype=np.float64)

    def _score(self, X):
        return _log_p_real(self._infer(X))

    def _validate(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=[np.float64, np.float32])

    def score_samples(self, X):
        """Log-probability that each sample is real (greater is more normal).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            :math:`\\log p(\\text{real} \\mid x) \\le 0`, from the head.
        """
        return self._score(self._validate(X))

    def decision_function(self, X):
        """``score_samples(X) - offset_``: positive for inliers, negative for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        decision : ndarray of shape (n_samples,)
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for inliers, -1 for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        is_inlier : ndarray of shape (n_samples,)
        """
        decision = self.decision_function(X)
        is_inlier = np.ones(decision.shape[0], dtype=int)
        is_inlier[decision < 0] = -1
        return is_inlier

    def transform(self, X):
        """Points of ``X`` in the Poincaré ball (norm below ``1/sqrt(c)``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        Z : ndarray of shape (n_samples, embedding_size_)
        """
        X = self._validate(X)
        Z = self._infer(X, "embed")
        if X.dtype == np.float32:
            # re-project: rounding to float32 may land a point on the boundary
            Z = project(torch.as_tensor(Z.astype(np.float32)), c=float(self.c)).numpy()
        return Z.astype(X.dtype, copy=False)

    @property
    def _n_features_out(self):
        return self.embedding_size_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

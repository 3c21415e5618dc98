"""``TripletMetricLearner``: learn an embedding from relative comparisons."""

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch import nn

from ._training import guarded_fit
from ._tuple_input import TUPLE_PARAMETER_CONSTRAINTS, TupleLearnerMixin, sq_distances
from .losses import NTXentLoss
from .utils._validation import _fit_context

__all__ = ["TripletMetricLearner"]


def _triplet_margins(a, p, n):
    """d(a, n) - d(a, p) for each triplet (positive = satisfied)."""
    return np.sqrt(sq_distances(a, n)) - np.sqrt(sq_distances(a, p))


class _TripletCriterion(nn.Module):
    """``criterion(embeddings of 3B rows, unused targets)``: the loss on the
    batch's triplets ``(i, B + i, 2B + i)``, given as ``indices_tuple``."""

    def __init__(self, loss):
        super().__init__()
        self.loss = loss

    def forward(self, out, y):
        B = y.shape[0]
        i = torch.arange(B, device=out.device)
        labels = torch.arange(3 * B, device=out.device)
        return self.loss(out, labels, (i, i + B, i + 2 * B))


class _ValidAccuracy:
    """Validation score: share of held-out triplets satisfied."""

    def __call__(self, module, X, y):
        out = module(X).cpu().numpy()
        B = out.shape[0] // 3
        return float(np.mean(_triplet_margins(out[:B], out[B : 2 * B], out[2 * B :]) > 0))


class TripletMetricLearner(TupleLearnerMixin, BaseEstimator):
    """Learn an embedding from triplets: the anchor is closer to the positive.

    ``fit(triplets)`` takes triplets ``(anchor, positive, negative)`` --
    a float array ``(n_triplets, 3, n_features)`` or integer indices
    ``(n_triplets, 3)`` into ``preprocessor`` (metric-learn's
    conventions) -- meaning :math:`d(a, p) < d(a, n)`, and no labels.  The
    default loss is the softmax (logistic) triplet loss
    :math:`\\log(1 + e^{(s_{an} - s_{ap}) / \\tau})` on cosine similarities.

    The network starts at the input features; a fraction of the triplets is
    held out and its accuracy checked each epoch, keeping the best epoch
    (epoch 0, the starting embedding, included, with a warning when it
    wins).  Tuple input is 3-D, so ``check_estimator`` does not apply; the
    estimator clones, pickles and grid-searches over triplets with
    :meth:`score`.

    Parameters
    ----------
    loss : str or torch.nn.Module, default="auto"
        ``"auto"``: NT-Xent on each triplet's positive and negative pair
        (``temperature=0.1``).  Otherwise a name of
        :data:`skmetric.losses.LOSSES` or a loss object, called with the
        triplets as ``indices_tuple`` (``"triplet_margin"``,
        ``"contrastive"``...).
    preprocessor : array-like of shape (n_rows, n_features), default=None
        The rows that integer ``triplets`` index.
    module : {"mlp", "linear"} or torch.nn.Module, default="mlp"
    n_components : int, default=None
        ``None``: ``min(n_features, 128)``.
    hidden_sizes : tuple of int, default=(512, 512)
    dropout : float, default=0.2
    normalize : bool or "auto", default="auto"
    max_epochs : int, default=30
    batch_size : int, default=256
        Triplets per batch.
    lr : float, default=2e-3
    weight_decay : float, default=1e-4
    optimizer : {"adamw", "adam", "sgd", "rmsprop"} or optimizer class, default="adamw"
    optimizer_params : dict or None, default=None
        Further keyword arguments of the optimizer; ``set_params(optimizer__momentum=0.9)``
        sets one key (see :class:`MetricLearner`).
    lr_schedule : {"cosine", "constant"}, default="cosine"
    validation_fraction : float or None, default=0.1
        Fraction of triplets held out to keep the epoch of best accuracy.
    patience : int or None, default=10
    device : {"cpu", "cuda", "auto"}, default="cpu"
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
    callbacks : list of skorch callbacks or None, default=None
    accelerator : accelerate.Accelerator or None, default=None

    Attributes
    ----------
    n_features_in_, embedding_size_, embedder_, loss_, preprocessor_
        As in :class:`PairMetricLearner`.
    baseline_score_, best_score_ : float or None
        Held-out triplet accuracy of the starting embedding and of the kept
        epoch.
    net_, module_, history_, n_epochs_, best_epoch_, stop_reason_
        From the shared fit loop, as in :class:`PairMetricLearner`.

    See Also
    --------
    PairMetricLearner : Learn from pairs.
    MetricLearner : Learn from class labels.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skmetric import TripletMetricLearner
    >>> X, y = load_digits(return_X_y=True)
    >>> rng = np.random.RandomState(0)
    >>> a = rng.randint(len(X), size=2000)
    >>> p = np.array([rng.choice(np.flatnonzero(y == y[i])) for i in a])
    >>> n = np.array([rng.choice(np.flatnonzero(y != y[i])) for i in a])
    >>> model = TripletMetricLearner(preprocessor=X, max_epochs=3, random_state=0)
    >>> model.fit(np.stack([a, p, n], axis=1)).transform(X).shape
    (1797, 64)
    """

    _parameter_constraints = dict(TUPLE_PARAMETER_CONSTRAINTS)
    _tuple_size = 3
    _tuple_name = "triplets"

    def __init__(
        self,
        loss="auto",
        *,
        preprocessor=None,
        module="mlp",
        n_components=None,
        hidden_sizes=(512, 512),
        dropout=0.2,
        normalize="auto",
        max_epochs=30,
        batch_size=256,
        lr=2e-3,
        weight_decay=1e-4,
        optimizer="adamw",
        optimizer_params=None,
        lr_schedule="cosine",
        validation_fraction=0.1,
        patience=10,
        device="cpu",
        random_state=None,
        verbose=0,
        callbacks=None,
        accelerator=None,
    ):
        self.loss = loss
        self.preprocessor = preprocessor
        self.module = module
        self.n_components = n_components
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
        self.normalize = normalize
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

    def _auto_loss(self, mode):
        return NTXentLoss(temperature=0.1)

    @guarded_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, triplets, y=None):
        """Learn the embedding from triplets.

        Parameters
        ----------
        triplets : array-like of shape (n_triplets, 3, n_features) or (n_triplets, 3)
            ``(anchor, positive, negative)`` rows, or integer indices into
            ``preprocessor``.
        y : None
            Ignored (present for API consistency).

        Returns
        -------
        self : TripletMetricLearner
        """
        triplets, is_index = self._check_tuples(triplets, fitting=True, min_tuples=2)
        seed = self._make_seed()
        rng = np.random.RandomState(seed)
        valid_idx = self._split(triplets.shape[0], rng)
        loss = self._build_tuple_loss("triplets")
        targets = np.zeros(triplets.shape[0], dtype=np.int64)
        self._fit_tuples(
            triplets, is_index, targets, _TripletCriterion(loss), mode="triplets",
            valid_idx=valid_idx, valid_scoring=_ValidAccuracy(), seed=seed, loss=loss,
        )
        return self

    def decision_function(self, triplets):
        """``d(a, n) - d(a, p)`` in the embedding: positive when the triplet holds.

        Parameters
        ----------
        triplets : array-like of shape (n_triplets, 3, n_features) or (n_triplets, 3)

        Returns
        -------
        scores : ndarray of shape (n_triplets,)
        """
        a, p, n = self._tuple_embeddings(triplets)
        return _triplet_margins(a, p, n)

    def predict(self, triplets):
        """+1 where ``d(a, p) < d(a, n)`` in the embedding, else -1 (ties: -1)."""
        return np.where(self.decision_function(triplets) > 0, 1, -1)

    def score(self, triplets, y=None):
        """Accuracy: the share of triplets with ``d(a, p) < d(a, n)``.

        Parameters
        ----------
        triplets : array-like of shape (n_triplets, 3, n_features) or (n_triplets, 3)
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        return float(np.mean(self.predict(triplets) == 1))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags

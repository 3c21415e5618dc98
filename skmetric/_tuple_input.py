"""What the tuple estimators share: tuple input, the tuple network, the fit.

``PairMetricLearner`` and ``TripletMetricLearner`` learn an embedding from
tuples of rows instead of class labels.  They follow metric-learn's input
conventions: tuples are either a float array ``(n_tuples, k, n_features)``
or an integer array ``(n_tuples, k)`` of row indices into the
``preprocessor`` array given at construction.  Training feeds the fit loop
the tuples themselves (or their indices), so that a batch is a set of whole
tuples; the network embeds every element of the batch's tuples at once and
returns them side by side: ``(k * batch, n_components)``, all first
elements, then all second elements, and so on.
"""

import copy

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from torch import nn

from ._embedding import EmbeddingLearnerMixin
from ._training import TRAINING_PARAMETER_CONSTRAINTS, seeded
from .losses import get_loss
from .nn import Normalized, ResidualEmbedder, initial_projection
from .utils._validation import (
    Integral,
    Interval,
    Real,
    StrOptions,
    check_array,
    check_is_fitted,
    validate_data,
)

__all__ = ["TupleLearnerMixin", "check_tuples", "check_preprocessor"]

# float32 holds integers exactly up to 2**24: larger index tables are
# gathered before training instead of being fed as indices
_MAX_FLOAT_INDEX = 2**24


def check_preprocessor(preprocessor):
    """The validated ``preprocessor`` array (not copied when already float)."""
    return check_array(
        preprocessor, dtype=[np.float64, np.float32], input_name="preprocessor"
    )


def check_tuples(tuples, *, tuple_size, name, preprocessor=None, n_features=None,
                 min_tuples=1):
    """Validate tuples given as rows or as indices into ``preprocessor``.

    Parameters
    ----------
    tuples : array-like
        ``(n, tuple_size, n_features)`` floats, or ``(n, tuple_size)``
        integer indices into ``preprocessor``.
    tuple_size : int
        2 for pairs, 3 for triplets.
    name : str
        ``"pairs"`` or ``"triplets"``, for messages.
    preprocessor : ndarray of shape (n_rows, n_features) or None
        Already validated with :func:`check_preprocessor`.
    n_features : int or None
        Expected number of features (``n_features_in_`` after fit).
    min_tuples : int
        Fewest tuples accepted.

    Returns
    -------
    tuples : ndarray
        Float rows ``(n, tuple_size, n_features)`` or int64 indices
        ``(n, tuple_size)``.
    is_index : bool
    """
    what = "pair" if tuple_size == 2 else "triplet"
    arr = np.asarray(tuples)
    expected = (
        f"an array of shape (n_{name}, {tuple_size}, n_features) or of indices "
        f"(n_{name}, {tuple_size}) into `preprocessor`"
    )
    if arr.ndim not in (2, 3) or arr.shape[1] != tuple_size:
        raise ValueError(f"`{name}` must be {expected}; got shape {arr.shape}.")
    if arr.shape[0] < min_tuples:
        raise ValueError(
            f"`{name}` holds {arr.shape[0]} {what}s; at least {min_tuples} are needed."
        )
    if arr.ndim == 2:
        if preprocessor is None:
            raise ValueError(
                f"`{name}` of shape {arr.shape} are read as indices, but no "
                f"`preprocessor` was given: pass the data array as "
                f"`preprocessor=X` at construction, or the rows themselves as an "
                f"array of shape (n_{name}, {tuple_size}, n_features)."
            )
        if arr.dtype.kind not in "iu":
            raise ValueError(
                f"Indices in `{name}` must be integers; got dtype {arr.dtype}."
            )
        n_rows = preprocessor.shape[0]
        low, high = int(arr.min()), int(arr.max())
        if low < 0 or high >= n_rows:
            bad = low if low < 0 else high
            raise ValueError(
                f"`{name}` holds index {bad}, out of range of `preprocessor` with "
                f"{n_rows} rows (valid indices are 0 to {n_rows - 1})."
            )
        return arr.astype(np.int64, copy=False), True
    if arr.dtype.kind == "O":  # numbers held as objects convert, as in check_array
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"`{name}` must hold numbers; got dtype object ({exc})."
            ) from None
    if arr.dtype.kind not in "iufb":
        raise ValueError(f"`{name}` must hold numbers; got dtype {arr.dtype}.")
    n, k, d = arr.shape
    flat = check_array(
        arr.reshape(n * k, d), dtype=[np.float64, np.float32], input_name=name,
        ensure_min_samples=0,
    )
    if n_features is not None and d != n_features:
        raise ValueError(
            f"`{name}` has {d} features, but this estimator was fitted with "
            f"{n_features} features."
        )
    return flat.reshape(n, k, d), False


def rows_of(tuples, is_index, preprocessor, side):
    """The rows at position ``side`` of every tuple, as a 2-D array."""
    if is_index:
        return preprocessor[tuples[:, side]]
    return tuples[:, side]


def row_ids(tuples, is_index):
    """An integer identity per tuple element: the index, or equal rows share one."""
    if is_index:
        return tuples
    n, k, d = tuples.shape
    _, ids = np.unique(tuples.reshape(n * k, d), axis=0, return_inverse=True)
    return ids.reshape(n, k)


class TupleNetwork(nn.Module):
    """Embed every element of a batch of tuples; output ``(k * B, n_components)``.

    Parameters
    ----------
    embedder : torch.nn.Module
        Embeds the first element of each tuple (and all of them when
        ``corpus`` is None).
    corpus : torch.nn.Module or None
        A fixed map for the other elements (the query-side adapter set-up).
    table : tensor of shape (n_rows, n_features) or None
        The ``preprocessor`` rows during training, when the batch holds
        indices (not a registered buffer: never copied into a state dict,
        and dropped once training ends).
    """

    def __init__(self, embedder, corpus=None, table=None):
        super().__init__()
        self.embedder = embedder
        self.corpus = corpus
        self.table = table

    def forward(self, X):
        if X.ndim == 2:  # indices into the table: gather side by side at once
            if self.table is None:
                raise ValueError("This tuple network has no index table.")
            if self.table.device != X.device:
                self.table = self.table.to(X.device)
            B, k = X.shape
            rows = self.table[X.long().T.reshape(-1)]
        else:
            B, k, d = X.shape
            rows = X.transpose(0, 1).reshape(k * B, d)
        if self.corpus is None:
            return self.embedder(rows)
        return torch.cat([self.embedder(rows[:B]), self.corpus(rows[B:])])

    def embed_query(self, x):
        """Embeddings of single rows by the (learned) first-element map."""
        return self.embedder(x)

    def embed_corpus(self, x):
        """Embeddings of single rows by the map of the other elements."""
        return self.embedder(x) if self.corpus is None else self.corpus(x)


class FixedMap(nn.Module):
    """``(x - mean) @ projection``: the corpus side of a query adapter (not trained)."""

    def __init__(self, mean, projection):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("projection", torch.as_tensor(projection, dtype=torch.float32))

    def forward(self, x):
        return (x - self.mean) @ self.projection

    def as_plain_torch(self):
        """The same map as a ``Sequential`` of ``torch.nn`` layers (for ``to_torch``)."""
        from ._export import centered_linear

        return centered_linear(self.mean, self.projection.T)


def sq_distances(A, B):
    """Squared Euclidean distances of aligned rows."""
    diff = np.asarray(A, dtype=np.float64) - np.asarray(B, dtype=np.float64)
    return np.einsum("ij,ij->i", diff, diff)


TUPLE_PARAMETER_CONSTRAINTS = {
    "loss": [str, nn.Module],
    "preprocessor": ["array-like", None],
    "module": [StrOptions({"mlp", "linear"}), nn.Module],
    "n_components": [Interval(Integral, 1, None, closed="left"), None],
    "hidden_sizes": [tuple, list],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "normalize": ["boolean", StrOptions({"auto"})],
    **TRAINING_PARAMETER_CONSTRAINTS,
}


class TupleLearnerMixin(ClassNamePrefixFeaturesOutMixin, TransformerMixin, EmbeddingLearnerMixin):
    """Fit and embedding steps shared by the tuple estimators.

    Subclasses set ``_tuple_size`` and ``_tuple_name`` and implement
    ``_auto_loss(mode)``; ``shared`` (query adapter) is read when defined.
    """

    _named_blocks = {"loss": get_loss}
    _tuple_size = 2
    _tuple_name = "pairs"

    # ------------------------------------------------------------- input
    def _check_tuples(self, tuples, *, fitting=False, min_tuples=1):
        if fitting:
            self.preprocessor_ = (
                None if self.preprocessor is None else check_preprocessor(self.preprocessor)
            )
        n_features = None if fitting else self.n_features_in_
        if fitting and self.preprocessor_ is not None:
            n_features = self.preprocessor_.shape[1]
        return check_tuples(
            tuples, tuple_size=self._tuple_size, name=self._tuple_name,
            preprocessor=getattr(self, "preprocessor_", None), n_features=n_features,
            min_tuples=min_tuples,
        )

    def _tuple_rows(self, tuples, is_index):
        """The rows of every tuple element in order (the same array for both
        forms of input), from which the starting map is computed."""
        if is_index:
            return self.preprocessor_[tuples.reshape(-1)]
        n, k, d = tuples.shape
        return tuples.reshape(n * k, d)

    # -------------------------------------------------------------- build
    def _build_tuple_loss(self, mode):
        loss = self.loss
        if isinstance(loss, str) and loss == "auto":
            return self._auto_loss(mode)
        if isinstance(loss, str):
            loss = get_loss(loss)
        else:
            loss = copy.deepcopy(loss) if not hasattr(loss, "get_params") else type(loss)(
                **loss.get_params(deep=False)
            )
        if getattr(loss, "requires_num_classes", False):
            raise ValueError(
                f"The loss {self._loss_name()} learns one vector per class and cannot "
                f"learn from {self._tuple_name}; use a pair-based loss or loss='auto'."
            )
        if mode == "graded" and not getattr(loss, "supports_graded", False):
            raise ValueError(
                f"The loss {self._loss_name()} cannot learn from graded similarities "
                "(y in [0, 1]); use loss='cosent' or loss='auto'."
            )
        return loss

    def _build_network(self, rows, seed, *, shared=True):
        """``(embedder, corpus)`` modules, built from ``seed``; the corpus map is
        None when both sides share the embedder."""
        n_features = rows.shape[1]
        with seeded(seed):
            if isinstance(self.module, nn.Module):
                embedder = copy.deepcopy(self.module)
                n_components = self._output_width(embedder, rows)
                mean, proj = np.zeros(n_features), np.eye(n_features)
            else:
                n_components = self.n_components or min(n_features, 128)
                mean, scale, proj = initial_projection(rows, n_components)
                hidden = tuple(self.hidden_sizes) if self.module == "mlp" else ()
                embedder = ResidualEmbedder(
                    mean, scale, proj, hidden_sizes=hidden, dropout=self.dropout
                )
        corpus = None
        if not shared:
            if proj.shape[1] != n_components:
                raise ValueError(
                    f"With `shared=False` the corpus side is the raw features, so "
                    f"`module` must output {n_features} components; got {n_components}."
                )
            corpus = FixedMap(mean, proj)
        return embedder, corpus, n_components

    # ---------------------------------------------------------------- fit
    def _fit_tuples(self, tuples, is_index, targets, criterion, *, mode, valid_idx,
                    valid_scoring, seed, loss):
        """Train on the tuples at ``train`` positions; set the fitted attributes."""
        shared = getattr(self, "shared", True)
        rows = self._tuple_rows(tuples, is_index)
        embedder, corpus, n_components = self._build_network(rows, seed, shared=shared)
        normalize = self.normalize
        if normalize == "auto":
            normalize = bool(getattr(loss, "prefers_normalized", False))
        if normalize:
            embedder = Normalized(embedder)
            if corpus is not None:
                corpus = Normalized(corpus)
        table = None
        X = tuples
        if is_index:
            if self.preprocessor_.shape[0] < _MAX_FLOAT_INDEX:
                table = torch.as_tensor(np.asarray(self.preprocessor_, dtype=np.float32))
                X = tuples.astype(np.float32)
            else:  # gather the rows: float32 cannot hold larger indices exactly
                X = self.preprocessor_[tuples]
        network = TupleNetwork(embedder, corpus, table)
        n = tuples.shape[0]
        train = np.ones(n, dtype=bool)
        valid_kwargs = {}
        if valid_idx is not None:
            train[valid_idx] = False
            valid_kwargs = dict(
                X_valid=X[valid_idx], y_valid=targets[valid_idx], valid_scoring=valid_scoring
            )
        try:
            net = self._train(network, criterion, X[train], targets[train], seed=seed,
                              **valid_kwargs)
        finally:
            network.table = None  # the data stays with the user, not in the model
        self.loss_ = net.criterion_.loss
        self.embedder_ = network.embedder
        self.corpus_embedder_ = network.corpus if network.corpus is not None else network.embedder
        self.embedding_size_ = n_components
        self.n_features_in_ = rows.shape[1]
        # baseline_score_, best_score_ and the StartingModelKeptWarning (kept
        # epoch 0) come from the shared fit loop
        return self

    def _split(self, n, rng, groups=None):
        """Indices of held-out tuples from ``validation_fraction`` (or None).

        ``groups`` (e.g. the binary labels) are held out in proportion;
        the split is skipped when a group would have fewer than 2 tuples on
        either side.
        """
        fraction = self.validation_fraction
        if fraction is None:
            return None
        groups = np.zeros(n, dtype=int) if groups is None else groups
        out = []
        for g in np.unique(groups):
            idx = np.flatnonzero(groups == g)
            n_val = int(np.floor(fraction * idx.size))
            if n_val < 2 or idx.size - n_val < 2:
                return None
            out.append(rng.permutation(idx)[:n_val])
        return np.sort(np.concatenate(out))

    # ---------------------------------------------------------- embedding
    def _embed_side(self, tuples, is_index, side_index):
        """Embeddings of one element of every tuple (each index embedded once)."""
        method = "embed_query" if side_index == 0 else "embed_corpus"
        if is_index:
            ids, inverse = np.unique(tuples[:, side_index], return_inverse=True)
            return self._forward(self.preprocessor_[ids], method=method)[inverse]
        return self._forward(tuples[:, side_index], method=method)

    def _tuple_embeddings(self, tuples):
        """Embeddings of every side of validated ``tuples``: a list of arrays."""
        check_is_fitted(self)
        tuples, is_index = self._check_tuples(tuples)
        return [self._embed_side(tuples, is_index, side) for side in range(self._tuple_size)]

    def to_torch(self, side="query"):
        """The trained map of one side as a plain ``torch.nn.Module`` (float32, CPU, eval).

        Input centring, scaling and the output normalisation are included; the
        default networks are rebuilt from ``torch.nn`` layers only, so
        ``torch.save(model)`` loads where skmetric is not installed (see
        "Exporting the embedder" in the user guide).  ``model(x)`` equals
        ``transform(x, side=side)`` to float32 rounding.

        Parameters
        ----------
        side : {"query", "corpus"}, default="query"
            As in :meth:`transform`.

        Returns
        -------
        model : torch.nn.Module
            A copy; the estimator is not changed.
        """
        from ._export import export_embedder

        check_is_fitted(self)
        if side not in ("query", "corpus"):
            raise ValueError(f"`side` must be 'query' or 'corpus'; got {side!r}.")
        module = self.embedder_ if side == "query" else self.corpus_embedder_
        return export_embedder(module, self.embedding_size_)

    def transform(self, X, side="query"):
        """Embed single rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        side : {"query", "corpus"}, default="query"
            Which map to apply.  Both are the same learned map unless
            ``shared=False`` (a query adapter), where ``"query"`` is the
            trained adapter (the first element of each pair) and
            ``"corpus"`` the fixed map of the second elements.

        Returns
        -------
        X_new : ndarray of shape (n_samples, embedding_size_)
        """
        check_is_fitted(self)
        if side not in ("query", "corpus"):
            raise ValueError(f"`side` must be 'query' or 'corpus'; got {side!r}.")
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        method = "embed_query" if side == "query" else "embed_corpus"
        return self._forward(X, method=method).astype(X.dtype, copy=False)

    @property
    def _n_features_out(self):
        return self.embedding_size_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = False
        return tags

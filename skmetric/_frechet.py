"""Loki: Fréchet-mean prediction over a label space with a metric."""

from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if

from ._training import VersionedPickleMixin, guarded_fit
from .label_space import LabelMetric, make_label_metric
from .label_space._base import _some
from .label_space._factory import METRIC_KINDS
from .utils._validation import (
    HasMethods,
    Integral,
    Interval,
    Options,
    StrOptions,
    _fit_context,
    check_classification_targets,
    check_is_fitted,
)

__all__ = ["FrechetMeanPredictor"]

# Target number of (sample, candidate) scores held at once when predicting.
_CHUNK_ENTRIES = 2**22
# Rows scored together by ``predict``: bounds its per-row temporaries too.
_ROW_BLOCK = 2**16


def _estimator_has(attr):
    def check(self):
        est = getattr(self, "estimator_", self.estimator)
        return hasattr(est, attr)

    return check


def _delegate(name, summary, returns):
    """A method ``name(X)`` that calls the fitted ``estimator_.<name>``.

    It exists only when the wrapped estimator has ``name``.
    """

    def method(self, X):
        check_is_fitted(self)
        return getattr(self.estimator_, name)(X)

    method.__name__ = name
    method.__qualname__ = f"FrechetMeanPredictor.{name}"
    method.__doc__ = f"""{summary}

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        {returns}
        """
    return available_if(_estimator_has(name))(method)


class FrechetMeanPredictor(
    MetaEstimatorMixin, ClassifierMixin, VersionedPickleMixin, BaseEstimator
):
    """Predict the Fréchet mean of a classifier's probabilities (Loki).

    Wraps any classifier with ``predict_proba``, trained on m observed classes
    λ_1..λ_m, and predicts, over a label space Y equipped with a metric d,

    .. math:: \\hat y(x) = \\arg\\min_{y \\in Y} \\sum_{i=1}^m P_i(x)\\, d(y, \\lambda_i)^2,

    so it can output labels never seen in training (a parent node between
    two likely children, a grid point between observed neighbours).
    Distances are squared exactly once.  Ties go to the first label of the
    label space.

    Parameters
    ----------
    estimator : estimator object
        A classifier with ``fit`` and ``predict_proba`` (a ``Pipeline``,
        ``KNeighborsClassifier``, ``LogisticRegression``, ...).  Cloned and
        fitted in :meth:`fit` unless ``prefit=True``.
    label_metric : array-like, sparse matrix, mapping, callable, LabelMetric or None, default=None
        The geometry of the label space (see
        :func:`skmetric.label_space.make_label_metric`):

        - array of shape (n_labels, n_labels): distances, rows named by
          ``labels``;
        - sparse matrix (n_labels, n_labels): graph adjacency with edge
          lengths, or an edge list of ``(u, v[, length])`` tuples
          (``metric_kind="graph"`` for a numeric array); distances are shortest paths, computed only from
          the observed classes;
        - mapping ``{child: parent}``: a tree whose nodes (internal ones
          included) are the labels; distances are hop counts;
        - array of shape (n_labels, n_dims) with n_dims != n_labels: label
          embeddings (``embedding_metric``);
        - callable ``f(a, b)`` returning the (len(a), len(b)) distances
          between two arrays of labels, over ``labels`` (default: the
          observed classes);
        - a :class:`~skmetric.label_space.LabelMetric`;
        - ``None``: the discrete metric over ``labels`` (or over the
          observed classes), with which prediction equals argmax.
    labels : array-like of shape (n_labels,), default=None
        The label space: names of the rows of a matrix, embeddings or
        adjacency (default ``0..n_labels-1``), or the labels of a callable or
        discrete metric.  Trees and edge lists name their labels themselves.
    prefit : bool, default=False
        If True, ``estimator`` is already fitted and is used as is (not
        cloned, not refitted); :meth:`fit` then only builds the label
        geometry and ``X``, ``y`` may be omitted.
    metric_kind : {"auto", "distances", "graph", "tree", "embeddings", "callable"}, default="auto"
        How to read ``label_metric`` when its type is ambiguous (a square
        embedding matrix, a numeric edge list).
    embedding_metric : {"euclidean", "cosine"}, default="euclidean"
        Distance between label embeddings: ``||e_a - e_b||`` or
        ``1 - cos(e_a, e_b)``.
    chunk_size : int, default=None
        Candidate labels scored at once in :meth:`predict`; ``None`` keeps
        about 4 million scores (32 MB in float64) in memory at a time.
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Precision of the stored squared distances from the observed classes
        (an (m, n_labels) array for matrix, graph, tree and callable metrics)
        and of the scores.  ``float32`` halves memory and predict time; near
        ties may then resolve differently.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted wrapped classifier (``estimator`` itself when ``prefit``).
    classes_ : ndarray of shape (n_classes,)
        The observed classes, i.e. the columns of :meth:`predict_proba`
        (scikit-learn's contract).  :meth:`predict` may return any label of
        ``labels_``.
    labels_ : ndarray of shape (n_labels,)
        The full label space: the values :meth:`predict` can return and the
        columns of :meth:`frechet_scores`.
    label_metric_ : LabelMetric
        The label metric built from ``label_metric``.
    class_indices_ : ndarray of shape (n_classes,)
        Positions of ``classes_`` in ``labels_``.
    n_features_in_ : int
        Number of features seen by the wrapped estimator (delegated).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names seen by the wrapped estimator (delegated; only when it
        has them).

    See Also
    --------
    skmetric.label_space.locus : Labels that can be predicted at all.
    skmetric.metrics.expected_squared_distance : Loki's evaluation measure.
    sklearn.calibration.CalibratedClassifierCV : Another classifier wrapper.

    Notes
    -----
    Prediction costs O(n_samples * m * n_labels) for stored squared
    distances (one matrix product per chunk of candidates) and
    O(n_samples * n_labels * n_dims) for Euclidean embeddings, which need no
    (m, n_labels) array.  Building a graph metric runs Dijkstra from each
    observed class; a tree metric uses depths and common ancestors.

    References
    ----------
    .. [1] Roberts, Li, Adila, Sala, Zhang, Sala. "Geometry-Aware Adaptation
       for Pretrained Models", NeurIPS 2023, arXiv:2307.12226.

    Examples
    --------
    A tree with labels ``animal -> {cat, dog}`` and ``vehicle -> {car, bus}``;
    the model only ever saw cats and dogs and cars.  An example it finds
    equally cat- and dog-like is an ``animal``:

    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skmetric import FrechetMeanPredictor
    >>> tree = {"animal": "root", "vehicle": "root", "cat": "animal",
    ...         "dog": "animal", "car": "vehicle", "bus": "vehicle"}
    >>> X = np.array([[0.0], [0.1], [2.0], [2.1], [9.0], [9.1]])
    >>> y = ["cat", "cat", "dog", "dog", "car", "car"]
    >>> clf = FrechetMeanPredictor(LogisticRegression(), tree).fit(X, y)
    >>> clf.classes_.tolist()
    ['car', 'cat', 'dog']
    >>> clf.predict([[0.0], [1.05], [9.0]]).tolist()
    ['cat', 'animal', 'car']
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "label_metric": [
            "array-like",
            "sparse matrix",
            Mapping,
            callable,
            LabelMetric,
            None,
        ],
        "labels": ["array-like", None],
        "prefit": ["boolean"],
        "metric_kind": [StrOptions(set(METRIC_KINDS))],
        "embedding_metric": [StrOptions({"euclidean", "cosine"})],
        "chunk_size": [Interval(Integral, 1, None, closed="left"), None],
        "dtype": [Options(type, {np.float64, np.float32})],
    }

    def __init__(
        self,
        estimator,
        label_metric=None,
        *,
        labels=None,
        prefit=False,
        metric_kind="auto",
        embedding_metric="euclidean",
        chunk_size=None,
        dtype=np.float64,
    ):
        self.estimator = estimator
        self.label_metric = label_metric
        self.labels = labels
        self.prefit = prefit
        self.metric_kind = metric_kind
        self.embedding_metric = embedding_metric
        self.chunk_size = chunk_size
        self.dtype = dtype

    @guarded_fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X=None, y=None, **fit_params):
        """Fit the wrapped classifier (unless prefit) and build the label geometry.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, passed to the wrapped estimator's ``fit``.
            Ignored (may be None) when ``prefit=True``.
        y : array-like of shape (n_samples,)
            Target classes, all in the label space.  Ignored when
            ``prefit=True``.
        **fit_params : dict
            Passed to the wrapped estimator's ``fit``.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        name = type(self).__name__
        if self.prefit:
            try:
                check_is_fitted(self.estimator)
            except NotFittedError as exc:
                raise NotFittedError(
                    f"`estimator` must be fitted when `prefit=True` in {name}."
                ) from exc
            self.estimator_ = self.estimator
        else:
            if y is None:
                raise ValueError(
                    f"{name} requires y to be passed, but the target y is None."
                )
            check_classification_targets(y)
            self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        if not hasattr(self.estimator_, "classes_"):
            raise ValueError(
                f"The wrapped estimator {type(self.estimator_).__name__} has no "
                "`classes_` after fitting; FrechetMeanPredictor needs a classifier."
            )
        self.classes_ = np.asarray(self.estimator_.classes_)
        labels = self.labels
        if labels is None and (self.label_metric is None or callable(self.label_metric)):
            labels = self.classes_
        self.label_metric_ = make_label_metric(
            self.label_metric,
            labels,
            metric_kind=self.metric_kind,
            embedding_metric=self.embedding_metric,
        )
        self.labels_ = self.label_metric_.labels
        known = set(self.labels_.tolist())
        missing = [repr(c) for c in self.classes_.tolist() if c not in known]
        if missing:
            raise ValueError(
                f"The labels of `label_metric` do not cover the estimator's classes: "
                f"{_some(missing)} missing from the {self.label_metric_.n_labels} labels "
                "of the label space."
            )
        self.class_indices_ = self.label_metric_.index(self.classes_, name="Classes")
        self._scorer = self.label_metric_._frechet_scorer(
            self.class_indices_, np.dtype(self.dtype)
        )
        return self

    # fitted state without a trailing underscore, removed when a fit fails
    _private_fitted_attributes = ("_scorer",)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_scorer")

    def _fitted_inner(self, name):
        """``estimator_.<name>``; an AttributeError (not NotFittedError) before fit."""
        try:
            check_is_fitted(self)
        except NotFittedError as exc:
            raise AttributeError(
                f"{type(self).__name__} object has no attribute {name!r}"
            ) from exc
        return getattr(self.estimator_, name)

    @property
    def n_features_in_(self):
        """Number of features seen by the wrapped estimator."""
        return self._fitted_inner("n_features_in_")

    @property
    def feature_names_in_(self):
        """Feature names seen by the wrapped estimator."""
        return self._fitted_inner("feature_names_in_")

    def _proba(self, X):
        P = np.asarray(self.estimator_.predict_proba(X), dtype=np.float64)
        m = self.classes_.size
        if P.ndim != 2 or P.shape[1] != m:
            raise ValueError(
                f"`estimator.predict_proba` returned shape {P.shape}; expected "
                f"(n_samples, {m}) for the {m} classes."
            )
        if not np.isfinite(P).all():
            raise ValueError("`estimator.predict_proba` returned NaN or infinity.")
        if P.size and P.min() < -1e-12:
            raise ValueError(
                f"`estimator.predict_proba` returned negative probabilities "
                f"(minimum {P.min():.6g})."
            )
        sums = P.sum(axis=1)
        bad = np.abs(sums - 1.0) > 1e-6
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"`estimator.predict_proba` rows must sum to 1; row {i} sums to "
                f"{sums[i]:.9g}."
            )
        P = np.clip(P, 0.0, None)
        P /= sums[:, None]
        return P

    def _chunks(self, n_samples):
        K = self.labels_.size
        size = self.chunk_size or max(1, _CHUNK_ENTRIES // max(1, n_samples))
        for start in range(0, K, size):
            yield start, min(K, start + size)

    def frechet_scores(self, X):
        """Fréchet variance of every candidate label.

        ``scores[n, j] = sum_i P_i(x_n) d(labels_[j], classes_[i])^2``; the
        prediction is the column of the smallest score.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_labels)
            Allocates n_samples x n_labels values; :meth:`predict` does not.
        """
        check_is_fitted(self)
        P = self._proba(X)
        out = np.empty((P.shape[0], self.labels_.size), dtype=np.dtype(self.dtype))
        for start, stop in self._chunks(P.shape[0]):
            out[:, start:stop] = self._scorer.scores(P, start, stop)
        return out

    def predict(self, X):
        """Predict the Fréchet mean label of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``labels_``, observed in training or not.
        """
        check_is_fitted(self)
        P = self._proba(X)
        n = P.shape[0]
        arg = np.zeros(n, dtype=np.intp)
        # Blocks of rows, then chunks of labels: at most about _CHUNK_ENTRIES
        # scores and _ROW_BLOCK rows of temporaries at a time, whatever n.
        for r0 in range(0, n, _ROW_BLOCK):
            r1 = min(n, r0 + _ROW_BLOCK)
            Pb = P[r0:r1]
            best = np.full(r1 - r0, np.inf)
            rows = np.arange(r1 - r0)
            for start, stop in self._chunks(r1 - r0):
                S = self._scorer.scores(Pb, start, stop)
                a = np.argmin(S, axis=1)
                v = S[rows, a]
                better = v < best  # strict: ties keep the earlier label
                best[better] = v[better]
                arg[r0:r1][better] = a[better] + start
                del S
        return self.labels_[arg]

    predict_proba = _delegate(
        "predict_proba",
        "Probabilities of the observed classes, from the wrapped estimator.",
        "proba : ndarray of shape (n_samples, n_classes)\n            Columns follow ``classes_``.",
    )
    predict_log_proba = _delegate(
        "predict_log_proba",
        "Log-probabilities of the observed classes, from the wrapped estimator.",
        "log_proba : ndarray of shape (n_samples, n_classes)",
    )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.string = inner.input_tags.string
        tags.input_tags.categorical = inner.input_tags.categorical
        tags.target_tags.required = True
        return tags

"""The one scorer class of skmetric, its factories and its registry.

A scorer is called as ``scorer(estimator, X, y)`` and returns a float,
greater is better, so it can be passed as ``scoring=`` to
:class:`~sklearn.model_selection.GridSearchCV`, ``cross_val_score`` and
friends, alone or in a dict.  Like scikit-learn's, it is built from a score
function, a sign, a ``response_method`` and keyword arguments; every
skmetric scorer is an instance of the one private class :class:`_Scorer`,
built by :func:`make_scorer` (or a factory that calls it) and named in one
registry read by :func:`get_scorer`.
"""

import inspect
import re

from sklearn.metrics import get_scorer as _sklearn_get_scorer
from sklearn.metrics import get_scorer_names as _sklearn_get_scorer_names

from ..losses.confusion import METRICS as _ANYLOSS_METRICS
from ..label_space import make_label_metric
from ._clustering import ami, nmi
from ._confusion import _check_anyloss_args, anyloss_score, soft_anyloss_score
from ._geometry import alignment, uniformity
from ._label_distance import expected_squared_distance
from ._retrieval import (
    map_at_r,
    mean_average_precision,
    mrr,
    precision_at_k,
    r_precision,
    recall_at_k,
)
from ._verification import equal_error_rate, opis, pair_roc_auc

__all__ = [
    "make_scorer",
    "make_embedding_scorer",
    "make_anyloss_scorer",
    "make_expected_squared_distance_scorer",
    "recall_at_k_scorer",
    "precision_at_k_scorer",
    "r_precision_scorer",
    "map_at_r_scorer",
    "mean_average_precision_scorer",
    "mrr_scorer",
    "nmi_scorer",
    "ami_scorer",
    "get_scorer",
    "get_scorer_names",
]

_RESPONSE_METHODS = ("transform", "predict", "predict_proba", "decision_function")


def _show(value):
    """``repr`` for a scorer argument; functions by name so that it evaluates."""
    if callable(value) and hasattr(value, "__name__") and not isinstance(value, type):
        return value.__name__
    return repr(value)


class _Scorer:
    """``sign * score_func(...)`` on one response of a fitted estimator.

    Build it with :func:`make_scorer`; every skmetric scorer is one.

    Parameters
    ----------
    score_func : callable
        With ``response_method="transform"``: ``score_func(embedding, y,
        **kwargs)``, the order of every embedding metric of
        :mod:`skmetric.metrics`.  Otherwise ``score_func(y_true, y_pred,
        **kwargs)``, scikit-learn's order.
    sign : {1, -1}
        ``-1`` turns a lower-is-better value into a greater-is-better score.
    response_method : str or tuple of str
        ``"transform"``, ``"predict"``, ``"predict_proba"`` or
        ``"decision_function"``, or a tuple of them in order of preference
        (the first method the estimator has is used).  The response is
        passed on as the estimator returns it (all columns of
        ``predict_proba``).
    kwargs : dict
        Fixed keyword arguments of ``score_func``.
    fitted_kwargs : dict
        ``{argument: attribute}``: keyword arguments of ``score_func`` read
        from the fitted estimator at each call, e.g. ``{"classes":
        "classes_"}``.  A missing attribute raises a ``ValueError``.

    Notes
    -----
    ``sample_weight``: when the caller gives one, it is passed to
    ``score_func`` as ``sample_weight=``; a ``score_func`` without that
    parameter raises a ``ValueError`` rather than ignore the weights.
    """

    def __init__(self, score_func, sign, response_method, kwargs, fitted_kwargs):
        self.score_func = score_func
        self.sign = sign
        self.response_method = response_method
        self.kwargs = kwargs
        self.fitted_kwargs = fitted_kwargs

    def _response(self, estimator, X):
        methods = self.response_method
        if isinstance(methods, str):
            methods = (methods,)
        for method in methods:
            if hasattr(estimator, method):
                return method, getattr(estimator, method)(X)
        wanted = " or ".join(f"`{m}`" for m in methods)
        raise ValueError(
            f"{self!r} needs an estimator with {wanted}; "
            f"{type(estimator).__name__} has none."
        )

    def __call__(self, estimator, X, y_true=None, sample_weight=None):
        kwargs = dict(self.kwargs)
        for argument, attribute in self.fitted_kwargs.items():
            if not hasattr(estimator, attribute):
                raise ValueError(
                    f"{self!r} reads `{attribute}` from the fitted estimator; "
                    f"{type(estimator).__name__} has no such attribute."
                )
            kwargs[argument] = getattr(estimator, attribute)
        if sample_weight is not None:
            if "sample_weight" not in inspect.signature(self.score_func).parameters:
                raise ValueError(
                    f"{self!r} does not support `sample_weight`: "
                    f"{_show(self.score_func)} takes no `sample_weight`."
                )
            kwargs["sample_weight"] = sample_weight
        method, response = self._response(estimator, X)
        if method == "transform":
            value = self.score_func(response, y_true, **kwargs)
        else:
            value = self.score_func(y_true, response, **kwargs)
        return self.sign * float(value)

    def __repr__(self):
        parts = [_show(self.score_func), f"response_method={self.response_method!r}"]
        if self.sign == -1:
            parts.append("greater_is_better=False")
        if self.fitted_kwargs:
            parts.append(f"fitted_kwargs={self.fitted_kwargs!r}")
        parts += [f"{k}={_show(v)}" for k, v in self.kwargs.items()]
        return f"make_scorer({', '.join(parts)})"

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return (
            self.score_func is other.score_func
            and self.sign == other.sign
            and self.response_method == other.response_method
            and self.kwargs == other.kwargs
            and self.fitted_kwargs == other.fitted_kwargs
        )

    __hash__ = None


def make_scorer(
    score_func,
    *,
    response_method="predict",
    greater_is_better=True,
    fitted_kwargs=None,
    **kwargs,
):
    """Build a scorer ``scorer(estimator, X, y) -> float`` from a score function.

    The skmetric counterpart of :func:`sklearn.metrics.make_scorer`, which
    also scores embeddings (``response_method="transform"``) and reads
    fitted attributes of the estimator (``fitted_kwargs``).

    Parameters
    ----------
    score_func : callable
        With ``response_method="transform"``: ``score_func(embedding, y,
        **kwargs)``, like every embedding metric of :mod:`skmetric.metrics`.
        Otherwise ``score_func(y_true, y_pred, **kwargs)``, like
        scikit-learn's metrics.
    response_method : {"transform", "predict", "predict_proba", \
"decision_function"} or tuple or list of them, default="predict"
        The estimator method whose output is scored; a tuple lists methods
        in order of preference, and the first one the estimator has is used.
        ``"transform"`` cannot be mixed with the others, since it changes
        the argument order.
    greater_is_better : bool, default=True
        ``False`` negates the value (for losses and errors).
    fitted_kwargs : dict, default=None
        ``{argument: attribute}``: keyword arguments of ``score_func`` read
        from the fitted estimator at each call (``{"classes": "classes_"}``).
    **kwargs : dict
        Fixed keyword arguments of ``score_func``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, sample_weight=None) -> float``, greater is
        better.  ``sample_weight``, when given, is passed to ``score_func``;
        a ``score_func`` that takes none raises a ``ValueError``.  The
        scorer's repr is a call of this function that rebuilds it.

    Examples
    --------
    >>> from skmetric.metrics import make_scorer, map_at_r
    >>> make_scorer(map_at_r, response_method="transform", metric="cosine")
    make_scorer(map_at_r, response_method='transform', metric='cosine')
    """
    if not callable(score_func):
        raise ValueError(f"`score_func` must be callable; got {score_func!r}.")
    if isinstance(response_method, list):
        response_method = tuple(response_method)
    methods = (response_method,) if isinstance(response_method, str) else response_method
    if (
        not isinstance(methods, tuple)
        or not methods
        or any(m not in _RESPONSE_METHODS for m in methods)
    ):
        raise ValueError(
            f"`response_method` must be one of {_RESPONSE_METHODS} or a tuple of "
            f"them; got {response_method!r}."
        )
    if "transform" in methods and len(methods) > 1:
        raise ValueError(
            "`response_method` cannot mix 'transform' with prediction methods: "
            "the embedding comes first in an embedding metric and y_true first "
            f"otherwise; got {response_method!r}."
        )
    fitted_kwargs = dict(fitted_kwargs or {})
    both = sorted(set(fitted_kwargs) & set(kwargs))
    if both:
        raise ValueError(f"Arguments given both fixed and in `fitted_kwargs`: {both}.")
    return _Scorer(
        score_func,
        1 if greater_is_better else -1,
        response_method,
        kwargs,
        fitted_kwargs,
    )


def make_embedding_scorer(score_func, *, greater_is_better=True, **kwargs):
    """Build a scorer that scores ``score_func`` on ``estimator.transform(X)``.

    Shorthand for ``make_scorer(score_func, response_method="transform",
    ...)``.

    Parameters
    ----------
    score_func : callable
        ``score_func(embedding, labels, **kwargs) -> float``, e.g.
        :func:`~skmetric.metrics.recall_at_k`.
    greater_is_better : bool, default=True
        ``False`` negates the value (for losses).
    **kwargs : dict
        Passed to ``score_func``.

    Returns
    -------
    scorer : callable

    Examples
    --------
    >>> from skmetric.metrics import make_embedding_scorer, map_at_r
    >>> make_embedding_scorer(map_at_r, metric="cosine")
    make_scorer(map_at_r, response_method='transform', metric='cosine')
    """
    return make_scorer(
        score_func,
        response_method="transform",
        greater_is_better=greater_is_better,
        **kwargs,
    )


def recall_at_k_scorer(k=1, *, metric="euclidean"):
    """Scorer of :func:`~skmetric.metrics.recall_at_k` (hit@K) on the embedding.

    Parameters
    ----------
    k : int, default=1
        Number of neighbours.
    metric : {"euclidean", "cosine", "dot"}, default="euclidean"
        Neighbour ranking.

    Returns
    -------
    scorer : callable

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.decomposition import PCA
    >>> from sklearn.model_selection import GridSearchCV, StratifiedKFold
    >>> from skmetric.metrics import recall_at_k_scorer
    >>> X, y = load_digits(return_X_y=True)
    >>> cv = StratifiedKFold(3, shuffle=True, random_state=0)
    >>> search = GridSearchCV(PCA(), {"n_components": [2, 16]}, cv=cv,
    ...                       scoring=recall_at_k_scorer(k=1)).fit(X, y)
    >>> search.best_params_
    {'n_components': 16}
    """
    return make_embedding_scorer(recall_at_k, k=k, metric=metric)


def precision_at_k_scorer(k=1, *, metric="euclidean"):
    """Scorer of :func:`~skmetric.metrics.precision_at_k` on the embedding."""
    return make_embedding_scorer(precision_at_k, k=k, metric=metric)


def r_precision_scorer(*, metric="euclidean"):
    """Scorer of :func:`~skmetric.metrics.r_precision` on the embedding."""
    return make_embedding_scorer(r_precision, metric=metric)


def map_at_r_scorer(*, metric="euclidean"):
    """Scorer of :func:`~skmetric.metrics.map_at_r` on the embedding."""
    return make_embedding_scorer(map_at_r, metric=metric)


def mean_average_precision_scorer(k=None, *, metric="euclidean"):
    """Scorer of :func:`~skmetric.metrics.mean_average_precision` on the embedding."""
    return make_embedding_scorer(mean_average_precision, k=k, metric=metric)


def mrr_scorer(k=None, *, metric="euclidean"):
    """Scorer of :func:`~skmetric.metrics.mrr` on the embedding."""
    return make_embedding_scorer(mrr, k=k, metric=metric)


def nmi_scorer(*, random_state=0):
    """Scorer of :func:`~skmetric.metrics.nmi` (k-means NMI) on the embedding."""
    return make_embedding_scorer(nmi, random_state=random_state)


def ami_scorer(*, random_state=0):
    """Scorer of :func:`~skmetric.metrics.ami` (k-means AMI) on the embedding."""
    return make_embedding_scorer(ami, random_state=random_state)


def make_anyloss_scorer(metric, *, soft=False, average="auto", beta=1.0, L=73.0):
    """A scorer for an AnyLoss confusion-matrix metric.

    Parameters
    ----------
    metric : str or callable
        A name of :data:`skmetric.losses.confusion.METRICS` (``"f1"``, ``"fbeta"``,
        ``"balanced_accuracy"``, ``"mcc"``, ``"gmean"``, ``"jaccard"``,
        ``"accuracy"``, ``"precision"``, ``"recall"``) or a formula
        ``f(tp, fp, fn, tn)`` of torch tensors (a module-level function keeps
        the scorer picklable for ``n_jobs``).
    soft : bool, default=False
        ``False``: :func:`~skmetric.metrics.anyloss_score` of ``predict``,
        the number to select models by.  ``True``:
        :func:`~skmetric.metrics.soft_anyloss_score` of ``predict_proba``,
        the differentiable surrogate that
        :class:`~skmetric.AnyLossClassifier` maximises.
    average : {"auto", "binary", "macro", "micro", "weighted"}, default="auto"
        For per-class metrics: with ``"auto"``, ``"binary"`` (the second
        class of the estimator's ``classes_`` is positive) for two classes
        and ``"macro"`` otherwise.
    beta : float, default=1.0
        For ``"fbeta"``.
    L : float, default=73.0
        Steepness of the approximation for ``soft=True``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``, greater is better; it reads
        the estimator's ``classes_``.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_val_score
    >>> from skmetric.metrics import make_anyloss_scorer
    >>> X, y = make_classification(300, weights=[0.9, 0.1], random_state=0)
    >>> scores = cross_val_score(LogisticRegression(), X, y, cv=3,
    ...                          scoring=make_anyloss_scorer("mcc"))
    >>> scores.shape
    (3,)
    """
    _check_anyloss_args(metric, average)
    fitted = {"classes": "classes_"}
    if soft:
        return make_scorer(
            soft_anyloss_score, response_method="predict_proba", fitted_kwargs=fitted,
            metric=metric, average=average, beta=beta, L=L,
        )
    return make_scorer(
        anyloss_score, response_method="predict", fitted_kwargs=fitted,
        metric=metric, average=average, beta=beta,
    )


def make_expected_squared_distance_scorer(label_metric=None, **kwargs):
    """Scorer of the negated :func:`~skmetric.metrics.expected_squared_distance`.

    Parameters
    ----------
    label_metric : LabelMetric or any form accepted by \
:func:`~skmetric.label_space.make_label_metric`, default=None
        The metric to evaluate with.  ``None`` uses the fitted estimator's
        ``label_metric_`` (so each candidate is judged by its own metric;
        give a fixed metric when the grid varies the metric).
    **kwargs
        ``labels``, ``metric_kind``, ``embedding_metric`` for
        :func:`~skmetric.label_space.make_label_metric`.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``; greater is better.

    Examples
    --------
    >>> from skmetric.metrics import make_expected_squared_distance_scorer
    >>> make_expected_squared_distance_scorer()
    make_scorer(expected_squared_distance, response_method='predict', \
greater_is_better=False, fitted_kwargs={'label_metric': 'label_metric_'})
    """
    if label_metric is None:
        return make_scorer(
            expected_squared_distance, greater_is_better=False,
            fitted_kwargs={"label_metric": "label_metric_"}, **kwargs,
        )
    return make_scorer(
        expected_squared_distance, greater_is_better=False,
        label_metric=make_label_metric(label_metric, **kwargs),
    )


# ---------------------------------------------------------------- registry
# name -> factory of a fresh scorer; "@K" names are matched by _AT_K below
_SCORERS = {
    "r_precision": r_precision_scorer,
    "map@r": map_at_r_scorer,
    "map_at_r": map_at_r_scorer,
    "map": mean_average_precision_scorer,
    "mean_average_precision": mean_average_precision_scorer,
    "mrr": mrr_scorer,
    "nmi": nmi_scorer,
    "ami": ami_scorer,
    "pair_roc_auc": lambda: make_embedding_scorer(pair_roc_auc),
    "neg_equal_error_rate": lambda: make_embedding_scorer(
        equal_error_rate, greater_is_better=False),
    "neg_opis": lambda: make_embedding_scorer(opis, greater_is_better=False),
    "neg_alignment": lambda: make_embedding_scorer(alignment, greater_is_better=False),
    "neg_uniformity": lambda: make_embedding_scorer(uniformity, greater_is_better=False),
    "neg_expected_squared_distance": make_expected_squared_distance_scorer,
    **{f"hard_{m}": (lambda m=m: make_anyloss_scorer(m)) for m in _ANYLOSS_METRICS},
    **{f"soft_{m}": (lambda m=m: make_anyloss_scorer(m, soft=True)) for m in _ANYLOSS_METRICS},
}
_AT_K = {"recall": recall_at_k_scorer, "r": recall_at_k_scorer,
         "precision": precision_at_k_scorer, "p": precision_at_k_scorer}


def get_scorer_names():
    """Names accepted by :func:`get_scorer`: skmetric's and scikit-learn's.

    ``@K`` forms (``"recall@K"``...) take any integer K >= 1.

    Returns
    -------
    names : list of str
        Sorted.
    """
    ours = ["recall@K", "r@K", "precision@K", "p@K", *_SCORERS]
    return sorted(set(ours) | set(_sklearn_get_scorer_names()))


def get_scorer(name):
    """A fresh scorer by name: every skmetric scorer, then scikit-learn's.

    scikit-learn's searches accept only scikit-learn's own strings, so pass
    the object: ``GridSearchCV(..., scoring=get_scorer("recall@1"))``.

    Parameters
    ----------
    name : str
        Embedding scorers: ``"recall@K"`` (hit@K; also ``"r@K"``),
        ``"precision@K"`` (``"p@K"``), ``"r_precision"``, ``"map@r"``,
        ``"map"`` (mean average precision), ``"mrr"``, ``"nmi"``, ``"ami"``,
        ``"pair_roc_auc"``, ``"neg_equal_error_rate"``, ``"neg_opis"``,
        ``"neg_alignment"``, ``"neg_uniformity"``.  AnyLoss scorers:
        ``"hard_<metric>"`` and ``"soft_<metric>"`` for every metric of
        :data:`skmetric.losses.confusion.METRICS` (``"hard_mcc"``, ``"soft_f1"``...).
        Loki: ``"neg_expected_squared_distance"`` (with the estimator's own
        ``label_metric_``).  skmetric names are case-insensitive; any other
        name is looked up with :func:`sklearn.metrics.get_scorer`
        (``"accuracy"``, ``"f1"``...).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``, greater is better.

    Examples
    --------
    >>> from skmetric.metrics import get_scorer
    >>> get_scorer("recall@4")
    make_scorer(recall_at_k, response_method='transform', k=4, metric='euclidean')
    >>> get_scorer("accuracy")
    make_scorer(accuracy_score, response_method='predict')
    """
    if not isinstance(name, str):
        raise ValueError(f"Scorer name must be a string; got {name!r}.")
    key = name.strip().lower()
    if key in _SCORERS:
        return _SCORERS[key]()
    match = re.fullmatch(r"(recall|precision|r|p)@(\d+)", key)
    if match and int(match.group(2)) >= 1:
        return _AT_K[match.group(1)](int(match.group(2)))
    if name in _sklearn_get_scorer_names():
        return _sklearn_get_scorer(name)
    raise ValueError(
        f"Unknown scorer {name!r}. Valid names: {', '.join(get_scorer_names())}."
    )

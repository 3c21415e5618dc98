"""Scorers that grade an estimator by the embedding it produces.

A scorer is called as ``scorer(estimator, X, y)``: it embeds ``X`` with
``estimator.transform(X)`` and scores the embedding against ``y``
leave-one-out (greater is better), so it can be passed as ``scoring=`` to
:class:`~sklearn.model_selection.GridSearchCV` and friends, alone or in a
dict.
"""

import re

from ._clustering import ami, nmi
from ._geometry import alignment, uniformity
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
    "EmbeddingScorer",
    "make_embedding_scorer",
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


class EmbeddingScorer:
    """Score ``score_func(estimator.transform(X), y, **kwargs)``.

    Parameters
    ----------
    score_func : callable
        ``score_func(embedding, labels, **kwargs) -> float``, e.g.
        :func:`skmetric.metrics.recall_at_k`.
    sign : {1, -1}, default=1
        ``-1`` for losses (lower is better), so that the scorer is always
        greater-is-better.
    needs_labels : bool, default=True
        Whether ``score_func`` takes the labels (``uniformity`` does not).
    **kwargs : dict
        Passed to ``score_func``.
    """

    def __init__(self, score_func, *, sign=1, needs_labels=True, **kwargs):
        self.score_func = score_func
        self.sign = sign
        self.needs_labels = needs_labels
        self.kwargs = kwargs

    def __call__(self, estimator, X, y=None, sample_weight=None):
        if sample_weight is not None:
            raise ValueError(f"{self!r} does not support `sample_weight`.")
        if not hasattr(estimator, "transform"):
            raise ValueError(
                f"{self!r} needs an estimator with `transform` (it scores the "
                f"embedding); {type(estimator).__name__} has none."
            )
        if self.needs_labels and y is None:
            raise ValueError(f"{self!r} needs the labels `y`.")
        Z = estimator.transform(X)
        if self.needs_labels:
            value = self.score_func(Z, y, **self.kwargs)
        else:
            value = self.score_func(Z, **self.kwargs)
        return self.sign * value

    def __repr__(self):
        args = "".join(f", {k}={v!r}" for k, v in self.kwargs.items())
        sign = ", sign=-1" if self.sign == -1 else ""
        return f"make_embedding_scorer({self.score_func.__name__}{sign}{args})"


def make_embedding_scorer(score_func, *, greater_is_better=True, needs_labels=True, **kwargs):
    """Build a scorer that scores ``score_func`` on ``estimator.transform(X)``.

    Parameters
    ----------
    score_func : callable
        ``score_func(embedding, labels, **kwargs) -> float``.
    greater_is_better : bool, default=True
        ``False`` negates the value (for losses).
    needs_labels : bool, default=True
        Whether ``score_func`` takes the labels.
    **kwargs : dict
        Passed to ``score_func``.

    Returns
    -------
    scorer : EmbeddingScorer

    Examples
    --------
    >>> from skmetric.metrics import map_at_r
    >>> from skmetric.scorers import make_embedding_scorer
    >>> make_embedding_scorer(map_at_r, metric="cosine")
    make_embedding_scorer(map_at_r, metric='cosine')
    """
    return EmbeddingScorer(score_func, sign=1 if greater_is_better else -1,
                           needs_labels=needs_labels, **kwargs)


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
    scorer : EmbeddingScorer

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.decomposition import PCA
    >>> from sklearn.model_selection import GridSearchCV, StratifiedKFold
    >>> from skmetric.scorers import recall_at_k_scorer
    >>> X, y = load_digits(return_X_y=True)
    >>> cv = StratifiedKFold(3, shuffle=True, random_state=0)
    >>> search = GridSearchCV(PCA(), {"n_components": [2, 16]}, cv=cv,
    ...                       scoring=recall_at_k_scorer(k=1)).fit(X, y)
    >>> search.best_params_
    {'n_components': 16}
    >>> recall_at_k_scorer(k=4)
    make_embedding_scorer(recall_at_k, k=4, metric='euclidean')
    """
    return EmbeddingScorer(recall_at_k, k=k, metric=metric)


def precision_at_k_scorer(k=1, *, metric="euclidean"):
    """Scorer of :func:`~skmetric.metrics.precision_at_k` on the embedding."""
    return EmbeddingScorer(precision_at_k, k=k, metric=metric)


def r_precision_scorer(*, metric="euclidean"):
    """Scorer of :func:`~skmetric.metrics.r_precision` on the embedding."""
    return EmbeddingScorer(r_precision, metric=metric)


def map_at_r_scorer(*, metric="euclidean"):
    """Scorer of :func:`~skmetric.metrics.map_at_r` on the embedding."""
    return EmbeddingScorer(map_at_r, metric=metric)


def mean_average_precision_scorer(k=None, *, metric="euclidean"):
    """Scorer of :func:`~skmetric.metrics.mean_average_precision` on the embedding."""
    return EmbeddingScorer(mean_average_precision, k=k, metric=metric)


def mrr_scorer(k=None, *, metric="euclidean"):
    """Scorer of :func:`~skmetric.metrics.mrr` on the embedding."""
    return EmbeddingScorer(mrr, k=k, metric=metric)


def nmi_scorer(*, random_state=0):
    """Scorer of :func:`~skmetric.metrics.nmi` (k-means NMI) on the embedding."""
    return EmbeddingScorer(nmi, random_state=random_state)


def ami_scorer(*, random_state=0):
    """Scorer of :func:`~skmetric.metrics.ami` (k-means AMI) on the embedding."""
    return EmbeddingScorer(ami, random_state=random_state)


_FIXED = {
    "r_precision": r_precision_scorer,
    "map@r": map_at_r_scorer,
    "map_at_r": map_at_r_scorer,
    "map": mean_average_precision_scorer,
    "mean_average_precision": mean_average_precision_scorer,
    "mrr": mrr_scorer,
    "nmi": nmi_scorer,
    "ami": ami_scorer,
    "pair_roc_auc": lambda: EmbeddingScorer(pair_roc_auc),
    "neg_equal_error_rate": lambda: EmbeddingScorer(equal_error_rate, sign=-1),
    "neg_opis": lambda: EmbeddingScorer(opis, sign=-1),
    "neg_alignment": lambda: EmbeddingScorer(alignment, sign=-1),
    "neg_uniformity": lambda: EmbeddingScorer(uniformity, sign=-1, needs_labels=False),
}
_AT_K = {"recall": recall_at_k_scorer, "r": recall_at_k_scorer,
         "precision": precision_at_k_scorer, "p": precision_at_k_scorer}


def get_scorer_names():
    """Names accepted by :func:`get_scorer` (``@K`` forms take any integer K).

    Returns
    -------
    names : list of str
    """
    return sorted(["recall@K", "r@K", "precision@K", "p@K", *_FIXED])


def get_scorer(name):
    """Look up an embedding scorer by name.

    Parameters
    ----------
    name : str
        ``"recall@K"`` (hit@K; also ``"r@K"``), ``"precision@K"`` (``"p@K"``),
        ``"r_precision"``, ``"map@r"``, ``"map"`` (mean average precision),
        ``"mrr"``, ``"nmi"``, ``"ami"``, ``"pair_roc_auc"``,
        ``"neg_equal_error_rate"``, ``"neg_opis"``, ``"neg_alignment"``,
        ``"neg_uniformity"``.  Case-insensitive.

    Returns
    -------
    scorer : EmbeddingScorer

    Examples
    --------
    >>> from skmetric.metrics import get_scorer
    >>> get_scorer("recall@4")
    make_embedding_scorer(recall_at_k, k=4, metric='euclidean')
    >>> get_scorer("map@r")
    make_embedding_scorer(map_at_r, metric='euclidean')
    """
    if not isinstance(name, str):
        raise ValueError(f"Scorer name must be a string; got {name!r}.")
    key = name.strip().lower()
    if key in _FIXED:
        return _FIXED[key]()
    match = re.fullmatch(r"(recall|precision|r|p)@(\d+)", key)
    if match and int(match.group(2)) >= 1:
        return _AT_K[match.group(1)](int(match.group(2)))
    raise ValueError(
        f"Unknown scorer {name!r}. Valid names: {', '.join(get_scorer_names())}."
    )

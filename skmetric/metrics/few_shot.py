"""N-way K-shot episodic evaluation of an embedding on unseen classes."""

import numpy as np

from ..utils._validation import check_consistent_length, check_random_state

__all__ = ["few_shot_accuracy", "few_shot_episodes"]


def few_shot_episodes(y, n_way, n_shot, n_query, n_episodes, random_state=None):
    """Draw the episodes of the standard few-shot protocol.

    Each episode picks ``n_way`` distinct classes of ``y`` at random, then
    ``n_shot + n_query`` distinct samples of each: the first ``n_shot`` are
    the support, the others the queries.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
    n_way, n_shot, n_query, n_episodes : int
    random_state : int, RandomState instance or None, default=None

    Yields
    ------
    support, query : ndarrays of int of shape (n_way * n_shot,) and (n_way * n_query,)
        Indices into ``y``, class by class.

    Raises
    ------
    ValueError
        If ``y`` has fewer than ``n_way`` classes, or a class has fewer than
        ``n_shot + n_query`` samples.
    """
    y = np.asarray(y)
    for name, value, low in (
        ("n_way", n_way, 2), ("n_shot", n_shot, 1), ("n_query", n_query, 1),
        ("n_episodes", n_episodes, 1),
    ):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ValueError(f"`{name}` must be an integer >= {low}; got {value!r}.")
    classes, y_enc, counts = np.unique(y, return_inverse=True, return_counts=True)
    if n_way > classes.size:
        raise ValueError(
            f"`n_way`={n_way} is larger than the number of classes in y ({classes.size})."
        )
    need = n_shot + n_query
    worst = int(np.argmin(counts))
    if counts[worst] < need:
        raise ValueError(
            f"`n_shot` + `n_query` = {n_shot} + {n_query} = {need} is larger than the "
            f"smallest class: class {classes[worst].item()!r} has {counts[worst]} samples."
        )
    rng = check_random_state(random_state)
    members = [np.flatnonzero(y_enc == c) for c in range(classes.size)]
    for _ in range(n_episodes):
        chosen = rng.choice(classes.size, n_way, replace=False)
        picks = np.stack([rng.choice(members[c], need, replace=False) for c in chosen])
        yield picks[:, :n_shot].ravel(), picks[:, n_shot:].ravel()


def few_shot_accuracy(
    estimator,
    X,
    y,
    n_way=5,
    n_shot=1,
    n_query=15,
    n_episodes=600,
    random_state=None,
    *,
    metric="sqeuclidean",
):
    """N-way K-shot nearest-prototype accuracy on classes never seen in training.

    The standard few-shot protocol (Snell et al., 2017; Vinyals et al.,
    2016): ``X`` is embedded once with ``estimator.transform``; each episode
    (see :func:`few_shot_episodes`) takes the mean support embedding of each
    of its ``n_way`` classes as the prototype and classifies its queries by
    the nearest prototype.  The score is the mean accuracy over episodes with
    the half-width of its 95% confidence interval,
    ``1.96 * std / sqrt(n_episodes)``.

    Parameters
    ----------
    estimator : fitted object with ``transform``, or None
        The embedding (a fitted :class:`~skmetric.MetricLearner`,
        :class:`~skmetric.ProtoClassifier`, a Pipeline...).  ``None`` uses the
        raw features (nearest class mean, as
        :class:`~sklearn.neighbors.NearestCentroid`).
    X : array-like of shape (n_samples, n_features)
        Samples of the evaluation classes (usually classes held out from
        training).
    y : array-like of shape (n_samples,)
    n_way : int, default=5
    n_shot : int, default=1
    n_query : int, default=15
        Query samples per class and episode.
    n_episodes : int, default=600
    random_state : int, RandomState instance or None, default=None
        Seeds the episodes: the same seed gives the same episodes for every
        estimator, so scores are paired.
    metric : {"sqeuclidean", "cosine"}, default="sqeuclidean"
        Distance to the prototypes (squared Euclidean and Euclidean rank
        alike).

    Returns
    -------
    mean : float
        Mean accuracy over the episodes.
    ci95 : float
        Half-width of the 95% confidence interval of the mean.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skmetric.metrics.few_shot import few_shot_accuracy
    >>> X, y = load_digits(return_X_y=True)
    >>> mean, ci = few_shot_accuracy(None, X, y, n_way=5, n_shot=5,
    ...                              n_episodes=100, random_state=0)
    >>> bool(mean > 0.8)
    True
    """
    if metric not in ("sqeuclidean", "cosine"):
        raise ValueError(f"`metric` must be 'sqeuclidean' or 'cosine'; got {metric!r}.")
    y = np.asarray(y)
    emb = np.asarray(X if estimator is None else estimator.transform(X), dtype=np.float64)
    check_consistent_length(emb, y)
    if metric == "cosine":
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        emb = emb / np.where(norms > 0, norms, 1.0)
    labels = np.repeat(np.arange(n_way), n_query)
    scores = []
    for support, query in few_shot_episodes(y, n_way, n_shot, n_query, n_episodes, random_state):
        protos = emb[support].reshape(n_way, n_shot, -1).mean(axis=1)
        if metric == "cosine":
            logits = emb[query] @ protos.T / np.maximum(np.linalg.norm(protos, axis=1), 1e-300)
        else:
            # -||q - c||^2 up to the per-row constant ||q||^2 (argmax unchanged)
            logits = 2.0 * emb[query] @ protos.T - (protos * protos).sum(axis=1)
        scores.append(np.mean(np.argmax(logits, axis=1) == labels))
    scores = np.asarray(scores)
    ci = 1.96 * scores.std(ddof=1) / np.sqrt(scores.size) if scores.size > 1 else float("nan")
    return float(scores.mean()), float(ci)

"""Clustering quality of an embedding: NMI and AMI after k-means."""

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_mutual_info_score, normalized_mutual_info_score

from ..neighbors import _check_embedding
from ._retrieval import _check_labels

__all__ = ["nmi", "ami", "kmeans_labels"]


def kmeans_labels(X, labels, *, n_clusters=None, random_state=0, n_init=1):
    """Cluster ``X`` with sklearn's ``KMeans`` into as many clusters as labels.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Embeddings.
    labels : array-like of shape (n_samples,)
        True labels; their number of distinct values sets ``n_clusters``.
    n_clusters : int, default=None
        Overrides the number of clusters.
    random_state : int, RandomState instance or None, default=0
        Seeds k-means, so the score is reproducible.
    n_init : int, default=1
        k-means restarts.

    Returns
    -------
    predicted : ndarray of shape (n_samples,)
        Cluster index of each sample.
    """
    X = _check_embedding(X, "X", min_samples=2)
    labels = _check_labels(labels, "labels", X.shape[0], "X")
    if n_clusters is None:
        n_clusters = len(np.unique(labels))
    n_clusters = min(int(n_clusters), X.shape[0])
    km = KMeans(n_clusters=n_clusters, random_state=random_state, n_init=n_init)
    return km.fit_predict(X), labels


def nmi(X, labels, *, random_state=0, n_init=1):
    """Normalized mutual information between the labels and a k-means clustering of ``X``.

    k-means (sklearn, ``n_clusters`` = number of distinct labels, seeded by
    ``random_state``) clusters the embedding; the score is
    :func:`sklearn.metrics.normalized_mutual_info_score` (arithmetic mean).
    Lone labels count.  1 is perfect, about 0 is chance.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Embeddings.
    labels : array-like of shape (n_samples,)
        True labels (strings allowed).
    random_state : int, RandomState instance or None, default=0
        Seed of k-means.
    n_init : int, default=1
        k-means restarts.

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from skmetric.metrics import nmi
    >>> X = np.array([[0.0], [0.1], [5.0], [5.1]])
    >>> nmi(X, ["a", "a", "b", "b"])
    1.0
    """
    pred, labels = kmeans_labels(X, labels, random_state=random_state, n_init=n_init)
    return float(normalized_mutual_info_score(labels, pred))


def ami(X, labels, *, random_state=0, n_init=1):
    """Adjusted mutual information between the labels and a k-means clustering of ``X``.

    As :func:`nmi` but corrected for chance
    (:func:`sklearn.metrics.adjusted_mutual_info_score`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Embeddings.
    labels : array-like of shape (n_samples,)
        True labels.
    random_state : int, RandomState instance or None, default=0
        Seed of k-means.
    n_init : int, default=1
        k-means restarts.

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from skmetric.metrics import ami
    >>> X = np.array([[0.0], [0.1], [5.0], [5.1], [9.0], [9.2]])
    >>> ami(X, [0, 0, 1, 1, 2, 2])
    1.0
    """
    pred, labels = kmeans_labels(X, labels, random_state=random_state, n_init=n_init)
    return float(adjusted_mutual_info_score(labels, pred))

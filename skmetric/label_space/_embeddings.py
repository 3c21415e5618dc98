"""Distances between label embeddings (Loki's self-derived metric)."""

import numpy as np

from ._base import LabelMetric, _labels_for_rows


class EmbeddingMetric(LabelMetric):
    """Distances between label embeddings (Loki's self-derived metric).

    Parameters
    ----------
    embeddings : array-like of shape (n_labels, n_dims)
        One vector per label (e.g. class means, or text embeddings of the
        class names).
    labels : array-like of shape (n_labels,), default=None
        Names of the rows; ``None`` means ``0, ..., n_labels - 1``.
    metric : {"euclidean", "cosine"}, default="euclidean"
        ``"euclidean"``: ``d = ||e_a - e_b||``; ``"cosine"``:
        ``d = 1 - cos(e_a, e_b)``.

    Notes
    -----
    With the Euclidean metric, ``sum_i p_i ||e_y - e_i||^2 = ||e_y - e_bar||^2
    + const`` with ``e_bar = sum_i p_i e_i``, so prediction costs
    O(n K n_dims) and nothing of size (m, K) is stored.

    Examples
    --------
    >>> from skmetric.label_space import EmbeddingMetric
    >>> EmbeddingMetric([[0, 0], [3, 4]]).distances_from([0])
    array([[0., 5.]])
    """

    def __init__(self, embeddings, labels=None, metric="euclidean"):
        E = np.asarray(embeddings, dtype=np.float64)
        if E.ndim != 2:
            raise ValueError(
                f"Label embeddings must be 2-D (n_labels, n_dims), got shape {E.shape}."
            )
        if not np.isfinite(E).all():
            raise ValueError("The label embeddings contain NaN or infinity.")
        if metric not in ("euclidean", "cosine"):
            raise ValueError(
                f"`embedding_metric` must be 'euclidean' or 'cosine', got {metric!r}."
            )
        if metric == "cosine":
            norms = np.linalg.norm(E, axis=1)
            if (norms == 0).any():
                raise ValueError(
                    "Cosine distance is undefined for a zero label embedding "
                    f"(row {int(np.flatnonzero(norms == 0)[0])})."
                )
            E = E / norms[:, None]
        self.E = E
        self.metric = metric
        self.labels = _labels_for_rows(
            labels, E.shape[0], f"there are {E.shape[0]} label embeddings"
        )
        self._sqn = np.einsum("ij,ij->i", E, E)

    def _sq(self, sources):
        sources = np.asarray(sources, dtype=np.intp)
        Es = self.E[sources]
        if self.metric == "euclidean":
            D2 = self._sqn[sources][:, None] + self._sqn[None, :] - 2.0 * Es @ self.E.T
            np.maximum(D2, 0.0, out=D2)
            D2[np.arange(sources.size), sources] = 0.0
            return D2
        D = 1.0 - Es @ self.E.T
        np.maximum(D, 0.0, out=D)
        D[np.arange(sources.size), sources] = 0.0
        return D

    def distances_from(self, sources):
        D = self._sq(sources)
        return np.sqrt(D) if self.metric == "euclidean" else D

    def squared_distances_from(self, sources, dtype=np.float64):
        D = self._sq(sources)
        if self.metric == "cosine":
            D = np.square(D)
        return D.astype(dtype, copy=False)

    def _frechet_scorer(self, sources, dtype):
        if self.metric == "euclidean":
            return _EuclideanFrechet(self.E, self._sqn, np.asarray(sources), dtype)
        return super()._frechet_scorer(sources, dtype)


class _EuclideanFrechet:
    """sum_i p_i ||e_y - e_i||^2 = ||e_y||^2 - 2 e_y . e_bar + sum_i p_i ||e_i||^2."""

    def __init__(self, E, sqn, sources, dtype):
        self.E = E.astype(dtype, copy=False)
        self.sqn = sqn.astype(dtype, copy=False)
        self.Eo = self.E[sources]
        self.sqn_o = self.sqn[sources]

    def scores(self, P, start, stop):
        P = P.astype(self.E.dtype, copy=False)
        ebar = P @ self.Eo
        S = ebar @ self.E[start:stop].T
        S *= -2.0
        S += self.sqn[start:stop][None, :]
        S += (P @ self.sqn_o)[:, None]
        return S

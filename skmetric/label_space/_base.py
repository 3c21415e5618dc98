"""The base class of label metrics and the helpers every metric shares."""

import numpy as np
import scipy.sparse as sp

# Rows of sources processed at once when an (m, K) block is built.
_SOURCE_BLOCK = 256


def _as_labels(labels, name="labels"):
    """Return ``labels`` as a 1-D array of unique labels."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D, got an array of shape {labels.shape}.")
    if labels.size == 0:
        raise ValueError(f"`{name}` is empty: the label space needs at least one label.")
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        raise ValueError(f"`{name}` contains NaN or infinity.")
    uniq, counts = np.unique(labels, return_counts=True)
    if uniq.size != labels.size:
        dup = uniq[counts > 1][:5].tolist()
        raise ValueError(f"`{name}` must be unique; repeated labels: {dup}.")
    return labels


def _labels_for_rows(labels, n_rows, rows):
    """``labels`` (default ``0, ..., n_rows - 1``) checked to name ``n_rows`` rows.

    ``rows`` ends the error message, e.g. ``"the label graph has 5 nodes"``.
    """
    labels = _as_labels(np.arange(n_rows) if labels is None else labels)
    if labels.size != n_rows:
        raise ValueError(f"`labels` has {labels.size} entries but {rows}.")
    return labels


def _some(reprs, limit=10):
    """``"'a', 'b' (and 3 more)"``: the first ``limit`` of a list of reprs."""
    more = f" (and {len(reprs) - limit} more)" if len(reprs) > limit else ""
    return f"{', '.join(reprs[:limit])}{more}"


def _label_index(labels):
    return {lab: i for i, lab in enumerate(labels.tolist())}


def _check_finite_matrix(M, what):
    if sp.issparse(M):
        data = M.data
    else:
        data = M
    if not np.isfinite(data).all():
        raise ValueError(f"{what} contains NaN or infinity.")
    if data.size and data.min() < 0:
        raise ValueError(f"{what} contains negative distances (minimum {data.min():.6g}).")


class LabelMetric:
    """Base class: a finite label space with a metric.

    Subclasses set ``labels`` (1-D array of the K labels, in the order used
    by every array returned) and implement :meth:`distances_from`.

    Attributes
    ----------
    labels : ndarray of shape (n_labels,)
        The label space.
    """

    labels = None

    @property
    def n_labels(self):
        """Number of labels K in the label space."""
        return len(self.labels)

    def index(self, values, *, name="labels"):
        """Positions of ``values`` in :attr:`labels`.

        Raises a ``ValueError`` listing the values that are not labels.
        """
        if getattr(self, "_index", None) is None:
            self._index = _label_index(self.labels)
        values = np.asarray(values)
        out = np.empty(values.shape[0] if values.ndim else 0, dtype=np.intp)
        missing = []
        for k, v in enumerate(values.tolist()):
            i = self._index.get(v)
            if i is None:
                missing.append(v)
            else:
                out[k] = i
        if missing:
            raise ValueError(
                f"{name} not in the label space of the label metric: "
                f"{_some(sorted(set(map(repr, missing))))}. The label metric has "
                f"{self.n_labels} labels; pass `labels=` to name them."
            )
        return out

    def distances_from(self, sources):
        """Distances from the labels at positions ``sources`` to every label.

        Parameters
        ----------
        sources : array-like of int of shape (n_sources,)
            Positions in :attr:`labels`.

        Returns
        -------
        D : ndarray of shape (n_sources, n_labels)
            Distances, not squared.
        """
        raise NotImplementedError

    def squared_distances_from(self, sources, dtype=np.float64):
        """Squared distances from ``sources`` to every label (squared once).

        Returns
        -------
        D2 : ndarray of shape (n_sources, n_labels)
        """
        sources = np.asarray(sources, dtype=np.intp)
        out = np.empty((sources.size, self.n_labels), dtype=dtype)
        for s in range(0, sources.size, _SOURCE_BLOCK):
            block = self.distances_from(sources[s : s + _SOURCE_BLOCK])
            np.square(block, out=out[s : s + _SOURCE_BLOCK], casting="unsafe")
        return out

    def pair_squared_distances(self, a, b):
        """``d(labels[a[i]], labels[b[i]])**2`` for each i."""
        a = np.asarray(a, dtype=np.intp)
        b = np.asarray(b, dtype=np.intp)
        out = np.empty(a.size, dtype=np.float64)
        uniq, inv = np.unique(a, return_inverse=True)
        for s in range(0, uniq.size, _SOURCE_BLOCK):
            D2 = self.squared_distances_from(uniq[s : s + _SOURCE_BLOCK])
            sel = (inv >= s) & (inv < s + _SOURCE_BLOCK)
            out[sel] = D2[inv[sel] - s, b[sel]]
        return out

    def _frechet_scorer(self, sources, dtype):
        return _DenseFrechet(self.squared_distances_from(sources, dtype=dtype))

    def __repr__(self):
        return f"{type(self).__name__}(n_labels={self.n_labels})"


class _DenseFrechet:
    """Fréchet variances from a stored (m, K) block of squared distances."""

    def __init__(self, D2):
        self.D2 = D2

    def scores(self, P, start, stop):
        return P.astype(self.D2.dtype, copy=False) @ self.D2[:, start:stop]

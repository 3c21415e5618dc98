"""A label metric given as a square matrix of distances."""

import numpy as np

from ._base import LabelMetric, _check_finite_matrix, _labels_for_rows


class DistanceMatrix(LabelMetric):
    """A label metric given as a square matrix of distances.

    Parameters
    ----------
    D : array-like of shape (n_labels, n_labels)
        Distances (not squared): finite, non-negative, symmetric (to within
        ``1e-8`` relative), zero on the diagonal.
    labels : array-like of shape (n_labels,), default=None
        Names of the rows of ``D``; ``None`` means ``0, ..., n_labels - 1``.

    Examples
    --------
    >>> from skmetric.label_space import DistanceMatrix
    >>> m = DistanceMatrix([[0, 1, 2], [1, 0, 1], [2, 1, 0]], labels=["a", "b", "c"])
    >>> m.squared_distances_from([0])
    array([[0., 1., 4.]])
    """

    def __init__(self, D, labels=None):
        D = np.asarray(D, dtype=np.float64)
        if D.ndim != 2 or D.shape[0] != D.shape[1]:
            raise ValueError(
                f"The label distance matrix must be square, got shape {D.shape}."
            )
        _check_finite_matrix(D, "The label distance matrix")
        diag = np.abs(np.diagonal(D)).max()
        if diag > 0:
            raise ValueError(
                f"The label distance matrix must have a zero diagonal (largest "
                f"diagonal entry {diag:.6g})."
            )
        asym = np.abs(D - D.T).max() if D.size else 0.0
        if asym > 1e-8 * max(1.0, np.abs(D).max()):
            i, j = np.unravel_index(np.argmax(np.abs(D - D.T)), D.shape)
            raise ValueError(
                f"The label distance matrix must be symmetric: D[{i}, {j}]={D[i, j]:.6g} "
                f"but D[{j}, {i}]={D[j, i]:.6g}."
            )
        self.D = D
        self.labels = _labels_for_rows(
            labels, D.shape[0], f"the label distance matrix has {D.shape[0]} rows"
        )

    def distances_from(self, sources):
        return self.D[np.asarray(sources, dtype=np.intp)]

"""A label metric given by a function of two arrays of labels."""

import numpy as np

from ._base import LabelMetric, _as_labels, _check_finite_matrix


class CallableMetric(LabelMetric):
    """A label metric given by a function of two arrays of labels.

    Parameters
    ----------
    func : callable
        ``func(a, b)`` takes two 1-D arrays of labels and returns the
        ``(len(a), len(b))`` array of distances (not squared) between them.
    labels : array-like of shape (n_labels,)
        The label space.

    Examples
    --------
    >>> import numpy as np
    >>> from skmetric.label_space import CallableMetric
    >>> m = CallableMetric(lambda a, b: np.abs(a[:, None] - b[None, :]), labels=[0, 1, 5])
    >>> m.distances_from([0])
    array([[0., 1., 5.]])
    """

    def __init__(self, func, labels):
        if not callable(func):
            raise ValueError("`func` must be callable.")
        self.func = func
        self.labels = _as_labels(labels)

    def distances_from(self, sources):
        sources = np.asarray(sources, dtype=np.intp)
        D = np.asarray(self.func(self.labels[sources], self.labels), dtype=np.float64)
        if D.shape != (sources.size, self.n_labels):
            raise ValueError(
                f"The label metric callable returned shape {D.shape}, expected "
                f"{(sources.size, self.n_labels)} (one row per label of its first "
                "argument, one column per label of its second)."
            )
        _check_finite_matrix(D, "The label metric callable's output")
        return D

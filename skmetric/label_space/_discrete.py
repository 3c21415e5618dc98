"""The discrete metric (Loki reduces to argmax)."""

import numpy as np

from ._base import LabelMetric, _as_labels


class DiscreteMetric(LabelMetric):
    """The discrete metric: ``d(a, b) = 1`` if ``a != b`` else ``0``.

    With it, the Fréchet mean is the argmax of the probabilities (ties to the
    first class), and unobserved labels are never predicted.

    Parameters
    ----------
    labels : array-like of shape (n_labels,)
        The label space.

    Examples
    --------
    >>> from skmetric.label_space import DiscreteMetric
    >>> DiscreteMetric(["a", "b", "c"]).distances_from([1])
    array([[1., 0., 1.]])
    """

    def __init__(self, labels):
        self.labels = _as_labels(labels)

    def distances_from(self, sources):
        sources = np.asarray(sources, dtype=np.intp)
        D = np.ones((sources.size, self.n_labels))
        D[np.arange(sources.size), sources] = 0.0
        return D

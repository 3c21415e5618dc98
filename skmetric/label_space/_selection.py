"""Greedy choice of the classes to observe next so that the locus grows."""

import numpy as np

from ._factory import make_label_metric
from ._locus import _locus_mask


def select_next_classes(
    label_metric,
    observed,
    n_classes=1,
    *,
    candidates=None,
    labels=None,
    metric_kind="auto",
    embedding_metric="euclidean",
    strict=False,
):
    """Greedily choose classes to observe next so the locus covers the labels.

    At each step, the candidate whose addition to the observed classes gives
    the largest :func:`locus` is chosen (ties to the first candidate in label
    order).  This is a greedy version of Loki's active next-class selection:
    labels are worth training on when they make many other labels
    predictable.

    Parameters
    ----------
    label_metric : LabelMetric or any form accepted by :func:`make_label_metric`
        The label metric.
    observed : array-like of shape (m,)
        Classes observed already (may be empty).
    n_classes : int, default=1
        Number of classes to select.
    candidates : array-like, default=None
        Labels that may be selected; ``None`` means every unobserved label.
    labels, metric_kind, embedding_metric, strict
        As in :func:`locus`.

    Returns
    -------
    selected : ndarray of shape (n_classes,)
        The selected labels, in selection order.
    locus_sizes : ndarray of shape (n_classes,)
        Size of the locus after each selection.

    Examples
    --------
    On a path a - b - c - d - e, observing the two ends makes every label
    predictable.

    >>> from skmetric.label_space import select_next_classes
    >>> path = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")]
    >>> sel, sizes = select_next_classes(path, ["a"], n_classes=1)
    >>> sel.tolist(), sizes.tolist()
    (['e'], [5])
    """
    lm = make_label_metric(
        label_metric, labels, metric_kind=metric_kind, embedding_metric=embedding_metric
    )
    obs = list(lm.index(np.asarray(observed).ravel(), name="Observed classes"))
    if candidates is None:
        cand = [i for i in range(lm.n_labels) if i not in set(obs)]
    else:
        cand = list(lm.index(np.asarray(candidates).ravel(), name="Candidates"))
    if n_classes > len(cand):
        raise ValueError(
            f"`n_classes`={n_classes} exceeds the {len(cand)} candidate classes."
        )
    rng = np.random.default_rng(0)
    selected, sizes = [], []
    for _ in range(n_classes):
        best, best_size = None, -1
        for c in cand:
            D2 = lm.squared_distances_from(np.array(obs + [c]))
            size = int(_locus_mask(D2, strict=strict, tol=1e-9, n_samples=64, rng=rng).sum())
            if size > best_size:
                best, best_size = c, size
        obs.append(best)
        cand.remove(best)
        selected.append(best)
        sizes.append(best_size)
    return lm.labels[np.array(selected, dtype=np.intp)], np.array(sizes)

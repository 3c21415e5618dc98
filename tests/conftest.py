import os

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


if os.environ.get("PYTEST_XDIST_WORKER"):
    # one torch thread per xdist worker: n workers x n threads on n cores
    # oversubscribes the CPU and makes every fit many times slower
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture
def blobs():
    rng = np.random.RandomState(0)
    centers = rng.normal(scale=4.0, size=(4, 6))
    y = np.repeat(np.arange(4), 15)
    X = centers[y] + rng.normal(size=(60, 6))
    return X, y


@pytest.fixture(scope="session")
def taxonomy():
    """A small label tree ``{child: parent}``: root -> animal/vehicle -> leaves."""
    return {
        "animal": "root",
        "vehicle": "root",
        "cat": "animal",
        "dog": "animal",
        "fox": "animal",
        "car": "vehicle",
        "bus": "vehicle",
    }


# examples run per entry point by tests/test_fuzz.py, printed at the end
FUZZ_COUNTS_KEY = pytest.StashKey[dict]()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    counts = config.stash.get(FUZZ_COUNTS_KEY, None)
    if not counts:
        return
    terminalreporter.section("fuzzing: examples per entry point (run / returned)")
    names = sorted({name for name, _ in counts})
    for name in names:
        terminalreporter.write_line(
            f"{counts[name, 'run']:6d} {counts[name, 'returned']:6d}  {name}")
    total = sum(counts[name, "run"] for name in names)
    terminalreporter.write_line(f"{total:6d}         in all")

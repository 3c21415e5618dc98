"""Threads: fits in threads are bit-identical to sequential fits; concurrent
inference on one fitted estimator gives the sequential results."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from joblib import parallel_backend
from sklearn.model_selection import GridSearchCV

from skmetric import MetricLearner

from _fitted import CASES, X, Y, fitted, outputs

pytestmark = pytest.mark.filterwarnings(
    "ignore::skmetric.StartingModelKeptWarning", "ignore::skmetric.CollapsedEmbeddingWarning"
)

SEEDS = (0, 1, 2)


def _as_bytes(out):
    return {m: (a.dtype, a.shape, a.tobytes()) for m, a in out.items()}


def _in_threads(fn, args):
    """``[fn(a) for a in args]``, each in its own thread, all started together."""
    start = threading.Barrier(len(args))

    def run(a):
        start.wait()
        return fn(a)

    with ThreadPoolExecutor(len(args)) as pool:
        return list(pool.map(run, args))


@pytest.mark.parametrize("name", list(CASES))
def test_fits_in_threads_equal_sequential_fits(name):
    # dropout=0.5 where there is dropout: masks come from torch's global RNG
    params = {"dropout": 0.5} if name in ("MetricLearner", "AnyLossClassifier") else {}

    def fit_and_predict(seed):
        return _as_bytes(outputs(fitted(name, random_state=seed, **params), name))

    sequential = [fit_and_predict(s) for s in SEEDS]
    assert sequential[0] != sequential[1]  # the seed matters, so a mix-up shows
    assert _in_threads(fit_and_predict, SEEDS) == sequential


def test_grid_search_with_threads_equals_sequential_search():
    est = MetricLearner(hidden_sizes=(16,), dropout=0.3, max_epochs=2, batch_size=16,
                        random_state=0)
    grid = {"lr": [1e-3, 1e-2], "n_components": [2, 3]}
    one = GridSearchCV(est, grid, cv=2, n_jobs=1).fit(X, Y)
    with parallel_backend("threading"):
        two = GridSearchCV(est, grid, cv=2, n_jobs=2).fit(X, Y)
    for key in ("split0_test_score", "split1_test_score"):
        assert np.array_equal(one.cv_results_[key], two.cv_results_[key]), key
    assert one.best_params_ == two.best_params_
    assert one.transform(X).tobytes() == two.transform(X).tobytes()


@pytest.mark.parametrize("name", list(CASES))
def test_concurrent_inference_on_one_estimator(name):
    est = fitted(name)
    want = _as_bytes(outputs(est, name))
    got = _in_threads(lambda _: [_as_bytes(outputs(est, name)) for _ in range(3)], range(4))
    assert all(out == want for outs in got for out in outs)


def test_seeded_sections_nest_in_one_thread():
    import torch

    from skmetric._training import seeded

    with seeded(1):
        with seeded(2):  # re-entrant: no deadlock
            a = torch.rand(3)
        b = torch.rand(3)
    torch.manual_seed(2)
    assert torch.equal(a, torch.rand(3))
    torch.manual_seed(1)
    assert torch.equal(b, torch.rand(3))

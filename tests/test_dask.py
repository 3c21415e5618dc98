"""GridSearchCV(MetricLearner) under joblib's Dask backend gives the sequential result."""

import numpy as np
import pytest

distributed = pytest.importorskip("dask.distributed")

import joblib  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402

from skmetric import MetricLearner  # noqa: E402
from skmetric.metrics import get_scorer  # noqa: E402


@pytest.fixture
def client():
    # Two single-threaded worker processes on localhost.  Not threads: joblib
    # runs sequentially in the caller when the cluster has one thread, and
    # torch fits in threads of one process share torch's global RNG.
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _search():
    return GridSearchCV(
        MetricLearner(hidden_sizes=(16,), max_epochs=2, batch_size=64, random_state=0),
        {"loss": ["multi_similarity", "normalized_softmax"]},
        scoring=get_scorer("recall@1"),
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
        n_jobs=2,
    )


def test_grid_search_on_dask_matches_local(client, digits_split):
    X, _, y, _ = digits_split
    X, y = X[:300], y[:300]
    local = _search().fit(X, y)
    with distributed.get_task_stream(client) as tasks:
        with joblib.parallel_backend("dask"):
            remote = _search().fit(X, y)
    assert len(tasks.data) >= 4  # 2 candidates x 2 folds ran on the cluster
    np.testing.assert_allclose(remote.cv_results_["mean_test_score"],
                               local.cv_results_["mean_test_score"])
    assert remote.best_params_ == local.best_params_
    assert 0.5 < remote.best_score_ <= 1.0
    # the refitted best estimator is usable
    assert remote.best_estimator_.transform(X[:5]).shape[0] == 5

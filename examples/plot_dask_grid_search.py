"""
Grid search on a Dask cluster
=============================

``GridSearchCV`` runs its fits through joblib; under
``joblib.parallel_backend("dask")`` they go to the workers of a Dask
cluster instead of local processes.  Nothing in skmetric changes: each fit is
an ordinary ``MetricLearner`` fit on one worker, scored on the embedding with
``skmetric.metrics.get_scorer("recall@1")``.

Here the cluster is a ``LocalCluster`` of two single-threaded worker
processes on this machine.  For a real cluster, replace it by
``Client("tcp://scheduler-host:8786")`` (a scheduler started with ``dask
scheduler``, workers with ``dask worker tcp://scheduler-host:8786 --nthreads
1``) or by a cluster manager such as ``dask_jobqueue.SLURMCluster``; every
worker needs the same Python environment (torch, skmetric).

Needs the ``dask`` extra: ``pip install "skmetric[dask]"``.
Run: ``python examples/plot_dask_grid_search.py`` (about half a minute).
"""

import joblib
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from dask.distributed import Client, LocalCluster  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402

from skmetric import MetricLearner  # noqa: E402
from skmetric.metrics import get_scorer  # noqa: E402

X, y = load_digits(return_X_y=True)

param_grid = {
    "loss": ["multi_similarity", "normalized_softmax"],
    "n_components": [8, 32],
}
search = GridSearchCV(
    MetricLearner(hidden_sizes=(128,), max_epochs=10, random_state=0),
    param_grid,
    scoring=get_scorer("recall@1"),
    cv=StratifiedKFold(3, shuffle=True, random_state=0),
    n_jobs=-1,
)

# %%
# Run the search on the cluster, then plot the cross-validated Recall@1 of each
# candidate.  The ``__main__`` guard matters: Dask's worker processes re-import
# the script.
if __name__ == "__main__":  # worker processes re-import this script
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    print(f"{len(client.scheduler_info()['workers'])} workers")
    with joblib.parallel_backend("dask"):
        search.fit(X, y)
    client.close()
    cluster.close()

    print(f"best: {search.best_params_}, Recall@1 = {search.best_score_:.3f}")
    results = search.cv_results_
    for params, mean, std in zip(results["params"], results["mean_test_score"],
                                 results["std_test_score"]):
        print(f"  {params}: {mean:.3f} +- {std:.3f}")

    # Cross-validated Recall@1 of each candidate
    labels = [f"{p['loss']}\nn_components={p['n_components']}" for p in results["params"]]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    pos = np.arange(len(labels))
    ax.bar(pos, results["mean_test_score"], yerr=results["std_test_score"], capsize=4,
           color=["tab:green" if r == 1 else "tab:grey" for r in results["rank_test_score"]])
    ax.set_xticks(pos, labels, fontsize=8)
    ax.set_ylim(0.9, 1.0)
    ax.set_ylabel("Recall@1 (3-fold CV)")
    ax.set_title("GridSearchCV(MetricLearner) on a Dask LocalCluster (best in green)")
    fig.tight_layout()
    plt.show()

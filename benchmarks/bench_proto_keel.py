"""ProtoClassifier vs raw NearestCentroid on a KEEL set's unseen classes (issue 18, goal 2).

Protocol: the first half of the classes (sorted labels) is seen in training,
the other half is never seen; features are standardised on the seen
classes' rows; 5-way 1-shot and 5-shot episodes (15 queries per class, 300
episodes, the same episodes for every row) among the unseen classes.
``NearestCentroid (raw)`` is ``few_shot_accuracy(None, ...)`` on the
standardised features.  Each ProtoClassifier row prints its kept epoch and
its held-out-classes validation scores (epoch 0 and kept epoch).

Run: ``python benchmarks/bench_proto_keel.py [name] [extra ProtoClassifier
params as Python dict literals]``, e.g.
``python benchmarks/bench_proto_keel.py penbased "dict(n_shot=1)"``
(default: penbased, the default and ``validation_split="samples"`` rows;
several minutes per fit on a loaded 2-core CPU).
"""

import sys
import time
import warnings

import numpy as np
import torch

from skmetric import ProtoClassifier
from skmetric.metrics.few_shot import few_shot_accuracy
from _keel import load_keel

N_EPISODES = 300
N_QUERY = 15
SEED = 0


def main():
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", UserWarning)
    name = sys.argv[1] if len(sys.argv) > 1 else "penbased"
    settings = [eval(a, {"dict": dict}) for a in sys.argv[2:]]  # noqa: S307 (a CLI)
    settings = settings or [{}, dict(validation_split="samples")]
    X, y = load_keel(name)
    classes = np.unique(y)
    seen = np.isin(y, classes[: classes.size // 2])
    mean, scale = X[seen].mean(axis=0), X[seen].std(axis=0) + 1e-12
    X = (X - mean) / scale
    print(f"{name}: {X.shape[0]} rows, {X.shape[1]} features, {classes.size} classes; "
          f"train on {classes.size // 2}, 5-way episodes on the other "
          f"{classes.size - classes.size // 2} ({N_EPISODES} episodes, {N_QUERY} queries)\n")
    raw = [few_shot_accuracy(None, X[~seen], y[~seen], 5, k, N_QUERY, N_EPISODES, SEED)[0]
           for k in (1, 5)]
    print(f"{'method':<50} {'1-shot':>7} {'5-shot':>7} {'vs raw (pt)':>13}  notes")
    print(f"{'NearestCentroid (raw)':<50} {raw[0]:7.3f} {raw[1]:7.3f}")
    for params in settings:
        t0 = time.perf_counter()
        clf = ProtoClassifier(random_state=SEED, **params).fit(X[seen], y[seen])
        fit_s = time.perf_counter() - t0
        acc = [few_shot_accuracy(clf, X[~seen], y[~seen], 5, k, N_QUERY, N_EPISODES, SEED)[0]
               for k in (1, 5)]
        diff = " ".join(f"{100 * (a - r):+.1f}" for a, r in zip(acc, raw))
        print(f"{'ProtoClassifier ' + repr(params):<50} {acc[0]:7.3f} {acc[1]:7.3f} "
              f"{diff:>13}  best epoch {clf.best_epoch_}/{clf.n_epochs_}, valid "
              f"{clf.baseline_score_} -> {clf.best_score_}, fit {fit_s:.0f} s", flush=True)


if __name__ == "__main__":
    main()

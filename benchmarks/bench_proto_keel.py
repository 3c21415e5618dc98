"""ProtoClassifier vs raw NearestCentroid on unseen classes, several sets (issue 18, goal 2).

Protocol, per set: the first half of the classes (sorted labels) is seen in
training, the other half is never seen; features are standardised on the
seen classes' training rows.  N-way 1-shot and 5-shot episodes (15 queries
per class, the same episodes for every row) among the unseen classes: 5-way,
or 3-way for satimage (6 classes: 3 unseen).  ``NC raw`` is
``few_shot_accuracy(None, ...)`` on the standardised features.  Big sets are
subsampled (stratified, fixed seed): at most ``--train`` rows of seen classes
and ``--test`` rows of unseen classes.

Printed per set and setting: the split the fit used (``validation_split_``,
i.e. ``"auto"`` resolved), raw and ProtoClassifier accuracies, the
difference in points, the kept epoch (``best_epoch_/n_epochs_``) and the fit
time; then the mean difference over the sets per setting.

Run: ``python benchmarks/bench_proto_keel.py [--quick] [--sets a,b]
[settings as Python dict literals]``, e.g.
``python benchmarks/bench_proto_keel.py --sets penbased "dict(n_shot=1)"``.
Default setting: ``{}`` (the defaults: ``validation_split="auto"``).  ``--quick``: smaller subsamples and
fewer episodes.
"""

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits

from skmetric import ProtoClassifier
from skmetric.datasets import load_mnist1d
from skmetric.metrics.few_shot import few_shot_accuracy
from _keel import load_keel

N_QUERY = 15
SEED = 0
SETS = ("penbased", "letter", "marketing", "satimage", "digits", "mnist1d")


def load(name):
    if name == "digits":
        return load_digits(return_X_y=True)
    if name == "mnist1d":
        X_train, X_test, y_train, y_test = load_mnist1d(n_samples=5000)
        return np.vstack([X_train, X_test]).astype(np.float64), np.concatenate([y_train, y_test])
    return load_keel(name)


def subsample(idx, y, n, rng):
    """At most ``n`` of the rows ``idx``, stratified by ``y`` (sorted)."""
    if idx.size <= n:
        return idx
    keep = []
    for c in np.unique(y[idx]):
        rows = idx[y[idx] == c]
        k = max(1, int(round(n * rows.size / idx.size)))
        keep.append(rng.permutation(rows)[:k])
    return np.sort(np.concatenate(keep))


def prepare(name, n_train, n_test):
    X, y = load(name)
    classes = np.unique(y)
    seen_classes = classes[: classes.size // 2]
    rng = np.random.RandomState(SEED)
    seen = subsample(np.flatnonzero(np.isin(y, seen_classes)), y, n_train, rng)
    unseen = subsample(np.flatnonzero(~np.isin(y, seen_classes)), y, n_test, rng)
    mean, scale = X[seen].mean(axis=0), X[seen].std(axis=0)
    scale[scale == 0] = 1.0
    X = (X - mean) / scale
    n_way = min(5, classes.size - seen_classes.size)
    return X[seen], y[seen], X[unseen], y[unseen], n_way, classes.size


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--train", type=int, default=None)
    parser.add_argument("--test", type=int, default=None)
    parser.add_argument("--episodes", type=int, default=None)
    parser.add_argument("settings", nargs="*")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", UserWarning)
    n_train = args.train or (800 if args.quick else 2000)
    n_test = args.test or (800 if args.quick else 2000)
    n_episodes = args.episodes or (100 if args.quick else 300)
    settings = [eval(a, {"dict": dict}) for a in args.settings] or [{}]  # noqa: S307
    print(f"seen classes: first half; <= {n_train} training rows, <= {n_test} rows of "
          f"unseen classes; {n_episodes} episodes, {N_QUERY} queries per class\n")
    header = (f"{'set':<10} {'way':>3} {'setting':<34} {'split':<11} {'NC 1sh':>6} {'PC 1sh':>6} "
              f"{'d1 pt':>6} {'NC 5sh':>6} {'PC 5sh':>6} {'d5 pt':>6} "
              f"{'epoch':>7} {'fit s':>6}")
    print(header)
    deltas = {repr(p): [] for p in settings}
    for name in args.sets.split(","):
        Xs, ys, Xu, yu, n_way, n_classes = prepare(name, n_train, n_test)
        raw = [few_shot_accuracy(None, Xu, yu, n_way, k, N_QUERY, n_episodes, SEED)[0]
               for k in (1, 5)]
        for params in settings:
            t0 = time.perf_counter()
            clf = ProtoClassifier(random_state=SEED, **params).fit(Xs, ys)
            fit_s = time.perf_counter() - t0
            acc = [few_shot_accuracy(clf, Xu, yu, n_way, k, N_QUERY, n_episodes, SEED)[0]
                   for k in (1, 5)]
            d = [100 * (a - r) for a, r in zip(acc, raw)]
            deltas[repr(params)].extend(d)
            print(f"{name:<10} {n_way:>3} {repr(params)[:34]:<34} {clf.validation_split_:<11} "
                  f"{raw[0]:6.3f} "
                  f"{acc[0]:6.3f} {d[0]:+6.1f} {raw[1]:6.3f} {acc[1]:6.3f} {d[1]:+6.1f} "
                  f"{clf.best_epoch_:>3}/{clf.n_epochs_:<3} {fit_s:6.1f}", flush=True)
    print()
    for key, d in deltas.items():
        print(f"mean delta {key}: {np.mean(d):+.1f} pt, worst {np.min(d):+.1f} pt "
              f"({len(d)} set x shot cells)")


if __name__ == "__main__":
    main()

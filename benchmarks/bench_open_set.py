"""Open set and closed set on real tabular data (issue 18, goals 1 and 4).

Open set: the seen classes are the first half of the sorted labels (split
"A"; ``--splits 2`` adds split "B", the other half; with 3 classes, the
first / last 2, the unseen class searched among all rows), features are
standardised on the seen rows, the model is fitted on the seen rows only,
and the score is the leave-one-out Recall@1 among the rows of the unseen
classes, with ties shared (``tie_averaged_recall``: a query whose nearest
rows are at equal distances scores the fraction of them in its class, as
``skmetric.metrics.recall_at_k`` does when there are no ties).  Raw
features and every ``MetricLearner`` variant run in this process on the
same rows; ``--seed`` sets ``random_state`` (the rows stay the same).

Closed set: a 70/30 stratified split, standardised on the training part;
5-NN accuracy on raw features, on ``MetricLearner()``'s embedding, and
``HistGradientBoostingClassifier``'s accuracy.

Sets: KEEL ``letter`` (26 classes), ``penbased`` (10), ``marketing`` (9),
scikit-learn ``digits`` (10), MNIST-1D (10) -- the sets with >= 8 classes,
over which the means are taken -- and KEEL ``satimage``, ``contraceptive``,
``splice``, scikit-learn ``wine`` and ``iris``.  Big sets are subsampled
(stratified) to ``--max-rows`` rows.

Usage::

    python benchmarks/bench_open_set.py [--quick] [--part open|closed|both]
        [--splits 1|2] [--variants default,open_set] [--sets digits,wine]
        [--jobs 2]  # closed set: sets fitted at a time
"""

import argparse
import json
import time

import numpy as np
import torch
from sklearn.datasets import load_digits, load_iris, load_wine
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from skmetric import MetricLearner
from skmetric._training._callbacks import DecayToStart
from skmetric.datasets import load_mnist1d

try:
    from _keel import load_keel
except ImportError:  # run from the repository root
    from benchmarks._keel import load_keel

MANY = ("letter", "penbased", "marketing", "digits", "MNIST-1D")
FEW = ("satimage", "contraceptive", "splice", "wine", "iris")
QUICK = ("penbased", "digits", "MNIST-1D", "wine")

# the open-set setting documented in docs/metric_learner.md
OPEN_VALID = {"validation_fraction": 0.4, "validation_split": "classes"}
# the proxy loss under held-out-class validation (what "auto" gave before)
OPEN_SET = {**OPEN_VALID, "loss": "normalized_softmax", "lr": 2e-3}
# pairwise loss, small steps: what transfers to unseen classes (see docs);
# what OPEN_VALID alone resolves to now ("auto" loss and lr)
OPEN_MS = {**OPEN_VALID, "loss": "multi_similarity", "lr": 1e-4}
VARIANTS = {
    "default": {},
    "open_set": OPEN_SET,
    "open_ms": OPEN_MS,
    "open_auto": OPEN_VALID,
    "open_ms_3e-4": {**OPEN_MS, "lr": 3e-4},
    "ms_1e-4_30ep": {"loss": "multi_similarity", "lr": 1e-4, "max_epochs": 30},
    # the held-out classes rotated over folds (k-fold over classes), then one
    # fit on every seen class for the epochs the folds' mean curve chose
    "open_folds": {**OPEN_VALID, "validation_split": "class_folds"},
    # the same with the start fixed at the features (init="auto" lets the folds
    # choose between them and their within-class whitening)
    "folds_pca": {**OPEN_VALID, "validation_split": "class_folds", "init": "pca"},
    "folds_3e-4": {**OPEN_VALID, "validation_split": "class_folds", "lr": 3e-4},
    "folds_0.2": {**OPEN_VALID, "validation_split": "class_folds",
                  "validation_fraction": 0.2},
    # an exponential moving average of the weights, validated and kept
    # (in the folds and in the final fit)
    "folds_ema": {**OPEN_VALID, "validation_split": "class_folds", "ema_decay": 0.99},
    "folds_ema_0.999": {**OPEN_VALID, "validation_split": "class_folds", "ema_decay": 0.999},
    # the folds choose the epoch and the weight a of the interpolation toward
    # the start, theta0 + a (theta - theta0) (WiSE-FT)
    "folds_wise": {**OPEN_VALID, "validation_split": "class_folds",
                   "start_interpolation": (0.25, 0.5, 0.75, 1.0)},
    "folds_wise_fine": {**OPEN_VALID, "validation_split": "class_folds",
                        "start_interpolation": (0.1, 0.2, 0.3, 0.5, 0.7, 1.0)},
    # the folds choose the epoch and the weight a of the output mixing with the
    # start, [sqrt(1 - a) f0(x), sqrt(a) f(x)] (d^2 = (1 - a) d0^2 + a d^2)
    "folds_mix": {**OPEN_VALID, "validation_split": "class_folds",
                  "start_mixing": (0.02, 0.05, 0.1, 0.2, 0.5, 1.0)},
    # a Mahalanobis metric (module="linear": the NCA loss, L-BFGS) under the folds
    "folds_linear": {**OPEN_VALID, "validation_split": "class_folds", "module": "linear"},
    # L2-SP: the gradient of lambda / 2 |theta - theta0|^2 added to the loss's
    "folds_l2sp_1": {**OPEN_VALID, "validation_split": "class_folds",
                     "callbacks": [DecayToStart(1.0)]},
    "folds_l2sp_10": {**OPEN_VALID, "validation_split": "class_folds",
                      "callbacks": [DecayToStart(10.0)]},
    # mixup across classes (Metrix around the multi-similarity loss)
    "folds_metrix": {**OPEN_VALID, "validation_split": "class_folds", "loss": "metrix"},
}


def load(name):
    if name == "digits":
        return load_digits(return_X_y=True)
    if name == "wine":
        return load_wine(return_X_y=True)
    if name == "iris":
        return load_iris(return_X_y=True)
    if name == "MNIST-1D":
        X_tr, X_te, y_tr, y_te = load_mnist1d(5000)
        return np.vstack([X_tr, X_te]), np.concatenate([y_tr, y_te])
    return load_keel(name)


def subsample(X, y, max_rows, seed=0):
    if X.shape[0] <= max_rows:
        return X, y
    _, X, _, y = train_test_split(X, y, test_size=max_rows, stratify=y, random_state=seed)
    return X, y


def fit_timed(params, X, y, seed):
    model = MetricLearner(random_state=seed, **params)
    t0 = time.perf_counter()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    return model, time.perf_counter() - t0


# nearest neighbours whose squared distances are within this relative
# tolerance of the nearest count as tied (float rounding of equal distances)
TIE_RTOL = 1e-4


def tie_averaged_recall(Q, yq, R, yr, same):
    """Recall@1 with ties shared: each query scores the fraction of its nearest
    references (all those tied at the smallest distance) that share its label.

    ``same[i]`` is the position of query ``i`` among the references (left out),
    or -1.  Integer-valued features (contraceptive, penbased, digits...) leave
    many neighbours at equal distances; plain Recall@1 then scores whichever
    the search returns first, which the float rounding of the embedding (or of
    the raw features) decides, not the metric.
    """
    Q = np.asarray(Q, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    rn = (R ** 2).sum(1)
    floor = 1e-10 * max(rn.max(), 1e-300)
    hits = np.empty(Q.shape[0])
    for start in range(0, Q.shape[0], 256):
        q = Q[start:start + 256]
        d2 = (q ** 2).sum(1)[:, None] + rn[None, :] - 2 * q @ R.T
        rows = np.arange(q.shape[0])
        own = same[start:start + 256]
        d2[rows[own >= 0], own[own >= 0]] = np.inf
        m = d2.min(1, keepdims=True)
        tied = d2 <= m + TIE_RTOL * np.abs(m) + floor
        hits[start:start + 256] = ((tied & (yr[None, :] == yq[start:start + 256, None])).sum(1)
                                   / tied.sum(1))
    return float(hits.mean())


def unseen_recall(Z, y, seen):
    """Leave-one-out Recall@1 among the unseen classes' rows, ties shared
    (``tie_averaged_recall``).

    With a single unseen class (3-class sets) the references are all rows
    (the seen classes' rows as distractors): the hit rate of its rows.
    """
    q = np.flatnonzero(~seen)
    if np.unique(y[~seen]).size >= 2:
        return tie_averaged_recall(Z[q], y[q], Z[q], y[q], np.arange(q.size))
    return tie_averaged_recall(Z[q], y[q], Z, y, q)


def open_set_rows(name, X, y, split, variants, seed):
    classes = np.unique(y)
    # 3 classes: 2 seen (training needs 2), the unseen one among distractors
    n_seen = max(2, classes.size // 2)
    seen_cls = classes[:n_seen] if split == "A" else classes[-n_seen:]
    seen = np.isin(y, seen_cls)
    scaler = StandardScaler().fit(X[seen])
    Xs = scaler.transform(X[seen]).astype(np.float32)
    Xa = scaler.transform(X).astype(np.float32)
    ys = y[seen]
    raw = unseen_recall(Xa, y, seen)
    rows = {"raw": (raw, None, None, 0.0)}
    for label, params in variants.items():
        model, secs = fit_timed(params, Xs, ys, seed)
        r1 = unseen_recall(model.transform(Xa), y, seen)
        mixed = getattr(model, "mixing_weight_", 1.0)
        shrinkage = getattr(model, "init_shrinkage_", None)
        rows[label] = (r1, model.best_epoch_, model.n_epochs_, secs,
                       getattr(model, "interpolation_weight_", 1.0),
                       (f"m{mixed:g}" if mixed != 1 else "")
                       + (f"w{shrinkage:g}" if shrinkage is not None else ""))
    return rows


def bench_open(sets, variants, splits, max_rows, seed):
    print(f"\nOPEN SET: seen = half of the classes, Recall@1 (leave-one-out) on the unseen "
          f"classes' rows; <= {max_rows} rows per set; open_set = {OPEN_SET}")
    head = f"{'set':<14}{'split':>5}{'cls':>4}{'raw':>7}"
    for label in variants:
        head += f" | {label[:18]:>18} {'d pt':>6} {'ep':>12} {'s':>5}"
    print(head, flush=True)
    results = {}
    for name in sets:
        X, y = subsample(*load(name), max_rows)
        for split in ("A", "B")[:splits]:
            rows = open_set_rows(name, X, y, split, variants, seed)
            results[(name, split)] = rows
            raw = rows["raw"][0]
            line = f"{name:<14}{split:>5}{np.unique(y).size:>4}{raw:>7.3f}"
            for label in variants:
                r1, best, n, secs, a, mixed = rows[label]
                ep = f"{best}/{n}" + (f"@{a:g}" if a != 1 else "") + mixed
                line += f" | {r1:>18.3f} {100 * (r1 - raw):>+6.1f} {ep:>12} {secs:>5.1f}"
            print(line, flush=True)
    many = [k for k in results if k[0] in MANY]
    for title, keys in (("mean >=8 cls", many), ("mean all", list(results))):
        if not keys:
            continue
        raw = np.mean([results[k]["raw"][0] for k in keys])
        line = f"{title:<14}{'':>5}{'':>4}{raw:>7.3f}"
        for label in variants:
            r1 = np.mean([results[k][label][0] for k in keys])
            worst = min(100 * (results[k][label][0] - results[k]["raw"][0]) for k in keys)
            line += f" | {r1:>18.3f} {100 * (r1 - raw):>+6.1f} {'worst':>12} {worst:>+5.1f}"
        print(line, flush=True)
    # each set's mean gain over its splits, unrounded to 2 decimals of a point
    for name in dict.fromkeys(k[0] for k in results):
        keys = [k for k in results if k[0] == name]
        line = f"{'d pt ' + name:<30}"
        for label in variants:
            gain = np.mean([100 * (results[k][label][0] - results[k]["raw"][0]) for k in keys])
            line += f" | {label[:18]:>18} {gain:>+7.2f}"
        print(line, flush=True)
    return results


def closed_set_row(name, max_rows, seed, params):
    """(raw 5-NN, MetricLearner 5-NN, HGB accuracy, ML seconds, HGB seconds)."""
    torch.set_num_threads(1)
    X, y = subsample(*load(name), max_rows)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    scaler = StandardScaler().fit(X_tr)
    X_tr = scaler.transform(X_tr).astype(np.float32)
    X_te = scaler.transform(X_te).astype(np.float32)
    knn = KNeighborsClassifier(n_neighbors=5)
    raw = knn.fit(X_tr, y_tr).score(X_te, y_te)
    model, secs = fit_timed(params, X_tr, y_tr, seed)
    ml = knn.fit(model.transform(X_tr), y_tr).score(model.transform(X_te), y_te)
    t0 = time.perf_counter()
    hgb = HistGradientBoostingClassifier(random_state=seed).fit(X_tr, y_tr)
    hgb_secs = time.perf_counter() - t0
    return raw, ml, hgb.score(X_te, y_te), secs, hgb_secs


def bench_closed(sets, max_rows, seed, params=None, n_jobs=1):
    params = params or {}
    print(f"\nCLOSED SET: 70/30 stratified split, 5-NN accuracy; <= {max_rows} rows per set"
          + (f"; MetricLearner params {params}" if params else "")
          + (f"; {n_jobs} sets at a time" if n_jobs > 1 else ""))
    print(f"{'set':<14}{'raw 5-NN':>9}{'ML 5-NN':>9}{'d pt':>7}{'HGB':>8}{'ML s':>7}{'HGB s':>7}",
          flush=True)
    if n_jobs > 1:
        # one process per set (the fits are bit-identical to a sequential run);
        # rows print in the order of `sets` as soon as they and those before are done
        from joblib import Parallel, delayed

        done = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(closed_set_row)(name, max_rows, seed, params) for name in sets)
    else:
        done = (closed_set_row(name, max_rows, seed, params) for name in sets)
    rows = {}
    for name, (raw, ml, hgb_acc, secs, hgb_secs) in zip(sets, done):
        rows[name] = (raw, ml, hgb_acc)
        print(f"{name:<14}{raw:>9.3f}{ml:>9.3f}{100 * (ml - raw):>+7.1f}{hgb_acc:>8.3f}"
              f"{secs:>7.1f}{hgb_secs:>7.1f}", flush=True)
    means = np.mean(list(rows.values()), axis=0)
    worst = min(100 * (ml - raw) for raw, ml, _ in rows.values())
    print(f"{'mean':<14}{means[0]:>9.3f}{means[1]:>9.3f}{100 * (means[1] - means[0]):>+7.1f}"
          f"{means[2]:>8.3f}   (worst ML - raw: {worst:+.1f} pt)", flush=True)
    # the means to 4 decimals: ML and HGB often print level at 3
    print(f"{'mean (4 dp)':<14}{means[0]:>9.4f}{means[1]:>9.4f}{'':>7}{means[2]:>8.4f}",
          flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="4 sets, <= 1500 rows, split A only")
    parser.add_argument("--part", choices=["open", "closed", "both"], default="both")
    parser.add_argument("--splits", type=int, choices=[1, 2], default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--sets", default=None)
    parser.add_argument("--max-rows", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--closed-params", default="{}",
                        help="JSON MetricLearner parameters of the closed-set part")
    parser.add_argument("--jobs", type=int, default=1,
                        help="closed set: sets fitted at a time, one process each")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    sets = MANY + FEW
    max_rows, splits = args.max_rows, args.splits
    if args.quick:
        sets, max_rows, splits = QUICK, min(max_rows, 1500), 1
    if args.sets:
        sets = tuple(args.sets.split(","))
    variants = {v: VARIANTS[v] for v in args.variants.split(",")}
    if args.part in ("open", "both"):
        bench_open(sets, variants, splits, max_rows, args.seed)
    if args.part in ("closed", "both"):
        bench_closed(sets, max_rows, args.seed, json.loads(args.closed_params), args.jobs)


if __name__ == "__main__":
    main()

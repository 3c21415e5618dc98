"""Benchmark: HyperbolicOneClass (Hyp-OC) against classical one-class detectors.

One process, the same splits for every method.  For each data set and each
"normal" class: train on 70% of that class, score its other 30% (inliers)
against all samples of the other classes (outliers), ROC-AUC of
``score_samples``; AUCs are averaged over the normal classes.

* digits (sklearn, 1,797 x 64): each of the 10 digits in turn;
* MNIST-1D (skmetric.datasets.load_mnist1d, 40 features): a stratified
  subsample of 4,000 of the 10,000 generated samples (400 per class) to keep
  the run short; each of the 10 classes in turn;
* breast cancer (sklearn, 569 x 30): benign is normal, malignant the outliers.

Baselines, all with default settings on the raw features:
OneClassSVM(gamma="scale"), IsolationForest(random_state=0),
LocalOutlierFactor(novelty=True); and "Euclidean ablation", the same
network as Hyp-OC with ``c=0`` (no map into the ball; Euclidean distances
in the default distance head and in Hyp-PC).

Run: ``python benchmarks/bench_hyperbolic.py`` (torch on one thread).
"""

import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor
from sklearn.svm import OneClassSVM

from skmetric import HyperbolicOneClass
from skmetric.datasets import load_mnist1d

SEED = 0
# one thread: the tiny networks gain nothing from more, and on a shared
# machine an oversubscribed OpenMP pool made a 2-second fit take 50 seconds
torch.set_num_threads(1)


def datasets():
    X, y = load_digits(return_X_y=True)
    yield "digits", X, y, list(range(10))
    Xa, Xb, ya, yb = load_mnist1d()
    X, y = np.vstack([Xa, Xb]), np.concatenate([ya, yb])
    X, _, y, _ = train_test_split(X, y, train_size=4000, stratify=y, random_state=SEED)
    yield "mnist1d", X, y, list(range(10))
    X, y = load_breast_cancer(return_X_y=True)
    yield "breast", X, y, [1]  # 1 = benign


def splits(X, y, normal):
    idx = np.flatnonzero(y == normal)
    tr, te = train_test_split(idx, train_size=0.7, random_state=SEED)
    out = np.flatnonzero(y != normal)
    X_test = np.vstack([X[te], X[out]])
    is_inlier = np.r_[np.ones(te.size), np.zeros(out.size)]
    return X[tr], X_test, is_inlier


METHODS = {
    "OneClassSVM": lambda: OneClassSVM(gamma="scale"),
    "IsolationForest": lambda: IsolationForest(random_state=SEED),
    "LOF(novelty)": lambda: LocalOutlierFactor(novelty=True),
    "Euclidean ablation": lambda: HyperbolicOneClass(c=0.0, random_state=SEED),
    "HyperbolicOneClass": lambda: HyperbolicOneClass(random_state=SEED),
}


def main():
    results = {m: {} for m in METHODS}
    names = []
    for name, X, y, normals in datasets():
        names.append(name)
        for method, make in METHODS.items():
            aucs, fit_time = [], 0.0
            for normal in normals:
                X_tr, X_te, is_inlier = splits(X, y, normal)
                est = make()
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est.fit(X_tr)
                fit_time += time.perf_counter() - t0
                aucs.append(roc_auc_score(is_inlier, est.score_samples(X_te)))
            results[method][name] = (float(np.mean(aucs)), fit_time)
            print(f"  {name:8s} {method:20s} AUC {np.mean(aucs):.4f}  fit {fit_time:6.1f}s", flush=True)

    print()
    header = f"{'method':20s}" + "".join(f" {n + ' AUC':>12s} {'fit s':>7s}" for n in names)
    header += f" {'mean AUC':>9s}"
    print(header)
    print("-" * len(header))
    for method, res in results.items():
        row = f"{method:20s}"
        for n in names:
            auc, t = res[n]
            row += f" {auc:12.4f} {t:7.1f}"
        row += f" {np.mean([res[n][0] for n in names]):9.4f}"
        print(row)


if __name__ == "__main__":
    main()

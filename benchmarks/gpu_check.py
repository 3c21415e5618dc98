"""GPU check: losses, kNN search and one fit epoch on the GPU against the CPU.

Without CUDA it prints one line and exits 0.  With CUDA it times, on the
same data in this process:

1. losses, forward + backward, batch 256 and 1,024, embedding size 128:
   samples/s on the GPU and the GPU/CPU speed ratio;
2. exact kNN (``skmetric.neighbors.kneighbors``, k=10): GFLOP/s (2*N*M*D)
   on the GPU and the ratio to the CPU;
3. one epoch of ``MetricLearner.fit`` (100,000 x 64 by default): samples/s
   on the GPU, the ratio to the CPU, and the ratio to a bare torch loop on
   the GPU over the same module, loss, optimizer and batch size (per-batch
   host syncs of the fit loop would show there).

GPU times are taken after ``torch.cuda.synchronize()``; each figure is the
best of ``--repeats`` runs.  ``--device cpu`` runs the same code with the
CPU as the "GPU" (a dry run of the script; ratios about 1).

Usage: ``python benchmarks/gpu_check.py [--device cuda] [--repeats 3]
[--fit-rows 100000] [--knn-refs 65536] [--skip losses knn fit]``.
"""

import argparse
import copy
import sys
import time
import warnings

import numpy as np
import torch

LOSSES = ("contrastive", "multi_similarity", "triplet_margin", "normalized_softmax", "arcface")


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def _best(fn, device, repeats):
    fn()  # warm-up (kernels, allocator)
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return min(times)


def check_losses(device, repeats):
    from skmetric.losses import get_loss

    print(f"losses, forward + backward, d=128, 8 samples per class ({repeats} repeats, best)")
    print(f"  {'loss':<20} {'batch':>5} {'GPU samples/s':>14} {'CPU samples/s':>14} {'GPU/CPU':>8}")
    for batch in (256, 1024):
        n_classes = batch // 8
        g = torch.Generator().manual_seed(0)
        emb = torch.randn(batch, 128, generator=g)
        labels = torch.arange(n_classes).repeat_interleave(8)
        for name in LOSSES:
            rates = {}
            for key, dev in (("gpu", device), ("cpu", "cpu")):
                loss = get_loss(name)
                if getattr(loss, "requires_num_classes", False):
                    loss = get_loss(name, num_classes=n_classes, embedding_size=128)
                loss = loss.to(dev)
                e = emb.to(dev).requires_grad_(True)
                y = labels.to(dev)

                def step(loss=loss, e=e, y=y):
                    e.grad = None
                    loss(e, y).backward()

                rates[key] = batch / _best(step, dev, repeats)
            print(f"  {name:<20} {batch:>5} {rates['gpu']:>14,.0f} {rates['cpu']:>14,.0f} "
                  f"{rates['gpu'] / rates['cpu']:>8.2f}")


def check_knn(device, repeats, n_query=8192, n_ref=65536, dim=128, k=10):
    from skmetric.neighbors import kneighbors

    rng = np.random.RandomState(0)
    R = rng.normal(size=(n_ref, dim)).astype(np.float32)
    Q = R[:n_query].copy()
    flops = 2.0 * n_query * n_ref * dim
    rate = {}
    result = {}
    for key, dev in (("gpu", device), ("cpu", "cpu")):
        def run(key=key, dev=dev):
            result[key] = kneighbors(Q, R, n_neighbors=k, device=dev)

        rate[key] = flops / _best(run, dev, repeats) / 1e9
    same = np.array_equal(result["gpu"][1][:, 0], result["cpu"][1][:, 0])
    print(f"kNN {n_query} queries x {n_ref} references, d={dim}, k={k}")
    print(f"  GPU {rate['gpu']:8.1f} GFLOP/s   CPU {rate['cpu']:8.1f} GFLOP/s   "
          f"GPU/CPU {rate['gpu'] / rate['cpu']:6.2f}   same nearest neighbour: {same}")


def _bare_epoch(module, loss, X, y, batch_size, device, seed):
    module.train()
    loss.train()
    opt = torch.optim.AdamW(list(module.parameters()) + list(loss.parameters()),
                            lr=2e-3, weight_decay=1e-4)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    perm = torch.randperm(X_t.shape[0], generator=torch.Generator().manual_seed(seed))
    for start in range(0, X_t.shape[0], batch_size):
        idx = perm[start:start + batch_size]
        opt.zero_grad(set_to_none=True)
        loss(module(X_t[idx].to(device)), y_t[idx].to(device)).backward()
        opt.step()


def check_fit(device, repeats, n=100_000, d=64):
    from skmetric import MetricLearner

    rng = np.random.RandomState(0)
    centers = rng.normal(size=(100, d)).astype(np.float32)
    y = rng.randint(100, size=n).astype(np.int64)
    X = centers[y] + rng.normal(size=(n, d)).astype(np.float32)
    warnings.simplefilter("ignore")
    rate = {}
    for key, dev in (("gpu", device), ("cpu", "cpu")):
        def fit(dev=dev):
            MetricLearner(max_epochs=1, device=dev, random_state=0).fit(X, y)

        rate[key] = n / _best(fit, dev, repeats)
    # the module and loss the fit trains: fitted briefly on a subset holding
    # every class (so the loss has one proxy per class), copied per bare run
    y = np.unique(y, return_inverse=True)[1].astype(np.int64)
    sub = np.union1d(np.arange(min(n, 5000)), np.unique(y, return_index=True)[1])
    proto = MetricLearner(max_epochs=1, device=device, random_state=0).fit(X[sub], y[sub])

    def bare():
        _bare_epoch(copy.deepcopy(proto.module_), copy.deepcopy(proto.loss_), X, y,
                    proto.batch_size, device, 0)

    rate_bare = n / _best(bare, device, repeats)
    print(f"MetricLearner.fit, one epoch, {n:,} x {d}, batch 256")
    print(f"  GPU {rate['gpu']:10,.0f} samples/s   CPU {rate['cpu']:10,.0f} samples/s   "
          f"GPU/CPU {rate['gpu'] / rate['cpu']:6.2f}")
    print(f"  bare torch loop on the GPU {rate_bare:10,.0f} samples/s   "
          f"fit/bare time ratio {rate_bare / rate['gpu']:5.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fit-rows", type=int, default=100_000)
    parser.add_argument("--knn-refs", type=int, default=65_536)
    parser.add_argument("--skip", nargs="*", default=[], choices=["losses", "knn", "fit"])
    args = parser.parse_args(argv)
    if torch.device(args.device).type == "cuda" and not torch.cuda.is_available():
        print("gpu_check: no CUDA device available; skipped.")
        return 0
    name = (torch.cuda.get_device_name(args.device)
            if torch.device(args.device).type == "cuda" else args.device)
    print(f"torch {torch.__version__}; GPU: {name}; CPU threads: {torch.get_num_threads()}\n")
    if "losses" not in args.skip:
        check_losses(args.device, args.repeats)
        print()
    if "knn" not in args.skip:
        check_knn(args.device, args.repeats, n_ref=args.knn_refs,
                  n_query=min(8192, args.knn_refs))
        print()
    if "fit" not in args.skip:
        check_fit(args.device, args.repeats, n=args.fit_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

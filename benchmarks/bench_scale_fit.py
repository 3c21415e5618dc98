"""One epoch of ``MetricLearner.fit`` on a million rows, against a bare torch loop.

1. Throughput: ``MetricLearner(max_epochs=1).fit`` (defaults otherwise:
   residual MLP 512x512, normalized-softmax loss, AdamW, batch 256) against
   a bare torch loop over the same module, loss, optimizer and batch size
   (a ``randperm`` per epoch, ``X[idx]`` per batch, forward, loss, backward,
   step), in the same process, interleaved, minimum of ``--repeats`` runs.
   The fit's time is the whole ``fit`` call (validation, label encoding,
   initialisation, the epoch and the end-of-fit checks); samples/s is rows /
   time.
2. Peak memory of the fit, in a fresh subprocess: the RSS high-water mark
   (VmHWM, reset through /proc/self/clear_refs as in ``bench_metrics.py``)
   minus the RSS before the data was made, against the data + 1 GiB.

Usage: ``python benchmarks/bench_scale_fit.py [--rows 1000000] [--features 64]
[--repeats 3] [--threads 1] [--skip speed peak]``.  The goal (issue 15): the
fit within 1.1x of the bare loop, and peak memory <= the data + 1 GiB.
"""

import argparse
import copy
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import torch

GiB = 2**30
MiB = 2**20


def make_data(n, d, n_classes=100, seed=0):
    rng = np.random.RandomState(seed)
    centers = rng.normal(size=(n_classes, d)).astype(np.float32)
    y = rng.randint(n_classes, size=n)
    X = centers[y] + rng.normal(size=(n, d)).astype(np.float32)
    return X, y


def _bare_epoch(module, loss, X, y, batch_size, seed):
    """One epoch of a plain torch loop: the anchor."""
    module.train()
    loss.train()
    params = list(module.parameters()) + list(loss.parameters())
    opt = torch.optim.AdamW(params, lr=2e-3, weight_decay=1e-4)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(X_t.shape[0], generator=g)
    for start in range(0, X_t.shape[0], batch_size):
        idx = perm[start:start + batch_size]
        opt.zero_grad(set_to_none=True)
        value = loss(module(X_t[idx]), y_t[idx])
        value.backward()
        opt.step()
    return float(value.detach())


def speed(n, d, repeats, threads):
    from skmetric import MetricLearner

    X, y = make_data(n, d)
    y = np.unique(y, return_inverse=True)[1].astype(np.int64)
    # the module and loss the default fit trains (fitted briefly on a subset
    # with every class, so that shapes match); deep-copied for every bare run
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sub = np.union1d(np.arange(min(n, 5000)), np.unique(y, return_index=True)[1])
        proto = MetricLearner(max_epochs=1, random_state=0).fit(X[sub], y[sub])
    assert proto.loss_.__class__.__name__ == "NormalizedSoftmaxLoss"
    batch_size = proto.batch_size

    def run_fit(seed):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            MetricLearner(max_epochs=1, random_state=seed).fit(X, y)
            return time.perf_counter() - t0

    def run_bare(seed):
        module, loss = copy.deepcopy(proto.module_), copy.deepcopy(proto.loss_)
        t0 = time.perf_counter()
        _bare_epoch(module, loss, X, y, batch_size, seed)
        return time.perf_counter() - t0

    t_fit, t_bare = [], []
    for r in range(repeats):
        t_fit.append(run_fit(r))
        t_bare.append(run_bare(r))
    f, b = min(t_fit), min(t_bare)
    print(f"one epoch, {n:,} rows x {d} float32 features, 100 classes, batch {batch_size}, "
          f"{threads} thread(s), min of {repeats} interleaved runs")
    print(f"  MetricLearner.fit  {f:7.2f} s  {n / f:9.0f} samples/s   "
          f"(runs: {', '.join(f'{t:.2f}' for t in t_fit)})")
    print(f"  bare torch loop    {b:7.2f} s  {n / b:9.0f} samples/s   "
          f"(runs: {', '.join(f'{t:.2f}' for t in t_bare)})")
    print(f"  fit / bare time ratio {f / b:5.3f}   goal <= 1.1: {f / b <= 1.1}")


_PEAK_SCRIPT = textwrap.dedent("""
    import sys, warnings
    import numpy as np, torch
    sys.path.insert(0, sys.argv[4])
    from bench_scale_fit import make_data
    from skmetric import MetricLearner
    n, d, threads = (int(a) for a in sys.argv[1:4])
    torch.set_num_threads(threads)

    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) * 1024

    warnings.simplefilter("ignore")
    Xw, yw = make_data(2000, d, seed=1)
    MetricLearner(max_epochs=1, random_state=0).fit(Xw, yw)  # warm-up: load kernels
    del Xw, yw
    before_data = status("VmRSS:")
    X, y = make_data(n, d)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the RSS high-water mark (VmHWM) to the current RSS
    before_fit = status("VmRSS:")
    MetricLearner(max_epochs=1, random_state=0).fit(X, y)
    peak = status("VmHWM:")
    print(peak - before_data, peak - before_fit, X.nbytes + y.nbytes)
""")


def peak(n, d, threads):
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    res = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, str(n), str(d), str(threads), here],
        capture_output=True, text=True,
    )
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-3000:])
    above_data, above_fit, data = (int(v) for v in res.stdout.split())
    limit = data + GiB
    print(f"peak memory of one fit, {n:,} x {d} (X and y: {data / MiB:.0f} MiB), fresh process")
    print(f"  peak RSS above the process before the data: {above_data / MiB:.0f} MiB  "
          f"(data + 1 GiB = {limit / MiB:.0f} MiB; within: {above_data <= limit})")
    print(f"  of which during fit, above the data: {above_fit / MiB:.0f} MiB")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip", nargs="*", default=[], choices=["speed", "peak"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)\n")
    if "speed" not in args.skip:
        speed(args.rows, args.features, args.repeats, args.threads)
        print()
    if "peak" not in args.skip:
        peak(args.rows, args.features, args.threads)


if __name__ == "__main__":
    main()

"""Peak memory of the inference paths on a million rows, against a budget.

Each operation runs in a fresh subprocess: the inputs are built (and the
estimator fitted on a small subset), a warm-up call on a few rows loads the
kernels, the RSS high-water mark is reset through ``/proc/self/clear_refs``
(as in ``bench_metrics.py``), the operation runs once on all rows, and the
script reports ``VmHWM - VmRSS before``: the memory the call itself took,
inputs excluded.  The budget of each call is

- ``transform`` (MetricLearner): its output + 64 MiB (one 4,096-row batch
  through the network);
- ``kneighbors``: its output (distances and int64 indices) + ``memory_budget``;
- ``retrieval_report`` and ``retrieval_scores``: ``memory_budget`` +
  64 bytes per query (labels, counts, ranks) + 64 MiB;
- Loki ``FrechetMeanPredictor.predict``: twice the wrapped estimator's
  probabilities (float64) + its output + 64 MiB.

Usage: ``python benchmarks/bench_memory.py [--rows 1000000] [--features 32]
[--only transform kneighbors ...]``.  Linux only (``/proc``).
"""

import argparse
import subprocess
import sys
import textwrap

MiB = 2**20

_SCRIPT = textwrap.dedent("""
    import sys, time, warnings
    import numpy as np, torch
    torch.set_num_threads(1)
    op, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = rng.randint(100, size=n)
    MiB = 2**20
    work = 64 * MiB

    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) * 1024

    if op == "transform":
        from skmetric import MetricLearner
        est = MetricLearner(max_epochs=1, random_state=0).fit(X[:2000], y[:2000])
        run = lambda Z: est.transform(Z)
        out_bytes = n * est.embedding_size_ * 4
        budget = out_bytes + work
    elif op == "kneighbors":
        from skmetric.neighbors import DEFAULT_MEMORY_BUDGET, kneighbors
        R = X[:10_000].copy()
        run = lambda Z: kneighbors(Z, R, n_neighbors=10)
        out_bytes = n * 10 * (4 + 8)
        budget = out_bytes + DEFAULT_MEMORY_BUDGET
    elif op == "retrieval_report":
        from skmetric.metrics import retrieval_report
        from skmetric.neighbors import DEFAULT_MEMORY_BUDGET
        R, yR = X[:10_000].copy(), y[:10_000].copy()
        run = lambda Z: retrieval_report(Z, y[: Z.shape[0]], ks=(1, 10), X_ref=R,
                                         labels_ref=yR, depth=10)
        out_bytes = 0
        budget = DEFAULT_MEMORY_BUDGET + 64 * n + work
    elif op == "retrieval_scores":
        import scipy.sparse as sp
        from skmetric.metrics import retrieval_scores
        from skmetric.neighbors import DEFAULT_MEMORY_BUDGET
        C = X[:10_000].copy()
        # each query has 2 relevant corpus rows
        cols = rng.randint(10_000, size=(n, 2))
        rel = sp.csr_matrix((np.ones(2 * n), cols.ravel(), np.arange(0, 2 * n + 1, 2)),
                            shape=(n, 10_000))
        run = lambda Z: retrieval_scores(Z, C, rel[: Z.shape[0]], k=10)
        out_bytes = 0
        budget = DEFAULT_MEMORY_BUDGET + 64 * n + work
    elif op == "frechet_predict":
        from sklearn.linear_model import LogisticRegression
        from skmetric import FrechetMeanPredictor
        # 10 observed classes on a 1-D grid of 100 labels (label metric |i - j|)
        grid = np.arange(100, dtype=float)
        D = np.abs(grid[:, None] - grid[None, :])
        yc = (y % 10) * 10
        est = FrechetMeanPredictor(LogisticRegression(max_iter=200), D,
                                   labels=grid).fit(X[:5000], yc[:5000])
        run = lambda Z: est.predict(Z)
        out_bytes = n * 8
        budget = 2 * n * 10 * 8 + out_bytes + work
    else:
        raise SystemExit(f"unknown op {op}")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run(X[:64])  # warm-up: load kernels
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the RSS high-water mark (VmHWM) to the current RSS
        base = status("VmRSS:")
        t0 = time.perf_counter()
        out = run(X)
        dt = time.perf_counter() - t0
        peak = status("VmHWM:")
    print(peak - base, X.nbytes, out_bytes, budget, dt)
""")

OPS = ("transform", "kneighbors", "retrieval_report", "retrieval_scores", "frechet_predict")


def measure(op, n, d):
    res = subprocess.run([sys.executable, "-c", _SCRIPT, op, str(n), str(d)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{op} failed:\n{res.stderr[-3000:]}")
    extra, data, out, budget, dt = res.stdout.split()
    return int(extra), int(data), int(out), int(budget), float(dt)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--only", nargs="*", choices=OPS, default=list(OPS))
    args = parser.parse_args()
    n, d = args.rows, args.features
    print(f"peak RSS above the inputs, {n:,} rows x {d} float32 features "
          f"(input {n * d * 4 / MiB:.0f} MiB), 1 thread, fresh process per operation")
    print(f"{'operation':<18} {'time s':>7} {'output MiB':>10} {'peak MiB':>9} "
          f"{'budget MiB':>10} {'peak/budget':>11}  within")
    all_ok = True
    for op in args.only:
        extra, data, out, budget, dt = measure(op, n, d)
        ok = extra <= budget
        all_ok &= ok
        print(f"{op:<18} {dt:7.1f} {out / MiB:10.0f} {extra / MiB:9.0f} "
              f"{budget / MiB:10.0f} {extra / budget:11.2f}  {ok}")
    print(f"all within budget: {all_ok}")


if __name__ == "__main__":
    main()

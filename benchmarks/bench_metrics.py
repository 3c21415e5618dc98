"""Benchmark skmetric's retrieval metrics and kNN search.

1. P@1 + R-Precision + MAP@R on random 128-d float32 embeddings with about
   50 samples per class, leave-one-out, against pytorch-metric-learning's
   ``AccuracyCalculator`` (faiss kNN, ``k="max_bin_count"`` so that its
   R-metrics are exact) in the same process; ``--repeats`` interleaved runs
   of each, the minimum and maximum time and the per-run ratios printed,
   on the wall clock and in CPU time (the same with ``--threads 1`` on a
   quiet machine; less disturbed by other processes on a loaded one).
2. Throughput of the chunked exact kNN search (GFLOP/s, counting 2*N*M*D)
   against a plain ``torch.mm`` of the same shape.
3. Peak memory of the search over 1M references with a 1 GB budget, in a
   fresh subprocess: the RSS high-water mark (VmHWM, reset just before the
   search through /proc/self/clear_refs) minus the RSS before the search.

4. With ``--breakdown N ...``: where the time goes (see :func:`breakdown`):
   skmetric's matmul alone, its search, its report, its plain tiled search,
   faiss's kNN alone, PML.
5. With ``--phases N ...``: the CPU time of each phase of skmetric's
   leave-one-out report (see :func:`phases`).
6. With ``--blas N ...``: the score tiles through ``torch.mm`` and through
   the search's ``np.matmul`` (see :func:`blas_tiles`).
7. With ``--widths N ...``: the score tiles through the search's
   ``np.matmul`` at K = 128, 130, 132 and 136 (see :func:`width_tiles`).

Usage: ``python benchmarks/bench_metrics.py [--sizes 10000 50000] [--threads 1]
[--repeats 3] [--breakdown 20000] [--phases 20000] [--blas 20000] [--widths 20000]
[--skip retrieval knn peak]``.
"""

import argparse
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import torch


def retrieval_vs_pml(n, dim=128, per_class=50, seed=0, repeats=3):
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator

    from skmetric.metrics import retrieval_report

    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, dim)).astype(np.float32)
    y = rng.randint(n // per_class, size=n)

    calc = AccuracyCalculator(
        include=("precision_at_1", "r_precision", "mean_average_precision_at_r"),
        k="max_bin_count",
    )
    T, Y = torch.as_tensor(X), torch.as_tensor(y)

    def ours():
        return retrieval_report(X, y, ks=(1,))

    def pml():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return calc.get_accuracy(T, Y, T, Y, ref_includes_query=True)

    # Warm-up of both (kernel loading, faiss/OpenMP start-up) on a small slice.
    retrieval_report(X[:2000], y[:2000], ks=(1,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calc.get_accuracy(T[:2000], Y[:2000], T[:2000], Y[:2000], ref_includes_query=True)

    # Interleaved runs (the order alternates), so that both see the same
    # load on a shared machine; the minimum of each is the least disturbed.
    times = {"ours": [], "pml": []}
    cpu = {"ours": [], "pml": []}
    for r in range(repeats):
        for name in (("ours", "pml") if r % 2 == 0 else ("pml", "ours")):
            c0 = time.process_time()
            t0 = time.perf_counter()
            result = ours() if name == "ours" else pml()
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
            if name == "ours":
                mine = result
            else:
                theirs = result

    pairs = [("precision@1", "precision_at_1"), ("r_precision", "r_precision"),
             ("map@r", "mean_average_precision_at_r")]
    diffs = {a: abs(mine[a] - theirs[b]) for a, b in pairs}
    t_ours, t_pml = min(times["ours"]), min(times["pml"])
    ratios = [p / o for o, p in zip(times["ours"], times["pml"])]
    print(f"N={n:>6} d={dim} classes={n // per_class} depth={mine['depth']} "
          f"runs={repeats} (interleaved)")
    print(f"  skmetric  min {t_ours:7.2f} s  max {max(times['ours']):7.2f} s   "
          f"P@1={mine['precision@1']:.6f} R-P={mine['r_precision']:.6f} "
          f"MAP@R={mine['map@r']:.6f}")
    print(f"  PML       min {t_pml:7.2f} s  max {max(times['pml']):7.2f} s   "
          f"P@1={theirs['precision_at_1']:.6f} R-P={theirs['r_precision']:.6f} "
          f"MAP@R={theirs['mean_average_precision_at_r']:.6f}")
    identical = all(d < 1e-12 for d in diffs.values())
    print(f"  speed-up (min / min) {t_pml / t_ours:5.2f}x   per run "
          + " ".join(f"{r:.2f}x" for r in ratios)
          + f"   values identical (|diff| < 1e-12): {identical}  "
            f"max |diff| = {max(diffs.values()):.1e}")
    # CPU time: with --threads 1, what each used of one core, less disturbed
    # than the wall clock by other processes on a loaded machine.
    c_ours, c_pml = min(cpu["ours"]), min(cpu["pml"])
    print(f"  CPU time  skmetric min {c_ours:6.2f} s  PML min {c_pml:6.2f} s   "
          f"speed-up (min / min) {c_pml / c_ours:5.2f}x   per run "
          + " ".join(f"{p / o:.2f}x" for o, p in zip(cpu["ours"], cpu["pml"])))


def breakdown(n, dim=128, per_class=50, seed=0, repeats=2):
    """Where the time of the N-row report goes, against faiss's kNN alone.

    Same data as :func:`retrieval_vs_pml`.  Timed, interleaved, the minimum of
    ``repeats`` runs each:

    * ``matmul``: skmetric's score tiles alone (the same ``mm`` calls, tile
      shapes and output buffer as its leave-one-out search, nothing else:
      the sample's square (by stripes) and stripe, then the upper block triangle, so
      about half of the N x N products);
    * ``search``: skmetric's exact leave-one-out kNN search (matmul +
      selection of the ``depth`` nearest per row), as ``retrieval_report``
      runs it;
    * ``report``: the whole ``retrieval_report`` (search + relevance and
      statistics);
    * ``tiled``: the plain tiled search that skmetric runs for
      query-vs-reference retrieval (every product computed, a running
      threshold per row block), on the same rows;
    * ``faiss``: ``IndexFlatL2.search`` with ``k = depth + 1`` (the kNN that
      ``AccuracyCalculator`` runs), alone;
    * ``PML``: the whole ``AccuracyCalculator.get_accuracy``.

    So ``search - matmul`` is skmetric's selection and ``report - search``
    its statistics; PML against ``matmul`` is the speed-up a selection that
    cost nothing would give.
    """
    import faiss
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator

    from skmetric.metrics import retrieval_report
    from skmetric.metrics._retrieval import DEFAULT_MEMORY_BUDGET, _Setup
    from skmetric.metrics._retrieval_loo import (
        _augmented, _blas_threads, _iter_loo_knn, _loo_plan, _mm)
    from skmetric.neighbors import _iter_knn

    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, dim)).astype(np.float32)
    y = rng.randint(n // per_class, size=n)
    setup = _Setup(X, y, None, None, "euclidean")
    depth = int(setup.R.max())
    T, Y = torch.as_tensor(X), torch.as_tensor(y)
    calc = AccuracyCalculator(
        include=("precision_at_1", "r_precision", "mean_average_precision_at_r"),
        k="max_bin_count",
    )
    plan = _loo_plan(n, depth, 4, DEFAULT_MEMORY_BUDGET)
    if plan is None:
        raise ValueError(f"N={n} is too small for the leave-one-out search.")
    tile, m = plan[0], plan[1]

    def matmul():
        left, right = _augmented(X, "euclidean", torch.float32)
        buf = torch.empty(m * tile)
        with _blas_threads():
            for i0 in range(0, m, tile):
                _mm(left[i0:i0 + tile], right[:m], buf.view(tile, m))
            for c0 in range(m, n, tile):
                c1 = min(c0 + tile, n)
                _mm(left[:m], right[c0:c1], buf[: m * (c1 - c0)].view(m, c1 - c0))
            for a0 in range(m, n, tile):
                a1 = min(a0 + tile, n)
                for b0 in range(a0, n, tile):
                    b1 = min(b0 + tile, n)
                    _mm(left[a0:a1], right[b0:b1],
                        buf[: (a1 - a0) * (b1 - b0)].view(a1 - a0, b1 - b0))

    def search():
        for _ in _iter_loo_knn(X, depth, "euclidean", plan, DEFAULT_MEMORY_BUDGET):
            pass

    def report():
        retrieval_report(X, y, ks=(1,))

    def tiled():
        for _ in _iter_knn(X, None, depth, metric="euclidean",
                           memory_budget=DEFAULT_MEMORY_BUDGET,
                           self_index=np.arange(n), return_distance=False):
            pass

    def faiss_knn():
        index = faiss.IndexFlatL2(dim)
        index.add(X)
        index.search(X, depth + 1)

    def pml():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            calc.get_accuracy(T, Y, T, Y, ref_includes_query=True)

    parts = {"matmul": matmul, "search": search, "report": report, "tiled": tiled,
             "faiss": faiss_knn, "PML": pml}
    times = {name: [] for name in parts}
    for r in range(repeats):
        names = list(parts) if r % 2 == 0 else list(parts)[::-1]
        for name in names:
            t0 = time.process_time()
            w0 = time.perf_counter()
            parts[name]()
            times[name].append((time.perf_counter() - w0, time.process_time() - t0))
    wall = {name: min(w for w, _ in v) for name, v in times.items()}
    cpu = {name: min(c for _, c in v) for name, v in times.items()}
    products = m * m + m * (n - m) + sum(
        min(tile, n - a0) * (n - a0) for a0 in range(m, n, tile))
    flops = 2.0 * products * (dim + 2)
    print(f"Breakdown N={n} d={dim} depth={depth} sample={m} tile={tile}x{tile} "
          f"threads={torch.get_num_threads()} runs={repeats} (interleaved; fastest run; "
          "derived figures from CPU time)")
    notes = {
        "matmul": (f"{products / n**2:.1%} of the N^2 products, "
                   f"{flops / cpu['matmul'] / 1e9:5.1f} GFLOP/s (CPU time)"),
        "search": f"selection = search - matmul = {cpu['search'] - cpu['matmul']:.2f} s",
        "report": f"statistics = report - search = {cpu['report'] - cpu['search']:.2f} s",
        "tiled": f"tiled / search {cpu['tiled'] / cpu['search']:.2f}x",
        "faiss": f"faiss / matmul {cpu['faiss'] / cpu['matmul']:.2f}x",
        "PML": (f"PML / report {cpu['PML'] / cpu['report']:.2f}x; "
                f"PML / matmul {cpu['PML'] / cpu['matmul']:.2f}x (free selection)"),
    }
    for name in parts:
        print(f"  {name:<7} {wall[name]:7.2f} s wall {cpu[name]:7.2f} s CPU   {notes[name]}")


def _upper_tiles(mm, left, right, tile, buf):
    """``mm(a, b, out)`` on every tile of the upper block triangle of
    ``left @ right.T`` (``tile`` x ``tile``, into ``buf``), on the search's
    BLAS thread count."""
    from skmetric.metrics._retrieval_loo import _blas_threads

    n = left.shape[0]
    with _blas_threads():
        for a0 in range(0, n, tile):
            a1 = min(a0 + tile, n)
            for b0 in range(a0, n, tile):
                b1 = min(b0 + tile, n)
                mm(left[a0:a1], right[b0:b1],
                   buf[: (a1 - a0) * (b1 - b0)].view(a1 - a0, b1 - b0))


def blas_tiles(n, dim=128, tile=1024, repeats=3):
    """The score tiles of the leave-one-out search through torch's BLAS and numpy's.

    The upper block triangle of ``tile`` x ``tile`` tiles of N random rows
    (the factors of ``_augmented``: width d + 2 = 130 for d = 128), once with
    ``torch.mm`` (MKL in the PyPI wheels) and once with the search's
    ``_mm`` (``np.matmul``: OpenBLAS in numpy's wheels) on torch's thread
    count; interleaved, CPU time, the minimum of ``repeats`` runs each.
    """
    from skmetric.metrics._retrieval_loo import _augmented, _mm

    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, dim)).astype(np.float32)
    left, right = _augmented(X, "euclidean", torch.float32)
    buf = torch.empty(tile * tile)

    def tiles(mm):
        _upper_tiles(mm, left, right, tile, buf)

    kinds = {"torch.mm": lambda a, b, out: torch.mm(a, b.T, out=out), "np.matmul": _mm}
    spent = {name: [] for name in kinds}
    for r in range(repeats):
        for name in (list(kinds) if r % 2 == 0 else list(kinds)[::-1]):
            t0 = time.process_time()
            tiles(kinds[name])
            spent[name].append(time.process_time() - t0)
    t_torch, t_numpy = min(spent["torch.mm"]), min(spent["np.matmul"])
    print(f"BLAS on the score tiles N={n} K={left.shape[1]} tile={tile}x{tile} "
          f"threads={torch.get_num_threads()} runs={repeats} (interleaved, CPU time)")
    for name in kinds:
        print(f"  {name:<9} min {min(spent[name]):6.2f} s   per run "
              + " ".join(f"{t:.2f}" for t in spent[name]))
    print(f"  torch.mm / np.matmul {t_torch / t_numpy:.2f}x")


def width_tiles(n, widths=(128, 130, 132, 136), tile=1024, repeats=3):
    """The score tiles of the leave-one-out search at several widths K.

    The upper block triangle of ``tile`` x ``tile`` tiles of N random rows
    of K columns through the search's ``_mm`` (numpy's BLAS on torch's
    thread count); K = 130 is d + 2 for d = 128 (the search's factors), 136
    the same padded with zeros to a multiple of 8, 128 the products alone.
    Interleaved, CPU time, the minimum of ``repeats`` runs each.
    """
    from skmetric.metrics._retrieval_loo import _mm

    rng = np.random.RandomState(0)
    factors = {K: (torch.as_tensor(rng.normal(size=(n, K)).astype(np.float32)),
                   torch.as_tensor(rng.normal(size=(n, K)).astype(np.float32)))
               for K in widths}
    buf = torch.empty(tile * tile)
    spent = {K: [] for K in widths}
    for r in range(repeats):
        for K in (widths if r % 2 == 0 else widths[::-1]):
            left, right = factors[K]
            t0 = time.process_time()
            _upper_tiles(_mm, left, right, tile, buf)
            spent[K].append(time.process_time() - t0)
    print(f"Score tiles by width K, N={n} tile={tile}x{tile} threads={torch.get_num_threads()} "
          f"runs={repeats} (interleaved, CPU time)")
    for K in widths:
        print(f"  K={K}  min {min(spent[K]):6.2f} s   per run "
              + " ".join(f"{t:.2f}" for t in spent[K])
              + f"   min / min at K=136 {min(spent[K]) / min(spent[widths[-1]]):.3f}")


def phases(n, dim=128, per_class=50, seed=0, repeats=2):
    """CPU time of each phase of skmetric's leave-one-out report, per call site.

    Same data as :func:`retrieval_vs_pml`.  The functions of
    ``skmetric/metrics/_retrieval_loo.py`` are wrapped with timers that
    count exclusive CPU time (a nested call's time goes to the nested
    phase only); the fastest of ``repeats`` instrumented reports is printed.
    "other" is the rest of the report: the statistics (P@1, R-Precision,
    MAP@R from the neighbour lists), label encoding and glue.
    """
    import skmetric.metrics._retrieval_loo as loo
    from skmetric.metrics import retrieval_report

    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, dim)).astype(np.float32)
    y = rng.randint(n // per_class, size=n)
    names = [
        ("tile matmul", loo, "_mm"),
        ("threshold sampling", loo, "_kth_minimum"),
        ("compare + compaction", loo, "_both_candidates"),
        ("compare (diagonal, square)", loo, "_row_candidates"),
        ("store writes", loo._Store, "add"),
        ("per-query merge (cuts)", loo._Store, "_cut"),
        ("threshold order", loo._Store, "reorder"),
        ("final k best", loo._Store, "best"),
        ("re-searches", loo, "_search_again"),
    ]
    spent, stack = {}, []

    def timed(label, fn):
        def wrapper(*args, **kwargs):
            stack.append(0.0)
            t0 = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = time.process_time() - t0
                inner = stack.pop()
                spent[label] = spent.get(label, 0.0) + dt - inner
                if stack:
                    stack[-1] += dt
        return wrapper

    originals = [(obj, attr, getattr(obj, attr)) for _, obj, attr in names]
    retrieval_report(X[:8192], y[:8192], ks=(1,))  # warm-up
    best = None
    try:
        for label, obj, attr in names:
            setattr(obj, attr, timed(label, getattr(obj, attr)))
        for _ in range(repeats):
            spent.clear()
            t0 = time.process_time()
            retrieval_report(X, y, ks=(1,))
            total = time.process_time() - t0
            if best is None or total < best[0]:
                best = (total, dict(spent))
    finally:
        for obj, attr, fn in originals:
            setattr(obj, attr, fn)
    total, spent = best
    print(f"Phases N={n} d={dim} (leave-one-out retrieval_report, CPU time, exclusive, "
          f"fastest of {repeats} instrumented runs, threads={torch.get_num_threads()})")
    for label, _, _ in names:
        t = spent.get(label, 0.0)
        print(f"  {label:<27} {t:6.2f} s  {t / total:6.1%}")
    other = total - sum(spent.values())
    print(f"  {'other (statistics, glue)':<27} {other:6.2f} s  {other / total:6.1%}")
    print(f"  {'total':<27} {total:6.2f} s   selection (all but matmul and other) "
          f"{total - spent.get('tile matmul', 0.0) - other:.2f} s")


def positive_bound(n=20_000, dim=128, per_class=50, seed=0, n_rows=512):
    """How many candidates the "largest positive distance" threshold leaves.

    R-Precision and MAP@R need only the ranks of a query's same-class items
    within its top R.  The largest distance to a same-class item is an
    upper bound of the R-th smallest distance that is known before the
    scan; a search could keep only the entries below it.  Printed, per
    query row (median over ``n_rows`` rows): the entries at or below that
    bound, and at or below the bound skmetric's scan starts from (the k-th
    smallest of the first tile's group minima, k = the search depth); both
    on the benchmark's random embeddings and on clustered ones (class
    centres plus noise).  Fewer candidates means less selection work.
    """
    from skmetric.metrics._retrieval import DEFAULT_MEMORY_BUDGET
    from skmetric.neighbors import _GROUP, _tile_shape

    rng = np.random.RandomState(seed)
    X_random = rng.normal(size=(n, dim)).astype(np.float32)  # as retrieval_vs_pml
    y = rng.randint(n // per_class, size=n)
    centres = rng.normal(size=(n // per_class, dim))
    for name, X in (("random", X_random),
                    ("clustered", centres[y] + 1.2 * rng.normal(size=(n, dim)))):
        X = torch.as_tensor(X, dtype=torch.float32)
        counts = np.bincount(y)
        depth = int(counts.max()) - 1
        _, cols = _tile_shape(n, n, depth, 4, DEFAULT_MEMORY_BUDGET)
        rows = torch.arange(n_rows)
        d = torch.cdist(X[:n_rows], X)
        d[rows, rows] = torch.inf
        same = torch.as_tensor(y[:n_rows, None] == y[None, :])
        same[rows, rows] = False
        pos_bound = torch.where(same, d, -torch.inf).amax(dim=1, keepdim=True)
        g = cols // _GROUP
        minima = d[:, : g * _GROUP].reshape(n_rows, _GROUP, g).amin(dim=1)
        scan_bound = torch.topk(minima, depth, dim=1, largest=False).values[:, -1:]
        kth = torch.topk(d, depth, dim=1, largest=False).values[:, -1:]
        med = lambda t: float((d <= t).sum(dim=1).double().median())  # noqa: E731
        p1 = float((y[:n_rows] == y[d.argmin(dim=1).numpy()]).mean())
        print(f"  {name:<9} N={n} depth k={depth} P@1={p1:.3f}: entries per row at or below "
              f"the largest positive distance {med(pos_bound):8.0f}, below the scan's "
              f"first bound {med(scan_bound):6.0f}, below the k-th distance {med(kth):4.0f}")


def knn_gflops(n=8192, dim=128, k=10, repeats=3):
    from skmetric.neighbors import kneighbors

    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, dim)).astype(np.float32)
    T = torch.as_tensor(X)
    flops = 2.0 * n * n * dim

    def best(fn):
        fn()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    t_mm = best(lambda: torch.mm(T, T.T))
    t_knn = best(lambda: kneighbors(X, n_neighbors=k))
    g_mm, g_knn = flops / t_mm / 1e9, flops / t_knn / 1e9
    print(f"kNN search N=M={n} d={dim} k={k} (leave-one-out, threads={torch.get_num_threads()})")
    print(f"  torch.mm  {t_mm:6.3f} s  {g_mm:6.1f} GFLOP/s")
    print(f"  kneighbors {t_knn:6.3f} s  {g_knn:6.1f} GFLOP/s   ratio {g_knn / g_mm:5.1%}")


_PEAK_SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np, torch
    from skmetric.neighbors import kneighbors
    n_ref, n_query, dim, budget = (int(a) for a in sys.argv[1:5])
    g = torch.Generator().manual_seed(0)
    R = torch.randn(n_ref, dim, generator=g).numpy()
    Q = R[:n_query].copy()
    kneighbors(Q[:2], R[:100], n_neighbors=1)  # warm-up: load kernels

    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) * 1024

    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the RSS high-water mark (VmHWM) to the current RSS
    base = status("VmRSS:")
    t0 = time.perf_counter()
    d, i = kneighbors(Q, R, n_neighbors=10, memory_budget=budget)
    dt = time.perf_counter() - t0
    peak = status("VmHWM:")
    assert (i[:, 0] == np.arange(n_query)).all()
    print(peak - base, base, dt)
""")


def peak_memory(n_ref=1_000_000, n_query=2048, dim=16, budget=2**30):
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, str(n_ref), str(n_query), str(dim), str(budget)],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    extra, base, dt = int(out[0]), int(out[1]), float(out[2])
    print(f"Peak memory: {n_query} queries x {n_ref:,} references, d={dim}, k=10, "
          f"budget {budget / 2**20:.0f} MiB")
    print(f"  search took {dt:.1f} s; RSS above inputs: {extra / 2**20:.0f} MiB "
          f"(process RSS before search {base / 2**20:.0f} MiB); within budget: {extra <= budget}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--threads", type=int, default=None,
                        help="torch (and faiss) threads; default: torch's default")
    parser.add_argument("--repeats", type=int, default=3,
                        help="interleaved runs of skmetric and PML (the minimum is reported)")
    parser.add_argument("--breakdown", type=int, nargs="*", default=[],
                        help="sizes N for the time breakdown (matmul, search, report, "
                             "faiss kNN, PML)")
    parser.add_argument("--phases", type=int, nargs="*", default=[],
                        help="sizes N for the per-phase CPU time of skmetric's report")
    parser.add_argument("--blas", type=int, nargs="*", default=[],
                        help="sizes N for the score tiles through torch.mm and np.matmul")
    parser.add_argument("--widths", type=int, nargs="*", default=[],
                        help="sizes N for the score tiles at K = 128, 130, 132, 136")
    parser.add_argument("--skip", nargs="*", default=[], choices=["retrieval", "knn", "peak"],
                        help="parts of the benchmark to skip")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
        try:
            import faiss

            faiss.omp_set_num_threads(args.threads)
        except ImportError:
            pass
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    for n in args.blas:
        blas_tiles(n, repeats=args.repeats)
        print()
    for n in args.widths:
        width_tiles(n, repeats=args.repeats)
        print()
    for n in args.phases:
        phases(n, repeats=args.repeats)
        print()
    for n in args.breakdown:
        breakdown(n, repeats=args.repeats)
        print("Threshold from the largest same-class distance (R-metrics only):")
        positive_bound(n)
        print()
    if "retrieval" not in args.skip:
        for n in args.sizes:
            retrieval_vs_pml(n, repeats=args.repeats)
        print()
    if "knn" not in args.skip:
        knn_gflops()
        print()
    if "peak" not in args.skip:
        peak_memory()


if __name__ == "__main__":
    main()

"""Retrieval at scale: faiss IVF and HNSW against exact search at N = 1M.

One million 32-dimensional float32 references drawn from 1,000 Gaussian
classes (1,000 samples each, overlapping), and 1,000 queries from the same
classes.  Each search goes through ``skmetric.neighbors.kneighbors``:

* exact: ``backend="torch"`` (chunked matmul) and ``backend="faiss",
  index="flat"``; the two must return the same neighbours;
* ``index="ivf"`` (``nlist`` = 1024 inverted lists, ``nprobe`` lists
  searched per query);
* ``index="hnsw"`` (``M`` links per node, ``ef_search`` candidates).

For every index: build + search time, Recall@K (a hit if any of the K
nearest references shares the query's class) next to the exact Recall@K,
the fraction of queries whose hit/miss agrees with exact search, and the
neighbour recall |approximate top-K ∩ exact top-K| / K.

Usage: ``python benchmarks/bench_faiss_scale.py [--n 1000000] [--dim 32]
[--queries 1000] [--threads 2]`` (about 2-3 minutes on 2 CPU cores).
"""

import argparse
import time

import numpy as np
import torch

from skmetric.neighbors import kneighbors

KS = (1, 10)


def make_data(n, dim, n_queries, n_classes, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=1.0, size=(n_classes, dim)).astype(np.float32)
    y_ref = np.arange(n) % n_classes
    X_ref = centers[y_ref] + rng.standard_normal(size=(n, dim), dtype=np.float32)
    y_q = rng.integers(n_classes, size=n_queries)
    X_q = centers[y_q] + rng.standard_normal(size=(n_queries, dim), dtype=np.float32)
    return X_q, y_q, X_ref, y_ref


def hit_rate(ind, y_q, y_ref, k):
    hits = (y_ref[ind[:, :k]] == y_q[:, None]).any(axis=1)
    return hits


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    import faiss

    torch.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)
    k = max(KS)

    t0 = time.perf_counter()
    X_q, y_q, X_ref, y_ref = make_data(args.n, args.dim, args.queries, args.classes)
    print(f"data: {args.n:,} references x {args.dim} dims, {args.queries:,} queries, "
          f"{args.classes:,} classes ({time.perf_counter() - t0:.1f} s to generate)")
    print(f"threads: torch {torch.get_num_threads()}, faiss {faiss.omp_get_max_threads()}; "
          f"faiss {faiss.__version__}\n")

    t0 = time.perf_counter()
    _, exact = kneighbors(X_q, X_ref, n_neighbors=k, backend="torch")
    t_torch = time.perf_counter() - t0
    exact_hits = {kk: hit_rate(exact, y_q, y_ref, kk) for kk in KS}

    runs = [
        ("faiss flat (exact)", "flat", None),
        ("faiss ivf nprobe=1", "ivf", {"nlist": 1024, "nprobe": 1}),
        ("faiss ivf nprobe=16", "ivf", {"nlist": 1024, "nprobe": 16}),
        ("faiss hnsw M=16 ef=64", "hnsw", {"M": 16, "ef_construction": 40, "ef_search": 64}),
    ]
    header = (f"{'search':<24}{'time s':>8}" + "".join(f"{'R@' + str(kk):>8}" for kk in KS)
              + "".join(f"{'agree@' + str(kk):>10}" for kk in KS) + f"{'nbr-recall@' + str(k):>15}")
    print(header)
    print("-" * len(header))

    def row(name, seconds, ind):
        cells = "".join(f"{hit_rate(ind, y_q, y_ref, kk).mean():>8.3f}" for kk in KS)
        agree = "".join(
            f"{np.mean(hit_rate(ind, y_q, y_ref, kk) == exact_hits[kk]):>10.3f}" for kk in KS
        )
        overlap = np.mean([len(np.intersect1d(a, b)) / k for a, b in zip(ind, exact)])
        print(f"{name:<24}{seconds:>8.1f}{cells}{agree}{overlap:>15.3f}", flush=True)

    row("torch exact (default)", t_torch, exact)
    for name, index, params in runs:
        t0 = time.perf_counter()
        _, ind = kneighbors(X_q, X_ref, n_neighbors=k, backend="faiss", index=index,
                            index_params=params)
        row(name, time.perf_counter() - t0, ind)
    print("\ntime = index build (train + add) + search of all queries, in one "
          "kneighbors call; agree@K = fraction of queries whose Recall@K hit/miss "
          "equals exact search's; nbr-recall = |top-K ∩ exact top-K| / K.")


if __name__ == "__main__":
    main()

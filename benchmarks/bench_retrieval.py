"""Benchmark ``retrieval_scores`` and ``mine_hard_negatives`` against brute force.

1. ``skmetric.metrics.retrieval_scores`` (NDCG/MRR/Recall/MAP@10) against the
   brute-force computation: the full query x corpus score matrix in numpy
   (query chunks of 256 rows), ``sklearn.metrics.ndcg_score`` for NDCG@10 and
   a full ``argsort`` of each row for MRR, Recall and MAP@10.  Random
   float32 vectors (no ties), graded relevance 1-3 for a few documents per
   query.  Prints both times, the ratio and the largest difference of the
   four values.
2. ``skmetric.neighbors.mine_hard_negatives`` (cosine, 5 negatives,
   ``absolute_margin=0.05``) against a brute-force torch reference: per chunk
   of pairs the full score matrix, the exclusions and the margin as masks,
   then a full stable sort of each row.  Positives are noisy copies of their
   anchors.  Prints both times, the ratio and whether the triplets are
   identical.

Both sides run in this process on the same data with the same thread count.
Usage: ``python benchmarks/bench_retrieval.py [--queries 2000] [--corpus 20000]
[--dim 64] [--pairs 2000] [--threads 1]``; the issue's size is
``--queries 20000 --corpus 100000``.
"""

import argparse
import time

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.metrics import ndcg_score

from skmetric.metrics import retrieval_scores
from skmetric.neighbors import mine_hard_negatives

K = 10
CHUNK = 256


def _normalize(X):
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def brute_retrieval(queries, corpus, rel):
    """Full score matrix per chunk; sklearn's ndcg_score; full argsort per row."""
    Qn, Cn = _normalize(queries), _normalize(corpus)
    has = np.flatnonzero(rel.getnnz(axis=1) > 0)
    ndcg_sum, mrr, recall, ap = 0.0, [], [], []
    for start in range(0, has.size, CHUNK):
        q = has[start:start + CHUNK]
        S = Qn[q] @ Cn.T
        R = rel[q].toarray()
        ndcg_sum += ndcg_score(R, S, k=K) * len(q)
        order = np.argsort(-S, axis=1, kind="stable")[:, :K]
        hits = np.take_along_axis(R, order, axis=1) > 0
        n_rel = (R > 0).sum(axis=1)
        first = np.where(hits.any(axis=1), hits.argmax(axis=1), K)
        mrr.append(np.where(first < K, 1.0 / (first + 1), 0.0))
        recall.append(hits.sum(axis=1) / n_rel)
        prec = np.cumsum(hits, axis=1) / np.arange(1, K + 1)
        ap.append((prec * hits).sum(axis=1) / np.minimum(K, n_rel))
    return {f"ndcg@{K}": ndcg_sum / has.size, f"mrr@{K}": np.concatenate(mrr).mean(),
            f"recall@{K}": np.concatenate(recall).mean(), f"map@{K}": np.concatenate(ap).mean()}


def brute_mine(anchors, positives, corpus, n_negatives, margin):
    """Full masked score matrix per chunk of pairs, then a full stable sort."""
    C = torch.as_tensor(_normalize(corpus))
    out = []
    for start in range(0, anchors.size, CHUNK):
        a, p = anchors[start:start + CHUNK], positives[start:start + CHUNK]
        S = C[a] @ C.T
        s_p = (C[a] * C[p]).sum(dim=1, keepdim=True)
        S[S > s_p - margin] = -torch.inf
        rows = torch.arange(len(a))
        S[rows, torch.as_tensor(a)] = -torch.inf
        S[rows, torch.as_tensor(p)] = -torch.inf  # one positive per anchor here
        vals, idx = torch.sort(-S, dim=1, stable=True)
        vals, idx = vals[:, :n_negatives].numpy(), idx[:, :n_negatives].numpy()
        keep = np.isfinite(vals)
        pair = np.broadcast_to(np.arange(len(a))[:, None], idx.shape)[keep]
        out.append(np.stack([a[pair], p[pair], idx[keep]], axis=1))
    return np.concatenate(out)


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--corpus", type=int, default=20000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.RandomState(0)

    # 1. retrieval_scores
    queries = rng.normal(size=(args.queries, args.dim)).astype(np.float32)
    corpus = rng.normal(size=(args.corpus, args.dim)).astype(np.float32)
    # relevant documents are noisy copies of the query (so top-10 hits happen)
    n_rel = rng.randint(0, 4, size=args.queries)
    rows = np.repeat(np.arange(args.queries), n_rel)
    cols = rng.choice(args.corpus, size=rows.size, replace=False)
    corpus[cols] = queries[rows] + rng.normal(scale=2.0, size=(rows.size, args.dim))
    rel = sp.csr_matrix((rng.randint(1, 4, size=rows.size).astype(np.float64), (rows, cols)),
                        shape=(args.queries, args.corpus))
    retrieval_scores(queries[:50], corpus[:2000], rel[:50, :2000], k=K)  # warm-up
    ours, t_ours = timed(lambda: retrieval_scores(queries, corpus, rel, k=K))
    ref, t_ref = timed(lambda: brute_retrieval(queries, corpus, rel))
    diff = max(abs(ours[key] - ref[key]) for key in ref)

    # 2. mine_hard_negatives: anchors = first rows, positives = noisy copies appended
    n_pairs = args.pairs
    base = rng.normal(size=(args.corpus, args.dim)).astype(np.float32)
    pos = base[:n_pairs] + rng.normal(scale=0.5, size=(n_pairs, args.dim)).astype(np.float32)
    X = np.vstack([base, pos])
    anchors = np.arange(n_pairs)
    positives = args.corpus + np.arange(n_pairs)
    mine_hard_negatives(anchors[:20], positives[:20], X, n_negatives=5)  # warm-up
    trip, t_mine = timed(lambda: mine_hard_negatives(anchors, positives, X, n_negatives=5,
                                                     absolute_margin=0.05))
    trip_ref, t_mine_ref = timed(lambda: brute_mine(anchors, positives, X, 5, 0.05))
    same = trip.shape == trip_ref.shape and bool((trip == trip_ref).all())

    print(f"threads={torch.get_num_threads()}  d={args.dim}")
    print(f"{'task':<44}{'skmetric s':>11}{'brute s':>10}{'speed-up':>10}  values")
    print(f"{f'retrieval_scores {args.queries}q x {args.corpus} k={K}':<44}"
          f"{t_ours:>11.2f}{t_ref:>10.2f}{t_ref / t_ours:>9.1f}x  "
          f"max |diff| of the 4 scores {diff:.1e}")
    print(f"{f'mine_hard_negatives {n_pairs} pairs x {X.shape[0]}':<44}"
          f"{t_mine:>11.2f}{t_mine_ref:>10.2f}{t_mine_ref / t_mine:>9.1f}x  "
          f"identical triplets: {same} ({len(trip)})")
    print("scores: " + ", ".join(f"{k} {v:.4f}" for k, v in ours.items()))


if __name__ == "__main__":
    main()

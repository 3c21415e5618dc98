"""Query-side adapter on frozen corpus vectors: NDCG@10 as training pairs grow.

The set-up of embedding-adapter tools: a corpus of document vectors that
must not be recomputed, and queries whose vectors do not live quite where
their documents do.  A ``PairMetricLearner(shared=False)`` learns a map of
the queries only, from (query, relevant document) pairs; the corpus side is
the fixed starting map (centring and scaling), never trained.

The task is built from real labelled sets (scikit-learn's digits and
MNIST-1D), the labels used only to draw pairs and to judge relevance:

- corpus: the rows of one half of the train split, as they are;
- queries: rows of the other half (training queries) and of the test split
  (held-out queries), seen through a fixed distortion -- one random linear
  map ``x -> x @ M`` with ``M = I + G / sqrt(d)`` (``G`` standard normal,
  drawn once per data set with seed 0) plus Gaussian noise of 0.1 times the
  feature scale, after standardising every feature on the train split;
- a corpus document is relevant to a query (relevance 1) when it has the
  query's class;
- training pairs: ``n`` (training query, relevant document) pairs drawn at
  random (each query with a document of its class);
- scored: ``retrieval_scores`` (cosine) NDCG@10 of the held-out queries
  (disjoint from the training queries) against the whole corpus, before (the
  raw distorted queries against the raw corpus) and after (``transform(q)``
  against ``transform(corpus, side="corpus")``); the ratio is after/before.
  Column ``start``: both sides through the fixed starting map
  (``transform(..., side="corpus")`` for queries too), i.e. what centring
  and scaling alone do, before any training.

Every row is the mean over seeds (3; 1 with ``--quick``).  The estimator is
the default ``PairMetricLearner(shared=False)`` with ``y=None`` (positive
pairs, in-batch negatives), nothing tuned.

Usage: ``python benchmarks/bench_query_adapter.py [--quick]``
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skmetric import PairMetricLearner
from skmetric.metrics import retrieval_scores


def load(name):
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    from skmetric.datasets import load_mnist1d

    X_train, X_test, y_train, y_test = load_mnist1d(n_samples=4000)
    return X_train, X_test, y_train, y_test


def build_task(name):
    """Corpus, training queries, held-out queries and their labels."""
    X_train, X_test, y_train, y_test = load(name)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    rng = np.random.RandomState(0)
    d = X_train.shape[1]
    M = np.eye(d) + rng.standard_normal((d, d)) / np.sqrt(d)

    def distort(X):
        return X @ M + 0.1 * rng.standard_normal(X.shape)

    half = rng.permutation(X_train.shape[0])
    c_idx, q_idx = half[: len(half) // 2], half[len(half) // 2 :]
    corpus, y_corpus = X_train[c_idx], y_train[c_idx]
    q_train, yq_train = distort(X_train[q_idx]), y_train[q_idx]
    q_test, yq_test = distort(X_test), y_test
    return corpus, y_corpus, q_train, yq_train, q_test, yq_test


def relevance_lists(y_queries, y_corpus):
    return [np.flatnonzero(y_corpus == c).tolist() for c in y_queries]


def draw_pairs(n, q_train, yq_train, corpus, y_corpus, rng):
    """``n`` (query, relevant document) pairs as a float array (n, 2, d)."""
    qi = rng.randint(q_train.shape[0], size=n)
    by_class = {c: np.flatnonzero(y_corpus == c) for c in np.unique(y_corpus)}
    di = np.array([rng.choice(by_class[yq_train[i]]) for i in qi])
    return np.stack([q_train[qi], corpus[di]], axis=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="digits only, fewer sizes, 1 seed")
    args = parser.parse_args()
    names = ("digits",) if args.quick else ("digits", "mnist1d")
    sizes = (100, 1000) if args.quick else (100, 300, 1000, 3000)
    seeds = (0,) if args.quick else (0, 1, 2)
    warnings.filterwarnings("ignore", message=".*starting embedding was kept.*")

    print(f"{'data':8s} {'pairs':>6s} {'NDCG@10 before':>15s} {'start':>6s} {'after':>7s} "
          f"{'ratio':>6s} {'MRR@10 after/before':>20s} {'fit s':>6s}")
    for name in names:
        corpus, y_corpus, q_train, yq_train, q_test, yq_test = build_task(name)
        rel = relevance_lists(yq_test, y_corpus)
        before = retrieval_scores(q_test, corpus, rel, k=10)
        for n in sizes:
            after, start, times = [], [], []
            for seed in seeds:
                rng = np.random.RandomState(1000 + seed)
                pairs = draw_pairs(n, q_train, yq_train, corpus, y_corpus, rng)
                t0 = time.perf_counter()
                model = PairMetricLearner(shared=False, random_state=seed).fit(pairs)
                times.append(time.perf_counter() - t0)
                docs = model.transform(corpus, side="corpus")
                after.append(retrieval_scores(model.transform(q_test), docs, rel, k=10))
                start.append(retrieval_scores(
                    model.transform(q_test, side="corpus"), docs, rel, k=10
                )["ndcg@10"])
            ndcg = np.mean([a["ndcg@10"] for a in after])
            mrr = np.mean([a["mrr@10"] for a in after])
            print(f"{name:8s} {n:6d} {before['ndcg@10']:15.3f} {np.mean(start):6.3f} {ndcg:7.3f} "
                  f"{ndcg / before['ndcg@10']:6.2f}x {mrr / before['mrr@10']:19.2f}x "
                  f"{np.mean(times):6.1f}", flush=True)


if __name__ == "__main__":
    main()

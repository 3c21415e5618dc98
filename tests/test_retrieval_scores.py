import re

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import ndcg_score

from skmetric.metrics import retrieval_scores


def brute_scores(queries, corpus, rel, k, metric):
    """Loop reference: full score matrix, rank by (score desc, index asc)."""
    Q, C = np.asarray(queries, np.float64), np.asarray(corpus, np.float64)
    if metric == "cosine":
        Q = Q / np.linalg.norm(Q, axis=1, keepdims=True)
        C = C / np.linalg.norm(C, axis=1, keepdims=True)
        S = Q @ C.T
    else:
        S = -np.sqrt(((Q[:, None, :] - C[None, :, :]) ** 2).sum(-1))
    rel = np.asarray(rel, dtype=np.float64)
    out = {"ndcg": [], "mrr": [], "recall": [], "map": []}
    for q in range(len(Q)):
        if not (rel[q] > 0).any():
            continue
        ranking = sorted(range(C.shape[0]), key=lambda j: (-S[q, j], j))[:k]
        gains = [rel[q, j] for j in ranking]
        dcg = sum(g / np.log2(i + 2) for i, g in enumerate(gains))
        ideal = sorted(rel[q], reverse=True)[:k]
        idcg = sum(g / np.log2(i + 2) for i, g in enumerate(ideal))
        out["ndcg"].append(dcg / idcg)
        n_rel = int((rel[q] > 0).sum())
        rr, hits, ap = 0.0, 0, 0.0
        for i, g in enumerate(gains):
            if g > 0:
                hits += 1
                ap += hits / (i + 1)
                if rr == 0.0:
                    rr = 1 / (i + 1)
        out["mrr"].append(rr)
        out["recall"].append(hits / n_rel)
        out["map"].append(ap / min(k, n_rel))
    return {f"{name}@{k}": float(np.mean(v)) for name, v in out.items()}


def graded(n_q, n_c, seed, density=0.05):
    rng = np.random.RandomState(seed)
    rel = (rng.uniform(size=(n_q, n_c)) < density) * rng.randint(1, 4, size=(n_q, n_c))
    rel[0] = 0  # a query with nothing relevant
    rel[1, :3] = [3, 2, 1]
    return rel.astype(np.float64)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("k", [1, 5, 10])
def test_matches_brute_force_and_sklearn_ndcg_without_ties(metric, k):
    rng = np.random.RandomState(0)
    queries, corpus = rng.normal(size=(40, 6)), rng.normal(size=(120, 6))
    rel = graded(40, 120, 1)
    got = retrieval_scores(queries, corpus, sp.csr_matrix(rel), k=k, metric=metric)
    want = brute_scores(queries, corpus, rel, k, metric)
    assert got.keys() == want.keys()
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-12, abs=1e-12), key
    # sklearn's ndcg_score over the queries with a relevant document
    if metric == "cosine":
        Qn = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        Cn = corpus / np.linalg.norm(corpus, axis=1, keepdims=True)
        S = Qn @ Cn.T
    else:
        S = -np.sqrt(((queries[:, None] - corpus[None]) ** 2).sum(-1))
    has = rel.sum(axis=1) > 0
    assert got[f"ndcg@{k}"] == pytest.approx(ndcg_score(rel[has], S[has], k=k), rel=1e-12)


def test_float32_and_small_memory_budget():
    rng = np.random.RandomState(2)
    queries = rng.normal(size=(30, 8)).astype(np.float32)
    corpus = rng.normal(size=(500, 8)).astype(np.float32)
    rel = graded(30, 500, 3)
    got = retrieval_scores(queries, corpus, rel, k=[3, 10], memory_budget=5000)
    want = {**brute_scores(queries, corpus, rel, 3, "cosine"),
            **brute_scores(queries, corpus, rel, 10, "cosine")}
    assert set(got) == set(want)
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-9), key


@pytest.mark.parametrize("k", [[1, 4], 10])
def test_query_blocks_give_the_unblocked_answer(monkeypatch, k):
    # queries are scored in blocks of _QUERY_BLOCK_ENTRIES // max(k) (bounded
    # memory at 1M queries); blocks of 1-3 queries change no value, not a bit
    import skmetric.metrics._retrieval_scores as mod

    rng = np.random.RandomState(4)
    queries, corpus = rng.normal(size=(37, 5)), rng.normal(size=(90, 5))
    rel = sp.csr_matrix(graded(37, 90, 5))
    whole = retrieval_scores(queries, corpus, rel, k=k)
    monkeypatch.setattr(mod, "_QUERY_BLOCK_ENTRIES", 25)
    blocked = retrieval_scores(queries, corpus, rel, k=k)
    assert blocked == whole
    for kk in np.atleast_1d(k):
        want = brute_scores(queries, corpus, rel.toarray(), int(kk), "cosine")
        for key in want:
            assert blocked[key] == pytest.approx(want[key], rel=1e-12), key


def test_ties_ranked_by_index_and_the_sklearn_tie_rule():
    # integer data: many exactly equal distances
    rng = np.random.RandomState(0)
    queries = rng.randint(-1, 2, size=(25, 2)).astype(np.float64)
    corpus = rng.randint(-1, 2, size=(60, 2)).astype(np.float64)
    rel = graded(25, 60, 4, density=0.2)
    k = 7
    got = retrieval_scores(queries, corpus, rel, k=k, metric="euclidean")
    want = brute_scores(queries, corpus, rel, k, "euclidean")
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-12), key
    # equal to sklearn on the scores made tie-free by index (smaller index first)
    S = -np.sqrt(((queries[:, None] - corpus[None]) ** 2).sum(-1))
    has = rel.sum(axis=1) > 0
    tie_free = S - 1e-6 * np.arange(60) / 60
    assert got[f"ndcg@{k}"] == pytest.approx(ndcg_score(rel[has], tie_free[has], k=k),
                                             rel=1e-12)
    # sklearn's default averages the gains of tied groups: here it differs
    assert ndcg_score(rel[has], S[has], k=k) != pytest.approx(got[f"ndcg@{k}"], rel=1e-6)


def test_tie_rule_by_hand():
    # the query is equidistant from documents 0 and 1; only document 1 is relevant
    corpus = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    queries = np.array([[1.0, 1.0]])
    got = retrieval_scores(queries, corpus, [[1]], k=1)
    assert got == {"ndcg@1": 0.0, "mrr@1": 0.0, "recall@1": 0.0, "map@1": 0.0}
    # sklearn averages the tied pair: half the gain
    assert ndcg_score([[0, 1, 0]], [[1.0, 1.0, 0.0]], k=1) == pytest.approx(0.5)


def test_queries_without_relevant_documents_are_left_out():
    rng = np.random.RandomState(1)
    queries, corpus = rng.normal(size=(20, 4)), rng.normal(size=(50, 4))
    rel = graded(20, 50, 2)
    rel[5:9] = 0
    keep = rel.sum(axis=1) > 0
    assert retrieval_scores(queries, corpus, rel) == retrieval_scores(
        queries[keep], corpus, rel[keep])


def test_lists_of_indices_are_binary_relevance():
    rng = np.random.RandomState(3)
    queries, corpus = rng.normal(size=(15, 4)), rng.normal(size=(40, 4))
    lists = [list(rng.choice(40, size=rng.randint(0, 4), replace=False)) for _ in range(15)]
    lists[0] = [2, 2]  # a repeated index counts once
    dense = np.zeros((15, 40))
    for q, docs in enumerate(lists):
        dense[q, docs] = 1
    assert retrieval_scores(queries, corpus, lists, k=5) == retrieval_scores(
        queries, corpus, sp.csr_matrix(dense), k=5)
    want = brute_scores(queries, corpus, dense, 5, "cosine")
    got = retrieval_scores(queries, corpus, lists, k=5)
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-12)


def test_perfect_and_worst_rankings():
    corpus = np.eye(4)
    queries = np.eye(4)[:2]
    perfect = retrieval_scores(queries, corpus, [[0], [1]], k=2)
    assert perfect == {"ndcg@2": 1.0, "mrr@2": 1.0, "recall@2": 1.0, "map@2": 1.0}
    # documents 1, 2, 3 tie for query 0: ranked 1, 2, 3; the relevant 2 and 3 come
    # 3rd and 4th
    worse = retrieval_scores(queries[:1], corpus, [[2, 3]], k=[2, 3], metric="euclidean")
    assert worse["recall@2"] == 0.0 and worse["mrr@2"] == 0.0 and worse["ndcg@2"] == 0.0
    assert worse["recall@3"] == 0.5 and worse["mrr@3"] == pytest.approx(1 / 3)
    assert worse["map@3"] == pytest.approx((1 / 3) / 2)
    assert worse["ndcg@3"] == pytest.approx((1 / 2) / (1 + 1 / np.log2(3)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(relevance=[[], []]), "`relevance` lists no relevant document for any query."),
        (dict(relevance=np.zeros((2, 3))), "`relevance` lists no relevant document for any "
                                           "query."),
        (dict(relevance=np.ones((2, 4))), "`relevance` must have shape (2, 3); got (2, 4)."),
        (dict(relevance=-np.ones((2, 3))), "`relevance` must hold relevance values >= 0; got "
                                           "-1.0."),
        (dict(relevance=np.full((2, 3), np.nan)), "`relevance` contains NaN or infinity."),
        (dict(relevance=[[0]]), "`relevance` must hold one list of indices per row (2); got 1."),
        (dict(relevance=[[0], [3]]), "`relevance` holds the index 3, out of range for 3 "
                                     "columns."),
        (dict(relevance=[[0.5], [1]]), "`relevance` must be lists of integer column indices; "
                                       "got [0.5]."),
        (dict(k=0), "`k` must be an integer >= 1 or a list of them; got 0."),
        (dict(k=[]), "`k` must be an integer >= 1 or a non-empty list of them; got []."),
        (dict(metric="manhattan"), "`metric` must be one of ['euclidean', 'cosine', 'dot']; "
                                   "got 'manhattan'."),
        (dict(queries=np.ones((2, 5))), "`queries` has 5 features but `corpus` has 2."),
    ],
)
def test_bad_input(kwargs, message):
    args = dict(queries=np.ones((2, 2)), corpus=np.eye(3, 2) + 0.5, relevance=[[0], [1]])
    args.update(kwargs)
    with pytest.raises(ValueError, match=re.escape(message)):
        retrieval_scores(args.pop("queries"), args.pop("corpus"), args.pop("relevance"), **args)


def test_k_larger_than_the_corpus_ranks_everything():
    rng = np.random.RandomState(4)
    queries, corpus = rng.normal(size=(6, 3)), rng.normal(size=(5, 3))
    rel = graded(6, 5, 5, density=0.4)
    got = retrieval_scores(queries, corpus, rel, k=8)
    want = brute_scores(queries, corpus, rel, 8, "cosine")
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-12), key
    assert got["recall@8"] == 1.0


def test_nan_queries():
    with pytest.raises(ValueError, match="Input queries contains NaN"):
        retrieval_scores(np.array([[np.nan, 1.0]]), np.eye(2), [[0]])

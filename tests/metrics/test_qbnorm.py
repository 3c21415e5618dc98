"""QB-Norm (dynamic inverted softmax) against a loop-written reference."""

import re

import numpy as np
import pytest

from skmetric.metrics import map_at_r, r_precision, recall_at_k, retrieval_report
from skmetric.neighbors import kneighbors


def _similarity(a, b, metric):
    if metric == "cosine":
        a = a / np.linalg.norm(a, axis=1, keepdims=True)
        b = b / np.linalg.norm(b, axis=1, keepdims=True)
        return a @ b.T
    if metric == "dot":
        return a @ b.T
    return -((a[:, None, :] - b[None, :, :]) ** 2).sum(-1) / 2


def loop_qbnorm_rankings(X, ref, bank, metric, beta, k, loo):
    """The official recipe, one query at a time, ties by reference index.

    Activation set: every reference among the ``k`` most similar of some bank
    query.  A query whose most similar reference is active is ranked by
    exp(beta s(q, r)) / sum_b exp(beta s(b, r)); the others by s(q, r).
    """
    S_q, S_b = _similarity(X, ref, metric), _similarity(bank, ref, metric)
    active = set()
    for b in range(len(bank)):
        order = sorted(range(len(ref)), key=lambda j: (-S_b[b, j], j))
        active.update(order[:k])
    rankings = []
    for q in range(len(X)):
        cand = [j for j in range(len(ref)) if not (loo and j == q)]
        top = min(cand, key=lambda j: (-S_q[q, j], j))
        score = {}
        for j in cand:
            if top in active:
                denom = sum(np.exp(beta * S_b[b, j]) for b in range(len(bank)))
                score[j] = np.exp(beta * S_q[q, j]) / denom
            else:
                score[j] = S_q[q, j]
        rankings.append(sorted(cand, key=lambda j: (-score[j], j)))
    return rankings


def data(seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(30, 4))
    ref = rng.normal(size=(25, 4))
    bank = rng.normal(size=(40, 4))
    return X, ref, bank


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "dot"])
@pytest.mark.parametrize("loo", [False, True])
@pytest.mark.parametrize("beta, k", [(1.0, 1), (3.0, 2)])
def test_kneighbors_matches_loop_reference(metric, loo, beta, k):
    X, ref, bank = data()
    ref_used = X if loo else ref
    dist, ind = kneighbors(X, None if loo else ref, 6, metric=metric, querybank=bank,
                           beta=beta, querybank_k=k)
    expected = loop_qbnorm_rankings(X, ref_used, bank, metric, beta, k, loo)
    np.testing.assert_array_equal(ind, [r[:6] for r in expected])
    # The rescoring changed some rankings (the test is not vacuous) ...
    _, plain = kneighbors(X, None if loo else ref, 6, metric=metric)
    assert (ind != plain).any(axis=1).sum() >= 5
    # ... and the distances are those of `metric` for the returned neighbours.
    D = -_similarity(X, ref_used, metric)
    if metric == "euclidean":
        D = np.sqrt(2 * D)
    elif metric == "cosine":
        D = 1 + D
    np.testing.assert_allclose(dist, np.take_along_axis(D, ind, axis=1), atol=1e-10)


def test_float32_and_tiny_budget_match_reference():
    X, ref, bank = data(1)
    expected = loop_qbnorm_rankings(X, ref, bank, "cosine", 2.0, 1, False)
    _, ind = kneighbors(X.astype(np.float32), ref.astype(np.float32), 4, metric="cosine",
                        querybank=bank.astype(np.float32), beta=2.0, memory_budget=3000)
    np.testing.assert_array_equal(ind, [r[:4] for r in expected])


def test_ties_broken_by_reference_index():
    # Duplicated references tie in both the plain and the rescored score.
    rng = np.random.RandomState(3)
    base = rng.normal(size=(6, 3))
    ref = np.vstack([base, base])
    X = base + 0.01 * rng.normal(size=base.shape)
    bank = base[:3] + 0.01
    expected = loop_qbnorm_rankings(X, ref, bank, "dot", 1.0, 2, False)
    _, ind = kneighbors(X, ref, 12, metric="dot", querybank=bank, beta=1.0, querybank_k=2)
    np.testing.assert_array_equal(ind, expected)


@pytest.mark.parametrize("loo", [False, True])
def test_far_bank_leaves_plain_knn(loo):
    # A bank far from every reference activates one corner reference only;
    # with that reference no query's nearest neighbour, nothing is rescored.
    X, ref, _ = data(2)
    R = X if loo else ref
    corner = np.argmax(R[:, 0])
    bank = np.tile(R[corner] + [100.0, 0, 0, 0], (5, 1))
    _, plain_ind = kneighbors(X, None if loo else ref, 1)
    assert corner not in plain_ind
    d0, i0 = kneighbors(X, None if loo else ref, 5)
    d1, i1 = kneighbors(X, None if loo else ref, 5, querybank=bank)
    np.testing.assert_array_equal(i1, i0)
    np.testing.assert_array_equal(d1, d0)
    assert recall_at_k(X, np.arange(len(X)) % 3, 2, querybank=bank) == recall_at_k(
        X, np.arange(len(X)) % 3, 2)


def _loop_metrics(rankings, y_q, y_ref):
    r1, rp, mapr = [], [], []
    for q, order in enumerate(rankings):
        rel = np.array([y_ref[j] == y_q[q] for j in order])
        R = int(rel.sum())
        if R == 0:
            continue
        r1.append(float(rel[0]))
        rp.append(rel[:R].sum() / R)
        mapr.append(sum(rel[: i + 1].sum() / (i + 1) for i in range(R) if rel[i]) / R)
    return np.mean(r1), np.mean(rp), np.mean(mapr)


@pytest.mark.parametrize("loo", [False, True])
def test_retrieval_metrics_match_loop_reference(loo):
    X, ref, bank = data(4)
    rng = np.random.RandomState(5)
    y = rng.randint(4, size=len(X))
    y_ref = y if loo else rng.randint(4, size=len(ref))
    y[0] = 99  # a lone query
    if loo:
        y_ref = y
    kw = {} if loo else {"X_ref": ref, "labels_ref": y_ref}
    rankings = loop_qbnorm_rankings(X, X if loo else ref, bank, "cosine", 3.0, 1, loo)
    r1, rp, mapr = _loop_metrics(rankings, y, y_ref)
    qb = dict(metric="cosine", querybank=bank, beta=3.0)
    assert recall_at_k(X, y, 1, **kw, **qb) == pytest.approx(r1, abs=1e-12)
    assert r_precision(X, y, **kw, **qb) == pytest.approx(rp, abs=1e-12)
    assert map_at_r(X, y, **kw, **qb) == pytest.approx(mapr, abs=1e-12)
    rep = retrieval_report(X, y, ks=(1,), **kw, **qb)
    assert (rep["recall@1"], rep["r_precision"]) == pytest.approx((r1, rp), abs=1e-12)
    assert rep["map@r"] == pytest.approx(mapr, abs=1e-12)
    assert rep["map@r"] != pytest.approx(map_at_r(X, y, metric="cosine", **kw), abs=1e-6)


def test_euclidean_on_unit_vectors_equals_cosine():
    # s = -||q - r||^2 / 2 = cos - 1 on unit vectors: the same QB-Norm ranking.
    X, ref, bank = (a / np.linalg.norm(a, axis=1, keepdims=True) for a in data(6))
    _, a = kneighbors(X, ref, 5, metric="euclidean", querybank=bank, beta=5.0)
    _, b = kneighbors(X, ref, 5, metric="cosine", querybank=bank, beta=5.0)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"querybank": np.ones((3, 2))}, "`querybank` has 2 features but X has 4."),
        ({"querybank": np.ones((3, 4)), "beta": 0},
         "`beta` must be a finite real number > 0; got 0."),
        ({"querybank": np.ones((3, 4)), "beta": np.inf},
         "`beta` must be a finite real number > 0; got inf."),
        ({"querybank": np.ones((3, 4)), "querybank_k": 0},
         "`querybank_k` must be an integer >= 1; got 0."),
        ({"querybank": np.ones((3, 4)), "querybank_k": 26},
         "`querybank_k`=26 is larger than the number of references=25."),
        ({"querybank": np.full((3, 4), np.nan)}, "Input querybank contains NaN."),
        ({"querybank": np.ones((3, 4)), "backend": "faiss"}, "`querybank` needs backend='torch'."),
    ],
)
def test_bad_querybank_input(kwargs, message):
    X, ref, _ = data()
    with pytest.raises(ValueError, match=re.escape(message)):
        kneighbors(X, ref, 2, **kwargs)


def test_bad_querybank_in_metrics():
    X, _, _ = data()
    with pytest.raises(ValueError, match=re.escape("`beta` must be a finite real number > 0")):
        recall_at_k(X, np.arange(30) % 2, querybank=X, beta=-1.0)


def test_retrieval_scores_with_querybank_match_loop_reference():
    from skmetric.metrics import retrieval_scores

    X, ref, bank = data(7)
    relevance = [[q % 25, (3 * q) % 25] for q in range(len(X))]
    rankings = loop_qbnorm_rankings(X, ref, bank, "cosine", 4.0, 1, False)
    mrr = np.mean([1.0 / (1 + min(r.index(j) for j in rel)) if min(
        r.index(j) for j in rel) < 5 else 0.0 for r, rel in zip(rankings, relevance)])
    got = retrieval_scores(X, ref, relevance, k=5, querybank=bank, beta=4.0)
    assert got["mrr@5"] == pytest.approx(mrr, abs=1e-12)
    assert got["mrr@5"] != pytest.approx(retrieval_scores(X, ref, relevance, k=5)["mrr@5"])

"""Retrieval metrics against a brute-force ranking and PML."""

import re
import warnings

import numpy as np
import pytest

from skmetric.metrics import (
    map_at_r,
    mean_average_precision,
    mrr,
    precision_at_k,
    r_precision,
    recall_at_k,
    retrieval_report,
)

# --------------------------------------------------------------------------
# Brute-force reference: full distance matrix, one Python loop per query.
# --------------------------------------------------------------------------


def brute_rankings(X, labels, X_ref, labels_ref, metric):
    loo = X_ref is None
    R = X if loo else X_ref
    lr = np.asarray(labels if loo else labels_ref)
    if metric == "euclidean":
        D = np.sqrt(((X[:, None, :] - R[None, :, :]) ** 2).sum(-1))
    elif metric == "cosine":
        D = -(X / np.linalg.norm(X, axis=1, keepdims=True)) @ (
            R / np.linalg.norm(R, axis=1, keepdims=True)).T
    else:
        D = -(X @ R.T)
    out = []
    for q in range(len(X)):
        cand = [j for j in range(len(R)) if not (loo and j == q)]
        cand.sort(key=lambda j: (D[q, j], j))
        rel = np.array([lr[j] == labels[q] for j in cand], dtype=bool)
        out.append(rel)
    return out


def brute_metric(name, X, labels, X_ref=None, labels_ref=None, metric="euclidean", k=None):
    values = []
    for rel in brute_rankings(X, labels, X_ref, labels_ref, metric):
        R = int(rel.sum())
        if R == 0:
            continue
        if name == "recall":
            values.append(float(rel[:k].any()))
        elif name == "precision":
            values.append(rel[:k].sum() / k)
        elif name == "r_precision":
            values.append(rel[:R].sum() / R)
        elif name in ("map_at_r", "map"):
            depth = R if name == "map_at_r" else (len(rel) if k is None else k)
            s = 0.0
            for i in range(min(depth, len(rel))):
                if rel[i]:
                    s += rel[: i + 1].sum() / (i + 1)
            values.append(s / R)
        elif name == "mrr":
            top = rel if k is None else rel[:k]
            values.append(1.0 / (np.argmax(top) + 1) if top.any() else 0.0)
    return float(np.mean(values)) if values else float("nan")


def tie_data(n, d, n_classes, seed):
    rng = np.random.RandomState(seed)
    X = rng.randint(-2, 3, size=(n, d)).astype(np.float64)  # exact distances, many ties
    y = rng.randint(n_classes, size=n)
    y[-1] = n_classes + 7  # a lone label
    return X, y


CASES = ["loo", "ref"]


def case_data(case, seed=0, strings=False):
    X, y = tie_data(45, 3, 5, seed)
    if strings:
        y = np.array([f"class-{v}" for v in y], dtype=object)
    if case == "loo":
        return X, y, None, None
    X_ref, y_ref = tie_data(38, 3, 5, seed + 100)
    y_ref[-1] += 1  # the query's lone label is absent from the reference set
    if strings:
        y_ref = np.array([f"class-{v}" for v in y_ref], dtype=object)
    return X, y, X_ref, y_ref


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("strings", [False, True])
@pytest.mark.parametrize("k", [1, 2, 5, 60])
def test_recall_and_precision_at_k_brute_force(case, strings, k):
    X, y, Xr, yr = case_data(case, strings=strings)
    got = recall_at_k(X, y, k, X_ref=Xr, labels_ref=yr)
    assert got == pytest.approx(brute_metric("recall", X, y, Xr, yr, k=k), abs=1e-12)
    got = precision_at_k(X, y, k, X_ref=Xr, labels_ref=yr)
    assert got == pytest.approx(brute_metric("precision", X, y, Xr, yr, k=k), abs=1e-12)


def test_recall_at_1_tiny_budget_and_float32():
    X, y, _, _ = case_data("loo")
    expected = brute_metric("recall", X, y, k=1)
    assert recall_at_k(X, y, 1, memory_budget=2000) == pytest.approx(expected, abs=1e-12)
    rng = np.random.RandomState(0)
    Xf = rng.normal(size=(80, 6)).astype(np.float32)
    yf = rng.randint(4, size=80)
    assert recall_at_k(Xf, yf, 3) == pytest.approx(
        brute_metric("recall", Xf.astype(np.float64), yf, k=3), abs=1e-12)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("strings", [False, True])
def test_r_metrics_map_mrr_brute_force(case, strings):
    X, y, Xr, yr = case_data(case, seed=1, strings=strings)
    kw = dict(X_ref=Xr, labels_ref=yr)
    assert r_precision(X, y, **kw) == pytest.approx(brute_metric("r_precision", X, y, Xr, yr))
    assert map_at_r(X, y, **kw) == pytest.approx(brute_metric("map_at_r", X, y, Xr, yr))
    assert mean_average_precision(X, y, **kw) == pytest.approx(brute_metric("map", X, y, Xr, yr))
    assert mean_average_precision(X, y, 3, **kw) == pytest.approx(
        brute_metric("map", X, y, Xr, yr, k=3))
    assert mrr(X, y, **kw) == pytest.approx(brute_metric("mrr", X, y, Xr, yr))
    assert mrr(X, y, 2, **kw) == pytest.approx(brute_metric("mrr", X, y, Xr, yr, k=2))


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "dot"])
def test_metrics_for_each_distance(metric):
    rng = np.random.RandomState(2)
    X = rng.normal(size=(50, 4)) + 0.1
    y = rng.randint(4, size=50)
    for name, fn in [("r_precision", r_precision), ("map_at_r", map_at_r)]:
        assert fn(X, y, metric=metric) == pytest.approx(brute_metric(name, X, y, metric=metric))
    assert recall_at_k(X, y, 2, metric=metric) == pytest.approx(
        brute_metric("recall", X, y, metric=metric, k=2))


@pytest.mark.parametrize("case", CASES)
def test_report_equals_single_functions(case):
    X, y, Xr, yr = case_data(case, seed=2, strings=True)
    kw = dict(X_ref=Xr, labels_ref=yr)
    rep = retrieval_report(X, y, ks=(1, 3, 50), memory_budget=3000, **kw)
    for k in (1, 3, 50):
        assert rep[f"recall@{k}"] == pytest.approx(recall_at_k(X, y, k, **kw))
        assert rep[f"precision@{k}"] == pytest.approx(precision_at_k(X, y, k, **kw))
    assert rep["r_precision"] == pytest.approx(r_precision(X, y, **kw))
    assert rep["map@r"] == pytest.approx(map_at_r(X, y, **kw))
    depth = rep["depth"]
    assert rep["mean_average_precision"] == pytest.approx(
        mean_average_precision(X, y, depth, **kw))
    assert rep["mrr"] == pytest.approx(mrr(X, y, depth, **kw))
    lone = 1  # the label forced to be unique in tie_data
    assert rep["n_excluded"] >= lone and rep["n_queries"] + rep["n_excluded"] == len(X)
    full = retrieval_report(X, y, ks=(1,), depth="all", **kw)
    assert full["mean_average_precision"] == pytest.approx(mean_average_precision(X, y, **kw))
    assert full["mrr"] == pytest.approx(mrr(X, y, **kw))


def test_r_precision_self_sizes_to_largest_class():
    # One big class (R = 29) and small ones: a fixed small k would be wrong.
    rng = np.random.RandomState(0)
    y = np.r_[np.zeros(30, int), np.repeat(np.arange(1, 6), 3)]
    X = rng.normal(size=(len(y), 3))
    assert r_precision(X, y) == pytest.approx(brute_metric("r_precision", X, y))
    assert map_at_r(X, y) == pytest.approx(brute_metric("map_at_r", X, y))


def test_perfect_and_known_values():
    X = np.array([[0.0], [0.1], [5.0], [5.1], [5.2]])
    y = [0, 0, 1, 1, 1]
    for fn in (recall_at_k, precision_at_k, r_precision, map_at_r, mean_average_precision, mrr):
        assert fn(X, y) == 1.0


def test_all_lone_queries_give_nan_with_warning():
    X = np.eye(3)
    with pytest.warns(UserWarning, match="every query's label has no other reference item"):
        assert np.isnan(recall_at_k(X, ["a", "b", "c"]))
    with pytest.warns(UserWarning, match="3 queries excluded"):
        rep = retrieval_report(X, ["a", "b", "c"])
    assert rep["n_excluded"] == 3 and np.isnan(rep["map@r"])


def test_query_vs_reference_self_is_not_excluded():
    X = np.array([[0.0], [1.0], [10.0]])
    # Reference = queries: each query finds itself at distance 0.
    assert recall_at_k(X, [0, 1, 2], X_ref=X, labels_ref=[0, 1, 2]) == 1.0
    # Leave-one-out: no other item shares a label.
    with pytest.warns(UserWarning):
        assert np.isnan(recall_at_k(X, [0, 1, 2]))


# --------------------------------------------------------------------------
# Against pytorch-metric-learning's AccuracyCalculator where definitions agree.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_against_pml_accuracy_calculator(case):
    pytest.importorskip("pytorch_metric_learning")
    pytest.importorskip("faiss")
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator

    rng = np.random.RandomState(0)
    n_classes = 12
    X = rng.normal(size=(300, 16)).astype(np.float32)
    y = rng.randint(n_classes, size=300)
    y[0] = 99  # lone query
    if case == "loo":
        Xr = yr = None
        ref, ref_y, includes = X, y, True
    else:
        Xr = rng.normal(size=(200, 16)).astype(np.float32)
        yr = rng.randint(n_classes, size=200)
        ref, ref_y, includes = Xr, yr, False
    calc = AccuracyCalculator(
        include=("precision_at_1", "r_precision", "mean_average_precision_at_r",
                 "mean_average_precision"),
        k=None,
    )
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pml = calc.get_accuracy(torch.as_tensor(X), torch.as_tensor(y), torch.as_tensor(ref),
                                torch.as_tensor(ref_y), ref_includes_query=includes)
    kw = dict(X_ref=Xr, labels_ref=yr)
    assert precision_at_k(X, y, 1, **kw) == pytest.approx(pml["precision_at_1"], abs=1e-6)
    assert r_precision(X, y, **kw) == pytest.approx(pml["r_precision"], abs=1e-6)
    assert map_at_r(X, y, **kw) == pytest.approx(pml["mean_average_precision_at_r"], abs=1e-6)
    assert mean_average_precision(X, y, **kw) == pytest.approx(
        pml["mean_average_precision"], abs=1e-6)


# --------------------------------------------------------------------------
# Bad input.
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((np.eye(3), [0, 1]), {}, "X has 3 samples but `labels` has 2."),
        ((np.eye(3), [0, 1, 1]), {"k": 0}, "`k` must be an integer >= 1; got 0."),
        ((np.eye(3), [0, 1, 1]), {"k": 1.5}, "`k` must be an integer >= 1; got 1.5."),
        ((np.array([[np.nan, 0.0], [1.0, 1.0]]), [0, 0]), {}, "Input X contains NaN."),
        ((np.array([[np.inf, 0.0], [1.0, 1.0]]), [0, 0]), {}, "Input X contains infinity"),
        ((np.ones((1, 2)), [0]), {},
         "Found array with 1 sample(s) (shape=(1, 2)) while a minimum of 2 is required"),
        ((np.ones((0, 2)), []), {}, "Found array with 0 sample(s)"),
        ((np.eye(3), [0, 1, 1]), {"X_ref": np.eye(3)}, "`X_ref` was given without `labels_ref`."),
        ((np.eye(3), [0, 1, 1]), {"labels_ref": [0]}, "`labels_ref` was given without `X_ref`."),
        ((np.eye(3), [0, 1, 1]), {"X_ref": np.eye(3), "labels_ref": [0, 1]},
         "X_ref has 3 samples but `labels_ref` has 2."),
        ((np.eye(3), [0, 1, 1]), {"X_ref": np.ones((2, 2)), "labels_ref": [0, 1]},
         "X has 3 features but X_ref has 2."),
        ((np.eye(3), [0, 1, 1]), {"metric": "l1"},
         "`metric` must be one of ['euclidean', 'cosine', 'dot']; got 'l1'."),
        ((np.eye(3), np.zeros((3, 2))), {}, "`labels` must be 1-D; got an array of shape (3, 2)."),
    ],
)
def test_bad_input(args, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        recall_at_k(*args, **kwargs)


def test_bad_ks_in_report():
    with pytest.raises(ValueError, match=re.escape("`ks` must be an integer >= 1; got 0.")):
        retrieval_report(np.eye(3), [0, 1, 1], ks=(1, 0))


def test_block_statistics_match_loop_written_definitions():
    # The per-query statistics of a block of relevance rows (sums over the
    # relevant neighbours only) against their definitions written as loops:
    # rows with no relevant neighbour, all relevant, R above and below the
    # depth (AP divides by R whatever the depth).
    from skmetric.metrics import _retrieval as ret

    rng = np.random.RandomState(0)
    n, depth = 60, 9
    rel = rng.rand(n, depth) < 0.3
    rel[0] = False
    rel[1] = True
    R = rng.randint(1, 14, size=n)
    R[1] = depth
    b = ret._Block(rel, R)
    for q in range(n):
        row, r = rel[q], R[q]
        hits = np.cumsum(row)
        prec = [hits[i] / (i + 1) * row[i] for i in range(depth)]
        assert ret._hit(b, 3)[q] == float(row[:3].any())
        assert ret._precision(b, 4)[q] == hits[3] / 4
        assert ret._precision(b, 12)[q] == hits[-1] / 12  # k beyond the depth
        assert ret._average_precision(b)[q] == pytest.approx(sum(prec) / r, abs=1e-15)
        first = [i for i in range(depth) if row[i]]
        assert ret._reciprocal_rank(b)[q] == (1 / (first[0] + 1) if first else 0.0)
        if r <= depth:
            assert ret._r_precision(b)[q] == hits[r - 1] / r
            assert ret._map_at_r(b)[q] == pytest.approx(sum(prec[:r]) / r, abs=1e-15)

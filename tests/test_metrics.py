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

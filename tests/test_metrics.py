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


# --------------------------------------------------------------------------
# Clustering, verification, geometry.
# --------------------------------------------------------------------------

from sklearn.cluster import KMeans  # noqa: E402
from sklearn.metrics import adjusted_mutual_info_score, normalized_mutual_info_score  # noqa: E402

from skmetric.metrics import (  # noqa: E402
    alignment,
    ami,
    equal_error_rate,
    far_frr,
    nmi,
    opis,
    pair_roc_auc,
    uniformity,
)


def blob_data(seed=0, strings=False):
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(4), 12)
    X = rng.normal(size=(48, 5)) + 2.5 * np.eye(5)[y]
    y = y.copy()
    y[-1] = 9  # lone label
    if strings:
        y = np.array([f"c{v}" for v in y])
    return X, y


@pytest.mark.parametrize("strings", [False, True])
def test_nmi_ami_match_sklearn_kmeans(strings):
    X, y = blob_data(strings=strings)
    pred = KMeans(n_clusters=5, random_state=3, n_init=1).fit_predict(X)
    assert nmi(X, y, random_state=3) == pytest.approx(normalized_mutual_info_score(y, pred))
    assert ami(X, y, random_state=3) == pytest.approx(adjusted_mutual_info_score(y, pred))
    assert nmi(X, y, random_state=3) == nmi(X, y, random_state=3)


def brute_pairs(X, y, metric):
    s, g = [], []
    for i in range(len(X)):
        for j in range(i + 1, len(X)):
            if metric == "cosine":
                v = X[i] @ X[j] / np.linalg.norm(X[i]) / np.linalg.norm(X[j])
            elif metric == "dot":
                v = X[i] @ X[j]
            else:
                v = -np.linalg.norm(X[i] - X[j])
            s.append(v)
            g.append(y[i] == y[j])
    return np.array(s), np.array(g)


@pytest.mark.parametrize("metric", ["cosine", "dot", "euclidean"])
def test_verification_brute_force(metric):
    X, y = blob_data(1, strings=True)
    if metric != "cosine":
        X = np.round(2 * X)  # small integers: exact scores with ties
    s, g = brute_pairs(X, y, metric)
    pos, neg = s[g], s[~g]
    auc = np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])
    assert pair_roc_auc(X, y, metric=metric) == pytest.approx(auc)
    for t in (np.median(s) + 1e-9, np.quantile(s, 0.9) + 1e-9, pos[0] + 1e-9):
        thr = -t if metric == "euclidean" else t
        far, frr = far_frr(X, y, thr, metric=metric)
        assert far == pytest.approx(np.mean(neg >= t))
        assert frr == pytest.approx(np.mean(pos < t))
    # EER: FAR and FRR at the crossing of the (linearly interpolated) curve.
    ts = np.unique(s)
    fars = np.array([np.mean(neg >= t) for t in ts])
    frrs = np.array([np.mean(pos < t) for t in ts])
    eer = equal_error_rate(X, y, metric=metric)
    lo = np.max(np.minimum(fars, frrs)[fars >= frrs]) if (fars >= frrs).any() else 0
    hi = np.min(np.maximum(fars, frrs)[fars <= frrs]) if (fars <= frrs).any() else 1
    assert min(lo, hi) - 1e-12 <= eer <= max(lo, hi) + 1e-12


def test_far_frr_vector_and_eer_perfect():
    X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    far, frr = far_frr(X, [0, 0, 1, 1], [-1.0, 0.5, 1.01])
    np.testing.assert_array_equal(far, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(frr, [0.0, 0.0, 1.0])
    assert equal_error_rate(X, [0, 0, 1, 1]) == 0.0


def brute_opis(X, y, far_range, n):
    s, g = brute_pairs(X, y, "cosine")
    i, j = np.triu_indices(len(X), 1)
    neg = s[~g]
    d = np.linspace(*np.quantile(neg, [1 - far_range[1], 1 - far_range[0]]), n)
    U = []
    for c in np.unique(y):
        pos_c = s[g & (y[i] == c)]
        neg_c = s[~g & ((y[i] == c) | (y[j] == c))]
        if len(pos_c) == 0:
            continue
        row = []
        for t in d:
            tar, trr = np.mean(pos_c >= t), np.mean(neg_c < t)
            row.append(0.0 if tar + trr == 0 else 2 * tar * trr / (tar + trr))
        U.append(row)
    U = np.array(U)
    dev = ((U - U.mean(0)) ** 2).mean(0)
    return np.trapezoid(dev, d) / (d[-1] - d[0])


def test_opis_brute_force_and_consistency():
    X, y = blob_data(2)
    assert opis(X, y, far_range=(0.01, 0.3), n_thresholds=21) == pytest.approx(
        brute_opis(X, y, (0.01, 0.3), 21))
    assert opis(X, y) >= 0


def test_alignment_uniformity_brute_force():
    X, y = blob_data(3)
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    i, j = np.triu_indices(len(X), 1)
    d2 = ((U[i] - U[j]) ** 2).sum(1)
    pos = y[i] == y[j]
    assert alignment(X, y) == pytest.approx(d2[pos].mean())
    assert alignment(X, y, alpha=1) == pytest.approx(np.sqrt(d2[pos]).mean())
    assert uniformity(X) == pytest.approx(np.log(np.mean(np.exp(-2 * d2))))
    assert uniformity(X, t=0.5) == pytest.approx(np.log(np.mean(np.exp(-0.5 * d2))))


@pytest.mark.parametrize(
    "func, args, message",
    [
        (nmi, (np.eye(3), [0, 1]), "X has 3 samples but `labels` has 2."),
        (pair_roc_auc, (np.eye(3), [0, 1, 2]),
         "At least one genuine (same-label) pair is needed; `labels` has none."),
        (equal_error_rate, (np.eye(3), [0, 0, 0]),
         "At least one impostor (different-label) pair is needed; `labels` has none."),
        (far_frr, (np.eye(3), [0, 0, 1], np.nan), "`threshold` must be finite."),
        (alignment, (np.eye(3), [0, 1, 2]), "alignment needs at least one positive pair"),
        (uniformity, (np.ones((1, 3)),), "Found array with 1 sample(s)"),
        (opis, (np.array([[np.nan, 1.0], [1.0, 1.0]]), [0, 1]), "Input X contains NaN."),
    ],
)
def test_bad_input_other_metrics(func, args, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        func(*args)

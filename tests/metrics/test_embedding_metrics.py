"""Clustering, verification and geometry metrics against brute force (shared blob data)."""

import re

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_mutual_info_score, normalized_mutual_info_score

from skmetric.metrics import (
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

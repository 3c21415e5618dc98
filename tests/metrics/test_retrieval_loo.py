"""The symmetric leave-one-out search behind the retrieval metrics, against brute force.

The search only runs when the rows span its sample and two more tiles, so
most tests shrink the tile and the sample (module constants) to keep the
data small; each checks that the symmetric search did run.
"""

import numpy as np
import pytest
import torch

import skmetric.metrics._retrieval as retrieval
import skmetric.metrics._retrieval_loo as loo
from skmetric.metrics import (
    map_at_r,
    mean_average_precision,
    mrr,
    precision_at_k,
    r_precision,
    recall_at_k,
    retrieval_report,
)


def brute_neighbours(X, k, metric):
    """k nearest other rows of each row, by (score, index), one row at a time."""
    X = np.asarray(X, dtype=np.float64)
    if metric == "cosine":
        X = X / np.linalg.norm(X, axis=1, keepdims=True)
    out = []
    for q in range(len(X)):
        if metric == "euclidean":
            score = ((X - X[q]) ** 2).sum(axis=1)
        else:
            score = -(X @ X[q])
        order = sorted((j for j in range(len(X)) if j != q), key=lambda j: (score[j], j))
        out.append(order[:k])
    return np.array(out)


def loo_neighbours(X, k, metric):
    """The tiled leave-one-out search's (n, k) neighbours (asserting it applies)
    and its plan."""
    n = len(X)
    plan = loo._loo_plan(n, k, X.itemsize, 2**28)
    assert plan is not None
    got = np.empty((n, k), dtype=np.int64)
    for rows, ind in loo._iter_loo_knn(X, k, metric, plan, 2**28):
        got[rows] = ind.numpy()
    return got, plan


def brute_report(X, y, metric, depth):
    """P@1, R-Precision, MAP@R, MAP and MRR within ``depth``, one query at a time."""
    y = np.asarray(y)
    nn = brute_neighbours(X, depth, metric)
    rows = {"precision@1": [], "r_precision": [], "map@r": [],
            "mean_average_precision": [], "mrr": []}
    for q in range(len(X)):
        R = int((y == y[q]).sum()) - 1
        if R == 0:
            continue
        rel = y[nn[q]] == y[q]
        hits = np.cumsum(rel)
        prec = hits / np.arange(1, depth + 1)
        rows["precision@1"].append(float(rel[0]))
        rows["r_precision"].append(hits[R - 1] / R)
        rows["map@r"].append((prec * rel)[:R].sum() / R)
        rows["mean_average_precision"].append((prec * rel).sum() / R)
        first = np.flatnonzero(rel)
        rows["mrr"].append(1.0 / (first[0] + 1) if len(first) else 0.0)
    return {name: float(np.mean(v)) for name, v in rows.items()}


@pytest.fixture
def one_thread():
    """One torch thread: many small matmuls wait on each other's threads on a
    loaded machine (speed only; the results do not depend on it)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def small_tiles(monkeypatch, one_thread):
    """Tiles of 32 rows and a sample of 128 rows, so that ~400 rows use the search."""
    monkeypatch.setattr(loo, "_TILE", 32)
    monkeypatch.setattr(loo, "_SAMPLES", ((128, 0),))
    return monkeypatch


def spy_plan(monkeypatch):
    """Record the plans that the metrics ask for."""
    plans = []
    original = loo._loo_plan

    def plan(*args):
        plans.append(original(*args))
        return plans[-1]

    monkeypatch.setattr(retrieval, "_loo_plan", plan)
    return plans


def labels(kind, n, rng):
    """Class labels with different class-size distributions."""
    if kind == "uniform":  # ~10 per class
        y = rng.randint(n // 10, size=n)
    elif kind == "singletons":  # many lone queries
        y = np.r_[rng.randint(20, size=n // 2), np.arange(100, 100 + n - n // 2)]
    else:  # one big class, the rest small
        y = np.r_[np.zeros(20, int), rng.randint(1, n // 6, size=n - 20)]
    rng.shuffle(y)
    return y


def tie_data(n, d, rng):
    """Small integers: exact scores in float32 and float64, many exact ties."""
    return rng.randint(-2, 3, size=(n, d)).astype(np.float64)


@pytest.mark.parametrize("n", [403, 416])  # a ragged last tile, and none
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_search_equals_brute_force_with_ties(small_tiles, n, dtype):
    rng = np.random.RandomState(n)
    X = tie_data(n, 4, rng).astype(dtype)
    k = 9
    got, _ = loo_neighbours(X, k, "euclidean")
    np.testing.assert_array_equal(got, brute_neighbours(X, k, "euclidean"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("miss, cap_ratio", [(0.5, 4), (0.002, 2)])
def test_search_redo_and_cut_paths(small_tiles, miss, cap_ratio, dtype):
    # miss=0.5: thresholds often below the k-th score, those queries are searched
    # again; cap 2k with loose thresholds: stores overflow and are cut back.
    small_tiles.setattr(loo, "_MISS", miss)
    small_tiles.setattr(loo, "_CAP_RATIO", cap_ratio)
    rng = np.random.RandomState(1)
    n, k = 410, 12
    X = tie_data(n, 3, rng).astype(dtype)
    calls = {"redo": 0, "cut": 0}
    redo, cut = loo._search_again, loo._Store._cut

    def count_redo(*args, **kwargs):
        calls["redo"] += 1
        return redo(*args, **kwargs)

    def count_cut(*args, **kwargs):
        calls["cut"] += 1
        return cut(*args, **kwargs)

    small_tiles.setattr(loo, "_search_again", count_redo)
    small_tiles.setattr(loo._Store, "_cut", count_cut)
    got, plan = loo_neighbours(X, k, "euclidean")
    assert plan[2] == cap_ratio * k
    np.testing.assert_array_equal(got, brute_neighbours(X, k, "euclidean"))
    assert calls["redo" if miss == 0.5 else "cut"] > 0


@pytest.mark.parametrize("kind", ["uniform", "singletons", "big_class"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_report_with_ties_equals_brute_force(small_tiles, kind, dtype):
    rng = np.random.RandomState(7)
    n = 420
    X = tie_data(n, 4, rng).astype(dtype)
    y = labels(kind, n, rng)
    plans = spy_plan(small_tiles)
    report = retrieval_report(X, y, ks=(1,))
    assert plans and plans[-1] is not None
    expected = brute_report(X, y, "euclidean", report["depth"])
    for name, value in expected.items():
        assert report[name] == pytest.approx(value, abs=1e-12), name
    assert report["n_excluded"] == sum((y == v).sum() == 1 for v in y)


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "dot"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_single_metrics_equal_brute_force(small_tiles, metric, dtype):
    # Continuous data (no ties): cosine and dot scores are rounded.
    rng = np.random.RandomState(3)
    n = 400
    y = labels("uniform", n, rng)
    X = (rng.normal(size=(n, 6)) + 0.3 * y[:, None] % 3).astype(dtype)
    plans = spy_plan(small_tiles)
    depth = int(max((y == v).sum() for v in y)) - 1
    expected = brute_report(X, y, metric, depth)
    assert r_precision(X, y, metric=metric) == pytest.approx(expected["r_precision"], abs=1e-12)
    assert map_at_r(X, y, metric=metric) == pytest.approx(expected["map@r"], abs=1e-12)
    assert precision_at_k(X, y, 1, metric=metric) == pytest.approx(
        expected["precision@1"], abs=1e-12)
    assert recall_at_k(X, y, 1, metric=metric) == pytest.approx(
        expected["precision@1"], abs=1e-12)
    assert mean_average_precision(X, y, depth, metric=metric) == pytest.approx(
        expected["mean_average_precision"], abs=1e-12)
    assert mrr(X, y, depth, metric=metric) == pytest.approx(expected["mrr"], abs=1e-12)
    assert len(plans) == 6 and all(p is not None for p in plans)


def test_plan_falls_back_when_it_does_not_apply(small_tiles):
    assert loo._loo_plan(150, 5, 4, 2**28) is None  # fewer rows than sample + 2 tiles
    assert loo._loo_plan(400, 5, 4, 1000) is None  # stores beyond the memory budget
    assert loo._loo_plan(400, 200, 4, 2**28) is None  # no sampled rank with P(miss) small
    # The fallback (the tiled search) gives the same report.
    rng = np.random.RandomState(5)
    X, y = tie_data(400, 4, rng), labels("uniform", 400, rng)
    fast = retrieval_report(X, y, ks=(1, 5))
    small_tiles.setattr(retrieval, "_loo_plan", lambda *args: None)
    slow = retrieval_report(X, y, ks=(1, 5))
    assert fast == pytest.approx(slow, abs=1e-12)


def test_default_sizes_equal_the_tiled_search(monkeypatch, one_thread):
    # Real tile and sample sizes (4,096 rows needed): against the plain tiled search.
    rng = np.random.RandomState(0)
    n = 4500
    y = rng.randint(n // 40, size=n)
    X = (rng.normal(size=(n // 40, 8))[y] + rng.normal(size=(n, 8))).astype(np.float32)
    plans = spy_plan(monkeypatch)
    fast = retrieval_report(X, y, ks=(1, 4))
    assert plans[-1] is not None
    monkeypatch.setattr(retrieval, "_loo_plan", lambda *args: None)
    slow = retrieval_report(X, y, ks=(1, 4))
    assert fast == pytest.approx(slow, abs=1e-12)
    assert fast["r_precision"] > 0.05  # a real signal, not an all-zero report


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_smallest_orders_by_score_then_index(dtype):
    # Negative scores, -0.0 next to 0.0 (equal: ordered by index), exact ties,
    # inf in empty slots with a sentinel index; against a sort written as a loop.
    rng = np.random.RandomState(0)
    V = rng.choice(np.array([-3.5, -1.0, -0.0, 0.0, 0.25, 2.0, 1e30], dtype=dtype),
                   size=(50, 13))
    Ind = np.array([rng.permutation(40)[:13] for _ in range(50)], dtype=np.int32)
    V[:, -2:] = np.inf
    Ind[:, -2:] = 40
    k = 6
    store = loo._Store(40, k, 13, dtype)
    entries = (loo._keys(V, Ind),) if dtype == np.float32 else (V, Ind)
    best, kth = store._smallest(entries, k, order=True)
    if dtype == np.float32:
        values, index = loo._unkey(best[0])
    else:
        values, index = best
    for q in range(len(V)):
        order = sorted(range(13), key=lambda c: (float(V[q, c]), int(Ind[q, c])))[:k]
        np.testing.assert_array_equal(index[q], Ind[q, order])
        np.testing.assert_array_equal(values[q], V[q, order])
        assert kth[q] == V[q, order[-1]]
    assert values.dtype == dtype and index.dtype == np.int32
    # Unsorted (the merges of a cut): the same k entries and the same k-th score.
    unsorted, kth2 = store._smallest(entries, k, order=False)
    np.testing.assert_array_equal(np.sort(unsorted[0], axis=1), best[0])
    np.testing.assert_array_equal(kth2, kth)


@pytest.mark.parametrize("w", [24, 32])  # tile widths: divisions, and shifts (a power of two)
@pytest.mark.parametrize("sample_rank", [None, 3])
def test_both_candidates_equal_the_thresholded_entries(sample_rank, w):
    rng = np.random.RandomState(1)
    n = 64  # 8 column groups of 8 rows
    F = rng.randint(0, 40, size=(n, w)).astype(np.float32)  # many ties with the thresholds
    row_thresh = rng.randint(0, 8, size=n).astype(np.float32)
    col_thresh = rng.randint(0, 8, size=w).astype(np.float32)
    (r, c, v), (c2, r2, v2), thresh = loo._both_candidates(
        F, row_thresh, None if sample_rank else col_thresh, sample_rank)
    if sample_rank:
        # The j-th smallest minimum of the row groups g, g + 8, ... of each column.
        col_thresh = np.array([sorted(F[g::8, col].min() for g in range(8))[sample_rank - 1]
                               for col in range(w)], dtype=np.float32)
    np.testing.assert_array_equal(thresh, col_thresh)
    rows_expected = [(a, b) for a in range(n) for b in range(w) if F[a, b] <= row_thresh[a]]
    cols_expected = [(b, a) for b in range(w) for a in range(n) if F[a, b] <= col_thresh[b]]
    assert list(zip(r.tolist(), c.tolist())) == rows_expected  # rows ascending, then columns
    assert (np.diff(c2) >= 0).all()  # columns ascending (rows in any order)
    assert sorted(zip(c2.tolist(), r2.tolist())) == cols_expected
    np.testing.assert_array_equal(v, F[r, c])
    np.testing.assert_array_equal(v2, F[r2, c2])
    assert len(rows_expected) > 0 and len(cols_expected) > 0


def test_threshold_order_groups_consecutive_thresholds():
    rng = np.random.RandomState(2)
    tile, n = 32, 80  # two full blocks and a ragged one
    thresh = rng.normal(size=n).astype(np.float32)
    order = loo._threshold_order(thresh, tile)
    assert sorted(order.tolist()) == list(range(n))
    ranked = np.argsort(np.argsort(thresh, kind="stable"), kind="stable")[order]
    G = tile // 8
    for b0 in range(0, n - n % tile, tile):
        block = ranked[b0:b0 + tile]
        for g in range(G):
            members = block[g::G]  # rows g, g + G, ... of the block: one column group
            assert sorted(members.tolist()) == list(range(members.min(), members.min() + 8))
    assert sorted(ranked[n - n % tile:].tolist()) == list(range(n - n % tile, n))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_search_dot_with_zero_rows_equals_brute_force(small_tiles, dtype):
    # "dot" on small integers: exact scores, ties, and zero rows whose scores
    # are 0.0 or -0.0 (equal, so ordered by index).
    rng = np.random.RandomState(4)
    n, k = 410, 7
    X = tie_data(n, 3, rng).astype(dtype)
    X[rng.choice(n, 30, replace=False)] = 0.0
    got, _ = loo_neighbours(X, k, "dot")
    np.testing.assert_array_equal(got, brute_neighbours(X, k, "dot"))


@pytest.mark.parametrize("d", [5, 6, 14])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_augmented_factors_give_the_scores(d, dtype):
    # The factors' product is the score matrix: squared distances for
    # "euclidean" (two norm columns, no zero padding), minus the inner
    # products for "dot".
    rng = np.random.RandomState(d)
    X = rng.randint(-3, 4, size=(30, d)).astype(np.float64)  # exact in float32
    left, right = loo._augmented(X, "euclidean", dtype)
    assert left.shape[1] == right.shape[1] == d + 2
    expected = ((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_array_equal((left @ right.T).numpy(), expected)
    left, right = loo._augmented(X, "dot", dtype)
    np.testing.assert_array_equal((left @ right.T).numpy(), -(X @ X.T))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tile_products_through_numpy_blas(threads, dtype):
    # np.matmul into the tile buffer gives the exact products (small integers),
    # and numpy's BLAS runs on torch's thread count inside _blas_threads.
    from threadpoolctl import threadpool_info

    rng = np.random.RandomState(0)
    a = torch.as_tensor(rng.randint(-3, 4, size=(40, 16)), dtype=dtype)
    b = torch.as_tensor(rng.randint(-3, 4, size=(24, 16)), dtype=dtype)
    buf = torch.full((2000,), torch.nan, dtype=dtype)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with loo._blas_threads():
            out = loo._mm(a[5:35], b[2:20], buf[: 30 * 18].view(30, 18))
            mine = {lib.filepath for lib in loo._BLAS.lib_controllers}
            blas = [lib for lib in threadpool_info() if lib["filepath"] in mine]
    finally:
        torch.set_num_threads(before)
    assert out.data_ptr() == buf.data_ptr()
    np.testing.assert_array_equal(out.numpy(), (a[5:35].double() @ b[2:20].double().T).numpy())
    assert blas and all(lib["num_threads"] == threads for lib in blas)

import re

import numpy as np
import pytest

from skmetric.neighbors import _block_shape, kneighbors


def brute_knn(X, X_ref, k, metric):
    """Loop-free but naive reference: full matrix, lexicographic (dist, index) sort."""
    loo = X_ref is None
    R = X if loo else X_ref
    if metric == "euclidean":
        D = np.sqrt(((X[:, None, :] - R[None, :, :]) ** 2).sum(-1))
    elif metric == "cosine":
        Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
        Rn = R / np.linalg.norm(R, axis=1, keepdims=True)
        D = 1 - Xn @ Rn.T
    else:
        D = -(X @ R.T)
    if loo:
        D[np.arange(len(X)), np.arange(len(X))] = np.inf
    idx = np.broadcast_to(np.arange(R.shape[0]), D.shape)
    order = np.lexsort((idx, D), axis=1)[:, :k]
    return np.take_along_axis(D, order, axis=1), order


def int_data(n, d, seed, high=3):
    # Small integers: every distance is exact, and there are many ties.
    return np.random.RandomState(seed).randint(-high, high + 1, size=(n, d)).astype(np.float64)


@pytest.mark.parametrize("loo", [True, False])
@pytest.mark.parametrize("metric", ["euclidean", "dot"])
@pytest.mark.parametrize("budget", [2**30, 3000])
def test_exact_with_ties_matches_brute_force(loo, metric, budget):
    X = int_data(40, 3, 0)
    X_ref = None if loo else int_data(55, 3, 1)
    k = 7
    dist, ind = kneighbors(X, X_ref, k, metric=metric, memory_budget=budget)
    bd, bi = brute_knn(X, X_ref, k, metric)
    np.testing.assert_array_equal(ind, bi)
    np.testing.assert_allclose(dist, bd, atol=1e-12)


def test_tiny_budget_forces_many_blocks():
    rows, cols = _block_shape(40, 55, 7, 8, 3000)
    assert rows * cols < 40 * 55 and cols < 55
    rows, cols = _block_shape(40, 55, 7, 8, 2**30)
    assert (rows, cols) == (40, 55)


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "dot"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_float_all_metrics(metric, dtype):
    rng = np.random.RandomState(3)
    X = rng.normal(size=(60, 5)).astype(dtype)
    for X_ref in (None, rng.normal(size=(70, 5)).astype(dtype)):
        dist, ind = kneighbors(X, X_ref, 10, metric=metric, memory_budget=4000)
        bd, bi = brute_knn(X.astype(np.float64), None if X_ref is None else X_ref.astype(np.float64),
                           10, metric)
        np.testing.assert_array_equal(ind, bi)
        tol = 1e-4 if dtype == np.float32 else 1e-10
        np.testing.assert_allclose(dist, bd, rtol=tol, atol=tol)
        assert dist.dtype == dtype and ind.dtype == np.int64


def test_duplicates_are_kept_self_removed_by_index():
    X = np.zeros((4, 2))
    dist, ind = kneighbors(X, n_neighbors=3)
    np.testing.assert_array_equal(ind, [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])
    np.testing.assert_array_equal(dist, 0)


def test_all_references_and_string_free_torch_input():
    torch = pytest.importorskip("torch")
    X = int_data(12, 2, 5)
    dist, ind = kneighbors(torch.as_tensor(X), n_neighbors=11, memory_budget=500)
    bd, bi = brute_knn(X, None, 11, "euclidean")
    np.testing.assert_array_equal(ind, bi)


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "dot"])
@pytest.mark.parametrize("loo", [True, False])
def test_faiss_flat_equals_torch_exact(metric, loo):
    pytest.importorskip("faiss")
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 8)).astype(np.float32)
    X_ref = None if loo else rng.normal(size=(150, 8)).astype(np.float32)
    d1, i1 = kneighbors(X, X_ref, 5, metric=metric)
    d2, i2 = kneighbors(X, X_ref, 5, metric=metric, backend="faiss")
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(d1, d2, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("index", ["ivf", "hnsw"])
def test_faiss_approximate_close_to_exact(index):
    pytest.importorskip("faiss")
    rng = np.random.RandomState(0)
    X = rng.normal(size=(500, 8)).astype(np.float32)
    _, exact = kneighbors(X, n_neighbors=5)
    _, approx = kneighbors(X, n_neighbors=5, backend="faiss", index=index,
                           index_params={"nprobe": 22} if index == "ivf" else None)
    assert approx.shape == exact.shape
    # Self never returned; recall of the true neighbours is high.
    assert not (approx == np.arange(500)[:, None]).any()
    recall = np.mean([len(set(a) & set(e)) / 5 for a, e in zip(approx, exact)])
    assert recall > 0.9


def test_faiss_missing_message(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "faiss":
            raise ImportError("No module named 'faiss'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=re.escape("install the `faiss` extra")):
        kneighbors(np.eye(3), n_neighbors=1, backend="faiss")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"X": np.eye(3), "n_neighbors": 0}, "`n_neighbors` must be an integer >= 1; got 0."),
        ({"X": np.eye(3), "n_neighbors": 3},
         "`n_neighbors`=3 is larger than n_samples - 1 (leave-one-out)=2."),
        ({"X": np.eye(3), "X_ref": np.eye(3)[:2], "n_neighbors": 3},
         "`n_neighbors`=3 is larger than the number of references=2."),
        ({"X": np.eye(3), "X_ref": np.ones((3, 2))}, "X has 3 features but X_ref has 2."),
        ({"X": np.array([[np.nan, 1.0], [0.0, 1.0]])}, "Input X contains NaN."),
        ({"X": np.array([[np.inf, 1.0], [0.0, 1.0]])}, "Input X contains infinity"),
        ({"X": np.ones((1, 2))}, "Found array with 1 sample(s) (shape=(1, 2)) while a minimum of 2"),
        ({"X": np.ones((0, 2)), "X_ref": np.ones((2, 2))}, "Found array with 0 sample(s)"),
        ({"X": np.eye(3), "metric": "manhattan"},
         "`metric` must be one of ['euclidean', 'cosine', 'dot']; got 'manhattan'."),
        ({"X": np.eye(3), "index": "hnsw"}, "`index='hnsw'` needs backend='faiss'"),
        ({"X": np.eye(3), "backend": "annoy"}, "`backend` must be one of ['torch', 'faiss']"),
        ({"X": np.eye(3), "memory_budget": 0}, "`memory_budget` must be an integer >= 1; got 0."),
    ],
)
def test_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        kneighbors(**kwargs)


@pytest.mark.parametrize("seed", [0, 1])
def test_two_level_selection_on_wide_rows_with_ties(seed):
    # 20000 references and k=1 trigger the group-minima path; small integers
    # make many ties, so the exact fallback is exercised too.
    X = int_data(6, 2, seed, high=4)
    X_ref = int_data(20000, 2, seed + 1, high=40)
    dist, ind = kneighbors(X, X_ref, 1)
    bd, bi = brute_knn(X, X_ref, 1, "euclidean")
    np.testing.assert_array_equal(ind, bi)
    Xf = np.random.RandomState(seed).normal(size=(5, 3))
    Rf = np.random.RandomState(seed + 1).normal(size=(33000, 3))
    dist, ind = kneighbors(Xf, Rf, 2)
    bd, bi = brute_knn(Xf, Rf, 2, "euclidean")
    np.testing.assert_array_equal(ind, bi)


@pytest.mark.parametrize("group", [2, 16])
@pytest.mark.parametrize("loo", [True, False])
@pytest.mark.parametrize("metric", ["euclidean", "dot"])
@pytest.mark.parametrize("k", [1, 3, 7, 13])
def test_threshold_path_matches_brute_force_with_ties(monkeypatch, group, loo, metric, k):
    # Small integers give many exact ties; a small budget forces many row
    # blocks and column tiles, and several compactions of the candidates.
    import skmetric.neighbors as nb

    monkeypatch.setattr(nb, "_GROUP", group)
    X = int_data(90, 3, 2, high=2)
    X_ref = None if loo else int_data(700, 3, 4, high=2)
    n_ref = 90 if loo else 700
    budget = nb._TILE_OVERHEAD * 30 * 6 * (k + 1)
    shape = nb._tile_shape(90, n_ref, k, 8, budget)
    assert shape is not None and shape[1] < n_ref and shape[0] < 90
    dist, ind = kneighbors(X, X_ref, k, metric=metric, memory_budget=budget)
    bd, bi = brute_knn(X, X_ref, k, metric)
    np.testing.assert_array_equal(ind, bi)
    np.testing.assert_allclose(dist, bd, atol=1e-12)


@pytest.mark.parametrize("metric", ["euclidean", "dot"])
@pytest.mark.parametrize("k", [1, 4])
def test_topk_path_leave_one_out_in_column_blocks(metric, k):
    # the top-k path (the one used off the CPU) excludes each query's own row
    # without a per-block nonzero: many row and column blocks, ties, and a
    # query (-1) with nothing to exclude
    import skmetric.neighbors as nb

    X = int_data(60, 3, 7, high=3).astype(np.float64) + 0.5
    budget = 2 * 8 * 32 * 9 + 2 * 32 * 2 * (k + 1) * 16  # 32 rows x 9 columns
    self_index = np.arange(60)
    self_index[5] = -1
    got = np.zeros((60, k), dtype=np.int64)
    for q0, q1, _, i in nb._iter_knn(X, None, k, metric=metric, memory_budget=budget,
                                     self_index=self_index, method="topk"):
        got[q0:q1] = i.numpy()
    rows, cols = nb._block_shape(60, 60, k, 8, budget)
    assert rows < 60 and cols < 60
    _, want = brute_knn(X, None, k, metric)
    np.testing.assert_array_equal(np.delete(got, 5, axis=0), np.delete(want, 5, axis=0))
    _, with_self = brute_knn(X[5:6], X, k, metric)
    np.testing.assert_array_equal(got[5], with_self[0])


def test_threshold_path_all_equal_and_adversarial_order():
    # Every score tied (worst case for the threshold), then references
    # sorted from far to near so the first tile's threshold is loose.
    X = np.zeros((50, 4))
    dist, ind = kneighbors(X, n_neighbors=9, memory_budget=200_000)
    np.testing.assert_array_equal(ind, [[j for j in range(10) if j != i][:9] for i in range(50)])
    rng = np.random.RandomState(0)
    R = rng.normal(size=(3000, 4))
    R = R[np.argsort(-np.linalg.norm(R, axis=1))]
    Q = rng.normal(size=(40, 4)) * 0.01
    dist, ind = kneighbors(Q, R, 20, memory_budget=300_000)
    bd, bi = brute_knn(Q, R, 20, "euclidean")
    np.testing.assert_array_equal(ind, bi)
    np.testing.assert_allclose(dist, bd, rtol=1e-10)


def test_tile_shape_respects_budget_and_falls_back():
    from skmetric.neighbors import _TILE_OVERHEAD, _tile_shape

    rows, cols = _tile_shape(10_000, 1_000_000, 10, 4, 2**30)
    assert rows * cols * _TILE_OVERHEAD <= 2**30
    # k too large for a tile much wider than k: top-k-per-block search.
    assert _tile_shape(100, 1000, 500, 8, 10_000) is None

"""Label metrics: distances against scipy's shortest paths, construction and errors."""

import re

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from skmetric.label_space import (
    CallableMetric,
    DiscreteMetric,
    DistanceMatrix,
    EmbeddingMetric,
    GraphMetric,
    TreeMetric,
    make_label_metric,
)


def test_tree_distances_match_shortest_paths():
    rng = np.random.default_rng(0)
    parents = {i: int(rng.integers(0, i)) for i in range(1, 60)}
    tree = TreeMetric(parents)
    rows = np.array(list(parents.keys()))
    cols = np.array(list(parents.values()))
    A = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(60, 60))
    full = shortest_path(A, directed=False, unweighted=True)
    src = np.array([0, 5, 17, 59])
    np.testing.assert_array_equal(tree.distances_from(src), full[src])
    np.testing.assert_array_equal(tree.squared_distances_from(src), full[src] ** 2)
    g = GraphMetric(A)
    np.testing.assert_array_equal(g.distances_from(src), full[src])


def test_graph_edge_list_with_string_labels():
    edges = [("a", "b", 1.0), ("b", "c", 1.0), ("c", "d", 2.0)]
    m = make_label_metric(edges)
    assert isinstance(m, GraphMetric)
    np.testing.assert_array_equal(m.distances_from([0]), [[0, 1, 2, 4]])
    numeric = make_label_metric(np.array([[0, 1, 1.0], [1, 2, 1.0]]), metric_kind="graph")
    np.testing.assert_array_equal(numeric.distances_from([0]), [[0, 1, 2]])


def test_factory_picks_the_form(taxonomy):
    assert isinstance(make_label_metric(taxonomy), TreeMetric)
    assert isinstance(make_label_metric(1.0 - np.eye(3)), DistanceMatrix)
    assert isinstance(make_label_metric(np.ones((4, 2))), EmbeddingMetric)
    assert isinstance(make_label_metric(None, labels=["a", "b"]), DiscreteMetric)
    f = lambda a, b: np.abs(a[:, None] - b[None, :]).astype(float)  # noqa: E731
    assert isinstance(make_label_metric(f, labels=[0, 1]), CallableMetric)


def test_embedding_metric_against_numpy():
    rng = np.random.default_rng(1)
    E = rng.normal(size=(6, 3))
    euclid = np.linalg.norm(E[:, None] - E[None], axis=-1)
    np.testing.assert_allclose(EmbeddingMetric(E).distances_from([0, 4]), euclid[[0, 4]],
                               atol=1e-12)
    U = E / np.linalg.norm(E, axis=1, keepdims=True)
    cos = np.maximum(1.0 - U @ U.T, 0.0)
    np.fill_diagonal(cos, 0.0)
    np.testing.assert_allclose(
        EmbeddingMetric(E, metric="cosine").squared_distances_from([2]), cos[[2]] ** 2,
        atol=1e-12)


def test_tree_with_two_roots_or_cycle():
    msg = "The label tree must have exactly one root, found 2"
    with pytest.raises(ValueError, match=re.escape(msg)):
        TreeMetric({"a": "r1", "b": "r2"})
    with pytest.raises(ValueError, match=re.escape("The label tree contains a cycle.")):
        TreeMetric({"a": "r", "b": "c", "c": "b"})


def test_callable_needs_labels_and_checks_shape():
    f = lambda a, b: np.abs(a[:, None] - b[None, :]).astype(float)  # noqa: E731
    with pytest.raises(ValueError, match=re.escape("A callable `label_metric` needs `labels`")):
        make_label_metric(f)
    bad = CallableMetric(lambda a, b: np.zeros((1, 1)), labels=[0, 1])
    with pytest.raises(ValueError, match=re.escape("returned shape (1, 1), expected (1, 2)")):
        bad.distances_from([0])


def test_unknown_labels_are_listed(taxonomy):
    msg = ("Observed not in the label space of the label metric: 'zebra'. "
           "The label metric has 8 labels; pass `labels=` to name them.")
    with pytest.raises(ValueError, match=re.escape(msg)):
        TreeMetric(taxonomy).index(["cat", "zebra"], name="Observed")


# Unweighted graphs: bit-parallel BFS against scipy's Dijkstra


def _random_graph(K, n_extra, seed):
    rng = np.random.default_rng(seed)
    u = np.r_[np.arange(1, K), rng.integers(0, K, n_extra)]
    v = np.r_[rng.integers(0, np.arange(1, K)), rng.integers(0, K, n_extra)]
    A = sp.csr_matrix((np.ones(u.size), (u, v)), shape=(K, K))
    A.data[:] = 1.0  # repeated edges were summed
    return A


@pytest.mark.parametrize("K, m", [(2, 1), (90, 64), (300, 70), (500, 130)])
def test_graph_bfs_matches_dijkstra(K, m):
    A = _random_graph(K, K // 3, seed=K)
    g = GraphMetric(A)
    assert g._bfs_graph() is not None
    src = np.random.default_rng(m).choice(K, m)  # repeated sources too
    ref = shortest_path(A, directed=False, unweighted=True, indices=src)
    np.testing.assert_array_equal(g.distances_from(src), ref)
    np.testing.assert_array_equal(g.squared_distances_from(src), ref**2)
    D2 = g.squared_distances_from(src, dtype=np.float32)
    assert D2.dtype == np.float32
    np.testing.assert_array_equal(D2, (ref**2).astype(np.float32))


def test_graph_bfs_in_several_blocks(monkeypatch):
    # a tiny gather budget forces one 64-source block at a time
    import skmetric.label_space._graph as graph_module

    monkeypatch.setattr(graph_module, "_BFS_GATHER_BYTES", 1)
    A = _random_graph(200, 50, seed=3)
    g = GraphMetric(A)
    assert g._block_size() == 64
    src = np.arange(0, 200, 1)
    ref = shortest_path(A, directed=False, unweighted=True, indices=src)
    np.testing.assert_array_equal(g.distances_from(src), ref)


def test_graph_deep_or_weighted_uses_dijkstra():
    # a path of 300 labels is deeper than the BFS level budget
    path = GraphMetric([(i, i + 1) for i in range(299)])
    assert path._bfs_graph() is None
    np.testing.assert_array_equal(path.distances_from([0, 299]),
                                  [np.arange(300), np.arange(300)[::-1]])
    weighted = GraphMetric([(0, 1, 2.0), (1, 2, 1.0)])
    assert weighted._bfs_graph() is None
    np.testing.assert_array_equal(weighted.distances_from([0]), [[0.0, 2.0, 3.0]])


def test_transpose_bits_against_unpacked_matrix():
    from skmetric.label_space._graph import _transpose_bits

    rng = np.random.default_rng(0)
    words = rng.integers(0, 2**63, size=(2, 130), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    # bits[c, v] with c = 64 w + bit, after unpacking the bytes of each word
    bits = np.unpackbits(words.astype("<u8")[:, :, None].view(np.uint8), axis=2,
                         bitorder="little").transpose(0, 2, 1).reshape(128, 130)
    T = _transpose_bits(words, 130)
    back = np.unpackbits(T.view(np.uint8), axis=1, bitorder="little")[:, :130]
    np.testing.assert_array_equal(back, bits)

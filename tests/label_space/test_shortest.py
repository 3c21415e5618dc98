"""Weighted shortest paths (peeled trees, contracted chains, eliminated kernel
nodes) against scipy's Dijkstra on the whole graph.

Edge lengths are multiples of 1/4 in most tests, so every path length is
exact in float64 whatever the order of summation, and the values must be
identical; with arbitrary real lengths they agree to rounding.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from skmetric.label_space import GraphMetric
from skmetric.label_space._shortest import _Reduction, _simple_undirected


def _graph(K, n_extra, rng, lengths="quarter", parent=None):
    """A random tree over K nodes (node i > 0 hangs from a lower node) plus
    ``n_extra`` random edges (repeats and self-loops included)."""
    child = np.arange(1, K)
    par = rng.integers(0, child) if parent is None else parent(child)
    u = np.r_[child, rng.integers(0, K, n_extra)]
    v = np.r_[par, rng.integers(0, K, n_extra)]
    if lengths == "quarter":
        w = rng.integers(1, 12, u.size) / 4.0
    else:
        w = rng.uniform(0.1, 3.0, u.size)
    return sp.csr_matrix((w, (u, v)), shape=(K, K))


def _check(A, sources, exact=True):
    ref = dijkstra(A, directed=False, indices=sources)
    g = GraphMetric(A)
    assert g._bfs_graph() is None
    got = g.distances_from(sources)
    got2 = g.squared_distances_from(sources, dtype=np.float32)
    if exact:
        np.testing.assert_array_equal(got, ref)
        np.testing.assert_array_equal(got2, (ref**2).astype(np.float32))
    else:
        np.testing.assert_allclose(got, ref, rtol=1e-13, atol=0)
    return got


@pytest.mark.parametrize("seed", range(40))
def test_weighted_graph_matches_dijkstra(seed):
    rng = np.random.default_rng(seed)
    K = int(rng.integers(2, 80))
    # trees, trees with a few or many cross-links
    n_extra = [0, 2, K // 5, K][seed % 4]
    A = _graph(K, n_extra, rng)
    # repeated and unsorted sources, from one to more than the labels
    sources = rng.choice(K, int(rng.integers(1, K + 5)))
    _check(A, sources)


@pytest.mark.parametrize("seed", range(10))
def test_real_lengths_agree_to_rounding(seed):
    rng = np.random.default_rng(100 + seed)
    K = 120
    A = _graph(K, 30, rng, lengths="real")
    _check(A, rng.choice(K, 50, replace=False), exact=False)


def test_taxonomy_with_cross_links_sources_in_hanging_trees():
    # a branching-3 taxonomy: most labels hang; sources are leaves, inner
    # nodes, chain nodes and the root
    rng = np.random.default_rng(0)
    K = 400
    A = _graph(K, 25, rng, parent=lambda c: (c - 1) // 3)
    leaves = np.arange(134, K)
    sources = np.r_[0, rng.choice(leaves, 30, replace=False), rng.choice(134, 10)]
    _check(A, sources)


def test_cycles_without_branch_nodes_and_loops():
    # a pure cycle; a cycle hanging from one node of a path (a chain that
    # starts and ends at the same node); a triangle with a pendant tree
    cycle = [(i, (i + 1) % 9, 0.25 * (1 + i % 3)) for i in range(9)]
    loop = [(0, 1, 1.0), (1, 2, 0.5), (2, 3, 1.0), (3, 4, 2.0), (4, 2, 0.75), (1, 5, 1.0)]
    tri = [(0, 1, 1.0), (1, 2, 1.0), (2, 0, 3.0), (2, 3, 0.5), (3, 4, 0.5)]
    for edges in (cycle, loop, tri):
        e = np.array(edges)
        K = int(e[:, :2].max()) + 1
        A = sp.csr_matrix((e[:, 2], (e[:, 0].astype(int), e[:, 1].astype(int))), shape=(K, K))
        for s in range(K):
            _check(A, [s])
        _check(A, np.arange(K))


def test_parallel_entries_keep_the_shortest():
    # both directions stored with different lengths: the shorter one counts
    A = sp.csr_matrix(np.array([[0, 2.0, 0], [0.5, 0, 1.0], [0, 3.0, 0]]))
    np.testing.assert_array_equal(_check(A, [0, 2]), [[0, 0.5, 1.5], [1.5, 1.0, 0]])
    r, c, w = _simple_undirected(np.array([0, 1, 2, 1]), np.array([1, 0, 2, 2]),
                                 np.array([2.0, 0.5, 7.0, 1.0]), 3)
    np.testing.assert_array_equal(r, [0, 1, 3, 4])
    np.testing.assert_array_equal(c, [1, 0, 2, 1])
    np.testing.assert_array_equal(w, [0.5, 0.5, 1.0, 1.0])


def test_reduction_ports_of_a_hanging_tree_and_a_chain():
    # kernel nodes 0 and 2 (degree 3), joined by the chains 0-1-2, 0-3-2 and
    # 0-4-2; 5-6 hang from 1 and 7 from 4 (chain nodes)
    edges = [(0, 1, 1.0), (1, 2, 2.0), (2, 3, 1.0), (3, 0, 4.0), (0, 4, 1.0), (2, 4, 1.0),
             (1, 5, 0.5), (5, 6, 0.25), (4, 7, 3.0)]
    e = np.array(edges)
    indptr, indices, w = _simple_undirected(e[:, 0].astype(int), e[:, 1].astype(int), e[:, 2], 8)
    red = _Reduction(indptr, indices, w, np.zeros(8, dtype=bool))
    assert red.kernel_nodes.tolist() == [0, 2]
    k = red.kernel
    # label 6: out through 1 towards 0 (1 + 0.5 + 0.25) or towards 2 (2 + 0.75)
    ports = sorted(zip(red.port[:, 6].tolist(), red.offset[:, 6].tolist()))
    assert ports == [(k[0], 1.75), (k[2], 2.75)]
    ports = sorted(zip(red.port[:, 7].tolist(), red.offset[:, 7].tolist()))
    assert ports == [(k[0], 4.0), (k[2], 4.0)]
    # one kernel edge 0-2: the shortest of the chains (3, 5 and 2)
    np.testing.assert_array_equal(red.kernel_graph.toarray(), [[0, 2.0], [2.0, 0]])


def test_deep_unweighted_path_is_exact():
    path = GraphMetric([(i, i + 1) for i in range(999)])
    assert path._bfs_graph() is None  # deeper than the BFS level budget
    np.testing.assert_array_equal(path.distances_from([0, 500]),
                                  [np.arange(1000), np.abs(np.arange(1000) - 500)])


def test_disconnected_weighted_graph_names_the_labels():
    g = GraphMetric([("a", "b", 1.5), ("c", "d", 2.0), ("d", "e", 1.0)])
    with pytest.raises(ValueError, match="label 'c' cannot be reached from label 'a'"):
        g.distances_from([0])
    with pytest.raises(ValueError, match="label 'a' cannot be reached from label 'd'"):
        g.squared_distances_from([3])


def test_kernel_elimination_is_exercised_and_exact():
    from skmetric.label_space._shortest import _eliminate

    rng = np.random.default_rng(3)
    K = 300
    A = _graph(K, 150, rng)
    sources = rng.choice(K, 7, replace=False)
    indptr, indices, w = _simple_undirected(*sp.find(A), K)
    pinned = np.zeros(K, dtype=bool)
    pinned[sources] = True
    red = _Reduction(indptr, indices, w, pinned)
    kpin = np.zeros(red.kernel_nodes.size, dtype=bool)
    kpin[red.kernel[sources]] = True
    left, H, rounds = _eliminate(red.kernel_graph, kpin)
    assert len(rounds) >= 2 and left.size < 0.8 * red.kernel_nodes.size
    # the lengths between the nodes left are those of the whole kernel
    full = dijkstra(red.kernel_graph, indices=left)[:, left]
    np.testing.assert_array_equal(dijkstra(H), full)
    _check(A, sources)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    shape=st.sampled_from(["tree", "few links", "many links", "dense"]),
    lengths=st.sampled_from(["quarter", "real"]),
)
def test_kernel_lengths_match_dijkstra_on_the_kernel(seed, shape, lengths):
    # the contracted kernel (sources eliminated or left in the core, shortcuts,
    # start nodes joined by upward lengths) against Dijkstra on the kernel
    from skmetric.label_space._shortest import _kernel_lengths

    rng = np.random.default_rng(seed)
    K = int(rng.integers(2, 150))
    n_extra = {"tree": 0, "few links": 3, "many links": K // 4, "dense": 2 * K}[shape]
    A = _graph(K, n_extra, rng, lengths=lengths)
    indptr, indices, w = _simple_undirected(*sp.find(A), K)
    sources = np.unique(rng.choice(K, int(rng.integers(1, K + 1))))
    pinned = np.zeros(K, dtype=bool)
    pinned[sources] = True
    red = _Reduction(indptr, indices, w, pinned)
    ks = red.kernel[sources]
    got = _kernel_lengths(red.kernel_graph, ks)
    ref = dijkstra(red.kernel_graph, directed=True, indices=ks)
    if lengths == "quarter":
        np.testing.assert_array_equal(got, ref)
    else:
        np.testing.assert_allclose(got, ref, rtol=1e-13, atol=0)


def test_elimination_on_a_weighted_grid():
    # every node of a grid has degree 4 at most: the elimination must take a
    # large share of them each round (in index order only the few nodes
    # without a lower-index neighbour would go), and stay exact
    from skmetric.label_space import _shortest

    rng = np.random.default_rng(5)
    side = 30
    i = np.arange(side * side).reshape(side, side)
    u = np.r_[i[:, :-1].ravel(), i[:-1, :].ravel()]
    v = np.r_[i[:, 1:].ravel(), i[1:, :].ravel()]
    A = sp.csr_matrix((rng.integers(1, 12, u.size) / 4.0, (u, v)), shape=(side**2,) * 2)
    G = sp.csr_matrix(A + A.T)
    n = G.shape[0]
    sources = rng.choice(n, 10, replace=False)
    pinned = np.zeros(n, dtype=bool)
    pinned[sources] = True
    left, _, rounds = _shortest._eliminate(G, pinned)
    assert left.size < 0.7 * n
    assert len(rounds[0][0]) > 0.15 * n
    got = _shortest._kernel_lengths(G, sources)
    np.testing.assert_array_equal(got, dijkstra(G, directed=True, indices=sources))
    _check(A, sources)


def test_expansion_tiles_and_unsorted_sources(monkeypatch):
    # tiles smaller than the labels and the sources, repeated and unsorted
    # sources written through the indirect path
    from skmetric.label_space import _shortest

    monkeypatch.setattr(_shortest, "_EXPAND_ROWS", 3)
    monkeypatch.setattr(_shortest, "_EXPAND_COLS", 7)
    rng = np.random.default_rng(11)
    K = 90
    A = _graph(K, 20, rng)
    _check(A, np.sort(rng.choice(K, 10, replace=False)))
    _check(A, rng.choice(K, 25))

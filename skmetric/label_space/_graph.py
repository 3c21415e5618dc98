"""Shortest-path lengths in a graph over the labels."""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra

from ._base import LabelMetric, _as_labels, _check_finite_matrix, _labels_for_rows
from ._shortest import _simple_undirected, shortest_path_lengths

# Bytes of the per-level gather of frontier words (one row per stored edge):
# bounds the number of sources handled by one bit-parallel BFS.
_BFS_GATHER_BYTES = 2**25
# Bit-parallel BFS does (levels x stored edges x words) work, Dijkstra about
# (sources x (labels + stored edges) x log) -- it wins while the graph's
# depth stays below this many levels (measured: ~3 ns per edge-word and
# level against ~20 ns per node and source for scipy's Dijkstra).
_BFS_MAX_LEVELS = 250
# Sources handled by one reduction of a weighted (or deep) graph: bounds the
# (sources, kernel nodes) block of kernel distances.
_WEIGHTED_BLOCK = 1024


_TRANSPOSE_MASKS = [
    (j, np.uint64(sum(1 << k for k in range(64) if not k & j))) for j in (32, 16, 8, 4, 2, 1)
]


def _transpose_bits(words, n_nodes):
    """Bit matrix (words of sources, nodes) -> (sources, words of nodes).

    ``words[w, v]`` holds, in bit c, whether source ``64 w + c`` has the bit
    set at node v.  Returns ``out`` of shape (64 W, ceil(n_nodes / 64)) whose
    bit r of ``out[s, b]`` is the bit of source s at node ``64 b + r``: each
    64 x 64 bit block is transposed in place by six rounds of masked swaps.
    """
    W, K = words.shape
    nb = -(-K // 64)
    A = np.zeros((W, nb * 64), dtype="<u8")
    A[:, :K] = words
    A = A.reshape(W, nb, 64)
    for j, mask in _TRANSPOSE_MASKS:
        pairs = A.reshape(W, nb, 64 // (2 * j), 2, j)
        lo, hi = pairs[:, :, :, 0], pairs[:, :, :, 1]
        t = ((lo >> np.uint64(j)) ^ hi) & mask
        hi ^= t
        lo ^= t << np.uint64(j)
    return np.ascontiguousarray(A.transpose(0, 2, 1)).reshape(W * 64, nb)


def _bfs_hops(indptr, indices, sources, n_nodes):
    """Hop counts from ``sources`` to every node, by bit-parallel BFS.

    Every source owns one bit of ``ceil(m / 64)`` words per node, so one
    level of all m searches is a gather of the frontier words over the stored
    edges and an OR-reduction per node.  Hop counts are accumulated in
    bit-sliced counters (a node's count is the number of levels it was still
    unvisited at), which are bit-transposed and unpacked once at the end.

    Returns the bit planes of the hop counts, each transposed to
    (64 ceil(m / 64), ceil(n_nodes / 64)) words (see :func:`_unpack_hops`),
    and whether every node was reached from every source.
    """
    m = sources.size
    W = (m + 63) // 64
    cols = np.arange(m)
    start = np.zeros((W, n_nodes), dtype="<u8")
    np.bitwise_or.at(
        start, (cols // 64, sources), np.left_shift(np.uint64(1), (cols % 64).astype(np.uint64))
    )
    full = np.full((W, 1), np.uint64(2**64 - 1), dtype="<u8")
    if m % 64:
        full[-1] = np.uint64(2 ** (m % 64) - 1)
    has = np.diff(indptr) > 0
    starts = indptr[:-1][has]
    visited = start.copy()
    frontier = start
    planes = []
    nxt = np.zeros_like(start)
    for _ in range(255):  # uint8 counts; the caller bounds the depth
        nxt[:, has] = np.bitwise_or.reduceat(
            np.take(frontier, indices, axis=1), starts, axis=1
        )
        nxt &= ~visited
        if not nxt.any():
            break
        # every node still unvisited before this level is one hop farther
        carry = ~visited & full
        for plane in planes:
            new_carry = plane & carry
            plane ^= carry
            carry = new_carry
            if not carry.any():
                break
        else:
            planes.append(carry)
        visited |= nxt
        frontier, nxt = nxt, frontier
    reached = bool(np.all(visited == full))
    return [_transpose_bits(plane, n_nodes) for plane in planes], reached


def _unpack_hops(planes, rows, n_nodes):
    """uint8 hop counts of the sources ``rows`` (a slice) from transposed planes."""
    hops = None
    for p, plane in enumerate(planes):
        bits = np.unpackbits(plane[rows].view(np.uint8), axis=1, bitorder="little")
        if p:
            np.left_shift(bits, p, out=bits)
            hops |= bits
        else:
            hops = bits
    return hops[:, :n_nodes]


class GraphMetric(LabelMetric):
    """Shortest-path lengths in a graph over the labels.

    Distances are computed only from the sources asked for, so a K x K
    matrix is never built.  Unweighted graphs of moderate depth (at most 250
    levels) use a bit-parallel breadth-first search, 64 sources per machine
    word, level by level in numpy.  Other graphs are reduced first: hanging
    trees are peeled, chains of degree-2 nodes contracted and low-degree
    nodes of the remaining kernel eliminated (their neighbours joined by
    shortcuts); Dijkstra's algorithm (``scipy.sparse.csgraph.dijkstra``)
    runs from each source on what is left, and the lengths to every label
    are expanded from there in numpy.  Values equal those of Dijkstra on the
    whole graph up to the order in which edge lengths are summed.

    Parameters
    ----------
    graph : sparse matrix of shape (n_labels, n_labels) or array-like of shape (n_edges, 2 or 3)
        Either a sparse adjacency matrix whose stored non-zero entries are
        edge lengths (explicit zeros are dropped), or an edge list of
        ``(u, v)`` or ``(u, v, length)`` rows naming labels.  Edges are
        undirected.  Lengths must be finite and positive.
    labels : array-like of shape (n_labels,), default=None
        For an adjacency matrix: names of its rows (default
        ``0, ..., n_labels - 1``).  For an edge list: the label space (which
        may hold isolated labels only if no distance to them is needed --
        an unreachable label raises); default: the labels of the edges, sorted.

    Examples
    --------
    >>> from skmetric.label_space import GraphMetric
    >>> g = GraphMetric([("a", "b"), ("b", "c")])
    >>> g.distances_from([0])
    array([[0., 1., 2.]])
    """

    def __init__(self, graph, labels=None):
        if sp.issparse(graph):
            G = sp.csr_matrix(graph, dtype=np.float64)
            if G.shape[0] != G.shape[1]:
                raise ValueError(
                    f"The label graph adjacency matrix must be square, got shape {G.shape}."
                )
            _check_finite_matrix(G, "The label graph")
            G.eliminate_zeros()
            labels = _labels_for_rows(
                labels, G.shape[0], f"the label graph has {G.shape[0]} nodes"
            )
        else:
            edges = list(graph)
            if not edges or any(len(e) not in (2, 3) for e in edges):
                raise ValueError(
                    "A label graph edge list must be a non-empty sequence of "
                    "(u, v) or (u, v, length) rows."
                )
            u = np.asarray([e[0] for e in edges])
            v = np.asarray([e[1] for e in edges])
            if all(len(e) == 3 for e in edges):
                w = np.asarray([e[2] for e in edges], dtype=np.float64)
            elif all(len(e) == 2 for e in edges):
                w = np.ones(len(edges))
            else:
                raise ValueError("Edge list rows must all have 2 entries or all have 3.")
            if not np.isfinite(w).all():
                raise ValueError("The label graph contains NaN or infinity.")
            if (w <= 0).any():
                raise ValueError(
                    f"Edge lengths of the label graph must be positive (minimum {w.min():.6g})."
                )
            if labels is None:
                labels = np.unique(np.concatenate([u, v]))
            labels = _as_labels(labels)
            self.labels = labels
            iu = self.index(u, name="Edge endpoints")
            iv = self.index(v, name="Edge endpoints")
            K = labels.size
            G = sp.csr_matrix((w, (iu, iv)), shape=(K, K))
        self.graph = G
        self.labels = labels
        self._index = None
        self._unweighted = bool(G.nnz) and bool(np.all(G.data == 1.0))
        self._sym = None
        self._use_bfs = None
        self._simple = None

    def _bfs_graph(self):
        """The symmetric adjacency (CSR) if bit-parallel BFS pays off, else None.

        Decided once: the graph must be unweighted and connected, with at most
        ``_BFS_MAX_LEVELS`` levels from any label (bounded by twice the
        eccentricity of label 0, from one Dijkstra run).
        """
        if self._use_bfs is None:
            self._use_bfs = False
            if self._unweighted and self.n_labels > 1:
                ecc = dijkstra(self.graph, directed=False, indices=0, unweighted=True).max()
                if np.isfinite(ecc) and 2 * ecc <= _BFS_MAX_LEVELS:
                    G = self.graph
                    S = (G + G.T).tocsr()
                    S.sort_indices()
                    self._sym = S
                    self._use_bfs = True
        return self._sym if self._use_bfs else None

    def _simple_graph(self):
        """The undirected simple graph (CSR arrays) and its component labels."""
        if self._simple is None:
            G = self.graph.tocoo()
            indptr, indices, data = _simple_undirected(G.row, G.col, G.data, self.n_labels)
            S = sp.csr_matrix((data, indices, indptr), shape=G.shape)
            _, comp = connected_components(S, directed=False)
            self._simple = (indptr, indices, data, comp)
        return self._simple

    def _block_size(self):
        S = self._bfs_graph()
        if S is None:
            return _WEIGHTED_BLOCK
        words = max(1, _BFS_GATHER_BYTES // (8 * max(S.nnz, self.n_labels)))
        return 64 * min(words, 16)

    def _fill(self, sources, out, square):
        """Write the (squared) lengths from ``sources`` into ``out`` (m, K)."""
        S = self._bfs_graph()
        if S is None:
            indptr, indices, data, comp = self._simple_graph()
            far = np.flatnonzero(comp != comp[sources[0]])
            if far.size:
                self._raise_unreached(sources[0], far[0])
            shortest_path_lengths(indptr, indices, data, sources, out, square=square)
            return
        planes, reached = _bfs_hops(S.indptr, S.indices, sources, self.n_labels)
        if not reached:  # pragma: no cover - the graph was checked connected
            raise RuntimeError("bit-parallel BFS did not reach every label")
        for r in range(0, sources.size, 128):
            rows = slice(r, min(r + 128, sources.size))
            hops = _unpack_hops(planes, rows, self.n_labels)
            if square:
                np.square(hops, out=out[rows], dtype=out.dtype)
            else:
                out[rows] = hops

    def _raise_unreached(self, source, label):
        raise ValueError(
            f"The label graph is disconnected: label {self.labels[[label]].tolist()[0]!r} "
            f"cannot be reached from label {self.labels[[source]].tolist()[0]!r}."
        )

    def _lengths(self, sources, dtype, square):
        sources = np.asarray(sources, dtype=np.intp).ravel()
        out = np.empty((sources.size, self.n_labels), dtype=dtype)
        step = self._block_size()
        for s in range(0, sources.size, step):
            self._fill(sources[s : s + step], out[s : s + step], square)
        return out

    def distances_from(self, sources):
        return self._lengths(sources, np.float64, square=False)

    def squared_distances_from(self, sources, dtype=np.float64):
        return self._lengths(sources, dtype, square=True)

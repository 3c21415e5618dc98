"""Exact shortest-path lengths from many sources in a sparse weighted graph.

Most labels of a taxonomy-like graph hang off a small cyclic kernel: a
label in a hanging tree reaches everything else through the node it hangs
from, and a label on a path of degree-2 nodes through the two ends of that
path.  So distances are found in three steps:

1. reduce: peel hanging trees (repeatedly remove degree-1 nodes, keeping
   each one's parent and edge length) and walk the chains of degree-2 nodes
   of what is left, from both ends.  Every label gets two *ports* (kernel
   nodes) with the length of the only ways out of its tree or chain; the
   sources are pinned as kernel nodes themselves;
2. solve: shortest paths on the kernel (kernel nodes, one edge per chain)
   from the sources only;
3. expand: ``d(s, v) = min_j dk(s, port_j(v)) + offset_j(v)`` for all
   labels, vectorised over a block of sources.

A path from a source (a kernel node) to a label must enter the label's
tree or chain through one of its ports, so the expansion is exact; values
equal Dijkstra's up to the order in which edge lengths are summed.
"""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra


def _simple_undirected(rows, cols, weights, n_nodes):
    """CSR ``(indptr, indices, data)`` of an undirected simple graph.

    Each unordered pair keeps its smallest length over the entries given
    (in either direction); self-loops are dropped.
    """
    r = np.r_[rows, cols]
    c = np.r_[cols, rows]
    w = np.r_[weights, weights].astype(np.float64)
    keep = r != c
    r, c, w = r[keep], c[keep], w[keep]
    order = np.lexsort((w, c, r))
    r, c, w = r[order], c[order], w[order]
    first = np.ones(r.size, dtype=bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    r, c, w = r[first], c[first], w[first]
    indptr = np.searchsorted(r, np.arange(n_nodes + 1)).astype(np.intp)
    return indptr, c.astype(np.intp), w


def _adjacency_entries(indptr, nodes):
    """Positions of the stored neighbours of ``nodes`` and the index (into
    ``nodes``) of the node owning each one."""
    starts = indptr[nodes]
    lens = indptr[nodes + 1] - starts
    owner = np.repeat(np.arange(nodes.size), lens)
    pos = np.arange(owner.size) + np.repeat(starts - (np.cumsum(lens) - lens), lens)
    return pos, owner


def _the_alive_neighbour(indptr, indices, weights, nodes, ok):
    """For each node of ``nodes``, its one neighbour u with ``ok(u, owner)``
    true, and the length of that edge."""
    pos, owner = _adjacency_entries(indptr, nodes)
    nb = indices[pos]
    sel = ok(nb, owner)
    out = np.empty(nodes.size, dtype=np.intp)
    wt = np.empty(nodes.size, dtype=np.float64)
    out[owner[sel]] = nb[sel]
    wt[owner[sel]] = weights[pos[sel]]
    return out, wt


def peel_hanging_trees(indptr, indices, weights, pinned):
    """Peel hanging trees: remove unpinned degree-1 nodes, a round at a time.

    Returns ``alive`` (the nodes left), their degree among themselves, each
    peeled node's ``parent`` (its neighbour when it was removed) and edge
    length, and the peeled nodes of each round.
    """
    K = indptr.size - 1
    deg = np.diff(indptr).copy()
    alive = np.ones(K, dtype=bool)
    parent = np.full(K, -1, dtype=np.intp)
    plen = np.zeros(K)
    in_round = np.zeros(K, dtype=bool)
    rounds = []
    cand = np.flatnonzero((deg == 1) & ~pinned)
    while cand.size:
        nb, wt = _the_alive_neighbour(indptr, indices, weights, cand, lambda u, o: alive[u])
        # two adjacent leaves (the last edge of a tree): the smaller one stays
        in_round[cand] = True
        go = ~(in_round[nb] & (cand < nb))
        in_round[cand] = False
        peel = cand[go]
        parent[peel] = nb[go]
        plen[peel] = wt[go]
        alive[peel] = False
        np.subtract.at(deg, parent[peel], 1)
        rounds.append(peel)
        cand = np.unique(parent[peel])
        cand = cand[alive[cand] & (deg[cand] == 1) & ~pinned[cand]]
    return alive, deg, parent, plen, rounds


class _Reduction:
    """Hanging trees and chains of a graph, with given nodes pinned.

    Attributes: ``kernel`` (kernel node of each label, -1 if none),
    ``kernel_nodes``, the kernel's CSR graph ``kernel_graph``, and for every
    label two ports ``port`` (2, K) (kernel indices) and offsets ``offset``
    (2, K).
    """

    def __init__(self, indptr, indices, weights, pinned):
        K = indptr.size - 1
        alive, deg, parent, plen, rounds = peel_hanging_trees(indptr, indices, weights, pinned)
        # 2. kernel nodes: pinned, or core degree other than 2; walk the chains
        branch = alive & (pinned | (deg != 2))
        while True:
            rec, kedges, visited = self._walk(indptr, indices, weights, alive, branch)
            lost = np.flatnonzero(alive & ~branch & ~visited)
            if not lost.size:
                break
            # cycles without a kernel node: promote one node of each
            sub = sp.csr_matrix((np.ones(indices.size), indices, indptr), shape=(K, K))
            sub = sub[lost][:, lost]
            _, comp = connected_components(sub, directed=False)
            _, first = np.unique(comp, return_index=True)
            branch[lost[first]] = True
        kernel_nodes = np.flatnonzero(branch)
        kernel = np.full(K, -1, dtype=np.intp)
        kernel[kernel_nodes] = np.arange(kernel_nodes.size)
        port = np.empty((2, K), dtype=np.intp)
        offset = np.zeros((2, K))
        port[:, kernel_nodes] = kernel[kernel_nodes]
        # every chain node was reached once from each end
        nodes, starts, lengths = rec
        order = np.argsort(nodes, kind="stable")
        nodes, starts, lengths = nodes[order], starts[order], lengths[order]
        port[0, nodes[0::2]] = kernel[starts[0::2]]
        port[1, nodes[1::2]] = kernel[starts[1::2]]
        offset[0, nodes[0::2]] = lengths[0::2]
        offset[1, nodes[1::2]] = lengths[1::2]
        # 3. hanging trees from their attachment down
        for peel in reversed(rounds):
            port[:, peel] = port[:, parent[peel]]
            offset[:, peel] = offset[:, parent[peel]] + plen[peel]
        ku, kv, kw = kedges
        n = kernel_nodes.size
        kp, ki, kd = _simple_undirected(kernel[ku], kernel[kv], kw, n)
        self.kernel = kernel
        self.kernel_nodes = kernel_nodes
        self.kernel_graph = sp.csr_matrix((kd, ki, kp), shape=(n, n))
        self.port = port
        self.offset = offset

    @staticmethod
    def _walk(indptr, indices, weights, alive, branch):
        """Walk every chain from both of its ends.

        Returns ``(nodes, start kernel node, length from it)`` records, the
        kernel edges ``(u, v, length)`` (each chain and each direct edge
        between kernel nodes) and which nodes were reached.
        """
        K = indptr.size - 1
        bn = np.flatnonzero(branch)
        pos, owner = _adjacency_entries(indptr, bn)
        nb = indices[pos]
        keep = alive[nb]
        start, cur, acc = bn[owner[keep]], nb[keep], weights[pos[keep]]
        eu, ev, ew = [], [], []
        rn, rs, rl = [], [], []
        prev = start
        visited = np.zeros(K, dtype=bool)
        while cur.size:
            done = branch[cur]
            eu.append(start[done])
            ev.append(cur[done])
            ew.append(acc[done])
            go = ~done
            start, prev, cur, acc = start[go], prev[go], cur[go], acc[go]
            if not cur.size:
                break
            rn.append(cur)
            rs.append(start)
            rl.append(acc)
            visited[cur] = True
            nxt, wt = _the_alive_neighbour(
                indptr, indices, weights, cur,
                lambda u, o, prev=prev: alive[u] & (u != prev[o]),
            )
            prev, cur, acc = cur, nxt, acc + wt
        cat = np.concatenate
        empty_i, empty_f = [np.empty(0, dtype=np.intp)], [np.empty(0)]
        return (
            (cat(rn + empty_i), cat(rs + empty_i), cat(rl + empty_f)),
            (cat(eu + empty_i), cat(ev + empty_i), cat(ew + empty_f)),
            visited,
        )


# Kernel nodes of at most this degree are eliminated (their neighbours joined
# by shortcuts) before Dijkstra runs on what is left.
_ELIMINATE_DEGREE = 4
_ELIMINATE_ROUNDS = 20


def _eliminate(graph, pinned, max_degree=_ELIMINATE_DEGREE, max_rounds=_ELIMINATE_ROUNDS):
    """Remove low-degree unpinned nodes, joining their neighbours by shortcuts.

    Each round removes an independent set of nodes of degree at most
    ``max_degree``; the lengths between the nodes left are unchanged.
    Returns the nodes left and, per round, ``(nodes, neighbours, lengths)``
    with the neighbours padded to ``max_degree`` columns (length inf).
    """
    n = graph.shape[0]
    C = graph.tocoo()
    u, v, w = C.row.astype(np.intp), C.col.astype(np.intp), C.data
    gone = np.zeros(n, dtype=bool)
    rounds = []
    scramble = np.random.default_rng(0).permutation(n)  # a fixed order of the nodes
    for _ in range(max_rounds):
        deg = np.bincount(u, minlength=n)
        ok = ~gone & ~pinned & (deg <= max_degree) & (deg > 0)
        if not ok.any():
            break
        # independent: no eligible neighbour ranks lower (degree, then a
        # fixed scrambled order, unique per node: on a regular graph, index
        # order would let only the few nodes without a lower-index neighbour
        # go each round)
        rank = deg * n + scramble
        both = ok[u] & ok[v] & (rank[v] < rank[u])
        ok[u[both]] = False
        X = np.flatnonzero(ok)
        sel = np.flatnonzero(ok[u])  # edges out of X, grouped by u (CSR order)
        order = sel[np.argsort(u[sel], kind="stable")]
        cnt = deg[X]
        col = np.arange(order.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        nbr = np.zeros((X.size, max_degree), dtype=np.intp)
        wt = np.full((X.size, max_degree), np.inf)
        rowi = np.repeat(np.arange(X.size), cnt)
        nbr[rowi, col] = v[order]
        wt[rowi, col] = w[order]
        rounds.append((X, nbr, wt))
        gone[X] = True
        keep = ~ok[u] & ~ok[v]
        su, sv, sw = [u[keep]], [v[keep]], [w[keep]]
        for i in range(max_degree):
            for j in range(i + 1, max_degree):
                good = np.isfinite(wt[:, i]) & np.isfinite(wt[:, j])
                su.append(nbr[good, i])
                sv.append(nbr[good, j])
                sw.append(wt[good, i] + wt[good, j])
        indptr, indices, data = _simple_undirected(
            np.concatenate(su), np.concatenate(sv), np.concatenate(sw), n
        )
        u = np.repeat(np.arange(n), np.diff(indptr))
        v, w = indices, data
    left = np.flatnonzero(~gone)
    idx = np.full(n, -1, dtype=np.intp)
    idx[left] = np.arange(left.size)
    sel = ~gone[u]
    H = sp.csr_matrix((w[sel], (idx[u[sel]], idx[v[sel]])), shape=(left.size, left.size))
    return left, H, rounds


def _kernel_lengths(graph, sources):
    """Shortest-path lengths (len(sources), n) from kernel nodes ``sources``."""
    n = graph.shape[0]
    pinned = np.zeros(n, dtype=bool)
    pinned[sources] = True
    left, H, rounds = _eliminate(graph, pinned)
    idx = np.full(n, -1, dtype=np.intp)
    idx[left] = np.arange(left.size)
    D = np.empty((sources.size, n + 1))
    D[:, n] = np.inf  # padding column
    D[:, left] = dijkstra(H, directed=True, indices=idx[sources]).reshape(sources.size, -1)
    for X, nbr, wt in reversed(rounds):
        nb = np.where(np.isfinite(wt), nbr, n)
        best = D[:, nb[:, 0]] + wt[:, 0]
        for j in range(1, nbr.shape[1]):
            np.minimum(best, D[:, nb[:, j]] + wt[:, j], out=best)
        D[:, X] = best
    return D[:, :n]


# Expansion tiles: a few sources (their kernel rows stay in cache while
# gathered from) by a run of labels (the float64 temporaries stay in cache).
_EXPAND_ROWS = 8
_EXPAND_COLS = 16384


def shortest_path_lengths(indptr, indices, weights, sources, out, square=False):
    """Write the shortest-path lengths from ``sources`` into ``out`` (m, K).

    ``(indptr, indices, weights)`` is a connected undirected simple graph in
    CSR form (both directions stored, positive lengths).  ``square``: write
    the squared lengths.  Exact up to the order of summation.
    """
    K = indptr.size - 1
    sources = np.asarray(sources, dtype=np.intp)
    uniq, inv = np.unique(sources, return_inverse=True)
    pinned = np.zeros(K, dtype=bool)
    pinned[uniq] = True
    red = _Reduction(indptr, indices, weights, pinned)
    Dk = _kernel_lengths(red.kernel_graph, red.kernel[uniq])
    p0, p1 = red.port
    o0, o1 = red.offset
    b, C = _EXPAND_ROWS, _EXPAND_COLS
    tmp = np.empty((2, b, min(C, K)))
    # the usual case: sorted sources without repeats write straight into out
    direct = uniq.size == sources.size and np.array_equal(inv, np.arange(sources.size))
    for s in range(0, uniq.size, b):
        rows = Dk[s : s + b]
        nb = rows.shape[0]
        if direct:
            target = out[s : s + nb]
        else:
            target = np.empty((nb, K))
        for c in range(0, K, C):
            cols = slice(c, min(c + C, K))
            t, t1 = tmp[0, :nb, : cols.stop - c], tmp[1, :nb, : cols.stop - c]
            # mode="clip": numpy buffers ``out`` for the default mode="raise"
            np.take(rows, p0[cols], axis=1, out=t, mode="clip")
            t += o0[cols]
            np.take(rows, p1[cols], axis=1, out=t1, mode="clip")
            t1 += o1[cols]
            np.minimum(t, t1, out=t)
            if square:
                np.square(t, out=target[:, cols], casting="unsafe")
            else:
                np.copyto(target[:, cols], t, casting="unsafe")
        if not direct:
            dst = np.flatnonzero((inv >= s) & (inv < s + nb))
            out[dst] = target[inv[dst] - s]
    return out

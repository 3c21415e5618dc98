"""Exact leave-one-out k-nearest-neighbour search over one symmetric score matrix.

When the queries are the references (leave-one-out), the score of the pair
``(i, j)`` is the score of ``(j, i)``: the squared Euclidean distance
``|x_i|^2 + |x_j|^2 - 2 x_i.x_j`` or minus the inner product (``"dot"``, and
``"cosine"`` on normalised rows).  :func:`_iter_loo_knn` computes each tile
of the upper block triangle once, with one matmul, and uses it twice: its
rows for the queries of its row block, its columns for the queries of its
column block.  That halves the matmul, the cost that bounds an exact search.

No top-k runs over the scores.  Each query keeps a threshold and a store of
candidates: the entries of a tile at or below the threshold, found through
the minima of column groups (rows ``g, g + G, ...``), one pass over the tile
for both directions: a group can hold a row candidate only if its minimum is
at or below the largest threshold of its rows, which stays tight because
the rows are ordered by threshold before the tiles are computed.  The
selection runs in numpy (its ``nonzero``, compares and gathers cost a
fraction of torch's on small CPU arrays); float32 scores and their indices
are packed into int64 keys, so that one partition per row orders them by
(score, index).  The thresholds
come from a sample, the first ``m`` rows of a fixed random permutation of
the rows: every query's scores against them are the first tiles computed,
and its threshold is (about) the ``j``-th smallest of them, with ``j`` chosen
so that the ``k`` nearest neighbours lie below it except with probability
< 0.2 % (a hypergeometric tail; it holds for any data, since the sample is
uniform).  A query whose store fills up is cut back to its k best
candidates, which lowers its threshold; a query that ends with fewer than k
candidates (its threshold was too low) is searched again over its whole row
of scores.  Either way the k best candidates of a finished query, by (score,
index), are its exact neighbours.
"""

import numpy as np
import torch

from ..neighbors import _prepare

#: Rows (and columns) of a square tile of the second phase.
_TILE = 1024

#: Rows of the sample (multiples of ``_TILE``) and the fewest rows it is
#: used from, largest first: a larger sample gives tighter thresholds (fewer
#: candidates) but a larger square (m^2 / 2 more products than n^2 / 2).
_SAMPLES = ((4096, 16384), (2048, 0))

#: Group size of the group minima: a tile row of width w gives w / _GROUP
#: minima (interleaved groups), and so does a tile column.
_GROUP = 8

#: Candidates a query may store before it is cut back to k, as a multiple of k.
_CAP_RATIO = 4

#: numpy's BLAS controller (threadpoolctl), made on first use.
_BLAS = None


def _blas_threads():
    """Context in which numpy's BLAS runs on torch's thread count, so that
    ``torch.set_num_threads`` governs the search as it does torch's ops."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController().select(user_api="blas")
    return _BLAS.limit(limits=torch.get_num_threads())


def _mm(a, b, out):
    """``a @ b.T`` into ``out`` (torch tensors on the CPU, ``out`` contiguous),
    through numpy's BLAS: on the 1,024 x 136 x 1,024 tiles, OpenBLAS (numpy's
    wheels) took 10 to 20 % less time than torch's MKL in 1-thread A/Bs on a
    2-core AMD EPYC (``benchmarks/bench_metrics.py --blas``)."""
    np.matmul(a.numpy(), b.numpy().T, out=out.numpy())
    return out


#: Highest probability that a query's sampled threshold lies below its k-th
#: smallest score (it is then searched again).
_MISS = 0.002


def _sample_rank(n, k, m):
    """Rank j of the sampled threshold: P(j-th smallest of m sampled scores <
    k-th smallest of n - 1) <= _MISS, a hypergeometric tail; None if j would
    exceed the m / _GROUP group minima it is read from."""
    from scipy.stats import hypergeom

    # P(miss) = P(at least j of the k - 1 nearest neighbours are in the sample).
    miss = hypergeom.sf(np.arange(m // _GROUP), n - 1, k - 1, m)
    ok = np.flatnonzero(miss <= _MISS)
    return int(ok[0]) + 1 if len(ok) else None


def _loo_plan(n, k, itemsize, memory_budget):
    """``(tile, m, cap, j)`` of the symmetric search, or None if it does not apply.

    It applies when the rows span the sample of ``m`` rows and at least two
    more tiles, when a sampled threshold of rank j exists, and when the
    stores (``n * cap`` scores and int32 indices), the sample's score square
    (``m * m``), a tile of the sample's stripe and the two factors of the
    score matrix fit the memory budget.
    """
    tile = _TILE
    if tile % _GROUP:
        return None
    samples = [m for m, n_min in _SAMPLES if n >= n_min]
    for m in samples:
        if n < m + 2 * tile or n >= 2**31 - 1:
            continue
        j = _sample_rank(n, k, m)
        if j is None:
            continue
        fixed = (2 * m * tile + 2 * n * 136) * itemsize + 16 * n
        for ratio in (_CAP_RATIO, 3, 2):
            cap = ratio * k
            if n * cap * (itemsize + 4) + fixed <= memory_budget:
                return tile, m, cap, j
    return None


def _augmented(X, metric, dtype):
    """Left and right factors whose product is the score matrix."""
    T, sq = _prepare(X, metric, dtype)
    if metric != "euclidean":
        return T, -T
    n, d = T.shape
    # Two more columns carry the squared norms.  No zero padding: numpy's
    # OpenBLAS ran the 1,024 x 1,024 tiles at K = 130 in 5 to 13 % less
    # time than at K = 136 (the width padded to a multiple of 8), about as
    # fast as at K = 128 (interleaved, 1 thread, this AMD EPYC).
    # Assembled in numpy: half the time of torch's strided column writes.
    T, sq = T.numpy(), sq.numpy()
    left = np.empty((n, d + 2), dtype=T.dtype)
    right = np.empty((n, d + 2), dtype=T.dtype)
    left[:, :d], left[:, d], left[:, d + 1] = T, sq, 1
    np.multiply(T, -2, out=right[:, :d])
    right[:, d], right[:, d + 1] = 1, sq
    left, right = torch.from_numpy(left), torch.from_numpy(right)
    return left, right


def _keys(V, Ind):
    """int64 keys of float32 scores ``V`` and int32 indices ``Ind`` whose order
    is the order by (score, index): the score's bits, flipped so that their
    signed order is the float order, above the index."""
    b = (V + np.float32(0.0)).view(np.int32)  # + 0: -0.0 becomes 0.0
    b = b ^ ((b >> 31) & 0x7FFFFFFF)  # negative: flip all bits but the sign
    return (b.astype(np.int64) << 32) | Ind.astype(np.int64)


def _unkey(keys):
    """Scores (float32) and indices (int32) of :func:`_keys`'s keys."""
    b = keys >> 32
    b = np.where(b < 0, b ^ 0x7FFFFFFF, b).astype(np.int32)
    return b.view(np.float32), (keys & 0xFFFFFFFF).astype(np.int32)


#: The key of an unset slot: after every real key.
_NO_KEY = np.iinfo(np.int64).max


class _Store:
    """Per-query candidate stores and thresholds of the symmetric search.

    Row q holds ``count[q]`` candidates in its first slots; later slots are
    unset.  Float32 candidates are stored as :func:`_keys` (one int64 per
    candidate: one write per candidate, and the merges partition the keys
    as they are); float64 ones as scores ``V`` and int32 indices ``Ind``.
    All numpy arrays.
    """

    def __init__(self, n, k, cap, dtype):
        self.n, self.k, self.cap = n, k, cap
        self.packed = dtype == np.float32
        if self.packed:
            self.K = np.empty((n, cap), dtype=np.int64)
            self.arrays = (self.K,)
        else:
            self.V = np.empty((n, cap), dtype=dtype)
            self.Ind = np.empty((n, cap), dtype=np.int32)
            self.arrays = (self.V, self.Ind)
        self.count = np.zeros(n, dtype=np.int64)
        self.thresh = np.full(n, np.inf, dtype=dtype)

    def _padded(self, q, width):
        """Entries of queries ``q`` (a slice or index array), ``width`` slots
        wide: keys, with :data:`_NO_KEY` in the unset slots, or scores and
        indices, with ``inf`` and a sentinel index."""
        unset = np.arange(width) >= self.count[q][:, None]
        if self.packed:
            return (np.where(unset, _NO_KEY, self.K[q, :width]),)
        return (np.where(unset, np.inf, self.V[q, :width]).astype(self.V.dtype),
                np.where(unset, self.n, self.Ind[q, :width]))

    def _smallest(self, entries, k, order):
        """The k smallest entries of each row by (score, index), sorted if
        ``order``, and the k-th smallest score."""
        if self.packed:
            (keys,) = entries
            if keys.shape[1] > k:
                keys = np.partition(keys, k - 1, axis=1)[:, :k]
            if order:
                keys = np.sort(keys, axis=1)
                kth = keys[:, k - 1]
            else:
                kth = keys.max(axis=1)
            return (keys,), _unkey(kth)[0]
        V, Ind = entries
        idx = np.lexsort((Ind, V), axis=1)[:, :k]
        V, Ind = np.take_along_axis(V, idx, 1), np.take_along_axis(Ind, idx, 1)
        return (V, Ind), V[:, k - 1]

    def _entries(self, index, values):
        return (_keys(values, index),) if self.packed else (values, index)

    def add(self, q0, n_rows, rows, index, values):
        """Store candidates ``(q0 + rows[i], index[i], values[i])``; ``rows`` ascending."""
        if len(rows) == 0:
            return
        new = np.bincount(rows, minlength=n_rows)
        count = self.count[q0 : q0 + n_rows]
        full = count + new
        if (full > (self.cap + self.k) // 2).any():
            # Once a row is half-way from k to the cap, cut it and every row a
            # quarter of the way: fewer, larger cuts, and lower thresholds
            # sooner (at N = 50,000: 156 candidates per query instead of 171).
            over = full > self.k + (self.cap - self.k) // 4
            rows, index, values = self._cut(q0, n_rows, rows, index, values, new, over)
            if len(rows) == 0:
                return
            new = np.bincount(rows, minlength=n_rows)
        shift = count - (np.cumsum(new) - new) + np.arange(q0, q0 + n_rows) * self.cap
        flat = shift.take(rows) + np.arange(len(rows))
        for a, e in zip(self.arrays, self._entries(index, values)):
            a.reshape(-1)[flat] = e
        count += new

    def _cut(self, q0, n_rows, rows, index, values, new, over):
        """Merge the new candidates of the rows ``over`` into their k best."""
        k = self.k
        over_rows = np.flatnonzero(over)
        mine = over[rows]
        r = rows[mine]
        slot = np.full(n_rows, -1, dtype=np.int64)
        slot[over_rows] = np.arange(len(over_rows))
        n_over = new[over_rows]
        # Position of each candidate within its row's run (rows are ascending).
        pos = np.arange(len(r)) - (np.cumsum(n_over) - n_over)[slot[r]]
        dest = over_rows + q0
        merged = []
        for old, e, fill in zip(self._padded(dest, self.cap),
                                self._entries(index[mine], values[mine]),
                                (_NO_KEY,) if self.packed else (np.inf, self.n)):
            fresh = np.full((len(over_rows), int(n_over.max())), fill, dtype=old.dtype)
            fresh[slot[r], pos] = e
            merged.append(np.concatenate([old, fresh], axis=1))
        best, kth = self._smallest(merged, k, order=False)
        for a, e in zip(self.arrays, best):
            a[dest, :k] = e
        self.count[dest] = k
        self.thresh[dest] = np.minimum(self.thresh[dest], kth)
        keep = ~mine
        return rows[keep], index[keep], values[keep]

    def reorder(self, q0, q1, order):
        """Move query ``q0 + order[i]`` to row ``q0 + i`` (``order`` covers q0..q1).

        Only the slots in use move, so the copy stays small early on.
        """
        width = int(self.count[q0:q1].max(initial=0))
        for a in self.arrays:
            a[q0:q1, :width] = a[q0:q1, :width][order]
        for a in (self.count, self.thresh):
            a[q0:q1] = a[q0:q1][order]

    def best(self, q0, q1):
        """Indices of the k best candidates of queries q0..q1, by (score, index),
        and whether each query holds at least k candidates."""
        count = self.count[q0:q1]
        width = min(self.cap, max(int(count.max()), self.k))
        best, _ = self._smallest(self._padded(slice(q0, q1), width), self.k, order=True)
        index = best[0] & 0xFFFFFFFF if self.packed else best[1]
        return index.astype(np.int64), count >= self.k


def _kth_minimum(minima, j):
    """j-th smallest group minimum of each row."""
    return np.partition(minima, j - 1, axis=1)[:, j - 1].copy()


def _row_candidates(F, thresh):
    """Entries of each row of tile ``F`` at or below its threshold.

    Returns ``(rows, columns, values)``, rows ascending.
    """
    n, w = F.shape
    if w % _GROUP:
        r, c = np.nonzero(F <= thresh[:, None])
        return r, c, F[r, c]
    G = w // _GROUP
    minima = F.reshape(n, _GROUP, G).min(axis=1)
    hit = np.flatnonzero(minima <= thresh[:, None])
    hr = hit // G
    # Flat positions of the _GROUP members (columns g, g + G, ...) of each hit group.
    flat = ((hit + hr * (w - G))[:, None] + G * np.arange(_GROUP)).ravel()
    vals = F.reshape(-1).take(flat)
    keep = np.flatnonzero(vals.reshape(-1, _GROUP) <= thresh[hr][:, None])
    flat = flat[keep]
    r = flat // w
    return r, flat - r * w, vals[keep]


def _both_candidates(F, row_thresh, col_thresh=None, sample_rank=None):
    """Entries of tile ``F`` at or below their row's threshold, and those at
    or below their column's threshold, from one pass over the tile.

    The pass takes the minima of the column groups (rows ``g, g + G, ...``,
    ``G = n / _GROUP``): a group holds a row candidate only if its minimum
    is at or below the largest threshold of its rows, and a column
    candidate only if it is at or below its column's threshold; the members
    of the groups that pass either test are gathered once and compared
    with both thresholds.  The hit groups are found in row-major order of
    the minima, so the gather of each member row runs forward through the
    tile (7 % less search time at N = 20,000 than gathering them column by
    column); the column candidates are then sorted by column.  With
    ``sample_rank`` j, each column's threshold is first set to its j-th
    smallest group minimum.

    Returns ``(rows, columns, values)`` of the row candidates, rows
    ascending (then columns), ``(columns, rows, values)`` of the column
    candidates, columns ascending, and the column thresholds.
    """
    n, w = F.shape
    G = n // _GROUP  # the plan makes n a multiple of _GROUP
    F8 = F.reshape(_GROUP, G * w)  # F8[i, g * w + c] = F[i * G + g, c]
    minima = F8.min(axis=0)  # group (g, c) at g * w + c
    if sample_rank is not None:
        col_thresh = _kth_minimum(np.ascontiguousarray(minima.reshape(G, w).T), sample_rank)
    by_group = row_thresh.reshape(_GROUP, G)  # by_group[i, g]: threshold of row i * G + g
    group_max = by_group.max(axis=0)
    bound = np.maximum(group_max[:, None], col_thresh[None, :])
    hit = np.flatnonzero(minima <= bound.reshape(-1))  # g * w + c, ascending
    # The _GROUP members of each hit group, one member row at a time: each
    # row's reads run forward through the tile.
    vals = F8.take(hit, axis=1)  # (_GROUP, n_hit)
    if w & (w - 1):
        hg, hc = np.divmod(hit, w)
    else:  # a power of two (every full tile): shifts, not divisions
        hg, hc = hit >> (w.bit_length() - 1), hit & (w - 1)
    n_hit = len(hit)
    flat = vals.reshape(-1)
    # Column candidates, sorted by column (stably).  (``take``, not fancy
    # indexing, for every gather: less overhead on these small arrays.)
    keep = np.flatnonzero(vals <= col_thresh.take(hc))
    member, k_hit = np.divmod(keep, n_hit)
    cols = hc.take(k_hit)
    order = np.argsort(cols.astype(np.int16) if w < 2**15 else cols, kind="stable")
    k_hit = k_hit.take(order)
    col_part = (cols.take(order), member.take(order) * G + hg.take(k_hit),
                flat.take(keep.take(order)))
    # Row candidates, compared over all the hit groups (selecting first the
    # groups that can hold one costs more than it saves).  They come
    # member-major, and the hits ascend by (group, column), so the rows
    # ``member * G + group`` ascend, then the columns: no sort.
    keep = np.flatnonzero(vals <= by_group.take(hg, axis=1))
    member, k_hit = np.divmod(keep, n_hit)
    row_part = member * G + hg.take(k_hit), hc.take(k_hit), flat.take(keep)
    return row_part, col_part, col_thresh


def _threshold_order(thresh, tile):
    """Order of rows that sorts them by threshold and, within each full block
    of ``tile`` rows, gives each column group (rows ``g, g + G, ...``) eight
    consecutive thresholds."""
    order = np.argsort(thresh, kind="stable")
    full = len(order) // tile * tile
    blocks = order[:full].reshape(-1, tile // _GROUP, _GROUP).transpose(0, 2, 1)
    order[:full] = blocks.reshape(-1)
    return order


def _search_again(left, right, orig, store, pos, memory_budget):
    """Indices of the k best of the queries at positions ``pos`` (int64,
    ``(len(pos), k)``), from their whole rows of scores: the same factors
    as the tiles, a few rows at a time, ordered by (score, index)."""
    n, k = left.shape[0], store.k
    index = np.empty((len(pos), k), dtype=np.int64)
    step = max(1, memory_budget // (32 * n))
    for r0 in range(0, len(pos), step):
        p = pos[r0 : r0 + step]
        S = _mm(left[torch.from_numpy(p)], right,
                torch.empty((len(p), n), dtype=left.dtype)).numpy()
        S[np.arange(len(p)), p] = np.inf  # leave one out
        best, _ = store._smallest(store._entries(np.broadcast_to(orig, S.shape), S), k,
                                  order=True)
        index[r0 : r0 + len(p)] = best[0] & 0xFFFFFFFF if store.packed else best[1]
    return index


def _iter_loo_knn(X, k, metric, plan, memory_budget):
    """Yield ``(rows, indices)``: the k nearest other rows of the rows ``rows`` of ``X``.

    ``X`` is a validated float array and ``plan`` comes from
    :func:`_loo_plan`.  Neighbours are ordered by (score, index); every row
    is a query exactly once, in blocks; ``indices`` is an int64 tensor.
    """
    tile, m, cap, j = plan
    dtype = torch.float64 if X.dtype == np.float64 else torch.float32
    n = X.shape[0]
    # A fixed random order makes the first m rows a uniform sample.
    perm = np.random.RandomState(0).permutation(n)
    orig = perm.astype(np.int32)
    left, right = _augmented(X[perm], metric, dtype)
    store = _Store(n, k, cap, np.float64 if dtype == torch.float64 else np.float32)

    def finish(q0, q1):
        index, complete = store.best(q0, q1)
        if not complete.all():
            # Thresholds below the k-th score: search those queries again.
            redo = np.flatnonzero(~complete)
            index[redo] = _search_again(left, right, orig, store, q0 + redo, memory_budget)
        return perm[q0:q1].copy(), torch.from_numpy(index)

    def reorder(q0, q1, block):
        # Rows of similar thresholds share the column groups of the tiles
        # (the row test of a group uses the largest threshold of its rows).
        new = _threshold_order(store.thresh[q0:q1], block)
        for factor in (left.numpy(), right.numpy()):  # numpy's row gather: ~3x torch's
            factor[q0:q1] = factor[new + q0]
        perm[q0:q1] = perm[q0:q1][new]
        orig[q0:q1] = orig[q0:q1][new]
        store.reorder(q0, q1, new)

    buf = torch.empty(m * tile, dtype=dtype)  # the tiles (the stripe's, the square's)

    def sample():
        # Phase 1: the sample's own square, then its stripe against the other rows.
        # The square goes by stripes of `tile` rows (a sample row's
        # threshold needs its whole row), through the stripe buffer.
        for i0 in range(0, m, tile):
            i1 = min(i0 + tile, m)
            S = _mm(left[i0:i1], right[:m], buf[: (i1 - i0) * m].view(i1 - i0, m)).numpy()
            np.fill_diagonal(S[:, i0:i1], np.inf)
            store.thresh[i0:i1] = _kth_minimum(
                S.reshape(i1 - i0, _GROUP, m // _GROUP).min(axis=1), j)
            rows, cols, vals = _row_candidates(S, store.thresh[i0:i1])
            store.add(i0, i1 - i0, rows, orig[cols], vals)
        reorder(0, m, m)
        for c0 in range(m, n, tile):
            c1 = min(c0 + tile, n)
            F = _mm(left[:m], right[c0:c1], buf[: m * (c1 - c0)].view(m, c1 - c0)).numpy()
            (rows, cols, vals), (cols2, rows2, vals2), thresh = _both_candidates(
                F, store.thresh[:m], sample_rank=j)
            store.add(0, m, rows, orig.take(cols + c0), vals)
            store.thresh[c0:c1] = thresh
            store.add(c0, c1 - c0, cols2, orig.take(rows2), vals2)
        result = finish(0, m)
        reorder(m, n, tile)
        return result

    def row_block(a0):
        # Phase 2: one row of tiles of the upper block triangle of the other rows.
        a1 = min(a0 + tile, n)
        La = left[a0:a1]
        for b0 in range(a0, n, tile):
            b1 = min(b0 + tile, n)
            F = _mm(La, right[b0:b1],
                    buf[: (a1 - a0) * (b1 - b0)].view(a1 - a0, b1 - b0)).numpy()
            if a0 == b0:
                np.fill_diagonal(F, np.inf)
                rows, cols, vals = _row_candidates(F, store.thresh[a0:a1])
                store.add(a0, a1 - a0, rows, orig.take(cols + b0), vals)
                continue
            (rows, cols, vals), (cols2, rows2, vals2), _ = _both_candidates(
                F, store.thresh[a0:a1], store.thresh[b0:b1])
            store.add(a0, a1 - a0, rows, orig.take(cols + b0), vals)
            store.add(b0, b1 - b0, cols2, orig.take(rows2 + a0), vals2)
        return finish(a0, a1)

    # numpy's BLAS on torch's threads while the search runs, not while the
    # caller consumes a block.
    with _blas_threads():
        result = sample()
    yield result
    for a0 in range(m, n, tile):
        with _blas_threads():
            result = row_block(a0)
        yield result

"""Exact and approximate k-nearest-neighbour search with bounded memory.

The exact search computes query-by-reference score blocks with one fused
torch matmul (``addmm``) per block and keeps a running top-k, so memory is
bounded by ``memory_budget`` bytes whatever the number of samples: an N x N
matrix is never formed.  Ties are broken by reference index (the neighbour
with the smaller index comes first), so results are deterministic.

An optional faiss backend (``pip install skmetric[faiss]``) offers the same
exact search (``index="flat"``) and approximate indexes (``"ivf"``,
``"hnsw"``) for large N.
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch

from .utils._validation import check_array

__all__ = ["kneighbors", "mine_hard_negatives", "METRICS"]

METRICS = ("euclidean", "cosine", "dot")
_BACKENDS = ("torch", "faiss")
_INDEXES = ("flat", "ivf", "hnsw")

#: Default memory budget of one search, in bytes (256 MiB).
DEFAULT_MEMORY_BUDGET = 256 * 2**20

# Bytes used per element of a score block: the block itself plus the
# temporaries of top-k (values, and room for the tie check); see _block_shape.
_BLOCK_OVERHEAD = 2


def _check_metric(metric):
    if metric not in METRICS:
        raise ValueError(
            f"`metric` must be one of {list(METRICS)}; got {metric!r}."
        )


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"`{name}` must be an integer >= 1; got {value!r}.")
    if value < 1:
        raise ValueError(f"`{name}` must be an integer >= 1; got {value!r}.")
    return int(value)


def _check_embedding(X, name, *, min_samples=1):
    """Validate a 2-D finite float array and return it as a numpy array."""
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    return check_array(
        X,
        dtype=[np.float32, np.float64],
        ensure_all_finite=True,
        ensure_min_samples=min_samples,
        input_name=name,
    )


def _block_shape(n_query, n_ref, n_keep, itemsize, memory_budget):
    """Rows and columns of one score block so that the search fits the budget.

    A block of ``q x r`` scores costs about ``_BLOCK_OVERHEAD * q * r *
    itemsize`` bytes, and each query row also carries its running top-k
    (``n_keep`` values and int64 indices, twice during a merge).  The whole
    reference width is used when at least a few query rows fit, which keeps
    the matmul efficient; otherwise the references are split too.
    """
    keep_bytes = 2 * n_keep * (itemsize + 8)
    min_rows = min(n_query, 32)
    per_row_full = _BLOCK_OVERHEAD * n_ref * itemsize + keep_bytes
    if per_row_full * min_rows <= memory_budget:
        rows = max(1, min(n_query, memory_budget // per_row_full))
        return int(rows), int(n_ref)
    rows = max(1, min_rows)
    cols = (memory_budget // rows - keep_bytes) // (_BLOCK_OVERHEAD * itemsize)
    cols = max(int(cols), n_keep + 1, 1)
    return int(rows), int(min(cols, n_ref))


# Rows at least this many times longer than k use the two-level top-k.
_TWO_LEVEL_RATIO = 16384


def _two_level_topk(scores, k):
    """Top-(k+1) of very wide rows through group minima.

    Columns are split into G interleaved groups of s; the k groups with the
    smallest minima hold every element <= the k-th smallest value unless two
    group minima tie at the k-th place (those rows are flagged), so top-k
    runs over k*s candidates instead of the whole row.
    """
    n_rows, n_cols = scores.shape
    s = max(2, int(round(np.sqrt(n_cols / k))))
    G = n_cols // s
    minima = scores[:, : s * G].unflatten(1, (s, G)).amin(dim=1)
    gv, gi = torch.topk(minima, k + 1, dim=1, largest=False, sorted=True)
    tied = gv[:, k] == gv[:, k - 1]
    cols = (gi[:, :k].unsqueeze(2) + G * torch.arange(s, device=scores.device)).flatten(1)
    if s * G < n_cols:
        tail = torch.arange(s * G, n_cols, device=scores.device).expand(n_rows, -1)
        cols = torch.cat([cols, tail], dim=1)
    values, j = torch.topk(torch.gather(scores, 1, cols), k + 1, dim=1, largest=False,
                           sorted=True)
    return values, torch.gather(cols, 1, j), tied


def _select_smallest(scores, k, col_offset):
    """Indices and scores of the k smallest entries of each row of a block.

    Order is lexicographic in (score, column): ties are broken by the
    smaller column, so the result does not depend on torch's top-k.
    Returns ``(values, indices)`` sorted, with indices offset by
    ``col_offset``.
    """
    n_rows, n_cols = scores.shape
    if k >= n_cols:
        # Everything is kept: a stable sort orders equal scores by column.
        values, cols = torch.sort(scores, dim=1, stable=True)
        return values, cols + col_offset
    if n_cols >= _TWO_LEVEL_RATIO * k:
        values, cols, tied = _two_level_topk(scores, k)
    else:
        # top-(k+1), sorted: equal neighbours in it reveal every tie that
        # matters (inside the top k, or between the k-th and the next one).
        values, cols = torch.topk(scores, k + 1, dim=1, largest=False, sorted=True)
        tied = torch.zeros(n_rows, dtype=torch.bool, device=scores.device)
    tied |= (values[:, 1:] == values[:, :-1]).any(dim=1)
    values, cols = values[:, :k], cols[:, :k]
    if bool(tied.any()):
        # Rare in real data: redo the tied rows exactly, by (score, column).
        rows = torch.nonzero(tied).flatten()
        sub = scores[rows]
        threshold = values[rows, k - 1 : k]
        below = sub < threshold
        need = k - below.sum(dim=1, keepdim=True)
        equal = sub == threshold
        keep = below | (equal & (torch.cumsum(equal, dim=1) <= need))
        sub_cols = torch.nonzero(keep)[:, 1].reshape(len(rows), k)  # ascending columns
        sub_vals = torch.gather(sub, 1, sub_cols)
        sub_vals, order = torch.sort(sub_vals, dim=1, stable=True)
        values = values.clone()
        cols = cols.clone()
        values[rows] = sub_vals
        cols[rows] = torch.gather(sub_cols, 1, order)
    return values, cols + col_offset


def _merge(values, indices, new_values, new_indices, k):
    """Merge two sorted candidate lists whose indices are all ``old < new``.

    Equal scores then appear in increasing index order in the concatenation,
    so a stable sort keeps the (score, index) order.
    """
    values = torch.cat([values, new_values], dim=1)
    indices = torch.cat([indices, new_indices], dim=1)
    values, order = torch.sort(values, dim=1, stable=True)
    order = order[:, :k]
    return values[:, :k], torch.gather(indices, 1, order)


def _prepare(X, metric, dtype):
    """Tensor, squared norms (euclidean) of the rows, in the compute dtype."""
    T = torch.as_tensor(np.ascontiguousarray(X), dtype=dtype)
    if metric == "cosine":
        norms = torch.linalg.vector_norm(T, dim=1, keepdim=True)
        T = T / norms.clamp_min(torch.finfo(dtype).tiny)
        return T, None
    if metric == "euclidean":
        return T, (T * T).sum(dim=1)
    return T, None


#: Target size in bytes of one score tile of the thresholded search: small
#: enough to stay in a core's L2 cache between the matmul that writes it and
#: the comparison that reads it.
_TILE_BYTES = 8 * 2**20
_TILE_ROWS = 256

# Bytes per score of the thresholded search, worst case (every score of a
# tile a candidate): the tile, its bool mask, the (row, column) int64 pairs
# of ``nonzero``, the stored candidates (value, row, column) twice over (the
# store may hold a tile's worth before it is compacted, plus the new tile)
# and the temporaries of a compaction (sorts, padded matrices).
_TILE_OVERHEAD = 128

# The thresholded search is used when a tile is at least this many times
# wider than k (otherwise top-k per tile is as cheap).
_TILE_MIN_WIDTH_RATIO = 4


def _tile_shape(n_query, n_ref, n_keep, itemsize, memory_budget):
    """Rows and columns of a score tile for the thresholded search, or None.

    The tile holds at most ``_TILE_BYTES`` (cache) and its worst-case
    footprint ``_TILE_OVERHEAD`` bytes per score stays within
    ``memory_budget``.  ``None`` when a tile cannot be at least
    ``_TILE_MIN_WIDTH_RATIO * (n_keep + 1)`` columns wide (or the whole
    reference set), in which case the top-k-per-block search is used.
    """
    n_scores = min(_TILE_BYTES // itemsize, memory_budget // _TILE_OVERHEAD)
    min_cols = min(n_ref, _TILE_MIN_WIDTH_RATIO * (n_keep + 1))
    rows = min(n_query, _TILE_ROWS, max(1, n_scores // max(min_cols, 1)))
    cols = min(n_ref, n_scores // rows)
    if cols < min_cols or cols < 1:
        return None
    if cols == n_ref:
        rows = min(n_query, max(rows, n_scores // cols))
    # Keep the candidate store of one row block within the budget as well.
    if rows * n_keep * (itemsize + 16) * 4 > memory_budget:
        return None
    return int(rows), int(cols)


def _compact(rows, cols, vals, n_rows, k):
    """The k best candidates of each row by (value, column).

    ``rows``, ``cols``, ``vals`` are lists of 1-D tensors: candidate
    (row, reference index, score) triples, each pair (row, index) at most
    once, in any order.  A sort by (row, index) then a stable sort by value
    within each row order them by (value, index).  Every row must have at
    least k candidates.
    """
    r = torch.cat(rows) if len(rows) > 1 else rows[0]
    c = torch.cat(cols) if len(cols) > 1 else cols[0]
    v = torch.cat(vals) if len(vals) > 1 else vals[0]
    span = int(c.max()) + 1
    _, order = torch.sort(r * span + c)
    r, c, v = r[order], c[order], v[order]
    counts = torch.bincount(r, minlength=n_rows)
    width = int(counts.max())
    start = torch.cumsum(counts, 0) - counts
    pos = torch.arange(len(r), device=r.device) - start[r]
    V = torch.full((n_rows, width), torch.inf, dtype=v.dtype, device=v.device)
    C = torch.zeros((n_rows, width), dtype=c.dtype, device=c.device)
    V[r, pos] = v
    C[r, pos] = c
    if width > 4 * k:
        # Cheaper than sorting the whole padded row: exact top-k by
        # (value, position), i.e. by (value, index), then map back.
        V, P = _select_smallest(V, k, 0)
        return V, torch.gather(C, 1, P)
    V, P = torch.sort(V, dim=1, stable=True)
    return V[:, :k], torch.gather(C, 1, P[:, :k])


#: Interleaved groups per tile of the thresholded search: a tile of width
#: ``s * G`` is reduced to ``G`` group minima (group ``g`` = columns
#: ``g, g + G, ...``), a cheap vectorised min over ``s`` slices.
_GROUP = 16


def _tile_candidates(block, thresh, k):
    """Candidates of one score tile: (rows, columns, values) of the entries
    ``<= thresh`` (per row), and the threshold (set on the first tile).

    With ``thresh=None`` the threshold becomes the k-th smallest group
    minimum of each row, an upper bound of its k-th smallest score (k
    distinct groups each hold an entry at or below it).
    """
    n, width = block.shape
    s = _GROUP
    G = width // s
    if G * s != width or (thresh is None and G < k):
        if thresh is None:
            # Narrow or ragged tile: its own exact k-th value.
            thresh = torch.topk(block, k, dim=1, largest=False, sorted=True).values[:, -1:]
        idx = torch.nonzero(block <= thresh)
        ri, ci = idx[:, 0], idx[:, 1]
        return ri, ci, block[ri, ci], thresh
    minima = block.view(n, s, G).amin(dim=1)
    if thresh is None:
        thresh = torch.topk(minima, k, dim=1, largest=False, sorted=True).values[:, -1:]
    hit = torch.nonzero((minima <= thresh).view(-1)).flatten()
    hr = torch.div(hit, G, rounding_mode="floor")
    ci = (hit - hr * G).unsqueeze(1) + G * torch.arange(s, device=block.device)
    # Flat positions in the tile (a row-strided view of the tile buffer).
    flat = (hr * block.stride(0)).unsqueeze(1) + ci
    vals = block.as_strided((block.stride(0) * (n - 1) + width,), (1,))[flat]
    keep = vals <= thresh.view(-1)[hr].unsqueeze(1)
    return hr.unsqueeze(1).expand(-1, s)[keep], ci[keep], vals[keep], thresh


def _threshold_block(Q, Rt, r_sq, k, cols, metric, own, buf):
    """Exact k smallest scores of each query row of ``Q`` by (score, index).

    The references are scanned in cache-sized tiles of ``cols`` columns.
    Each row keeps a threshold, an upper bound of its final k-th score
    (first from the group minima of the first tile, then the k-th smallest
    candidate kept).  Only the entries of a tile at or below it become
    candidates, found through the tile's group minima, so no top-k runs
    over the scores; the candidate store is cut back to k per row
    (tightening the thresholds) whenever it outgrows a tile.
    """
    return _threshold_scan(Q, Rt, r_sq, k, cols, metric, own, buf)


def _threshold_scan(Q, Rt, r_sq, k, cols, metric, own, buf):
    n, n_r = Q.shape[0], Rt.shape[1]
    rows_l, cols_l, vals_l = [], [], []
    n_cand = 0
    # Compact when the store holds 4 candidates per kept neighbour (and
    # right after the first tile, whose threshold is loose).
    cap = min(max(buf.numel() // 2, 2 * n * k), 4 * n * k)
    thresh = None
    for r0 in range(0, n_r, cols):
        r1 = min(r0 + cols, n_r)
        block = buf[:n, : r1 - r0]
        if metric == "euclidean":
            torch.addmm(r_sq[r0:r1].unsqueeze(0), Q, Rt[:, r0:r1], beta=1, alpha=-2,
                        out=block)
        else:
            torch.mm(Q, Rt[:, r0:r1], out=block).neg_()
        if own is not None:
            hit = torch.nonzero((own >= r0) & (own < r1)).flatten()
            if len(hit):
                block[hit, own[hit] - r0] = torch.inf
        if thresh is None and r1 - r0 <= k:
            # Too narrow to set a threshold: keep every entry.
            ri = torch.arange(n, device=Q.device).repeat_interleave(r1 - r0)
            ci = torch.arange(r1 - r0, device=Q.device).repeat(n)
            vi = block.flatten().clone()
        else:
            ri, ci, vi, thresh = _tile_candidates(block, thresh, k)
        rows_l.append(ri)
        cols_l.append(ci + r0)
        vals_l.append(vi)
        n_cand += len(ri)
        if (n_cand > cap or r0 == 0) and r1 < n_r and n_cand > n * k:
            v, i = _compact(rows_l, cols_l, vals_l, n, k)
            rows_l = [torch.arange(n, device=Q.device).repeat_interleave(k)]
            cols_l, vals_l = [i.flatten()], [v.flatten()]
            n_cand = n * k
            thresh = v[:, k - 1 :].clone()
    return _compact(rows_l, cols_l, vals_l, n, k)


def _iter_knn(X, X_ref, k, *, metric, memory_budget, self_index=None, device=None,
              return_distance=True, method="auto"):
    """Yield ``(start, stop, distances, indices)`` per block of query rows.

    Inputs must be validated arrays.  ``X_ref=None`` means ``X_ref = X``.
    ``self_index`` (int array, one per query, -1 for none) names the
    reference row that query ``i`` must never return (leave-one-out by index).
    ``method`` is ``"threshold"`` (cache-sized tiles, candidates by a running
    threshold), ``"topk"`` (top-k per block, then merged) or ``"auto"``
    (threshold on the CPU when the tiles can be much wider than k; top-k on
    other devices, where the threshold search's ``nonzero`` per tile would
    wait for the device once per tile).
    """
    dtype = torch.float64 if X.dtype == np.float64 else torch.float32
    if X_ref is not None and X_ref.dtype == np.float64:
        dtype = torch.float64
    itemsize = 8 if dtype == torch.float64 else 4
    Q, q_sq = _prepare(X, metric, dtype)
    if X_ref is None:
        R, r_sq = Q, q_sq
    else:
        R, r_sq = _prepare(X_ref, metric, dtype)
    if device is not None:
        Q, R = Q.to(device), R.to(device)
        r_sq = None if r_sq is None else r_sq.to(device)
        q_sq = None if q_sq is None else q_sq.to(device)
    n_q, n_r = Q.shape[0], R.shape[0]
    if self_index is not None:
        self_index = torch.as_tensor(np.asarray(self_index, dtype=np.int64), device=Q.device)
    if method == "auto" and Q.device.type != "cpu":
        method = "topk"
    tile = None
    if method in ("auto", "threshold"):
        tile = _tile_shape(n_q, n_r, k, itemsize, memory_budget)
        if tile is None and method == "threshold":
            raise ValueError("The memory budget is too small for the thresholded search.")
    Rt = R.T
    if tile is not None:
        rows, cols = tile
        buf = torch.empty((rows, cols), dtype=dtype, device=Q.device)
    else:
        rows, cols = _block_shape(n_q, n_r, k, itemsize, memory_budget)
    for q0 in range(0, n_q, rows):
        q1 = min(q0 + rows, n_q)
        if tile is not None:
            own = None if self_index is None else self_index[q0:q1]
            best_v, best_i = _threshold_block(Q[q0:q1], Rt, r_sq, k, cols, metric, own, buf)
        else:
            best_v = best_i = None
        for r0 in range(0, n_r if tile is None else 0, cols):
            r1 = min(r0 + cols, n_r)
            if metric == "euclidean":
                # ||r||^2 - 2 q.r : the squared distance minus ||q||^2.
                block = torch.addmm(r_sq[r0:r1].unsqueeze(0), Q[q0:q1], Rt[:, r0:r1],
                                    beta=1, alpha=-2)
            else:
                block = torch.mm(Q[q0:q1], Rt[:, r0:r1]).neg_()
            if self_index is not None:
                # each query's own column, where it lies in this block, to +inf
                # (no nonzero: no wait for the device per block)
                own = self_index[q0:q1]
                inside = (own >= r0) & (own < r1)
                rows_b = torch.arange(q1 - q0, device=block.device)
                cols_b = (own - r0).clamp_(0, r1 - r0 - 1)
                block[rows_b, cols_b] = torch.where(
                    inside, torch.inf, block[rows_b, cols_b])
            v, i = _select_smallest(block, min(k, r1 - r0), r0)
            del block
            if best_v is None:
                best_v, best_i = v, i
            else:
                best_v, best_i = _merge(best_v, best_i, v, i, k)
        if not return_distance:
            pass
        elif metric == "euclidean":
            best_v = (best_v + q_sq[q0:q1].unsqueeze(1)).clamp_min_(0).sqrt_()
        elif metric == "cosine":
            best_v = best_v + 1
        yield q0, q1, best_v, best_i


def _faiss():
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "backend='faiss' needs the faiss package; install the `faiss` extra "
            "with `pip install skmetric[faiss]` (or `pip install faiss-cpu`)."
        ) from exc
    return faiss


def _faiss_search(X, X_ref, k, *, metric, index, index_params, exclude_self):
    faiss = _faiss()
    params = dict(index_params or {})
    Q = np.ascontiguousarray(X, dtype=np.float32)
    R = Q if X_ref is None else np.ascontiguousarray(X_ref, dtype=np.float32)
    if metric == "cosine":
        Q = Q / np.maximum(np.linalg.norm(Q, axis=1, keepdims=True), np.finfo(np.float32).tiny)
        R = Q if X_ref is None else R / np.maximum(
            np.linalg.norm(R, axis=1, keepdims=True), np.finfo(np.float32).tiny
        )
    d = Q.shape[1]
    inner = metric in ("cosine", "dot")
    faiss_metric = faiss.METRIC_INNER_PRODUCT if inner else faiss.METRIC_L2
    if index == "flat":
        idx = faiss.IndexFlatIP(d) if inner else faiss.IndexFlatL2(d)
    elif index == "hnsw":
        idx = faiss.IndexHNSWFlat(d, int(params.get("M", 32)), faiss_metric)
        idx.hnsw.efConstruction = int(params.get("ef_construction", 80))
        idx.hnsw.efSearch = max(int(params.get("ef_search", 64)), k + 1)
    else:  # ivf
        nlist = int(params.get("nlist", max(1, int(np.sqrt(R.shape[0])))))
        quantizer = faiss.IndexFlatIP(d) if inner else faiss.IndexFlatL2(d)
        idx = faiss.IndexIVFFlat(quantizer, d, nlist, faiss_metric)
        idx.train(R)
        idx.nprobe = int(params.get("nprobe", min(nlist, 8)))
    idx.add(R)
    extra = 1 if exclude_self else 0
    n_search = min(k + extra, R.shape[0])
    scores, indices = idx.search(Q, n_search)
    scores = scores.astype(np.float64)
    if inner:
        scores = -scores
    else:
        scores = np.sqrt(np.maximum(scores, 0))
    # faiss pads missing results with index -1 (approximate indexes).
    scores[indices < 0] = np.inf
    if exclude_self:
        own = indices == np.arange(len(Q))[:, None]
        # Drop the query's own index; if absent, drop the last neighbour.
        drop = np.where(own.any(axis=1), own.argmax(axis=1), n_search - 1)
        keep = np.ones_like(own)
        keep[np.arange(len(Q)), drop] = False
        scores = scores[keep].reshape(len(Q), n_search - 1)
        indices = indices[keep].reshape(len(Q), n_search - 1)
    # Deterministic order: by score, then by index.
    order = np.lexsort((indices, scores), axis=1)
    scores = np.take_along_axis(scores, order, axis=1)[:, :k]
    indices = np.take_along_axis(indices, order, axis=1)[:, :k]
    if metric == "cosine":
        scores = scores + 1
    return scores, indices.astype(np.int64)


# ------------------------------------------------------------ QB-Norm
def _check_querybank(querybank, beta, querybank_k, n_features, n_ref):
    """Validate the query-bank arguments; return ``(bank, beta, k)``."""
    bank = _check_embedding(querybank, "querybank")
    if bank.shape[1] != n_features:
        raise ValueError(
            f"`querybank` has {bank.shape[1]} features but X has {n_features}."
        )
    if (isinstance(beta, bool) or not isinstance(beta, Real) or not np.isfinite(beta)
            or beta <= 0):
        raise ValueError(f"`beta` must be a finite real number > 0; got {beta!r}.")
    querybank_k = _check_positive_int(querybank_k, "querybank_k")
    if querybank_k > n_ref:
        raise ValueError(
            f"`querybank_k`={querybank_k} is larger than the number of references={n_ref}."
        )
    return bank, float(beta), querybank_k


def _similarity_dtype(*arrays):
    return torch.float64 if any(a.dtype == np.float64 for a in arrays) else torch.float32


def _querybank_normaliser(bank, ref, *, metric, beta, k, memory_budget, device):
    """Log-normaliser of every reference and its activation flag.

    ``log_norm[j] = log sum_b exp(beta * s(b, j))`` over the bank rows ``b``
    (a running logsumexp over blocks of the bank), and ``active[j]`` tells
    whether reference ``j`` is among the ``k`` nearest references of some
    bank row.
    """
    dtype = _similarity_dtype(bank, ref)
    itemsize = 8 if dtype == torch.float64 else 4
    B, b_sq = _prepare(bank, metric, dtype)
    R, r_sq = _prepare(ref, metric, dtype)
    if device is not None:
        B, R = B.to(device), R.to(device)
        b_sq = None if b_sq is None else b_sq.to(device)
        r_sq = None if r_sq is None else r_sq.to(device)
    n_ref = R.shape[0]
    # The similarity block and its exponentials: two score-sized arrays.
    rows = max(1, memory_budget // (2 * n_ref * itemsize))
    log_norm = torch.full((n_ref,), -torch.inf, dtype=dtype, device=R.device)
    with torch.no_grad():
        for b0 in range(0, B.shape[0], rows):
            b1 = min(b0 + rows, B.shape[0])
            S = torch.mm(B[b0:b1], R.T)
            if metric == "euclidean":
                # s = -||b - r||^2 / 2
                S.sub_(b_sq[b0:b1].unsqueeze(1) / 2).sub_(r_sq.unsqueeze(0) / 2)
            log_norm = torch.logaddexp(log_norm, torch.logsumexp(S.mul_(beta), dim=0))
        active = torch.zeros(n_ref, dtype=torch.bool, device=R.device)
        for _, _, _, ind in _iter_knn(bank, ref, k, metric=metric, memory_budget=memory_budget,
                                      device=device, return_distance=False):
            active[ind.flatten()] = True
    return log_norm, active


def _inverted_softmax_inputs(X, ref, log_norm, *, metric, beta):
    """Rows whose inner product ranks references by the QB-Norm score.

    Searching ``[beta * q, 1]`` against ``[r, c_r]`` by largest inner product
    ranks the references of ``q`` by ``beta * s(q, r) - log_norm[r]`` (the
    log of the dynamic inverted softmax), with ``c_r = -log_norm[r]``, and
    ``c_r = -beta * ||r||^2 / 2 - log_norm[r]`` for ``s = -||q - r||^2 / 2``
    (the term ``-beta * ||q||^2 / 2`` is the same for every reference).
    """
    dtype = log_norm.dtype
    Q, _ = _prepare(X, "cosine" if metric == "cosine" else "dot", dtype)
    R, _ = _prepare(ref, "cosine" if metric == "cosine" else "dot", dtype)
    offset = -log_norm.cpu()
    if metric == "euclidean":
        offset = offset - beta * (R * R).sum(dim=1) / 2
    Qa = torch.cat([beta * Q, torch.ones((Q.shape[0], 1), dtype=dtype)], dim=1)
    Ra = torch.cat([R, offset.unsqueeze(1)], dim=1)
    return Qa.numpy(), Ra.numpy()


def _iter_knn_querybank(X, X_ref, k, *, metric, memory_budget, querybank, beta, querybank_k,
                        self_index=None, device=None):
    """Yield ``(rows, distances, indices)``: the search of :func:`_iter_knn`
    with QB-Norm's dynamic inverted softmax (Bogolin et al., 2022).

    ``rows`` are positions in ``X``.  A query whose plain nearest reference
    is active (among the ``querybank_k`` nearest references of a bank row)
    is ranked by ``exp(beta s(q, r)) / sum_b exp(beta s(b, r))``; the other
    queries keep the plain ranking.  ``distances`` is None for the rescored
    blocks.  Ties are broken by reference index in both rankings.
    """
    ref = X if X_ref is None else X_ref
    log_norm, active = _querybank_normaliser(querybank, ref, metric=metric, beta=beta,
                                             k=querybank_k, memory_budget=memory_budget,
                                             device=device)
    top1 = np.empty(X.shape[0], dtype=np.int64)
    for q0, q1, _, ind in _iter_knn(X, ref, 1, metric=metric, memory_budget=memory_budget,
                                    self_index=self_index, device=device,
                                    return_distance=False):
        top1[q0:q1] = ind[:, 0].cpu().numpy()
    rescore = active.cpu().numpy()[top1]
    own = None if self_index is None else np.asarray(self_index, dtype=np.int64)
    plain = np.flatnonzero(~rescore)
    if plain.size:
        for q0, q1, v, ind in _iter_knn(X[plain], ref, k, metric=metric,
                                        memory_budget=memory_budget,
                                        self_index=None if own is None else own[plain],
                                        device=device):
            yield plain[q0:q1], v, ind
    normed = np.flatnonzero(rescore)
    if normed.size:
        Qa, Ra = _inverted_softmax_inputs(X[normed], ref, log_norm, metric=metric, beta=beta)
        for q0, q1, _, ind in _iter_knn(Qa, Ra, k, metric="dot", memory_budget=memory_budget,
                                        self_index=None if own is None else own[normed],
                                        device=device, return_distance=False):
            yield normed[q0:q1], None, ind


def _distances_of(Q, q_sq, R, r_sq, ind, metric):
    """Distances under ``metric`` between the rows of ``Q`` and ``R[ind]``
    (row-wise), from the outputs of :func:`_prepare`."""
    ind = torch.as_tensor(ind)
    dot = torch.einsum("nd,nkd->nk", Q, R[ind])
    if metric == "euclidean":
        return (q_sq.unsqueeze(1) + r_sq[ind] - 2 * dot).clamp_min_(0).sqrt_().numpy()
    if metric == "cosine":
        return (1 - dot).numpy()
    return (-dot).numpy()

def kneighbors(
    X,
    X_ref=None,
    n_neighbors=1,
    *,
    metric="euclidean",
    memory_budget=DEFAULT_MEMORY_BUDGET,
    backend="torch",
    index="flat",
    index_params=None,
    device=None,
    querybank=None,
    beta=20.0,
    querybank_k=1,
):
    """Find the nearest reference rows of each query row.

    With ``querybank``, the ranking is rescored by QB-Norm's dynamic
    inverted softmax (Bogolin et al., 2022), which reduces hubness: a
    reference that is the nearest neighbour of many bank queries is ranked
    lower.  With ``s(q, r)`` the similarity of ``metric`` (cosine
    similarity, inner product, or ``-||q - r||^2 / 2`` for ``"euclidean"``)
    and ``b`` the bank rows, a query is ranked by

    .. math:: \\frac{\\exp(\\beta\\, s(q, r))}{\\sum_b \\exp(\\beta\\, s(b, r))}

    if its plain nearest reference is *active* (among the ``querybank_k``
    nearest references of at least one bank row), and by plain ``metric``
    otherwise.  A bank far from the references activates nothing and
    leaves every ranking unchanged.

    Parameters
    ----------
    X : array-like of shape (n_queries, n_features)
        Query embeddings.
    X_ref : array-like of shape (n_references, n_features), default=None
        Reference embeddings.  ``None`` searches ``X`` against itself
        leave-one-out: each query's own row is excluded *by index* (an exact
        duplicate at another index is still a neighbour).
    n_neighbors : int, default=1
        Number of neighbours to return; at most the number of references
        (minus one when ``X_ref`` is None).
    metric : {"euclidean", "cosine", "dot"}, default="euclidean"
        Euclidean distance, cosine distance ``1 - cos``, or the negated
        inner product ``-x.y`` (so that smaller is always closer).
    memory_budget : int, default=268435456
        Bytes that one search may use for its score blocks and running top-k
        (the inputs themselves excluded).  The block sizes are derived from it.
    backend : {"torch", "faiss"}, default="torch"
        ``"faiss"`` needs the optional ``faiss`` extra.
    index : {"flat", "ivf", "hnsw"}, default="flat"
        faiss index: ``"flat"`` is exact, ``"ivf"`` and ``"hnsw"`` are
        approximate.  Only ``"flat"`` is valid with ``backend="torch"``.
    index_params : dict, default=None
        faiss index settings: ``nlist``/``nprobe`` (IVF), ``M``,
        ``ef_construction``/``ef_search`` (HNSW).
    device : str or torch.device, default=None
        Device of the torch search (CPU by default).
    querybank : array-like of shape (n_bank, n_features), default=None
        QB-Norm's bank of queries (e.g. the training queries), embedded
        like ``X``; ``None`` ranks by ``metric`` alone.  Torch backend only.
    beta : float, default=20.0
        Inverse temperature of the inverted softmax (> 0; the paper's
        default is 20, for cosine similarities).
    querybank_k : int, default=1
        References within this many nearest neighbours of a bank row are
        active (the paper's k).

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors)
        Sorted ascending; equal distances are ordered by reference index.
        With ``querybank``, the distances under ``metric`` of the neighbours
        in their QB-Norm order (then not necessarily ascending).
    indices : ndarray of shape (n_queries, n_neighbors), dtype=int64
        Row indices into ``X_ref`` (or ``X``).

    Examples
    --------
    >>> import numpy as np
    >>> from skmetric.neighbors import kneighbors
    >>> X = np.array([[0.0], [1.0], [3.0], [1.0]])
    >>> dist, ind = kneighbors(X, n_neighbors=2)
    >>> ind
    array([[1, 3],
           [3, 0],
           [1, 3],
           [1, 0]])
    >>> dist[0]
    array([1., 1.])
    """
    _check_metric(metric)
    if backend not in _BACKENDS:
        raise ValueError(f"`backend` must be one of {list(_BACKENDS)}; got {backend!r}.")
    if index not in _INDEXES:
        raise ValueError(f"`index` must be one of {list(_INDEXES)}; got {index!r}.")
    if backend == "torch" and index != "flat":
        raise ValueError(
            f"`index={index!r}` needs backend='faiss'; the torch backend is exact "
            "(index='flat')."
        )
    n_neighbors = _check_positive_int(n_neighbors, "n_neighbors")
    memory_budget = _check_positive_int(memory_budget, "memory_budget")
    exclude_self = X_ref is None
    X = _check_embedding(X, "X", min_samples=2 if exclude_self else 1)
    if X_ref is not None:
        X_ref = _check_embedding(X_ref, "X_ref")
        if X_ref.shape[1] != X.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features but X_ref has {X_ref.shape[1]}."
            )
    n_available = X.shape[0] - 1 if exclude_self else X_ref.shape[0]
    if n_neighbors > n_available:
        where = "n_samples - 1 (leave-one-out)" if exclude_self else "the number of references"
        raise ValueError(
            f"`n_neighbors`={n_neighbors} is larger than {where}={n_available}."
        )
    if querybank is not None:
        if backend != "torch":
            raise ValueError("`querybank` needs backend='torch'.")
        ref = X if X_ref is None else X_ref
        querybank, beta, querybank_k = _check_querybank(
            querybank, beta, querybank_k, X.shape[1], ref.shape[0])
        dist = np.empty((X.shape[0], n_neighbors), dtype=np.result_type(X.dtype, ref.dtype))
        ind = np.empty((X.shape[0], n_neighbors), dtype=np.int64)
        with torch.no_grad():
            dtype = _similarity_dtype(X, ref)
            Q, q_sq = _prepare(X, metric, dtype)
            R, r_sq = _prepare(ref, metric, dtype)
            for rows, v, i in _iter_knn_querybank(
                X, X_ref, n_neighbors, metric=metric, memory_budget=memory_budget,
                querybank=querybank, beta=beta, querybank_k=querybank_k,
                self_index=np.arange(X.shape[0]) if exclude_self else None, device=device,
            ):
                i = i.cpu().numpy()
                ind[rows] = i
                if v is None:
                    t = torch.as_tensor(rows)
                    v = _distances_of(Q[t], None if q_sq is None else q_sq[t], R, r_sq, i,
                                      metric)
                else:
                    v = v.cpu().numpy()
                dist[rows] = v
        return dist, ind
    if backend == "faiss":
        return _faiss_search(X, X_ref, n_neighbors, metric=metric, index=index,
                             index_params=index_params, exclude_self=exclude_self)
    dist = np.empty((X.shape[0], n_neighbors), dtype=X.dtype if X_ref is None
                    else np.result_type(X.dtype, X_ref.dtype))
    ind = np.empty((X.shape[0], n_neighbors), dtype=np.int64)
    with torch.no_grad():
        self_index = np.arange(X.shape[0]) if exclude_self else None
        for q0, q1, v, i in _iter_knn(X, X_ref, n_neighbors, metric=metric,
                                      self_index=self_index,
                                      memory_budget=memory_budget, device=device):
            dist[q0:q1] = v.cpu().numpy()
            ind[q0:q1] = i.cpu().numpy()
    return dist, ind


# ----------------------------------------------------------------- mining
_MINING_METRICS = ("cosine", "euclidean")


def _check_index_vector(idx, name, n_rows):
    """1-D int64 row indices into an array of ``n_rows`` rows."""
    if isinstance(idx, torch.Tensor):
        idx = idx.detach().cpu().numpy()
    arr = np.asarray(idx)
    if arr.ndim != 1:
        raise ValueError(
            f"`{name}` must be a 1-D array of row indices into `corpus`; got an array "
            f"of shape {arr.shape}."
        )
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        if arr.size:
            raise ValueError(
                f"`{name}` must hold integer row indices into `corpus`; got dtype "
                f"{arr.dtype}."
            )
        arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n_rows):
        bad = int(arr[(arr < 0) | (arr >= n_rows)][0])
        raise ValueError(
            f"`{name}` holds the index {bad}, out of range for `corpus` with "
            f"{n_rows} rows."
        )
    return arr.astype(np.int64, copy=False)


def _index_sets_matrix(obj, n_rows, n_cols, name, *, graded=False):
    """A CSR matrix ``(n_rows, n_cols)`` from a sparse/dense matrix or lists of indices.

    Lists of indices give the value 1 at each listed column (a repeated index
    counts once).  With ``graded`` the values of a matrix are kept (they must
    be finite and >= 0); otherwise only the sparsity pattern matters.
    Explicit zeros are dropped.
    """
    if sp.issparse(obj) or (isinstance(obj, np.ndarray) and obj.ndim == 2):
        if obj.shape != (n_rows, n_cols):
            raise ValueError(
                f"`{name}` must have shape {(n_rows, n_cols)}; got {tuple(obj.shape)}."
            )
        M = sp.csr_matrix(obj, dtype=np.float64)
        M.sum_duplicates()
        if not np.all(np.isfinite(M.data)):
            raise ValueError(f"`{name}` contains NaN or infinity.")
        if graded and M.nnz and M.data.min() < 0:
            raise ValueError(
                f"`{name}` must hold relevance values >= 0; got {float(M.data.min())!r}."
            )
    else:
        try:
            rows = list(obj)
        except TypeError:
            raise ValueError(
                f"`{name}` must be a sparse or dense matrix of shape {(n_rows, n_cols)} "
                f"or a list of {n_rows} lists of column indices; got "
                f"{type(obj).__name__}."
            ) from None
        if len(rows) != n_rows:
            raise ValueError(
                f"`{name}` must hold one list of indices per row ({n_rows}); got "
                f"{len(rows)}."
            )
        cols = []
        for r in rows:
            c = np.asarray(r if r is not None else [])
            if c.ndim > 1 or (c.size and (c.dtype == bool
                                          or not np.issubdtype(c.dtype, np.integer))):
                raise ValueError(
                    f"`{name}` must be lists of integer column indices; got {r!r}."
                )
            cols.append(c.astype(np.int64).ravel())
        lengths = np.array([len(c) for c in cols], dtype=np.int64)
        flat = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        if flat.size and (flat.min() < 0 or flat.max() >= n_cols):
            bad = int(flat[(flat < 0) | (flat >= n_cols)][0])
            raise ValueError(
                f"`{name}` holds the index {bad}, out of range for {n_cols} columns."
            )
        row_of = np.repeat(np.arange(n_rows), lengths)
        M = sp.csr_matrix((np.ones(flat.size), (row_of, flat)), shape=(n_rows, n_cols))
        M.sum_duplicates()
        M.data[:] = 1.0
    M.eliminate_zeros()
    M.sort_indices()
    return M


def _check_margin(value, name, *, upper=None):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
        raise ValueError(f"`{name}` must be a finite real number or None; got {value!r}.")
    if upper is not None and not 0 <= value < upper:
        raise ValueError(f"`{name}` must be in [0, {upper}); got {value!r}.")
    return float(value)


def mine_hard_negatives(
    anchors,
    positives,
    corpus,
    *,
    n_negatives=1,
    metric="cosine",
    absolute_margin=None,
    relative_margin=None,
    candidates=None,
    exclude=None,
    memory_budget=DEFAULT_MEMORY_BUDGET,
    device=None,
):
    """Hardest negatives of (anchor, positive) pairs, as index triplets.

    Every index, in and out, is a row of the one array ``corpus``: anchors,
    positives and negatives are rows of it, so the triplets go straight into
    a tuple learner with ``preprocessor=corpus``.  Queries and documents held
    in two arrays are stacked first (``np.vstack([queries, docs])``, the
    documents' indices shifted by ``len(queries)``) and ``candidates``
    restricts the negatives to the document rows.

    For each pair ``(a, p)``, the negatives are the corpus rows closest to
    ``a`` -- exactly, by a chunked search of bounded memory -- that are not
    excluded: the anchor row itself, every positive of any pair with the
    same anchor index, and the rows listed in ``exclude``.  Duplicates of a
    vector at another index are *not* excluded; the margins filter such
    likely false negatives.

    Margins (as in sentence-transformers' ``mine_hard_negatives``), with
    ``s`` the cosine similarity: a candidate ``c`` is kept only if
    ``s(a, c) <= s(a, p) - absolute_margin`` and
    ``s(a, c) <= s(a, p) * (1 - relative_margin)``.  With
    ``metric="euclidean"`` they apply to distances ``d``:
    ``d(a, c) >= d(a, p) + absolute_margin`` and
    ``d(a, p) <= (1 - relative_margin) * d(a, c)``.

    Parameters
    ----------
    anchors : array-like of int, shape (n_pairs,)
        Row indices into ``corpus`` of the anchors (queries).
    positives : array-like of int, shape (n_pairs,)
        Row indices into ``corpus`` of each anchor's positive.
    corpus : array-like of shape (n_corpus, n_features)
        Embeddings (float32 or float64, finite).
    n_negatives : int, default=1
        Negatives per pair, hardest first; fewer when fewer candidates pass
        the exclusions and margins.
    metric : {"cosine", "euclidean"}, default="cosine"
    absolute_margin : float or None, default=None
        See above; ``None`` applies no absolute margin.
    relative_margin : float in [0, 1) or None, default=None
        See above; ``None`` applies no relative margin.
    candidates : array-like of int or None, default=None
        Rows of ``corpus`` that may be negatives; ``None``: every row.
    exclude : sparse matrix, ndarray or list of lists, default=None
        Further rows never to return for a pair: a ``(n_pairs, n_corpus)``
        matrix whose non-zero entries are excluded, or one list of row
        indices per pair (e.g. every known relevant document of the query).
    memory_budget : int, default=268435456
        Bytes for the score blocks of one search, as in :func:`kneighbors`.
    device : str or torch.device, default=None
        Device of the search (CPU by default).

    Returns
    -------
    triplets : ndarray of shape (n_triplets, 3), dtype=int64
        Rows ``(anchor, positive, negative)``, grouped by pair in input
        order, the hardest negative first; equally hard negatives are
        ordered by index.

    Examples
    --------
    >>> import numpy as np
    >>> from skmetric.neighbors import mine_hard_negatives
    >>> corpus = np.array([[1.0, 0.0], [0.9, 0.1], [0.8, 0.6], [0.0, 1.0]])
    >>> mine_hard_negatives([0], [1], corpus, n_negatives=2)
    array([[0, 1, 2],
           [0, 1, 3]])
    >>> mine_hard_negatives([0], [2], corpus, n_negatives=2, absolute_margin=0.05)
    array([[0, 2, 3]])
    """
    if metric not in _MINING_METRICS:
        raise ValueError(f"`metric` must be one of {list(_MINING_METRICS)}; got {metric!r}.")
    n_negatives = _check_positive_int(n_negatives, "n_negatives")
    memory_budget = _check_positive_int(memory_budget, "memory_budget")
    absolute_margin = _check_margin(absolute_margin, "absolute_margin")
    relative_margin = _check_margin(relative_margin, "relative_margin", upper=1)
    corpus = _check_embedding(corpus, "corpus")
    n_corpus = corpus.shape[0]
    anchors = _check_index_vector(anchors, "anchors", n_corpus)
    positives = _check_index_vector(positives, "positives", n_corpus)
    if anchors.size != positives.size:
        raise ValueError(
            f"`anchors` and `positives` must have the same length; got {anchors.size} "
            f"and {positives.size}."
        )
    if anchors.size == 0:
        raise ValueError("`anchors` and `positives` hold no pair.")
    if candidates is None:
        cand = np.arange(n_corpus, dtype=np.int64)
    else:
        cand = np.unique(_check_index_vector(candidates, "candidates", n_corpus))
    if n_negatives > cand.size:
        raise ValueError(
            f"`n_negatives`={n_negatives} is larger than the number of candidate rows "
            f"of `corpus`={cand.size}."
        )
    n_pairs = anchors.size

    # Rows no pair may return: itself, the positives of its anchor, `exclude`.
    groups, group_of = np.unique(anchors, return_inverse=True)
    by_anchor = sp.csr_matrix(
        (np.ones(n_pairs), (group_of, positives)), shape=(groups.size, n_corpus)
    )
    banned = by_anchor[group_of] + sp.csr_matrix(
        (np.ones(n_pairs), (np.arange(n_pairs), anchors)), shape=(n_pairs, n_corpus)
    )
    if exclude is not None:
        banned = banned + _index_sets_matrix(exclude, n_pairs, n_corpus, "exclude")
    banned = sp.csr_matrix(banned)
    banned.sum_duplicates()
    position = np.full(n_corpus, -1, dtype=np.int64)  # corpus row -> candidate column
    position[cand] = np.arange(cand.size)

    dtype = torch.float64 if corpus.dtype == np.float64 else torch.float32
    itemsize = 8 if dtype == torch.float64 else 4
    out = []
    with torch.no_grad():
        C, c_sq = _prepare(corpus, metric, dtype)
        if device is not None:
            C = C.to(device)
            c_sq = None if c_sq is None else c_sq.to(device)
        R = C[torch.as_tensor(cand, device=C.device)]
        Rt = R.T
        r_sq = None if c_sq is None else c_sq[torch.as_tensor(cand, device=C.device)]
        a_t = torch.as_tensor(anchors, device=C.device)
        p_t = torch.as_tensor(positives, device=C.device)
        # The block, a mask and the metric values: three score-sized arrays.
        rows, cols = _block_shape(n_pairs, cand.size, n_negatives, itemsize,
                                  max(1, memory_budget // 3))
        for q0 in range(0, n_pairs, rows):
            q1 = min(q0 + rows, n_pairs)
            Q = C[a_t[q0:q1]]
            dot_p = (Q * C[p_t[q0:q1]]).sum(dim=1)
            if metric == "euclidean":
                q_sq = c_sq[a_t[q0:q1]]
                d_p = (q_sq + c_sq[p_t[q0:q1]] - 2 * dot_p).clamp_min(0).sqrt()
                bound = None
                if absolute_margin is not None:
                    bound = d_p + absolute_margin
                if relative_margin is not None:
                    rel = d_p / (1 - relative_margin)
                    bound = rel if bound is None else torch.maximum(bound, rel)
            else:
                bound = None
                if absolute_margin is not None:
                    bound = dot_p - absolute_margin
                if relative_margin is not None:
                    rel = dot_p * (1 - relative_margin)
                    bound = rel if bound is None else torch.minimum(bound, rel)
            sub = banned[q0:q1].tocoo()
            pos = position[sub.col]
            keep = pos >= 0
            ban_r = torch.as_tensor(sub.row[keep].astype(np.int64), device=C.device)
            ban_c = torch.as_tensor(pos[keep], device=C.device)
            best_v = best_i = None
            for r0 in range(0, cand.size, cols):
                r1 = min(r0 + cols, cand.size)
                if metric == "euclidean":
                    block = torch.addmm(r_sq[r0:r1].unsqueeze(0), Q, Rt[:, r0:r1],
                                        beta=1, alpha=-2)
                    if bound is not None:
                        dist = (block + q_sq.unsqueeze(1)).clamp_min_(0).sqrt_()
                        block[dist < bound.unsqueeze(1)] = torch.inf
                        del dist
                else:
                    block = torch.mm(Q, Rt[:, r0:r1])
                    if bound is not None:
                        block[block > bound.unsqueeze(1)] = -torch.inf
                    block.neg_()
                hit = (ban_c >= r0) & (ban_c < r1)
                block[ban_r[hit], ban_c[hit] - r0] = torch.inf
                v, i = _select_smallest(block, min(n_negatives, r1 - r0), r0)
                del block
                if best_v is None:
                    best_v, best_i = v, i
                else:
                    best_v, best_i = _merge(best_v, best_i, v, i, n_negatives)
            valid = torch.isfinite(best_v).cpu().numpy()
            neg = cand[best_i.cpu().numpy()]
            pair = np.broadcast_to(np.arange(q0, q1)[:, None], neg.shape)
            out.append(np.stack([anchors[pair[valid]], positives[pair[valid]],
                                 neg[valid]], axis=1))
    return np.concatenate(out, axis=0).astype(np.int64, copy=False)

"""The locus: labels that the Fréchet mean can output from observed classes."""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import breadth_first_order, dijkstra

from ._factory import make_label_metric
from ._graph import GraphMetric
from ._shortest import peel_hanging_trees
from ._tree import TreeMetric


def _tree_shape(lm):
    """``(parent, hop_depth, min_edge, max_depth)`` if ``lm`` is a tree metric, else None.

    A :class:`TreeMetric`, or a connected :class:`GraphMetric` with K - 1
    edges (``max_depth``: the largest path length from the root; edge
    lengths come from the weighted depths).
    """
    if isinstance(lm, TreeMetric):
        return lm.parent, lm.depth, 1.0, float(lm.depth.max())
    if not isinstance(lm, GraphMetric) or lm.n_labels < 2:
        return None
    G = lm.graph
    S = (G + G.T).tocsr()
    if S.nnz != 2 * (lm.n_labels - 1):
        return None
    hops = dijkstra(S, indices=0, unweighted=True)
    if not np.isfinite(hops).all():
        return None
    _, parent = breadth_first_order(S, 0, directed=True, return_predecessors=True)
    parent = np.where(parent < 0, -1, parent).astype(np.intp)
    wdepth = dijkstra(G, directed=False, indices=0)
    child = np.flatnonzero(parent >= 0)
    min_edge = float((wdepth[child] - wdepth[parent[child]]).min())
    return parent, hops.astype(np.intp), min_edge, float(wdepth.max())


def _steiner_mask(parent, depth, obs):
    """Labels on a path between two observed labels of a tree (and the observed).

    Rooted anywhere, a node is on such a path when its subtree holds an
    observed label and either the rest of the tree holds one too, or it is
    observed, or two of its children's subtrees hold one.
    """
    K = parent.size
    observed = np.zeros(K, dtype=bool)
    observed[obs] = True
    below = observed.astype(np.intp)  # observed labels in each subtree
    order = np.argsort(depth, kind="stable")
    bounds = np.searchsorted(depth[order], np.arange(depth.max() + 2))
    for d in range(depth.max(), 0, -1):
        nodes = order[bounds[d] : bounds[d + 1]]
        np.add.at(below, parent[nodes], below[nodes])
    hit = np.flatnonzero((below > 0) & (parent >= 0))
    branches = np.zeros(K, dtype=np.intp)
    np.add.at(branches, parent[hit], 1)
    return (below > 0) & ((below < observed.sum()) | observed | (branches >= 2))


def _lp_margin(Dc, j, strict, tol, scale, start):
    """Decide label ``j`` (a column of ``Dc``) by a linear program.

    Maximise t subject to ``p @ (Dc[:, k] - Dc[:, j]) >= t`` for every
    other column k, p in the simplex.  The constraints are generated: the
    program is solved over a working set of columns (``start`` first), and
    the columns its p violates most are added until p satisfies all of them
    (p then witnesses the label) or the bound t decides it.

    Returns the decision and, for a label found outside, the columns whose
    mixture (the dual solution) beats it at every p, with their weights.
    """
    m, K = Dc.shape
    xj = Dc[:, j]
    active = np.unique(np.r_[start, np.argsort(Dc.sum(axis=0))[:64]])
    active = active[active != j]
    c = np.zeros(m + 1)
    c[-1] = -1.0
    A_eq = np.hstack([np.ones((1, m)), np.zeros((1, 1))])
    while True:
        diff = (Dc[:, active] - xj[:, None]).T
        A_ub = np.hstack([-diff, np.ones((diff.shape[0], 1))])
        res = linprog(
            c,
            A_ub=A_ub,
            b_ub=np.zeros(diff.shape[0]),
            A_eq=A_eq,
            b_eq=[1.0],
            bounds=[(0, None)] * m + [(None, scale)],
            method="highs",
        )
        if res.status != 0:  # pragma: no cover - the program is always feasible
            return False, None
        t = -res.fun
        # the working set relaxes the program: t bounds the true margin
        if (t <= tol * scale) if strict else (t < -tol * scale):
            lam = -res.ineqlin.marginals
            keep = lam > 1e-12
            return False, (active[keep], lam[keep] / lam[keep].sum())
        p = np.clip(res.x[:m], 0, None)
        g = p @ Dc - p @ xj
        g[j] = np.inf
        worst = float(g.min())
        # p itself is a witness when every column is beaten by the margin
        if (worst > tol * scale) if strict else (worst >= -tol * scale):
            return True, None
        new = np.argsort(g)[:64]
        new = new[g[new] < t - 1e-12 * scale]
        new = np.setdiff1d(new, active)
        if not new.size:  # pragma: no cover - t already holds for every column
            return ((t > tol * scale) if strict else (t >= -tol * scale)), None
        active = np.r_[active, new]


def _small_games(Dc, js, strict, tol, scale, comp, neighbours, n_rows=8, n_add=8,
                 max_iter=50):
    """Decide labels ``js`` (columns of ``Dc``) by a double oracle each.

    Label j's game: the row player picks an observed class i (a row), the
    column player a competitor z (a column in ``comp``), and the row player
    is paid ``Dc[i, z] - Dc[i, j]``; j is in the locus when the value is at
    least ``-tol * scale`` (``strict``: above ``tol * scale``).  Each label
    starts from a small subgame: the ``n_rows`` observed classes nearest to
    it, and its ``neighbours`` (a CSR matrix over the columns, or None) with
    the ``n_add`` best replies to p uniform on those rows.  The subgames of
    all the labels are solved as one block-diagonal program, which gives a
    mixed strategy for each side: a p over the rows that beats the margin
    against every competitor proves j inside; a mixture of columns below
    column j by more than the margin in every row proves it outside.
    Otherwise each side's best replies join j's subgame and the programs are
    solved again (a label whose subgame gains rows plays again before its
    p is checked against every competitor).  The programs are built, and
    both proofs checked, for all the labels at once (no Python work per
    label but the growth).

    Returns, per label, ``(decision, certificate)`` (the certificate as
    :func:`_lp_margin`'s), or None where the subgame stopped growing before
    either proof (rounding at the tolerance): then the full program decides.
    """
    m, Kc = Dc.shape
    margin = tol * scale
    js = np.asarray(js, dtype=np.intp)
    n = js.size
    out = [None] * n
    k = min(n_rows, m)
    X = Dc[:, js]
    R = np.argpartition(X, k - 1, axis=0)[:k].T if k < m else np.tile(np.arange(m), (n, 1))
    del X
    # +inf on the labels that are no competitors (one broadcast add)
    off = np.where(comp, 0.0, np.inf)
    na = min(n_add, Kc)

    def best_replies(P, jp):
        """For each row q of ``P`` (sparse, (n, m)): the ``na`` smallest
        entries of ``P[q] @ Dc - P[q] @ Dc[:, jp[q]]`` over the competitors
        but ``jp[q]`` (columns, values).  By blocks of 16 rows: each product
        stays in cache."""
        top = np.empty((P.shape[0], na), dtype=np.intp)
        val = np.empty((P.shape[0], na))
        for s0 in range(0, P.shape[0], 16):
            G = np.asarray(P[s0 : s0 + 16] @ Dc)
            ar = np.arange(G.shape[0])
            j = jp[s0 : s0 + 16]
            G -= G[ar, j][:, None]
            G += off
            G[ar, j] = np.inf
            t = np.argpartition(G, na - 1, axis=1)[:, :na] if na < Kc else np.tile(
                np.arange(Kc), (G.shape[0], 1))
            top[s0 : s0 + 16] = t
            val[s0 : s0 + 16] = G[ar[:, None], t]
        return top, val

    # best replies to p uniform on the nearest rows
    P = sp.csr_matrix((np.full(n * k, 1.0 / k), R.ravel(), np.arange(0, n * k + 1, k)),
                      shape=(n, m))
    top, gtop = best_replies(P, js)
    rows, cols, live = [], [], []
    for b, j in enumerate(js):
        c = top[b][np.isfinite(gtop[b])]
        if neighbours is not None:
            c = np.r_[c, neighbours.indices[neighbours.indptr[j] : neighbours.indptr[j + 1]]]
        c = np.unique(c)
        c = c[comp[c] & (c != j)]
        rows.append(R[b])
        cols.append(c)
        if not c.size:  # no competitor: j is the only label left
            out[b] = (True, None)
        else:
            live.append(b)
    for _ in range(max_iter):
        if not live:
            break
        L = len(live)
        live_a = np.asarray(live)
        jl = js[live_a]
        s = np.array([rows[b].size for b in live])
        nc = np.array([cols[b].size for b in live])
        RR = np.concatenate([rows[b] for b in live])
        CC = np.concatenate([cols[b] for b in live])
        r0 = np.r_[0, np.cumsum(s)[:-1]]  # each game's first row in RR
        c0 = np.r_[0, np.cumsum(nc)[:-1]]  # its first column in CC (and constraint)
        v0 = r0 + np.arange(L)  # its first variable (s rows, then t)
        tpos = v0 + s
        # one block-diagonal program: per label, maximise t subject to
        # p @ (Dc[r, z] - Dc[r, j]) >= t for its columns z, p on the simplex
        # over its rows r; entries (constraint, row) of each block, flattened
        size = s * nc
        e = np.repeat(np.arange(L), size)
        w = np.arange(e.size) - np.repeat(np.cumsum(size) - size, size)
        zi, ri = np.divmod(w, s[e])
        rl = RR[r0[e] + ri]
        val = Dc[rl, CC[c0[e] + zi]] - Dc[rl, jl[e]]
        con = c0[e] + zi
        nv = int(tpos[-1]) + 1
        A_ub = sp.csr_matrix(
            (np.r_[-val, np.ones(CC.size)],
             (np.r_[con, np.arange(CC.size)], np.r_[v0[e] + ri, np.repeat(tpos, nc)])),
            shape=(CC.size, nv))
        ge = np.repeat(np.arange(L), s)
        A_eq = sp.csr_matrix((np.ones(RR.size), (ge, v0[ge] + np.arange(RR.size) - r0[ge])),
                             shape=(L, nv))
        cost = np.zeros(nv)
        cost[tpos] = -1.0
        bounds = np.zeros((nv, 2))
        bounds[:, 1] = np.inf
        bounds[tpos] = (-np.inf, scale)
        # (HiGHS's presolve only costs time on these small blocks)
        res = linprog(cost, A_ub=A_ub, b_ub=np.zeros(CC.size), A_eq=A_eq, b_eq=np.ones(L),
                      bounds=bounds, method="highs", options={"presolve": False})
        if res.status != 0:  # pragma: no cover - the programs are always feasible
            break
        tval = res.x[tpos]
        # the column player's mixtures first (cheap: m rows each); most
        # labels end outside, and those need no product over the competitors
        lam = np.clip(-res.ineqlin.marginals, 0, None)
        tot = np.add.reduceat(lam, c0)
        lam = np.where(lam > 1e-12 * np.repeat(tot, nc), lam, 0.0)
        tot = np.add.reduceat(lam, c0)
        lam /= np.repeat(np.where(tot > 0, tot, 1.0), nc)
        # each mixture less column j, over all rows (games without a
        # mixture: zeros, never a proof)
        ok = tot > 0
        sel = lam > 0
        cnt = np.add.reduceat(sel.astype(np.intp), c0)[ok]
        H = np.zeros((m, L))
        if ok.any():
            H[:, ok] = np.add.reduceat(np.take(Dc, CC[sel], axis=1) * lam[sel],
                                       np.cumsum(cnt) - cnt, axis=1) - Dc[:, jl[ok]]
        topv = H.max(axis=0)
        beaten = ok & ((topv <= margin) if strict else (topv < -margin))
        for q in np.flatnonzero(beaten):
            sl = slice(c0[q], c0[q] + nc[q])
            keep = lam[sl] > 0
            out[live[q]] = (False, (CC[sl][keep], lam[sl][keep]))
        pend = np.flatnonzero(~beaten)
        if not pend.size:
            break
        # the rows that the mixtures hit hardest join the subgames
        Hp = H[:, pend]
        grow_rows = np.argpartition(-Hp, na - 1, axis=0)[:na].T if na < m else np.tile(
            np.arange(m), (pend.size, 1))
        grow_ok = (np.take_along_axis(Hp, grow_rows.T, axis=0).T
                   > tval[pend, None] + 1e-12 * scale) & ok[pend, None]
        del H, Hp
        new_rows = [_new(grow_rows[q][grow_ok[q]], rows[live[qq]]) for q, qq in enumerate(pend)]
        # a label whose subgame gains rows plays again before its p is
        # checked against every competitor (the product below); the others
        # need that product
        prod = np.array([not r.size for r in new_rows], dtype=bool)
        # the row player's p against every competitor: one sparse product
        qs = pend[prod]
        xs = np.clip(res.x, 0, None)
        sp_ = s[qs]
        if qs.size:
            idx = np.concatenate([np.arange(r0[q], r0[q] + s[q]) for q in qs])
            pv = xs[np.concatenate([np.arange(v0[q], v0[q] + s[q]) for q in qs])]
            sums = np.add.reduceat(pv, np.r_[0, np.cumsum(sp_)[:-1]])
            pv /= np.repeat(np.where(sums > 0, sums, 1.0), sp_)
            P = sp.csr_matrix((pv, RR[idx], np.r_[0, np.cumsum(sp_)]), shape=(qs.size, m))
            TOP, GT = best_replies(P, jl[qs])
            worst = GT.min(axis=1)
            wins = (worst > margin) if strict else (worst >= -margin)
        at = np.cumsum(prod) - 1  # each pending label's row in TOP
        still = []
        for q, qq in enumerate(pend):
            b = live[qq]
            new_cols = np.zeros(0, dtype=np.intp)
            if prod[q]:
                w = at[q]
                if wins[w]:
                    out[b] = (True, None)
                    continue
                new_cols = _new(TOP[w][GT[w] < tval[qq] - 1e-12 * scale], cols[b])
            if new_rows[q].size or new_cols.size:
                rows[b] = np.r_[rows[b], new_rows[q]]
                cols[b] = np.r_[cols[b], new_cols]
                still.append(b)
        live = still
    return out


def _nearest_rows(X, k):
    """``(n, k)``: the rows of the k smallest entries of each column of ``X``
    (m, n), nearest first (ties: the first row).  By blocks of columns, each
    transposed (so that it stays in cache) and taken by k passes of argmin
    along its rows: much faster than a partition for small k."""
    m, n = X.shape
    k = min(k, m)
    out = np.empty((n, k), dtype=np.intp)
    step = max(1, 2**18 // max(1, m))
    ar = np.arange(step)
    for s in range(0, n, step):
        B = X[:, s : s + step].T.copy()
        a = ar[: B.shape[0]]
        for t in range(k):
            out[s : s + B.shape[0], t] = w = np.argmin(B, axis=1)
            B[a, w] = np.inf
    return out


def _new(a, b):
    """The entries of ``a`` (distinct) not in ``b``: small arrays, one comparison."""
    return a[(a[:, None] != b[None, :]).all(axis=1)]


def _locus_mask(D2, *, strict, tol, n_samples, rng, candidates=None, known=None,
                neighbours=None, scale=None, near=None):
    """Boolean mask over the K labels: can label j be the Fréchet mean?

    ``D2`` is the (m, K) block of squared distances from the observed
    classes.  Label j is in the locus when some p in the simplex makes it a
    minimiser of ``p @ D2`` (``strict``: the unique minimiser).  Random and
    corner probability vectors settle most labels; small games
    (:func:`_small_games`, with the full program :func:`_lp_margin` where
    one stalls) the rest: maximise t subject to ``p @ (D2[:, k] - D2[:, j])
    >= t`` for all k.  ``neighbours`` (a CSR matrix over the labels, or
    None) seeds each game's competitors.  ``candidates`` (a boolean mask)
    may exclude labels known to be beaten at every p by a margin above the
    tolerance: they are outside and never minimisers, so they are left out
    of every comparison (their columns stay in ``D2``: no copy).  ``known``
    (a boolean mask) marks labels already shown to be inside.  ``scale``
    (the largest squared distance, at least 1; the tolerance is relative to
    it) defaults to ``D2``'s.  ``near`` (K, >= 4), if given: each label's
    nearest observed classes, nearest first.
    """
    m, K = D2.shape
    Dc = np.ascontiguousarray(D2)  # rows are gathered often
    Kc = K
    cand = np.ones(K, dtype=bool) if candidates is None else np.asarray(candidates, bool)
    if scale is None:
        scale = max(1.0, float(D2.max()))
    inside = np.zeros(K, dtype=bool) if known is None else known & cand
    # probability vectors to try: corners (the rows of D2 themselves),
    # uniform, random Dirichlet draws (fewer when the label space is large:
    # they only save linear programs)
    n_samples = min(n_samples, max(16, 2**28 // max(1, 2 * m * Kc)))
    Ps = [np.full((1, m), 1.0 / m)]
    if n_samples:
        for alpha in (1.0, 0.1):
            Ps.append(rng.dirichlet(np.full(m, alpha), size=n_samples))
    P = np.vstack(Ps)
    winners = []
    for S in (Dc, P @ Dc):
        win = np.argmin(S, axis=1)
        best = S[np.arange(S.shape[0]), win]
        if strict:
            part = np.partition(S, 1, axis=1)[:, :2] if Kc > 1 else np.c_[best, best + np.inf]
            unique = part[:, 1] - part[:, 0] > tol * scale
            inside[win[unique]] = True
        else:
            # only the candidates not yet known inside need the comparison
            left = np.flatnonzero(cand & ~inside)
            inside[left[(S[:, left] <= best[:, None] + tol * scale).any(axis=0)]] = True
        winners.append(win)
        del S
    winners = np.concatenate(winners)
    start = np.unique(winners)
    # labels left to decide, in batches of growing size (in random order:
    # neighbouring labels tend to share certificates); a mixture that beats
    # one label by more than the tolerance at every p often beats others:
    # each is tried on all the labels left
    inside &= cand
    todo = cand & ~inside
    order = rng.permutation(np.flatnonzero(todo))
    # each label's nearest observed classes: where a shared certificate is
    # tried first on it (a mixture most often fails there)
    if near is None:
        near = np.zeros((Kc, min(m, 4)), dtype=np.intp)
        if order.size:
            near[order] = _nearest_rows(Dc[:, order], near.shape[1])
    else:
        near = near[:, :4]
    # competitors: a label shown outside is beaten by more than the
    # tolerance at every p, never a minimiser, so (not strict) it leaves them
    comp = cand.copy()
    # batches of up to 128 labels still undecided, in that order
    size = 8
    while True:
        order = order[todo[order]]
        if not order.size:
            break
        batch, order = order[:size], order[size:]
        size = min(2 * size, 128)
        todo[batch] = False
        certs = []
        for j, decided in zip(batch, _small_games(Dc, batch, strict, tol, scale, comp,
                                                 neighbours)):
            if decided is None:
                decided = _lp_margin(Dc, j, strict, tol, scale, start)
            inside[j], cert = decided
            if not inside[j]:
                if not strict:
                    comp[j] = False
                if cert is not None:
                    certs.append(cert)
        rest = np.flatnonzero(todo)
        if certs and rest.size:
            out = _beaten_by(Dc, rest, certs, near, tol * scale)
            todo[out] = False
            if not strict:
                comp[out] = False
    return inside


def _beaten_by(Dc, y, certs, near, margin):
    """The labels ``y`` (columns of ``Dc``) beaten in every row by more than
    ``margin`` by one of the certificates ``certs`` (``(cols, lam)`` pairs:
    the mixture ``lam`` of columns ``cols``; one or two columns: any mixture
    of them, as :func:`_pair_beaten`).  Every (label, certificate) pair is
    tried first on the label's own rows ``near[y]`` (its nearest observed
    classes: where a mixture most often fails), the pairs left on all rows;
    all at once."""
    m = Dc.shape[0]
    beaten = np.zeros(y.size, dtype=bool)
    rows = near[y].T  # (k, n)
    Y = Dc[rows, y]
    step = max(1, 2**22 // m)
    mixes = [c for c in certs if c[0].size > 2]
    if mixes:
        mix = np.column_stack([Dc[:, c] @ lam for c, lam in mixes])  # (m, n_mix)
        yi, ci = np.nonzero((Y[:, :, None] > mix[rows] + margin).all(axis=0))
        for s in range(0, yi.size, step):
            a, c = yi[s : s + step], ci[s : s + step]
            beaten[a[(Dc[:, y[a]] > mix[:, c] + margin).all(axis=0)]] = True
    pairs = [c for c, _ in certs if c.size <= 2]
    if pairs:
        Z0 = Dc[:, [c[0] for c in pairs]]
        Z1 = Dc[:, [c[-1] for c in pairs]]
        hit = _mixable(Z0[rows] - Z1[rows], Y[:, :, None] - Z1[rows] - margin, axis=0)
        yi, ci = np.nonzero(hit & ~beaten[:, None])
        for s in range(0, yi.size, step):
            a, c = yi[s : s + step], ci[s : s + step]
            ok = _mixable(Z0[:, c] - Z1[:, c], Dc[:, y[a]] - Z1[:, c] - margin, axis=0)
            beaten[a[ok]] = True
    return y[beaten]


def _pair_beaten(D2, y, z1, z2, margin):
    """Is ``D2[:, y]`` above some mixture of ``D2[:, z1]`` and ``D2[:, z2]``
    by more than ``margin`` in every row?  (Vectorised over the triples.)

    Then every p scores y worse than z1 or z2 by more than the margin: y is
    outside the locus, strict or not.  The mixtures ``l z1 + (1 - l) z2``
    that work form an interval of l, found row by row.
    """
    return _mixable(D2[:, z1] - D2[:, z2], D2[:, y] - D2[:, z2] - margin, axis=0)


def _mixable(a, b, axis):
    """Is there an l in [0, 1] with ``l * a < b`` all along ``axis``?"""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = b / a
    lo = np.maximum(0.0, np.where(a < 0, r, -np.inf).max(axis=axis))
    hi = np.minimum(1.0, np.where(a > 0, r, np.inf).min(axis=axis))
    return (lo < hi) & np.where(a == 0, b > 0, True).all(axis=axis)


def _graph_candidates(lm, obs, D2, tol, scale):
    """Labels of a graph metric not beaten at every p by a margin > tol.

    Exact rules, each a witness that some labels score worse at every p:
    a label in a hanging tree without observed labels is farther than its
    attachment node from every observed class (by at least the shortest
    edge); a label whose squared distances exceed, row by row, a mixture of
    two of its neighbours' (one neighbour: the mixture 1, 0) is beaten by
    one of them at every p.

    Returns the labels left by the hanging-tree rule (sorted label indices),
    their squared distances ``D2[:, left]`` (a new C-ordered array), each
    one's 8 nearest observed classes (rows, nearest first) and the mask of
    those that no neighbour rule beats (the candidates).
    """
    indptr, indices, weights, _ = lm._simple_graph()
    K = lm.n_labels
    m = D2.shape[0]
    margin = tol * scale
    pinned = np.zeros(K, dtype=bool)
    pinned[obs] = True
    alive = np.ones(K, dtype=bool)
    if weights.size and float(weights.min()) ** 2 > margin:
        alive = peel_hanging_trees(indptr, indices, weights, pinned)[0]
    # labels left, one column each
    left = np.flatnonzero(alive)
    pos = np.full(K, -1, dtype=np.intp)
    pos[left] = np.arange(left.size)
    Da = np.take(D2, left, axis=1)
    u = np.repeat(np.arange(K), np.diff(indptr))
    e = np.flatnonzero(alive[u] & alive[indices] & ~pinned[u])
    eu, ev = pos[u[e]], pos[indices[e]]
    beaten = np.zeros(left.size, dtype=bool)
    # each label's nearest observed classes: a rule is tried there first
    # (where a neighbour most often fails to beat it), then on every class,
    # a block of rows at a time (a pair leaves at the first row it fails)
    nearest = _nearest_rows(Da, 8)  # (n, 8): also returned
    near = nearest[:, :4].T  # (k, n)

    def rows_then_all(test, ys, *zs):
        r = near[:, ys]
        state = test(None, Da[r, ys], *(Da[r, z] for z in zs))
        for b in range(0, m, 64):
            keep = state[-1]
            ys, zs, state = ys[keep], [z[keep] for z in zs], [x[keep] for x in state]
            if not ys.size:
                break
            blk = Da[b : b + 64]
            state = test(state, blk[:, ys], *(blk[:, z] for z in zs))
        return ys[state[-1]]

    # one neighbour closer to every observed class
    def one(state, Y, Z):
        return [(Z + margin < Y).all(axis=0)]

    step = 2**16  # pairs at a time: (64, step) blocks
    for s in range(0, eu.size, step):
        beaten[rows_then_all(one, eu[s : s + step], ev[s : s + step])] = True
    # a mixture of two neighbours, for the labels left
    sel = ~beaten[eu]
    eu, ev = eu[sel], ev[sel]
    start = np.searchsorted(eu, eu)  # first edge of the same label
    k = np.arange(eu.size) - start  # rank of the edge among its label's
    reps = np.bincount(eu, minlength=left.size)[eu] - k - 1  # pairs with a later edge
    first = np.repeat(np.arange(eu.size), reps)
    second = first + 1 + (np.arange(first.size) - np.repeat(np.cumsum(reps) - reps, reps))
    y, z1, z2 = eu[first], ev[first], ev[second]

    def two(state, Y, Z1, Z2):
        # the interval of mixtures l z1 + (1 - l) z2 below y, row block by
        # row block (as _mixable over all rows at once)
        lo, hi, ok = (0.0, 1.0, True) if state is None else state[:3]
        a, b = Z1 - Z2, Y - Z2 - margin
        with np.errstate(divide="ignore", invalid="ignore"):
            r = b / a
        lo = np.maximum(lo, np.where(a < 0, r, -np.inf).max(axis=0))
        hi = np.minimum(hi, np.where(a > 0, r, np.inf).min(axis=0))
        ok = ok & np.where(a == 0, b > 0, True).all(axis=0)
        return [lo, hi, ok, (lo < hi) & ok]

    for s in range(0, y.size, step):
        sl = slice(s, s + step)
        todo = ~beaten[y[sl]]
        beaten[rows_then_all(two, y[sl][todo], z1[sl][todo], z2[sl][todo])] = True
    return left, Da, nearest, ~beaten


def _on_geodesics(Dc, Dobs2, tol, scale, near=None, n_near=8):
    """Labels on a shortest path between two observed classes (not strict).

    ``Dc``: (m, n) squared distances from the observed classes to the labels,
    ``Dobs2``: (m, m) between the observed classes; ``near`` (n, >= n_near),
    if given: each label's nearest observed classes, nearest first.  With p
    on the ends a, b of a shortest path of length L, a label y on it at
    distance x from a is a minimiser (p_a = 1 - x / L): any label z has
    d(z, a) + d(z, b) >= L, and then p_a d(z, a)^2 + p_b d(z, b)^2 >= x (L -
    x).  Endpoints a are tried among the ``n_near`` observed classes nearest
    to y (the nearest first: it settles most labels), b among all; sums
    within ``eps`` of L count (rounding), which keeps y within the tolerance
    of the minimum.
    """
    Dobs = np.sqrt(Dobs2)  # [a, b] = d(a, b)
    dmax = np.sqrt(scale)
    eps = min(tol * scale / (4 * dmax), np.sqrt(tol * scale) / 2)
    m, n = Dc.shape
    k = min(n_near, m)
    out = np.zeros(n, dtype=bool)
    # small blocks of labels: every temporary stays in cache
    step = max(1, 2**17 // max(1, m))
    for s in range(0, n, step):
        # exact: sqrt(x * x) == x in IEEE arithmetic
        Ds = np.sqrt(Dc[:, s : s + step])
        nr = _nearest_rows(Ds, k) if near is None else near[s : s + step, :k]
        hit = np.zeros(Ds.shape[1], dtype=bool)
        y = np.arange(Ds.shape[1])
        for i in range(k):
            a = nr[y, i]
            # excess[b, y] = d(a, y) + d(y, b) - d(a, b)
            excess = (Ds[:, y] if i else Ds) + Ds[a, y]
            excess -= Dobs[a].T
            hit[y[(excess <= eps).any(axis=0)]] = True
            y = np.flatnonzero(~hit)
            if not y.size:
                break
        out[s : s + step] = hit
    return out


def locus(
    label_metric,
    observed,
    *,
    labels=None,
    metric_kind="auto",
    embedding_metric="euclidean",
    strict=False,
    tol=1e-9,
    n_samples=256,
    random_state=0,
):
    """Labels that the Fréchet mean can output from a set of observed classes.

    The locus of observed classes λ_1..λ_m is the set of labels y for which
    some probability vector p makes y a minimiser of
    ``sum_i p_i d(y, λ_i)^2``.  Labels outside it are never predicted by
    :class:`~skmetric.FrechetMeanPredictor`, whatever the model says, so the
    locus bounds the accuracy reachable on unseen labels.

    On a tree (a :class:`TreeMetric`, or a graph with K - 1 edges that
    connects every label) the locus is exactly the set of labels on paths
    between observed classes (strict or not), found in O(K): 100,000 labels
    take well under a second.  On other graphs, exact shortcuts come first:
    labels in hanging trees without observed labels, and labels beaten row
    by row by one neighbour or a mixture of two, are outside; labels on a
    shortest path between two observed classes are inside (not strict).
    Membership of the labels left (after cheap checks at corner, uniform
    and random probability vectors) is decided exactly as a zero-sum game
    each: small subgames (the observed classes nearest to the label, its
    neighbours and best replies as competitors), solved many labels at a
    time as one block-diagonal linear program, grow until a probability
    vector proves the label inside or a mixture of labels proves it outside;
    that mixture is then tried on all the labels left.  Other metrics take
    the checks and games alone.  A graph of 100,000 labels and 1,000
    observed classes takes seconds (see docs/frechet.md).

    Parameters
    ----------
    label_metric : LabelMetric or any form accepted by :func:`make_label_metric`
        The label metric.
    observed : array-like of shape (m,)
        The observed classes (labels of the label space).
    labels, metric_kind, embedding_metric
        Passed to :func:`make_label_metric`.
    strict : bool, default=False
        If True, keep only labels that are the *unique* minimiser for some p
        (labels tied with another one at every p are dropped).
    tol : float, default=1e-9
        Tolerance, relative to the largest squared distance.
    n_samples : int, default=256
        Random probability vectors tried before the linear programs.
    random_state : int, RandomState instance or None, default=0
        Seed for those random vectors (the result does not depend on it).

    Returns
    -------
    locus : ndarray
        The labels of the locus, in label-space order.

    Examples
    --------
    A path a - b - c with a and c observed: b is in the locus (it is the
    Fréchet mean of p = (1/2, 1/2)).

    >>> from skmetric.label_space import locus
    >>> locus([("a", "b"), ("b", "c")], ["a", "c"]).tolist()
    ['a', 'b', 'c']
    """
    lm = make_label_metric(
        label_metric, labels, metric_kind=metric_kind, embedding_metric=embedding_metric
    )
    obs = lm.index(np.unique(np.asarray(observed)), name="Observed classes")
    rng = np.random.default_rng(
        random_state
        if random_state is None or isinstance(random_state, Integral)
        else random_state.randint(2**31)
    )
    tree = _tree_shape(lm)
    if tree is not None:
        parent, depth, min_edge, max_depth = tree
        # On a tree the locus is the union of the paths between observed
        # labels, strict or not: with p on the two ends of a path, a label on
        # it is the unique minimiser by a margin of at least (shortest edge)^2
        # and a label off every such path is beaten by where it joins them by
        # as much.  That margin must clear the tolerance.
        if min_edge**2 > tol * max(1.0, (2.0 * max_depth) ** 2):
            return lm.labels[_steiner_mask(parent, depth, obs)]
    D2 = lm.squared_distances_from(obs)
    if not isinstance(lm, GraphMetric):
        mask = _locus_mask(D2, strict=strict, tol=tol, n_samples=n_samples, rng=rng)
        return lm.labels[mask]
    scale = max(1.0, float(D2.max()))
    Dobs2 = D2[:, obs]
    # the block of the labels left by the hanging-tree rule replaces the
    # (m, K) one from here on; ``keep``: those no neighbour rule beats
    left, D2, near, keep = _graph_candidates(lm, obs, D2, tol, scale)
    known = None if strict else _on_geodesics(D2, Dobs2, tol, scale, near) & keep
    # neighbours (first competitors in the games)
    indptr, indices = lm._simple_graph()[:2]
    adj = sp.csr_matrix((np.ones(indices.size), indices, indptr),
                        shape=(lm.n_labels, lm.n_labels))
    neighbours = adj[left][:, left].tocsr()
    inside = _locus_mask(D2, strict=strict, tol=tol, n_samples=n_samples, rng=rng,
                         candidates=keep, known=known, neighbours=neighbours, scale=scale,
                         near=near)
    mask = np.zeros(lm.n_labels, dtype=bool)
    mask[left[inside]] = True
    return lm.labels[mask]

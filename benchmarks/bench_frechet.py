"""Benchmark FrechetMeanPredictor (Loki) against argmax.

One process, prints a table per experiment:

(a) grid   labels on a G x G grid (Euclidean metric between grid positions),
           class centres = random linear map of the position into 8-D, Gaussian
           samples around each; only a checkerboard half of the labels is
           observed in training.
(b) tree   depth 3, branching 4 (85 labels, internal nodes included); half of
           the leaves of each parent observed; test points from every leaf,
           and from every node (an internal node's centre is the mean of its
           children's centres).
(c) digits sklearn's load_digits, three digits held out of training; label
           metric self-derived from class embeddings (see ``digits``).
(d) scale  100,000 labels, 1,000 observed classes, 1,000 samples: predict time
           and peak memory (tracemalloc) for an embedding and a tree metric.
(e) graph  100,000-label graph (a branching-10 taxonomy plus 10,000 random
           cross-links), 1,000 observed classes: fit time of the prefit
           predictor, against the previous path (scipy Dijkstra from each
           source, blocks of 256) run in the same process on the same graph;
           then the same graph with random edge lengths (reduced kernel +
           Dijkstra against Dijkstra on the whole graph), and where that
           fit's time goes (phases, kernel and core sizes).
(f) locus  on trees: the exact tree path against the linear programs (the
           previous path) on a small tree, and the tree path alone at 100,000
           labels; on taxonomy + cross-link graphs up to 100,000 labels:
           dominance and geodesic rules, then small games, against the
           previous paths (programs for all labels; rules + one program per
           label) on the smaller graphs.

The wrapped model is LogisticRegression everywhere.  "argmax" is the same
fitted model's ``predict``; E[d^2] is the expected squared label distance.

Run: ``.venv/bin/python benchmarks/bench_frechet.py`` (all parts) or with part
letters, e.g. ``benchmarks/bench_frechet.py e f``.
"""

import time
import tracemalloc
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import dijkstra
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmetric._frechet import FrechetMeanPredictor
from skmetric.label_space import EmbeddingMetric, GraphMetric, TreeMetric, locus
from skmetric.metrics import expected_squared_distance

warnings.filterwarnings("ignore", category=ConvergenceWarning)


def report(title, rows):
    print(f"\n{title}")
    width = max(len(r[0]) for r in rows)
    for name, *vals in rows:
        print(f"  {name:<{width}}  " + "  ".join(f"{v:>10}" for v in vals))


def fmt(x, pct=False):
    return f"{100 * x:.1f}%" if pct else f"{x:.3f}"


def compare(est, X, y, metric, seen):
    """Rows: accuracy on seen/unseen test labels and E[d^2] for argmax vs Loki."""
    y_arg = est.estimator_.predict(X)
    y_loki = est.predict(X)
    s = np.isin(y, seen)
    e_arg = expected_squared_distance(y, y_arg, metric)
    e_loki = expected_squared_distance(y, y_loki, metric)
    rows = [
        ("", "argmax", "Loki"),
        ("accuracy, seen labels", fmt((y_arg == y)[s].mean()), fmt((y_loki == y)[s].mean())),
        ("accuracy, unseen labels", fmt((y_arg == y)[~s].mean()), fmt((y_loki == y)[~s].mean())),
        ("E[d^2], all test points", fmt(e_arg), fmt(e_loki)),
        ("E[d^2] reduction vs argmax", "", fmt((e_arg - e_loki) / e_arg, pct=True)),
    ]
    return rows, y_loki


# ----------------------------------------------------------------------------


def grid(G=10, dim=8, noise=0.35, n_train=30, n_test=30, seed=0):
    rng = np.random.default_rng(seed)
    pos = np.array([(r, c) for r in range(G) for c in range(G)], dtype=float)
    labels = np.array([f"{r},{c}" for r, c in pos.astype(int)])
    A = rng.normal(size=(2, dim))
    centres = pos @ A
    seen = labels[(pos.sum(1) % 2) == 0]

    def sample(n, which):
        idx = np.repeat(np.flatnonzero(np.isin(labels, which)), n)
        return centres[idx] + noise * rng.normal(size=(idx.size, dim)), labels[idx]

    Xtr, ytr = sample(n_train, seen)
    Xte, yte = sample(n_test, labels)
    metric = EmbeddingMetric(pos, labels=labels)
    est = FrechetMeanPredictor(LogisticRegression(C=10.0, max_iter=2000), metric).fit(Xtr, ytr)
    rows, y_loki = compare(est, Xte, yte, metric, seen)
    loc = set(locus(metric, seen).tolist())
    unseen = labels[~np.isin(labels, seen)]
    rows.append(("unseen labels in the locus", "", f"{np.isin(unseen, list(loc)).mean():.0%}"))
    report(
        f"(a) grid {G}x{G} = {G * G} labels, {seen.size} observed (checkerboard), "
        f"{dim}-D features, noise {noise}, {yte.size} test points",
        rows,
    )


def tree(depth=3, branching=4, dim=8, noise=0.6, n_train=30, n_test=30, seed=0):
    rng = np.random.default_rng(seed)
    parents, centre = {}, {"r": np.zeros(dim)}
    level = ["r"]
    for d in range(depth):
        nxt = []
        for p in level:
            for b in range(branching):
                c = f"{p}{b}" if p != "r" else f"{b}"
                parents[c] = p
                centre[c] = centre[p] + (2.0 ** (depth - d)) * rng.normal(size=dim) / 2
                nxt.append(c)
        level = nxt
    leaves = np.array(level)
    tm = TreeMetric(parents)
    labels = tm.labels
    # an internal node's centre is the mean of its children's (set bottom-up)
    for d in range(depth - 1, -1, -1):
        for node in labels[tm.depth == d]:
            kids = [c for c, p in parents.items() if p == node]
            centre[node] = np.mean([centre[k] for k in kids], axis=0)
    seen = np.array([leaf for leaf in leaves if int(leaf[-1]) < branching // 2])

    def sample(n, which):
        names = np.repeat(which, n)
        X = np.array([centre[w] for w in names]) + noise * rng.normal(size=(names.size, dim))
        return X, names

    Xtr, ytr = sample(n_train, seen)
    est = FrechetMeanPredictor(LogisticRegression(C=10.0, max_iter=2000), parents).fit(Xtr, ytr)
    Xte, yte = sample(n_test, leaves)
    rows, y_loki = compare(est, Xte, yte, parents, seen)
    loc = set(locus(parents, seen).tolist())
    unseen_leaves = leaves[~np.isin(leaves, seen)]
    internal = labels[tm.depth < depth]
    rows.append(("unseen leaves in the locus", "", f"{np.isin(unseen_leaves, list(loc)).mean():.0%}"))
    rows.append(("internal nodes in the locus", "", f"{np.isin(internal, list(loc)).mean():.0%}"))
    pred_unseen = ~np.isin(y_loki, seen)
    rows.append(("test points predicted unseen", "0.0%", fmt(pred_unseen.mean(), pct=True)))
    report(
        f"(b) tree depth {depth}, branching {branching}: {labels.size} labels, "
        f"{seen.size}/{leaves.size} leaves observed; test points from every leaf",
        rows,
    )
    Xall, yall = sample(n_test, labels)
    rows, _ = compare(est, Xall, yall, parents, seen)
    report("(b') same model; test points from every node (internal nodes too)", rows)


def digits(held_out=(3, 5, 8), n_describe=5, seed=0):
    """Digits with three classes held out of training.

    Label embeddings (the self-derived metric): each class, seen or not, is
    described by the mean of ``n_describe`` images set aside for that purpose
    (never used to train or test), projected on a 16-D PCA fitted on the
    training images of the seen classes only.  Test images are the rest.
    """
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    describe = np.zeros(y.size, dtype=bool)
    for k in range(10):
        describe[rng.choice(np.flatnonzero(y == k), n_describe, replace=False)] = True
    rest = np.flatnonzero(~describe)
    rng.shuffle(rest)
    train, test = rest[: rest.size // 2], rest[rest.size // 2 :]
    seen = np.array([k for k in range(10) if k not in held_out])
    train = train[np.isin(y[train], seen)]
    pca = PCA(16, random_state=0).fit(X[train])
    emb = np.array([pca.transform(X[describe & (y == k)]).mean(0) for k in range(10)])
    metric = EmbeddingMetric(emb, labels=np.arange(10))
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=3000))
    est = FrechetMeanPredictor(model, metric).fit(X[train], y[train])
    rows, y_loki = compare(est, X[test], y[test], metric, seen)
    loc = locus(metric, seen).tolist()
    rows.append(("held-out digits in the locus", "", str(sorted(set(held_out) & set(loc)))))
    report(
        f"(c) digits, held out {list(held_out)}; label metric: Euclidean between "
        f"class means of {n_describe} description images in a 16-D PCA of seen classes",
        rows,
    )


def scale(K=100_000, m=1_000, n=1_000, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    # model: LogisticRegression over m classes, 5 points each, few iterations
    Xc = rng.normal(size=(m, dim))
    Xtr = np.repeat(Xc, 5, axis=0) + 0.1 * rng.normal(size=(5 * m, dim))
    classes = np.sort(rng.choice(K, m, replace=False))
    ytr = np.repeat(classes, 5)
    t = time.perf_counter()
    model = LogisticRegression(max_iter=30).fit(Xtr, ytr)
    t_model = time.perf_counter() - t
    Xte = Xc[rng.integers(0, m, n)] + 0.1 * rng.normal(size=(n, dim))
    t = time.perf_counter()
    model.predict_proba(Xte)
    t_proba = time.perf_counter() - t
    # tree of K nodes: node i's parent is (i - 1) // 10
    parents = {i: (i - 1) // 10 for i in range(1, K)}
    setups = [
        ("embeddings (K x 16), euclidean", EmbeddingMetric(rng.normal(size=(K, dim))), np.float64),
        ("tree, K nodes, branching 10", TreeMetric(parents, labels=np.arange(K)), np.float64),
        ("tree, K nodes, float32", TreeMetric(parents, labels=np.arange(K)), np.float32),
    ]
    rows = [("metric", "fit [s]", "predict [s]", "peak [MB]", "stored [MB]")]
    for name, metric, dtype in setups:
        est = FrechetMeanPredictor(model, metric, prefit=True, dtype=dtype)
        t = time.perf_counter()
        est.fit()
        t_fit = time.perf_counter() - t
        est.predict(Xte[:10])  # warm-up
        t = time.perf_counter()
        est.predict(Xte)
        t_pred = time.perf_counter() - t
        tracemalloc.start()
        est.predict(Xte)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        stored = getattr(est._scorer, "D2", None)
        stored_mb = stored.nbytes / 2**20 if stored is not None else est._scorer.E.nbytes / 2**20
        rows.append((name, f"{t_fit:.2f}", f"{t_pred:.2f}", f"{peak:.0f}", f"{stored_mb:.0f}"))
    report(
        f"(d) scale: {K:,} labels, {m:,} observed, {n:,} samples (LogisticRegression "
        f"fit {t_model:.1f} s, predict_proba {t_proba:.2f} s, included in predict)",
        rows,
    )
    print(
        "  peak = extra memory allocated during predict (tracemalloc); stored = the\n"
        "  fitted (m, K) squared distances, or the K label embeddings"
    )


def _best(fn, repeat):
    """(fastest, slowest) wall-clock time and the fastest CPU time (one thread:
    the time the work takes when the scheduler does not hand its core to
    other jobs on a shared machine)."""
    times, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.thread_time()
        out = fn()
        cpu.append(time.thread_time() - c)
        times.append(time.perf_counter() - t)
        del out
    return min(times), max(times), min(cpu)


def _dijkstra_squared(graph, sources, dtype):
    """The previous GraphMetric path: Dijkstra per block of 256 sources, squared."""
    out = np.empty((sources.size, graph.shape[0]), dtype=dtype)
    for s in range(0, sources.size, 256):
        block = dijkstra(graph, directed=False, indices=sources[s : s + 256])
        np.square(block, out=out[s : s + 256], casting="unsafe")
    return out


def _graph_phases(A, sources, repeat=3):
    """Where a weighted GraphMetric fit's time goes: CPU time of each phase of
    skmetric.label_space._shortest (minimum of ``repeat`` runs), with the
    sizes of the kernel and of the core that Dijkstra runs on."""
    from skmetric.label_space import _shortest as sh

    K = A.shape[0]
    coo = A.tocoo()
    uniq = np.unique(sources)
    pinned = np.zeros(K, dtype=bool)
    pinned[uniq] = True
    best = {}

    def clock(name, fn):
        c = time.thread_time()
        out = fn()
        best[name] = min(best.get(name, np.inf), time.thread_time() - c)
        return out

    out = np.empty((uniq.size, K), dtype=np.float32)
    for _ in range(repeat):
        ip, ix, w = clock("simple graph", lambda: sh._simple_undirected(coo.row, coo.col,
                                                                        coo.data, K))
        red = clock("peel trees, contract chains", lambda: sh._Reduction(ip, ix, w, pinned))
        G, ks = red.kernel_graph, red.kernel[uniq]
        kpin = np.zeros(G.shape[0], dtype=bool)
        kpin[ks] = True
        left, H, rounds = clock("eliminate kernel nodes", lambda: sh._eliminate(G, kpin))
        clock("kernel lengths (elimination, Dijkstra on the core, back-substitution)",
              lambda: sh._kernel_lengths(G, ks))
        clock("shortest_path_lengths (all of the above but the simple graph, + expansion)",
              lambda: sh.shortest_path_lengths(ip, ix, w, uniq, out, square=True))
    rows = [("", "CPU [s]")] + [(k, f"{v:.2f}") for k, v in best.items()]
    rest = (best["shortest_path_lengths (all of the above but the simple graph, + expansion)"]
            - best["peel trees, contract chains"]
            - best["kernel lengths (elimination, Dijkstra on the core, back-substitution)"])
    rows.append(("expansion to all labels, (m, K) float32 (the difference)", f"{rest:.2f}"))
    report(f"(e') weighted graph fit, phases: kernel {G.shape[0]:,} nodes / "
           f"{G.nnz // 2:,} edges ({uniq.size:,} sources pinned); core after elimination "
           f"{left.size:,} nodes / {H.nnz // 2:,} edges in {len(rounds)} rounds; "
           f"min of {repeat} runs", rows)


def graph_scale(K=100_000, m=1_000, n_cross=10_000, seed=0, repeat=3):
    rng = np.random.default_rng(seed)
    child = np.arange(1, K)
    u = np.r_[child, rng.integers(0, K, n_cross)]
    v = np.r_[(child - 1) // 10, rng.integers(0, K, n_cross)]
    A = sp.csr_matrix((np.ones(u.size), (u, v)), shape=(K, K))
    A.data[:] = 1.0
    classes = np.sort(rng.choice(K, m, replace=False))
    Xtr = rng.normal(size=(2 * m, 4))
    model = LogisticRegression(max_iter=5).fit(Xtr, np.repeat(classes, 2))
    rows = [("", "wall min [s]", "wall max [s]", "CPU [s]", "old/new (CPU)")]
    t_old = _best(lambda: _dijkstra_squared(A, classes, np.float32), 1)
    old = _dijkstra_squared(A, classes, np.float32)

    def fit():
        return FrechetMeanPredictor(model, GraphMetric(A), prefit=True, dtype=np.float32).fit()

    t_new = _best(fit, repeat)
    new = fit()._scorer.D2
    diff = float(np.abs(new.astype(np.float64) - old).max())
    rows.append(("previous: Dijkstra, squared (float32)", f"{t_old[0]:.2f}", f"{t_old[1]:.2f}",
                 f"{t_old[2]:.2f}", ""))
    rows.append(("now: FrechetMeanPredictor.fit (float32)", f"{t_new[0]:.2f}", f"{t_new[1]:.2f}",
                 f"{t_new[2]:.2f}", f"{t_old[2] / t_new[2]:.1f}x"))
    rows.append(("max |difference| of the (m, K) squared distances", f"{diff:g}", "", "", ""))
    # the same graph with lengths drawn in [0.5, 2): reduced kernel + Dijkstra
    Aw = A.copy()
    Aw.data = rng.uniform(0.5, 2.0, Aw.nnz)
    t_wold = _best(lambda: _dijkstra_squared(Aw, classes, np.float32), 1)
    wold32 = _dijkstra_squared(Aw, classes, np.float32)

    def fit_w():
        return FrechetMeanPredictor(model, GraphMetric(Aw), prefit=True, dtype=np.float32).fit()

    t_wnew = _best(fit_w, repeat)
    n_diff32 = int(np.count_nonzero(fit_w()._scorer.D2 != wold32))
    del wold32
    # float64 lengths from the first 100 observed classes, old against new
    wold = dijkstra(Aw, directed=False, indices=classes[:100])
    wnew = GraphMetric(Aw).distances_from(classes[:100])
    rel = float(np.max(np.abs(wnew - wold) / np.maximum(wold, 1e-300)))
    rows.append(("weighted copy, previous: Dijkstra (float32)", f"{t_wold[0]:.2f}",
                 f"{t_wold[1]:.2f}", f"{t_wold[2]:.2f}", ""))
    rows.append(("weighted copy, now: FrechetMeanPredictor.fit (float32)", f"{t_wnew[0]:.2f}",
                 f"{t_wnew[1]:.2f}", f"{t_wnew[2]:.2f}", f"{t_wold[2] / t_wnew[2]:.1f}x"))
    rows.append(("weighted: float32 squared lengths that differ", f"{n_diff32:,}", "", "", ""))
    rows.append(("weighted: float64 lengths (100 sources) identical",
                 f"{float(np.mean(wnew == wold)):.2%}", "", "", ""))
    rows.append(("weighted: float64 max relative difference", f"{rel:.1e}", "", "", ""))
    report(
        f"(e) graph: {K:,} labels ({K - 1:,} taxonomy edges + {n_cross:,} cross-links, "
        f"unweighted, then weighted), {m:,} observed; min/max of {repeat} runs "
        f"(previous paths: 1 run)",
        rows,
    )
    _graph_phases(Aw, classes, repeat)


def _previous_locus_mask(D2, *, strict, tol, n_samples, rng):
    """The previous locus path, kept here to time against: corner, uniform and
    random probability vectors, then one linear program per label left over
    all K labels (skmetric.label_space._locus before the graph shortcuts).

    ``D2`` is the (m, K) block of squared distances from the observed
    classes.  Label j is in the locus when some p in the simplex makes it a
    minimiser of ``p @ D2`` (``strict``: the unique minimiser).  Random and
    corner probability vectors settle most labels; an LP settles the rest:
    maximise t subject to ``p @ (D2[:, k] - D2[:, j]) >= t`` for all k.
    """
    m, K = D2.shape
    scale = max(1.0, float(D2.max()))
    inside = np.zeros(K, dtype=bool)
    # probability vectors to try: corners, uniform, random Dirichlet draws
    Ps = [np.eye(m), np.full((1, m), 1.0 / m)]
    if n_samples:
        for alpha in (1.0, 0.1):
            Ps.append(rng.dirichlet(np.full(m, alpha), size=n_samples))
    P = np.vstack(Ps)
    S = P @ D2
    best = S.min(axis=1)
    if strict:
        part = np.partition(S, 1, axis=1)[:, :2] if K > 1 else np.c_[best, best + np.inf]
        unique = part[:, 1] - part[:, 0] > tol * scale
        inside[np.argmin(S, axis=1)[unique]] = True
    else:
        inside[(S <= best[:, None] + tol * scale).any(axis=0)] = True
    for j in np.flatnonzero(~inside):
        diff = (D2 - D2[:, [j]]).T  # (K, m): p @ diff[k] >= t
        keep = np.ones(K, dtype=bool)
        keep[j] = False
        diff = diff[keep]
        # variables (p_1..p_m, t); minimise -t
        c = np.zeros(m + 1)
        c[-1] = -1.0
        A_ub = np.hstack([-diff, np.ones((diff.shape[0], 1))])
        b_ub = np.zeros(diff.shape[0])
        A_eq = np.hstack([np.ones((1, m)), np.zeros((1, 1))])
        res = linprog(
            c,
            A_ub=A_ub,
            b_ub=b_ub,
            A_eq=A_eq,
            b_eq=[1.0],
            bounds=[(0, None)] * m + [(None, scale)],
            method="highs",
        )
        t = -res.fun if res.status == 0 else -np.inf
        inside[j] = t > tol * scale if strict else t >= -tol * scale
    return inside


def _taxonomy_graph(K, seed=0):
    """Branching-10 taxonomy of K labels plus K / 10 random cross-links."""
    rng = np.random.default_rng(seed)
    child = np.arange(1, K)
    u = np.r_[child, rng.integers(0, K, K // 10)]
    v = np.r_[(child - 1) // 10, rng.integers(0, K, K // 10)]
    A = sp.csr_matrix((np.ones(u.size), (u, v)), shape=(K, K))
    A.data[:] = 1.0
    return A


def _observed(k, seed):
    """1% of k labels (at least 5), drawn at random: the observed classes."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(k, max(5, k // 100), replace=False))


def _programs_locus_mask(metric, obs):
    """The previous graph locus: the same dominance and geodesic rules, then
    one program per label left, one at a time, each certificate of a label
    outside tried on the labels left (skmetric.label_space._locus before the
    games)."""
    from skmetric.label_space._locus import (
        _graph_candidates, _lp_margin, _on_geodesics, _pair_beaten)

    D2 = metric.squared_distances_from(obs)
    scale = max(1.0, float(D2.max()))
    left, Da, near, keep = _graph_candidates(metric, obs, D2, 1e-9, scale)
    cand, Dc = left[keep], Da[:, keep]
    inside = _on_geodesics(Dc, D2[:, obs], 1e-9, scale, near[keep])
    # the corner and uniform checks of the previous path
    for S in (Dc, Dc.mean(axis=0, keepdims=True)):
        inside[(S <= S.min(axis=1, keepdims=True) + 1e-9 * scale).any(axis=0)] = True
    start = np.unique(np.argmin(Dc, axis=1))
    todo = ~inside
    for j in np.flatnonzero(todo):
        if not todo[j]:
            continue
        todo[j] = False
        inside[j], cert = _lp_margin(Dc, j, False, 1e-9, scale, start)
        if cert is None or not todo.any():
            continue
        cols, lam = cert
        rest = np.flatnonzero(todo)
        if cols.size <= 2:
            out = _pair_beaten(Dc, rest, np.full(rest.size, cols[0]),
                               np.full(rest.size, cols[-1]), 1e-9 * scale)
        else:
            out = (Dc[:, rest] > (Dc[:, cols] @ lam)[:, None] + 1e-9 * scale).all(axis=0)
        todo[rest[out]] = False
    mask = np.zeros(metric.n_labels, dtype=bool)
    mask[cand[inside]] = True
    return mask


def _locus_run(metric, obs, old):
    """The locus mask over ``metric``'s labels, by a previous path (``old``:
    "programs" for all labels, or "per label" after the graph rules) or by
    ``locus``."""
    if old == "programs":
        return lambda: _previous_locus_mask(
            metric.squared_distances_from(obs), strict=False, tol=1e-9, n_samples=256,
            rng=np.random.default_rng(0))
    if old == "per label":
        return lambda: _programs_locus_mask(metric, obs)
    return lambda: np.isin(metric.labels, locus(metric, obs))


def locus_scale(K_small=1_111, K=100_000, graph_sizes=(2_000, 10_000, 30_000, 100_000),
                seed=0, repeat=3, per_label_up_to=30_000):
    rows = [("", "labels", "observed", "locus", "CPU [s]")]
    for k, old in [(K_small, "programs"), (K_small, None), (K, None)]:
        tree = TreeMetric({i: (i - 1) // 10 for i in range(1, k)}, labels=np.arange(k))
        obs = _observed(k, seed)
        run = _locus_run(tree, obs, old)
        name = "tree, previous: linear programs" if old else "tree, now: tree path"
        t = _best(run, 1 if old else repeat)[2]
        mask = run()
        if k == K_small:
            same = mask if old else same
            if not old:
                name += " (same labels)" if np.array_equal(mask, same) else " (DIFFERENT)"
        rows.append((name, f"{k:,}", f"{obs.size}", f"{int(mask.sum())}", f"{t:.4f}"))
    # graphs with cycles: taxonomy + cross-links (unweighted), 1% observed;
    # the previous paths on the smaller graphs, each against ``locus``
    names = {"programs": "graph, previous: linear programs for all labels",
             "per label": "graph, previous: rules + one program per label",
             None: "graph, now: rules + small games"}
    for k in graph_sizes:
        g = GraphMetric(_taxonomy_graph(k, seed))
        obs = _observed(k, seed)
        variants = ["programs"] if k == graph_sizes[0] else []
        variants += ["per label"] if k <= per_label_up_to else []
        ref = {}
        for old in variants + [None]:
            run = _locus_run(g, obs, old)
            t = _best(run, 1)[2]
            mask = run()
            name = names[old]
            if old:
                ref[old] = mask
            else:
                if ref:
                    same = all(np.array_equal(mask, r) for r in ref.values())
                    name += " (same labels)" if same else " (DIFFERENT)"
            rows.append((name, f"{k:,}", f"{obs.size}", f"{int(mask.sum()):,}", f"{t:.2f}"))
    report(f"(f) locus: trees (branching 10; min of {repeat}) and taxonomy + K/10 "
           "cross-links graphs (1 run); random observed labels; CPU time",
           rows)


def locus_stages(K=100_000, seed=0):
    """Where the graph locus spends its time at K labels: each stage's CPU
    time, one run, as ``locus`` runs them (the games, shared certificates,
    HiGHS calls and full programs counted by wrapping the module's
    functions)."""
    import skmetric.label_space._locus as L

    g = GraphMetric(_taxonomy_graph(K, seed))
    obs = _observed(K, seed)
    rows = [("stage", "CPU [s]", "labels")]
    c = time.thread_time()
    D2 = g.squared_distances_from(obs)
    rows.append(("(m, K) squared lengths", f"{time.thread_time() - c:.2f}", f"{K:,}"))
    scale = max(1.0, float(D2.max()))
    Dobs2 = D2[:, obs]
    c = time.thread_time()
    left, Dc, near, keep = L._graph_candidates(g, obs, D2, 1e-9, scale)
    del D2
    rows.append(("not beaten by hanging-tree / neighbour rules",
                 f"{time.thread_time() - c:.2f}", f"{int(keep.sum()):,}"))
    c = time.thread_time()
    geo = L._on_geodesics(Dc, Dobs2, 1e-9, scale, near) & keep
    rows.append(("of which on a geodesic between observed (inside)",
                 f"{time.thread_time() - c:.2f}", f"{int(geo.sum()):,}"))
    indptr, indices = g._simple_graph()[:2]
    adj = sp.csr_matrix((np.ones(indices.size), indices, indptr), shape=(K, K))
    neighbours = adj[left][:, left].tocsr()
    stats = {k: [0.0, 0] for k in ("games", "shared", "highs", "full")}
    real = {k: getattr(L, k) for k in ("_small_games", "_beaten_by", "linprog", "_lp_margin")}

    def timed(name, key, count):
        def f(*a, **k):
            c = time.thread_time()
            out = real[name](*a, **k)
            stats[key][0] += time.thread_time() - c
            stats[key][1] += count(a, out)
            return out
        return f

    L._small_games = timed("_small_games", "games", lambda a, out: len(out))
    L._beaten_by = timed("_beaten_by", "shared", lambda a, out: out.size)
    L.linprog = timed("linprog", "highs", lambda a, out: 1)
    L._lp_margin = timed("_lp_margin", "full", lambda a, out: 1)
    try:
        c = time.thread_time()
        mask = L._locus_mask(Dc, strict=False, tol=1e-9, n_samples=256,
                             rng=np.random.default_rng(0), candidates=keep, known=geo,
                             neighbours=neighbours, scale=scale, near=near)
        total = time.thread_time() - c
    finally:
        for k, v in real.items():
            setattr(L, k, v)
    left = int((keep & ~geo).sum())
    games, shared, highs, full = (stats[k] for k in ("games", "shared", "highs", "full"))
    rows.append(("left: checks, games, shared certificates", f"{total:.2f}", f"{left:,}"))
    rows.append(("  decided by a probability-vector check", "",
                 f"{left - games[1] - shared[1]:,}"))
    rows.append(("  decided by their own game (block programs)", f"{games[0]:.2f}",
                 f"{games[1]:,}"))
    rows.append((f"    of which HiGHS ({highs[1]} block programs)", f"{highs[0]:.2f}", ""))
    rows.append(("  decided by a shared certificate", f"{shared[0]:.2f}", f"{shared[1]:,}"))
    rows.append(("  full programs (a game stalled)", f"{full[0]:.2f}", f"{full[1]:,}"))
    rows.append(("locus", "", f"{int(mask.sum()):,}"))
    report(f"(f') locus stages on the taxonomy + cross-links graph, {K:,} labels, "
           f"{obs.size:,} observed", rows)


if __name__ == "__main__":
    import sys

    # optional part letters, e.g. ``bench_frechet.py e f``; all by default
    parts = set(sys.argv[1:]) or set("abcdef")
    t0 = time.perf_counter()
    for letter, fn in zip("abcdef", (grid, tree, digits, scale, graph_scale, locus_scale)):
        if letter in parts:
            fn()
    if "f" in parts:
        locus_stages()
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")

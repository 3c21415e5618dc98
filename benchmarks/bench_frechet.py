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
           source, blocks of 256) run in the same process on the same graph.
(f) locus  on trees: the exact tree path against the linear programs (the
           previous path, still used for other metrics) on a small tree, and
           the tree path alone at 100,000 labels.

The wrapped model is LogisticRegression everywhere.  "argmax" is the same
fitted model's ``predict``; E[d^2] is the expected squared label distance.

Run: ``.venv/bin/python benchmarks/bench_frechet.py``
"""

import time
import tracemalloc
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmetric._frechet import FrechetMeanPredictor
from skmetric.label_space import EmbeddingMetric, GraphMetric, TreeMetric, locus
from skmetric.label_space._locus import _locus_mask
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
    Aw = A.copy()
    Aw.data = rng.uniform(0.5, 2.0, Aw.nnz)
    t_w = _best(lambda: GraphMetric(Aw).squared_distances_from(classes, np.float32), 1)
    rows.append(("weighted copy (Dijkstra, unchanged)", f"{t_w[0]:.2f}", "", f"{t_w[2]:.2f}", ""))
    report(
        f"(e) graph: {K:,} labels ({K - 1:,} taxonomy edges + {n_cross:,} cross-links, "
        f"unweighted), {m:,} observed; min/max of {repeat} runs (previous path: 1 run)",
        rows,
    )


def locus_scale(K_small=1_111, K=100_000, seed=0, repeat=3):
    rows = [("", "labels", "observed", "locus", "CPU [s]")]
    for k, old in [(K_small, True), (K_small, False), (K, False)]:
        tree = TreeMetric({i: (i - 1) // 10 for i in range(1, k)}, labels=np.arange(k))
        rng = np.random.default_rng(seed)
        obs = np.sort(rng.choice(k, max(5, k // 100), replace=False))
        if old:
            def run(tree=tree, obs=obs):
                D2 = tree.squared_distances_from(obs)
                return _locus_mask(D2, strict=False, tol=1e-9, n_samples=256,
                                   rng=np.random.default_rng(0))
            name = "previous: linear programs"
        else:
            def run(tree=tree, obs=obs):
                return np.isin(tree.labels, locus(tree, obs))
            name = "now: tree path"
        t = _best(run, 1 if old else repeat)[2]
        mask = run()
        if k == K_small:
            same = mask if old else same
            if not old:
                name += " (same labels)" if np.array_equal(mask, same) else " (DIFFERENT)"
        rows.append((name, f"{k:,}", f"{obs.size}", f"{int(mask.sum())}", f"{t:.4f}"))
    report(f"(f) locus on trees (branching 10, random observed labels; min of {repeat})", rows)


if __name__ == "__main__":
    t0 = time.perf_counter()
    grid()
    tree()
    digits()
    scale()
    graph_scale()
    locus_scale()
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")

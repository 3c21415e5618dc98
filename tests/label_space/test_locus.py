"""The locus and next-class selection against sampled Fréchet means."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skmetric.label_space import (
    GraphMetric,
    TreeMetric,
    locus,
    make_label_metric,
    select_next_classes,
)


def test_locus_tree_leaves_only(taxonomy):
    # with leaves observed, internal nodes are reachable but an unobserved leaf
    # never is (it is farther from every observed leaf than its parent)
    loc = set(locus(taxonomy, ["cat", "dog", "car"]).tolist())
    assert loc == {"cat", "dog", "car", "animal", "vehicle", "root"}
    assert "fox" not in loc and "bus" not in loc


def test_locus_contains_every_sampled_frechet_mean():
    rng = np.random.default_rng(5)
    pts = rng.normal(size=(20, 2))
    D = np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1))
    obs = np.array([0, 3, 7, 11, 15])
    loc = set(locus(D, obs).tolist())
    P = np.vstack([rng.dirichlet(np.full(5, 0.5), 3000), rng.dirichlet(np.ones(5), 3000)])
    # brute force: argmin over labels of sum_i p_i d(y, obs_i)^2
    predicted = set(np.argmin(P @ D[obs] ** 2, axis=1).tolist())
    assert predicted <= loc
    assert set(obs.tolist()) <= loc
    # strict locus: unique minimisers only; a subset of the locus
    assert set(locus(D, obs, strict=True).tolist()) <= loc


def test_locus_path_and_selection():
    path = [(i, i + 1) for i in range(6)]
    assert locus(path, [0, 6]).tolist() == list(range(7))
    assert locus(path, [0]).tolist() == [0]
    sel, sizes = select_next_classes(path, [3], n_classes=2)
    assert sizes.tolist()[-1] == 7
    assert set(sel.tolist()) == {0, 6}


def _lp_locus(metric, obs, strict):
    """The locus by the linear programs alone (no tree shortcut)."""
    from skmetric.label_space import make_label_metric
    from skmetric.label_space._locus import _locus_mask

    lm = make_label_metric(metric)
    D2 = lm.squared_distances_from(lm.index(np.unique(obs)))
    mask = _locus_mask(D2, strict=strict, tol=1e-9, n_samples=16,
                       rng=np.random.default_rng(0))
    return lm.labels[mask].tolist()


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("strict", [False, True])
def test_tree_locus_equals_linear_programs(seed, strict):
    rng = np.random.default_rng(seed)
    K = 40
    parents = {i: int(rng.integers(0, i)) for i in range(1, K)}
    obs = rng.choice(K, 1 + seed * 2, replace=False)
    expected = _lp_locus(parents, obs, strict)
    assert locus(parents, obs, strict=strict).tolist() == expected
    # the same tree as a graph, unweighted and weighted
    edges = [(c, p) for c, p in parents.items()]
    assert isinstance(make_label_metric(edges), GraphMetric)
    assert locus(edges, obs, strict=strict).tolist() == expected
    w = rng.uniform(0.5, 2.0, len(edges))
    wedges = [(c, p, float(x)) for (c, p), x in zip(edges, w)]
    assert locus(wedges, obs, strict=strict).tolist() == _lp_locus(wedges, obs, strict)


def test_tree_locus_holds_every_sampled_frechet_mean():
    rng = np.random.default_rng(7)
    parents = {i: int(rng.integers(0, i)) for i in range(1, 80)}
    obs = np.array([5, 17, 33, 60, 79])
    loc = set(locus(parents, obs).tolist())
    D2 = TreeMetric(parents).squared_distances_from(obs)
    P = rng.dirichlet(np.full(obs.size, 0.3), 4000)
    assert set(np.argmin(P @ D2, axis=1).tolist()) <= loc


def test_graph_with_a_cycle_uses_linear_programs():
    cycle = [(i, (i + 1) % 8) for i in range(8)]
    # on an 8-cycle with 0 and 4 observed, both half-cycles are geodesics
    assert locus(cycle, [0, 4]).tolist() == _lp_locus(cycle, [0, 4], strict=False)
    assert locus(cycle, [0, 4]).tolist() == list(range(8))


def test_tree_locus_scales_to_100k_labels():
    K = 100_000
    parents = {i: (i - 1) // 10 for i in range(1, K)}
    tree = TreeMetric(parents, labels=np.arange(K))
    leaves = np.arange(11_111, K)  # depth-5 leaves
    obs = leaves[::100]

    def no_distances(*args, **kwargs):  # the tree path needs no (m, K) block
        raise AssertionError("squared_distances_from called")

    tree.squared_distances_from = no_distances
    loc = locus(tree, obs)
    # the observed leaves and every ancestor up to their common root
    anc = set(obs.tolist())
    for v in obs.tolist():
        while v > 0:
            v = (v - 1) // 10
            anc.add(v)
    assert set(loc.tolist()) == anc


def _reference_locus(lm, obs, strict, tol=1e-9):
    """One full linear program per label (every other label a constraint)."""
    from scipy.optimize import linprog

    D2 = lm.squared_distances_from(lm.index(np.unique(obs)))
    m, K = D2.shape
    scale = max(1.0, float(D2.max()))
    inside = np.zeros(K, dtype=bool)
    for j in range(K):
        diff = np.delete(D2 - D2[:, [j]], j, axis=1).T
        res = linprog(np.r_[np.zeros(m), -1.0], A_ub=np.hstack([-diff, np.ones((K - 1, 1))]),
                      b_ub=np.zeros(K - 1), A_eq=np.r_[np.ones(m), 0.0][None], b_eq=[1.0],
                      bounds=[(0, None)] * m + [(None, scale)], method="highs")
        t = -res.fun
        inside[j] = t > tol * scale if strict else t >= -tol * scale
    return lm.labels[inside].tolist()


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), strict=st.booleans())
def test_graph_locus_equals_full_linear_programs(seed, strict):
    # random trees plus cross-links (cycles), unit or integer lengths; the
    # dominance, geodesic and certificate shortcuts must not change the answer
    rng = np.random.default_rng(seed)
    K = int(rng.integers(4, 28))
    child = np.arange(1, K)
    par = rng.integers(0, child)
    extra = rng.integers(0, K, size=(int(rng.integers(1, K)), 2))
    u = np.r_[child, extra[:, 0]]
    v = np.r_[par, extra[:, 1]]
    keep = u != v
    w = rng.integers(1, 4, u.size).astype(float) if seed % 2 else np.ones(u.size)
    edges = [(int(a), int(b), float(c)) for a, b, c in zip(u[keep], v[keep], w[keep])]
    lm = GraphMetric(edges, labels=np.arange(K))
    obs = rng.choice(K, int(rng.integers(1, min(K, 6) + 1)), replace=False)
    assert locus(lm, obs, strict=strict).tolist() == _reference_locus(lm, obs, strict)


@pytest.mark.slow
def test_graph_locus_shortcuts_decide_most_labels(monkeypatch):
    # a taxonomy with cross-links: hanging trees and dominated labels are
    # dropped and geodesic labels accepted without a linear program
    import skmetric.label_space._locus as locus_module

    rng = np.random.default_rng(0)
    K = 250
    child = np.arange(1, K)
    u = np.r_[child, rng.integers(0, K, 20)]
    v = np.r_[(child - 1) // 5, rng.integers(0, K, 20)]
    edges = [(int(a), int(b)) for a, b in zip(u, v) if a != b]
    lm = GraphMetric(edges, labels=np.arange(K))
    obs = rng.choice(K, 8, replace=False)
    calls = []
    real = locus_module._small_games
    monkeypatch.setattr(locus_module, "_small_games",
                        lambda Dc, js, *a, **k: calls.extend(js) or real(Dc, js, *a, **k))
    loc = locus(lm, obs)
    assert 0 < len(calls) < K // 25  # labels left to the games
    assert loc.tolist() == _reference_locus(lm, obs, strict=False)


def _line_block(positions, observed):
    """(m, K) squared distances between points on a line (observed rows)."""
    x = np.asarray(positions, dtype=float)
    return (x[observed][:, None] - x[None, :]) ** 2


def test_small_games_prove_inside_and_outside():
    from skmetric.label_space._locus import _lp_margin, _small_games

    # labels at 0, 1, 2, 3, 10 on a line, 0 and 3 observed: p on the two
    # observed classes moves the mean anywhere in [0, 3], so 1 and 2 are
    # minimisers; 10 is beaten by 3 at every p
    Dc = _line_block([0, 1, 2, 3, 10], [0, 3])
    comp = np.ones(5, dtype=bool)
    scale = float(Dc.max())
    games = _small_games(Dc, [1, 2, 4], False, 1e-9, scale, comp, None)
    (in1, c1), (in2, c2), (in4, c4) = games
    assert in1 and in2 and c1 is None and c2 is None
    assert not in4
    # the certificate: a mixture of labels below label 10 in every row
    cols, lam = c4
    assert np.all(Dc[:, cols] @ lam < Dc[:, 4])
    # the same decisions as the full program, strict or not
    for strict in (False, True):
        got = _small_games(Dc, np.arange(5), strict, 1e-9, scale, comp, None)
        assert [g[0] for g in got] == [_lp_margin(Dc, j, strict, 1e-9, scale, [0])[0]
                                       for j in range(5)]


def test_small_games_strict_drops_a_tied_label():
    from skmetric.label_space._locus import _small_games

    # labels 1 and 2 sit at the same point: minimisers for some p (not
    # strict) but never the unique one (strict)
    Dc = _line_block([0, 1, 1, 2], [0, 3])
    comp = np.ones(4, dtype=bool)
    scale = float(Dc.max())
    assert [g[0] for g in _small_games(Dc, [1, 2], False, 1e-9, scale, comp, None)] == [
        True, True]
    assert [g[0] for g in _small_games(Dc, [1, 2], True, 1e-9, scale, comp, None)] == [
        False, False]


def test_small_games_match_the_full_program_on_random_points():
    from skmetric.label_space._locus import _lp_margin, _small_games

    rng = np.random.default_rng(3)
    pts = rng.normal(size=(60, 2))
    obs = rng.choice(60, 6, replace=False)
    Dc = ((pts[obs][:, None] - pts[None]) ** 2).sum(-1)
    scale = float(Dc.max())
    comp = np.ones(60, dtype=bool)
    got = _small_games(Dc, np.arange(60), False, 1e-9, scale, comp, None)
    want = [_lp_margin(Dc, j, False, 1e-9, scale, obs)[0] for j in range(60)]
    decided = [g is not None for g in got]
    assert all(decided)
    assert [g[0] for g in got] == want
    assert 0 < sum(want) < 60  # both answers occur


def test_shared_certificate_drops_beaten_labels_only():
    from skmetric.label_space._locus import _beaten_by

    # rows: observed classes; columns 0, 1: a certificate's labels; label 2
    # lies above their midpoint by 1 in every row, label 3 below it in row 0
    Dc = np.array([[0.0, 4.0, 3.0, 1.0],
                   [4.0, 0.0, 3.0, 3.0],
                   [2.0, 2.0, 3.0, 3.0]])
    near = np.array([[0, 1], [1, 0], [0, 1], [0, 1]])
    for cols, lam in [(np.array([0, 1]), np.array([0.5, 0.5])),
                      (np.array([0, 1, 0]), np.array([0.25, 0.5, 0.25]))]:
        # pairs: any mixture (here 1/2); three columns: the given mixture
        assert _beaten_by(Dc, np.array([2, 3]), [(cols, lam)], near, 1e-9).tolist() == [2]
        # no label is beaten by more than the margin when the margin is 1
        assert _beaten_by(Dc, np.array([2, 3]), [(cols, lam)], near, 1.0).tolist() == []


def test_nearest_rows_match_a_stable_sort():
    from skmetric.label_space._locus import _nearest_rows

    # integer entries: many ties, broken towards the first row as a stable
    # sort does; more columns than one block
    rng = np.random.default_rng(0)
    X = rng.integers(0, 6, size=(70, 5000)).astype(float)
    before = X.copy()
    got = _nearest_rows(X, 5)
    assert np.array_equal(got, np.argsort(X, axis=0, kind="stable")[:5].T)
    assert np.array_equal(X, before)  # left as it was


def test_neighbour_rules_match_a_loop_over_all_rows():
    # more than 64 observed classes: the rules check blocks of rows and
    # drop a pair at its first failing block; the labels they keep must be
    # those a loop over every (label, neighbour[s]) and every row keeps
    from skmetric.label_space._locus import _graph_candidates

    rng = np.random.default_rng(1)
    K = 400
    child = np.arange(1, K)
    u = np.r_[child, rng.integers(0, K, 60)]
    v = np.r_[(child - 1) // 3, rng.integers(0, K, 60)]
    keep_e = u != v
    lm = GraphMetric([(int(a), int(b)) for a, b in zip(u[keep_e], v[keep_e])],
                     labels=np.arange(K))
    obs = np.sort(rng.choice(K, 90, replace=False))
    D2 = lm.squared_distances_from(obs)
    scale = max(1.0, float(D2.max()))
    margin = 1e-9 * scale
    left, Da, near, keep = _graph_candidates(lm, obs, D2, 1e-9, scale)
    assert np.array_equal(Da, D2[:, left])
    indptr, indices = lm._simple_graph()[:2]
    alive = np.zeros(K, dtype=bool)
    alive[left] = True
    expected = []
    for y in left:
        nb = [z for z in indices[indptr[y]:indptr[y + 1]] if alive[z]]
        beaten = False
        if y not in obs:
            for i, z1 in enumerate(nb):
                beaten |= all(D2[r, z1] + margin < D2[r, y] for r in range(obs.size))
                for z2 in nb[i + 1:]:
                    # some l in [0, 1]: l a < b in every row
                    lo, hi, ok = 0.0, 1.0, True
                    for r in range(obs.size):
                        a = D2[r, z1] - D2[r, z2]
                        b = D2[r, y] - D2[r, z2] - margin
                        if a > 0:
                            hi = min(hi, b / a)
                        elif a < 0:
                            lo = max(lo, b / a)
                        else:
                            ok &= b > 0
                    beaten |= ok and lo < hi
        expected.append(not beaten)
    assert keep.tolist() == expected
    assert 0 < keep.size - keep.sum() and keep.sum() > 0  # both answers occur


def test_geodesic_rule_on_a_path():
    from skmetric.label_space._locus import _nearest_rows, _on_geodesics

    # a path 0 - 1 - ... - 9 with 2 and 6 observed: 2..6 lie on the shortest
    # path between them (inside), the labels beyond the ends on none
    lm = GraphMetric([(i, i + 1) for i in range(9)], labels=np.arange(10))
    obs = np.array([2, 6])
    D2 = lm.squared_distances_from(obs)
    scale = float(D2.max())
    want = [2 <= y <= 6 for y in range(10)]
    assert _on_geodesics(D2, D2[:, obs], 1e-9, scale).tolist() == want
    near = _nearest_rows(D2.copy(), 2)
    assert _on_geodesics(D2, D2[:, obs], 1e-9, scale, near).tolist() == want


def test_shared_certificates_together():
    from skmetric.label_space._locus import _beaten_by

    # rows: observed classes; label 3 lies above the midpoint of labels 0
    # and 1 in every row (the pair certificate), label 4 above the mixture
    # (0.5, 0.25, 0.25) of labels 0, 1, 2 (the triple) but not above any
    # mixture of 0 and 1 alone (row 2); label 5 is beaten by neither
    Dc = np.array([[0.0, 4.0, 4.0, 3.0, 2.5, 1.0],
                   [4.0, 0.0, 4.0, 3.0, 3.5, 1.0],
                   [4.0, 4.0, 0.0, 5.0, 3.5, 1.0]])
    near = np.tile(np.arange(2), (6, 1))
    pair = (np.array([0, 1]), np.array([0.5, 0.5]))
    triple = (np.array([0, 1, 2]), np.array([0.5, 0.25, 0.25]))
    y = np.array([3, 4, 5])
    assert _beaten_by(Dc, y, [pair, triple], near, 1e-9).tolist() == [3, 4]
    assert _beaten_by(Dc, y, [pair], near, 1e-9).tolist() == [3]
    assert _beaten_by(Dc, y, [triple], near, 1e-9).tolist() == [4]
    assert _beaten_by(Dc, y, [pair, triple], near, 10.0).tolist() == []

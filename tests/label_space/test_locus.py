"""The locus and next-class selection against sampled Fréchet means."""

import numpy as np

from skmetric.label_space import locus, select_next_classes


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

"""Label metrics: distances against scipy's shortest paths, construction and errors."""

import re

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from skmetric.label_space import (
    CallableMetric,
    DiscreteMetric,
    DistanceMatrix,
    EmbeddingMetric,
    GraphMetric,
    TreeMetric,
    make_label_metric,
)


def test_tree_distances_match_shortest_paths():
    rng = np.random.default_rng(0)
    parents = {i: int(rng.integers(0, i)) for i in range(1, 60)}
    tree = TreeMetric(parents)
    rows = np.array(list(parents.keys()))
    cols = np.array(list(parents.values()))
    A = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(60, 60))
    full = shortest_path(A, directed=False, unweighted=True)
    src = np.array([0, 5, 17, 59])
    np.testing.assert_array_equal(tree.distances_from(src), full[src])
    np.testing.assert_array_equal(tree.squared_distances_from(src), full[src] ** 2)
    g = GraphMetric(A)
    np.testing.assert_array_equal(g.distances_from(src), full[src])


def test_graph_edge_list_with_string_labels():
    edges = [("a", "b", 1.0), ("b", "c", 1.0), ("c", "d", 2.0)]
    m = make_label_metric(edges)
    assert isinstance(m, GraphMetric)
    np.testing.assert_array_equal(m.distances_from([0]), [[0, 1, 2, 4]])
    numeric = make_label_metric(np.array([[0, 1, 1.0], [1, 2, 1.0]]), metric_kind="graph")
    np.testing.assert_array_equal(numeric.distances_from([0]), [[0, 1, 2]])


def test_factory_picks_the_form(taxonomy):
    assert isinstance(make_label_metric(taxonomy), TreeMetric)
    assert isinstance(make_label_metric(1.0 - np.eye(3)), DistanceMatrix)
    assert isinstance(make_label_metric(np.ones((4, 2))), EmbeddingMetric)
    assert isinstance(make_label_metric(None, labels=["a", "b"]), DiscreteMetric)
    f = lambda a, b: np.abs(a[:, None] - b[None, :]).astype(float)  # noqa: E731
    assert isinstance(make_label_metric(f, labels=[0, 1]), CallableMetric)


def test_embedding_metric_against_numpy():
    rng = np.random.default_rng(1)
    E = rng.normal(size=(6, 3))
    euclid = np.linalg.norm(E[:, None] - E[None], axis=-1)
    np.testing.assert_allclose(EmbeddingMetric(E).distances_from([0, 4]), euclid[[0, 4]],
                               atol=1e-12)
    U = E / np.linalg.norm(E, axis=1, keepdims=True)
    cos = np.maximum(1.0 - U @ U.T, 0.0)
    np.fill_diagonal(cos, 0.0)
    np.testing.assert_allclose(
        EmbeddingMetric(E, metric="cosine").squared_distances_from([2]), cos[[2]] ** 2,
        atol=1e-12)


def test_tree_with_two_roots_or_cycle():
    msg = "The label tree must have exactly one root, found 2"
    with pytest.raises(ValueError, match=re.escape(msg)):
        TreeMetric({"a": "r1", "b": "r2"})
    with pytest.raises(ValueError, match=re.escape("The label tree contains a cycle.")):
        TreeMetric({"a": "r", "b": "c", "c": "b"})


def test_callable_needs_labels_and_checks_shape():
    f = lambda a, b: np.abs(a[:, None] - b[None, :]).astype(float)  # noqa: E731
    with pytest.raises(ValueError, match=re.escape("A callable `label_metric` needs `labels`")):
        make_label_metric(f)
    bad = CallableMetric(lambda a, b: np.zeros((1, 1)), labels=[0, 1])
    with pytest.raises(ValueError, match=re.escape("returned shape (1, 1), expected (1, 2)")):
        bad.distances_from([0])


def test_unknown_labels_are_listed(taxonomy):
    msg = ("Observed not in the label space of the label metric: 'zebra'. "
           "The label metric has 8 labels; pass `labels=` to name them.")
    with pytest.raises(ValueError, match=re.escape(msg)):
        TreeMetric(taxonomy).index(["cat", "zebra"], name="Observed")

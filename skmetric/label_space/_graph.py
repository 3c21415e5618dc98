"""Shortest-path lengths in a graph over the labels."""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from ._base import LabelMetric, _as_labels, _check_finite_matrix, _labels_for_rows


class GraphMetric(LabelMetric):
    """Shortest-path lengths in a graph over the labels.

    Distances from a set of sources are computed with Dijkstra's algorithm
    (``scipy.sparse.csgraph.dijkstra``, undirected) only from those sources,
    so a K x K matrix is never built.

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

    def distances_from(self, sources):
        sources = np.asarray(sources, dtype=np.intp)
        D = dijkstra(
            self.graph, directed=False, indices=sources, unweighted=self._unweighted
        )
        D = np.atleast_2d(D)
        if not np.isfinite(D).all():
            r, c = np.argwhere(~np.isfinite(D))[0]
            raise ValueError(
                f"The label graph is disconnected: label {self.labels[[c]].tolist()[0]!r} "
                f"cannot be reached from label {self.labels[[sources[r]]].tolist()[0]!r}."
            )
        return D

"""Metrics over a finite label space, for Fréchet-mean (Loki) prediction.

A *label metric* gives a distance ``d(a, b)`` between any two labels of a
label space ``Y`` (|Y| = K).  :class:`~skmetric.FrechetMeanPredictor` needs,
for the m classes a model was trained on, the squared distances from those
classes to every label: an (m, K) array, never a K x K one.  The classes of
this package build exactly that from the forms label geometry usually comes
in:

==========================  =================================================
:class:`DistanceMatrix`     a square (K, K) matrix of distances
:class:`GraphMetric`        a graph (sparse adjacency or weighted edge list);
                            shortest-path lengths via ``scipy.sparse.csgraph``
:class:`TreeMetric`         a tree given as a child -> parent mapping; path
                            lengths in edges (hops)
:class:`EmbeddingMetric`    one vector per label, Euclidean or cosine
:class:`CallableMetric`     ``f(a, b)`` on two arrays of labels
:class:`DiscreteMetric`     ``d(a, b) = 1`` for ``a != b`` (Loki = argmax)
==========================  =================================================

:func:`make_label_metric` builds one from any of these forms.  Every class
returns *distances* from :meth:`LabelMetric.distances_from` and squares them
in exactly one place, :meth:`LabelMetric.squared_distances_from` (the
Euclidean embedding metric computes squared distances directly).

Loki's analysis tools: :func:`locus` (which labels can be predicted at all
from a set of observed classes) and :func:`select_next_classes` (greedy
choice of the classes to observe next so that the locus covers the label
space).  The evaluation measure is
:func:`skmetric.metrics.expected_squared_distance`.

References
----------
.. [1] Roberts, Li, Adila, Sala, Zhang, Sala. "Geometry-Aware Adaptation for
   Pretrained Models", NeurIPS 2023, arXiv:2307.12226.
"""

from ._base import LabelMetric
from ._callable import CallableMetric
from ._discrete import DiscreteMetric
from ._embeddings import EmbeddingMetric
from ._factory import make_label_metric
from ._graph import GraphMetric
from ._locus import locus
from ._matrix import DistanceMatrix
from ._selection import select_next_classes
from ._tree import TreeMetric

__all__ = [
    "CallableMetric",
    "DiscreteMetric",
    "DistanceMatrix",
    "EmbeddingMetric",
    "GraphMetric",
    "LabelMetric",
    "TreeMetric",
    "locus",
    "make_label_metric",
    "select_next_classes",
]

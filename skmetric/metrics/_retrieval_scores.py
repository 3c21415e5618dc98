"""Query-vs-corpus retrieval scores with graded relevance: NDCG, MRR, recall, MAP at k.

The evaluation of embedding workflows that have queries, a corpus and
relevance judgements instead of class labels (BEIR-style).  The top-k search
is the exact, chunked one of :func:`skmetric.neighbors.kneighbors`, so memory
stays bounded whatever the corpus size.
"""

from numbers import Integral

import numpy as np

from ..neighbors import (
    DEFAULT_MEMORY_BUDGET,
    METRICS,
    _check_embedding,
    _index_sets_matrix,
    kneighbors,
)

__all__ = ["retrieval_scores"]

# Queries x cut-off entries scored at once (about 20 float64 arrays of this
# many entries are alive while a block is scored).
_QUERY_BLOCK_ENTRIES = 2**18


def _check_ks(k):
    ks = [k] if isinstance(k, Integral) and not isinstance(k, bool) else k
    try:
        ks = list(ks)
    except TypeError:
        raise ValueError(f"`k` must be an integer >= 1 or a list of them; got {k!r}.") from None
    if not ks:
        raise ValueError("`k` must be an integer >= 1 or a non-empty list of them; got [].")
    for value in ks:
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
            raise ValueError(f"`k` must be an integer >= 1 or a list of them; got {k!r}.")
    return sorted({int(value) for value in ks})


def retrieval_scores(
    queries,
    corpus,
    relevance,
    *,
    k=10,
    metric="cosine",
    memory_budget=DEFAULT_MEMORY_BUDGET,
    device=None,
    querybank=None,
    beta=20.0,
    querybank_k=1,
):
    """NDCG@k, MRR@k, Recall@k and MAP@k of queries searched in a corpus.

    Each query's ``k`` nearest corpus rows are found exactly; equal scores
    are ranked by corpus index (the smaller index first), so the ranking --
    and every score -- is deterministic.

    Definitions, per query, with ``rel(d)`` the graded relevance of document
    ``d`` (0 if not listed), ``d_1..d_k`` the ranked results, and a document
    *relevant* when ``rel(d) > 0``:

    - ``ndcg@k``: ``sum_i rel(d_i) / log2(i + 1)`` divided by the same sum
      over the ideal ranking (linear gain), the definition of
      :func:`sklearn.metrics.ndcg_score` with ``k``.  The values are equal
      when no two corpus rows tie in score for a query.  With ties,
      scikit-learn (``ignore_ties=False``) averages the gains of each tied
      group, while here the smaller index ranks first; the values then
      equal ``ndcg_score`` on scores made tie-free that way.
    - ``mrr@k``: ``1 / i`` for the first relevant ``d_i``, 0 if none in the
      top k.
    - ``recall@k``: the share of the query's relevant documents in its top k.
    - ``map@k``: ``sum_i P@i * [d_i relevant] / min(k, n_relevant)``, with
      ``P@i`` the precision of the top ``i``; the normaliser
      ``min(k, n_relevant)`` (as in sentence-transformers'
      ``InformationRetrievalEvaluator``) makes a perfect top k score 1.

    Each is averaged over the queries that have at least one relevant
    document; queries with none are left out of the mean (as BEIR and
    sentence-transformers' ``InformationRetrievalEvaluator`` do).

    Parameters
    ----------
    queries : array-like of shape (n_queries, n_features)
        Query embeddings.
    corpus : array-like of shape (n_corpus, n_features)
        Document embeddings.
    relevance : sparse matrix, ndarray or list of lists
        A ``(n_queries, n_corpus)`` matrix (scipy sparse or ndarray) of
        graded relevance (>= 0; zero or absent entries are not relevant), or
        a list holding one list of relevant corpus indices per query
        (relevance 1).  An ndarray is always read as the matrix.
    k : int or list of int, default=10
        Cut-off(s).  A ``k`` above ``n_corpus`` ranks the whole corpus.
    metric : {"cosine", "euclidean", "dot"}, default="cosine"
        How queries and documents are compared, as in :func:`kneighbors`.
    memory_budget : int, default=268435456
        Bytes for the score blocks of the search.
    device : str or torch.device, default=None
        Device of the search (CPU by default).
    querybank : array-like of shape (n_bank, n_features), default=None
        A bank of queries (e.g. the training queries) for QB-Norm's dynamic
        inverted softmax, which rescores the corpus against hubness (see
        :func:`skmetric.neighbors.kneighbors`); ``None``: plain ranking.
    beta : float, default=20.0
        QB-Norm's inverse temperature (> 0).
    querybank_k : int, default=1
        QB-Norm's activation depth.

    Returns
    -------
    scores : dict
        ``{"ndcg@k": ..., "mrr@k": ..., "recall@k": ..., "map@k": ...}`` for
        each ``k``, as floats.

    Examples
    --------
    >>> import numpy as np
    >>> from skmetric.metrics import retrieval_scores
    >>> corpus = np.array([[1.0, 0.0], [0.7, 0.7], [0.0, 1.0]])
    >>> queries = np.array([[1.0, 0.1], [0.1, 1.0]])
    >>> s = retrieval_scores(queries, corpus, [[1], [2, 1]], k=2)
    >>> s["mrr@2"], s["recall@2"], s["map@2"]
    (0.75, 1.0, 0.75)
    """
    if metric not in METRICS:
        raise ValueError(f"`metric` must be one of {list(METRICS)}; got {metric!r}.")
    queries = _check_embedding(queries, "queries")
    corpus = _check_embedding(corpus, "corpus")
    if queries.shape[1] != corpus.shape[1]:
        raise ValueError(
            f"`queries` has {queries.shape[1]} features but `corpus` has "
            f"{corpus.shape[1]}."
        )
    n_queries, n_corpus = queries.shape[0], corpus.shape[0]
    ks = _check_ks(k)
    rel = _index_sets_matrix(relevance, n_queries, n_corpus, "relevance", graded=True)
    n_relevant = rel.getnnz(axis=1)
    evaluated = np.flatnonzero(n_relevant > 0)
    if evaluated.size == 0:
        raise ValueError("`relevance` lists no relevant document for any query.")
    rel = rel[evaluated]
    n_relevant = n_relevant[evaluated]
    m, k_max = evaluated.size, ks[-1]

    # Queries are searched and scored in blocks, so that the (block, k)
    # intermediate arrays stay bounded whatever the number of queries; the
    # per-query values are kept (4 floats per query and k) and averaged once,
    # so the result does not depend on the block size.
    per_query = {f"{name}@{kk}": np.empty(m) for kk in ks
                 for name in ("ndcg", "mrr", "recall", "map")}
    block = max(1, _QUERY_BLOCK_ENTRIES // max(k_max, 1))
    for b0 in range(0, m, block):
        b1 = min(m, b0 + block)
        _, ind = kneighbors(queries[evaluated[b0:b1]], corpus, min(k_max, n_corpus),
                            metric=metric, memory_budget=memory_budget, device=device,
                            querybank=querybank, beta=beta, querybank_k=querybank_k)
        _score_block(ind, rel[b0:b1], n_relevant[b0:b1], ks, k_max, n_corpus,
                     {name: values[b0:b1] for name, values in per_query.items()})
    return {name: float(np.mean(values)) for name, values in per_query.items()}


def _score_block(ind, rel, n_relevant, ks, k_max, n_corpus, out):
    """Write each query's scores of one block into the arrays of ``out``."""
    m = ind.shape[0]
    # Relevance of each result: look (row, column) up among the sorted keys
    # of the CSR entries.
    row = np.repeat(np.arange(m), n_relevant)
    keys = row * n_corpus + rel.indices
    wanted = np.arange(m)[:, None] * n_corpus + ind
    at = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
    gains = np.where(keys[at] == wanted, rel.data[at], 0.0)
    del wanted, at
    if k_max > n_corpus:  # ranks past the end of the corpus hold nothing
        gains = np.hstack([gains, np.zeros((m, k_max - n_corpus))])
    discount = 1.0 / np.log2(np.arange(2, k_max + 2))
    dcg = np.cumsum(gains * discount, axis=1)

    # Ideal ranking: each query's relevance values, largest first.
    order = np.lexsort((-rel.data, row))
    rank = np.arange(rel.nnz) - rel.indptr[row]
    top = rank < k_max
    ideal = np.zeros((m, k_max))
    ideal[row[top], rank[top]] = rel.data[order][top]
    idcg = np.cumsum(ideal * discount, axis=1)

    hits = gains > 0
    n_hits = np.cumsum(hits, axis=1)
    first = np.where(hits.any(axis=1), hits.argmax(axis=1), k_max)
    precision_sum = np.cumsum(hits * n_hits / np.arange(1, k_max + 1), axis=1)

    for kk in ks:
        c = kk - 1
        out[f"ndcg@{kk}"][:] = dcg[:, c] / idcg[:, c]
        out[f"mrr@{kk}"][:] = np.where(first < kk, 1.0 / (first + 1), 0.0)
        out[f"recall@{kk}"][:] = n_hits[:, c] / n_relevant
        out[f"map@{kk}"][:] = precision_sum[:, c] / np.minimum(kk, n_relevant)

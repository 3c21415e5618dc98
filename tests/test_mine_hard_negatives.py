import re

import numpy as np
import pytest
import scipy.sparse as sp

from skmetric.neighbors import mine_hard_negatives


def brute_mine(anchors, positives, corpus, n, metric, am=None, rm=None, candidates=None,
               exclude=None):
    """Loop reference: every pair, every corpus row, sort by (hardness, index)."""
    C = np.asarray(corpus, dtype=np.float64)
    if metric == "cosine":
        C = C / np.linalg.norm(C, axis=1, keepdims=True)
    allowed = set(range(len(C))) if candidates is None else set(candidates)
    out = []
    for i, (a, p) in enumerate(zip(anchors, positives)):
        banned = {a} | {positives[j] for j in range(len(anchors)) if anchors[j] == a}
        if exclude is not None:
            banned |= set(exclude[i])
        rows = []
        for c in sorted(allowed - banned):
            if metric == "cosine":
                s_c, s_p = C[a] @ C[c], C[a] @ C[p]
                if am is not None and not s_c <= s_p - am:
                    continue
                if rm is not None and not s_c <= s_p * (1 - rm):
                    continue
                rows.append((-s_c, c))
            else:
                d_c, d_p = np.linalg.norm(C[a] - C[c]), np.linalg.norm(C[a] - C[p])
                if am is not None and not d_c >= d_p + am:
                    continue
                if rm is not None and not d_p <= (1 - rm) * d_c:
                    continue
                rows.append((d_c, c))
        rows.sort()
        out += [(a, p, c) for _, c in rows[:n]]
    return np.array(out, dtype=np.int64).reshape(-1, 3)


def int_data(n, d, seed, high=2):
    # small integers: exact squared distances and many ties
    return np.random.RandomState(seed).randint(-high, high + 1, size=(n, d)).astype(np.float64)


def random_pairs(n_pairs, n_corpus, seed):
    rng = np.random.RandomState(seed)
    anchors = rng.randint(n_corpus, size=n_pairs)
    positives = (anchors + 1 + rng.randint(n_corpus - 1, size=n_pairs)) % n_corpus
    return anchors, positives


@pytest.mark.parametrize("budget", [2**30, 2000])
@pytest.mark.parametrize("margins", [(None, None), (0.5, None), (None, 0.2), (1.0, 0.3)])
def test_euclidean_with_ties_matches_brute_force(budget, margins):
    corpus = int_data(60, 3, 0)
    anchors, positives = random_pairs(25, 60, 1)
    anchors[:5] = anchors[5]  # several positives for one anchor
    got = mine_hard_negatives(anchors, positives, corpus, n_negatives=6, metric="euclidean",
                              absolute_margin=margins[0], relative_margin=margins[1],
                              memory_budget=budget)
    want = brute_mine(anchors, positives, corpus, 6, "euclidean", *margins)
    np.testing.assert_array_equal(got, want)


def test_small_budget_splits_corpus_columns():
    # a budget below one full row forces several corpus blocks, merged
    corpus = int_data(300, 2, 3)
    anchors, positives = random_pairs(40, 300, 4)
    got = mine_hard_negatives(anchors, positives, corpus, n_negatives=5, metric="euclidean",
                              memory_budget=3000)
    np.testing.assert_array_equal(got, brute_mine(anchors, positives, corpus, 5, "euclidean"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("margins", [(None, None), (0.1, None), (None, 0.1), (0.05, 0.2)])
def test_cosine_matches_brute_force(dtype, margins):
    rng = np.random.RandomState(0)
    corpus = rng.normal(size=(80, 5)).astype(dtype)
    anchors, positives = random_pairs(30, 80, 2)
    got = mine_hard_negatives(anchors, positives, corpus, n_negatives=4,
                              absolute_margin=margins[0], relative_margin=margins[1],
                              memory_budget=4000)
    want = brute_mine(anchors, positives, corpus, 4, "cosine", *margins)
    np.testing.assert_array_equal(got, want)


def test_cosine_ties_ordered_by_index():
    # rows 2, 4 and 5 are the same direction (scaled by powers of 2)
    corpus = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0],
                       [2.0, 2.0, 0.0], [0.5, 0.5, 0.0]])
    got = mine_hard_negatives([0], [3], corpus, n_negatives=4)
    np.testing.assert_array_equal(got, [[0, 3, 2], [0, 3, 4], [0, 3, 5], [0, 3, 1]])


def test_margins_filter_as_documented():
    # cos(a, p) = 0.8; candidates at cos 0.9, 0.75, 0.6, 0.0
    corpus = np.array([[1.0, 0.0], [0.8, 0.6], [0.9, np.sqrt(1 - 0.81)],
                       [0.75, np.sqrt(1 - 0.5625)], [0.6, 0.8], [0.0, 1.0]])
    def negs(**kw):
        return mine_hard_negatives([0], [1], corpus, n_negatives=5, **kw)[:, 2].tolist()
    assert negs() == [2, 3, 4, 5]
    assert negs(absolute_margin=0.0) == [3, 4, 5]
    assert negs(absolute_margin=0.1) == [4, 5]            # <= 0.7
    assert negs(relative_margin=0.1) == [4, 5]            # <= 0.72
    assert negs(relative_margin=0.5) == [5]               # <= 0.4
    assert negs(absolute_margin=-0.15) == [2, 3, 4, 5]    # <= 0.95


def test_positives_of_the_same_anchor_and_exclude_are_never_negatives():
    corpus = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
    got = mine_hard_negatives([0, 0], [1, 2], corpus, n_negatives=2, metric="euclidean")
    np.testing.assert_array_equal(got, [[0, 1, 3], [0, 1, 4], [0, 2, 3], [0, 2, 4]])
    got = mine_hard_negatives([0, 0], [1, 2], corpus, n_negatives=2, metric="euclidean",
                              exclude=[[3], []])
    np.testing.assert_array_equal(got, [[0, 1, 4], [0, 2, 3], [0, 2, 4]])
    as_matrix = sp.csr_matrix(([1.0], ([0], [3])), shape=(2, 5))
    np.testing.assert_array_equal(
        mine_hard_negatives([0, 0], [1, 2], corpus, n_negatives=2, metric="euclidean",
                            exclude=as_matrix), got)


def test_candidates_restrict_negatives_to_documents():
    # queries and documents stacked into one array: rows 0-9 queries, 10-49 documents
    rng = np.random.RandomState(5)
    queries, docs = rng.normal(size=(10, 4)), rng.normal(size=(40, 4))
    X = np.vstack([queries, docs])
    anchors = np.arange(10)
    positives = 10 + rng.randint(40, size=10)
    exclude = [list(range(10))] * 10
    got = mine_hard_negatives(anchors, positives, X, n_negatives=3,
                              candidates=np.arange(10, 50))
    assert got[:, 2].min() >= 10
    want = brute_mine(anchors, positives, X, 3, "cosine", exclude=exclude)
    np.testing.assert_array_equal(got, want)


def test_output_indexes_the_corpus_ready_for_a_tuple_learner():
    rng = np.random.RandomState(0)
    corpus = rng.normal(size=(30, 3)).astype(np.float32)
    trip = mine_hard_negatives(np.arange(10), np.arange(10, 20), corpus, n_negatives=2)
    assert trip.shape == (20, 3) and trip.dtype == np.int64
    assert corpus[trip].shape == (20, 3, 3)
    np.testing.assert_array_equal(trip[::2, :2], np.c_[np.arange(10), np.arange(10, 20)])
    # hardest first: sim(a, n1) >= sim(a, n2)
    C = corpus / np.linalg.norm(corpus, axis=1, keepdims=True)
    s = (C[trip[:, 0]] * C[trip[:, 2]]).sum(1)
    assert np.all(s[::2] >= s[1::2])


def test_fewer_negatives_when_margins_leave_fewer():
    corpus = np.array([[0.0], [1.0], [1.5], [5.0]])
    got = mine_hard_negatives([0], [1], corpus, n_negatives=3, metric="euclidean",
                              absolute_margin=1.0)
    np.testing.assert_array_equal(got, [[0, 1, 3]])
    empty = mine_hard_negatives([0], [3], corpus, n_negatives=1, metric="euclidean",
                                absolute_margin=10.0)
    assert empty.shape == (0, 3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_negatives=5), "`n_negatives`=5 is larger than the number of candidate rows "
                              "of `corpus`=4."),
        (dict(n_negatives=3, candidates=[1, 2]), "`n_negatives`=3 is larger than the number "
                                                 "of candidate rows of `corpus`=2."),
        (dict(n_negatives=0), "`n_negatives` must be an integer >= 1; got 0."),
        (dict(metric="dot"), "`metric` must be one of ['cosine', 'euclidean']; got 'dot'."),
        (dict(relative_margin=1.0), "`relative_margin` must be in [0, 1); got 1.0."),
        (dict(absolute_margin=np.nan), "`absolute_margin` must be a finite real number or "
                                       "None; got nan."),
        (dict(anchors=[0, 1]), "`anchors` and `positives` must have the same length; got 2 "
                               "and 1."),
        (dict(anchors=[0.5]), "`anchors` must hold integer row indices into `corpus`; got "
                              "dtype float64."),
        (dict(positives=[4]), "`positives` holds the index 4, out of range for `corpus` "
                              "with 4 rows."),
        (dict(anchors=[[0]]), "`anchors` must be a 1-D array of row indices into `corpus`; "
                              "got an array of shape (1, 1)."),
        (dict(anchors=[], positives=[]), "`anchors` and `positives` hold no pair."),
        (dict(exclude=[[1], [2]]), "`exclude` must hold one list of indices per row (1); "
                                   "got 2."),
        (dict(exclude=[[7]]), "`exclude` holds the index 7, out of range for 4 columns."),
    ],
)
def test_bad_input(kwargs, message):
    args = dict(anchors=[0], positives=[1], corpus=np.eye(4))
    args.update(kwargs)
    with pytest.raises(ValueError, match=re.escape(message)):
        mine_hard_negatives(args.pop("anchors"), args.pop("positives"), args.pop("corpus"),
                            **args)


def test_nan_in_corpus():
    corpus = np.eye(4)
    corpus[2, 1] = np.nan
    with pytest.raises(ValueError, match="Input corpus contains NaN"):
        mine_hard_negatives([0], [1], corpus)


def test_numpy_scalars_accepted():
    got = mine_hard_negatives(np.array([0]), np.array([1]), np.eye(4),
                              n_negatives=np.int64(2), absolute_margin=np.float32(0.0))
    assert got.shape == (2, 3)

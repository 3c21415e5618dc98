"""PairMetricLearner, tuple input and the CoSENT loss."""

import pickle
import re
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from skmetric import PairMetricLearner, StartingModelKeptWarning
from skmetric._pairs import _PairCriterion, pair_components, row_components
from skmetric._tuple_input import check_tuples
from skmetric.losses import LOSSES, CoSENTLoss, get_loss
from skmetric.metrics import recall_at_k

import _reference as ref

FAST = dict(max_epochs=5, hidden_sizes=(64,), random_state=0)


# ------------------------------------------------------------------ data
@pytest.fixture(scope="module")
def noisy_digits():
    """Digits with 32 loud noise features: raw neighbours are weak (R@1 ~0.19).

    Pairs and triplets are drawn from the labels, which the estimators
    never see.
    """
    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(0)
    X = np.hstack([X / 16.0, 1.5 * rng.normal(size=(len(X), 32))])
    X_tr, y_tr, X_te, y_te = X[:1000], y[:1000], X[1000:], y[1000:]
    a = rng.randint(len(X_tr), size=1500)
    p = np.array([rng.choice(np.flatnonzero(y_tr == y_tr[i])) for i in a])
    n = np.array([rng.choice(np.flatnonzero(y_tr != y_tr[i])) for i in a])
    return X_tr, y_tr, X_te, y_te, a, p, n


def _labelled(a, p, n):
    pairs = np.r_[np.stack([a, p], 1), np.stack([a, n], 1)]
    return pairs, np.r_[np.ones(len(a)), -np.ones(len(a))].astype(int)


# ---------------------------------------------------------------- CoSENT
def _cosent_reference(sim, scores, scale):
    """log(1 + sum over (k, l) with t_k > t_l of exp(scale (s_l - s_k))), in a loop."""
    terms = [0.0]
    for k in range(len(sim)):
        for l in range(len(sim)):
            if scores[k] > scores[l]:
                terms.append(scale * (sim[l] - sim[k]))
    return float(np.log(np.sum(np.exp(terms))))


def _cos(u, v):
    return float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))


@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-4), (torch.float64, 1e-10)])
def test_cosent_graded_matches_loop_reference(dtype, tol):
    g = torch.Generator().manual_seed(0)
    A, B = torch.randn(7, 5, generator=g), torch.randn(7, 5, generator=g)
    scores = torch.tensor([0.1, 0.5, 0.5, 0.9, 0.0, 1.0, 0.3])  # with a tie
    sim = [_cos(A[i].double().numpy(), B[i].double().numpy()) for i in range(7)]
    value = CoSENTLoss(scale=5.0).graded(A.to(dtype), B.to(dtype), scores)
    assert value.dtype == dtype
    assert abs(value.item() - _cosent_reference(sim, scores.numpy(), 5.0)) < tol


def test_cosent_class_labels_match_reference_over_unordered_pairs():
    g = torch.Generator().manual_seed(1)
    emb = torch.randn(6, 4, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 1, 2])
    sims, scores = [], []
    E = emb.detach().numpy()
    for i in range(6):
        for j in range(i + 1, 6):
            sims.append(_cos(E[i], E[j]))
            scores.append(float(labels[i] == labels[j]))
    value = CoSENTLoss(scale=3.0)(emb, labels)
    assert abs(value.item() - _cosent_reference(sims, scores, 3.0)) < 1e-10
    value.backward()
    assert torch.isfinite(emb.grad).all()


def test_cosent_index_pairs_equal_graded_on_the_same_pairs():
    g = torch.Generator().manual_seed(2)
    emb = torch.randn(8, 3, generator=g, dtype=torch.float64)
    a1, p = torch.tensor([0, 1, 2]), torch.tensor([4, 5, 6])
    a2, n = torch.tensor([3, 0]), torch.tensor([7, 6])
    loss = CoSENTLoss(scale=10.0)
    via_indices = loss(emb, torch.arange(8), (a1, p, a2, n))
    via_graded = loss.graded(
        emb[torch.cat([a1, a2])], emb[torch.cat([p, n])], torch.tensor([1.0, 1, 1, 0, 0])
    )
    torch.testing.assert_close(via_indices, via_graded)


def test_cosent_no_ranking_gives_zero_and_backward_runs():
    emb = torch.randn(4, 3, requires_grad=True)
    value = CoSENTLoss().graded(emb[:2], emb[2:], torch.tensor([0.5, 0.5]))
    value.backward()
    assert value.item() == 0.0 and (emb.grad == 0).all()
    assert CoSENTLoss()(torch.randn(3, 2), torch.tensor([0, 1, 2])).item() == 0.0


def test_cosent_registered_and_graded_shape_error():
    assert LOSSES["cosent"] is CoSENTLoss and get_loss("cosent", scale=5).scale == 5
    with pytest.raises(ValueError, match=re.escape("got (3, 2), (3, 2) and (2,)")):
        CoSENTLoss().graded(torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(2))


# ------------------------------------------------------------ tuple input
def test_pair_components_against_brute_force():
    ids = np.array([[0, 1], [2, 3], [1, 4], [5, 5], [3, 6], [7, 0]])
    got = pair_components(ids)
    # brute force: grow groups by repeated merging
    groups = [{int(a), int(b)} for a, b in ids]
    merged = True
    while merged:
        merged = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                if groups[i] & groups[j]:
                    groups[i] |= groups.pop(j)
                    merged = True
                    break
            if merged:
                break
    expected = [next(k for k, g in enumerate(groups) if a in g) for a, _ in ids]
    for i in range(len(ids)):
        for j in range(len(ids)):
            assert (got[i] == got[j]) == (expected[i] == expected[j])


def test_duplicate_rows_are_never_in_batch_negatives():
    # pairs 0 and 1 share their anchor row: with in-batch negatives their
    # positives must not push each other away
    criterion = _PairCriterion(get_loss("ntxent"), "positive")
    out = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    groups = torch.tensor(pair_components(np.array([[0, 1], [0, 2], [3, 4]])))
    assert groups[0] == groups[1] != groups[2]
    ours = criterion(out, groups)
    reference = get_loss("ntxent")(out, torch.tensor([0, 0, 1, 0, 0, 1]))
    torch.testing.assert_close(ours, reference)


def test_row_components_join_only_similar_pairs():
    # rows 0-1-2 are joined by similar pairs; the dissimilar pairs (3, 4) and
    # (0, 3) join nothing, so rows 3 and 4 are items of their own
    ids = np.array([[0, 1], [1, 2], [3, 4], [0, 3], [2, 2]])
    got = row_components(ids, np.array([True, True, False, False, True]))
    assert got.shape == (5, 2)
    item = {int(r): int(c) for r, c in zip(ids.ravel(), got.ravel())}
    assert item[0] == item[1] == item[2]
    assert len({item[0], item[3], item[4]}) == 3


def test_labelled_pairs_train_with_in_batch_negatives():
    # y rows are (label, item of the first row, item of the second row): two
    # similar pairs of one item and a dissimilar pair of two other items; every
    # row of the batch is a negative of the rows of other items
    y = torch.tensor([[1, 0, 0], [1, 0, 0], [0, 1, 2]])
    out = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    criterion = _PairCriterion(get_loss("ntxent", temperature=0.1), "binary", in_batch=True)
    labels = [0, 0, 1, 0, 0, 2]  # rows a0 a1 a2 b0 b1 b2
    expected = ref.ntxent(out, labels, temperature=0.1)
    torch.testing.assert_close(criterion(out, y), expected)
    # without in-batch negatives only the listed pairs count
    explicit = _PairCriterion(get_loss("ntxent", temperature=0.1), "binary")
    assert not torch.allclose(explicit(out, y), expected)


def test_equal_float_rows_share_a_group():
    X = np.random.RandomState(0).normal(size=(4, 3))
    pairs = np.stack([X[[0, 0, 2]], X[[1, 3, 3]]], axis=1)  # row 0 twice, row 3 twice
    from skmetric._tuple_input import row_ids

    assert np.unique(pair_components(row_ids(pairs, False))).size == 1


@pytest.mark.parametrize(
    "pairs, preprocessor, message",
    [
        (np.zeros((4, 3, 2)), None,
         "`pairs` must be an array of shape (n_pairs, 2, n_features) or of indices "
         "(n_pairs, 2) into `preprocessor`; got shape (4, 3, 2)."),
        (np.zeros(4), None, "got shape (4,)."),
        (np.zeros((4, 2), dtype=int), None,
         "`pairs` of shape (4, 2) are read as indices, but no `preprocessor` was given"),
        (np.array([[0, 1], [2, 5]]), np.zeros((5, 2)),
         "`pairs` holds index 5, out of range of `preprocessor` with 5 rows (valid "
         "indices are 0 to 4)."),
        (np.array([[0, -1]]), np.zeros((5, 2)), "`pairs` holds index -1"),
        (np.array([[0.0, 1.0]]), np.zeros((5, 2)),
         "Indices in `pairs` must be integers; got dtype float64."),
        (np.full((2, 2, 3), np.nan), None, "Input pairs contains NaN."),
        (np.zeros((0, 2, 3)), None, "`pairs` holds 0 pairs; at least 1 are needed."),
    ],
)
def test_check_tuples_errors(pairs, preprocessor, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check_tuples(pairs, tuple_size=2, name="pairs", preprocessor=preprocessor)


def test_fit_errors_name_the_problem():
    X = np.random.RandomState(0).normal(size=(10, 3))
    idx = np.array([[0, 1], [2, 3], [4, 5], [6, 7]])
    model = PairMetricLearner(preprocessor=X, **FAST)
    with pytest.raises(ValueError, match=re.escape("4 pairs but y of shape (3,)")):
        model.fit(idx, [1, -1, 1])
    with pytest.raises(ValueError, match=re.escape("got values from 0 to 3.")):
        model.fit(idx, [0, 1, 2, 3])
    with pytest.raises(ValueError, match="holds only the label 1: labelled pairs need both"):
        model.fit(idx, [1, 1, 1, 1])
    with pytest.raises(ValueError, match="In-batch negatives need pairs of at least 2"):
        model.fit(np.array([[0, 1], [1, 2], [2, 0]]))
    with pytest.raises(ValueError, match="at least 2 are needed"):
        model.fit(idx[:1])
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input preprocessor contains NaN"):
        PairMetricLearner(preprocessor=bad).fit(idx)
    with pytest.raises(ValueError, match="cannot learn from graded similarities"):
        PairMetricLearner(loss="contrastive", preprocessor=X).fit(idx, [0.1, 0.2, 0.9, 0.5])
    with pytest.raises(ValueError, match="learns one vector per class"):
        PairMetricLearner(loss="arcface", preprocessor=X).fit(idx)
    fitted = PairMetricLearner(**FAST).fit(X[idx])
    with pytest.raises(ValueError, match="`pairs` has 2 features, but this estimator was"):
        fitted.decision_function(np.zeros((2, 2, 2)))
    with pytest.raises(AttributeError, match="call calibrate_threshold"):
        fitted.predict(X[idx])
    fitted.fit(X[idx], [1, -1, 1, -1])
    assert hasattr(fitted, "threshold_")
    with pytest.raises(AttributeError, match="call calibrate_threshold"):
        fitted.fit(X[idx]).predict(X[idx])  # a refit without labels drops it


# ------------------------------------------------------- sklearn contract
def test_indices_and_rows_give_the_same_fit(noisy_digits):
    X_tr, _, X_te, _, a, p, _ = noisy_digits
    idx = np.stack([a, p], 1)[:400]
    by_index = PairMetricLearner(preprocessor=X_tr, **FAST).fit(idx)
    by_rows = PairMetricLearner(**FAST).fit(X_tr[idx])
    np.testing.assert_array_equal(by_index.transform(X_te), by_rows.transform(X_te))
    np.testing.assert_array_equal(
        by_index.decision_function(idx), by_rows.decision_function(X_tr[idx])
    )
    # a model fitted on indices also takes rows, and the reverse needs none
    np.testing.assert_array_equal(
        by_index.decision_function(X_tr[idx]), by_index.decision_function(idx)
    )
    assert not hasattr(by_index.module_, "table") or by_index.module_.table is None


def test_random_state_clone_pickle_params(noisy_digits):
    X_tr, _, X_te, _, a, p, n = noisy_digits
    pairs, y = _labelled(a[:300], p[:300], n[:300])
    model = PairMetricLearner(preprocessor=X_tr, **FAST)
    Z1 = model.fit(pairs, y).transform(X_te)
    Z2 = clone(model).fit(pairs, y).transform(X_te)
    np.testing.assert_array_equal(Z1, Z2)
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.transform(X_te), Z1)
    np.testing.assert_array_equal(loaded.predict(pairs), model.predict(pairs))
    assert model.get_params()["shared"] is True
    model.set_params(loss="cosent", loss__scale=10.0)
    assert model.loss.scale == 10.0
    assert model.set_output(transform="pandas").transform(X_te[:3]).shape == (3, 96)


def test_grid_search_over_labelled_pairs(noisy_digits):
    X_tr, _, _, _, a, p, n = noisy_digits
    pairs, y = _labelled(a[:200], p[:200], n[:200])
    search = GridSearchCV(
        PairMetricLearner(preprocessor=X_tr, max_epochs=2, hidden_sizes=(16,), random_state=0),
        {"lr": [1e-3, 3e-3]}, cv=StratifiedKFold(2),
    ).fit(pairs, y)
    assert 0.5 < search.best_score_ <= 1.0


def test_score_is_roc_auc_and_recall(noisy_digits):
    X_tr, _, _, _, a, p, n = noisy_digits
    pairs, y = _labelled(a[:300], p[:300], n[:300])
    model = PairMetricLearner(preprocessor=X_tr, **FAST).fit(pairs, y)
    s = model.decision_function(pairs)
    assert model.score(pairs, y) == pytest.approx(roc_auc_score(y, s))
    # y=None: share of anchors whose own positive is the nearest positive of
    # another group (brute force)
    pos = np.stack([a[:300], p[:300]], 1)
    A, B = model.transform(X_tr[pos[:, 0]]), model.transform(X_tr[pos[:, 1]])
    g = pair_components(pos)
    D = ((A[:, None].astype(float) - B[None].astype(float)) ** 2).sum(-1)
    hits = [D[i, i] < D[i, g != g[i]].min() for i in range(len(pos)) if (g != g[i]).any()]
    assert model.score(pos) == pytest.approx(np.mean(hits))


# ----------------------------------------------------- threshold calibration
def _rates(pred, y):
    tp = np.sum((pred == 1) & (y == 1))
    tn = np.sum((pred == -1) & (y == -1))
    return tp, tn, np.sum(y == 1), np.sum(y == -1)


def _metric(strategy, pred, y, beta=1.0, min_rate=None):
    tp, tn, P, N = _rates(pred, y)
    fp, fn = N - tn, P - tp
    if strategy == "accuracy":
        return (tp + tn) / (P + N)
    if strategy == "f_beta":
        d = (1 + beta**2) * tp + beta**2 * fn + fp
        return (1 + beta**2) * tp / d if d else 0.0
    if strategy == "max_tpr":
        return tp / P if tn / N >= min_rate else -1
    return tn / N if tp / P >= min_rate else -1


@pytest.mark.parametrize(
    "strategy, kwargs",
    [("accuracy", {}), ("f_beta", {"beta": 2.0}), ("max_tpr", {"min_rate": 0.8}),
     ("max_tnr", {"min_rate": 0.9})],
)
def test_calibrate_threshold_is_optimal_by_brute_force(noisy_digits, strategy, kwargs):
    X_tr, _, _, _, a, p, n = noisy_digits
    pairs, y = _labelled(a[:150], p[:150], n[:150])
    model = PairMetricLearner(preprocessor=X_tr, max_epochs=1, hidden_sizes=(8,),
                              random_state=0).fit(pairs, y)
    model.calibrate_threshold(pairs, y, strategy=strategy, **kwargs)
    got = _metric(strategy, model.predict(pairs), y, **kwargs)
    s = model.decision_function(pairs)
    best = max(
        _metric(strategy, np.where(s >= t, 1, -1), y, **kwargs)
        for t in np.r_[np.unique(s), np.inf]
    )
    assert got == pytest.approx(best)
    # {1, 0} labels mean the same
    model2 = clone(model).fit(pairs, y)
    model2.calibrate_threshold(pairs, (y > 0).astype(int), strategy=strategy, **kwargs)
    assert model2.threshold_ == model.threshold_


def test_calibrate_threshold_errors(noisy_digits):
    X_tr, _, _, _, a, p, n = noisy_digits
    pairs, y = _labelled(a[:50], p[:50], n[:50])
    model = PairMetricLearner(preprocessor=X_tr, max_epochs=1, hidden_sizes=(8,)).fit(pairs, y)
    with pytest.raises(ValueError, match=re.escape("`strategy` must be one of ['accuracy'")):
        model.calibrate_threshold(pairs, y, strategy="best")
    with pytest.raises(ValueError, match=re.escape("strategy='max_tpr' needs `min_rate` in [0, 1]; got None.")):
        model.calibrate_threshold(pairs, y, strategy="max_tpr")
    with pytest.raises(ValueError, match="`beta` must be positive; got 0"):
        model.calibrate_threshold(pairs, y, strategy="f_beta", beta=0)


# -------------------------------------------------------------- quality
def _control(X_tr, pairs, y=None):
    """lr ~ 0: the untrained network, which must rank as the raw features do."""
    return PairMetricLearner(preprocessor=X_tr, lr=1e-12, validation_fraction=None,
                             **FAST).fit(pairs, y)


def test_positive_pairs_beat_raw_and_untrained(noisy_digits):
    X_tr, _, X_te, y_te, a, p, _ = noisy_digits
    pairs = np.stack([a, p], 1)
    raw = recall_at_k(X_te, y_te, k=1)
    model = PairMetricLearner(preprocessor=X_tr, **FAST).fit(pairs)
    control = recall_at_k(_control(X_tr, pairs).transform(X_te), y_te, k=1)
    fitted = recall_at_k(model.transform(X_te), y_te, k=1)
    assert raw < 0.25 and abs(control - raw) < 0.05
    assert fitted > raw + 0.3
    assert model.best_score_ > model.baseline_score_


def test_labelled_and_graded_pairs_beat_raw(noisy_digits):
    X_tr, _, X_te, y_te, a, p, n = noisy_digits
    pairs, y = _labelled(a, p, n)
    raw = recall_at_k(X_te, y_te, k=1)
    model = PairMetricLearner(preprocessor=X_tr, **FAST).fit(pairs, y)
    assert recall_at_k(model.transform(X_te), y_te, k=1) > raw + 0.2
    graded = np.where(y > 0, 0.9, 0.1) + 0.05 * np.random.RandomState(0).rand(len(y))
    model = PairMetricLearner(preprocessor=X_tr, **FAST).fit(pairs, graded)
    assert model.fit_mode_ == "graded"
    assert recall_at_k(model.transform(X_te), y_te, k=1) > raw + 0.2


def test_query_adapter_keeps_corpus_fixed(noisy_digits):
    X_tr, y_tr, X_te, y_te, a, p, _ = noisy_digits
    pairs = np.stack([a, p], 1)
    model = PairMetricLearner(preprocessor=X_tr, shared=False, **FAST).fit(pairs)
    control = _control(X_tr, pairs)
    # the corpus side is the starting map: equal to the untrained model's
    np.testing.assert_allclose(
        model.transform(X_te, side="corpus"), control.transform(X_te), atol=1e-5
    )
    # queries mapped by the adapter find same-class corpus rows better than raw
    from skmetric.neighbors import kneighbors

    def r1(Q, C):
        _, i = kneighbors(Q, C, n_neighbors=1)
        return np.mean(y_tr[i[:, 0]] == y_te)

    raw = r1(X_te, X_tr)
    adapted = r1(model.transform(X_te), model.transform(X_tr, side="corpus"))
    assert adapted > raw + 0.2
    with pytest.raises(ValueError, match="`side` must be 'query' or 'corpus'; got 'doc'."):
        model.transform(X_te, side="doc")


def test_warns_when_the_starting_embedding_is_kept(noisy_digits):
    X_tr, _, _, _, a, p, _ = noisy_digits
    with pytest.warns(StartingModelKeptWarning, match="the starting embedding was kept"):
        model = PairMetricLearner(preprocessor=X_tr, lr=1e-12, **FAST).fit(np.stack([a, p], 1))
    assert model.best_epoch_ == 0 and model.best_score_ == model.baseline_score_
    with warnings.catch_warnings():
        warnings.simplefilter("error", StartingModelKeptWarning)
        PairMetricLearner(preprocessor=X_tr, **FAST).fit(np.stack([a, p], 1))


def test_labelled_pairs_loss_auto_and_its_fallback():
    X = np.random.RandomState(0).normal(size=(8, 3))
    kw = dict(preprocessor=X, max_epochs=1, hidden_sizes=(8,), validation_fraction=None,
              random_state=0)
    # similar pairs (0, 1), (2, 3): two items, the rows of the dissimilar
    # pair (4, 5) two more -> NT-Xent with in-batch negatives
    pairs = np.array([[0, 1], [2, 3], [4, 5], [0, 2]])
    model = PairMetricLearner(**kw).fit(pairs, [1, 1, -1, -1])
    assert type(model.loss_).__name__ == "NTXentLoss" and model.loss_.temperature == 0.05
    # a chain of similar pairs joins every row into one item: no in-batch
    # negative exists, so the labelled pairs go to CoSENT
    chain = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [0, 2]])
    model = PairMetricLearner(**kw).fit(chain, [1, 1, 1, -1, -1])
    assert isinstance(model.loss_, CoSENTLoss)

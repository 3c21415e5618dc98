"""TLDR and the Barlow Twins loss."""

import pickle
import re

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.random_projection import GaussianRandomProjection
from sklearn.preprocessing import StandardScaler

from skmetric import TLDR
from skmetric._tldr import _NeighbourPairSampler
from skmetric.losses import BarlowTwinsLoss, get_loss
from skmetric.metrics import recall_at_k
from skmetric.neighbors import kneighbors


# ---------------------------------------------------------------- loss reference

def _barlow_reference(emb, labels, lam, scale=1.0, eps=1e-5):
    """Loop-written Barlow Twins: pair the samples of each label in batch order."""
    emb = emb.tolist()
    labels = [int(v) for v in labels]
    a_rows, b_rows = [], []
    for lab in sorted(set(labels)):
        members = [i for i, v in enumerate(labels) if v == lab]
        for j in range(0, len(members) - 1, 2):
            a_rows.append(emb[members[j]])
            b_rows.append(emb[members[j + 1]])
    n, d = len(a_rows), len(emb[0])
    if n == 0:
        return 0.0

    def standardize(rows):
        out = [[0.0] * d for _ in range(n)]
        for k in range(d):
            mean = sum(r[k] for r in rows) / n
            var = sum((r[k] - mean) ** 2 for r in rows) / n
            for i in range(n):
                out[i][k] = (rows[i][k] - mean) / (var + eps) ** 0.5
        return out

    a, b = standardize(a_rows), standardize(b_rows)
    total = 0.0
    for j in range(d):
        for k in range(d):
            c = sum(a[i][j] * b[i][k] for i in range(n)) / n
            total += (1 - c) ** 2 if j == k else lam * c**2
    return scale * total


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-10), (torch.float32, 1e-4)])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "labels",
    [
        [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5],  # anchors then partners
        [3, 3, 1, 1, 7, 7, 2, 2],  # pairs side by side, labels unsorted
        [0, 0, 0, 1, 1, 2, 2, 2, 2, 5],  # odd ones out and a singleton
    ],
)
def test_barlow_twins_matches_loop_reference(labels, seed, dtype, tol):
    g = torch.Generator().manual_seed(seed)
    emb = torch.randn(len(labels), 5, generator=g, dtype=torch.float64)
    loss = BarlowTwinsLoss(off_diagonal_weight=0.3, scale=0.5)
    got = loss(emb.to(dtype), torch.tensor(labels)).item()
    want = _barlow_reference(emb, labels, 0.3, scale=0.5)
    assert got == pytest.approx(want, rel=tol, abs=tol)


def test_barlow_twins_indices_tuple_uses_its_positive_pairs():
    g = torch.Generator().manual_seed(0)
    emb = torch.randn(8, 4, generator=g, dtype=torch.float64)
    a, p = torch.tensor([0, 2, 4, 5]), torch.tensor([1, 3, 7, 6])  # a before p
    empty = torch.empty(0, dtype=torch.long)
    loss = BarlowTwinsLoss()
    got = loss(emb, torch.zeros(8, dtype=torch.long), (a, p, empty, empty))
    # the same pairs given by labels
    labels = torch.empty(8, dtype=torch.long)
    labels[a] = torch.arange(4)
    labels[p] = torch.arange(4)
    assert got.item() == pytest.approx(loss(emb, labels).item(), rel=1e-12)


def test_barlow_twins_known_values():
    # four pairs whose standardised views are uncorrelated and unit-variance:
    # C = I for identical views (loss 0) and C = -I for opposite ones
    a = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]], dtype=torch.float64)
    labels = torch.arange(4).repeat(2)
    loss = BarlowTwinsLoss(off_diagonal_weight=1.0, eps=0.0)
    assert loss(torch.cat([a, a]), labels).item() == pytest.approx(0.0, abs=1e-12)
    assert loss(torch.cat([a, -a]), labels).item() == pytest.approx(8.0, abs=1e-12)
    # a correlated second view: only the off-diagonal weight changes the value
    b = torch.stack([a[:, 0], a[:, 0]], dim=1)
    l1 = BarlowTwinsLoss(off_diagonal_weight=0.0, eps=0.0)(torch.cat([a, b]), labels)
    l2 = BarlowTwinsLoss(off_diagonal_weight=2.0, eps=0.0)(torch.cat([a, b]), labels)
    # C = [[1, 1], [0, 0]]: on-diagonal (1-1)^2 + (1-0)^2 = 1, off-diagonal 1
    assert l1.item() == pytest.approx(1.0, abs=1e-12)
    assert l2.item() == pytest.approx(3.0, abs=1e-12)


def test_barlow_twins_gradcheck():
    g = torch.Generator().manual_seed(0)
    emb = torch.randn(10, 3, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 3, 4, 0, 1, 2, 3, 4])
    loss = BarlowTwinsLoss(off_diagonal_weight=0.5)
    assert torch.autograd.gradcheck(lambda x: loss(x, labels), (emb,))


def test_barlow_twins_without_pairs_is_zero_and_backward_runs():
    emb = torch.randn(4, 3, requires_grad=True)
    value = BarlowTwinsLoss()(emb, torch.tensor([0, 1, 2, 3]))
    value.backward()
    assert value.item() == 0.0 and (emb.grad == 0).all()


def test_barlow_twins_registered():
    loss = get_loss("barlow_twins", off_diagonal_weight=0.1)
    assert isinstance(loss, BarlowTwinsLoss) and loss.off_diagonal_weight == 0.1


# ---------------------------------------------------------------- sampler

def test_neighbour_pair_sampler_pairs_anchors_with_their_neighbours():
    X = np.random.RandomState(0).normal(size=(50, 3))
    _, nbrs = kneighbors(X, n_neighbors=4)
    sampler = _NeighbourPairSampler(nbrs, 16, generator=torch.Generator().manual_seed(0))
    batches = list(sampler)
    assert len(batches) == len(sampler) == 3  # the incomplete last batch is dropped
    anchors = torch.cat([b[:16] for b in batches]).numpy()
    assert len(set(anchors.tolist())) == 48  # each sample at most once per epoch
    for b in batches:
        a, p = b[:16].numpy(), b[16:].numpy()
        assert all(p[i] in nbrs[a[i]] for i in range(16))


# ---------------------------------------------------------------- estimator

@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    scaler = StandardScaler().fit(X[:1200])
    return scaler.transform(X[:1200]), scaler.transform(X[1200:]), y[:1200], y[1200:]


def _recall(model_tr, model_te, y_tr, y_te):
    return recall_at_k(model_te, y_te, k=1, X_ref=model_tr, labels_ref=y_tr)


def test_tldr_beats_a_random_projection(digits):
    X_tr, X_te, y_tr, y_te = digits
    tldr = TLDR(n_components=8, max_epochs=5, random_state=0).fit(X_tr)
    r_tldr = _recall(tldr.transform(X_tr), tldr.transform(X_te), y_tr, y_te)
    rp = GaussianRandomProjection(8, random_state=0).fit(X_tr)
    r_rp = _recall(rp.transform(X_tr), rp.transform(X_te), y_tr, y_te)
    assert r_tldr > r_rp + 0.1  # measured: 0.889 vs 0.626


def test_tldr_random_init_learns(digits):
    # from a random linear map, training must beat that same untrained map
    X_tr, X_te, y_tr, y_te = digits
    params = dict(n_components=8, init="random", random_state=0)
    untrained = TLDR(lr=1e-9, max_epochs=1, **params).fit(X_tr)
    tldr = TLDR(max_epochs=10, **params).fit(X_tr)
    r0 = _recall(untrained.transform(X_tr), untrained.transform(X_te), y_tr, y_te)
    r1 = _recall(tldr.transform(X_tr), tldr.transform(X_te), y_tr, y_te)
    assert r1 > r0 + 0.1  # measured: 0.826 vs 0.680


@pytest.mark.slow
@pytest.mark.parametrize(
    "space, margin",
    [("pca_whitened", 0.01), ("input", 0.02)],  # measured: 0.894, 0.915 vs PCA 0.881
)
def test_tldr_beats_pca_on_digits(digits, space, margin):
    X_tr, X_te, y_tr, y_te = digits
    tldr = TLDR(n_components=8, neighbor_space=space, max_epochs=30, random_state=0).fit(X_tr)
    r_tldr = _recall(tldr.transform(X_tr), tldr.transform(X_te), y_tr, y_te)
    pca = PCA(8).fit(X_tr)
    r_pca = _recall(pca.transform(X_tr), pca.transform(X_te), y_tr, y_te)
    assert r_tldr > r_pca + margin


def test_untrained_tldr_is_pca(digits):
    X_tr, X_te, _, _ = digits
    tldr = TLDR(n_components=5, lr=1e-12, max_epochs=1, random_state=0).fit(X_tr)
    pca = PCA(5).fit(X_tr)
    Z, P = tldr.transform(X_te), pca.transform(X_te)
    np.testing.assert_allclose(np.abs(Z), np.abs(P), atol=1e-4)


@pytest.mark.parametrize("space", ["pca_whitened", "pca", "input"])
def test_neighbour_space_is_pca_whitened_pca_or_input(digits, space):
    # the kNN graph of the positives against the same kNN of sklearn's spaces
    X = digits[0][:300]
    tldr = TLDR(n_components=6, neighbor_space=space, max_epochs=1, random_state=0)
    mean = X.mean(axis=0)
    sv, vt = np.linalg.svd(X - mean, full_matrices=False)[1:]
    got = tldr._neighbour_space(X, mean, sv, vt, 6)
    want = {
        "pca_whitened": PCA(6, whiten=True).fit_transform(X),
        "pca": PCA(6).fit_transform(X),
        "input": X,
    }[space]
    np.testing.assert_array_equal(kneighbors(got, n_neighbors=5)[1],
                                  kneighbors(want, n_neighbors=5)[1])
    if space != "input":  # whitened and plain PCA spaces differ
        other = PCA(6, whiten=space == "pca").fit_transform(X)
        differ = kneighbors(got, n_neighbors=5)[1] != kneighbors(other, n_neighbors=5)[1]
        assert differ.mean() > 0.3


def test_neighbor_space_changes_the_fit(digits):
    X_tr = digits[0][:300]
    Z = [TLDR(n_components=6, neighbor_space=s, max_epochs=3, random_state=0).fit(X_tr)
         .transform(X_tr) for s in ("pca_whitened", "pca", "input")]
    assert not np.allclose(Z[0], Z[1]) and not np.allclose(Z[1], Z[2])


def test_fit_transform_shapes_names_and_set_output(digits):
    X_tr, X_te, _, _ = digits
    tldr = TLDR(n_components=3, max_epochs=1, random_state=0)
    Z = tldr.fit_transform(X_tr[:100])
    assert Z.shape == (100, 3) and Z.dtype == np.float64
    assert tldr.n_components_ == 3 and tldr.n_features_in_ == 64
    assert list(tldr.get_feature_names_out()) == ["tldr0", "tldr1", "tldr2"]
    assert isinstance(tldr.loss_, BarlowTwinsLoss)
    assert tldr.loss_.off_diagonal_weight == pytest.approx(1 / 128)
    pd = pytest.importorskip("pandas")
    out = tldr.set_output(transform="pandas").transform(X_te[:4])
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["tldr0", "tldr1", "tldr2"]
    assert TLDR(max_epochs=1).fit(X_tr[:40, :10]).n_components_ == 10  # min(n_features, 32)


def test_y_is_ignored_and_refits_are_bit_identical(digits):
    X_tr, _, y_tr, _ = digits
    params = dict(n_components=4, max_epochs=2, random_state=3)
    a = TLDR(**params).fit(X_tr[:300]).transform(X_tr[:50])
    b = TLDR(**params).fit(X_tr[:300], y_tr[:300]).transform(X_tr[:50])
    np.testing.assert_array_equal(a, b)
    c = TLDR(**{**params, "random_state": 4}).fit(X_tr[:300]).transform(X_tr[:50])
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(encoder="mlp", hidden_sizes=(32,), n_components=80),  # wider than the input
        dict(encoder=torch.nn.Linear(64, 6)),
        dict(projector_sizes=None),
        dict(off_diagonal_weight=0.0),
    ],
)
def test_encoders_and_projectors(digits, kwargs):
    X_tr, _, _, _ = digits
    tldr = TLDR(max_epochs=2, random_state=0, **kwargs).fit(X_tr[:200])
    expected = kwargs.get("n_components", 6 if "encoder" in kwargs else 32)
    assert tldr.transform(X_tr[:7]).shape == (7, expected)
    assert np.isfinite(tldr.history_[:, "train_loss"]).all()


def test_pipeline_clone_pickle_and_grid_search(digits):
    X_tr, X_te, y_tr, y_te = digits
    pipe = make_pipeline(TLDR(n_components=8, max_epochs=3, random_state=0), KNeighborsClassifier())
    assert pipe.fit(X_tr, y_tr).score(X_te, y_te) > 0.85
    tldr = pipe[0]
    again = pickle.loads(pickle.dumps(tldr))
    np.testing.assert_array_equal(again.transform(X_te), tldr.transform(X_te))
    fresh = clone(tldr)
    assert not hasattr(fresh, "module_") and fresh.get_params() == tldr.get_params()
    search = GridSearchCV(
        make_pipeline(TLDR(max_epochs=1, random_state=0), KNeighborsClassifier()),
        {"tldr__n_components": [2, 6]}, cv=2,
    ).fit(X_tr[:300], y_tr[:300])
    assert search.best_params_ == {"tldr__n_components": 6}


def test_numpy_scalar_parameters(digits):
    X_tr, _, _, _ = digits
    tldr = TLDR(n_components=np.int64(3), n_neighbors=np.int32(4), lr=np.float32(1e-3),
                max_epochs=np.int64(1), random_state=0).fit(X_tr[:60])
    assert tldr.transform(X_tr[:2]).shape == (2, 3)


@pytest.mark.parametrize(
    "kwargs, n, message",
    [
        (dict(n_neighbors=5), 5,
         "`n_neighbors` must be smaller than the number of samples; got n_neighbors=5 "
         "with n_samples=5."),
        (dict(n_components=9), 20,
         "`n_components` must be at most n_features=8 with the linear encoder; got "
         "n_components=9."),
        (dict(projector_sizes=(16, 0)), 20,
         "`projector_sizes` must hold positive integers; got (16, 0)."),
        (dict(encoder="mlp", hidden_sizes=(8.5,)), 20,
         "`hidden_sizes` must hold positive integers; got (8.5,)."),
        (dict(encoder="pca"), 20, "The 'encoder' parameter of TLDR must be"),
        (dict(n_neighbors=0), 20, "The 'n_neighbors' parameter of TLDR must be"),
        (dict(neighbor_space="raw"), 20, "The 'neighbor_space' parameter of TLDR must be"),
    ],
)
def test_bad_parameters(kwargs, n, message):
    X = np.random.RandomState(0).normal(size=(n, 8))
    with pytest.raises(ValueError, match=re.escape(message)):
        TLDR(max_epochs=1, **kwargs).fit(X)


def test_nan_input_is_rejected():
    X = np.random.RandomState(0).normal(size=(20, 4))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        TLDR(max_epochs=1).fit(X)


def test_whitened_neighbour_space_ignores_axes_beyond_the_rank():
    # rank-2 data in 5 features: whitening must not turn round-off into 3 more axes
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 2)) @ rng.normal(size=(2, 5))
    mean = X.mean(axis=0)
    sv, vt = np.linalg.svd(X - mean, full_matrices=False)[1:]
    Z = TLDR(neighbor_space="pca_whitened")._neighbour_space(X, mean, sv, vt, 5)
    np.testing.assert_array_equal(Z[:, 2:], 0.0)
    np.testing.assert_allclose(np.abs(Z[:, :2]),  # axes up to sign
                               np.abs(PCA(2, whiten=True).fit_transform(X)) / np.sqrt(39),
                               atol=1e-10)
    Z_all = TLDR(n_components=5, max_epochs=1, random_state=0).fit_transform(X)
    assert Z_all.shape == (40, 5) and np.isfinite(Z_all).all()

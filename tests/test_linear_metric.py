"""``MetricLearner(module="linear")``: a learned Mahalanobis metric (NCA's niche).

Quality is checked on iris with 20 pure-noise features added, where raw
features are weak: the learned map must beat raw kNN (which is also the
starting embedding: the map starts at a scaled identity) by a clear margin
and reach scikit-learn's ``NeighborhoodComponentsAnalysis``.
"""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_iris, load_wine
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KNeighborsClassifier, NeighborhoodComponentsAnalysis
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import skmetric._metric_learner as ml_module
from skmetric._training._lbfgsb import LBFGSB
from skmetric import MetricLearner
from skmetric.losses import NCALoss


N_INFORMATIVE = 4


@pytest.fixture(scope="module")
def noisy_iris():
    """Iris + 20 noise features, 70/30 stratified split, standardised on train."""
    X, y = load_iris(return_X_y=True)
    rng = np.random.RandomState(0)
    X = np.hstack([X, rng.normal(size=(X.shape[0], 20))])
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y,
                                              random_state=0)
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


def _knn(Z_tr, y_tr, Z_te, y_te):
    return KNeighborsClassifier(n_neighbors=5).fit(Z_tr, y_tr).score(Z_te, y_te)


def _knn_of(model, X_tr, X_te, y_tr, y_te):
    return _knn(model.transform(X_tr), y_tr, model.transform(X_te), y_te)


def test_linear_module_trains_nca_with_lbfgs_by_default(noisy_iris, monkeypatch):
    X_tr, _, y_tr, _ = noisy_iris
    est = MetricLearner(module="linear", random_state=0).fit(X_tr, y_tr)
    assert isinstance(est.loss_, NCALoss)
    # all rows in one batch: SciPy's L-BFGS-B, one epoch
    assert isinstance(est.net_.optimizer_, LBFGSB)
    group = est.net_.optimizer_.param_groups[0]
    assert group["lr"] == 1.0 and group["max_iter"] == 15
    assert group["tolerance_change"] == 1e-3
    assert est.n_epochs_ == 1
    assert [len(h["batches"]) for h in est.history_[1:]] == [1]
    assert est.history_[1]["batches"][0]["train_batch_size"] == len(X_tr)
    # more rows than one batch: torch's L-BFGS, 3 epochs of shuffled batches
    monkeypatch.setattr(ml_module, "_LBFGS_MAX_BATCH", 60)
    est = MetricLearner(module="linear", random_state=0).fit(X_tr, y_tr)
    assert isinstance(est.net_.optimizer_, torch.optim.LBFGS)
    group = est.net_.optimizer_.param_groups[0]
    assert group["lr"] == 1.0 and group["line_search_fn"] == "strong_wolfe"
    assert est.n_epochs_ == 3
    assert [len(h["batches"]) for h in est.history_[1:]] == [2, 2, 2]
    # "auto" is resolved in fit, never written back
    params = est.get_params()
    for name in ("loss", "optimizer", "lr", "weight_decay", "batch_size", "max_epochs",
                 "lr_schedule"):
        assert params[name] == "auto"


def test_mlp_module_keeps_its_defaults(noisy_iris):
    X_tr, _, y_tr, _ = noisy_iris
    est = MetricLearner(max_epochs=1, hidden_sizes=(8,), random_state=0).fit(X_tr, y_tr)
    assert type(est.loss_).__name__ == "NormalizedSoftmaxLoss"
    assert isinstance(est.net_.optimizer_, torch.optim.AdamW)
    group = est.net_.optimizer_.param_groups[0]
    assert group["weight_decay"] == 1e-4
    assert est.history_[1]["batches"][0]["train_batch_size"] == min(256, len(X_tr))


def test_linear_beats_raw_and_reaches_nca(noisy_iris):
    X_tr, X_te, y_tr, y_te = noisy_iris
    raw = _knn(X_tr, y_tr, X_te, y_te)
    nca = NeighborhoodComponentsAnalysis(random_state=0).fit(X_tr, y_tr)
    nca_acc = _knn_of(nca, X_tr, X_te, y_tr, y_te)
    est = MetricLearner(module="linear", random_state=0).fit(X_tr, y_tr)
    acc = _knn_of(est, X_tr, X_te, y_tr, y_te)
    assert raw < 0.8  # the noise makes raw features weak here
    assert acc >= raw + 0.1
    assert acc >= nca_acc


def _start_map(X_tr):
    """The map the linear module starts from: the identity over the root of
    the total variance (``initial_projection``)."""
    d = X_tr.shape[1]
    return np.eye(d) / np.sqrt(X_tr.var(axis=0).sum())


def test_learned_map_moves_away_from_its_start(noisy_iris):
    X_tr, _, y_tr, _ = noisy_iris
    est = MetricLearner(module="linear", random_state=0).fit(X_tr, y_tr)
    W = est.module_.skip.weight.detach().double().numpy()
    W0 = _start_map(X_tr)
    assert np.linalg.norm(W - W0) > 0.5 * np.linalg.norm(W0)
    # the noise features are shrunk relative to the informative ones
    col_norms = np.linalg.norm(W, axis=0)
    assert col_norms[N_INFORMATIVE:].mean() < 0.5 * col_norms[:N_INFORMATIVE].mean()


def test_lbfgs_fit_is_bit_identical_with_random_state(noisy_iris):
    X_tr, X_te, y_tr, _ = noisy_iris
    a = MetricLearner(module="linear", random_state=3).fit(X_tr, y_tr).transform(X_te)
    b = MetricLearner(module="linear", random_state=3).fit(X_tr, y_tr).transform(X_te)
    assert np.array_equal(a, b)


@pytest.mark.slow
def test_large_data_trains_in_batches(noisy_iris, monkeypatch):
    X_tr, X_te, y_tr, y_te = noisy_iris
    monkeypatch.setattr(ml_module, "_LBFGS_MAX_BATCH", 35)
    est = MetricLearner(module="linear", random_state=0).fit(X_tr, y_tr)
    sizes = [b["train_batch_size"] for b in est.history_[1]["batches"]]
    assert sizes == [35, 35, 35]
    # the NCA loss over all training rows drops well below the start's
    nca = NCALoss()
    y_t = torch.as_tensor(y_tr)
    trained = nca(torch.as_tensor(est.transform(X_tr)), y_t).item()
    start = nca(torch.as_tensor(X_tr @ _start_map(X_tr).T, dtype=torch.float32), y_t).item()
    assert trained < 0.5 * start


def test_linear_with_validation_keeps_best_epoch(noisy_iris):
    X_tr, _, y_tr, _ = noisy_iris
    est = MetricLearner(module="linear", validation_fraction=0.3, random_state=0)
    est.fit(X_tr, y_tr)
    scores = [h["valid_score"] for h in est.history_]
    assert est.best_score_ == max(scores) == scores[est.best_epoch_]
    assert est.best_score_ > est.baseline_score_


def test_lbfgs_rejects_weight_decay():
    X, y = load_wine(return_X_y=True)
    with pytest.raises(ValueError, match="takes no weight_decay"):
        MetricLearner(module="linear", weight_decay=1e-3).fit(X, y)
    # explicit, by name: the same
    with pytest.raises(ValueError, match="weight_decay=0"):
        MetricLearner(optimizer="lbfgs", weight_decay=1e-4, max_epochs=1).fit(X, y)


def test_explicit_settings_override_auto(noisy_iris):
    X_tr, _, y_tr, _ = noisy_iris
    est = MetricLearner(module="linear", optimizer="adam", lr=1e-2, max_epochs=2,
                        batch_size=32, loss="multi_similarity", random_state=0)
    est.fit(X_tr, y_tr)
    assert isinstance(est.net_.optimizer_, torch.optim.Adam)
    assert est.net_.optimizer_.param_groups[0]["weight_decay"] == 1e-4
    assert est.n_epochs_ == 2
    assert type(est.loss_).__name__ == "MultiSimilarityLoss"


@pytest.mark.slow
def test_nested_loss_params_with_auto_loss(noisy_iris):
    est = MetricLearner(module="linear").set_params(loss__temperature=2.0)
    assert isinstance(est.loss, NCALoss) and est.loss.temperature == 2.0
    est = MetricLearner().set_params(module="linear", loss__squared=False)
    assert isinstance(est.loss, NCALoss) and est.loss.squared is False
    assert clone(MetricLearner(module="linear")).get_params()["loss"] == "auto"
    X_tr, _, y_tr, _ = noisy_iris
    search = GridSearchCV(MetricLearner(module="linear", random_state=0),
                          {"loss__temperature": [0.5, 2.0]}, cv=2).fit(X_tr, y_tr)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    fitted = clone(search.estimator).set_params(loss__temperature=0.5).fit(X_tr, y_tr)
    assert fitted.loss_.temperature == 0.5


@parametrize_with_checks([MetricLearner(module="linear", max_epochs=1, random_state=0)])
def test_sklearn_compatible_linear(estimator, check):
    check(estimator)


# ------------------------------------------------- the cost of one evaluation

def _nca_by_autograd(emb, labels, weights, temperature=1.0):
    """NCA written with masked log-sum-exps and autograd (the loop-free reference)."""
    d = torch.cdist(emb, emb) ** 2
    logits = -d / temperature
    n = len(labels)
    eye = torch.eye(n, dtype=torch.bool)
    pos = (labels[:, None] == labels[None, :]) & ~eye
    lse_all = torch.logsumexp(logits.masked_fill(eye, -torch.inf), 1)
    lse_pos = torch.logsumexp(logits.masked_fill(~pos, -torch.inf), 1)
    has = pos.any(1)
    rows = torch.where(has, lse_all - lse_pos, torch.zeros_like(lse_all))
    return (rows * weights * has).sum() / has.sum()


@pytest.mark.parametrize("spread", [1.0, 20.0])  # 20: positives far beyond exp's range
def test_nca_written_out_gradient_matches_autograd_with_miner_weights(spread):
    from skmetric.miners import get_miner

    g = torch.Generator().manual_seed(0)
    emb = torch.randn(30, 5, generator=g, dtype=torch.float64) * spread
    labels = torch.randint(0, 4, (30,), generator=g)
    labels[7] = 11  # an anchor without a positive: left out
    miner = get_miner("multi_similarity")
    indices = miner(emb, labels)
    counts = torch.bincount(torch.cat(list(indices)), minlength=30).double()
    assert 0 < counts.min() < counts.max()  # the weights are not all equal
    e1 = emb.clone().requires_grad_(True)
    e2 = emb.clone().requires_grad_(True)
    value = NCALoss(temperature=0.7)(e1, labels, indices)
    expected = _nca_by_autograd(e2, labels, counts / counts.max(), temperature=0.7)
    value.backward()
    expected.backward()
    assert expected.item() > (100 if spread > 1 else 0.1)
    torch.testing.assert_close(value, expected, rtol=1e-10, atol=0)
    torch.testing.assert_close(e1.grad, e2.grad, rtol=1e-8, atol=1e-12)


def test_seeded_draws_as_torch_manual_seed():
    from skmetric._training._engine import seeded

    with seeded(123):
        ours = (torch.rand(5), torch.randn(3, 2), torch.nn.Linear(4, 2).weight.detach())
    torch.manual_seed(123)
    theirs = (torch.rand(5), torch.randn(3, 2), torch.nn.Linear(4, 2).weight.detach())
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)
    # the global stream is restored on exit
    state = torch.random.get_rng_state()
    with seeded(5):
        torch.rand(3)
    assert torch.equal(torch.random.get_rng_state(), state)


# ------------------------------------------------- NCA masks and the fast step

def test_nca_gradcheck_with_lone_anchor_and_miner_weights():
    from skmetric.miners import get_miner

    g = torch.Generator().manual_seed(3)
    emb = torch.randn(9, 3, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 5])  # 5: no positive
    indices = get_miner("multi_similarity")(emb, labels)
    loss = NCALoss(temperature=0.6)
    assert torch.autograd.gradcheck(lambda e: loss(e, labels, indices),
                                    (emb.clone().requires_grad_(True),))


def test_nca_masks_follow_the_labels_tensor():
    g = torch.Generator().manual_seed(1)
    emb = torch.randn(12, 4, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 3, (12,), generator=g)
    loss = NCALoss()
    first = loss(emb, labels)
    assert torch.equal(loss(emb, labels), first)  # cached masks, same value
    other = labels.roll(1)
    expected = _nca_by_autograd(emb, other, torch.ones(12))
    torch.testing.assert_close(loss(emb, other), expected, rtol=1e-10, atol=0)
    labels.copy_(other)  # changed in place: the masks are rebuilt
    torch.testing.assert_close(loss(emb, labels), expected, rtol=1e-10, atol=0)
    # float32 masks for float32 embeddings, from the same labels tensor
    torch.testing.assert_close(loss(emb.float(), labels), expected.float(), rtol=1e-5, atol=0)


def test_nca_mask_cache_is_not_pickled_and_dies_with_the_labels():
    import copy
    import gc
    import pickle

    loss = NCALoss(temperature=0.5)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    emb = torch.randn(6, 3, dtype=torch.float64)
    value = loss(emb, labels)
    assert "_masks_cache" in vars(loss)
    for twin in (pickle.loads(pickle.dumps(loss)), copy.deepcopy(loss)):
        assert "_masks_cache" not in vars(twin)
        assert torch.equal(twin(emb, labels), value)
    del labels
    gc.collect()
    assert "_masks_cache" not in vars(loss)


class _LBFGSOwnZeroGrad(torch.optim.LBFGS):
    """L-BFGS whose ``zero_grad`` is its own: the engine calls it as skorch does."""

    def zero_grad(self, set_to_none=True):
        super().zero_grad(set_to_none=set_to_none)


def test_fast_step_equals_skorch_step(noisy_iris):
    from skorch.callbacks import Callback

    class CountGrads(Callback):
        def initialize(self):
            self.calls_ = 0
            return self

        def on_grad_computed(self, net, named_parameters, **kwargs):
            self.calls_ += 1
            assert all(p.grad is not None for _, p in named_parameters)

    X_tr, _, y_tr, _ = noisy_iris
    common = dict(module="linear", random_state=0, lr=1.0, batch_size=len(X_tr),
                  samples_per_class=None,
                  max_epochs=3, weight_decay=0.0, lr_schedule="constant",
                  optimizer_params={"line_search_fn": "strong_wolfe", "max_iter": 10,
                                    "history_size": 10, "tolerance_change": 1e-4})
    fast = MetricLearner(optimizer=torch.optim.LBFGS, **common).fit(X_tr, y_tr)
    plain = MetricLearner(optimizer=_LBFGSOwnZeroGrad, callbacks=[("count", CountGrads())],
                          **common).fit(X_tr, y_tr)
    for a, b in zip(fast.module_.state_dict().values(), plain.module_.state_dict().values()):
        assert torch.equal(a, b)
    assert ([h["train_loss"] for h in fast.history_[1:]]
            == [h["train_loss"] for h in plain.history_[1:]])
    # on_grad_computed is still notified at every loss evaluation when implemented
    opt = plain.net_.optimizer_
    evals = opt.state[opt.param_groups[0]["params"][0]]["func_evals"]
    assert dict(plain.net_.callbacks_)["count"].calls_ == evals > 3
    # and the fit moved the map away from its start
    W0 = _start_map(X_tr)
    W = fast.module_.skip.weight.detach().double().numpy()
    assert np.linalg.norm(W - W0) > 0.5 * np.linalg.norm(W0)


@pytest.mark.parametrize("module", ["linear", "mlp"])
def test_lean_evaluation_equals_skorchs_train_step_single(noisy_iris, monkeypatch, module):
    # the engine evaluates a batch without skorch's per-evaluation chores
    # (training mode, unpacking, to_tensor): the same fit, bit for bit, as
    # through skorch's train_step_single -- for L-BFGS-B's many evaluations
    # of one batch and for AdamW on batches with dropout (the same draws)
    from skorch import NeuralNet

    import skmetric._training._engine as engine

    X_tr, _, y_tr, _ = noisy_iris
    params = dict(module=module, random_state=0)
    if module == "mlp":
        params.update(max_epochs=3, hidden_sizes=(16,), dropout=0.3, batch_size=32)
    calls = []
    original = NeuralNet.train_step_single

    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(NeuralNet, "train_step_single", counted)
    lean = MetricLearner(**params).fit(X_tr, y_tr)
    assert calls == []  # every evaluation took the lean path
    monkeypatch.setattr(engine._EngineNet, "_lean_step_single", lambda self, b, f: None)
    plain = MetricLearner(**params).fit(X_tr, y_tr)
    assert len(calls) > 3
    for a, b in zip(lean.module_.state_dict().values(), plain.module_.state_dict().values()):
        assert torch.equal(a, b)
    assert ([h.get("train_loss") for h in lean.history_]
            == [h.get("train_loss") for h in plain.history_])
    # and the fits trained: the map moved from its start
    W = lean.module_.get_submodule("module" if module == "mlp" else "").skip.weight
    assert np.linalg.norm(W.detach().double().numpy() - _start_map(X_tr)) > 1e-3


@pytest.mark.parametrize("labels", [
    np.array([7, -3, 7, 12, -3, 12, 7, 12]),  # integers: np.unique encodes them
    np.array([True, False, True, False, True, False, False, True]),
    np.array([2.0, -1.0, 2.0, -1.0, 5.0, 5.0, 2.0, -1.0]),  # others: LabelEncoder
    np.array(["b", "a", "c", "a", "b", "c", "c", "a"], dtype=object),
])
def test_labels_are_encoded_as_label_encoder_does(labels):
    from sklearn.preprocessing import LabelEncoder

    X = np.random.RandomState(0).normal(size=(labels.size, 3))
    est = MetricLearner(module="linear")
    _, y_enc = est._validate_classification_data(X, labels)
    encoder = LabelEncoder().fit(labels)
    assert np.array_equal(est.classes_, encoder.classes_)
    assert est.classes_.dtype == encoder.classes_.dtype
    assert y_enc.dtype == np.int64 and y_enc.shape == labels.shape
    assert np.array_equal(y_enc, encoder.transform(labels))
    assert np.array_equal(est.classes_[y_enc], labels)
    with pytest.raises(ValueError, match="continuous"):
        est._validate_classification_data(X, np.linspace(0, 1, labels.size))


def test_parameter_names_are_read_once_per_class():
    # get_params reads the names of __init__ once per class: a subclass
    # with its own parameter gets its own names, the base class keeps its own
    class WithExtra(MetricLearner):
        def __init__(self, extra=3, module="mlp"):
            self.extra = extra
            self.module = module

    base = set(MetricLearner().get_params())
    assert set(WithExtra(extra=5).get_params()) == {"extra", "module"}
    assert WithExtra(extra=5).get_params()["extra"] == 5
    assert set(MetricLearner().get_params()) == base and "extra" not in base
    names = MetricLearner._get_param_names()
    names.append("not_a_parameter")  # callers get a copy
    assert "not_a_parameter" not in MetricLearner._get_param_names()

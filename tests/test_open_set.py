"""Open set: an embedding learned on some classes, used on classes never seen.

The data: 10 classes whose centres differ only in 4 informative features,
plus 12 features of pure noise with a larger spread, shared by every class.
On raw features the noise hides the classes; a metric learned on classes
0-4 that shrinks the noise transfers to classes 5-9.  Raw features and a
control trained with a learning rate too small to move the weights are the
references, so these tests fail when the open-set setting does not learn.
"""

import warnings

import numpy as np
import pytest

from skmetric import MetricLearner, StartingModelKeptWarning
from skmetric.metrics import recall_at_k

# the open-set setting documented in docs/metric_learner.md
OPEN_SET = dict(loss="multi_similarity", lr=1e-4, validation_fraction=0.4,
                validation_split="classes")


def _shared_noise_data(n_per_class=40, seed=0):
    rng = np.random.RandomState(seed)
    centres = rng.normal(scale=1.5, size=(10, 4))
    y = np.repeat(np.arange(10), n_per_class)
    informative = centres[y] + rng.normal(scale=0.5, size=(y.size, 4))
    noise = rng.normal(scale=3.0, size=(y.size, 12))
    return np.hstack([informative, noise]).astype(np.float32), y


def _unseen_recall(est, X, y):
    unseen = y >= 5
    Z = X[unseen] if est is None else est.transform(X[unseen])
    return recall_at_k(Z, y[unseen], k=1)


@pytest.fixture(scope="module")
def shared_noise():
    X, y = _shared_noise_data()
    seen = y < 5
    return X[seen], y[seen], X, y


def test_open_set_setting_transfers_to_unseen_classes(shared_noise):
    X_seen, y_seen, X, y = shared_noise
    raw = _unseen_recall(None, X, y)
    params = dict(OPEN_SET, lr=3e-3, max_epochs=20, hidden_sizes=(64,), batch_size=64)
    est = MetricLearner(random_state=0, **params).fit(X_seen, y_seen)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StartingModelKeptWarning)
        control = MetricLearner(random_state=0, **{**params, "lr": 1e-9}).fit(X_seen, y_seen)
    learned = _unseen_recall(est, X, y)
    # the noise hides the classes from raw features, and the untrained
    # control ranks neighbours exactly as they do
    assert raw < 0.75
    assert _unseen_recall(control, X, y) == pytest.approx(raw, abs=0.01)
    # the held-out seen classes showed the gain, so a trained epoch was kept...
    assert est.best_epoch_ > 0
    assert est.best_score_ > est.baseline_score_
    # ...and it transfers to the classes never seen in fit
    assert learned > raw + 0.10


def test_open_set_keeps_the_starting_embedding_when_training_cannot_help():
    # every class, seen or not, differs only by noise-free features that the
    # raw metric already ranks perfectly: training cannot beat epoch 0 on the
    # held-out classes, which must be what fit returns
    rng = np.random.RandomState(1)
    y = np.repeat(np.arange(10), 20)
    X = (np.eye(10)[y] * 10 + rng.normal(scale=0.1, size=(y.size, 10))).astype(np.float32)
    seen = y < 5
    with pytest.warns(StartingModelKeptWarning):
        est = MetricLearner(random_state=0, max_epochs=5, hidden_sizes=(16,),
                            **OPEN_SET).fit(X[seen], y[seen])
    assert est.best_epoch_ == 0
    assert est.best_score_ == est.baseline_score_ == 1.0
    assert _unseen_recall(est, X, y) == _unseen_recall(None, X, y) == 1.0


def _blobs(n_classes, seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(n_classes), 12)
    X = rng.normal(scale=4.0, size=(n_classes, 5))[y] + rng.normal(size=(y.size, 5))
    return X, y


def test_three_classes_hold_out_one_for_open_set_validation():
    X, y = _blobs(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StartingModelKeptWarning)
        est = MetricLearner("normalized_softmax", validation_fraction=0.4, validation_split="classes",
                            max_epochs=2, hidden_sizes=(8,), random_state=0).fit(X, y)
    # one class held out (scored against the 2 training classes), 2 trained
    assert est.loss_.num_classes == 2
    assert est.baseline_score_ is not None
    assert len(est.history_[:, "valid_score"]) == est.n_epochs_ + 1


def test_no_class_split_possible_warns_and_keeps_the_starting_embedding():
    X, y = _blobs(2)
    with pytest.warns(UserWarning, match="needs at least 3 classes .* got 2"):
        est = MetricLearner(validation_fraction=0.4, validation_split="classes",
                            max_epochs=2, hidden_sizes=(8,), random_state=0).fit(X, y)
    assert est.baseline_score_ is None
    assert est.best_epoch_ == est.n_epochs_ == 0
    # untrained: the embedding is the centred raw features, up to one scale
    Z = est.transform(X)
    Xc = X - X.mean(axis=0)
    np.testing.assert_allclose(Z * (np.linalg.norm(Xc) / np.linalg.norm(Z)), Xc, atol=1e-3)


def test_no_sample_split_possible_warns_and_trains():
    X, y = _blobs(3)
    with pytest.warns(UserWarning, match="no class has enough samples"):
        est = MetricLearner(validation_fraction=0.01, max_epochs=2, hidden_sizes=(8,),
                            random_state=0).fit(X, y)
    assert est.baseline_score_ is None
    assert est.best_epoch_ == est.n_epochs_ == 2


def test_open_set_auto_resolves_to_the_transferring_loss_and_lr(shared_noise):
    # loss and lr left at "auto" under held-out-class validation train the
    # setting measured to transfer (multi-similarity, lr=1e-4): the same fit
    # bit for bit as spelling them out; without the class split the proxy
    # loss and lr=2e-3 stay
    from skmetric.losses import MultiSimilarityLoss, NormalizedSoftmaxLoss

    X_seen, y_seen, X, _ = shared_noise
    kw = dict(max_epochs=3, random_state=0)
    auto = MetricLearner(validation_fraction=0.4, validation_split="classes", **kw)
    explicit = MetricLearner(**OPEN_SET, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StartingModelKeptWarning)
        auto.fit(X_seen, y_seen)
        explicit.fit(X_seen, y_seen)
    assert isinstance(auto.loss_, MultiSimilarityLoss)
    assert auto.net_.optimizer_.param_groups[0]["initial_lr"] == 1e-4
    np.testing.assert_array_equal(auto.transform(X), explicit.transform(X))
    closed = MetricLearner(**kw).fit(X_seen, y_seen)
    assert isinstance(closed.loss_, NormalizedSoftmaxLoss)
    assert closed.net_.optimizer_.param_groups[0]["initial_lr"] == 2e-3


# ------------------------------------------------- class folds (k-fold over classes)
FOLDS = dict(OPEN_SET, validation_split="class_folds")


@pytest.mark.slow
def test_class_folds_transfer_and_train_on_every_class(shared_noise):
    X_seen, y_seen, X, y = shared_noise
    raw = _unseen_recall(None, X, y)
    # patience 10 (the default): a fold's curve may dip before it gains,
    # and an epoch counts only when it beats the start in every fold; the
    # start fixed at the raw features (init="auto" whitens this data's noise
    # away before any training: tests/test_within_class_init.py)
    params = dict(FOLDS, lr=3e-3, max_epochs=10, patience=10, hidden_sizes=(32,),
                  batch_size=64, init="pca")
    est = MetricLearner(random_state=0, **params).fit(X_seen, y_seen)
    with pytest.warns(StartingModelKeptWarning, match="class folds"):
        control = MetricLearner(random_state=0, **{**params, "lr": 1e-9}).fit(X_seen, y_seen)
    # the untrained control ranks as the raw features; the folds' choice transfers
    assert raw < 0.75
    assert _unseen_recall(control, X, y) == pytest.approx(raw, abs=0.01)
    assert control.best_epoch_ == control.n_epochs_ == 0
    learned = _unseen_recall(est, X, y)
    assert learned > raw + 0.10
    # the kept epoch is the latest best of the fold-mean curve, recorded in
    # history_, and the final fit trained exactly that many epochs
    curve = np.array(est.history_[:, "valid_score"])
    assert est.best_epoch_ == est.n_epochs_ == np.flatnonzero(curve == curve.max())[-1] > 0
    assert est.baseline_score_ == curve[0] < est.best_score_ == curve.max()
    assert est.stop_reason_ in ("callback", "max_epochs")
    # the single held-out split trains on 3 of the 5 classes only; the folds'
    # final fit on all 5 does at least as well on the unseen ones
    single = MetricLearner(random_state=0, **{**params, "validation_split": "classes"})
    single.fit(X_seen, y_seen)
    assert learned >= _unseen_recall(single, X, y) - 0.02


def test_class_folds_is_bit_identical_with_random_state(shared_noise):
    X_seen, y_seen, X, _ = shared_noise
    params = dict(FOLDS, lr=3e-3, max_epochs=2, hidden_sizes=(16,), batch_size=64,
                  random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StartingModelKeptWarning)
        a = MetricLearner(**params).fit(X_seen, y_seen)
        b = MetricLearner(**params).fit(X_seen, y_seen)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert a.history_[:, "valid_score"] == b.history_[:, "valid_score"]


def test_class_folds_keep_the_start_when_training_cannot_help():
    rng = np.random.RandomState(1)
    y = np.repeat(np.arange(10), 20)
    X = (np.eye(10)[y] * 10 + rng.normal(scale=0.1, size=(y.size, 10))).astype(np.float32)
    seen = y < 5
    with pytest.warns(StartingModelKeptWarning, match="class folds"):
        est = MetricLearner(random_state=0, max_epochs=3, hidden_sizes=(16,),
                            **FOLDS).fit(X[seen], y[seen])
    assert est.best_epoch_ == est.n_epochs_ == 0
    assert est.baseline_score_ == est.best_score_ == 1.0
    np.testing.assert_array_equal(est.transform(X[:3]) != 0, True)
    assert _unseen_recall(est, X, y) == 1.0


def test_class_folds_with_two_classes_warn_and_keep_the_start():
    X, y = _blobs(2)
    with pytest.warns(UserWarning, match="'class_folds' needs at least 2 folds"):
        est = MetricLearner(validation_fraction=0.4, validation_split="class_folds",
                            max_epochs=2, hidden_sizes=(8,), random_state=0).fit(X, y)
    assert est.baseline_score_ is None
    assert est.best_epoch_ == est.n_epochs_ == 0


def test_class_folds_auto_loss_and_lr_and_bad_split_name(shared_noise):
    from sklearn.utils._param_validation import InvalidParameterError

    from skmetric.losses import MultiSimilarityLoss

    X_seen, y_seen, _, _ = shared_noise
    est = MetricLearner(validation_fraction=0.4, validation_split="class_folds",
                        max_epochs=1, hidden_sizes=(8,), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StartingModelKeptWarning)
        est.fit(X_seen, y_seen)
    assert isinstance(est.loss_, MultiSimilarityLoss)
    if est.n_epochs_:
        assert est.net_.optimizer_.param_groups[0]["initial_lr"] == 1e-4
    with pytest.raises(InvalidParameterError, match="validation_split"):
        MetricLearner(validation_split="folds").fit(X_seen, y_seen)


@pytest.mark.slow
def test_class_folds_on_digits_halves_keep_what_transfers():
    # digits: raw features are strong on the unseen half (about 0.975); large
    # steps without validation lose on it, and the folds must see that
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    seen = y < 5
    X = StandardScaler().fit(X[seen]).transform(X).astype(np.float32)
    params = dict(loss="multi_similarity", lr=3e-3, max_epochs=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StartingModelKeptWarning)
        folds = MetricLearner(validation_fraction=0.4, validation_split="class_folds",
                              **params).fit(X[seen], y[seen])
    unvalidated = MetricLearner(**params).fit(X[seen], y[seen])
    raw = _unseen_recall(None, X, y)
    assert raw > 0.95
    assert _unseen_recall(unvalidated, X, y) < raw - 0.05
    assert _unseen_recall(folds, X, y) >= raw - 0.002

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

"""MetricLearner: quality on real data, sklearn integration, errors."""

import pickle
import re

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline

from skmetric import MetricLearner
from skmetric.losses import BaseMetricLoss, NormalizedSoftmaxLoss

FAST = dict(max_epochs=3, hidden_sizes=(32,), random_state=0)


def test_quickstart_pipeline_on_digits(digits_split):
    # stated bar: held-out kNN accuracy >= 0.96 after 15 epochs (raw: 0.98)
    X_tr, X_te, y_tr, y_te = digits_split
    pipe = make_pipeline(MetricLearner(max_epochs=15, random_state=0),
                         KNeighborsClassifier(n_neighbors=5))
    assert pipe.fit(X_tr, y_tr).score(X_te, y_te) >= 0.96


def test_linear_module_is_a_mahalanobis_metric(digits_split):
    X_tr, X_te, y_tr, y_te = digits_split
    est = MetricLearner(module="linear", n_components=16, random_state=0).fit(X_tr, y_tr)
    # the NCA loss (module="linear"'s default) keeps the embedding unnormalised
    assert isinstance(est.module_.skip, torch.nn.Linear) and est.module_.mlp is None
    assert est.transform(X_te).shape == (len(X_te), 16)
    # stated bar: held-out leave-one-out Recall@1 of a 16-d linear map >= 0.93
    assert est.score(X_te, y_te) >= 0.93


def test_initial_embedding_ranks_like_raw_features(blobs):
    X, y = blobs
    est = MetricLearner(max_epochs=1, lr=1e-12, normalize=False,
                        validation_fraction=None, random_state=0).fit(X, y)
    E = est.transform(X)
    d_raw = ((X[:, None] - X[None]) ** 2).sum(-1)
    d_emb = ((E[:, None] - E[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(np.argsort(d_raw, 1, kind="stable")[:, :5],
                                  np.argsort(d_emb, 1, kind="stable")[:, :5])


def test_reproducible_bit_for_bit(digits_split):
    X_tr, X_te, y_tr, _ = digits_split
    a = MetricLearner(**FAST).fit(X_tr, y_tr).transform(X_te)
    b = MetricLearner(**FAST).fit(X_tr, y_tr).transform(X_te)
    c = MetricLearner(**{**FAST, "random_state": 1}).fit(X_tr, y_tr).transform(X_te)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_transform_batches_are_written_in_place(blobs):
    # transform writes each inference batch into one preallocated output
    # (bounded memory at 1M rows): the same values as the module called on
    # each batch, for batches of 7 rows with a short last one
    X, y = blobs
    X = X.astype(np.float32)
    est = MetricLearner(**FAST).fit(X, y)
    with torch.no_grad():
        want = torch.cat([est.module_(torch.from_numpy(X[i:i + 7]))
                          for i in range(0, len(X), 7)]).numpy()
    got = est._forward(X, batch_size=7)
    assert got.shape == (len(X), est.embedding_size_) and got.dtype == np.float32
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(est.transform(X), want, rtol=1e-5, atol=1e-6)
    assert est._forward(X[:0]).shape == (0, est.embedding_size_)


def test_pickle_gives_identical_transform(digits_split):
    X_tr, X_te, y_tr, _ = digits_split
    est = MetricLearner(**FAST).fit(X_tr, y_tr)
    est2 = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(est.transform(X_te), est2.transform(X_te))


def test_clone_is_unfitted_and_equal_params():
    est = MetricLearner(loss=NormalizedSoftmaxLoss(temperature=0.1), **FAST)
    c = clone(est)
    assert c.get_params()["loss__temperature"] == 0.1
    assert c.loss is not est.loss


def test_loss_object_is_not_mutated(blobs):
    X, y = blobs
    loss = NormalizedSoftmaxLoss(temperature=0.1)
    est = MetricLearner(loss=loss, **FAST).fit(X, y)
    assert loss.num_classes is None and not hasattr(loss, "weight")
    assert est.loss_.num_classes == 4 and est.loss_.weight.shape == (est.embedding_size_, 4)


def test_grid_search_over_nested_loss_parameter(blobs):
    X, y = blobs
    grid = GridSearchCV(MetricLearner(**FAST),
                        {"loss__temperature": [0.05, 0.5]}, cv=2)
    grid.fit(X, y)
    assert grid.best_estimator_.loss_.temperature == grid.best_params_["loss__temperature"]
    assert isinstance(grid.best_estimator_.loss, NormalizedSoftmaxLoss)
    assert grid.best_score_ > 0.9


@pytest.mark.parametrize("labels", [
    np.array(["cat", "dog", "emu", "fox"]),
    np.array([-7, 3, 100, 42]),
])
def test_string_and_non_contiguous_labels(blobs, labels):
    X, y = blobs
    est = MetricLearner(**FAST).fit(X, labels[y])
    assert list(est.classes_) == sorted(labels)
    assert est.score(X, labels[y]) > 0.9


def test_feature_names_and_set_output(blobs):
    pd = pytest.importorskip("pandas")
    X, y = blobs
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    est = MetricLearner(n_components=3, module="linear", **FAST).set_output(transform="pandas")
    out = est.fit(df, y).transform(df)
    assert list(est.feature_names_in_) == list(df.columns)
    assert list(out.columns) == ["metriclearner0", "metriclearner1", "metriclearner2"]
    assert est.n_features_in_ == 6


def test_user_module(blobs):
    X, y = blobs
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 5))
    est = MetricLearner(module=net, **FAST).fit(X, y)
    assert est.transform(X).shape == (60, 5)
    assert est.embedding_size_ == 5


# ---------------------------------------------------------------- bad input
def test_nan_and_inf_are_rejected(blobs):
    X, y = blobs
    X = X.copy()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        MetricLearner(**FAST).fit(X, y)
    X[0, 0] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        MetricLearner(**FAST).fit(X, y)


def test_wrong_number_of_features_at_transform(blobs):
    X, y = blobs
    est = MetricLearner(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="X has 5 features, but MetricLearner is expecting 6"):
        est.transform(X[:, :5])


def test_one_class_only(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match=re.escape(
            "MetricLearner needs samples of at least 2 classes; got 1 class ('a').")):
        MetricLearner(**FAST).fit(X, ["a"] * len(X))


class _PairLoss(BaseMetricLoss):
    min_samples_per_class = 2

    def compute_loss(self, embeddings, labels, indices_tuple):
        return embeddings.pow(2).mean()


def test_too_few_samples_per_class_for_the_loss(blobs):
    X, y = blobs
    y = y.copy()
    y[0] = 9  # a class with a single sample
    with pytest.raises(ValueError, match=re.escape(
            "The loss _PairLoss needs at least 2 samples per class; class 9 has 1.")):
        MetricLearner(loss=_PairLoss(), **FAST).fit(X, y)


def test_empty_3d_and_wrong_length_inputs(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="0 sample"):
        MetricLearner(**FAST).fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="Found array with dim 3"):
        MetricLearner(**FAST).fit(X.reshape(60, 3, 2), y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        MetricLearner(**FAST).fit(X, y[:-1])


def test_unknown_loss_name_lists_valid_ones(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match=r"Unknown loss 'nope'\. Valid names are: \[.*'normalized_softmax'"):
        MetricLearner(loss="nope", **FAST).fit(X, y)


def test_anyloss_loss_is_refused_with_a_pointer(blobs):
    X, y = blobs
    msg = re.escape(
        "`loss`='anyloss_f1' is an AnyLoss loss on class probabilities, not on "
        "embeddings; MetricLearner needs a metric-learning loss. Use "
        "AnyLossClassifier(metric=...)"
    )
    with pytest.raises(ValueError, match=msg):
        MetricLearner(loss="anyloss_f1", **FAST).fit(X, y)


def test_numpy_scalar_parameters(blobs):
    X, y = blobs
    est = MetricLearner(max_epochs=np.int64(2), lr=np.float32(1e-3), hidden_sizes=(8,),
                        random_state=0).fit(X, y)
    assert est.n_epochs_ <= 2


def test_open_set_with_class_validation_is_not_worse_than_raw(digits_split):
    # train on digits 0-4, retrieve among the unseen digits 5-9
    from skmetric.metrics import recall_at_k

    X_tr, X_te, y_tr, y_te = digits_split
    seen, unseen = y_tr < 5, y_te >= 5
    raw = recall_at_k(X_te[unseen], y_te[unseen], k=1)
    est = MetricLearner(validation_fraction=0.4, validation_split="classes", max_epochs=10,
                        random_state=0).fit(X_tr[seen], y_tr[seen])
    learned = recall_at_k(est.transform(X_te[unseen]), y_te[unseen], k=1)
    assert raw > 0.98
    assert learned >= raw - 0.005


def test_validation_split_by_classes_holds_out_whole_classes(blobs):
    X, y = blobs
    est = MetricLearner("normalized_softmax", validation_fraction=0.5,
                        validation_split="classes", max_epochs=2, random_state=0).fit(X, y)
    # 2 of the 4 classes were held out: the proxy loss saw only 2 classes
    assert est.loss_.num_classes == 2
    assert est.classes_.size == 4


@pytest.mark.parametrize("n_classes", [2, 3, 7])
def test_closed_set_validation_score_is_5nn_accuracy(n_classes):
    # the held-out samples' score is what KNeighborsClassifier() (5-NN,
    # uniform votes, ties to the smallest label) predicts from the
    # training rows; 1-NN or Recall@1 among the held-out rows differ
    from skmetric._metric_learner import _EmbeddingKNNAccuracy, _EmbeddingRecall

    rng = np.random.default_rng(n_classes)
    X_ref = rng.normal(size=(200, 3)).astype(np.float32)
    y_ref = rng.integers(0, n_classes, 200)
    X_val = rng.normal(size=(80, 3)).astype(np.float32)
    y_val = rng.integers(0, n_classes, 80)
    got = _EmbeddingKNNAccuracy(X_ref, y_ref)(torch.nn.Identity(), torch.as_tensor(X_val), y_val)
    want = KNeighborsClassifier(n_neighbors=5).fit(X_ref, y_ref).score(X_val, y_val)
    one_nn = KNeighborsClassifier(n_neighbors=1).fit(X_ref, y_ref).score(X_val, y_val)
    assert got == pytest.approx(want, abs=1e-12)
    assert want != one_nn
    # which score a fit validates with: held-out samples -> 5-NN accuracy,
    # held-out classes -> Recall@1 (open set)
    X, y = np.vstack([X_ref, X_val]), np.concatenate([y_ref, y_val])
    idx = np.arange(280)
    for split, scorer in (("samples", _EmbeddingKNNAccuracy), ("classes", _EmbeddingRecall)):
        est = MetricLearner(validation_fraction=0.3, validation_split=split)
        kwargs = est._recall_valid_kwargs(X, y, idx[:200], idx[200:], np.random.RandomState(0))
        assert type(kwargs["valid_scoring"]) is scorer

"""skmetric.plot: the displays draw the right artists with the right data."""

import builtins
import importlib

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skmetric import HyperbolicOneClass, MetricLearner  # noqa: E402
from skmetric.metrics import recall_at_k  # noqa: E402
from skmetric.plot import (  # noqa: E402
    EmbeddingDisplay,
    OneClassScoreDisplay,
    RecallAtKDisplay,
    TrainingHistoryDisplay,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def labelled():
    rng = np.random.RandomState(0)
    centers = rng.normal(scale=5.0, size=(3, 5))
    y = np.repeat(np.array(["a", "b", "c"]), 20)
    X = centers[np.searchsorted(["a", "b", "c"], y)] + rng.normal(size=(60, 5))
    return X, y


# -- EmbeddingDisplay ------------------------------------------------------------


def test_embedding_from_embedding_one_scatter_per_class(labelled):
    X, y = labelled
    disp = EmbeddingDisplay.from_embedding(X, y, method="pca", name="raw")
    assert len(disp.collections_) == 3
    assert list(disp.ax_.collections) == disp.collections_
    Z = PCA(2).fit_transform(X)
    for cls, coll in zip(["a", "b", "c"], disp.collections_):
        np.testing.assert_allclose(np.abs(coll.get_offsets()), np.abs(Z[y == cls]), atol=1e-10)
        assert coll.get_label() == cls
    assert [t.get_text() for t in disp.legend_.get_texts()] == ["a", "b", "c"]
    assert disp.ax_.get_title() == "raw"
    assert disp.ax_.get_xlabel() == "PC 1"
    assert disp.figure_ is disp.ax_.figure
    # distinct colours per class
    colors = {tuple(c.get_facecolor()[0]) for c in disp.collections_}
    assert len(colors) == 3


def test_embedding_as_is_and_on_given_ax(labelled):
    X, y = labelled
    fig, ax = plt.subplots()
    disp = EmbeddingDisplay.from_embedding(X[:, :2], y, method=None, ax=ax, legend=False)
    assert disp.ax_ is ax and disp.legend_ is None and ax.get_legend() is None
    np.testing.assert_array_equal(disp.collections_[1].get_offsets(), X[y == "b", :2])
    assert ax.get_xlabel() == "dimension 1"


def test_embedding_tsne_and_from_estimator(labelled):
    X, y = labelled
    pca = PCA(3).fit(X)
    disp = EmbeddingDisplay.from_estimator(pca, X, y, method="tsne", random_state=0)
    assert disp.ax_.get_title() == "PCA"
    assert disp.ax_.get_xlabel() == "t-SNE 1"
    assert sum(len(c.get_offsets()) for c in disp.collections_) == len(X)


def test_embedding_errors(labelled):
    X, y = labelled
    with pytest.raises(ValueError, match=r"method=None draws the embedding as is and needs 2 features; got 5"):
        EmbeddingDisplay.from_embedding(X, y, method=None)
    with pytest.raises(ValueError, match=r"`method` must be one of \['pca', 'tsne', None\]; got 'umap'"):
        EmbeddingDisplay.from_embedding(X, y, method="umap")
    with pytest.raises(ValueError, match=r"`embedding` has 60 samples but `y` has 59"):
        EmbeddingDisplay.from_embedding(X, y[:-1])
    with pytest.raises(TypeError, match=r"needs an estimator with `transform`"):
        EmbeddingDisplay.from_estimator(object(), X, y)


# -- RecallAtKDisplay ------------------------------------------------------------


def test_recall_curve_data_matches_recall_at_k(labelled):
    X, y = labelled
    X = X + np.random.RandomState(1).normal(scale=3.0, size=X.shape)
    ks = (1, 2, 4, 8)
    disp = RecallAtKDisplay.from_embedding(X, y, ks=ks, name="raw")
    assert len(disp.ax_.get_lines()) == 1
    np.testing.assert_array_equal(disp.line_.get_xdata(), ks)
    expected = [recall_at_k(X, y, k=k) for k in ks]
    np.testing.assert_allclose(disp.line_.get_ydata(), expected)
    assert disp.line_.get_label() == f"raw (R@1 = {expected[0]:.3f})"
    assert disp.ax_.get_ylabel() == "Recall@K"
    assert disp.ax_.get_xscale() == "log"


def test_recall_several_models_share_axis(labelled):
    X, y = labelled
    first = RecallAtKDisplay.from_embedding(X, y, ks=(1, 4), name="raw")
    second = RecallAtKDisplay.from_estimator(PCA(1).fit(X), X, y, ks=(1, 2, 16), ax=first.ax_)
    ax = first.ax_
    assert second.ax_ is ax and len(ax.get_lines()) == 2
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[0].startswith("raw (R@1 = ") and texts[1].startswith("PCA (R@1 = ")
    assert [int(t) for t in ax.get_xticks()] == [1, 2, 4, 16]


def test_recall_query_vs_reference(labelled):
    X, y = labelled
    pca = PCA(2).fit(X)
    disp = RecallAtKDisplay.from_estimator(pca, X[:10], y[:10], X_ref=X[10:], y_ref=y[10:],
                                           ks=(1,))
    Z = pca.transform(X)
    assert disp.line_.get_ydata()[0] == recall_at_k(Z[:10], y[:10], X_ref=Z[10:],
                                                    labels_ref=y[10:], k=1)


def test_recall_plot_checks_shapes():
    with pytest.raises(ValueError, match=r"`ks` and `recalls` must be 1-D of the same length"):
        RecallAtKDisplay(ks=[1, 2], recalls=[0.5]).plot()


# -- TrainingHistoryDisplay ------------------------------------------------------


def test_history_from_rows_draws_both_curves_and_best_epoch():
    rows = [{"epoch": e, "train_loss": 1.0 / e, "valid_score": 0.5 + 0.1 * min(e, 3)}
            for e in range(1, 6)]
    disp = TrainingHistoryDisplay.from_history(rows, best_epoch=3, name="run")
    np.testing.assert_array_equal(disp.loss_line_.get_xdata(), [1, 2, 3, 4, 5])
    np.testing.assert_allclose(disp.loss_line_.get_ydata(), [1, 0.5, 1 / 3, 0.25, 0.2])
    np.testing.assert_allclose(disp.score_line_.get_ydata(), [0.6, 0.7, 0.8, 0.8, 0.8])
    assert disp.score_line_ in disp.score_ax_.get_lines()
    assert disp.best_line_.get_xdata()[0] == 3
    texts = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert texts == ["train_loss", "valid_score", "kept epoch 3"]
    assert disp.ax_.get_title() == "run"
    assert disp.ax_.get_ylabel() == "training loss"
    assert disp.score_ax_.get_ylabel() == "validation score"


def test_history_without_validation():
    disp = TrainingHistoryDisplay.from_history([{"train_loss": 2.0}, {"train_loss": 1.0}])
    assert disp.score_line_ is None and disp.score_ax_ is None and disp.best_line_ is None
    assert len(disp.ax_.get_lines()) == 1
    np.testing.assert_array_equal(disp.loss_line_.get_xdata(), [1, 2])


def test_history_from_fitted_metric_learner(digits_split):
    X_train, _, y_train, _ = digits_split
    est = MetricLearner(max_epochs=3, validation_fraction=0.2, patience=None,
                        hidden_sizes=(32,), random_state=0).fit(X_train[:400], y_train[:400])
    disp = TrainingHistoryDisplay.from_estimator(est)
    # epoch 0 (the starting model) has a validation score but no training loss
    np.testing.assert_array_equal(disp.loss_line_.get_xdata(), [0, 1, 2, 3])
    loss = disp.loss_line_.get_ydata()
    assert np.isnan(loss[0])
    np.testing.assert_allclose(loss[1:], est.history_[:, "train_loss"])
    np.testing.assert_allclose(disp.score_line_.get_ydata(), est.history_[:, "valid_score"])
    assert disp.score_line_.get_ydata()[0] == est.baseline_score_
    assert disp.best_line_.get_xdata()[0] == est.best_epoch_
    assert disp.ax_.get_title() == "MetricLearner"


def test_history_errors():
    with pytest.raises(ValueError, match="The history is empty"):
        TrainingHistoryDisplay.from_history([])
    with pytest.raises(ValueError, match=r"The history has no 'train_loss'; its keys are \['epoch'\]"):
        TrainingHistoryDisplay.from_history([{"epoch": 1}])
    with pytest.raises(TypeError, match=r"PCA has no `history_`"):
        TrainingHistoryDisplay.from_estimator(PCA())


# -- OneClassScoreDisplay --------------------------------------------------------


def test_one_class_from_predictions_histograms():
    y = np.array([1, 1, 1, 1, -1, -1])
    s = np.array([0.8, 0.75, 0.65, 0.15, 0.0, 0.25])
    disp = OneClassScoreDisplay.from_predictions(y, s, threshold=0.5, bins=4, density=False,
                                                 name="det")
    assert len(disp.inlier_bars_) == 4 and len(disp.outlier_bars_) == 4
    heights_in = [p.get_height() for p in disp.inlier_bars_]
    heights_out = [p.get_height() for p in disp.outlier_bars_]
    # bins over [0, 0.8]: edges 0, 0.2, 0.4, 0.6, 0.8
    assert heights_in == [1, 0, 0, 3] and heights_out == [1, 1, 0, 0]
    assert disp.threshold_line_.get_xdata()[0] == 0.5
    texts = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert texts == ["inliers (n=4)", "outliers (n=2)", "threshold = 0.5"]
    assert disp.roc_auc_ == pytest.approx(7 / 8)
    assert disp.ax_.get_title() == "det: ROC-AUC = 0.875"
    assert disp.ax_.get_ylabel() == "count"


def test_one_class_from_estimator(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    det = HyperbolicOneClass(max_epochs=2, random_state=0).fit(X_train[y_train == 0])
    truth = np.where(y_test == 0, 1, -1)
    disp = OneClassScoreDisplay.from_estimator(det, X_test, truth)
    assert disp.threshold_line_.get_xdata()[0] == det.offset_
    n_in = int(sum(p.get_height() * p.get_width() for p in disp.inlier_bars_) + 0.5)
    assert n_in == 1  # density=True: unit area
    disp2 = OneClassScoreDisplay.from_estimator(det, X_test, truth,
                                                response_method="decision_function")
    assert disp2.threshold_line_.get_xdata()[0] == 0.0
    assert disp2.roc_auc_ == pytest.approx(disp.roc_auc_)
    from sklearn.metrics import roc_auc_score

    assert disp.roc_auc_ == pytest.approx(roc_auc_score(truth, det.score_samples(X_test)))


def test_one_class_errors():
    with pytest.raises(ValueError, match=r"`response_method` must be one of"):
        OneClassScoreDisplay.from_estimator(PCA(), np.zeros((2, 2)), [1, -1],
                                            response_method="predict")
    with pytest.raises(TypeError, match=r"StandardScaler has no `score_samples`"):
        OneClassScoreDisplay.from_estimator(StandardScaler(), np.zeros((2, 2)), [1, -1])
    with pytest.raises(ValueError, match=r"must be 1-D of the same length"):
        OneClassScoreDisplay.from_predictions([1, -1], [0.1])


# -- lazy import -----------------------------------------------------------------


def test_missing_matplotlib_names_the_extra(monkeypatch):
    import skmetric.plot._base as base

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    importlib.reload(base)  # importing the package must not need matplotlib
    with pytest.raises(ImportError, match=r"RecallAtKDisplay.plot needs matplotlib.*`plot` extra"):
        RecallAtKDisplay(ks=[1], recalls=[1.0]).plot()


@pytest.mark.parametrize("display", [EmbeddingDisplay, RecallAtKDisplay])
def test_from_estimator_names_the_display_without_transform(display, labelled):
    X, y = labelled
    msg = (rf"{display.__name__}\.from_estimator needs an estimator with `transform`; "
           r"object has none\.")
    with pytest.raises(TypeError, match=msg):
        display.from_estimator(object(), X, y)

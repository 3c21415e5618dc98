"""
The four displays of skmetric.plot
==================================

A ``MetricLearner`` learns a **2-D** embedding of scikit-learn's digits (so
that it can be drawn as is, without t-SNE), with 20% of the training samples
held out for validation.  Then every display of :mod:`skmetric.plot`:

* ``TrainingHistoryDisplay``: training loss and validation Recall@1 per
  epoch, with the epoch whose weights were kept;
* ``EmbeddingDisplay``: the test split in 2-D, PCA against the learned map;
* ``RecallAtKDisplay``: Recall@K of the raw 64 pixels, PCA(2) and the learned
  2-D embedding on one axis;
* ``OneClassScoreDisplay``: a ``HyperbolicOneClass`` detector trained on the
  digit 0 alone, scoring the other zeros (inliers) against every other digit
  (outliers).

Run: ``python examples/plot_displays.py`` (about 20 seconds).
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from skmetric import HyperbolicOneClass, MetricLearner  # noqa: E402
from skmetric.plot import (  # noqa: E402
    EmbeddingDisplay,
    OneClassScoreDisplay,
    RecallAtKDisplay,
    TrainingHistoryDisplay,
)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)

# %%
# Train a 2-D embedding and plot its training curves
# --------------------------------------------------
# The contrastive loss on unnormalised outputs keeps the map Euclidean.
learner = MetricLearner(n_components=2, loss="contrastive", normalize=False,
                        hidden_sizes=(128, 128), max_epochs=40, validation_fraction=0.2,
                        patience=None, random_state=0)
learner.fit(X_train, y_train)
print(f"trained {learner.n_epochs_} epochs, kept epoch {learner.best_epoch_}")

disp = TrainingHistoryDisplay.from_estimator(learner)
disp.figure_.set_size_inches(6, 3.5)
disp.figure_.tight_layout()

# %%
# The test split in two dimensions
# --------------------------------
# Left: the first two principal axes of the pixels.  Right: the learned map
# (``method=None`` draws a 2-column embedding as is).  Neither saw the test
# samples in training.
pca = PCA(n_components=2).fit(X_train)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 5))
EmbeddingDisplay.from_estimator(pca, X_test, y_test, method=None, ax=ax1,
                                name="PCA(2) of the pixels", legend=False)
EmbeddingDisplay.from_estimator(learner, X_test, y_test, method=None, ax=ax2,
                                name="MetricLearner(n_components=2)")
fig.tight_layout()

# %%
# Recall@K, several models on one axis
# ------------------------------------
ks = (1, 2, 4, 8, 16)
disp = RecallAtKDisplay.from_embedding(X_test, y_test, ks=ks, name="raw pixels (64-D)")
RecallAtKDisplay.from_estimator(pca, X_test, y_test, ks=ks, ax=disp.ax_, name="PCA(2)")
RecallAtKDisplay.from_estimator(learner, X_test, y_test, ks=ks, ax=disp.ax_,
                                name="MetricLearner (2-D)")
disp.ax_.set_title("digits test split, leave-one-out retrieval")
disp.figure_.set_size_inches(6, 4)
disp.figure_.tight_layout()

# %%
# One-class scores: inliers against outliers
# ------------------------------------------
# The detector sees only zeros in training.
X_normal_train, X_normal_test = train_test_split(X[y == 0], train_size=0.7, random_state=0)
X_eval = np.vstack([X_normal_test, X[y != 0]])
truth = np.r_[np.ones(len(X_normal_test)), -np.ones(int(np.sum(y != 0)))]
detector = HyperbolicOneClass(random_state=0).fit(X_normal_train)
disp = OneClassScoreDisplay.from_estimator(detector, X_eval, truth, bins=50,
                                           name="HyperbolicOneClass, digit 0")
print(f"ROC-AUC: {disp.roc_auc_:.3f}")
disp.figure_.set_size_inches(6, 4)
disp.figure_.tight_layout()
plt.show()

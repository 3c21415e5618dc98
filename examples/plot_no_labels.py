"""
Learning an embedding from pairs, without class labels
======================================================

Many embedding workflows have no class labels, only pairs known to belong
together: two photos of one product, a query and the document that answered
it.  :class:`skmetric.PairMetricLearner` learns from such pairs alone
(``fit(pairs)`` with ``y=None``): each pair is an (anchor, positive) and
the other pairs of the batch are its negatives.

Here the pairs come from scikit-learn's digits: two training images of the
same digit make a pair.  The digit labels are used to draw the pairs and to
score the result, but the estimator never sees them.  The pairs are given as
row indices into the training images (metric-learn's ``preprocessor``
convention), so no row is copied.  We compare retrieval of the test images
(queries) among the training images (corpus) on the raw pixels and on the
learned embedding, with :func:`skmetric.metrics.retrieval_scores` (a corpus
image is relevant when it shows the query's digit) and leave-one-out
Recall@1 of the test images.

Run: ``python examples/plot_no_labels.py`` (well under a minute); writes
``plot_no_labels.png``.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from skmetric import PairMetricLearner  # noqa: E402
from skmetric.metrics import recall_at_k, retrieval_scores  # noqa: E402

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.5, stratify=y, random_state=0
)

# %%
# Pairs of same-digit training images, as indices into ``X_train``
rng = np.random.RandomState(0)
anchors = rng.randint(len(X_train), size=2000)
positives = np.array([rng.choice(np.flatnonzero(y_train == y_train[i])) for i in anchors])
pairs = np.stack([anchors, positives], axis=1)
print(f"{len(pairs)} pairs over {len(np.unique(pairs))} distinct training images")

model = PairMetricLearner(preprocessor=X_train, max_epochs=15, random_state=0)
model.fit(pairs)  # no y: positive pairs, in-batch negatives
print(f"trained {model.n_epochs_} epochs, kept epoch {model.best_epoch_}")

# %%
# Retrieval of test images among training images, before and after
relevant = [np.flatnonzero(y_train == digit).tolist() for digit in y_test]
before = retrieval_scores(X_test, X_train, relevant, k=10)
after = retrieval_scores(model.transform(X_test), model.transform(X_train), relevant, k=10)
before["recall@1 (LOO)"] = recall_at_k(X_test, y_test, k=1)
after["recall@1 (LOO)"] = recall_at_k(model.transform(X_test), y_test, k=1)

names = ["ndcg@10", "map@10", "mrr@10", "recall@1 (LOO)"]
print(f"{'':16s} {'raw':>6s} {'pairs':>6s}")
for name in names:
    print(f"{name:16s} {before[name]:6.3f} {after[name]:6.3f}")

# %%
# The embedding learned from pairs puts more same-digit images in each
# query's top 10 (NDCG@10 and MAP@10 go up), while the single nearest
# neighbour -- already right for almost every raw digit -- does not get
# better: the pairs teach "same digit", not "nearest image".
x = np.arange(len(names))
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.bar(x - 0.2, [before[n] for n in names], width=0.4, label="raw pixels")
ax.bar(x + 0.2, [after[n] for n in names], width=0.4, label="learned from pairs")
ax.set_xticks(x, names)
ax.set_ylim(0.8, 1.0)
ax.set_ylabel("score (test queries)")
ax.set_title("Digits: embedding learned from same-digit pairs, no labels")
ax.legend(loc="lower left")
fig.tight_layout()
fig.savefig("plot_no_labels.png")

"""skmetric demo: learn an embedding, compare it with the raw features.

Two data sets that ship with the installed packages:

* scikit-learn's ``load_digits`` (8x8 images, 10 classes);
* MNIST-1D, generated offline by the ``mnist1d`` package (40 features,
  10 classes, 8,000 train / 2,000 test), where raw-feature kNN is weak.

For each, ``MetricLearner`` with its defaults is fitted on the training split
and the held-out test split is scored: 5-NN accuracy and Recall@1/2/4/8 of the
raw features against the learned embedding.  A 2-D map of the learned
MNIST-1D embedding is saved as ``demo_embedding.png``.

Run with ``make demo`` (or ``python examples/demo.py [--out PATH]``).
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from skmetric import MetricLearner
from skmetric.datasets import load_mnist1d
from skmetric.metrics import retrieval_report

KS = (1, 2, 4, 8)


def evaluate(name, Z_train, y_train, Z_test, y_test, fit_time):
    knn = KNeighborsClassifier(n_neighbors=5).fit(Z_train, y_train)
    report = retrieval_report(Z_test, y_test, ks=KS)
    row = {"features": name, "kNN acc": knn.score(Z_test, y_test)}
    row.update({f"R@{k}": report[f"recall@{k}"] for k in KS})
    row["fit s"] = fit_time
    return row


def print_table(title, rows):
    cols = list(rows[0])
    print(f"\n{title}")
    header = f"{cols[0]:<22}" + "".join(f"{c:>9}" for c in cols[1:])
    print(header)
    print("-" * len(header))
    for row in rows:
        cells = []
        for c in cols[1:]:
            v = row[c]
            cells.append(f"{'-':>9}" if v is None else f"{v:>9.3f}" if c != "fit s" else f"{v:>9.1f}")
        print(f"{row[cols[0]]:<22}" + "".join(cells))


def run(name, X_train, X_test, y_train, y_test):
    rows = [evaluate("raw features", X_train, y_train, X_test, y_test, None)]
    t0 = time.perf_counter()
    learner = MetricLearner(random_state=0).fit(X_train, y_train)
    fit_time = time.perf_counter() - t0
    rows.append(
        evaluate(
            "MetricLearner()",
            learner.transform(X_train), y_train,
            learner.transform(X_test), y_test, fit_time,
        )
    )
    print_table(
        f"{name}: {len(X_train)} train / {len(X_test)} test, {X_train.shape[1]} features "
        f"(held-out test split; MetricLearner stopped after {learner.n_epochs_} epochs, "
        f"kept epoch {learner.best_epoch_})",
        rows,
    )
    return learner


def save_map(learner, X_test, y_test, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\n(matplotlib not installed: pip install 'skmetric[plot]' for the map)")
        return
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    Z_raw = TSNE(random_state=0, init="pca").fit_transform(
        PCA(n_components=min(30, X_test.shape[1])).fit_transform(X_test)
    )
    Z_emb = TSNE(random_state=0, init="pca").fit_transform(learner.transform(X_test))
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.5))
    for ax, Z, title in (
        (axes[0], Z_raw, "raw features"),
        (axes[1], Z_emb, "MetricLearner() embedding"),
    ):
        sc = ax.scatter(Z[:, 0], Z[:, 1], c=y_test, cmap="tab10", s=6, alpha=0.8)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("t-SNE of the MNIST-1D test split (2,000 samples, not seen in training)")
    fig.colorbar(sc, ax=axes, label="class", ticks=range(10))
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    print(f"\nSaved a 2-D map of the test embeddings to {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo_embedding.png", help="PNG path")
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    run("digits", *train_test_split(X, y, test_size=0.25, random_state=0, stratify=y))

    X_train, X_test, y_train, y_test = load_mnist1d()
    learner = run("MNIST-1D", X_train, X_test, y_train, y_test)
    save_map(learner, X_test, y_test, args.out)


if __name__ == "__main__":
    main()

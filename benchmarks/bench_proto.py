"""ProtoClassifier: few-shot accuracy on classes held out from training.

Protocol (Snell et al., 2017): train on classes 0-4, then evaluate 5-way
1-shot and 5-way 5-shot episodes (15 queries per class, 1,000 episodes,
the same episodes for every method) on classes 5-9, never seen in training.

Methods, all in this one process:

- ``NearestCentroid (raw)``: scikit-learn's NearestCentroid fitted on each
  episode's support set, raw features;
- ``NearestCentroid (MetricLearner)``: the same on the embedding of a
  ``MetricLearner(loss="multi_similarity")`` trained on classes 0-4
  (early stopping on held-out classes, like ProtoClassifier's default);
- ``ProtoClassifier``: episodic prototypical training on classes 0-4, then
  nearest prototype (``few_shot_accuracy``), with its default early stopping
  on held-out training classes, and with ``validation_split="samples"``.

Also times ``add_classes`` for 100 new classes x 5 shots (goal < 50 ms).

Second table, the prediction rules of the default ``ProtoClassifier`` fit
(the same embedding for every row, the first 250 of the episodes above): each
episode's support set replaces the classes (``add_classes(..., replace=True)``)
and the episode's queries are predicted together, with the nearest-prototype
rule, with ``transductive=True`` (one soft k-means step on the episode's
queries), and with ``rule="matching"`` (attention vote, temperature 1 and
0.1).

Third table, rejection of unknown classes: in each 5-way episode of the
held-out classes the first 3 classes are known (their support gives the
prototypes) and the queries of the other 2 are unknown; ROC AUC of
``score_samples`` (minus the distance to the nearest prototype) separating
known from unknown queries, against the same score on raw features
(nearest support mean).  With ``transductive=True`` the unknown queries are
in the batch too.

Run: ``python benchmarks/bench_proto.py`` (about 5-10 minutes on 2 shared CPU cores).
"""

import copy
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestCentroid

from skmetric import MetricLearner
from skmetric import ProtoClassifier
from skmetric.datasets import load_mnist1d
from skmetric.metrics.few_shot import few_shot_accuracy, few_shot_episodes

N_EPISODES = 1000
N_QUERY = 15
SEED = 0


def datasets():
    X, y = load_digits(return_X_y=True)
    yield "digits", X[y < 5], y[y < 5], X[y >= 5], y[y >= 5]
    X_tr, X_te, y_tr, y_te = load_mnist1d()
    yield "MNIST-1D", X_tr[y_tr < 5], y_tr[y_tr < 5], X_te[y_te >= 5], y_te[y_te >= 5]


def nearest_centroid_episodes(emb, y, n_shot):
    """sklearn's NearestCentroid on each episode; mean and 95% CI."""
    scores = []
    with warnings.catch_warnings():
        # 1-shot: NearestCentroid warns about zero within-class spread
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        for support, query in few_shot_episodes(y, 5, n_shot, N_QUERY, N_EPISODES, SEED):
            nc = NearestCentroid().fit(emb[support], y[support])
            scores.append(np.mean(nc.predict(emb[query]) == y[query]))
    scores = np.asarray(scores)
    return scores.mean(), 1.96 * scores.std(ddof=1) / np.sqrt(scores.size)


def time_add_classes(clf, n_features, n_classes=100, n_shot=5, repeats=20):
    rng = np.random.RandomState(0)
    X_sup = rng.normal(size=(n_classes * n_shot, n_features)).astype(np.float32)
    y_sup = np.repeat(np.arange(1000, 1000 + n_classes), n_shot)
    times = []
    for _ in range(repeats):
        c = copy.deepcopy(clf)
        t0 = time.perf_counter()
        c.add_classes(X_sup, y_sup)
        times.append(time.perf_counter() - t0)
    assert c.classes_.size == clf.classes_.size + n_classes
    return 1e3 * np.median(times)


RULES = {
    "prototype (default)": {},
    "prototype, transductive=True": dict(transductive=True),
    "matching, temperature=1": dict(rule="matching"),
    "matching, temperature=0.1": dict(rule="matching", temperature=0.1),
}
N_KNOWN = 3  # rejection episodes: 3 known classes, 2 unknown
# the rule and rejection tables: the first 250 of the same episodes (every
# estimator call embeds the batch again, about 10 ms with the default MLP)
N_RULE_EPISODES = 250


def _mean_ci(scores):
    scores = np.asarray(scores)
    return scores.mean(), 1.96 * scores.std(ddof=1) / np.sqrt(scores.size)


def rule_accuracies(clf, X, y, n_shot):
    """Accuracy of each rule on the episodes of ``nearest_centroid_episodes``."""
    scores = {label: [] for label in RULES}
    for support, query in few_shot_episodes(y, 5, n_shot, N_QUERY, N_RULE_EPISODES, SEED):
        episode = copy.copy(clf).add_classes(X[support], y[support], replace=True)
        for label, params in RULES.items():
            c = copy.copy(episode).set_params(**params)
            scores[label].append(np.mean(c.predict(X[query]) == y[query]))
    return {label: _mean_ci(v) for label, v in scores.items()}


def rejection_aurocs(clf, X, y, n_shot):
    """ROC AUC of known vs unknown queries: raw features and ProtoClassifier."""
    scores = {"raw features (nearest support mean)": [], "ProtoClassifier": [],
              "ProtoClassifier, transductive=True": []}
    for support, query in few_shot_episodes(y, 5, n_shot, N_QUERY, N_RULE_EPISODES, SEED):
        sup = support[: N_KNOWN * n_shot]
        is_known = np.isin(y[query], y[sup])
        truth = is_known.astype(int)
        means = np.stack([X[sup][y[sup] == k].mean(axis=0) for k in np.unique(y[sup])])
        raw = ((X[query][:, None, :] - means[None]) ** 2).sum(-1).min(axis=1)
        scores["raw features (nearest support mean)"].append(roc_auc_score(truth, -raw))
        episode = copy.copy(clf).add_classes(X[sup], y[sup], replace=True)
        scores["ProtoClassifier"].append(roc_auc_score(truth, episode.score_samples(X[query])))
        episode.set_params(transductive=True)
        scores["ProtoClassifier, transductive=True"].append(
            roc_auc_score(truth, episode.score_samples(X[query])))
    return {label: _mean_ci(v) for label, v in scores.items()}


def main():
    torch.set_num_threads(1)  # shared 2-core machine: no oversubscription
    rows, timings, rule_rows, reject_rows = [], [], [], []
    for name, X_tr, y_tr, X_te, y_te in datasets():
        methods = {}
        t0 = time.perf_counter()
        methods["NearestCentroid (raw)"] = (X_te, None, 0.0)
        ml = MetricLearner(loss="multi_similarity", validation_split="classes", random_state=SEED)
        ml.fit(X_tr, y_tr)
        methods["NearestCentroid (MetricLearner multi_similarity)"] = (
            ml.transform(X_te), None, time.perf_counter() - t0)
        for label, params in [
            ("ProtoClassifier (default)", {}),
            ("ProtoClassifier (validation_split='samples')", dict(validation_split="samples")),
        ]:
            t0 = time.perf_counter()
            clf = ProtoClassifier(random_state=SEED, **params).fit(X_tr, y_tr)
            methods[label] = (None, clf, time.perf_counter() - t0)
            if not params:
                timings.append((name, X_tr.shape[1], time_add_classes(clf, X_tr.shape[1])))
                t0 = time.perf_counter()
                by_shot = [rule_accuracies(clf, X_te, y_te, k) for k in (1, 5)]
                for rule in RULES:
                    rule_rows.append((name, rule, by_shot[0][rule], by_shot[1][rule]))
                by_shot = [rejection_aurocs(clf, X_te, y_te, k) for k in (1, 5)]
                for score in by_shot[0]:
                    reject_rows.append((name, score, by_shot[0][score], by_shot[1][score]))
                print(f"{name}: rules and rejection in {time.perf_counter() - t0:.0f} s",
                      flush=True)
            methods[label] += (clf.best_epoch_, clf.n_epochs_)
        for label, (emb, clf, fit_s, *epochs) in methods.items():
            res = []
            for n_shot in (1, 5):
                if clf is None:
                    res.append(nearest_centroid_episodes(emb, y_te, n_shot))
                else:
                    res.append(few_shot_accuracy(clf, X_te, y_te, 5, n_shot, N_QUERY, N_EPISODES, SEED))
            note = f"best epoch {epochs[0]}/{epochs[1]}" if epochs else ""
            rows.append((name, label, res[0], res[1], fit_s, note))

    print(f"5-way few-shot accuracy on unseen classes 5-9 (train on 0-4), "
          f"{N_EPISODES} episodes, {N_QUERY} queries/class, mean +- 95% CI\n")
    header = f"{'data':<9} {'method':<50} {'1-shot':>15} {'5-shot':>15} {'fit s':>6}  notes"
    print(header)
    print("-" * len(header))
    for name, label, r1, r5, fit_s, note in rows:
        print(f"{name:<9} {label:<50} {r1[0]:.3f} +- {r1[1]:.3f} "
              f"{r5[0]:.3f} +- {r5[1]:.3f} {fit_s:6.1f}  {note}")
    print(f"\nPrediction rules of ProtoClassifier (default fit), the first "
          f"{N_RULE_EPISODES} of the same episodes; 5-way accuracy, mean +- 95% CI\n")
    header = f"{'data':<9} {'rule':<50} {'1-shot':>15} {'5-shot':>15}"
    print(header)
    print("-" * len(header))
    for name, label, r1, r5 in rule_rows:
        print(f"{name:<9} {label:<50} {r1[0]:.3f} +- {r1[1]:.3f} {r5[0]:.3f} +- {r5[1]:.3f}")

    print(f"\nRejection of unknown classes: {N_KNOWN} known + {5 - N_KNOWN} unknown "
          f"held-out classes per episode ({N_RULE_EPISODES} episodes), ROC AUC of "
          f"known vs unknown queries, mean +- 95% CI\n")
    header = f"{'data':<9} {'score':<50} {'1-shot':>15} {'5-shot':>15}"
    print(header)
    print("-" * len(header))
    for name, label, r1, r5 in reject_rows:
        print(f"{name:<9} {label:<50} {r1[0]:.3f} +- {r1[1]:.3f} {r5[0]:.3f} +- {r5[1]:.3f}")

    print("\nadd_classes, 100 new classes x 5 shots (median of 20, goal < 50 ms)")
    for name, n_features, ms in timings:
        print(f"  {name:<9} ({n_features} features, default MLP): {ms:.1f} ms")


if __name__ == "__main__":
    main()

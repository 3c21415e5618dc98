"""Should ``rule="matching"`` also *train* with the matching rule?

Trains ``ProtoClassifier`` on MNIST-1D digits 0-4 twice, with the default
episodic prototypical loss and with an episodic Matching Networks loss (the
same episodes; each query's loss is ``-log`` of its class's share of the
cosine attention over the episode's support, temperature 0.1), then scores
5-way 1-shot and 5-shot episodes on the unseen digits 5-9 with both
prediction rules (the same 250 episodes for every row).  The answer decides
what docs/proto.md says about training with the matching rule.

Run: ``python benchmarks/bench_proto_matching.py`` (about 3-6 minutes on 2 CPU cores).
"""

import copy
import time
import warnings

import numpy as np
import torch
from torch import nn

from skmetric import ProtoClassifier
from skmetric.datasets import load_mnist1d
from skmetric.losses.prototypical import PrototypicalLoss
from skmetric.metrics.few_shot import few_shot_episodes

N_EPISODES = 250
N_QUERY = 15
SEED = 0


class MatchingEpisodeLoss(PrototypicalLoss):
    """Episodic Matching Networks loss (Vinyals et al., 2016), no context embedding.

    Same episode layout as the prototypical loss (the first ``n_shot``
    samples of each class are the support); a query's loss is
    ``-log sum_{support i of its class} softmax_i(cos(q, s_i) / temperature)``.
    """

    prefers_normalized = False

    def __init__(self, *, n_shot=None, metric="cosine", temperature=0.1):
        super().__init__(n_shot=n_shot, metric=metric, temperature=temperature)

    def compute_loss(self, embeddings, labels, indices_tuple):
        _, inverse, counts = torch.unique(labels, return_inverse=True, return_counts=True)
        # rank of each sample within its class, in batch order: the first
        # n_shot are the support
        order = torch.argsort(inverse, stable=True)
        starts = torch.cumsum(counts, 0) - counts
        rank = torch.empty_like(inverse)
        rank[order] = torch.arange(inverse.numel()) - starts[inverse[order]]
        is_support = rank < self.n_shot
        emb = nn.functional.normalize(embeddings, dim=1)
        sup, qry = emb[is_support], emb[~is_support]
        logits = qry @ sup.T / self.temperature
        same = inverse[~is_support][:, None] == inverse[is_support][None, :]
        log_total = torch.logsumexp(logits, dim=1)
        log_class = torch.logsumexp(logits.masked_fill(~same, float("-inf")), dim=1)
        return (log_total - log_class).mean()


def episode_accuracies(clf, X, y, n_shot):
    rules = {"prototype": dict(rule="prototype"),
             "matching, temperature=0.1": dict(rule="matching", temperature=0.1)}
    scores = {name: [] for name in rules}
    for support, query in few_shot_episodes(y, 5, n_shot, N_QUERY, N_EPISODES, SEED):
        episode = copy.copy(clf).add_classes(X[support], y[support], replace=True)
        for name, params in rules.items():
            c = copy.copy(episode).set_params(**params)
            scores[name].append(np.mean(c.predict(X[query]) == y[query]))
    return {name: (np.mean(v), 1.96 * np.std(v, ddof=1) / np.sqrt(len(v)))
            for name, v in scores.items()}


def main():
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", UserWarning)
    X_tr, X_te, y_tr, y_te = load_mnist1d()
    X_tr, y_tr = X_tr[y_tr < 5], y_tr[y_tr < 5]
    X_te, y_te = X_te[y_te >= 5], y_te[y_te >= 5]
    rows = []
    for label, loss in [("prototypical (default)", "prototypical"),
                        ("matching episodes, T=0.1", MatchingEpisodeLoss())]:
        t0 = time.perf_counter()
        clf = ProtoClassifier(loss, random_state=SEED).fit(X_tr, y_tr)
        fit_s = time.perf_counter() - t0
        res = [episode_accuracies(clf, X_te, y_te, k) for k in (1, 5)]
        for rule in res[0]:
            rows.append((label, rule, res[0][rule], res[1][rule], fit_s,
                         f"best epoch {clf.best_epoch_}/{clf.n_epochs_}"))
    print(f"MNIST-1D, train on digits 0-4, 5-way episodes on 5-9 ({N_EPISODES} episodes, "
          f"{N_QUERY} queries/class), mean +- 95% CI\n")
    header = (f"{'training loss':<26} {'prediction rule':<26} {'1-shot':>15} "
              f"{'5-shot':>15} {'fit s':>6}  notes")
    print(header)
    print("-" * len(header))
    for label, rule, r1, r5, fit_s, note in rows:
        print(f"{label:<26} {rule:<26} {r1[0]:.3f} +- {r1[1]:.3f} {r5[0]:.3f} +- "
              f"{r5[1]:.3f} {fit_s:6.1f}  {note}")


if __name__ == "__main__":
    main()

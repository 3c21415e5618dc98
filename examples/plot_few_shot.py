"""
Few-shot learning of new classes with ProtoClassifier
=====================================================

Train a prototypical network on MNIST-1D digits 0-4, then add digits 5-9
from a few labelled examples each with ``add_classes`` (no retraining), and
plot the accuracy on the new digits against the number of examples (shots)
per new class.  For comparison: the same nearest-class-mean rule on the raw
features (scikit-learn's ``NearestCentroid``).

Run: ``python examples/plot_few_shot.py`` (under a minute); writes
``plot_few_shot.png``.
"""

import copy

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import warnings  # noqa: E402

from sklearn.neighbors import NearestCentroid  # noqa: E402

from skmetric import ProtoClassifier  # noqa: E402
from skmetric.datasets import load_mnist1d  # noqa: E402

# 1-shot: NearestCentroid warns about zero within-class spread
warnings.filterwarnings("ignore", module="sklearn.neighbors._nearest_centroid")

X_train, X_test, y_train, y_test = load_mnist1d()
old_train = y_train < 5
new_train, new_test = y_train >= 5, y_test >= 5

# 1. learn the embedding on the old classes only
base = ProtoClassifier(validation_split="samples", max_epochs=40, random_state=0)  # 40: gallery time
base.fit(X_train[old_train], y_train[old_train])
print(f"trained {base.n_epochs_} epochs on classes {base.classes_.tolist()}")

shots = [1, 2, 5, 10, 20, 50]
rng = np.random.RandomState(0)
proto_acc, raw_acc, proto_all = [], [], []
for k in shots:
    accs, raws, alls = [], [], []
    for _ in range(10):  # 10 random draws of the support set
        support = np.concatenate([
            rng.choice(np.flatnonzero(new_train & (y_train == c)), k, replace=False)
            for c in range(5, 10)
        ])
        # 2. add the new classes from k examples each: one forward pass
        clf = copy.deepcopy(base).add_classes(X_train[support], y_train[support])
        # accuracy on unseen test samples of the new classes, 10-way (old + new)
        alls.append(clf.score(X_test[new_test], y_test[new_test]))
        # 5-way among the new classes only, against NearestCentroid on raw features
        emb_s, emb_t = clf.transform(X_train[support]), clf.transform(X_test[new_test])
        accs.append(NearestCentroid().fit(emb_s, y_train[support]).score(emb_t, y_test[new_test]))
        raws.append(NearestCentroid().fit(X_train[support], y_train[support])
                    .score(X_test[new_test], y_test[new_test]))
    proto_acc.append(np.mean(accs))
    raw_acc.append(np.mean(raws))
    proto_all.append(np.mean(alls))
    print(f"{k:>3} shots: ProtoClassifier 5-way {proto_acc[-1]:.3f}, 10-way {proto_all[-1]:.3f}; "
          f"raw NearestCentroid 5-way {raw_acc[-1]:.3f}")

fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(shots, proto_acc, "o-", label="ProtoClassifier, new classes only (5-way)")
ax.plot(shots, proto_all, "s--", label="ProtoClassifier, old + new classes (10-way)")
ax.plot(shots, raw_acc, "^:", label="NearestCentroid on raw features (5-way)")
ax.axhline(0.2, color="grey", lw=0.8, ls=":")
ax.set_xscale("log")
ax.set_xticks(shots, [str(s) for s in shots])
ax.set_xlabel("labelled examples per new class (shots)")
ax.set_ylabel("accuracy on unseen test samples of digits 5-9")
ax.set_title("MNIST-1D: trained on digits 0-4, digits 5-9 added few-shot")
ax.set_ylim(0, 1)
ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()
fig.savefig("plot_few_shot.png", dpi=120)
print("saved plot_few_shot.png")

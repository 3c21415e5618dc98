"""
Predicting unseen labels of a taxonomy with FrechetMeanPredictor (Loki)
========================================================================

A small taxonomy of 15 labels (root, 2 kingdoms-ish groups, 4 families, 8
species).  A LogisticRegression is trained on 4 species only.  Test points
come from every species and every internal node (an internal node's points
sit between its children's).  Plain argmax can only answer one of the 4
training species; the Fréchet mean over the tree answers any node, and
predicts a parent when the model hesitates between its children.

The picture draws the tree; each node shows how often it was the true label
(n) and how often Loki predicted it (p).  Observed classes are blue,
unseen labels that Loki predicted are orange, labels outside the locus (never
predictable from the observed classes) are grey-dashed.

Run: ``python examples/plot_frechet_taxonomy.py [output.png]``
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from skmetric._frechet import FrechetMeanPredictor  # noqa: E402
from skmetric.label_space import locus  # noqa: E402
from skmetric.metrics import expected_squared_distance  # noqa: E402

TAXONOMY = {
    "animal": "living thing",
    "plant": "living thing",
    "mammal": "animal",
    "bird": "animal",
    "tree": "plant",
    "flower": "plant",
    "cat": "mammal",
    "dog": "mammal",
    "owl": "bird",
    "crow": "bird",
    "oak": "tree",
    "pine": "tree",
    "rose": "flower",
    "tulip": "flower",
}
OBSERVED = ["cat", "dog", "owl", "oak"]  # the model only ever sees these

rng = np.random.default_rng(0)
children = {}
for c, p in TAXONOMY.items():
    children.setdefault(p, []).append(c)


def leaves_under(node):
    kids = children.get(node, [])
    return [node] if not kids else [leaf for k in kids for leaf in leaves_under(k)]


# features: each leaf has a random centre; an internal node's centre is the
# mean of its leaves' centres
leaf_centre = {leaf: 3.0 * rng.normal(size=6) for leaf in leaves_under("living thing")}
centre = {n: np.mean([leaf_centre[x] for x in leaves_under(n)], axis=0) for n in
          set(TAXONOMY) | set(TAXONOMY.values())}


def sample(names, n):
    names = np.repeat(names, n)
    return np.array([centre[x] for x in names]) + 0.8 * rng.normal(size=(names.size, 6)), names


X_train, y_train = sample(OBSERVED, 40)
loki = FrechetMeanPredictor(LogisticRegression(max_iter=1000), TAXONOMY).fit(X_train, y_train)
all_labels = loki.labels_
X_test, y_test = sample(all_labels, 20)
y_loki = loki.predict(X_test)
y_argmax = loki.estimator_.predict(X_test)

e_arg = expected_squared_distance(y_test, y_argmax, TAXONOMY)
e_loki = expected_squared_distance(y_test, y_loki, TAXONOMY)
print(f"E[d^2] argmax {e_arg:.3f}  Loki {e_loki:.3f}  reduction {(e_arg - e_loki) / e_arg:.1%}")
print(f"accuracy argmax {np.mean(y_argmax == y_test):.3f}  Loki {np.mean(y_loki == y_test):.3f}")
reachable = set(locus(TAXONOMY, OBSERVED).tolist())
print("locus of the observed classes:", sorted(reachable))

# ---- layout: leaves evenly spaced, parents centred over their children
pos, x_next = {}, [0.0]


def place(node, depth):
    kids = children.get(node, [])
    if not kids:
        pos[node] = (x_next[0], -depth)
        x_next[0] += 1.0
    else:
        for k in kids:
            place(k, depth + 1)
        pos[node] = (np.mean([pos[k][0] for k in kids]), -depth)


place("living thing", 0)
fig, ax = plt.subplots(figsize=(12, 5.5))
for c, p in TAXONOMY.items():
    ax.plot(*zip(pos[c], pos[p]), color="0.6", lw=1, zorder=1)
for node, (x, y) in pos.items():
    n_pred = int(np.sum(y_loki == node))
    correct = int(np.sum((y_loki == node) & (y_test == node)))
    if node in OBSERVED:
        style = dict(fc="#4c72b0", ec="k", ls="-")
    elif n_pred:
        style = dict(fc="#dd8452", ec="k", ls="-")
    elif node not in reachable:
        style = dict(fc="0.9", ec="0.5", ls="--")
    else:
        style = dict(fc="white", ec="k", ls="-")
    ax.add_patch(plt.Circle((x, y), 0.32, zorder=2, lw=1.2, **style))
    ax.text(x, y + 0.02, node.replace(" ", "\n"), ha="center", va="center", fontsize=8, zorder=3)
    ax.text(x, y - 0.5, f"p={n_pred} ({correct} ok)", ha="center", fontsize=7, color="0.25")
handles = [
    plt.Line2D([], [], marker="o", ls="", mfc="#4c72b0", mec="k", ms=10, label="observed in training"),
    plt.Line2D([], [], marker="o", ls="", mfc="#dd8452", mec="k", ms=10, label="unseen, predicted by Loki"),
    plt.Line2D([], [], marker="o", ls="", mfc="white", mec="k", ms=10, label="unseen, in locus, not predicted"),
    plt.Line2D([], [], marker="o", ls="", mfc="0.9", mec="0.5", ms=10, label="outside the locus"),
]
ax.legend(handles=handles, loc="lower left", fontsize=8, frameon=False, bbox_to_anchor=(0, -0.12), ncol=4)
ax.set_title(
    f"Loki on a taxonomy: trained on {len(OBSERVED)} species, tested on all {len(all_labels)} labels "
    f"(20 points each; p = times Loki predicted it, ok = correctly)\nE[d²]: argmax {e_arg:.2f} → Loki {e_loki:.2f} "
    f"({(e_arg - e_loki) / e_arg:.0%} lower)",
    fontsize=10,
)
ax.set_xlim(-0.7, x_next[0] - 0.3)
ax.set_ylim(-3.9, 0.6)
ax.set_aspect("equal")
ax.axis("off")
out = sys.argv[1] if len(sys.argv) > 1 else "frechet_taxonomy.png"
fig.savefig(out, dpi=110, bbox_inches="tight")
print("saved", out)

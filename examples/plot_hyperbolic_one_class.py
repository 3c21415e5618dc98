"""
One-class detection in the Poincaré ball (Hyp-OC)
=================================================

``HyperbolicOneClass`` learns from normal samples only.  Here the normal
class is the digit 0 of scikit-learn's digits: the detector is trained on 70%
of the zeros and scores the other 30% (inliers) against every other digit
(outliers).

Left: the histogram of ``score_samples`` (log-probability of "real") for
inliers and outliers, with the ``contamination="auto"`` threshold
log(1/2).  Right: a detector with a 2-D ball (``n_components=2``): the
Poincaré disc of radius 1/sqrt(c), the test points, and the boundary
p(real) = 1/2 of the default distance head: a geodesic circle around the
running mean of the training points in the ball (with ``head="mlr"``, the
paper's hyperbolic MLR, it would be where two hyperbolic hyperplanes'
logits tie).

Run: ``python examples/plot_hyperbolic_one_class.py`` (writes
``plot_hyperbolic_one_class.png``).
"""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from skmetric import HyperbolicOneClass  # noqa: E402

X, y = load_digits(return_X_y=True)
normal = 0
X_train, X_in = train_test_split(X[y == normal], train_size=0.7, random_state=0)
X_out = X[y != normal]
X_test = np.vstack([X_in, X_out])
is_inlier = np.r_[np.ones(len(X_in)), np.zeros(len(X_out))]

det = HyperbolicOneClass(random_state=0).fit(X_train)
scores = det.score_samples(X_test)
auc = roc_auc_score(is_inlier, scores)
print(f"ROC-AUC (digit {normal} vs the rest): {auc:.4f}")
print(f"predicted inliers among inliers: {np.mean(det.predict(X_in) == 1):.3f}, "
      f"among outliers: {np.mean(det.predict(X_out) == 1):.3f}")

# a second detector with a 2-D ball, for the picture
c = 1.0
det2 = HyperbolicOneClass(n_components=2, c=c, clip_radius=3.0, random_state=0).fit(X_train)
Z = det2.transform(X_test)
auc2 = roc_auc_score(is_inlier, det2.score_samples(X_test))

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5.5))
bins = np.linspace(scores.min(), 0, 60)
ax1.hist(scores[is_inlier == 1], bins=bins, alpha=0.6, density=True,
         label=f"inliers (digit {normal}, n={len(X_in)})")
ax1.hist(scores[is_inlier == 0], bins=bins, alpha=0.6, density=True,
         label=f"outliers (other digits, n={len(X_out)})")
ax1.axvline(det.offset_, color="k", ls="--", label="offset_ (contamination='auto')")
ax1.set_xlabel("score_samples = log p(real | x)")
ax1.set_ylabel("density")
ax1.set_title(f"HyperbolicOneClass, {det.embedding_size_}-D ball: ROC-AUC {auc:.3f}")
ax1.legend(loc="upper left")

radius = 1 / math.sqrt(c)
t = np.linspace(-radius, radius, 400)
gx, gy = np.meshgrid(t, t)
inside = gx**2 + gy**2 < radius**2 * (1 - 1e-3)
grid = torch.tensor(np.c_[gx.ravel(), gy.ravel()], dtype=torch.float32)
with torch.no_grad():
    logits = det2.module_.logits(grid).numpy()
p_real = np.exp(-np.logaddexp(0.0, logits[:, 1] - logits[:, 0]))
p_real = np.where(inside.ravel(), p_real, np.nan).reshape(gx.shape)
ax2.contourf(gx, gy, p_real, levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.35)
ax2.contour(gx, gy, p_real, levels=[0.5], colors="k", linewidths=1.5)
ax2.add_patch(plt.Circle((0, 0), radius, fill=False, color="k"))
ax2.scatter(*Z[is_inlier == 0].T, s=6, c="tab:orange", alpha=0.5, label="outliers")
ax2.scatter(*Z[is_inlier == 1].T, s=10, c="tab:blue", label="inliers")
ax2.set_xlim(-radius * 1.05, radius * 1.05)
ax2.set_ylim(-radius * 1.05, radius * 1.05)
ax2.set_aspect("equal")
ax2.set_title(f"2-D Poincaré disc (c={c}): transform(X_test), ROC-AUC {auc2:.3f}\n"
              "shading: p(real) of the distance head; black curve: p(real) = 1/2")
ax2.legend(loc="lower right")
fig.tight_layout()
fig.savefig("plot_hyperbolic_one_class.png", dpi=110)
print("saved plot_hyperbolic_one_class.png")

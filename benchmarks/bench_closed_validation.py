"""Would a noise-aware keep-start rule see a closed-set loss? (issue 18, goal 4)

On one set, ``bench_open_set.py --part closed``'s 70/30 split (seed 0),
standardised on the training part; inside the training part, 5 stratified
folds: per fold, ``MetricLearner(random_state=0)`` (the defaults) is fitted
on 4/5 of the rows and the 5-NN predictions of the held-out fifth
(references: the 4/5) are compared row by row with raw 5-NN's: ``b`` rows
the trained embedding gets right and raw wrong, ``c`` the reverse, and
their running sums ``B``, ``C`` with the sign-test statistic
``z = (B - C) / sqrt(B + C)``: what a keep-start rule on held-out samples
(paired, McNemar-style, or a binomial-SE margin) would see.  The test rows
are not used.

Run: ``python benchmarks/bench_closed_validation.py marketing``
"""
import os, sys, json, warnings
import numpy as np, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_open_set import load, subsample
from sklearn.model_selection import train_test_split, StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.neighbors import KNeighborsClassifier
from skmetric import MetricLearner
torch.set_num_threads(1)
name = sys.argv[1]
X, y = subsample(*load(name), 4000)
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
sc = StandardScaler().fit(X_tr)
X_tr = sc.transform(X_tr).astype(np.float32)
knn = KNeighborsClassifier(5)
B = C = N = 0
for k, (fi, vi) in enumerate(StratifiedKFold(5, shuffle=True, random_state=0).split(X_tr, y_tr)):
    raw_v = knn.fit(X_tr[fi], y_tr[fi]).predict(X_tr[vi]) == y_tr[vi]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = MetricLearner(random_state=0).fit(X_tr[fi], y_tr[fi])
    ml_v = knn.fit(m.transform(X_tr[fi]), y_tr[fi]).predict(m.transform(X_tr[vi])) == y_tr[vi]
    b = int(np.sum(ml_v & ~raw_v)); c = int(np.sum(~ml_v & raw_v)); B += b; C += c; N += vi.size
    print(json.dumps(dict(fold=k, n=int(vi.size), raw_v=float(raw_v.mean()),
                          ml_v=float(ml_v.mean()), b=b, c=c,
                          B=B, C=C, z=(B - C) / max(np.sqrt(B + C), 1))), flush=True)

"""Size of a pickled fitted estimator against the size of its network's weights.

For each torch estimator, fitted for 2 epochs on digits in this process:
``weights`` is ``torch.save`` of the trained module's ``state_dict`` (the
anchor: what the estimator must carry to predict), ``pickle`` is
``pickle.dumps`` of the whole estimator, and ``opt. state`` is the size of
the optimizer's per-parameter state (Adam's two moments), which the pickle
leaves out.  The ratio is pickle / weights; before the optimizer state and
the second copies of the network were left out it was 6.0 for
MetricLearner() (8.12 MB) and 8.1 for ProtoClassifier() (11.01 MB).

Run: ``python benchmarks/bench_pickle.py`` (a few seconds).
"""

import io
import pickle

import numpy as np
import torch
from sklearn.datasets import load_digits

from skmetric import AnyLossClassifier, HyperbolicOneClass, MetricLearner, ProtoClassifier


def _nbytes(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.tell()


def main():
    X, y = load_digits(return_X_y=True)
    estimators = {
        "MetricLearner()": MetricLearner(max_epochs=2, random_state=0),
        "ProtoClassifier()": ProtoClassifier(max_epochs=2, random_state=0),
        "AnyLossClassifier()": AnyLossClassifier(max_epochs=2, random_state=0),
        "HyperbolicOneClass()": HyperbolicOneClass(max_epochs=2, random_state=0),
    }
    print(f"{'estimator':<22}{'weights':>11}{'pickle':>11}{'opt. state':>12}{'ratio':>8}")
    for name, est in estimators.items():
        if isinstance(est, HyperbolicOneClass):
            est.fit(X[y == 0])
        else:
            est.fit(X, y)
        weights = _nbytes(est.module_.state_dict())
        size = len(pickle.dumps(est))
        state = est.net_.optimizer_.state
        opt = _nbytes([v for v in state.values()]) if state else 0
        print(f"{name:<22}{weights / 1e6:>9.2f}MB{size / 1e6:>9.2f}MB"
              f"{opt / 1e6:>10.2f}MB{size / weights:>8.2f}")
        loaded = pickle.loads(pickle.dumps(est))
        assert np.array_equal(
            loaded.score_samples(X) if isinstance(est, HyperbolicOneClass) else loaded.transform(X)
            if hasattr(est, "transform") and not isinstance(est, AnyLossClassifier)
            else loaded.predict_proba(X),
            est.score_samples(X) if isinstance(est, HyperbolicOneClass) else est.transform(X)
            if hasattr(est, "transform") and not isinstance(est, AnyLossClassifier)
            else est.predict_proba(X),
        )


if __name__ == "__main__":
    main()

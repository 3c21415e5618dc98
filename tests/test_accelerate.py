"""Training through skorch's Hugging Face Accelerate integration (one CPU process)."""

import pickle
import subprocess
import sys

import numpy as np
import pytest

from skmetric import AnyLossClassifier, HyperbolicOneClass, MetricLearner, ProtoClassifier

accelerate = pytest.importorskip("accelerate")


@pytest.fixture(scope="module")
def accelerator():
    return accelerate.Accelerator(cpu=True)


def test_same_training_as_plain_torch_on_one_cpu_process(digits_split, accelerator):
    X_tr, X_te, y_tr, _ = digits_split
    params = dict(max_epochs=3, hidden_sizes=(32,), validation_fraction=0.2, random_state=0)
    plain = MetricLearner(**params).fit(X_tr, y_tr)
    accel = MetricLearner(accelerator=accelerator, **params).fit(X_tr, y_tr)
    np.testing.assert_array_equal(plain.history_[:, "train_loss"], accel.history_[:, "train_loss"])
    np.testing.assert_array_equal(plain.history_[:, "valid_score"], accel.history_[:, "valid_score"])
    np.testing.assert_array_equal(plain.transform(X_te), accel.transform(X_te))


def test_accelerated_estimator_pickles_and_loads_in_a_new_process(digits_split, accelerator,
                                                                  tmp_path):
    X_tr, X_te, y_tr, _ = digits_split
    est = MetricLearner(max_epochs=2, hidden_sizes=(16,), accelerator=accelerator,
                        random_state=0).fit(X_tr, y_tr)
    path = tmp_path / "est.pkl"
    path.write_bytes(pickle.dumps(est))
    np.save(tmp_path / "X.npy", X_te)
    code = (
        "import pickle, numpy as np, sys; "
        f"m = pickle.loads(open({str(path)!r}, 'rb').read()); "
        f"np.save({str(tmp_path / 'Z.npy')!r}, m.transform(np.load({str(tmp_path / 'X.npy')!r})))"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "Z.npy"), est.transform(X_te))


@pytest.mark.parametrize("estimator", [
    ProtoClassifier(max_epochs=2, hidden_sizes=(16,), random_state=0),
    AnyLossClassifier(max_epochs=2, random_state=0),
])
def test_classifiers_train_with_an_accelerator(digits_split, accelerator, estimator):
    X_tr, X_te, y_tr, y_te = digits_split
    est = estimator.set_params(accelerator=accelerator).fit(X_tr, y_tr)
    assert est.score(X_te, y_te) > 0.8
    pickle.loads(pickle.dumps(est))


def test_one_class_trains_with_an_accelerator(digits_split, accelerator):
    X_tr, X_te, y_tr, y_te = digits_split
    est = HyperbolicOneClass(max_epochs=2, random_state=0, accelerator=accelerator)
    est.fit(X_tr[y_tr == 0])
    assert set(np.unique(est.predict(X_te))) <= {-1, 1}


def test_accelerate_example_runs_on_one_cpu_process():
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "examples" / "train_with_accelerate.py"
    out = subprocess.run([sys.executable, str(script), "--epochs", "2"], check=True,
                         capture_output=True, text=True).stdout
    assert "1 process(es) on cpu" in out and "held-out 5-NN accuracy" in out

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from torch import nn

from skmetric import MetricLearner, ProtoClassifier
from skmetric._export import is_plain_torch


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:240].astype(np.float32), y[:240]


def _out(model, X):
    with torch.no_grad():
        return model(torch.as_tensor(X, dtype=torch.float32)).numpy()


def _assert_close(out, ref):
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(out, ref, rtol=0, atol=2e-6 * scale)


ESTIMATORS = {
    "mlp_normalized": lambda: MetricLearner(max_epochs=2, random_state=0),
    "linear": lambda: MetricLearner(module="linear", max_epochs=2, random_state=0),
    "mlp_pca_3_layers": lambda: MetricLearner(
        "multi_similarity", n_components=8, hidden_sizes=(32, 16, 12), max_epochs=2,
        random_state=0),
    "mlp_unnormalized": lambda: MetricLearner(
        "contrastive", normalize=False, hidden_sizes=(16,), dropout=0.0, max_epochs=2,
        random_state=0),
    "proto": lambda: ProtoClassifier(max_epochs=2, random_state=0),
}


@pytest.mark.parametrize("name", list(ESTIMATORS))
@pytest.mark.parametrize("offset", [0.0, 1000.0])
def test_exported_equals_transform_and_is_plain_torch(digits, name, offset):
    X, y = digits
    X = X + np.float32(offset)  # centring must stay exact far from the origin
    est = ESTIMATORS[name]().fit(X, y)
    model = est.to_torch()
    assert is_plain_torch(model)
    assert all(type(m).__module__.startswith("torch.nn.") for m in model.modules())
    assert not model.training
    ref = est.transform(X)
    _assert_close(_out(model, X), ref)
    # no batch norm or dropout left: train mode computes the same
    _assert_close(_out(model.train(), X), ref)
    assert next(model.parameters()).dtype == torch.float32


def test_export_is_a_copy(digits):
    X, y = digits
    est = MetricLearner(max_epochs=1, random_state=0).fit(X, y)
    before = est.transform(X)
    model = est.to_torch()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    np.testing.assert_array_equal(est.transform(X), before)


def test_user_module_of_torch_layers_gets_the_normalization(digits):
    X, y = digits
    module = nn.Sequential(nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 8))
    est = MetricLearner(module=module, normalize=True, max_epochs=2, random_state=0).fit(X, y)
    model = est.to_torch()
    assert is_plain_torch(model)
    assert isinstance(model[-1], nn.RMSNorm)
    out = _out(model, X)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-6)
    _assert_close(out, est.transform(X))


class _Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(64, 6)

    def forward(self, x):
        return torch.sin(self.lin(x))


def test_user_module_of_its_own_class_is_copied(digits):
    X, y = digits
    est = MetricLearner(module=_Custom(), normalize=False, max_epochs=1,
                        random_state=0).fit(X, y)
    model = est.to_torch()
    assert isinstance(model, _Custom) and model is not est.module_
    assert not is_plain_torch(model)
    _assert_close(_out(model, X), est.transform(X))


def test_not_fitted():
    with pytest.raises(NotFittedError):
        MetricLearner().to_torch()
    with pytest.raises(NotFittedError):
        ProtoClassifier().to_torch()


def test_torch_load_in_a_process_without_skmetric(digits, tmp_path):
    X, y = digits
    est = MetricLearner(max_epochs=2, random_state=0).fit(X, y)
    torch.save(est.to_torch(), tmp_path / "embedder.pt")
    np.save(tmp_path / "X.npy", X)
    script = textwrap.dedent(
        """
        import sys

        class BlockSkmetric:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "skmetric":
                    raise ImportError("skmetric is blocked in this process")

        sys.meta_path.insert(0, BlockSkmetric())
        import numpy as np
        import torch

        model = torch.load("embedder.pt", weights_only=False)
        with torch.no_grad():
            out = model(torch.as_tensor(np.load("X.npy")))
        np.save("out.npy", out.numpy())
        assert not any(m.split(".")[0] == "skmetric" for m in sys.modules)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True, timeout=120,
                   env={**env, "OMP_NUM_THREADS": "1"})
    _assert_close(np.load(tmp_path / "out.npy"), est.transform(X))


def test_blocker_really_blocks(tmp_path):
    # the control: the same blocker makes importing skmetric fail
    script = textwrap.dedent(
        """
        import sys

        class BlockSkmetric:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "skmetric":
                    raise ImportError("skmetric is blocked in this process")

        sys.meta_path.insert(0, BlockSkmetric())
        import skmetric
        """
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    res = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PYTHONPATH": root})
    assert res.returncode != 0
    assert "skmetric is blocked in this process" in res.stderr


@pytest.mark.parametrize("shared", [True, False])
def test_tuple_learner_exports_both_sides(digits, shared):
    from skmetric import PairMetricLearner

    X, y = digits
    rng = np.random.RandomState(0)
    pairs = np.array([[i, rng.choice(np.flatnonzero(y == y[i]))] for i in range(len(y))])
    est = PairMetricLearner(preprocessor=X, shared=shared, hidden_sizes=(16,), max_epochs=2,
                            validation_fraction=None, random_state=0).fit(pairs)
    for side in ("query", "corpus"):
        model = est.to_torch(side=side)
        assert is_plain_torch(model)
        _assert_close(_out(model, X), est.transform(X, side=side))
    with pytest.raises(ValueError, match="`side` must be 'query' or 'corpus'; got 'docs'"):
        est.to_torch(side="docs")


@pytest.mark.parametrize("encoder", ["linear", "mlp"])
def test_tldr_exports(digits, encoder):
    from skmetric import TLDR

    X, _ = digits
    est = TLDR(n_components=8, encoder=encoder, hidden_sizes=(16,), max_epochs=2,
               random_state=0).fit(X)
    model = est.to_torch()
    assert is_plain_torch(model)
    _assert_close(_out(model, X), est.transform(X))
    _assert_close(_out(model.train(), X), est.transform(X))

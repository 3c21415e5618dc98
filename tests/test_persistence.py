"""Persistence: pickle / joblib round trips into a fresh process, CUDA pickles on
a CPU-only machine, and the version stamp."""

import copy
import os
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from unittest import mock

import joblib
import numpy as np
import pytest
import torch
import torch.serialization
from skorch.exceptions import DeviceWarning

import skmetric
from skmetric import MetricLearner, PickleVersionWarning
from skmetric._training._persistence import FITTED_KEY, VERSION_KEY

from _fitted import CASES, fitted, outputs

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.filterwarnings(
    "ignore::skmetric.StartingModelKeptWarning", "ignore::skmetric.CollapsedEmbeddingWarning"
)

_CHILD = textwrap.dedent("""
    import pickle, sys, warnings
    import joblib, numpy as np, torch
    torch.set_num_threads(int(sys.argv[2]))
    warnings.simplefilter("error")  # the same version: loading must not warn
    jobs = pickle.load(open(sys.argv[1], "rb"))
    for job in jobs:
        load = joblib.load if job["format"] == "joblib" else (
            lambda p: pickle.load(open(p, "rb")))
        model = load(job["path"])
        got = {m: np.asarray(getattr(model, m)(X)) for m, X in job["calls"]}
        np.savez(job["out"], **got)
""")


@pytest.fixture(scope="module")
def fresh_process_outputs(tmp_path_factory):
    """Fit every case here, load it in one new Python process; both outputs."""
    tmp = tmp_path_factory.mktemp("persistence")
    jobs, expected = [], {}
    for name in CASES:
        est = fitted(name)
        expected[name] = outputs(est, name)
        for fmt in ("pickle", "joblib"):
            path = tmp / f"{name}.{fmt}"
            if fmt == "pickle":
                path.write_bytes(pickle.dumps(est))
            else:
                joblib.dump(est, path)
            jobs.append(dict(name=name, format=fmt, path=str(path),
                             calls=CASES[name][2], out=str(tmp / f"{name}-{fmt}.npz")))
    (tmp / "jobs.pkl").write_bytes(pickle.dumps(jobs))
    (tmp / "child.py").write_text(_CHILD)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(tmp / "child.py"), str(tmp / "jobs.pkl"),
         str(torch.get_num_threads())],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    got = {}
    for job in jobs:
        with np.load(job["out"]) as f:
            got[job["name"], job["format"]] = {k: f[k] for k in f.files}
    return expected, got


@pytest.mark.parametrize("fmt", ["pickle", "joblib"])
@pytest.mark.parametrize("name", list(CASES))
def test_fresh_process_gives_the_same_bytes(fresh_process_outputs, name, fmt):
    expected, got = fresh_process_outputs
    loaded = got[name, fmt]
    assert loaded.keys() == expected[name].keys()
    for method, want in expected[name].items():
        have = loaded[method]
        assert (have.dtype, have.shape) == (want.dtype, want.shape), method
        assert have.tobytes() == want.tobytes(), method


@pytest.mark.parametrize("name", ["MetricLearner", "HyperbolicOneClass", "FrechetMeanPredictor"])
def test_deepcopy_is_bit_identical(name):
    est = fitted(name)
    twin = copy.deepcopy(est)
    got = outputs(twin, name)
    for method, want in outputs(est, name).items():
        assert got[method].tobytes() == want.tobytes()


def test_fitted_state_is_one_torch_blob_and_parameters_stay_plain():
    est = fitted("MetricLearner")
    state = est.__getstate__()
    assert set(state) == set(est.get_params(deep=False)) | {VERSION_KEY, FITTED_KEY}
    assert state[VERSION_KEY] == skmetric.__version__
    unfitted = MetricLearner(hidden_sizes=(4,)).__getstate__()
    assert FITTED_KEY not in unfitted  # nothing to pack before fit


# ------------------------------------------------------------ CUDA -> CPU
def _dumps_as_if_on_cuda(obj):
    """``pickle.dumps(obj)`` with every tensor storage tagged as living on cuda:0."""
    with mock.patch.object(torch.serialization, "location_tag", lambda storage: "cuda:0"):
        return pickle.dumps(obj)


def _set_cuda(est):
    """Make a CPU-fitted estimator look fitted with ``device="cuda"``."""
    inner = getattr(est, "estimator_", est)
    inner.set_params(device="cuda")
    inner.net_.device = "cuda"
    return inner


def test_the_fake_cuda_pickle_cannot_load_without_mapping(monkeypatch):
    blob = _dumps_as_if_on_cuda(torch.ones(3))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="Attempting to deserialize object on a CUDA device"):
        pickle.loads(blob)


@pytest.mark.parametrize("name", list(CASES))
def test_cuda_fitted_model_loads_and_predicts_on_a_cpu_only_machine(name, monkeypatch):
    est = fitted(name)
    expected = outputs(est, name)
    _set_cuda(est)
    blob = _dumps_as_if_on_cuda(est)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(DeviceWarning, match="no CUDA devices are available"):
        loaded = pickle.loads(blob)
    inner = getattr(loaded, "estimator_", loaded)
    assert inner.device == "cuda"  # the parameter is the user's: a refit needs CUDA
    assert str(inner.net_.device) == "cpu"
    tensors = [*inner.module_.parameters(), *inner.module_.buffers(),
               *inner.net_.criterion_.parameters()]
    assert tensors and all(t.device.type == "cpu" for t in tensors)
    got = outputs(loaded, name)
    for method, want in expected.items():
        assert got[method].tobytes() == want.tobytes(), method
    with pytest.raises(ValueError, match=re.escape(
        "device='cuda' was requested but CUDA is not available."
    )):
        inner.fit(*CASES[name][1])


# ----------------------------------------------------------------- versions
def _pickled_under(version, obj, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(skmetric, "__version__", version)
        return pickle.dumps(obj)


@pytest.mark.parametrize("name", ["MetricLearner", "TLDR", "FrechetMeanPredictor"])
def test_other_version_warns_and_still_loads(name, monkeypatch):
    est = fitted(name)
    blob = _pickled_under("0.0.1", est, monkeypatch)
    message = (f"{type(est).__name__} was pickled with skmetric 0.0.1 and is loaded "
               f"with skmetric {skmetric.__version__}; it may fail or give different "
               "results. Refit it with this version, or load it with the version "
               "that saved it.")
    with pytest.warns(PickleVersionWarning, match=re.escape(message)) as record:
        loaded = pickle.loads(blob)
    # a wrapped estimator warns too, before its wrapper (unpickled first)
    w = {r.message.estimator_name: r.message for r in record
         if isinstance(r.message, PickleVersionWarning)}
    mine = w[type(est).__name__]
    assert (mine.original_version, mine.current_version) == ("0.0.1", skmetric.__version__)
    if name == "FrechetMeanPredictor":
        assert set(w) == {"FrechetMeanPredictor", "ProtoClassifier"}
    for method, want in outputs(est, name).items():
        assert outputs(loaded, name)[method].tobytes() == want.tobytes()
    assert VERSION_KEY not in vars(loaded)


def test_same_version_does_not_warn_unfitted_too(recwarn, monkeypatch):
    pickle.loads(pickle.dumps(fitted("AnyLossClassifier")))
    pickle.loads(pickle.dumps(MetricLearner()))
    assert not [w for w in recwarn if issubclass(w.category, PickleVersionWarning)]
    blob = _pickled_under("9.9", MetricLearner(), monkeypatch)
    with pytest.warns(PickleVersionWarning, match="pickled with skmetric 9.9"):
        pickle.loads(blob)


def test_pickle_without_a_version_stamp_warns_as_unknown():
    est = MetricLearner()
    state = est.__getstate__()
    del state[VERSION_KEY]
    blank = MetricLearner.__new__(MetricLearner)
    with pytest.warns(PickleVersionWarning, match="pickled with skmetric unknown"):
        blank.__setstate__(state)
    assert blank.get_params() == est.get_params()


def test_version_warning_is_public_and_pickles():
    w = PickleVersionWarning("MetricLearner", "0.2", "0.1")
    assert issubclass(PickleVersionWarning, UserWarning)
    assert PickleVersionWarning.__module__ == "skmetric" and "PickleVersionWarning" in skmetric.__all__
    again = pickle.loads(pickle.dumps(w))
    assert str(again) == str(w) and again.original_version == "0.1"

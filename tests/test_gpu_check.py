"""benchmarks/gpu_check.py: one line and exit 0 without CUDA; a CPU dry run works."""

import importlib.util
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


def _load():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_skips_cleanly_without_cuda(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _load().main([]) == 0
    out = capsys.readouterr().out
    assert out == "gpu_check: no CUDA device available; skipped.\n"


@pytest.mark.slow
def test_cpu_dry_run_prints_every_part(capsys):
    assert _load().main(["--device", "cpu", "--repeats", "1", "--fit-rows", "600",
                         "--knn-refs", "512"]) == 0
    out = capsys.readouterr().out
    for text in ("normalized_softmax", "same nearest neighbour: True",
                 "MetricLearner.fit, one epoch, 600 x 64", "fit/bare time ratio"):
        assert text in out

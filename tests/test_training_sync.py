"""The fit loop reads the batch losses once per epoch, with history unchanged."""

import pytest
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback

from skmetric import MetricLearner
from skmetric._training._callbacks import StopTraining
from skmetric._training._engine import _EngineNet, _host_floats


def _fit_history(X, y, **params):
    est = MetricLearner(max_epochs=3, batch_size=16, validation_fraction=None,
                        random_state=0, **params).fit(X, y)
    return [(row.get("train_loss"), [b.get("train_loss") for b in row.get("batches", [])])
            for row in est.history_]


@pytest.mark.parametrize("loss", ["normalized_softmax", "contrastive"])
def test_history_is_skorchs_per_batch_item(blobs, loss, monkeypatch):
    X, y = blobs
    ours = _fit_history(X, y, loss=loss)
    # skorch's own loop (``loss.item()`` after every batch) on the same fit
    monkeypatch.setattr(_EngineNet, "run_single_epoch", NeuralNet.run_single_epoch)
    skorchs = _fit_history(X, y, loss=loss)
    assert ours == skorchs
    assert all(isinstance(v, float) for _, batches in ours[1:] for v in batches)
    assert len(ours[1][1]) == 4  # 60 rows, batches of 16


class _StopAtBatch(Callback):
    def on_batch_end(self, net, training=None, **kwargs):
        if len(net.history) == 2 and len(net.history[-1]["batches"]) == 2:
            raise StopTraining("stop")


def test_an_epoch_ended_by_a_callback_keeps_its_batch_losses(blobs):
    X, y = blobs
    est = MetricLearner(max_epochs=3, batch_size=16, validation_fraction=None,
                        random_state=0, callbacks=[("stop", _StopAtBatch())]).fit(X, y)
    batches = est.net_.history[-1]["batches"]
    assert len(batches) == 2
    assert all(isinstance(b["train_loss"], float) and b["train_loss"] > 0 for b in batches)


def test_host_floats_equal_item_for_every_dtype():
    values = [torch.tensor(1 / 3, dtype=dt) for dt in (torch.float32, torch.float64)]
    values += [torch.tensor(0.1, dtype=torch.bfloat16), torch.tensor([2.5])]
    assert _host_floats(values) == [v.item() for v in values]
    same = [torch.tensor(v, dtype=torch.float32) for v in (0.1, 0.2, 1e-8)]
    assert _host_floats(same) == [v.item() for v in same]

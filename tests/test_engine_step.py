"""The fit loop's lean paths give the same fit as skorch's and torch's own.

``_LeanBatches`` replaces the per-epoch ``DataLoader`` outside Accelerate;
it must yield the same batches and leave torch's global generator where the
``DataLoader`` leaves it (dropout draws after it), so that fits stay
bit-identical.
"""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_wine
from sklearn.preprocessing import StandardScaler

import skmetric._training._engine as engine
from skmetric import MetricLearner


def _fit(X, y):
    est = MetricLearner(random_state=0, max_epochs=3, batch_size=32, dropout=0.3,
                        hidden_sizes=(16,),
                        validation_fraction=0.2)
    return est.fit(X, y)


@pytest.mark.slow  # two MLP fits with validation (seconds on a loaded machine)
def test_lean_batches_equal_dataloader_fit(monkeypatch):
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    lean = _fit(X, y)
    monkeypatch.setattr(engine._BatchLoader, "__init__",
                        lambda self, sampler, lean=False: vars(self).update(
                            sampler=sampler, lean=False))
    plain = _fit(X, y)
    assert isinstance(plain.net_.get_iterator(plain.net_.get_dataset(X.astype(np.float32),
                                                                     y), training=True),
                      torch.utils.data.DataLoader)
    for a, b in zip(lean.module_.state_dict().values(), plain.module_.state_dict().values()):
        assert torch.equal(a, b)
    keys = ("train_loss", "valid_score")
    assert ([[h.get(k) for k in keys] for h in lean.history_]
            == [[h.get(k) for k in keys] for h in plain.history_])
    # several batches per epoch, and training moved the weights
    assert lean.history_[1]["train_batch_count"] > 1
    assert lean.history_[1]["train_loss"] != lean.history_[3]["train_loss"]


def test_lean_batches_draw_as_a_dataloader():
    data = engine._TensorBatches(torch.arange(10.0).reshape(5, 2), torch.arange(5))
    batches = [torch.tensor([3, 1]), torch.tensor([0, 4, 2])]
    torch.manual_seed(7)
    loader = torch.utils.data.DataLoader(data, batch_sampler=batches,
                                         collate_fn=engine._whole_batch)
    expected = [tuple(t.clone() for t in b) for b in loader]
    after_loader = torch.rand(3)
    torch.manual_seed(7)
    got = list(engine._LeanBatches(data, batches))
    assert torch.equal(torch.rand(3), after_loader)
    assert len(got) == len(expected) == 2
    for (xa, ya), (xb, yb) in zip(got, expected):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)

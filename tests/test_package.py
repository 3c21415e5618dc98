import pytest
import torch

import skmetric
from skmetric.losses import LOSSES, get_loss


def test_version():
    assert skmetric.__version__.startswith("0.")


def test_unknown_loss_lists_valid_names():
    with pytest.raises(ValueError, match="Unknown loss 'nope'. Valid names are: \\["):
        get_loss("nope")


def test_registry_builds_every_loss():
    for name, cls in LOSSES.items():
        if getattr(cls, "takes_probabilities", False):  # AnyLoss: loss(probabilities, labels)
            p = torch.rand(6, dtype=torch.float64, requires_grad=True)
            value = get_loss(name)(p, torch.tensor([0, 0, 1, 1, 0, 1]))
            value.backward()
            assert torch.isfinite(value) and value.ndim == 0 and torch.isfinite(p.grad).all()
            continue
        kwargs = {}
        if cls.requires_num_classes:
            kwargs = {"num_classes": 3, "embedding_size": 4}
        loss = get_loss(name, **kwargs)
        emb = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
        value = loss.double()(emb, torch.tensor([0, 0, 1, 1, 2, 2]))
        value.backward()
        assert torch.isfinite(value) and value.ndim == 0

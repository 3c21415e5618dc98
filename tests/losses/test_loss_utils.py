"""Loss utilities: the masked log-sum-exp."""

import torch

from skmetric.losses import _utils


def test_masked_logsumexp():
    g = torch.Generator().manual_seed(0)
    x = 100 * torch.randn(5, 7, generator=g, dtype=torch.float64)
    mask = torch.rand(5, 7, generator=g) > 0.4
    mask[2] = False
    x.requires_grad_(True)
    out = _utils.masked_logsumexp(x, mask)
    out1 = _utils.masked_logsumexp(x, mask, add_one=True)
    for i in range(5):
        row = x[i][mask[i]]
        expected = torch.logsumexp(row, 0) if len(row) else torch.tensor(0.0, dtype=x.dtype)
        torch.testing.assert_close(out[i], expected)
        expected1 = torch.logsumexp(torch.cat([row, torch.zeros(1, dtype=x.dtype)]), 0)
        torch.testing.assert_close(out1[i], expected1)
    (out.sum() + out1.sum()).backward()
    assert torch.isfinite(x.grad).all()
    assert (x.grad[~mask] == 0).all()
    # along dim 0, float32 with huge values
    y = torch.tensor([[1e4, -1e4], [3e4, 0.0]], requires_grad=True)
    out = _utils.masked_logsumexp(y, torch.ones(2, 2, dtype=torch.bool), dim=0, add_one=True)
    torch.testing.assert_close(out, torch.tensor([3e4, 0.6931472]))


def test_masked_logsumexp_gradcheck():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 6, generator=g, dtype=torch.float64, requires_grad=True)
    mask = torch.rand(4, 6, generator=g) > 0.5
    mask[0] = False
    for dim in (0, 1):
        for add_one in (False, True):
            assert torch.autograd.gradcheck(
                lambda x: _utils.masked_logsumexp(x, mask, dim=dim, add_one=add_one), (x,)
            )

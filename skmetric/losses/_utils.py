"""Reductions shared by losses (pure torch).

Index tuples live in :mod:`skmetric._tuples` (shared with the miners);
reductions avoid host synchronisation.
"""

import torch

__all__ = ["masked_logsumexp", "pair_values", "log_counts"]


class _MaskedLogSumExp(torch.autograd.Function):
    # forward without autograd; backward: grad * softmax weights (saved)
    @staticmethod
    def forward(ctx, x, mask, dim, add_one):
        out, weights = _masked_lse_and_weights(x, mask, dim, add_one)
        ctx.save_for_backward(weights)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, grad):
        (weights,) = ctx.saved_tensors
        return weights * grad.unsqueeze(ctx.dim), None, None, None

def _masked_lse_and_weights(x, mask, dim, add_one):
    fill = torch.finfo(x.dtype).min
    z = x.masked_fill(~mask, fill)
    m = z.amax(dim, keepdim=True)
    if add_one:
        m.clamp_min_(0)
    else:
        m.masked_fill_(m == fill, 0)
    weights = z.sub_(m).exp_()  # kept entries: exp(x - m); dropped: exactly 0
    s = weights.sum(dim, keepdim=True)
    if add_one:
        s.add_(torch.exp(-m))
    else:
        s.masked_fill_(s == 0, 1.0)  # rows that keep nothing: log(1) = 0
    weights.div_(s)  # softmax weights (with the appended zero's share left out)
    out = s.log_().add_(m).squeeze(dim)
    return out, weights

def masked_logsumexp(x, mask, *, dim=1, add_one=False):
    r"""Log-sum-exp of the entries of ``x`` kept by ``mask``, along ``dim``.

    With ``add_one=True`` it computes :math:`\log(1 + \sum_j e^{x_j})`, i.e.
    a zero is appended to each row.  Dropped entries are filled with the
    dtype's finite minimum (never ``-inf``, whose gradient is NaN), the row
    maximum is subtracted before exponentiating, and rows that keep nothing
    give exactly 0 with a zero gradient.  One autograd node: the gradient is
    the (masked) softmax weights times the incoming gradient.
    """
    if torch.is_grad_enabled() and x.requires_grad:
        return _MaskedLogSumExp.apply(x, mask, dim, add_one)
    return _masked_lse_and_weights(x, mask, dim, add_one)[0]

def pair_values(distance, embeddings, pairs):
    """Distances of a few index pairs, or ``None`` when the full matrix is cheaper.

    ``pairs`` is a list of ``(i, j)`` index tensors.  Gathering rows and
    comparing them costs about ``n_pairs * D`` memory traffic, the matrix
    ``B^2 * D`` matrix-multiply flops, which run many times faster; the
    gather wins below roughly ``B^2 / 16`` pairs.
    """
    n = len(embeddings)
    if sum(len(i) for i, _ in pairs) * 16 > n * n:
        return None
    x = distance._maybe_normalize(embeddings)
    return [distance.compute_pairs(x[i], x[j]) for i, j in pairs]

def log_counts(counts):
    """``log(counts)`` where positive, 0 elsewhere (for log-sum-exps that
    count a pair ``c`` times: ``log sum c e^x = LSE(x + log c)``)."""
    return torch.where(counts > 0, counts.clamp_min(1).log(), torch.zeros((), dtype=counts.dtype))

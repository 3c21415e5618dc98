"""Forward+backward time of skmetric's losses that pytorch-metric-learning lacks,
against a plain-torch (vectorised) implementation of the same formula.

Batches of 256 and 1,024, embedding size 128, classes of 8 samples (32 and
128 classes), float32, CPU, one thread, one process.  Both sides get the same
embeddings and the same class vectors (the plain function receives the
skmetric loss's class-vector parameter, laid out ``(embedding_size,
num_classes)``).  Each step is ``loss(emb, labels).backward()``; the two
sides alternate (interleaved) and each time is the **minimum** over
``--repeats`` steps after warm-up.  Times are the process's CPU time
(``time.process_time``), not wall-clock time, so that other jobs on a shared
machine do not count (they still disturb caches).

"ratio" is plain time / skmetric time (> 1: skmetric is faster);
"|dvalue|" the absolute difference of the loss values and "|dgrad|" the
largest absolute difference of the embedding gradients.

To add a loss: one entry in ``CASES``, ``name -> (plain function, kwargs)``;
``kwargs`` go to both ``get_loss(name, **kwargs)`` and ``plain(emb, labels, W,
**kwargs)`` (``W`` is ``None`` for losses without class vectors).

Run: ``.venv/bin/python benchmarks/bench_new_losses.py [--repeats 15]
[--batches 256 1024] [--only nca z_loss]``
"""

import argparse
import math
import time

import torch
import torch.nn.functional as F

from skmetric.losses import get_loss

D, K = 128, 8


def _cos(emb, W):
    return F.normalize(emb, dim=1) @ F.normalize(W, dim=0)


def _true(m, labels):
    return m.gather(1, labels[:, None]).squeeze(1)


def plain_z_loss(emb, labels, W, a=1.0, b=2.0):
    o = emb @ W
    z = (_true(o, labels) - o.mean(1)) / (o.std(1, unbiased=False) + 1e-8)
    return (F.softplus(a * (b - z)) / a).mean()


def plain_unpg(emb, labels, W, scale=64.0, margin_deg=28.6, whisker=1.5):
    m = math.radians(margin_deg)
    cos = _cos(emb, W)
    onehot = F.one_hot(labels, W.shape[1]).bool()
    c = cos.clamp(-1 + 1e-7, 1 - 1e-7)
    arc = torch.where(c < -math.cos(m), c - m * math.sin(m), torch.cos(torch.acos(c) + m))
    logits = scale * torch.where(onehot, arc, cos)
    x = F.normalize(emb, dim=1)
    sims = x @ x.T
    upper = torch.triu(torch.ones_like(sims, dtype=torch.bool), 1)
    negs = sims[upper & (labels[:, None] != labels[None, :])]
    s, _ = negs.detach().sort()
    q1, q3 = s[len(s) // 4], s[3 * len(s) // 4]
    negs = negs[(negs >= q1 - whisker * (q3 - q1)) & (negs <= q3 + whisker * (q3 - q1))]
    # the same extra columns in every row: their log-sum-exp enters each denominator
    extra = torch.logsumexp(scale * negs, 0).expand(len(emb), 1)
    return (torch.logsumexp(torch.cat([logits, extra], 1), 1) - _true(logits, labels)).mean()


def plain_circle_proxy(emb, labels, W, m=0.25, gamma=256.0):
    s = _cos(emb, W)
    onehot = F.one_hot(labels, W.shape[1]).bool()
    sp = _true(s, labels)
    lp = gamma * (1 + m - sp.detach()).clamp_min(0) * (sp - (1 - m))
    ln = gamma * (s.detach() + m).clamp_min(0) * (s - m)
    ln = ln.masked_fill(onehot, float("-inf"))
    return F.softplus(torch.logsumexp(ln, 1) - lp).mean()


def plain_gce(emb, labels, W, q=0.7, temperature=0.05):
    p = _true(torch.softmax(_cos(emb, W) / temperature, 1), labels)
    return ((1 - p.pow(q)) / q).mean()


def plain_ldr(emb, labels, W, margin=1.0, temperature=1.0, alpha=2.0, scale=10.0):
    o = scale * _cos(emb, W)
    k = o.shape[1]
    pi = torch.softmax(o.detach() / temperature, 1)
    kl = (pi * torch.log(k * pi)).sum(1)
    lam = (temperature * (1 - kl / (alpha * math.log(k))))[:, None]
    onehot = F.one_hot(labels, k).bool()
    diff = (o - _true(o, labels)[:, None] + margin).masked_fill(onehot, 0.0)
    loss = lam[:, 0] * (torch.logsumexp(diff / lam, 1) - math.log(k))
    return (loss - alpha * math.log(k) / (2 * temperature) * (lam[:, 0] - temperature) ** 2).mean()


def plain_nbc_softmax(emb, labels, W, ratio=0.5, tau=0.2, temperature=0.05):
    ce = F.cross_entropy(_cos(emb, W) / temperature, labels)
    sums = torch.zeros(W.shape[1], emb.shape[1]).index_add_(0, labels, emb)
    counts = torch.bincount(labels, minlength=W.shape[1])
    means = F.normalize(sums[counts > 0], dim=1)  # the norm cancels the 1/count
    sim = tau * (means @ means.T)
    sim = sim.masked_fill(torch.eye(len(means), dtype=torch.bool), 0.0)
    return (1 - ratio) * ce + ratio * torch.logsumexp(sim, 1).mean() / W.shape[1]


def plain_nca(emb, labels, W=None, temperature=1.0):
    d = torch.cdist(emb, emb).pow(2)
    d = d.masked_fill(torch.eye(len(emb), dtype=torch.bool), float("inf"))
    log_p = torch.log_softmax(-d / temperature, 1)
    same = (labels[:, None] == labels[None, :]).fill_diagonal_(False)
    per_anchor = -torch.logsumexp(log_p.masked_fill(~same, float("-inf")), 1)
    return per_anchor[same.any(1)].mean()


# registry name -> (plain function, kwargs shared by both sides)
CASES = {
    "z_loss": (plain_z_loss, {}),
    "unpg": (plain_unpg, {}),
    "circle_proxy": (plain_circle_proxy, {}),
    "generalized_cross_entropy": (plain_gce, {}),
    "ldr": (plain_ldr, {}),
    "nbc_softmax": (plain_nbc_softmax, {}),
    "nca": (plain_nca, {}),
}


def _class_vectors(loss):
    """The loss's class vectors as ``(embedding_size, num_classes)`` (a view), or ``None``."""
    if hasattr(loss, "class_vectors"):
        return loss.class_vectors(torch.float32).T
    params = list(loss.parameters())  # a wrapper (procsim) or a loss without the accessor
    if not params:
        return None
    w = params[0]
    return w if w.shape[0] == D else w.T


def _step(fn, emb, labels):
    emb.grad = None
    value = fn(emb, labels)
    value.backward()
    return value.detach(), emb.grad


def main(cases=CASES):
    """Time every case of ``cases`` (``name -> (plain function, kwargs)``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batches", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--only", nargs="*", default=None, help="loss names to run")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"dim {D}, classes of {K}, float32, CPU, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, min of {args.repeats} interleaved repeats (CPU time)")
    header = (f"{'batch':>5} {'loss':<28} {'skmetric ms':>11} {'plain ms':>9} {'ratio':>7} "
              f"{'|dvalue|':>9} {'|dgrad|':>9}")
    print(header)
    print("-" * len(header))
    for B in args.batches:
        torch.manual_seed(0)
        labels = torch.arange(B // K).repeat_interleave(K)[torch.randperm(B)]
        emb = torch.randn(B, D).requires_grad_(True)
        for name, (plain, kwargs) in cases.items():
            if args.only and name not in args.only:
                continue
            torch.manual_seed(1)
            loss = get_loss(name, **kwargs)
            if getattr(loss, "requires_num_classes", False):
                loss = get_loss(name, num_classes=B // K, embedding_size=D, **kwargs)
            W = _class_vectors(loss)
            ours = loss

            def theirs(e, y, plain=plain, W=W, kwargs=kwargs):
                return plain(e, y, W, **kwargs)

            v1, g1 = _step(ours, emb, labels)
            g1 = g1.clone()
            v2, g2 = _step(theirs, emb, labels)
            for _ in range(2):  # warm-up
                _step(ours, emb, labels)
                _step(theirs, emb, labels)
            t_ours, t_plain = [], []
            for _ in range(args.repeats):
                for fn, out in ((ours, t_ours), (theirs, t_plain)):
                    t0 = time.process_time()
                    _step(fn, emb, labels)
                    out.append(time.process_time() - t0)
            a, b = min(t_ours), min(t_plain)
            label = name + (f"({kwargs['geometry']})" if "geometry" in kwargs else "")
            print(f"{B:>5} {label:<28} {1e3 * a:>11.3f} {1e3 * b:>9.3f} {b / a:>7.2f} "
                  f"{(v1 - v2).abs().item():>9.2e} {(g1 - g2).abs().max().item():>9.2e}",
                  flush=True)


if __name__ == "__main__":
    main()

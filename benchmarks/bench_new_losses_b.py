"""Forward+backward time of the round-2 (b) losses against plain-torch versions
of the same formulas (pytorch-metric-learning has none of them).

Same protocol and harness as ``bench_new_losses.py`` (imported from it): batches of 256 and 1,024,
embedding size 128, classes of 8 samples (32 and 128 classes), float32, CPU,
one thread, one process.  Both sides get the same embeddings and the same
class vectors (the plain function receives the skmetric loss's class-vector
parameter laid out ``(embedding_size, num_classes)``, or ``None``).  Each
step is ``loss(emb, labels).backward()``; the sides alternate and each time
is the **minimum** over ``--repeats`` steps after warm-up.

"ratio" is plain time / skmetric time (> 1: skmetric is faster);
"|dvalue|" the absolute difference of the loss values, "|dgrad|" the largest
absolute difference of the embedding gradients.

``CASES``: ``name -> (plain function, kwargs)``; ``kwargs`` go to both
``get_loss(name, **kwargs)`` and ``plain(emb, labels, W, **kwargs)``.

Run: ``.venv/bin/python benchmarks/bench_new_losses_b.py [--repeats 15]
[--batches 256 1024] [--only contextual procsim]``
"""

import math

import torch
import torch.nn.functional as F

from bench_new_losses import D, main



def plain_pairwise_softmax(emb, labels, W=None, activation="tanh", temperature=2.0,
                           robust_temperature=0.05):
    x = F.normalize(emb, dim=1)
    f = x @ x.T / temperature
    same = labels[:, None] == labels[None, :]
    neg = ~same
    pos = same & ~torch.eye(len(x), dtype=torch.bool) & neg.any(1, keepdim=True)
    a, p = pos.nonzero(as_tuple=True)
    d = f[a] - f[a, p][:, None]
    act = {"tanh": torch.tanh, "atan": torch.atan}[activation]
    z = torch.log(act(d) + 1) / robust_temperature
    return torch.logsumexp(z.masked_fill(~neg[a], float("-inf")), 1).mean()


def _indicator(x, threshold, slope=10.0):
    # 1(x >= threshold) valued, slope * dx in the backward pass
    return (x >= threshold).float() + slope * (x - x.detach())


def plain_contextual(emb, labels, W=None, lam=0.4, gamma=0.1, k=4, eps=0.05, pos_margin=0.75,
                     neg_margin=0.6, reg_sim=0.25):
    x = F.normalize(emb, dim=1)
    s = x @ x.T
    n = len(x)
    closeness = -(2 - 2 * s).clamp_min(0) + eps
    top = (closeness - eps).topk(k, dim=1).values.detach()
    nk = _indicator(closeness, top[:, k - 1:k])
    nn_ = 1 - nk
    w_t = 0.5 * ((nk @ nk.T) / nk.sum(1, keepdim=True).detach()
                 + (nn_ @ nn_.T) / nn_.sum(1, keepdim=True).detach().clamp_min(1)) * nk
    nh = _indicator(closeness, top[:, k // 2 - 1:k // 2])
    r = nh * nh.T
    j = (r @ w_t) / r.sum(1, keepdim=True)
    j = 0.5 * (j + j.T)
    w = (labels[:, None] == labels[None, :]).float()
    off = 1 - torch.eye(n)
    ctx = (((1 - j) ** 2 * w + j ** 2 * (1 - w)) * off).sum() / n ** 2
    reg = (s.mean() - reg_sim) ** 2
    lp = F.relu(pos_margin - s) * w * off
    ln = F.relu(s - neg_margin) * (1 - w)
    con = lp.sum() / (lp > 0).sum().clamp_min(1) + ln.sum() / (ln > 0).sum().clamp_min(1)
    return lam * ctx + gamma * reg + (1 - lam - gamma) * con


def plain_mean_field_contrastive(emb, labels, W, pos_margin=0.02, neg_margin=0.3):
    d = 1 - F.normalize(emb, dim=1) @ F.normalize(W, dim=0)
    mask = F.one_hot(labels, W.shape[1]).float()
    return (F.relu(d - pos_margin) * mask + F.relu(neg_margin - d) * (1 - mask)).sum(1).mean()


def plain_mean_field_multi_similarity(emb, labels, W, alpha=0.01, beta=80.0, base=0.8):
    s = F.normalize(emb, dim=1) @ F.normalize(W, dim=0)
    C = W.shape[1]
    mask = F.one_hot(labels, C).float()
    mean = mask / mask.sum(0).clamp_min(1)
    pos = mean.T @ torch.exp(-alpha * (s - base))
    neg = mean.T @ torch.exp(beta * (s - base))
    neg = neg + neg.T
    eye = torch.eye(C)
    n = (mask.sum(0) > 0).sum()
    return (torch.log1p(pos * eye).sum() / (alpha * n)
            + torch.log1p(neg * (1 - eye)).sum() / (2 * beta * n))


def plain_procsim(emb, labels, W, temperature=0.1, softmax_temperature=0.05):
    x = F.normalize(emb, dim=1)
    w = F.normalize(W, dim=0)
    cos = x @ w
    with torch.no_grad():
        d = 1 - cos
        own = d.gather(1, labels[:, None])[:, 0]
        other = d.scatter(1, labels[:, None], math.inf).min(1).values
        conf = torch.sigmoid((1 - own / other) / temperature)
    ce = F.cross_entropy(cos / softmax_temperature, labels, reduction="none")
    return (conf * ce).sum() / conf.sum()


def _simplex(n, d):
    # regular simplex: the columns of the Helmert matrix (rows orthonormal and
    # orthogonal to the ones vector), zero-padded to d
    i = torch.arange(1, n, dtype=torch.float64)[:, None]
    j = torch.arange(n, dtype=torch.float64)[None, :]
    h = torch.where(j < i, 1.0, torch.where(j == i, -i, 0.0)) / torch.sqrt(i * (i + 1))
    out = torch.zeros(n, d, dtype=torch.float64)
    out[:, : n - 1] = h.T
    return F.normalize(out, dim=1).float()


def plain_ebv_simplex(emb, labels, W=None, geometry="simplex", temperature=0.07):
    C = int(labels.max()) + 1
    w = _simplex(C, emb.shape[1])
    return F.cross_entropy(F.normalize(emb, dim=1) @ w.T / temperature, labels)


# registry name -> (plain function, kwargs shared by both sides)
CASES = {
    "pairwise_softmax": (plain_pairwise_softmax, {}),
    "contextual": (plain_contextual, {}),
    "mean_field_contrastive": (plain_mean_field_contrastive, {}),
    "mean_field_multi_similarity": (plain_mean_field_multi_similarity, {}),
    "procsim": (plain_procsim, {}),
    "ebv": (plain_ebv_simplex, {"geometry": "simplex"}),
}


if __name__ == "__main__":
    main(CASES)

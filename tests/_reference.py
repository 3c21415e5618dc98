"""Slow loop references for the losses (plain Python over pairs and triplets).

Written from the formulas in the docstrings (and papers.md), independently of
the vectorised code, to catch a mask or reduction that PML and skmetric
might share by accident.  Embeddings are float tensors; the result is a
0-d tensor in the graph of ``emb``.
"""

import math

import torch


def _avg_nonzero(terms, like):
    kept = [t for t in terms if t > 0]
    if not kept:
        return like.sum() * 0
    return sum(kept) / len(kept)


def _unit(emb):
    return emb / emb.norm(dim=1, keepdim=True)


def contrastive(emb, labels, pos_margin=0.0, neg_margin=1.0, squared=False):
    x = _unit(emb)
    q = 2 if squared else 1
    pos, neg = [], []
    for i in range(len(x)):
        for j in range(len(x)):
            if i == j:
                continue
            d = (x[i] - x[j]).norm()
            if labels[i] == labels[j]:
                pos.append(torch.relu(d - pos_margin) ** q)
            else:
                neg.append(torch.relu(neg_margin - d) ** q)
    return _avg_nonzero(pos, emb) + _avg_nonzero(neg, emb)


def triplet_margin(emb, labels, margin=0.05, swap=False):
    x = _unit(emb)
    terms = []
    n_ = len(x)
    for a in range(n_):
        for p in range(n_):
            if p == a or labels[p] != labels[a]:
                continue
            for n in range(n_):
                if labels[n] == labels[a]:
                    continue
                d_ap = (x[a] - x[p]).norm()
                d_an = (x[a] - x[n]).norm()
                if swap:
                    d_an = torch.minimum(d_an, (x[p] - x[n]).norm())
                terms.append(torch.relu(d_ap - d_an + margin))
    return _avg_nonzero(terms, emb)


def multi_similarity(emb, labels, alpha=2.0, beta=50.0, base=0.5):
    x = _unit(emb)
    total = 0
    for i in range(len(x)):
        pos = [torch.exp(-alpha * (x[i] @ x[j] - base))
               for j in range(len(x)) if j != i and labels[j] == labels[i]]
        neg = [torch.exp(beta * (x[i] @ x[k] - base))
               for k in range(len(x)) if labels[k] != labels[i]]
        total = total + torch.log1p(sum(pos, 0 * emb.sum())) / alpha
        total = total + torch.log1p(sum(neg, 0 * emb.sum())) / beta
    return total / len(x)


def circle(emb, labels, m=0.4, gamma=80.0):
    x = _unit(emb)
    losses = []
    for i in range(len(x)):
        lp, ln = [], []
        for j in range(len(x)):
            if j == i:
                continue
            s = x[i] @ x[j]
            if labels[j] == labels[i]:
                a_p = torch.relu(1 + m - s.detach())
                lp.append(-gamma * a_p * (s - (1 - m)))
            else:
                a_n = torch.relu(s.detach() + m)
                ln.append(gamma * a_n * (s - m))
        if lp and ln:
            z = torch.logsumexp(torch.stack(lp), 0) + torch.logsumexp(torch.stack(ln), 0)
            losses.append(torch.nn.functional.softplus(z))
    return _avg_nonzero(losses, emb)


def arcface(emb, labels, W, margin_deg=28.6, scale=64.0):
    m = math.radians(margin_deg)
    x = _unit(emb)
    w = W / W.norm(dim=0, keepdim=True)
    total = 0
    for i in range(len(x)):
        logits = []
        for c in range(w.shape[1]):
            cos = x[i] @ w[:, c]
            if c == labels[i]:
                theta = torch.acos(cos)
                cos = torch.cos(theta + m) if theta <= math.pi - m else cos - m * math.sin(m)
            logits.append(scale * cos)
        logits = torch.stack(logits)
        total = total - (logits[labels[i]] - torch.logsumexp(logits, 0))
    return total / len(x)


def proxy_anchor(emb, labels, proxies, alpha=32.0, margin=0.1):
    x = _unit(emb)
    P = proxies / proxies.norm(dim=1, keepdim=True)
    C = len(P)
    pos_total, neg_total, n_with_pos = 0, 0, 0
    for c in range(C):
        pos = [torch.exp(-alpha * (x[i] @ P[c] - margin)) for i in range(len(x)) if labels[i] == c]
        neg = [torch.exp(alpha * (x[i] @ P[c] + margin)) for i in range(len(x)) if labels[i] != c]
        if pos:
            n_with_pos += 1
            pos_total = pos_total + torch.log(1 + sum(pos))
        if neg:
            neg_total = neg_total + torch.log(1 + sum(neg))
    return pos_total / n_with_pos + neg_total / C

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


def contrastive_terms(emb, labels, pos_margin=0.0, neg_margin=1.0, squared=False,
                      normalize=True):
    """``(pos, neg)``: lists of ``(anchor, hinge term)`` over all ordered pairs."""
    x = _unit(emb) if normalize else emb
    q = 2 if squared else 1
    pos, neg = [], []
    for i in range(len(x)):
        for j in range(len(x)):
            if i == j:
                continue
            d = (x[i] - x[j]).norm()
            if labels[i] == labels[j]:
                pos.append((i, torch.relu(d - pos_margin) ** q))
            else:
                neg.append((i, torch.relu(neg_margin - d) ** q))
    return pos, neg


def contrastive(emb, labels, pos_margin=0.0, neg_margin=1.0, squared=False, normalize=True):
    pos, neg = contrastive_terms(emb, labels, pos_margin, neg_margin, squared, normalize)
    return _avg_nonzero([t for _, t in pos], emb) + _avg_nonzero([t for _, t in neg], emb)


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


# ---------------------------------------------------------------- loss zoo

def _cos(a, b):
    return (a @ b) / (a.norm() * b.norm())


def ntxent_terms(emb, labels, temperature=0.07):
    """``(anchor, term)`` for every positive pair (0 when the anchor has no negative)."""
    x = _unit(emb)
    terms = []
    for a in range(len(x)):
        for p in range(len(x)):
            if p == a or labels[p] != labels[a]:
                continue
            negs = [x[a] @ x[n] / temperature for n in range(len(x)) if labels[n] != labels[a]]
            if not negs:
                terms.append((a, emb.sum() * 0))
                continue
            logits = torch.stack([x[a] @ x[p] / temperature] + negs)
            terms.append((a, -(logits[0] - torch.logsumexp(logits, 0))))
    return terms


def ntxent(emb, labels, temperature=0.07):
    terms = [t for _, t in ntxent_terms(emb, labels, temperature)]
    return sum(terms) / len(terms)


def supcon(emb, labels, temperature=0.1):
    x = _unit(emb)
    losses = []
    for i in range(len(x)):
        pos = [j for j in range(len(x)) if j != i and labels[j] == labels[i]]
        if not pos:
            continue
        others = torch.stack([x[i] @ x[a] / temperature for a in range(len(x)) if a != i])
        denom = torch.logsumexp(others, 0)
        losses.append(-sum(x[i] @ x[p] / temperature - denom for p in pos) / len(pos))
    return _avg_nonzero(losses, emb)


def proto_triplet(emb, labels, margin=0.2):
    x = _unit(emb)
    classes = sorted(set(labels))
    terms = []
    for q in range(len(x)):
        own = [i for i in range(len(x)) if labels[i] == labels[q] and i != q]
        if not own or len(classes) < 2:
            continue
        c_own = _unit(sum(x[i] for i in own).unsqueeze(0) / len(own))[0]
        d_own = (_unit(x[q:q + 1])[0] - c_own).norm()
        d_other = []
        for c in classes:
            if c == labels[q]:
                continue
            members = [i for i in range(len(x)) if labels[i] == c]
            proto = _unit((sum(x[i] for i in members) / len(members)).unsqueeze(0))[0]
            d_other.append((x[q] - proto).norm())
        terms.append(torch.relu(d_own - min(d_other) + margin))
    if not terms:
        return emb.sum() * 0
    return sum(terms) / len(terms)


def icnn(emb, labels, k=5):
    x = _unit(emb)
    n = len(x)
    k = min(k, n - 1)
    scores = []
    for i in range(n):
        d = [((x[i] - x[j]).norm(), j) for j in range(n) if j != i]
        nearest = sorted(d, key=lambda t: t[0].item())[:k]
        same = [dd for dd, j in nearest if labels[j] == labels[i]]
        diff = [dd for dd, j in nearest if labels[j] != labels[i]]
        lam = len(same) / k
        if not diff:
            omega = 1.0
        elif not same:
            omega = 0.0
        else:
            intra, inter = sum(same) / len(same), sum(diff) / len(diff)
            omega = inter / (intra + inter)
        scores.append(lam * omega)
    return 1 - sum(scores) / n + emb.sum() * 0


def mw(emb, labels, temperature=1.0):
    x = _unit(emb)
    terms = []
    for a in range(len(x)):
        for p in range(len(x)):
            if p == a or labels[p] != labels[a]:
                continue
            for n in range(len(x)):
                if labels[n] != labels[a]:
                    z = (x[a] @ x[n] - x[a] @ x[p]) / temperature
                    terms.append(torch.nn.functional.softplus(z))
    return sum(terms) / len(terms)


def align_uniform(emb, labels, alpha=2.0, t=2.0):
    x = _unit(emb)
    align, n_pos, unif = [], 0, []
    for i in range(len(x)):
        for j in range(len(x)):
            if i != j and labels[i] == labels[j]:
                align.append((x[i] - x[j]).norm() ** alpha)
            if i < j:
                unif.append(-t * ((x[i] - x[j]) ** 2).sum())
    a = sum(align) / len(align) if align else 0
    u = torch.logsumexp(torch.stack(unif), 0) - math.log(len(unif))
    return a + u


def harmonic(emb, labels, centers, distance="euclidean", exponent=2.0):
    total = 0
    for i in range(len(emb)):
        logits = []
        for c in range(len(centers)):
            x, w = emb[i], centers[c]
            if distance == "euclidean":
                d = (x - w).norm()
            elif distance == "cosine":
                d = 1 - _cos(x, w)
            else:
                d = (x - w).abs().sum() / (x + w).abs().sum()
            logits.append(-exponent * torch.log(d + 1e-8))
        logits = torch.stack(logits)
        total = total - (logits[labels[i]] - torch.logsumexp(logits, 0))
    return total / len(emb)


def soft_triple_regularizer(fc, num_classes, k):
    w = fc.T / fc.T.norm(dim=1, keepdim=True)
    total = 0
    for c in range(num_classes):
        for t in range(k):
            for u in range(t + 1, k):
                total = total + torch.sqrt(2 + 1e-5 - 2 * (w[c * k + t] @ w[c * k + u]))
    return total / (num_classes * k * (k - 1))


# ---------------------------------------------------------------- seed losses, round 2 (b)

def _psl_sigma(d, activation):
    if activation == "exp":
        return d
    if activation == "tanh":
        inner = torch.tanh(d)
    elif activation == "atan":
        inner = torch.atan(d)
    else:
        inner = torch.clamp(d, min=-1.0)  # relu(d + 1) - 1
    return torch.log(inner + 1)


def pairwise_softmax(emb, labels, activation="tanh", temperature=2.0, robust_temperature=0.05):
    """PSL1: mean over positive pairs (with a negative) of log sum_n exp(log sigma(d) / tau*)."""
    x = _unit(emb)
    n = len(labels)
    terms = []
    for a in range(n):
        negs = [j for j in range(n) if labels[j] != labels[a]]
        if not negs:
            continue
        for p in range(n):
            if p == a or labels[p] != labels[a]:
                continue
            f_ap = (x[a] @ x[p]) / temperature
            vals = [_psl_sigma((x[a] @ x[j]) / temperature - f_ap, activation) / robust_temperature
                    for j in negs]
            terms.append(torch.logsumexp(torch.stack(vals), 0))
    if not terms:
        return emb.sum() * 0
    return sum(terms) / len(terms)


def _step(x, y, slope=10.0):
    # 1(x >= y) with the straight-through gradient slope * dx (y constant)
    return float(x >= y) + slope * (x - x.detach())


def contextual_similarity(emb, k=4, eps=0.05):
    """Loop version of the k-NN Jaccard similarity of unit(emb) (straight-through indicators)."""
    x = _unit(emb)
    n = len(x)
    k = min(k, n)
    dist = [[torch.clamp(2 - 2 * (x[i] @ x[j]), min=0.0) for j in range(n)] for i in range(n)]
    kth, half = [], []
    for i in range(n):
        order = sorted(float(dist[i][j].detach()) for j in range(n))
        kth.append(-order[k - 1])
        half.append(-order[max(k // 2, 1) - 1])
    N = [[_step(-dist[i][j] + eps, kth[i]) for j in range(n)] for i in range(n)]
    H = [[_step(-dist[i][j] + eps, half[i]) for j in range(n)] for i in range(n)]
    size = [float(sum(float(v.detach()) for v in N[i])) for i in range(n)]
    size_not = [max(n - size[i], 1.0) for i in range(n)]
    W = [[None] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            inter = sum(N[i][m] * N[j][m] for m in range(n)) / size[i]
            inter_not = sum((1 - N[i][m]) * (1 - N[j][m]) for m in range(n)) / size_not[i]
            W[i][j] = 0.5 * (inter + inter_not) * N[i][j]
    R = [[H[i][j] * H[j][i] for j in range(n)] for i in range(n)]
    J = [[sum(R[i][m] * W[m][j] for m in range(n)) / sum(R[i][m] for m in range(n))
          for j in range(n)] for i in range(n)]
    return [[0.5 * (J[i][j] + J[j][i]) for j in range(n)] for i in range(n)]


def contextual(emb, labels, lam=0.4, gamma=0.1, k=4, eps=0.05, pos_margin=0.75,
               neg_margin=0.6, reg_sim=0.25):
    x = _unit(emb)
    n = len(x)
    js = contextual_similarity(emb, k, eps)
    ctx = emb.sum() * 0
    pos, neg = [], []
    total = emb.sum() * 0
    for i in range(n):
        for j in range(n):
            s = x[i] @ x[j]
            total = total + s
            if i == j:
                continue
            if labels[i] == labels[j]:
                ctx = ctx + (1 - js[i][j]) ** 2
                pos.append(torch.relu(pos_margin - s))
            else:
                ctx = ctx + js[i][j] ** 2
                neg.append(torch.relu(s - neg_margin))
    ctx = ctx / (n * n)
    reg = (total / (n * n) - reg_sim) ** 2
    con = _avg_nonzero(pos, emb) + _avg_nonzero(neg, emb)
    return lam * ctx + gamma * reg + (1 - lam - gamma) * con


def mean_field_contrastive(emb, labels, W, pos_margin=0.02, neg_margin=0.3, mf_reg=0.0,
                           mf_power=2):
    """W: (embedding_size, num_classes) class vectors (columns)."""
    x = _unit(emb)
    C = W.shape[1]
    w = [W[:, c] / W[:, c].norm() for c in range(C)]
    total = emb.sum() * 0
    for i in range(len(x)):
        for c in range(C):
            d = 1 - x[i] @ w[c]
            if labels[i] == c:
                total = total + torch.relu(d - pos_margin)
            else:
                total = total + torch.relu(neg_margin - d)
    loss = total / len(x)
    if mf_reg:
        reg = 0
        for c in range(C):
            for k in range(C):
                if k != c:
                    reg = reg + torch.relu(neg_margin - (1 - w[c] @ w[k])) ** mf_power
        loss = loss + mf_reg * reg / C
    return loss


def mean_field_multi_similarity(emb, labels, W, alpha=0.01, beta=80.0, base=0.8, mf_reg=0.0,
                                mf_power=2):
    x = _unit(emb)
    C = W.shape[1]
    w = [W[:, c] / W[:, c].norm() for c in range(C)]
    members = {c: [i for i in range(len(x)) if labels[i] == c] for c in range(C)}
    present = [c for c in range(C) if members[c]]

    def mean_exp(c, k, scale):
        # mean over the samples of class c of exp(scale * (cos(x_i, w_k) - base)); 0 if none
        if not members[c]:
            return emb.sum() * 0
        return sum(torch.exp(scale * (x[i] @ w[k] - base)) for i in members[c]) / len(members[c])

    pos = sum(torch.log(1 + mean_exp(c, c, -alpha)) for c in present) / (alpha * len(present))
    neg = 0
    for c in range(C):
        for k in range(C):
            if k != c:
                neg = neg + torch.log(1 + mean_exp(c, k, beta) + mean_exp(k, c, beta))
    loss = pos + neg / (2 * beta * len(present))
    if mf_reg:
        reg = 0
        for c in range(C):
            for k in range(C):
                if k != c:
                    z = 1 - base - (1 - w[c] @ w[k])
                    reg = reg + (torch.log(1 + torch.exp(beta * z)) / beta) ** mf_power
        loss = loss + mf_reg * reg / C
    return loss


def procsim_normalized_softmax(emb, labels, weight, temperature=0.05, conf_temperature=0.1):
    """ProcSim around the normalized softmax: confidence-weighted mean of per-sample CE.

    ``weight``: (embedding_size, num_classes) class vectors, also the representatives.
    """
    x = _unit(emb)
    C = weight.shape[1]
    w = [weight[:, c] / weight[:, c].norm() for c in range(C)]
    num, den = emb.sum() * 0, 0.0
    for i in range(len(x)):
        y = int(labels[i])
        with torch.no_grad():
            d = [1 - float(x[i] @ w[c]) for c in range(C)]
            ratio = d[y] / min(d[c] for c in range(C) if c != y)
            conf = 1 / (1 + math.exp(-(1 - ratio) / conf_temperature))
        logits = torch.stack([x[i] @ w[c] / temperature for c in range(C)])
        ce = torch.logsumexp(logits, 0) - logits[y]
        num = num + conf * ce
        den += conf
    return num / den

# ---------------------------------------------------------------- test helpers
# shared by tests/losses and tests/miners (comparisons with pytorch-metric-learning)

RTOL, ATOL = 1e-5, 1e-10
# class count and embedding size of ``batch()``'s defaults, for losses that need them
SIZES = {"num_classes": 5, "embedding_size": 8}


def batch(seed, n=24, n_classes=5, dim=8, dtype=torch.float64):
    """Seeded Gaussian embeddings and random integer labels."""
    g = torch.Generator().manual_seed(seed)
    emb = torch.randn(n, dim, generator=g, dtype=dtype)
    labels = torch.randint(0, n_classes, (n,), generator=g)
    return emb, labels


def copy_weights(ours, theirs, our_attr, their_attr, transpose=False):
    """Both losses in float64, ours holding a copy of PML's class weights."""
    ours, theirs = ours.double(), theirs.double()
    src = getattr(theirs, their_attr).data
    getattr(ours, our_attr).data.copy_(src.T if transpose else src)
    return ours, theirs


def value_and_grads(loss, emb, labels, indices_tuple=None):
    """The loss value and its gradients w.r.t. the embeddings and the loss's parameters."""
    emb = emb.clone().requires_grad_(True)
    value = loss(emb, labels, indices_tuple)
    params = [p for p in loss.parameters()]
    grads = torch.autograd.grad(value, [emb] + params, allow_unused=True)
    return torch.as_tensor(value).detach().reshape(()), grads


def assert_same(ours, theirs, rtol=RTOL, atol=ATOL):
    """Two ``value_and_grads`` results agree (a missing gradient counts as zero)."""
    (v1, g1), (v2, g2) = ours, theirs
    torch.testing.assert_close(v1, v2.to(v1.dtype), rtol=rtol, atol=atol)
    assert len(g1) == len(g2)
    for a, b in zip(g1, g2):
        if a is None and b is None:
            continue
        a = torch.zeros_like(b) if a is None else a
        b = torch.zeros_like(a) if b is None else b
        torch.testing.assert_close(a, b.reshape(a.shape).to(a.dtype), rtol=rtol, atol=atol)


def pml_mined(kind, emb, labels):
    """PML miner output: ``"pairs"`` (multi-similarity), ``"triplets"`` (all
    margin-violating triplets) or ``"batch_hard"``."""
    from pytorch_metric_learning import miners as pml_miners

    if kind == "pairs":
        return pml_miners.MultiSimilarityMiner(epsilon=0.1)(emb, labels)
    if kind == "triplets":
        return pml_miners.TripletMarginMiner(margin=0.2, type_of_triplets="all")(emb, labels)
    return pml_miners.BatchHardMiner()(emb, labels)


def build_loss(name, n_classes=3, dim=4):
    """A registry loss, with sizes when it needs them."""
    from skmetric.losses import LOSSES, get_loss

    needs = getattr(LOSSES[name], "requires_num_classes", False)
    return get_loss(name, **({"num_classes": n_classes, "embedding_size": dim} if needs else {}))


def _embedding_losses():
    from skmetric.losses import LOSSES

    return sorted(n for n, c in LOSSES.items() if not getattr(c, "takes_probabilities", False))


# registry names of the metric-learning losses (the AnyLoss ones take
# probabilities, not embeddings: tests/losses/test_confusion.py)
EMBEDDING_LOSSES = _embedding_losses()


# ---------------------------------------------------------------- seed round 2 (issue 17/18)
# z_loss, unpg, circle_proxy, generalized_cross_entropy, ldr, nbc_softmax, nca:
# one sample (or pair) at a time; ``W`` holds one class vector per column.


def _class_cos(x, W, k):
    return _cos(x, W[:, k])


def z_loss(emb, labels, W, a=1.0, b=2.0):
    total = 0
    K = W.shape[1]
    for i in range(len(emb)):
        o = [emb[i] @ W[:, k] for k in range(K)]
        mu = sum(o) / K
        sigma = torch.sqrt(sum((v - mu) ** 2 for v in o) / K)
        z = (o[labels[i]] - mu) / (sigma + 1e-8)
        total = total + torch.log1p(torch.exp(a * (b - z))) / a
    return total / len(emb)


def unpg(emb, labels, W, base="arcface", margin=None, scale=64.0, whisker=1.5):
    K = W.shape[1]
    negs = []
    for i in range(len(emb)):
        for j in range(i + 1, len(emb)):
            if labels[i] != labels[j]:
                negs.append(_cos(emb[i], emb[j]))
    if negs:
        order = sorted(v.item() for v in negs)
        q1, q3 = order[len(order) // 4], order[(3 * len(order)) // 4]
        lo, hi = q1 - whisker * (q3 - q1), q3 + whisker * (q3 - q1)
        negs = [v for v in negs if lo <= v.item() <= hi]
    total = 0
    for i in range(len(emb)):
        logits = []
        for k in range(K):
            c = _class_cos(emb[i], W, k)
            if k == labels[i]:
                if base == "arcface":
                    m = math.radians(28.6 if margin is None else margin)
                    if c.item() < -math.cos(m):
                        c = c - m * math.sin(m)
                    else:
                        c = torch.cos(torch.acos(c) + m)
                else:
                    c = c - (0.35 if margin is None else margin)
            logits.append(scale * c)
        everything = torch.stack(logits + [scale * v for v in negs])
        total = total + torch.logsumexp(everything, 0) - logits[labels[i]]
    return total / len(emb)


def circle_proxy(emb, labels, W, m=0.25, gamma=256.0):
    total = 0
    for i in range(len(emb)):
        sp = _class_cos(emb[i], W, labels[i])
        ap = max(0.0, 1 + m - sp.item())
        terms = [torch.zeros((), dtype=emb.dtype)]
        for n in range(W.shape[1]):
            if n == labels[i]:
                continue
            sn = _class_cos(emb[i], W, n)
            an = max(0.0, sn.item() + m)
            terms.append(gamma * an * (sn - m) - gamma * ap * (sp - (1 - m)))
        total = total + torch.logsumexp(torch.stack(terms), 0)
    return total / len(emb)


def _softmax_probs(emb_i, W, temperature):
    logits = torch.stack([_class_cos(emb_i, W, k) / temperature for k in range(W.shape[1])])
    e = torch.exp(logits - logits.max())
    return e / e.sum()


def generalized_cross_entropy(emb, labels, W, q=0.7, temperature=0.05):
    total = 0
    for i in range(len(emb)):
        p = _softmax_probs(emb[i], W, temperature)[labels[i]]
        total = total + ((1 - p ** q) / q if q != 0 else -torch.log(p))
    return total / len(emb)


def ldr(emb, labels, W, margin=1.0, temperature=1.0, adaptive=True, alpha=2.0, scale=10.0):
    K = W.shape[1]
    total = 0
    for i in range(len(emb)):
        o = [scale * _class_cos(emb[i], W, k) for k in range(K)]
        lam = temperature
        if adaptive:
            pi = _softmax_probs(emb[i].detach(), W.detach(), temperature / scale)
            kl = sum(p.item() * math.log(K * p.item()) for p in pi)
            lam = temperature * (1 - kl / (alpha * math.log(K)))
        terms = [
            (o[k] - o[labels[i]] + (margin if k != labels[i] else 0.0)) / lam for k in range(K)
        ]
        term = lam * (torch.log(sum(torch.exp(t) for t in terms) / K))
        if adaptive:
            term = term - alpha * math.log(K) / (2 * temperature) * (lam - temperature) ** 2
        total = total + term
    return total / len(emb)


def nbc_softmax(emb, labels, W, ratio=0.5, tau=0.2, temperature=0.05):
    C = W.shape[1]
    ce = 0
    for i in range(len(emb)):
        ce = ce - torch.log(_softmax_probs(emb[i], W, temperature)[labels[i]])
    ce = ce / len(emb)
    means = []
    for c in sorted(set(labels)):
        members = [emb[i] for i in range(len(emb)) if labels[i] == c]
        means.append(sum(members) / len(members))
    nbc = 0
    for a in range(len(means)):
        s = 1.0  # the diagonal: exp(tau * 0)
        for b in range(len(means)):
            if a != b:
                s = s + torch.exp(tau * _cos(means[a], means[b]))
        nbc = nbc + torch.log(torch.as_tensor(s, dtype=emb.dtype))
    nbc = nbc / len(means) / C
    return (1 - ratio) * ce + ratio * nbc


def nca(emb, labels, temperature=1.0, squared=True):
    total, count = 0, 0
    for i in range(len(emb)):
        num, den = 0, 0
        for j in range(len(emb)):
            if j == i:
                continue
            d = ((emb[i] - emb[j]) ** 2).sum()
            if not squared:
                d = torch.sqrt(d)
            w = torch.exp(-d / temperature)
            den = den + w
            if labels[j] == labels[i]:
                num = num + w
        if isinstance(num, torch.Tensor):
            total = total - torch.log(num / den)
            count += 1
    if count == 0:
        return emb.sum() * 0
    return total / count

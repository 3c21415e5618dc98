"""The margin-softmax family: members checked against each other and against loops
(harmonic, SoftTriple's regulariser, ElasticFace, EBV)."""

import math

import pytest
import torch

from skmetric import losses as L

import _reference as ref

DIM = 8


def _harmonic(distance):
    def make():
        loss = L.HarmonicLoss(distance=distance, exponent=2.0, num_classes=3, embedding_size=DIM)
        return loss.double()

    return make


@pytest.mark.parametrize("distance", ["euclidean", "cosine", "braycurtis"])
def test_harmonic_matches_loop_reference(distance):
    emb, labels = ref.batch(0, n=10, n_classes=3)
    loss = _harmonic(distance)()
    e1, e2 = emb.clone().requires_grad_(True), emb.clone().requires_grad_(True)
    v1 = loss(e1, labels)
    v2 = ref.harmonic(e2, labels.tolist(), loss.centers.detach(), distance, 2.0)
    v1.backward()
    v2.backward()
    torch.testing.assert_close(v1, v2, rtol=1e-6, atol=1e-10)
    torch.testing.assert_close(e1.grad, e2.grad, rtol=1e-6, atol=1e-10)
    assert loss.centers.grad is not None and torch.isfinite(loss.centers.grad).all()
    # default exponent: sqrt(embedding_size); predictions = nearest centre
    assert L.HarmonicLoss().exponent is None

def test_harmonic_unknown_distance():
    loss = L.HarmonicLoss(distance="manhattan", num_classes=3, embedding_size=DIM)
    with pytest.raises(ValueError, match=r"`distance` of HarmonicLoss must be one of"):
        loss(*ref.batch(0, n_classes=3, dtype=torch.float32))

def test_soft_triple_regularizer_matches_loop():
    loss = L.SoftTripleLoss(tau=0.2, centers_per_class=3, num_classes=4, embedding_size=DIM).double()
    plain = L.SoftTripleLoss(tau=0, centers_per_class=3, num_classes=4, embedding_size=DIM).double()
    plain.fc.data.copy_(loss.fc.data)
    emb, labels = ref.batch(0, n_classes=4)
    expected = plain(emb, labels) + 0.2 * ref.soft_triple_regularizer(loss.fc, 4, 3)
    torch.testing.assert_close(loss(emb, labels), expected)

@pytest.mark.parametrize("kind, twin", [("arc", "arcface"), ("cos", "cosface")])
def test_elasticface_sigma_zero_is_arcface_or_cosface(kind, twin):
    emb, labels = ref.batch(1)
    if kind == "arc":
        other = L.ArcFaceLoss(margin=math.degrees(0.4), scale=30, **ref.SIZES).double()
    else:
        other = L.CosFaceLoss(margin=0.4, scale=30, **ref.SIZES).double()
    elastic = L.ElasticFaceLoss(kind=kind, margin=0.4, sigma=0, scale=30, **ref.SIZES).double()
    elastic.W.data.copy_(other.W.data)
    ref.assert_same(ref.value_and_grads(elastic, emb, labels), ref.value_and_grads(other, emb, labels))
    # eval mode uses the mean margin whatever sigma
    elastic.set_params(sigma=0.3)
    elastic.eval()
    ref.assert_same(ref.value_and_grads(elastic, emb, labels), ref.value_and_grads(other, emb, labels))

def test_elasticface_draws_from_torch_rng():
    emb, labels = ref.batch(2)
    loss = L.ElasticFaceLoss(sigma=0.1, **ref.SIZES).double()
    torch.manual_seed(5)
    a, b = loss(emb, labels), loss(emb, labels)
    torch.manual_seed(5)
    assert loss(emb, labels) == a and a != b
    plus = L.ElasticFaceLoss(sigma=0.1, plus=True, **ref.SIZES).double()
    cos = torch.nn.functional.normalize(emb) @ torch.nn.functional.normalize(plus.W.T).T
    target = cos[torch.arange(len(labels)), labels]
    torch.manual_seed(0)
    m = plus._margins(target)
    # the hardest sample (lowest target cosine) gets the largest margin
    assert m[target.argmin()] == m.max() and m[target.argmax()] == m.min()
    with pytest.raises(ValueError, match="`kind` of ElasticFaceLoss must be one of"):
        L.ElasticFaceLoss(kind="sphere", **ref.SIZES)(emb.float(), labels)

def test_ebv_vectors():
    from skmetric.losses.ebv import equiangular_vectors, welch_bound

    torch.manual_seed(0)
    w = equiangular_vectors(10, 16)
    torch.testing.assert_close(w @ w.T, torch.eye(10), atol=1e-5, rtol=0)
    w = equiangular_vectors(30, 8, max_iter=3000)
    cos = (w @ w.T - torch.eye(30)).abs().max().item()
    assert cos <= welch_bound(30, 8) + 0.1 + 1e-3
    torch.testing.assert_close(w.norm(dim=1), torch.ones(30))
    with pytest.raises(ValueError, match="below the Welch bound"):
        equiangular_vectors(30, 8, max_cosine=0.1)
    loss = L.EBVLoss(num_classes=5, embedding_size=DIM)
    assert list(loss.parameters()) == [] and loss.vectors.shape == (5, DIM)
    emb, labels = ref.batch(0)
    e = emb.clone().requires_grad_(True)
    value = loss(e, labels)
    value.backward()
    expected = torch.nn.functional.cross_entropy(
        torch.nn.functional.normalize(emb) @ loss.vectors.double().T / 0.07, labels
    )
    torch.testing.assert_close(value, expected)


# The one-node path (fused_head) and the fused cross-entropy path (margin_parts)
# against the plain logits path

_FUSED = [
    lambda: L.ArcFaceLoss(num_classes=4, embedding_size=DIM),
    lambda: L.ArcFaceLoss(margin=150.0, scale=8.0, num_classes=4, embedding_size=DIM),
    lambda: L.CosFaceLoss(num_classes=4, embedding_size=DIM),
    lambda: L.SphereFaceLoss(num_classes=4, embedding_size=DIM),
    lambda: L.SphereFaceLoss(margin=3, scale=2.0, num_classes=4, embedding_size=DIM),
    lambda: L.SubCenterArcFaceLoss(num_classes=4, embedding_size=DIM),
    lambda: L.NormalizedSoftmaxLoss(num_classes=4, embedding_size=DIM),
    lambda: L.SoftTripleLoss(num_classes=4, embedding_size=DIM, centers_per_class=3),
]


def _grads(loss, emb, labels, indices_tuple, path):
    loss.zero_grad()
    e = emb.clone().requires_grad_(True)
    # instance attributes that switch the faster paths off
    off = {"fused": [], "parts": ["fused_head"], "logits": ["fused_head", "margin_parts"]}[path]
    for name in off:
        setattr(loss, name, lambda *a: None)
    value = loss(e, labels, indices_tuple)
    value.backward()
    for name in off:
        delattr(loss, name)
    return value, e.grad, [p.grad.clone() for p in loss.parameters()]


@pytest.mark.parametrize("make", _FUSED)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("mode", ["mean", "miner", "reducer"])
@pytest.mark.parametrize("path", ["fused", "parts"])
def test_fused_margin_path_equals_logits_path(make, dtype, mode, path):
    torch.manual_seed(0)
    emb = 3 * torch.randn(12, DIM, dtype=dtype)
    labels = torch.tensor([0, 1, 2, 3] * 3)
    loss = make().to(dtype)
    if isinstance(loss, L.SphereFaceLoss):
        # a zero embedding: SphereFace's scale is its norm.  (Elsewhere it
        # would tie every sub-centre, whose gradient amax splits and max,
        # like pytorch-metric-learning, gives to one.)
        emb[0] = 0.0
    indices = None
    if mode == "miner":
        indices = (torch.tensor([0, 1, 1, 5]), torch.tensor([4, 5, 5, 9]),
                   torch.tensor([2, 3, 3, 7]))
    if mode == "reducer":
        # (not mean_nonzero: a cross-entropy that rounds to 0 on one path
        # and to 5e-7 on the other changes its count)
        loss.reducer = "sum"
    if getattr(loss, "tau", 0):
        loss.tau = 0.0
    v1, g1, w1 = _grads(loss, emb, labels, indices, path)
    v2, g2, w2 = _grads(loss, emb, labels, indices, "logits")
    if dtype == torch.float64:
        tol = dict(rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(v1, v2, **tol)
        torch.testing.assert_close(g1, g2, **tol)
        for a, b in zip(w1, w2):
            torch.testing.assert_close(a, b, **tol)
        return
    # float32: the paths round differently (the one-node path works in base 2),
    # so an entry much smaller than its row's largest is compared to that
    # largest, at float32 resolution (the zero row's cosine gradient is ~1e9)
    for a, b in [(v1, v2), (g1, g2), *zip(w1, w2)]:
        _assert_close32(a, b)


def _assert_close32(a, b):
    row_max = b.abs().amax(-1, keepdim=True) if b.dim() else b.abs()
    bound = 1e-4 * b.abs() + 1e-6 * row_max.clamp_min(1.0)
    assert ((a - b).abs() <= bound).all(), (a - b).abs().max()


def test_subcenter_max_gives_ties_to_the_first_center():
    from skmetric.losses.subcenter_arcface import _MaxOverCenters

    cos = torch.tensor([[[0.5, 0.1]], [[0.5, 0.3]], [[0.2, 0.3]]]).transpose(0, 1)  # (1, 3, 2)
    cos = cos.contiguous().requires_grad_(True)
    best = _MaxOverCenters.apply(cos)
    torch.testing.assert_close(best, torch.tensor([[0.5, 0.3]]))
    best.backward(torch.tensor([[2.0, 3.0]]))
    ref = cos.detach().clone().requires_grad_(True)
    ref.max(dim=1).values.backward(torch.tensor([[2.0, 3.0]]))
    torch.testing.assert_close(cos.grad, ref.grad)
    assert cos.grad[0, :, 0].tolist() == [2.0, 0.0, 0.0]  # tie 0.5 / 0.5: the first


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_subcenter_fused_path_gives_ties_to_the_first_center(dtype):
    # sub-centre 1 of every class equals sub-centre 0, and one embedding is
    # zero (every cosine 0): each sample's maximum is tied; the one-node path
    # gives the gradient to the first maximal sub-centre, as torch.max and
    # the margin_parts path do (sub-centre 1 gets none)
    torch.manual_seed(3)
    loss = L.SubCenterArcFaceLoss(num_classes=4, embedding_size=DIM).to(dtype)
    with torch.no_grad():
        w = loss.W.view(DIM, 4, 3)
        w[:, :, 1] = w[:, :, 0]
    emb = torch.randn(12, DIM, dtype=dtype)
    emb[5] = 0.0
    labels = torch.tensor([0, 1, 2, 3] * 3)
    v1, g1, (w1,) = _grads(loss, emb, labels, None, "fused")
    v2, g2, (w2,) = _grads(loss, emb, labels, None, "parts")
    torch.testing.assert_close(v1, v2)
    torch.testing.assert_close(g1, g2)
    torch.testing.assert_close(w1, w2)
    per_center = w1.view(DIM, 4, 3).abs().sum(0)
    assert (per_center[:, 1] == 0).all() and (per_center[:, 0] > 0).all()


def test_soft_triple_small_gamma_leaves_the_one_node_path():
    # exp(cos / gamma) would overflow float32 past 1 / gamma = 80: the
    # shifted margin_parts path is taken and the loss stays finite
    torch.manual_seed(0)
    loss = L.SoftTripleLoss(num_classes=4, embedding_size=DIM, centers_per_class=3, gamma=0.01)
    emb = torch.randn(12, DIM)
    assert loss.fused_head(emb, torch.zeros(12, dtype=torch.long)) is None
    value = loss(emb, torch.tensor([0, 1, 2, 3] * 3))
    assert torch.isfinite(value)
    loss.gamma = 0.1
    assert loss.fused_head(emb, torch.zeros(12, dtype=torch.long)) is not None


_ONE_NODE = [
    lambda: L.ArcFaceLoss(num_classes=3, embedding_size=4),
    lambda: L.ArcFaceLoss(margin=150.0, scale=8.0, num_classes=3, embedding_size=4),
    lambda: L.CosFaceLoss(num_classes=3, embedding_size=4),
    lambda: L.SphereFaceLoss(num_classes=3, embedding_size=4),
    lambda: L.SphereFaceLoss(margin=3, scale=2.0, num_classes=3, embedding_size=4),
    lambda: L.SubCenterArcFaceLoss(num_classes=3, embedding_size=4),
    lambda: L.NormalizedSoftmaxLoss(num_classes=3, embedding_size=4),
    lambda: L.SoftTripleLoss(num_classes=3, embedding_size=4, centers_per_class=3, tau=0.0),
]


@pytest.mark.parametrize("make", _ONE_NODE)
@pytest.mark.parametrize("reducer", [None, "sum"])
def test_one_node_path_gradcheck(make, reducer):
    # finite differences of the value, in float64, for the embeddings and the
    # class vectors; gradcheck runs backward twice (reentrancy), which the
    # one-node path answers by recomputing the buffers its first pass reused
    torch.manual_seed(1)
    loss = make().double()
    loss.reducer = reducer
    assert loss.fused_head(torch.zeros(1, 4, dtype=torch.float64), None) is not None
    (name, W), = loss.named_parameters()
    emb, labels = torch.randn(6, 4, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1, 2])

    def f(e, w):
        return torch.func.functional_call(loss, {name: w}, (e, labels))

    assert torch.autograd.gradcheck(f, (emb.requires_grad_(True), W.detach().clone().requires_grad_(True)))


def test_one_node_path_second_backward_pass():
    # retain_graph: the second pass gives the same gradient as the first
    torch.manual_seed(2)
    loss = L.SubCenterArcFaceLoss(num_classes=3, embedding_size=4)
    emb = torch.randn(6, 4, requires_grad=True)
    value = loss(emb, torch.tensor([0, 1, 2, 0, 1, 2]))
    (first,) = torch.autograd.grad(value, emb, retain_graph=True)
    (second,) = torch.autograd.grad(value, emb)
    torch.testing.assert_close(first, second)
    assert first.abs().sum() > 0


@pytest.mark.parametrize("temperature", [0.05, 0.005])
def test_one_node_path_shift_free_only_for_small_logits(temperature):
    # scale 20 is exponentiated without the row maximum, scale 200 (2^288
    # would overflow float32) with it; both equal the logits path, and the
    # large scale on well-separated classes stays finite
    torch.manual_seed(4)
    loss = L.NormalizedSoftmaxLoss(temperature=temperature, num_classes=4, embedding_size=DIM)
    head = loss.fused_head(torch.zeros(1, DIM), None)[1]
    assert head.shift_free == (temperature == 0.05)
    labels = torch.tensor([0, 1, 2, 3] * 3)
    emb = loss.weight.detach().T[labels] + 0.1 * torch.randn(12, DIM)
    v1, g1, (w1,) = _grads(loss, emb, labels, None, "fused")
    v2, g2, (w2,) = _grads(loss, emb, labels, None, "logits")
    assert torch.isfinite(v1) and torch.isfinite(g1).all()
    for a, b in [(v1, v2), (g1, g2), (w1, w2)]:
        _assert_close32(a, b)


def test_one_node_path_float16_keeps_the_row_maximum():
    # 2^(20 / ln 2) overflows float16: its softmax subtracts the row maximum
    # even where the head's bound would skip it in float32
    torch.manual_seed(5)
    loss = L.NormalizedSoftmaxLoss(num_classes=4, embedding_size=DIM)
    labels = torch.tensor([0, 1, 2, 3] * 3)
    emb = loss.weight.detach().T[labels] + 0.1 * torch.randn(12, DIM)
    v32 = loss(emb, labels)
    v16 = loss.half()(emb.half(), labels)
    assert torch.isfinite(v16)
    torch.testing.assert_close(v16.float(), v32, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("make, free", [
    (lambda s, m: L.CosFaceLoss(scale=s, margin=m, num_classes=4, embedding_size=DIM), True),
    (lambda s, m: L.ArcFaceLoss(scale=s, margin=m * 57.3, num_classes=4, embedding_size=DIM),
     True),
    (lambda s, m: L.SubCenterArcFaceLoss(scale=s, margin=m * 57.3, num_classes=4,
                                         embedding_size=DIM), True),
    (lambda s, m: L.SphereFaceLoss(scale=s / 64, num_classes=4, embedding_size=DIM), False),
])
def test_margin_heads_shift_free_at_scale_64(make, free):
    # the other classes' |s cos| <= 64 bounds the row from both sides: the
    # margin heads skip the row maximum at scale 64 (not at 70: 2^(70 / ln 2)
    # times the classes is past float32's 2^100 allowance); SphereFace's
    # logits grow with |x|, so it always subtracts it
    e = torch.zeros(1, DIM)
    assert make(64.0, 0.5).fused_head(e, None)[1].shift_free == free
    assert not make(70.0, 0.5).fused_head(e, None)[1].shift_free
    # a negative cosine margin raises the true class's logit above s
    assert L.CosFaceLoss(scale=64.0, margin=-0.05, num_classes=4,
                         embedding_size=DIM).fused_head(e, None)[1].shift_free
    assert not L.CosFaceLoss(scale=64.0, margin=-0.2, num_classes=4,
                             embedding_size=DIM).fused_head(e, None)[1].shift_free


@pytest.mark.parametrize("make", [
    # true-class logits down to -64 * 2 (2^-185 underflows float32 to 0)
    lambda C: L.CosFaceLoss(margin=1.0, num_classes=C, embedding_size=DIM),
    lambda C: L.ArcFaceLoss(margin=170.0, num_classes=C, embedding_size=DIM),
    lambda C: L.SubCenterArcFaceLoss(margin=170.0, num_classes=C, embedding_size=DIM),
])
@pytest.mark.parametrize("n_classes", [1, 4])
@pytest.mark.parametrize("separated", [False, True])
def test_shift_free_margin_path_equals_logits_path(make, n_classes, separated):
    # without the row maximum: the true class's exponential may underflow
    # (the loss takes it in log space, the other classes keep the row's sum
    # above 2^-93); one class keeps the maximum.  Well-separated classes give
    # near-zero losses (margin 0 then): base-2 logits of ~92 cancel in them
    torch.manual_seed(6)
    loss = make(n_classes)
    labels = torch.arange(12) % n_classes
    if separated:
        loss.margin = 0.0
        w = loss.class_vectors(torch.float32).detach()
        emb = w[labels * loss.vectors_per_class] + 0.01 * torch.randn(12, DIM)
    else:
        emb = 3 * torch.randn(12, DIM)
    assert loss.fused_head(emb, labels)[1].shift_free
    v1, g1, w1 = _grads(loss, emb, labels, None, "fused")
    v2, g2, w2 = _grads(loss, emb, labels, None, "logits")
    assert torch.isfinite(v1) and torch.isfinite(g1).all()
    if separated and n_classes > 1:
        assert v2 < 1e-3
        # an absolute error of a few float32 steps at 92 (2^-17)
        torch.testing.assert_close(v1, v2, rtol=0, atol=2e-5)
        v1 = v2
    for a, b in [(v1, v2), (g1, g2), *zip(w1, w2)]:
        _assert_close32(a, b)


@pytest.mark.parametrize("margin, scale", [(0.5, 64.0), (0.5, 64.0 / math.log(2)), (2.9, 8.0)])
def test_arc_target_against_the_plain_formula(margin, scale):
    # s cos(acos(c) + m) (s (c - m sin m) past pi - m) and its derivative in
    # s c, against acos and autograd, on cosines across [-1, 1] (ends excluded:
    # acos' slope is infinite there) and on both sides of the fallback's edge
    from skmetric.losses.arcface import _arc_target

    c = torch.cat([torch.linspace(-0.999, 0.999, 41, dtype=torch.float64),
                   torch.tensor([-math.cos(margin) - 1e-9, -math.cos(margin) + 1e-9],
                                dtype=torch.float64)])
    t = (scale * c).requires_grad_(True)
    cos = t / scale
    plain = torch.where(cos < -math.cos(margin),
                        scale * (cos - margin * math.sin(margin)),
                        scale * torch.cos(torch.acos(cos) + margin))
    (slope_ref,) = torch.autograd.grad(plain.sum(), t)
    value, slope = _arc_target(t.detach(), margin, scale)
    torch.testing.assert_close(value, plain.detach(), rtol=1e-12, atol=1e-9)
    torch.testing.assert_close(slope, slope_ref, rtol=1e-9, atol=1e-9)


# SoftTriple's one-node path against its formula written out with autograd

def _soft_triple_plain(emb, fc, labels, C, K, la, gamma, margin):
    # S_ic = sum_k softmax_k(cos_ick / gamma) cos_ick (column c * K + k is
    # centre k of class c); cross-entropy of la * (S - margin on the true class)
    cos = torch.nn.functional.normalize(emb, dim=1) @ torch.nn.functional.normalize(fc, dim=0)
    cos = cos.view(len(emb), C, K)
    relaxed = (torch.softmax(cos / gamma, dim=2) * cos).sum(2)
    onehot = torch.nn.functional.one_hot(labels, C).to(emb.dtype)
    return torch.nn.functional.cross_entropy(la * (relaxed - margin * onehot), labels)


@pytest.mark.parametrize("gamma, margin", [(0.1, 0.01), (0.5, 0.2)])
def test_soft_triple_one_node_path_against_the_formula(gamma, margin):
    # float64; class 3 of 5 is missing from the batch (its centres get the
    # softmax's gradient only) and the centres' norms differ by 100x
    torch.manual_seed(7)
    C, K = 5, 4
    loss = L.SoftTripleLoss(num_classes=C, embedding_size=DIM, centers_per_class=K,
                            gamma=gamma, margin=margin, tau=0.0).double()
    with torch.no_grad():
        loss.fc.mul_(torch.logspace(-1, 1, C * K, dtype=torch.float64))
    labels = torch.tensor([0, 1, 2, 4, 0, 1, 2, 4, 4])
    emb = 2 * torch.randn(len(labels), DIM, dtype=torch.float64)
    assert loss.fused_head(emb, labels) is not None
    e1 = emb.clone().requires_grad_(True)
    value = loss(e1, labels)
    value.backward()
    e2, fc = emb.clone().requires_grad_(True), loss.fc.detach().clone().requires_grad_(True)
    expected = _soft_triple_plain(e2, fc, labels, C, K, loss.la, gamma, margin)
    expected.backward()
    tol = dict(rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(value, expected, **tol)
    torch.testing.assert_close(e1.grad, e2.grad, **tol)
    torch.testing.assert_close(loss.fc.grad, fc.grad, **tol)
    assert fc.grad.view(DIM, C, K)[:, 3].abs().sum() > 0


# The one-node path's reused (batch, classes) buffers

_POOLED = [
    lambda: L.SoftTripleLoss(num_classes=4, embedding_size=DIM, centers_per_class=3, tau=0.0),
    lambda: L.SubCenterArcFaceLoss(num_classes=4, embedding_size=DIM),
    lambda: L.CosFaceLoss(num_classes=4, embedding_size=DIM),
]


@pytest.mark.parametrize("make", _POOLED)
def test_one_node_path_buffers_are_not_shared_between_live_steps(make, monkeypatch):
    # two forward passes before either backward pass (and a third whose graph
    # is dropped): each backward pass still sees its own buffers, and every
    # gradient equals the one of a step run on its own (the pool takes
    # buffers of any size here: it keeps those of 1 MiB or more)
    from skmetric.losses import margin_softmax

    monkeypatch.setattr(margin_softmax, "_FREE_MIN_BYTES", 0)
    torch.manual_seed(8)
    loss = make()
    labels = torch.tensor([0, 1, 2, 3] * 3)
    embs = [torch.randn(12, DIM) for _ in range(2)]

    def alone(emb):
        loss.zero_grad()
        e = emb.clone().requires_grad_(True)
        value = loss(e, labels)
        value.backward()
        return value.detach(), e.grad, next(loss.parameters()).grad.clone()

    expected = [alone(emb) for emb in embs]
    margin_softmax._FREE.clear()
    leaves = [emb.clone().requires_grad_(True) for emb in embs]
    values = [loss(e, labels) for e in leaves]
    loss(torch.randn(12, DIM, requires_grad=True), labels)  # graph dropped
    for i in (1, 0):
        loss.zero_grad()
        values[i].backward()
        got = (values[i].detach(), leaves[i].grad, next(loss.parameters()).grad)
        for a, b in zip(got, expected[i]):
            assert torch.equal(a, b)
    # the buffers went back to the pool, and a step run from them is unchanged
    assert sum(map(len, margin_softmax._FREE.values())) >= 1
    for a, b in zip(alone(embs[0]), expected[0]):
        assert torch.equal(a, b)


def test_pool_keeps_only_buffers_between_its_size_bounds(monkeypatch):
    # the pool outlives a fit: it must not hold on to very large buffers, and
    # small ones are left to the allocator
    from skmetric.losses import margin_softmax

    monkeypatch.setattr(margin_softmax, "_FREE_MIN_BYTES", 1024)
    monkeypatch.setattr(margin_softmax, "_FREE_MAX_BYTES", 4096)
    margin_softmax._FREE.clear()
    for n in (16, 1024, 2048):  # 64 B, 4 KiB, 8 KiB of float32
        margin_softmax._give(torch.empty(n))
    assert [key[0] for key in margin_softmax._FREE] == [(1024,)]
    assert margin_softmax._take((1024,), torch.empty(1)).shape == (1024,)
    assert margin_softmax._take((1024,), torch.empty(1)) is None
    assert margin_softmax._take((2048,), torch.empty(1)) is None

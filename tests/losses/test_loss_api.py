"""Loss parameters, registry, sizes and dtypes: the contract every loss shares."""

import pickle

import pytest
import torch
from sklearn.base import clone

from skmetric.distances import CosineSimilarity, EuclideanDistance
from skmetric.losses import (
    LOSSES,
    ArcFaceLoss,
    CircleLoss,
    ContrastiveLoss,
    ProxyAnchorLoss,
    TripletMarginLoss,
    get_loss,
)

import _reference as ref

N_CLASSES, DIM = 5, 8


def test_registry_names():
    assert {
        "contrastive", "triplet_margin", "multi_similarity", "circle",
        "proxy_anchor", "arcface", "normalized_softmax",
    } <= set(LOSSES)
    assert isinstance(get_loss("circle", gamma=10), CircleLoss)
    assert get_loss("circle", gamma=10).gamma == 10
    with pytest.raises(ValueError, match="Unknown loss 'circl'"):
        get_loss("circl")


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_keyword_only_and_params_roundtrip(name):
    cls = LOSSES[name]
    params = cls().get_params()
    with pytest.raises(TypeError):
        cls(*params.values())
    loss = ref.build_loss(name)
    loss2 = clone(loss)
    assert type(loss2) is cls
    assert loss2.get_params(deep=False).keys() == loss.get_params(deep=False).keys()
    for k, v in loss.get_params(deep=False).items():
        assert loss2.get_params(deep=False)[k] == v
    pickle.loads(pickle.dumps(loss))
    assert repr(loss).startswith(cls.__name__)


def test_set_params_and_nested_distance():
    loss = ContrastiveLoss(distance=CosineSimilarity())
    assert "distance__normalize_embeddings" in loss.get_params()
    loss.set_params(neg_margin=0.5, distance__normalize_embeddings=True)
    assert loss.neg_margin == 0.5
    loss.set_params(distance="cosine")  # a module replaced by a name
    assert loss.distance == "cosine"
    emb, labels = ref.batch(0)
    expected = ContrastiveLoss(neg_margin=0.5, distance=CosineSimilarity())(emb, labels)
    torch.testing.assert_close(loss(emb, labels), expected)
    loss.set_params(distance=EuclideanDistance(normalize_embeddings=True))
    torch.testing.assert_close(loss(emb, labels), ContrastiveLoss(neg_margin=0.5)(emb, labels))
    clone(loss)
    with pytest.raises(ValueError, match="Invalid parameter 'gamma'"):
        loss.set_params(gamma=1)


def test_unknown_distance_name():
    emb, labels = ref.batch(0)
    with pytest.raises(ValueError, match="Unknown distance 'manhattan'"):
        TripletMarginLoss(distance="manhattan")(emb, labels)


def test_proxy_losses_need_sizes_and_check_them():
    emb, labels = ref.batch(0)
    with pytest.raises(ValueError, match="needs `num_classes` and `embedding_size`"):
        ProxyAnchorLoss()(emb, labels)
    with pytest.raises(ValueError, match="built for embedding_size=3"):
        ArcFaceLoss(num_classes=5, embedding_size=3)(emb, labels)
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 2\)"):
        ProxyAnchorLoss(num_classes=2, embedding_size=DIM)(emb, labels)


def test_proxy_anchor_init_and_learnable():
    torch.manual_seed(0)
    loss = ProxyAnchorLoss(num_classes=100, embedding_size=64)
    assert loss.proxies.shape == (100, 64)
    # kaiming normal, fan_out = num_classes: std sqrt(2 / 100)
    assert abs(loss.proxies.std().item() - (2 / 100) ** 0.5) < 0.01
    assert [n for n, _ in loss.named_parameters()] == ["proxies"]
    arc = ArcFaceLoss(num_classes=7, embedding_size=5)
    assert arc.W.shape == (5, 7)
    assert ArcFaceLoss.requires_num_classes and ProxyAnchorLoss.min_samples_per_class == 1
    assert not ContrastiveLoss.requires_num_classes


def test_float64_input_float32_parameters():
    # parameters stay float32; the graph casts, and the gradient reaches them
    loss = ProxyAnchorLoss(num_classes=N_CLASSES, embedding_size=DIM)
    emb, labels = ref.batch(0)
    loss(emb, labels).backward()
    assert loss.proxies.dtype == torch.float32 and loss.proxies.grad is not None

"""Metric losses (pure torch).

Each loss is a ``torch.nn.Module`` called as ``loss(embeddings, labels)`` and
returning a scalar; the AnyLoss losses (``"anyloss_f1"``...) are called as
``loss(probabilities, labels)`` and train classifiers (their metric functions
are in :mod:`skmetric.losses.confusion`).  Build one by object (``MultiSimilarityLoss(alpha=2)``)
or by its registry name with :func:`get_loss`.  Adding a loss is one new
file plus one line in ``LOSSES``.

Layout: :class:`BaseMetricLoss` (input checks, ``reduce``), under it
:class:`BasePairLoss` (distance matrix and pairs from labels or a miner's
``indices_tuple``), :class:`BaseProxyLoss` (per-class parameters) and
:class:`BaseMarginSoftmaxLoss` (cross-entropy over class vectors with a
true-class margin).  Reducers (:mod:`~skmetric.losses.reducers`) turn a
loss's terms into a scalar.
"""

from .._blocks import build_by_name
from .arcface import ArcFaceLoss
from .barlow_twins import BarlowTwinsLoss
from .base import BaseMetricLoss, BasePairLoss, BaseProxyLoss
from .margin_softmax import BaseMarginSoftmaxLoss
from .reducers import (
    AvgNonZeroReducer,
    BaseReducer,
    MeanReducer,
    PerAnchorReducer,
    REDUCERS,
    SumReducer,
    get_reducer,
)
from .circle import CircleLoss
from .contrastive import ContrastiveLoss
from .multi_similarity import MultiSimilarityLoss
from .normalized_softmax import NormalizedSoftmaxLoss
from .prototypical import PrototypicalLoss
from .proxy_anchor import ProxyAnchorLoss
from .triplet_margin import TripletMarginLoss
from .align_uniform import AlignUniformLoss
from .anyloss import (
    ANYLOSS_LOSSES,
    AccuracyLoss,
    AnyLoss,
    BalancedAccuracyLoss,
    F1Loss,
    FBetaLoss,
    FormulaLoss,
    GMeanLoss,
    JaccardLoss,
    MCCLoss,
    PrecisionLoss,
    RecallLoss,
)
from .combined import CombinedLoss
from .contextual import ContextualLoss
from .cosent import CoSENTLoss
from .cosface import CosFaceLoss
from .cross_batch_memory import CrossBatchMemory
from .ebv import EBVLoss
from .elasticface import ElasticFaceLoss
from .generalized_lifted_structure import GeneralizedLiftedStructureLoss
from .harmonic import HarmonicLoss
from .icnn import ICNNLoss
from .lifted_structure import LiftedStructureLoss
from .margin import MarginLoss
from .mean_field import MeanFieldContrastiveLoss, MeanFieldMultiSimilarityLoss
from .metrix import MetrixLoss
from .mw import MWLoss
from .npairs import NPairsLoss
from .ntxent import NTXentLoss
from .pairwise_softmax import PairwiseSoftmaxLoss
from .procsim import ProcSimLoss
from .proto_triplet import ProtoTripletLoss
from .proxy_nca import ProxyNCALoss
from .snr_contrastive import SNRContrastiveLoss
from .soft_triple import SoftTripleLoss
from .sphereface import SphereFaceLoss
from .subcenter_arcface import SubCenterArcFaceLoss
from .supcon import SupConLoss
from .tcm import TCMLoss
from .tuplet_margin import TupletMarginLoss
from .circle_proxy import CircleProxyLoss
from .generalized_cross_entropy import GeneralizedCrossEntropyLoss
from .ldr import LDRLoss
from .nbc_softmax import NBCSoftmaxLoss
from .nca import NCALoss
from .unpg import UNPGLoss
from .z_loss import ZLoss

# registry: snake_case name -> class
LOSSES = {
    "normalized_softmax": NormalizedSoftmaxLoss,
    "contrastive": ContrastiveLoss,
    "triplet_margin": TripletMarginLoss,
    "multi_similarity": MultiSimilarityLoss,
    "circle": CircleLoss,
    "proxy_anchor": ProxyAnchorLoss,
    "arcface": ArcFaceLoss,
    "prototypical": PrototypicalLoss,
    "lifted_structure": LiftedStructureLoss,
    "generalized_lifted_structure": GeneralizedLiftedStructureLoss,
    "npairs": NPairsLoss,
    "ntxent": NTXentLoss,
    "supcon": SupConLoss,
    "margin": MarginLoss,
    "tuplet_margin": TupletMarginLoss,
    "snr_contrastive": SNRContrastiveLoss,
    "proto_triplet": ProtoTripletLoss,
    "icnn": ICNNLoss,
    "proxy_nca": ProxyNCALoss,
    "cosface": CosFaceLoss,
    "cosent": CoSENTLoss,
    "subcenter_arcface": SubCenterArcFaceLoss,
    "sphereface": SphereFaceLoss,
    "soft_triple": SoftTripleLoss,
    "elasticface": ElasticFaceLoss,
    "ebv": EBVLoss,
    "harmonic": HarmonicLoss,
    "tcm": TCMLoss,
    "mw": MWLoss,
    "align_uniform": AlignUniformLoss,
    "metrix": MetrixLoss,
    "cross_batch_memory": CrossBatchMemory,
    "combined": CombinedLoss,
    "barlow_twins": BarlowTwinsLoss,
    "z_loss": ZLoss,
    "unpg": UNPGLoss,
    "circle_proxy": CircleProxyLoss,
    "generalized_cross_entropy": GeneralizedCrossEntropyLoss,
    "ldr": LDRLoss,
    "nbc_softmax": NBCSoftmaxLoss,
    "nca": NCALoss,
    "pairwise_softmax": PairwiseSoftmaxLoss,
    "contextual": ContextualLoss,
    "mean_field_contrastive": MeanFieldContrastiveLoss,
    "mean_field_multi_similarity": MeanFieldMultiSimilarityLoss,
    "procsim": ProcSimLoss,
    # AnyLoss: loss(probabilities, labels), for classifiers (AnyLossClassifier)
    **ANYLOSS_LOSSES,
}

__all__ = [
    "BaseMetricLoss",
    "BasePairLoss",
    "BaseProxyLoss",
    "BaseMarginSoftmaxLoss",
    "BaseReducer",
    "MeanReducer",
    "SumReducer",
    "AvgNonZeroReducer",
    "PerAnchorReducer",
    "REDUCERS",
    "get_reducer",
    "ArcFaceLoss",
    "BarlowTwinsLoss",
    "CircleLoss",
    "ContrastiveLoss",
    "MultiSimilarityLoss",
    "NormalizedSoftmaxLoss",
    "ProxyAnchorLoss",
    "TripletMarginLoss",
    "AlignUniformLoss",
    "CombinedLoss",
    "ContextualLoss",
    "CoSENTLoss",
    "CosFaceLoss",
    "CrossBatchMemory",
    "EBVLoss",
    "ElasticFaceLoss",
    "GeneralizedLiftedStructureLoss",
    "HarmonicLoss",
    "ICNNLoss",
    "LiftedStructureLoss",
    "MarginLoss",
    "MeanFieldContrastiveLoss",
    "MeanFieldMultiSimilarityLoss",
    "MetrixLoss",
    "MWLoss",
    "NPairsLoss",
    "NTXentLoss",
    "PairwiseSoftmaxLoss",
    "ProcSimLoss",
    "ProtoTripletLoss",
    "ProxyNCALoss",
    "SNRContrastiveLoss",
    "SoftTripleLoss",
    "SphereFaceLoss",
    "SubCenterArcFaceLoss",
    "SupConLoss",
    "TCMLoss",
    "TupletMarginLoss",
    "CircleProxyLoss",
    "GeneralizedCrossEntropyLoss",
    "LDRLoss",
    "NBCSoftmaxLoss",
    "NCALoss",
    "UNPGLoss",
    "ZLoss",
    "AnyLoss",
    "AccuracyLoss",
    "BalancedAccuracyLoss",
    "F1Loss",
    "FBetaLoss",
    "FormulaLoss",
    "GMeanLoss",
    "JaccardLoss",
    "MCCLoss",
    "PrecisionLoss",
    "RecallLoss",
    "LOSSES",
    "get_loss",
]


def get_loss(name, **params):
    """Build a loss from its registry name.

    Parameters
    ----------
    name : str
        A key of :data:`LOSSES` (``"multi_similarity"``, ``"circle"``...).
    **params
        Keyword arguments of the loss class.

    Raises
    ------
    ValueError
        If ``name`` is unknown; the message lists the valid names.
    """
    return build_by_name(LOSSES, name, "loss", params)

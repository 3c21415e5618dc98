"""Default embedders, heads and the Hyp-OC network (pure torch)."""

from ._embedders import Normalized, ResidualEmbedder, initial_projection, within_class_projection
from ._hyp_oc import HypOCNet
from ._hyperbolic_mlr import HyperbolicMLR, hyperbolic_mlr_logits
from ._start_mix import MixedWithStart

__all__ = [
    "HypOCNet",
    "HyperbolicMLR",
    "MixedWithStart",
    "Normalized",
    "ResidualEmbedder",
    "hyperbolic_mlr_logits",
    "initial_projection",
    "within_class_projection",
]

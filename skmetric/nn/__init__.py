"""Default embedders and heads (pure torch)."""

from ._embedders import Normalized, ResidualEmbedder, initial_projection

__all__ = ["Normalized", "ResidualEmbedder", "initial_projection"]

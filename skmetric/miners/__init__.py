"""Miners: choose the informative pairs or triplets of a batch (pure torch).

A miner is called as ``miner(embeddings, labels)`` and returns an index
tuple for a loss's ``indices_tuple``.  Build one by object or by its registry
name with :func:`get_miner`.
"""

from .._blocks import build_by_name
from .base import BaseMiner
from .batch_easy_hard import BatchEasyHardMiner
from .batch_hard import BatchHardMiner
from .distance_weighted import DistanceWeightedMiner
from .multi_similarity import MultiSimilarityMiner
from .pair_margin import PairMarginMiner
from .tcm_hard_negative import TCMHardNegativeMiner
from .triplet_margin import TripletMarginMiner

# registry: snake_case name -> class (or a class with preset parameters)
MINERS = {
    "multi_similarity": MultiSimilarityMiner,
    "batch_hard": BatchHardMiner,
    "triplet_margin": TripletMarginMiner,
    "semihard": TripletMarginMiner,  # alias; its default is semi-hard mining
    "batch_easy_hard": BatchEasyHardMiner,
    "distance_weighted": DistanceWeightedMiner,
    "pair_margin": PairMarginMiner,
    "tcm_hard_negative": TCMHardNegativeMiner,
}

__all__ = [
    "BaseMiner",
    "BatchEasyHardMiner",
    "BatchHardMiner",
    "DistanceWeightedMiner",
    "MultiSimilarityMiner",
    "PairMarginMiner",
    "TCMHardNegativeMiner",
    "TripletMarginMiner",
    "MINERS",
    "get_miner",
]


def get_miner(name, **params):
    """Build a miner from its registry name.

    Parameters
    ----------
    name : str
        A key of :data:`MINERS`: ``"multi_similarity"``, ``"batch_hard"``,
        ``"triplet_margin"`` or ``"semihard"`` (an alias of
        ``"triplet_margin"``, whose default ``type_of_triplets`` is
        ``"semihard"``).
    **params
        Keyword arguments of the miner class.

    Raises
    ------
    ValueError
        If ``name`` is unknown; the message lists the valid names.
    """
    return build_by_name(MINERS, name, "miner", params)

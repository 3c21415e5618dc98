"""Miners: choose the informative pairs or triplets of a batch (pure torch)."""

MINERS = {}

__all__ = ["MINERS", "get_miner"]


def get_miner(name, **params):
    """Build a miner from its registry name."""
    try:
        cls = MINERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown miner {name!r}. Valid names are: {sorted(MINERS)}."
        ) from None
    return cls(**params)

"""Resolving a ``distance`` parameter, shared by losses and miners (pure torch)."""

from . import get_distance

__all__ = ["resolve_distance", "as_badness"]


def resolve_distance(distance, default):
    """The distance object to use: ``None`` -> ``default`` (an instance shared
    by all calls; distances hold no state), a name, or an object."""
    if distance is None:
        return default
    return get_distance(distance)


def as_badness(mat, distance):
    """Map a distance or similarity matrix to "larger is farther".

    Distances are returned unchanged and similarities negated, so that one
    code path serves both (``distance.margin(x, y) == as_badness(x) -
    as_badness(y)`` exactly, because IEEE negation is exact).
    """
    return -mat if distance.is_inverted else mat

"""Helpers for losses built from other losses (combined, Metrix, memory bank)."""

import copy

__all__ = ["build_part", "PartsAttribute"]


def build_part(loss, num_classes=None, embedding_size=None):
    """A loss object from a name or an object, with the sizes it needs.

    A name is built with :func:`~skmetric.losses.get_loss`.  An object that
    needs ``num_classes``/``embedding_size`` is rebuilt from its parameters
    with the sizes filled in (the caller's object is never modified); other
    objects are used as given.
    """
    from . import get_loss

    needs = None
    if isinstance(loss, str):
        cls = type(get_loss(loss))
        needs = getattr(cls, "requires_num_classes", False)
        sizes = {"num_classes": num_classes, "embedding_size": embedding_size} if needs else {}
        if needs and (num_classes is None or embedding_size is None):
            sizes = {}
        return get_loss(loss, **sizes)
    needs = getattr(loss, "requires_num_classes", False)
    if needs and num_classes is not None and embedding_size is not None and (
        getattr(loss, "num_classes", None) != num_classes
        or getattr(loss, "embedding_size", None) != embedding_size
    ) and hasattr(loss, "get_params"):
        params = loss.get_params(deep=False)
        return type(loss)(**{**params, "num_classes": num_classes,
                             "embedding_size": embedding_size})
    return copy.deepcopy(loss)


class PartsAttribute:
    """A class attribute computed from the built parts on instances.

    On the class it returns ``class_value`` (what estimators read before
    building: e.g. ``requires_num_classes = True`` so that they pass the
    sizes, which the wrapper forwards only to the parts that need them); on
    an instance it combines the parts' values with ``combine``.
    """

    def __init__(self, name, class_value, combine, default):
        self.name = name
        self.class_value = class_value
        self.combine = combine
        self.default = default

    def __get__(self, obj, cls=None):
        if obj is None:
            return self.class_value
        parts = obj.__dict__.get("_modules", {}).get("parts")
        if parts is None or len(parts) == 0:
            return self.class_value
        return self.combine(getattr(p, self.name, self.default) for p in parts)

"""``get_params`` / ``set_params`` for building blocks, without scikit-learn.

Losses, miners and distances are ``torch.nn.Module`` objects whose
constructor arguments are plain keyword arguments stored under the same
names.  This mixin exposes them the way scikit-learn estimators do, so that
``clone`` copies them and ``GridSearchCV`` can route ``loss__alpha`` to them.
It imports nothing from scikit-learn: building blocks stay pure torch.
"""

import inspect

__all__ = ["ParamsMixin"]


class ParamsMixin:
    """Expose constructor arguments as ``get_params`` / ``set_params``.

    Subclasses must store every ``__init__`` argument as an attribute of the
    same name (as scikit-learn estimators do).  Arguments whose value is
    filled in at fit time (``num_classes``, ``embedding_size``) are ordinary
    parameters too.
    """

    @classmethod
    def _get_param_names(cls):
        init = cls.__init__
        if init is object.__init__:
            return []
        sig = inspect.signature(init)
        names = []
        for p in sig.parameters.values():
            if p.name == "self" or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                continue
            names.append(p.name)
        return sorted(names)

    def get_params(self, deep=True):
        out = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                for k, v in value.get_params(deep=True).items():
                    out[f"{name}__{k}"] = v
            out[name] = value
        return out

    def set_params(self, **params):
        if not params:
            return self
        valid = self._get_param_names()
        nested = {}
        for key, value in params.items():
            name, sep, sub = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for {type(self).__name__}. "
                    f"Valid parameters are: {valid}."
                )
            if sep:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def _repr_params(self):
        defaults = {
            p.name: p.default
            for p in inspect.signature(type(self).__init__).parameters.values()
        }
        parts = []
        for name in self._get_param_names():
            value = getattr(self, name)
            if defaults.get(name, inspect.Parameter.empty) is not value and defaults.get(
                name
            ) != value:
                parts.append(f"{name}={value!r}")
        return ", ".join(parts)

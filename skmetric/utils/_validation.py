"""The only module of skmetric that imports scikit-learn's private helpers.

scikit-learn's parameter-validation machinery (``Interval``, ``StrOptions``,
``_fit_context``) and ``validate_data`` live in private or semi-private
modules whose paths move between releases.  Every other module imports them
from here, so a scikit-learn upgrade touches one file.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context  # noqa: F401  (re-exported)
from sklearn.utils._param_validation import (  # noqa: F401  (re-exported)
    HasMethods,
    Interval,
    Options,
    StrOptions,
    validate_params,
)
from sklearn.utils.multiclass import (
    check_classification_targets as _sklearn_check_classification_targets,
)
from sklearn.utils.validation import (  # noqa: F401
    check_array,
    check_consistent_length,
    check_is_fitted,
    check_random_state,
    validate_data,
)

__all__ = [
    "HasMethods",
    "Integral",
    "Interval",
    "Options",
    "Real",
    "StrOptions",
    "_fit_context",
    "check_array",
    "check_classification_targets",
    "check_consistent_length",
    "check_is_fitted",
    "check_random_state",
    "validate_data",
    "validate_params",
    "check_finite_tensor_input",
    "check_label_types",
]


def check_finite_tensor_input(X, *, name="X"):
    """Raise a ``ValueError`` naming ``name`` when ``X`` holds NaN or inf."""
    X = np.asarray(X)
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        raise ValueError(f"Input {name} contains NaN or infinity.")
    return X


def check_label_types(y, *, name="y"):
    """Raise a ``ValueError`` when the labels ``y`` mix strings and numbers.

    Sorting such labels (``np.unique``) fails with a bare ``TypeError``
    ("'<' not supported between instances of 'int' and 'str'"), which
    scikit-learn's own target checks let through.
    """
    arr = np.asarray(y) if not hasattr(y, "dtype") else y
    if getattr(arr, "dtype", None) == object and arr.ndim == 1:
        kinds = {isinstance(v, str) for v in arr}
        if len(kinds) > 1:
            raise ValueError(
                f"`{name}` is a mix of strings and numbers; use labels of one type."
            )


def check_classification_targets(y):
    """scikit-learn's ``check_classification_targets``, and a clear
    ``ValueError`` for labels that mix strings and numbers."""
    check_label_types(y)
    _sklearn_check_classification_targets(y)

"""Pickling of estimators: a version stamp, and tensors loaded where they can live.

Every skmetric estimator pickles (``pickle``, ``joblib``, ``copy.deepcopy``)
with the skmetric version that wrote it; loading it under another version
issues a :class:`PickleVersionWarning`, as scikit-learn does with its own
``InconsistentVersionWarning``.

The fitted state of a torch estimator (its net, fitted attributes and any
tensor they hold, wherever it sits) is pickled as one ``torch.save`` blob
and read back with ``torch.load(map_location=...)``: a model fitted on a
GPU loads on a machine without CUDA, its tensors mapped to the CPU.  The
constructor parameters stay in the ordinary pickle, so that joblib's loky
backend can still send them to worker processes by value (cloudpickle).
"""

import io
import pickle
import warnings

import torch

__all__ = [
    "PickleVersionWarning",
    "VersionedPickleMixin",
    "check_version",
    "pack_fitted_state",
    "stamp_version",
    "unpack_fitted_state",
]

VERSION_KEY = "_skmetric_version"
FITTED_KEY = "_skmetric_fitted_state"


class PickleVersionWarning(UserWarning):
    """An estimator was unpickled under another skmetric version than it was pickled with.

    Its attributes were restored as they were saved; whether they still fit
    the code of the running version is not checked.  Refit the estimator
    with the running version, or load it with the version that saved it.

    Parameters
    ----------
    estimator_name : str
        Class of the unpickled estimator.
    current_version : str
        The running skmetric version.
    original_version : str
        The version that pickled it (``"unknown"`` for pickles written
        before skmetric recorded its version).
    """

    def __init__(self, estimator_name, current_version, original_version):
        super().__init__(estimator_name, current_version, original_version)
        self.estimator_name = estimator_name
        self.current_version = current_version
        self.original_version = original_version

    def __str__(self):
        return (
            f"{self.estimator_name} was pickled with skmetric {self.original_version} "
            f"and is loaded with skmetric {self.current_version}; it may fail or give "
            "different results. Refit it with this version, or load it with the "
            "version that saved it."
        )


PickleVersionWarning.__module__ = "skmetric"


def _current_version():
    from .. import __version__  # the package is fully imported once pickling runs

    return __version__


def stamp_version(state):
    """``state`` with the running skmetric version added (for ``__getstate__``)."""
    return {**state, VERSION_KEY: _current_version()}


def check_version(obj, state):
    """Remove the version stamp from ``state``; warn when it is not the running version."""
    original = state.pop(VERSION_KEY, "unknown")
    current = _current_version()
    if original != current:
        warnings.warn(
            PickleVersionWarning(type(obj).__name__, current, original), stacklevel=3
        )
    return state


def pack_fitted_state(state, keep):
    """Move every entry of ``state`` not named in ``keep`` into one ``torch.save`` blob.

    ``keep``: the constructor parameters, pickled as usual.  Nothing is
    packed (and ``state`` is returned as is) when nothing else is there, as
    for an unfitted estimator.
    """
    fitted = {k: v for k, v in state.items() if k not in keep and k != VERSION_KEY}
    if not fitted:
        return state
    buffer = io.BytesIO()
    torch.save(fitted, buffer, pickle_protocol=pickle.HIGHEST_PROTOCOL)
    state = {k: v for k, v in state.items() if k not in fitted}
    state[FITTED_KEY] = buffer.getvalue()
    return state


def unpack_fitted_state(state):
    """Inverse of :func:`pack_fitted_state`; CUDA tensors go to the CPU when CUDA is missing.

    skorch's own pickled state (``net_``'s module, criterion and optimizer)
    is mapped the same way by skorch, which then warns with its
    ``DeviceWarning``.
    """
    blob = state.pop(FITTED_KEY, None)
    if blob is not None:
        map_location = None if torch.cuda.is_available() else "cpu"
        # the pickle that holds the blob was already trusted by its loader
        state.update(torch.load(io.BytesIO(blob), map_location=map_location,
                                weights_only=False))
    return state


class VersionedPickleMixin:
    """Pickles carry the skmetric version; loading another version's pickle warns.

    For estimators without torch state (torch estimators get the same from
    :class:`~skmetric._training.TorchTrainingMixin`).
    """

    def __getstate__(self):
        return stamp_version(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(check_version(self, dict(state)))

"""The one skorch-backed fit loop shared by every torch estimator."""

from ._callbacks import (
    CollapsedEmbeddingWarning,
    NaNGuard,
    StartingModelKeptWarning,
    StopTraining,
    TrainingDivergedError,
    TrainingInterruptedWarning,
    ValidationMonitor,
)
from ._engine import (
    OPTIMIZERS,
    TRAINING_PARAMETER_CONSTRAINTS,
    TorchTrainingMixin,
    guarded_fit,
    resolve_device,
    seeded,
)
from ._persistence import PickleVersionWarning, VersionedPickleMixin
from ._sampler import (
    ClassBalancedBatchSampler,
    EpisodicBatchSampler,
    ShuffledBatchSampler,
    StratifiedBatchSampler,
)

__all__ = [
    "ClassBalancedBatchSampler",
    "CollapsedEmbeddingWarning",
    "EpisodicBatchSampler",
    "NaNGuard",
    "OPTIMIZERS",
    "PickleVersionWarning",
    "ShuffledBatchSampler",
    "StartingModelKeptWarning",
    "StratifiedBatchSampler",
    "StopTraining",
    "TRAINING_PARAMETER_CONSTRAINTS",
    "TorchTrainingMixin",
    "TrainingDivergedError",
    "TrainingInterruptedWarning",
    "ValidationMonitor",
    "VersionedPickleMixin",
    "guarded_fit",
    "resolve_device",
    "seeded",
]

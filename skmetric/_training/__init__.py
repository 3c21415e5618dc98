"""The one skorch-backed fit loop shared by every torch estimator."""

from ._callbacks import (
    CollapsedEmbeddingWarning,
    NaNGuard,
    StartingModelKeptWarning,
    StopTraining,
    TrainingDivergedError,
    ValidationMonitor,
)
from ._engine import (
    OPTIMIZERS,
    TRAINING_PARAMETER_CONSTRAINTS,
    TorchTrainingMixin,
    resolve_device,
    seeded,
)
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
    "ShuffledBatchSampler",
    "StartingModelKeptWarning",
    "StratifiedBatchSampler",
    "StopTraining",
    "TRAINING_PARAMETER_CONSTRAINTS",
    "TorchTrainingMixin",
    "TrainingDivergedError",
    "ValidationMonitor",
    "resolve_device",
    "seeded",
]

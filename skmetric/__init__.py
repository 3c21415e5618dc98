"""skmetric: deep metric learning as scikit-learn estimators."""

from ._anyloss import AnyLossClassifier
from ._frechet import FrechetMeanPredictor
from ._hyperbolic_oc import HyperbolicOneClass
from ._metric_learner import MetricLearner
from ._pairs import PairMetricLearner
from ._proto import ProtoClassifier
from ._tldr import TLDR
from ._training import (
    CollapsedEmbeddingWarning,
    PickleVersionWarning,
    StartingModelKeptWarning,
    TrainingDivergedError,
    TrainingInterruptedWarning,
)
from ._triplets import TripletMetricLearner

__version__ = "0.1.0.dev0"

__all__ = [
    "AnyLossClassifier",
    "CollapsedEmbeddingWarning",
    "FrechetMeanPredictor",
    "HyperbolicOneClass",
    "MetricLearner",
    "PairMetricLearner",
    "PickleVersionWarning",
    "ProtoClassifier",
    "StartingModelKeptWarning",
    "TLDR",
    "TrainingDivergedError",
    "TrainingInterruptedWarning",
    "TripletMetricLearner",
    "__version__",
]

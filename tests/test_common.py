"""scikit-learn's estimator checks on every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skmetric import TLDR, MetricLearner
from skmetric._anyloss import AnyLossClassifier
from skmetric._hyperbolic_oc import HyperbolicOneClass
from skmetric._proto import ProtoClassifier

# Fast settings: the checks fit dozens of times on tiny data.
FAST = dict(max_epochs=2, batch_size=16, hidden_sizes=(16,), random_state=0)

ESTIMATORS = [
    MetricLearner(**FAST),
    AnyLossClassifier(max_epochs=15, batch_size=32, hidden_sizes=(16,), random_state=0),
    HyperbolicOneClass(max_epochs=2, batch_size=16, hidden_sizes=(16,), random_state=0),
    ProtoClassifier(**FAST, n_shot=1, n_query=1),
    TLDR(n_neighbors=2, max_epochs=2, batch_size=16, projector_sizes=(16,), random_state=0),

]

EXPECTED_FAILED = {}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)

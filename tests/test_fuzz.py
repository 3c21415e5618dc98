"""Property-based fuzzing of every public entry point (issue 14, item 1).

Each test draws a small, often degenerate input -- 0, 1 or 2 samples, one or
several features, float16/32/64, int, bool, object and pandas nullable
columns, int/str/mixed/float/None labels, a class with one sample, NaN and
inf, constant features, duplicate rows, scales from 1e-8 to 1e8 -- and calls
one entry point.  The property: the call returns finite values, or raises a
``ValueError``/``TypeError`` whose message names one of the problems the
input really has (a pattern per problem, :data:`PATTERNS`).  A torch
``RuntimeError``, an ``IndexError``, NaN output or an error on a clean input
fails the test.

Examples are derandomised (the same on every run) and counted per entry
point in the ``fuzz_counts`` fixture; ``pytest -p no:xdist`` prints the
counts at the end of the run.  The default profile is small (the whole file
runs in well under a minute on one core); the ``slow`` tests run many more
examples.
"""

import os
import re
import warnings

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from skmetric import (
    TLDR,
    AnyLossClassifier,
    FrechetMeanPredictor,
    HyperbolicOneClass,
    MetricLearner,
    PairMetricLearner,
    ProtoClassifier,
    TripletMetricLearner,
)

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

pd = pytest.importorskip("pandas")

# SKMETRIC_FUZZ_VERBOSE=1 pytest -s tests/test_fuzz.py prints every error raised
VERBOSE = bool(os.environ.get("SKMETRIC_FUZZ_VERBOSE"))

# ---------------------------------------------------------------------------
# profiles
# ---------------------------------------------------------------------------

FAST = dict(deadline=None, derandomize=True, database=None,
            suppress_health_check=list(HealthCheck))


def fast(n):
    """Settings of a non-slow fuzz test with ``n`` examples."""
    return settings(max_examples=n, **FAST)


def big(n):
    """Settings of a slow (bigger) fuzz profile."""
    return settings(max_examples=n, **FAST)


# ---------------------------------------------------------------------------
# what a message must say, per problem of the input
# ---------------------------------------------------------------------------

PATTERNS = {
    "empty": r"0 sample|minimum of \d+ is required|at least \d+|holds 0|empty|no pair",
    "few": r"sample|minimum of \d+|at least|class|pair|triplet|neighbo",
    "nan": r"NaN|infinity|missing|NA",
    "inf": r"infinity|NaN|inf",
    "overflow": r"infinity|NaN|inf|overflow|diverge|too large",
    "string_X": r"could not convert|string|dtype|numeric|numbers",
    "complex": r"[Cc]omplex",
    "y_none": r"requires y|y should|y=None|`y`|None",
    "y_mixed": r"[Mm]ix of label input types|[Mm]ix",
    "y_float": r"[Uu]nknown label type|continuous|float|integer",
    "y_nan": r"NaN|infinity|[Uu]nknown label type|continuous",
    "one_class": r"class|label",
    "singleton": r"class|sample|label|pair|n_shot|n_query",
    "features": r"feature|n_components|dimension",
    "n_features_mismatch": r"features",
    "no_threshold": r"calibrate_threshold",
    "label_kind": r"same kind|strings and numbers",
    "shape": r"shape|dimension|2D|2-D|3D|3-D|expected|reshape",
}


def _problem_pattern(problems):
    pats = [PATTERNS[p] for p in sorted(problems)]
    return "|".join(f"(?:{p})" for p in pats)


def _finite(value):
    """True when every float in ``value`` (array, tensor, scalar, tuple) is finite."""
    if isinstance(value, tuple | list):
        return all(_finite(v) for v in value)
    if isinstance(value, torch.Tensor):
        value = value.detach().float().cpu().numpy() if value.is_floating_point() else value
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, pd.DataFrame | pd.Series):
        value = value.to_numpy()
    arr = np.asarray(value)
    if arr.dtype.kind in "fc":
        return bool(np.isfinite(arr).all())
    return True


def outcome(counts, name, fn, problems):
    """Call ``fn``; check the fuzzing property; return ``(ok, value)``.

    ``ok`` is True when the call returned.  A returned value must be finite;
    an error must be a ValueError/TypeError naming one of ``problems`` (a
    call on a clean input must not raise at all).
    """
    counts[name, "run"] += 1
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = fn()
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        if VERBOSE:
            print(f"{name} {sorted(problems)}: {type(exc).__name__}: {msg[:200]}")
        assert problems, f"{name} raised on a clean input: {type(exc).__name__}: {msg}"
        pattern = _problem_pattern(problems)
        assert re.search(pattern, msg), (
            f"{name}: message {msg!r} names none of the input's problems "
            f"{sorted(problems)}"
        )
        return False, None
    if not _finite(value):
        # an undefined score (no query has a relevant item) is NaN by design,
        # and only with a warning that says so
        said = [str(w.message) for w in caught if "NaN" in str(w.message)]
        assert said, (
            f"{name} returned non-finite values on {sorted(problems)}")
    counts[name, "returned"] += 1
    return True, value


# ---------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------

# clean dtypes come up more often, so that most examples reach the fit
DTYPES = ("float64", "float64", "float64", "float32", "float32", "float16",
          "int64", "bool", "object", "object_str", "pd_Float64", "pd_Int64",
          "complex")


def _as_float(X):
    """``X`` as a float array (None for strings or complex numbers)."""
    if isinstance(X, pd.DataFrame):
        return X.to_numpy(dtype=float, na_value=np.nan)
    if np.asarray(X).dtype.kind == "c":
        return np.asarray(X).real
    try:
        return np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        return None


@st.composite
def features(draw, *, n=None, d=None, max_samples=12, allow_bad=True, frame=True):
    """``(X, problems)``: a small, possibly degenerate feature matrix."""
    if n is None:
        n = draw(st.sampled_from([0, 1, 2]) | st.integers(3, max_samples)
                 | st.integers(4, max_samples) | st.integers(6, max_samples))
    if d is None:
        d = draw(st.sampled_from([1, 2, 5]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, d))
    # half the examples have a clean dtype and finite values, so that most
    # reach the fit and the methods of the fitted estimator
    allow_bad = allow_bad and draw(st.booleans())
    problems = set()
    if n == 0:
        problems.add("empty")
    elif n < 4:
        problems.add("few")
    if d == 1:
        problems.add("features")
    scale = draw(st.sampled_from([1.0, 1.0, 1.0, 1e-8, 1e8]))
    X = X * scale
    if n and draw(st.booleans()):  # constant feature
        X[:, 0] = 3.0 * scale
    if n > 1 and draw(st.booleans()):  # duplicate rows
        X[n // 2:] = X[0]
    special = draw(st.sampled_from(["none"] * 5 + ["nan", "inf", "-inf"])
                   if allow_bad else st.just("none"))
    if n and special != "none":
        X[rng.randint(n), rng.randint(d)] = {"nan": np.nan, "inf": np.inf,
                                             "-inf": -np.inf}[special]
    dtypes = DTYPES if frame else tuple(t for t in DTYPES if not t.startswith("pd"))
    dtype = draw(st.sampled_from(dtypes) if allow_bad else
                 st.sampled_from(["float64", "float32", "int64"]))
    if dtype in ("int64", "bool", "pd_Int64"):
        X = np.nan_to_num(X, nan=0.0, posinf=1e8, neginf=-1e8)
    if dtype == "bool":
        X = X > 0
    elif dtype == "int64":
        X = np.round(X).astype(np.int64)
    elif dtype == "object":
        X = X.astype(object)
    elif dtype == "object_str":
        X = X.astype(object)
        if n:
            X[0, 0] = "a"
            problems.add("string_X")
    elif dtype == "pd_Float64":
        X = pd.DataFrame(X).astype("Float64")
        if n and draw(st.booleans()):
            X.iloc[0, 0] = pd.NA
    elif dtype == "pd_Int64":
        X = pd.DataFrame(np.round(X).astype(np.int64)).astype("Int64")
        if n and draw(st.booleans()):
            X.iloc[0, 0] = pd.NA
    elif dtype == "complex":
        X = X.astype(np.complex128)
        problems.add("complex")
    else:
        with np.errstate(over="ignore"):
            X = X.astype(dtype)
    # the problems the final array has
    values = _as_float(X)
    if values is not None and np.isnan(values).any():
        problems.add("nan")
    if values is not None and np.isinf(values).any():
        problems.add("inf")
    if scale == 1e8 or dtype == "float16":
        # float32 training on 1e8-scale (or 65504-capped) input may overflow
        problems.add("overflow")
    return X, problems


@st.composite
def labels(draw, n, *, allow_none=True):
    """``(y, problems)``: labels for ``n`` samples, of a drawn kind."""
    kinds = ["int", "str", "float_int"]
    if draw(st.booleans()):
        kinds += ["mixed", "float", "nan"] + (["none"] if allow_none else [])
    kind = draw(st.sampled_from(kinds))
    n_classes = draw(st.sampled_from([1, 2, 2, 3, 3]))
    singleton = draw(st.booleans())
    y = np.arange(n) % n_classes
    problems = set()
    if singleton and n > 2:
        y[-1] = n_classes  # a class with one sample
        problems.add("singleton")
    if len(np.unique(y)) < 2:
        problems.add("one_class")
    if n and (np.bincount(y) == 1).any():
        problems.add("singleton")
    if kind == "none":
        return None, {"y_none"}
    if kind == "str":
        return np.array([f"c{v}" for v in y]), problems
    if kind == "mixed":
        y = y.astype(object)
        if n:
            y[0] = "s"
        problems.add("y_mixed")
        return y, problems
    if kind == "float":
        problems.add("y_float")
        return y + 0.5, problems
    if kind == "float_int":
        return y.astype(float), problems
    if kind == "nan":
        y = y.astype(float)
        if n:
            y[0] = np.nan
            problems.add("y_nan")
        return y, problems
    return y, problems


@pytest.fixture(scope="session")
def fuzz_counts(request):
    """The session's counter of examples per entry point (printed at the end)."""
    from collections import Counter

    return request.config.stash.setdefault(FUZZ_COUNTS_KEY, Counter())


from conftest import FUZZ_COUNTS_KEY  # noqa: E402

# ---------------------------------------------------------------------------
# estimators
# ---------------------------------------------------------------------------

TINY = dict(max_epochs=1, batch_size=8, hidden_sizes=(8,), random_state=0)
# problems of a training set that do not matter once the model is fitted
FIT_ONLY = {"few", "features", "one_class", "singleton"}
METHODS = ("transform", "predict", "predict_proba", "decision_function",
           "score_samples")


def _check_fitted(counts, name, est, data, n_features, score_args=None):
    """Call every prediction method of a fitted ``est`` on a fresh fuzzed X."""
    d = data.draw(st.sampled_from([n_features, n_features, n_features + 1]))
    X2, problems = data.draw(features(d=d))
    problems -= FIT_ONLY
    if d != n_features:
        problems.add("n_features_mismatch")
    for method in METHODS:
        if not hasattr(est, method):
            continue
        ok, out = outcome(counts, f"{name}.{method}",
                          lambda: getattr(est, method)(X2), problems)
        if ok and method in ("transform", "predict_proba", "decision_function",
                             "score_samples", "predict"):
            assert len(out) == len(X2)
        if ok and method == "predict" and hasattr(est, "classes_"):
            assert set(np.asarray(out).tolist()) <= set(est.classes_.tolist())
        if ok and method == "predict_proba" and len(out):
            np.testing.assert_allclose(np.asarray(out).sum(1), 1.0, rtol=1e-4)
    if score_args is not None:
        outcome(counts, f"{name}.score", lambda: est.score(*score_args), set())


def _fuzz_supervised(counts, name, est, data, *, max_samples=12):
    X, xp = data.draw(features(max_samples=max_samples))
    y, yp = data.draw(labels(len(X)))
    ok, _ = outcome(counts, f"{name}.fit", lambda: est.fit(X, y), xp | yp)
    if ok:
        _check_fitted(counts, name, est, data, est.n_features_in_,
                      score_args=(X, y) if hasattr(est, "score") else None)
    if ok and hasattr(est, "add_classes"):  # few-shot: new classes, no retraining
        X3, xp3 = data.draw(features(d=est.n_features_in_, max_samples=6))
        y3, yp3 = data.draw(labels(len(X3), allow_none=False))
        problems = (xp3 | yp3 | {"label_kind"}) - {"features", "few", "one_class",
                                                   "singleton"}
        ok, _ = outcome(counts, f"{name}.add_classes",
                        lambda: est.add_classes(X3, y3), problems)
        if ok:
            _check_fitted(counts, name, est, data, est.n_features_in_)


def _fuzz_unsupervised(counts, name, est, data, *, max_samples=12):
    X, xp = data.draw(features(max_samples=max_samples))
    ok, _ = outcome(counts, f"{name}.fit", lambda: est.fit(X), xp)
    if ok:
        _check_fitted(counts, name, est, data, est.n_features_in_)


SUPERVISED = {
    "MetricLearner": lambda: MetricLearner(**TINY),
    "ProtoClassifier": lambda: ProtoClassifier(**TINY, n_shot=1, n_query=1),
    "AnyLossClassifier": lambda: AnyLossClassifier(**TINY),
    "FrechetMeanPredictor": lambda: FrechetMeanPredictor(LogisticRegression()),
}
UNSUPERVISED = {
    "HyperbolicOneClass": lambda: HyperbolicOneClass(**TINY),
    "TLDR": lambda: TLDR(n_neighbors=2, max_epochs=1, batch_size=8,
                         projector_sizes=(8,), random_state=0),
}


@pytest.mark.parametrize("name", sorted(SUPERVISED))
@fast(25)
@given(data=st.data())
def test_fuzz_supervised_estimator(name, data, fuzz_counts):
    _fuzz_supervised(fuzz_counts, name, SUPERVISED[name](), data)


@pytest.mark.parametrize("name", sorted(UNSUPERVISED))
@fast(25)
@given(data=st.data())
def test_fuzz_unsupervised_estimator(name, data, fuzz_counts):
    _fuzz_unsupervised(fuzz_counts, name, UNSUPERVISED[name](), data)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SUPERVISED))
@big(150)
@given(data=st.data())
def test_fuzz_supervised_estimator_big(name, data, fuzz_counts):
    _fuzz_supervised(fuzz_counts, name, SUPERVISED[name](), data, max_samples=40)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(UNSUPERVISED))
@big(150)
@given(data=st.data())
def test_fuzz_unsupervised_estimator_big(name, data, fuzz_counts):
    _fuzz_unsupervised(fuzz_counts, name, UNSUPERVISED[name](), data, max_samples=40)


# ---------------------------------------------------------------------------
# tuple estimators: pairs (n, 2, d) and triplets (n, 3, d)
# ---------------------------------------------------------------------------

TUPLE_TINY = dict(max_epochs=1, batch_size=8, hidden_sizes=(8,),
                  validation_fraction=None, random_state=0)


@st.composite
def tuples(draw, k, *, d=None, max_tuples=8):
    """``(T, problems)``: ``(n, k, d)`` tuples of fuzzed rows (k rows each)."""
    n = draw(st.sampled_from([0, 1, 2]) | st.integers(3, max_tuples)
             | st.integers(4, max_tuples))
    if d is None:
        d = draw(st.sampled_from([1, 2, 5]))
    X, problems = draw(features(n=n * k, d=d, frame=False))
    problems.discard("few")
    problems.discard("empty")
    if n == 0:
        problems.add("empty")
    elif n < 3:
        problems.add("few")
    values = _as_float(X)
    if values is not None and n and len(np.unique(values, axis=0)) < len(values):
        problems.add("duplicates")  # equal rows are one item
    shape = draw(st.sampled_from(["3d", "3d", "3d", "2d"]))
    if shape == "2d":
        problems.add("shape")
        return X.reshape(n, k * d), problems
    return X.reshape(n, k, d), problems


@st.composite
def pair_targets(draw, n):
    kind = draw(st.sampled_from(["none", "none", "pm1", "01", "graded", "bad"]))
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    if kind == "none":
        return None, set()
    if kind == "pm1":
        y = np.where(np.arange(n) % 2, 1, -1)
    elif kind == "01":
        y = np.arange(n) % 2
    elif kind == "graded":
        y = rng.uniform(size=n)
    else:
        y = rng.uniform(-3, 3, size=n)
        return y, {"y_float"}
    problems = set()
    if n and len(np.unique(y)) < 2:
        problems.add("one_class")
    return y, problems


PATTERNS["y_float"] += r"|\[0, 1\]|\+1|-1"
PATTERNS["one_class"] += r"|only the label|all equal|nothing to rank"
PATTERNS["few"] += r"|items|group"
PATTERNS["overflow"] += r"|items|group"  # saturated rows are one item
PATTERNS["duplicates"] = r"items|group"


def _fuzz_tuples(counts, name, make, k, data, *, max_tuples=8):
    T, tp = data.draw(tuples(k, max_tuples=max_tuples))
    if k == 2:
        y, yp = data.draw(pair_targets(len(T)))
    else:
        y, yp = None, set()
    est = make()
    ok, _ = outcome(counts, f"{name}.fit", lambda: est.fit(T, y), tp | yp)
    if not ok:
        return
    nf = est.n_features_in_
    T2, tp2 = data.draw(tuples(k, d=data.draw(st.sampled_from([nf, nf, nf + 1]))))
    if T2.ndim == 3 and T2.shape[2] != est.n_features_in_:
        tp2.add("n_features_mismatch")
    tp2 -= FIT_ONLY
    outcome(counts, f"{name}.decision_function", lambda: est.decision_function(T2), tp2)
    if k == 2 and not hasattr(est, "threshold_"):
        tp2 = tp2 | {"no_threshold"}  # fitted without +1/-1 labels
    outcome(counts, f"{name}.predict", lambda: est.predict(T2), tp2)
    rows = T2.reshape(-1, T2.shape[-1]) if T2.ndim == 3 else T2
    rp = set(tp2) - {"shape"}
    if rows.shape[1] != est.n_features_in_:
        rp.add("n_features_mismatch")
    outcome(counts, f"{name}.transform", lambda: est.transform(rows), rp)
    if k == 2 and y is not None and not yp:
        outcome(counts, f"{name}.score", lambda: est.score(T, y), set())
        if set(np.unique(y)) <= {-1, 0, 1}:
            outcome(counts, f"{name}.calibrate_threshold",
                    lambda: est.calibrate_threshold(T, y), set())


TUPLES = {
    "PairMetricLearner": (lambda: PairMetricLearner(**TUPLE_TINY), 2),
    "TripletMetricLearner": (lambda: TripletMetricLearner(**TUPLE_TINY), 3),
}


@pytest.mark.parametrize("name", sorted(TUPLES))
@fast(30)
@given(data=st.data())
def test_fuzz_tuple_estimator(name, data, fuzz_counts):
    make, k = TUPLES[name]
    _fuzz_tuples(fuzz_counts, name, make, k, data)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TUPLES))
@big(150)
@given(data=st.data())
def test_fuzz_tuple_estimator_big(name, data, fuzz_counts):
    make, k = TUPLES[name]
    _fuzz_tuples(fuzz_counts, name, make, k, data, max_tuples=30)


# ---------------------------------------------------------------------------
# metrics, scorers and neighbours
# ---------------------------------------------------------------------------

from skmetric import metrics as M  # noqa: E402
from skmetric.neighbors import kneighbors, mine_hard_negatives  # noqa: E402

EMBEDDING_METRICS = {
    "recall_at_k": lambda X, y, k: M.recall_at_k(X, y, k),
    "precision_at_k": lambda X, y, k: M.precision_at_k(X, y, k),
    "map_at_r": lambda X, y, k: M.map_at_r(X, y),
    "mean_average_precision": lambda X, y, k: M.mean_average_precision(X, y, k),
    "mrr": lambda X, y, k: M.mrr(X, y, k),
    "r_precision": lambda X, y, k: M.r_precision(X, y),
    "retrieval_report": lambda X, y, k: M.retrieval_report(X, y, ks=(1, k)),
    "recall_at_k(X_ref)": lambda X, y, k: M.recall_at_k(X[:1], y[:1], k, X_ref=X,
                                                        labels_ref=y),
    "nmi": lambda X, y, k: M.nmi(X, y),
    "ami": lambda X, y, k: M.ami(X, y),
    "alignment": lambda X, y, k: M.alignment(X, y),
    "uniformity": lambda X, y, k: M.uniformity(X, y),
    "equal_error_rate": lambda X, y, k: M.equal_error_rate(X, y),
    "far_frr": lambda X, y, k: M.far_frr(X, y, 0.5),
    "opis": lambda X, y, k: M.opis(X, y),
    "pair_roc_auc": lambda X, y, k: M.pair_roc_auc(X, y),
}
PATTERNS["k"] = r"`k`|\bk\b|`ks`|n_neighbors"


def _fuzz_metric(counts, name, data):
    X, xp = data.draw(features(max_samples=10))
    y, yp = data.draw(labels(len(X), allow_none=False))
    k = data.draw(st.sampled_from([1, 2, 5]))
    problems = xp | yp | {"k"}
    if isinstance(X, pd.DataFrame):
        X = X.to_numpy()
    outcome(counts, f"metrics.{name}", lambda: EMBEDDING_METRICS[name](X, y, k),
            problems)


@pytest.mark.parametrize("name", sorted(EMBEDDING_METRICS))
@fast(20)
@given(data=st.data())
def test_fuzz_embedding_metric(name, data, fuzz_counts):
    _fuzz_metric(fuzz_counts, name, data)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EMBEDDING_METRICS))
@big(200)
@given(data=st.data())
def test_fuzz_embedding_metric_big(name, data, fuzz_counts):
    _fuzz_metric(fuzz_counts, name, data)


@fast(30)
@given(data=st.data())
def test_fuzz_anyloss_scores(data, fuzz_counts):
    n = data.draw(st.integers(0, 8))
    y_true, yp = data.draw(labels(n, allow_none=False))
    y_pred = np.roll(y_true, 1)  # same label type: a wrong prediction or two
    pp = set()
    metric = data.draw(st.sampled_from(["f1", "accuracy", "balanced_accuracy",
                                        "mcc", "gmean", "precision", "recall"]))
    problems = (yp | pp) - {"one_class", "singleton"} | {"empty"} if n == 0 else (yp | pp) - {
        "one_class", "singleton"}
    outcome(fuzz_counts, "metrics.anyloss_score",
            lambda: M.anyloss_score(y_true, y_pred, metric=metric), problems)
    proba = np.random.RandomState(n).dirichlet(np.ones(2), size=n)
    y01 = np.arange(n) % 2
    outcome(fuzz_counts, "metrics.soft_anyloss_score",
            lambda: M.soft_anyloss_score(y01, proba, metric=metric),
            {"empty"} if n == 0 else set())
    outcome(fuzz_counts, "metrics.expected_squared_distance",
            lambda: M.expected_squared_distance(y_true, y_pred), problems)


@pytest.fixture(scope="module")
def fitted_learner():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 3))
    y = np.arange(30) % 3
    return MetricLearner(**TINY).fit(X, y)


# skmetric's scorers of an embedding (the others need predict/predict_proba)
EMBEDDING_SCORERS = ["ami", "map@r", "mean_average_precision", "mrr", "neg_alignment",
                     "neg_equal_error_rate", "neg_opis", "neg_uniformity", "nmi",
                     "pair_roc_auc", "precision@1", "r_precision", "recall@1",
                     "recall@5"]


@fast(30)
@given(data=st.data())
def test_fuzz_scorers(data, fitted_learner, fuzz_counts):
    X, xp = data.draw(features(d=3, max_samples=10))
    y, yp = data.draw(labels(len(X), allow_none=False))
    name = data.draw(st.sampled_from(EMBEDDING_SCORERS))
    scorer = M.get_scorer(name)
    problems = (xp | yp | {"k"}) - {"features"}
    outcome(fuzz_counts, "metrics scorers (get_scorer(name))",
                    lambda: scorer(fitted_learner, X, y), problems)


@fast(30)
@given(data=st.data())
def test_fuzz_few_shot_accuracy(data, fitted_learner, fuzz_counts):
    X, xp = data.draw(features(d=3, max_samples=20))
    y, yp = data.draw(labels(len(X), allow_none=False))
    n_way = data.draw(st.sampled_from([1, 2, 2, 3]))
    problems = (xp | yp | {"n_way"}) - {"features"}
    outcome(fuzz_counts, "metrics.few_shot_accuracy",
            lambda: M.few_shot_accuracy(fitted_learner, X, y, n_way=n_way, n_shot=1,
                                        n_query=1, n_episodes=3, random_state=0),
            problems)


PATTERNS["n_way"] = r"n_way|n_shot|n_query|class"


@fast(40)
@given(data=st.data())
def test_fuzz_kneighbors(data, fuzz_counts):
    X, xp = data.draw(features(max_samples=10))
    n_neighbors = data.draw(st.sampled_from([1, 1, 2, 3, 20]))
    metric = data.draw(st.sampled_from(["euclidean", "cosine", "dot"]))
    with_ref = data.draw(st.booleans())
    problems = (xp | {"k"}) - {"features", "singleton", "one_class"}
    if with_ref:
        ok, out = outcome(fuzz_counts, "neighbors.kneighbors(X, X_ref)",
                          lambda: kneighbors(X[:2] if len(X) else X, X,
                                             n_neighbors, metric=metric), problems)
    else:
        ok, out = outcome(fuzz_counts, "neighbors.kneighbors(X)",
                          lambda: kneighbors(X, None, n_neighbors, metric=metric),
                          problems)
    if ok:
        dist, idx = out
        assert idx.min(initial=0) >= 0 and idx.max(initial=0) < len(X)


@fast(30)
@given(data=st.data())
def test_fuzz_mine_hard_negatives(data, fuzz_counts):
    X, xp = data.draw(features(max_samples=10, frame=False))
    n = len(X)
    n_neg = data.draw(st.sampled_from([1, 2, 5]))
    kind = data.draw(st.sampled_from(["ok", "ok", "ok", "out_of_range", "float"]))
    anchors = np.arange(n // 2)
    positives = anchors + n // 2
    problems = (xp | {"n_negatives"}) - {"features", "singleton", "one_class", "few"}
    if kind == "out_of_range" and n:
        positives = positives + n
        problems.add("index")
    elif kind == "float":
        anchors = anchors + 0.5
        problems.add("index")
    if len(anchors) == 0:
        problems.add("empty")
    ok, out = outcome(fuzz_counts, "neighbors.mine_hard_negatives",
                      lambda: mine_hard_negatives(anchors, positives, X,
                                                  n_negatives=n_neg), problems)
    if ok and len(out):
        out = np.asarray(out)
        assert out.min() >= 0 and out.max() < n


PATTERNS["index"] = r"ind(ex|ices)|range|integer"


@fast(30)
@given(data=st.data())
def test_fuzz_retrieval_scores(data, fuzz_counts):
    Q, qp = data.draw(features(max_samples=6, d=3, frame=False))
    C, cp = data.draw(features(max_samples=10, d=3, frame=False))
    rng = np.random.RandomState(len(Q) * 31 + len(C))
    relevance = (rng.uniform(size=(len(Q), len(C))) > 0.6).astype(float)
    k = data.draw(st.sampled_from([1, 3, 20]))
    problems = (qp | cp | {"k"}) - {"features", "few"}
    outcome(fuzz_counts, "metrics.retrieval_scores",
            lambda: M.retrieval_scores(Q, C, relevance, k=k), problems)


PATTERNS["n_negatives"] = r"n_negatives|candidates|corpus"


# ---------------------------------------------------------------------------
# losses and miners (every registered one) on random batches
# ---------------------------------------------------------------------------

from skmetric.losses import LOSSES, get_loss  # noqa: E402
from skmetric.miners import MINERS, get_miner  # noqa: E402

N_CLASSES = 3
PATTERNS["batch"] = r"embeddings|labels|shape|label|integer|num_classes|class|samples"


def _build_loss(name, embedding_size):
    cls = LOSSES[name]
    kw = {}
    if getattr(cls, "requires_num_classes", False):  # proxies
        kw = dict(num_classes=N_CLASSES, embedding_size=embedding_size)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return get_loss(name, **kw)


@st.composite
def batches(draw, *, probabilities=False):
    """``(embeddings, labels, problems)``: a random batch, sometimes malformed.

    Embeddings are finite (a loss is not asked to repair NaN input: the
    training engine's NaN guard stops such a fit); their scale runs from
    1e-8 to 1e4, and rows may repeat.
    """
    n = draw(st.sampled_from([0, 1, 2]) | st.integers(3, 10))
    d = draw(st.sampled_from([1, 2, 4]))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    if probabilities:
        emb = torch.softmax(torch.randn(n, N_CLASSES, generator=g), 1).to(dtype)
    else:
        scale = draw(st.sampled_from([1.0, 1.0, 1e-8, 1e-3, 1e2, 1e4]))
        emb = (torch.randn(n, d, generator=g) * scale).to(dtype)
        if n > 1 and draw(st.booleans()):
            emb[n // 2:] = emb[0]
    y = torch.randint(N_CLASSES, (n,), generator=g)
    problems = set()
    bad = draw(st.sampled_from(["none"] * 6 + ["float_labels", "short_labels", "1d",
                                              "label_range"]))
    if bad == "float_labels":
        y = y.double() + 0.5
    elif bad == "short_labels":
        y = y[: max(n - 1, 0)] if n else torch.zeros(1, dtype=torch.long)
    elif bad == "1d":
        emb = emb.reshape(-1)
    elif bad == "label_range":
        y = y + N_CLASSES  # outside [0, num_classes) of proxy losses
    if bad != "none":
        problems.add("batch")
    return emb.requires_grad_(), y, problems, bad


def _fuzz_loss(counts, name, data):
    probabilities = name.startswith("anyloss")
    emb, y, problems, bad = data.draw(batches(probabilities=probabilities))
    size = emb.shape[-1] if emb.ndim == 2 else 1
    loss = _build_loss(name, size)
    if bad == "label_range" and not (getattr(loss, "requires_num_classes", False)
                                     or probabilities):
        problems = set()  # any integer labels are fine for a pair loss
    ok, value = outcome(counts, f"losses.{name}", lambda: loss(emb, y), problems)
    if ok:
        assert value.ndim == 0
        value.backward()
        assert emb.grad is None or torch.isfinite(emb.grad).all(), (
            f"{name}: non-finite gradient")


@pytest.mark.parametrize("name", sorted(LOSSES))
@fast(15)
@given(data=st.data())
def test_fuzz_loss(name, data, fuzz_counts):
    _fuzz_loss(fuzz_counts, name, data)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LOSSES))
@big(150)
@given(data=st.data())
def test_fuzz_loss_big(name, data, fuzz_counts):
    _fuzz_loss(fuzz_counts, name, data)


def _fuzz_miner(counts, name, data):
    emb, y, problems, bad = data.draw(batches())
    if bad == "label_range":
        problems = set()
    miner = get_miner(name)
    ok, out = outcome(counts, f"miners.{name}", lambda: miner(emb, y), problems)
    if ok:
        for idx in out:
            assert idx.dtype == torch.long
            assert idx.numel() == 0 or (0 <= idx.min() and idx.max() < len(emb))


@pytest.mark.parametrize("name", sorted(MINERS))
@fast(20)
@given(data=st.data())
def test_fuzz_miner(name, data, fuzz_counts):
    _fuzz_miner(fuzz_counts, name, data)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MINERS))
@big(200)
@given(data=st.data())
def test_fuzz_miner_big(name, data, fuzz_counts):
    _fuzz_miner(fuzz_counts, name, data)


# ---------------------------------------------------------------------------
# regressions: each bug the fuzzing found, pinned on its smallest input
# ---------------------------------------------------------------------------


def test_regression_last_batch_of_one_sample_with_batch_norm():
    # 9 samples, batch_size=8: the last batch held 1 sample and batch norm
    # raised "Expected more than 1 value per channel when training"
    X = np.random.RandomState(0).normal(size=(9, 2))
    y = np.arange(9) % 2
    emb = MetricLearner(**TINY).fit(X, y).transform(X)
    assert emb.shape == (9, 2) and np.isfinite(emb).all()
    from skmetric._training import ShuffledBatchSampler

    sampler = ShuffledBatchSampler(9, 8, generator=torch.Generator().manual_seed(0))
    sizes = [len(b) for b in sampler]
    assert sizes == [9] and len(sampler) == 1
    assert sorted(torch.cat(list(sampler)).tolist()) == list(range(9))
    assert [len(b) for b in ShuffledBatchSampler(
        10, 4, generator=torch.Generator().manual_seed(0))] == [4, 4, 2]


def test_regression_hyperbolic_one_class_identical_rows():
    # identical rows: a zero covariance made the whitening matrix 1e156
    # and the training loss NaN (TrainingDivergedError)
    X = np.array([[1.76405235, 0.40015721]] * 4)
    est = HyperbolicOneClass(**TINY).fit(X)
    assert np.isfinite(est.score_samples(X)).all()
    assert np.isfinite(est.decision_function(X + 1)).all()


@pytest.mark.parametrize("learner, k", [(PairMetricLearner, 2), (TripletMetricLearner, 3)])
def test_regression_tuples_as_object_array_of_numbers(learner, k):
    # an object array of numbers was refused ("must hold numbers; got dtype
    # object") although check_array accepts it for 2-D estimators
    T = np.random.RandomState(0).normal(size=(6, k, 2))
    est = learner(**TUPLE_TINY).fit(T.astype(object))
    np.testing.assert_array_equal(est.decision_function(T.astype(object)),
                                  est.decision_function(T))
    T_str = T.astype(object)
    T_str[0, 0, 0] = "a"
    with pytest.raises(ValueError, match="must hold numbers; got dtype object"):
        est.decision_function(T_str)


def test_regression_pair_predict_without_threshold_is_not_fitted_error():
    # a bare AttributeError; now NotFittedError (a ValueError and an AttributeError)
    from sklearn.exceptions import NotFittedError

    T = np.random.RandomState(0).normal(size=(6, 2, 2))
    est = PairMetricLearner(**TUPLE_TINY).fit(T)
    with pytest.raises(NotFittedError, match="call calibrate_threshold"):
        est.predict(T)


@pytest.mark.parametrize("metric", ["gmean", "f1", lambda tp, fp, fn, tn: tp / (tp + fn)])
def test_regression_anyloss_score_no_samples(metric):
    # gmean and formula metrics raised torch's RuntimeError "Can not infer
    # total number of classes from empty tensor"; soft_anyloss_score returned 0.0
    with pytest.raises(ValueError, match="needs at least 1 sample; got 0 samples"):
        M.anyloss_score([], [], metric=metric)
    with pytest.raises(ValueError, match="needs at least 1 sample; got 0 samples"):
        M.soft_anyloss_score(np.zeros(0, int), np.zeros((0, 2)), metric=metric)
    with pytest.raises(ValueError, match="one entry per sample; got 2 and 1"):
        M.anyloss_score([0, 1], [0], metric=metric)


@pytest.mark.parametrize("name", sorted(MINERS))
def test_regression_miners_on_an_empty_batch(name):
    # batch_hard, batch_easy_hard and distance_weighted raised IndexError
    # ("Expected reduction dim 1 to have non-zero size")
    miner = get_miner(name)
    full = miner(torch.randn(6, 4), torch.tensor([0, 0, 1, 1, 2, 2]))
    empty = miner(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long))
    assert len(empty) == len(full) == miner.tuple_size
    assert all(t.numel() == 0 and t.dtype == torch.long for t in empty)


@pytest.mark.parametrize("name", sorted(set(EMBEDDING_METRICS) - {"uniformity"}))
def test_regression_metrics_labels_mixing_strings_and_numbers(name):
    # a bare TypeError "'<' not supported between instances of 'int' and 'str'"
    X = np.random.RandomState(0).normal(size=(6, 2))
    y = np.array([0, 0, "a", "a", 1, 1], dtype=object)
    with pytest.raises(ValueError, match="is a mix of strings and numbers"):
        EMBEDDING_METRICS[name](X, y, 1)


@pytest.mark.parametrize("name", sorted(SUPERVISED))
def test_regression_estimators_labels_mixing_strings_and_numbers(name):
    # fit raised scikit-learn's bare TypeError from sorting the labels
    X = np.random.RandomState(0).normal(size=(6, 2))
    y = np.array([0, 0, "a", "a", 1, 1], dtype=object)
    with pytest.raises(ValueError, match="`y` is a mix of strings and numbers"):
        SUPERVISED[name]().fit(X, y)


def test_regression_label_scores_labels_mixing_strings_and_numbers():
    y = np.array([0, "a", 1], dtype=object)
    with pytest.raises(ValueError, match="`y_true` is a mix of strings and numbers"):
        M.anyloss_score(y, y)
    with pytest.raises(ValueError, match="`y_true` is a mix of strings and numbers"):
        M.expected_squared_distance(y, y)

"""Global average precision against a brute-force loop."""

import re

import numpy as np
import pytest

from skmetric.metrics import global_average_precision


def brute_gap(y_true, y_pred, conf, no_label):
    """GLDv2's GAP: rank the predictions by confidence (ties: query index)."""
    preds = [(c, q) for q, c in enumerate(conf) if not np.isnan(c)]
    preds.sort(key=lambda t: (-t[0], t[1]))
    M = sum(1 for t in y_true if t != no_label)
    total, correct = 0.0, 0
    for i, (_, q) in enumerate(preds, start=1):
        if y_true[q] != no_label and y_pred[q] == y_true[q]:
            correct += 1
            total += correct / i
    return total / M


@pytest.mark.parametrize("seed", range(5))
def test_random_predictions_with_ties_and_gaps(seed):
    rng = np.random.RandomState(seed)
    n = 60
    y_true = rng.randint(-1, 5, size=n)  # -1: no landmark
    y_pred = np.where(rng.rand(n) < 0.5, y_true, rng.randint(0, 5, size=n))
    conf = rng.randint(0, 6, size=n).astype(float)  # many ties
    conf[rng.rand(n) < 0.2] = np.nan  # no prediction
    got = global_average_precision(y_true, y_pred, conf, no_label=-1)
    assert got == pytest.approx(brute_gap(y_true, y_pred, conf, -1), abs=1e-12)
    assert 0 < got < 1


def test_known_values_and_strings():
    assert global_average_precision([0, 1, 2], [0, 1, 2], [0.3, 0.2, 0.1]) == 1.0
    # One wrong prediction ranked first: (1/2 + 2/3) / 2.
    got = global_average_precision(["a", "b", "c"], ["x", "b", "c"], [0.9, 0.5, 0.4])
    assert got == pytest.approx((1 / 2 + 2 / 3) / 3)
    # A missing prediction lowers GAP only through M.
    assert global_average_precision([0, 1], [0, 1], [1.0, np.nan]) == 0.5
    # None marks an unlabelled query in an object array.
    got = global_average_precision(np.array(["a", None], dtype=object), ["a", "a"], [0.1, 0.9])
    assert got == pytest.approx(1 / 2)


def test_order_matters_unlike_accuracy():
    y_true, y_pred = [0, 1, 2, 3], [0, 1, 9, 9]
    good = global_average_precision(y_true, y_pred, [4, 3, 2, 1])
    bad = global_average_precision(y_true, y_pred, [1, 2, 3, 4])
    assert good == pytest.approx(0.5) and bad == pytest.approx((1 / 3 + 2 / 4) / 4)


def test_no_labelled_query_warns_nan():
    with pytest.warns(UserWarning, match=re.escape("no query has a true label (M = 0)")):
        assert np.isnan(global_average_precision([-1, -1], [0, 1], [1, 2], no_label=-1))


@pytest.mark.parametrize(
    "args, message",
    [
        (([0, 1], [0], [1.0, 2.0]),
         "`y_true`, `y_pred` and `confidence` must have the same length; got 2, 1 and 2."),
        (([0, 1], [0, 1], [1.0, np.inf]), "`confidence` contains infinity."),
        (([0, 1], [0, 1], np.ones((2, 2))),
         "`confidence` must be 1-D; got an array of shape (2, 2)."),
        (([0, 1], [0, 1], ["a", "b"]), "`confidence` must hold real numbers"),
    ],
)
def test_bad_input(args, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        global_average_precision(*args)

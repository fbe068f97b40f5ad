# nerve: the two commands a new user runs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=
# pytest runs 2 workers on 2 cores: one BLAS (and Numba) thread each, or their threads fight.
TEST_ENV := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1

.PHONY: demo test test-fast bench lint format clean

# The environments: one stamp per set of extras, redone when pyproject.toml changes.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.stamp-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[train,data]'
	touch $@

$(VENV)/.stamp-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

## demo: set up and run the main job (train a CNN on the 8x8 digits, write a report)
demo: $(VENV)/.stamp-demo
	$(BIN)/nerve demo

## test: set up (test extras, torch==2.13.0 as the oracle, Debian chromium) and run the suite
test: $(VENV)/.stamp-test
	bash scripts/ensure-chromium.sh
	$(TEST_ENV) $(BIN)/python -m pytest -n 2 --dist loadfile -p no:cacheprovider $(PYTEST_ARGS)

## test-fast: the suite without browser and slow tests
test-fast: $(VENV)/.stamp-test
	$(TEST_ENV) $(BIN)/python -m pytest -n 2 --dist loadfile -p no:cacheprovider -m "not browser and not slow" $(PYTEST_ARGS)

## bench: nerve beside PyTorch (2 threads), a table of speed ratios
bench: $(VENV)/.stamp-test
	$(BIN)/python -m benchmarks.run

lint: $(VENV)/.stamp-test
	$(BIN)/ruff check nerve tests benchmarks examples

format: $(VENV)/.stamp-test
	$(BIN)/ruff format nerve tests benchmarks examples

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache artifacts

# Two commands for a newcomer: `make run` and `make test`. Both bootstrap .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test venv dev-venv lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

venv: $(BIN)/python
	$(BIN)/pip install --quiet -e .

dev-venv: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"

run: venv
	mkdir -p var
	$(BIN)/ticketing db upgrade
	$(BIN)/python -m ticketing.entrypoints.demo
	$(BIN)/ticketing serve

# Two pytest workers (the CI machine has 2 cores and most tests wait on servers, browsers and
# databases); a test file stays on one worker (module fixtures are built once).  PYTEST_WORKERS=0
# runs everything in this process.
PYTEST_WORKERS ?= 2

test: dev-venv
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

typecheck: dev-venv
	$(BIN)/python -m mypy

bench: dev-venv
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) var .pytest_cache

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

test: dev-venv
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

typecheck: dev-venv
	$(BIN)/python -m mypy

bench: dev-venv
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) var .pytest_cache

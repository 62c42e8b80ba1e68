# Set-up and entry points. Each target creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[demo]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.demo-installed
	$(BIN)/python examples/build_demo.py --out examples/demo/data
	rm -rf examples/demo/out examples/demo/accord.duckdb examples/demo/accord.duckdb.wal
	cd examples/demo && ../../$(BIN)/accord run --truth truth.csv && ../../$(BIN)/accord sync

test: $(VENV)/.test-installed
	$(BIN)/ruff check accord tests bench examples
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(VENV)/.test-installed
	$(BIN)/ruff check accord tests bench examples

typecheck: $(VENV)/.test-installed
	$(BIN)/mypy

bench: $(VENV)/.test-installed
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) examples/demo/accord.duckdb examples/demo/accord.duckdb.wal examples/demo/data \
		examples/demo/out

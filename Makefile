# Set-up and entry points. Every target creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck bench clean

$(BIN)/accord: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/accord

demo: $(BIN)/accord
	$(BIN)/python examples/build_demo.py --out examples/demo/data
	cd examples/demo && ../../$(BIN)/accord run --truth data/truth.csv

test: $(BIN)/accord
	$(BIN)/ruff check accord tests bench examples
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(BIN)/accord
	$(BIN)/ruff check accord tests bench examples

typecheck: $(BIN)/accord
	$(BIN)/mypy

bench: $(BIN)/accord
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) examples/demo/accord.duckdb examples/demo/accord.duckdb.wal

# Two commands for a newcomer: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint typecheck docs docs-check unit bench worker migrate doctor clean help

help:
	@echo "make run    - install if needed, start the API on the embedded PostgreSQL"
	@echo "make test   - install if needed, run ruff, mypy, the docs check and pytest"
	@echo "make bench  - run the benchmarks in bench/ (prints ratios)"
	@echo "make docs   - regenerate the generated chapters of docs/"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the dependency list changes.
$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

run: $(INSTALLED)
	$(BIN)/garment serve

worker: $(INSTALLED)
	$(BIN)/garment worker

migrate: $(INSTALLED)
	$(BIN)/garment migrate

doctor: $(INSTALLED)
	$(BIN)/garment doctor

lint: $(INSTALLED)
	$(BIN)/ruff check src tests migrations bench
	$(BIN)/ruff format --check src tests migrations bench

typecheck: $(INSTALLED)
	$(BIN)/mypy

docs: $(INSTALLED)
	$(BIN)/garment docs generate

docs-check: $(INSTALLED)
	$(BIN)/garment docs generate --check

unit: $(INSTALLED)
	$(BIN)/pytest -n auto --dist worksteal

test: lint typecheck docs-check unit

bench: $(INSTALLED)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

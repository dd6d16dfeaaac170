# Common tasks. `make help` lists them.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHARED ?= ../shared/data
AREA ?= london

.PHONY: help setup evidence test lint bench clean

help: ## List the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/vru: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/vru

ASSETS := src/vru/interfaces/report/assets/manifest.json

$(ASSETS): package.json package-lock.json scripts/build-assets.mjs
	npm ci --no-audit --no-fund
	node scripts/build-assets.mjs

setup: $(BIN)/vru $(ASSETS) ## Create .venv, install vru and the report's pinned npm assets

evidence: setup ## Set up, load AREA's evidence (default london) and write its report to out/AREA
	@if [ -d "$(SHARED)" ]; then \
	  $(BIN)/vru data fetch --area $(AREA) --mirror "$(SHARED)"; \
	else \
	  $(BIN)/vru data fetch --area $(AREA); \
	fi
	$(BIN)/vru evidence summary --area $(AREA)
	$(BIN)/vru sna --area $(AREA) --edition both --no-fetch --out out/$(AREA)

test: setup ## Run the test suite
	$(BIN)/pytest

lint: setup ## ruff and mypy
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: setup ## Ingest benchmarks (prints figures beside a pandas baseline)
	$(BIN)/python bench/ingest_benchmark.py

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

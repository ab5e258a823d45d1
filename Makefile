# Puhui: two commands from a fresh clone.
#   make demo   set up, simulate a region, run every pipeline step that exists
#   make test   set up with dev tools, lint, type-check and run the whole test suite
#   make bench  run the benchmarks in bench/ (figures go to docs/performance.md)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_ENTITIES ?= 20000
DEMO_SEED ?= 1
DEMO_AS_OF ?= 2026-06-30
PUHUI_HOME ?= var
export PUHUI_HOME

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/puhui --home $(PUHUI_HOME) db upgrade
	$(BIN)/puhui --home $(PUHUI_HOME) simulate $(PUHUI_HOME)/delivery \
		--entities $(DEMO_ENTITIES) --seed $(DEMO_SEED) --as-of $(DEMO_AS_OF)
	$(BIN)/puhui --home $(PUHUI_HOME) ingest $(PUHUI_HOME)/delivery \
		--report $(PUHUI_HOME)/reports/ingest.json
	$(BIN)/puhui --home $(PUHUI_HOME) quarantine export --out $(PUHUI_HOME)/reports/quarantine.csv
	$(BIN)/puhui --home $(PUHUI_HOME) link
	$(BIN)/puhui --home $(PUHUI_HOME) link export --out $(PUHUI_HOME)/reports/links.csv
	$(BIN)/puhui --home $(PUHUI_HOME) link evaluate --truth $(PUHUI_HOME)/delivery/truth
	$(BIN)/puhui --home $(PUHUI_HOME) features export --as-of $(DEMO_AS_OF) \
		--out $(PUHUI_HOME)/reports/features.parquet
	$(BIN)/puhui --home $(PUHUI_HOME) publish --as-of $(DEMO_AS_OF)
	$(BIN)/puhui --home $(PUHUI_HOME) model train --as-of $(DEMO_AS_OF)
	$(BIN)/puhui --home $(PUHUI_HOME) score --as-of $(DEMO_AS_OF)
	$(BIN)/puhui --home $(PUHUI_HOME) score export --as-of $(DEMO_AS_OF) \
		--out $(PUHUI_HOME)/reports/scores.csv
	$(BIN)/puhui --home $(PUHUI_HOME) model report 1 --out $(PUHUI_HOME)/reports/model-1
	$(BIN)/puhui --home $(PUHUI_HOME) model evaluate --truth $(PUHUI_HOME)/delivery/truth
	@echo ""
	@echo "Puhui demo region is ready in $(PUHUI_HOME)/"
	@echo "  app database:   $(PUHUI_HOME)/app.db (reference tables seeded)"
	@echo "  delivery:       $(PUHUI_HOME)/delivery/ (all fifteen feeds of shared/contracts/feeds.md)"
	@echo "  hidden truth:   $(PUHUI_HOME)/delivery/truth/ (the pipeline never reads it)"
	@echo "  warehouse:      $(PUHUI_HOME)/warehouse/warehouse.duckdb (validated feeds, quarantine)"
	@echo "  reports:        $(PUHUI_HOME)/reports/ingest.json, quarantine.csv, links.csv,"
	@echo "                  features.parquet, scores.csv, model-1/index.html (validation report);"
	@echo "                  profiles (画像) and the model registry in the app database"
	@echo "  pipeline steps: db upgrade, simulate, ingest, link, features, publish, model train,"
	@echo "                  score. The web app comes with its issue; there is none to serve yet."

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: $(VENV)/.installed-dev lint
	$(BIN)/pytest

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

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
DEMO_SERVE ?= 1
DEMO_PORT ?= 8000
# Local demo accounts only (the demo serves on http://127.0.0.1, so cookies are not Secure).
DEMO_PASSWORD ?= puhui-demo-2026
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
	@$(BIN)/puhui --home $(PUHUI_HOME) banks list | grep -q DEMORCB || \
		$(BIN)/puhui --home $(PUHUI_HOME) banks create --code DEMORCB --name 示范农村商业银行
	@$(BIN)/puhui --home $(PUHUI_HOME) banks list | grep -q DEMOCCB || \
		$(BIN)/puhui --home $(PUHUI_HOME) banks create --code DEMOCCB --name 示范城市商业银行
	@# Products of both demo banks (made once), then the supermarket's white lists.
	@if $(BIN)/puhui --home $(PUHUI_HOME) products list | grep -q " 0 product(s)"; then \
	P="$(BIN)/puhui --home $(PUHUI_HOME) products create"; \
	$$P --bank DEMORCB --name 小微快贷 --tiers growth,development --min-credit-points 600 \
		--amount-max 500000 --rate-min 3.85 --rate-max 6.50 --instant --popularity 40 \
		--description "纯信用，线上申请，额度内秒批" && \
	$$P --bank DEMORCB --name 个体户经营贷 --entity-types individual --max-pd 0.08 \
		--amount-min 5000 --amount-max 300000 --rate-min 4.35 --rate-max 7.20 --popularity 25 && \
	$$P --bank DEMORCB --name 抵押经营贷 --guarantee mortgage --min-age-years 2 \
		--amount-min 100000 --amount-max 3000000 --term-min 12 --term-max 60 \
		--rate-min 3.45 --rate-max 5.20 --popularity 10 && \
	$$P --bank DEMOCCB --name 科创贷 --policy-lists specialized,high_tech,tech_sme \
		--amount-min 100000 --amount-max 2000000 --rate-min 3.60 --rate-max 5.80 --popularity 15 && \
	$$P --bank DEMOCCB --name 首贷易 --guarantee guarantee --max-pd 0.05 \
		--amount-max 1000000 --rate-min 3.95 --rate-max 6.80 --popularity 20; fi
	$(BIN)/puhui --home $(PUHUI_HOME) market refresh --as-of $(DEMO_AS_OF)
	@uscc=$$(sed -n 2p $(PUHUI_HOME)/reports/scores.csv | cut -d, -f1); \
	for account in "operator operator" "government government" "officer bank_officer --bank DEMORCB" \
		"bankadmin bank_admin --bank DEMORCB" "ccbofficer bank_officer --bank DEMOCCB" \
		"shop enterprise --uscc $$uscc"; do \
		set -- $$account; name=$$1; role=$$2; shift 2; \
		$(BIN)/puhui --home $(PUHUI_HOME) users list | grep -q " $$name " || \
		PUHUI_USER_PASSWORD=$(DEMO_PASSWORD) $(BIN)/puhui --home $(PUHUI_HOME) users create \
			--username $$name --role $$role "$$@"; \
	done
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
	@echo "                  score, demo banks, products and accounts, market refresh"
	@echo "  web app:        http://127.0.0.1:$(DEMO_PORT)/ — sign in as operator, government,"
	@echo "                  officer, bankadmin, ccbofficer (a second bank) or shop (an enterprise),"
	@echo "                  password $(DEMO_PASSWORD)"
	@if [ "$(DEMO_SERVE)" = "1" ]; then \
		PUHUI_COOKIE_SECURE=false $(BIN)/puhui --home $(PUHUI_HOME) serve --port $(DEMO_PORT); fi

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# Two workers, one per core; each test module (and all of Spark) stays on one worker:
# tests/conftest.py, "two workers".
TEST_WORKERS ?= 2

test: $(VENV)/.installed-dev lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadscope

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

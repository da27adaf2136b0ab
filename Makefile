# cryptofactor: set-up and everyday commands. Needs only python3 (>= 3.11) and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export CRYPTOFACTOR_DUCKDB ?= data/cryptofactor.duckdb
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
DEMO_START ?= 2023-01-01
DEMO_END ?= 2024-12-31
PYTEST_WORKERS ?= 2
# The partition range the UI shows (first / last UTC day, inclusive): the demo's unless given, so after
# `make demo` every partition in `make ui` is materialised and its launch dialog offers the demo's days.
# Real data: `make ui CRYPTOFACTOR_PARTITIONS_START=2013-12-01 CRYPTOFACTOR_PARTITIONS_END=` (empty end:
# partitions up to today), or the same variables in the environment. Only `demo` and `ui` pass them on.
ifeq ($(origin CRYPTOFACTOR_PARTITIONS_START),undefined)
CRYPTOFACTOR_PARTITIONS_START = $(DEMO_START)
endif
ifeq ($(origin CRYPTOFACTOR_PARTITIONS_END),undefined)
CRYPTOFACTOR_PARTITIONS_END = $(DEMO_END)
endif
PARTITION_RANGE := CRYPTOFACTOR_PARTITIONS_START=$(CRYPTOFACTOR_PARTITIONS_START) \
	CRYPTOFACTOR_PARTITIONS_END=$(CRYPTOFACTOR_PARTITIONS_END)

.PHONY: install demo test ui e2e bench lint clean lake-demo lake-stop test-lake

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: deploy/dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp deploy/dagster.yaml $(DAGSTER_HOME)/dagster.yaml

## demo: install, then materialise the whole lineage on the simulated market (DEMO_START..DEMO_END, 2023-2024)
demo: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(PARTITION_RANGE) $(BIN)/cryptofactor materialize --start $(DEMO_START) --end $(DEMO_END)

## test: install if needed, run the whole suite
test: $(STAMP)
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile

## ui: the Dagster web UI on 127.0.0.1:3000 over the same DuckDB file, partitions CRYPTOFACTOR_PARTITIONS_START..END
ui: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	@echo "partitions: $(or $(CRYPTOFACTOR_PARTITIONS_START),2013-01-01) .. $(or $(CRYPTOFACTOR_PARTITIONS_END),today)"
	$(PARTITION_RANGE) $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

E2E_STAMP := $(VENV)/.e2e-installed

# the Playwright Python package only: the browser is Debian's chromium (apt), never a Playwright download
$(E2E_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,e2e]'
	touch $(E2E_STAMP)

## e2e: real dagster dev + headless Chromium (the UI test, screenshots in artifacts/e2e/), the parallel backfill, the killed-run recovery, the tear-sheet render
e2e: $(E2E_STAMP)
	@command -v chromium >/dev/null || { echo "chromium is missing: apt-get install -y chromium"; exit 1; }
	CRYPTOFACTOR_E2E=1 CRYPTOFACTOR_ARTIFACTS=$(CURDIR)/artifacts/e2e $(BIN)/python -m pytest -p no:cacheprovider \
		cryptofactor_assets_tests/e2e cryptofactor_assets_tests/ops/test_ops_parallel_backfill.py \
		cryptofactor_assets_tests/ops/test_ops_run_recovery.py \
		cryptofactor_assets_tests/ops/test_ops_executor_freshness_ui.py \
		cryptofactor_assets_tests/reporting/test_reporting_tear_sheet.py::test_renders_in_headless_chromium
	@for shot in 01_asset_graph 04_weekly_run_success 05_weekly_panel_metadata tear_sheet; do \
		test -s artifacts/e2e/$$shot.png || { echo "missing screenshot artifacts/e2e/$$shot.png"; exit 1; }; done
	@echo "screenshots: $$(ls artifacts/e2e)"

# The DuckLake tier's interpreter: DuckLake's extension exists for DuckDB 1.5.5 only, so the `lake` extra
# pins it; a second venv keeps the default install on the newest DuckDB.
LAKE_VENV := .venv-lake
LAKE_BIN := $(LAKE_VENV)/bin
LAKE_STAMP := $(LAKE_VENV)/.installed

$(LAKE_STAMP): pyproject.toml
	$(PYTHON) -m venv $(LAKE_VENV)
	$(LAKE_BIN)/python -m pip install --quiet --upgrade pip
	$(LAKE_BIN)/python -m pip install --quiet -e '.[test,lake]'
	touch $(LAKE_STAMP)

## test-lake: the DuckLake tier in .venv-lake (created if missing): the storage tests on SQLite- and PostgreSQL-catalog DuckLakes (a throw-away local server), concurrent runs, SIGKILL in a commit, readers, time travel
test-lake: $(LAKE_STAMP)
	mkdir -p $(DAGSTER_HOME)
	$(LAKE_BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile -m lake

## lake-demo: the demo (DEMO_START..DEMO_END) into a DuckLake with a local PostgreSQL catalog (data/lake-demo), checked table by table against the same demo in a DuckDB file; the server keeps running
lake-demo: $(LAKE_STAMP)
	bash .ci/install_postgres.sh
	$(LAKE_BIN)/python -m cryptofactor_assets.ops.lake_demo --start $(DEMO_START) --end $(DEMO_END) --folder data/lake-demo

## lake-stop: stop the lake demo's PostgreSQL server
lake-stop:
	$(LAKE_BIN)/python -m cryptofactor_assets.ops.lake_demo --folder data/lake-demo --stop

## bench: every benchmark (figures recorded in README.md)
bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(LAKE_VENV) .dagster_home data .pytest_cache

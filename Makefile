# carewatch: `make demo` and `make test` work from a fresh clone with only
# Python 3.11 and make; uv is installed on first use when it is missing.
SHELL := /bin/bash
PYTHON ?= python3
# uv from PATH, else the one pip installs as a module
UV = $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")

export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false
export RUNTIME__DLTHUB_TELEMETRY := false
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME := $(CURDIR)/.prefect
export UV_COMPILE_BYTECODE := 1
DOCS_PORT ?= 8080
PREFECT_PORT ?= 4200

.PHONY: setup demo test lint clean help docs docs-serve report serve stop eval bench

help:
	@echo "make demo   - set up, generate the demo scenario, run the whole pipeline"
	@echo "make test   - set up and run the test suite"
	@echo "make docs   - build the dbt docs site and the data-quality page into site/"
	@echo "make docs-serve - serve site/ on http://localhost:8080"
	@echo "make report - write site/sla-report.html"
	@echo "make serve  - local Prefect server (UI http://localhost:4200), worker, scheduled deployments"
	@echo "make stop   - stop what make serve started"
	@echo "make eval   - classifier: complaint macro-F1 on ../shared/data, own-set accuracy, throughput"
	@echo "make bench  - benchmark against the plain-DuckDB floor (BENCH_ARGS='--sizes 1000000 5000000')"
	@echo "make lint   - ruff"
	@echo "make clean  - remove the warehouse, site and caches"

.venv/.carewatch-synced: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		{ echo "installing uv with pip"; $(PYTHON) -m pip install --quiet uv || \
		  $(PYTHON) -m pip install --quiet --user uv; }
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

setup: .venv/.carewatch-synced

demo: setup
	.venv/bin/carewatch demo

test: setup
	.venv/bin/python -m pytest

# docs and report read the warehouse that `make demo` (or `carewatch run`) built
warehouse/reporting.duckdb:
	$(MAKE) demo

docs: setup warehouse/reporting.duckdb
	.venv/bin/carewatch docs --site site

docs-serve: docs
	@echo "serving site/ on http://localhost:$(DOCS_PORT) (Ctrl-C to stop)"
	.venv/bin/python -m http.server $(DOCS_PORT) --bind 127.0.0.1 --directory site

report: setup warehouse/reporting.duckdb
	.venv/bin/carewatch report --out site/sla-report.html

serve: setup
	.venv/bin/python -m carewatch.serve start --port $(PREFECT_PORT)

stop:
	.venv/bin/python -m carewatch.serve stop

eval: setup
	.venv/bin/python eval/run_eval.py

bench: setup
	.venv/bin/python benchmarks/bench.py $(BENCH_ARGS)

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

clean:
	-.venv/bin/python -m carewatch.serve stop
	rm -rf warehouse site .prefect dbt/target dbt/logs .pytest_cache

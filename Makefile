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

.PHONY: setup demo test lint clean help

help:
	@echo "make demo   - set up, generate the demo scenario, run the whole pipeline"
	@echo "make test   - set up and run the test suite"
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

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

clean:
	rm -rf warehouse site .prefect dbt/target dbt/logs .pytest_cache

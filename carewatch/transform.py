"""Run the dbt project (dbt/) against a warehouse, in this process."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
TESTS_SCOPE_ENV = "CAREWATCH_TESTS_ROWS_BUILT_AFTER"


class DbtFailure(RuntimeError):
    """dbt reported errors or failing tests; the message names the nodes."""


@dataclass
class DbtOutcome:
    passed: int
    failed: list[str]
    elapsed_s: float


def dbt_env(warehouse_path: Path) -> None:
    os.environ["CAREWATCH_WAREHOUSE_PATH"] = str(warehouse_path)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def prepare_run(warehouse_path: Path, as_of: datetime | None, *, scoped_tests: bool) -> str:
    """Write the build's "as of" into the warehouse and return the instant the data
    tests start from ('' tests every row): for the scheduled cycle, the newest stamp
    the last passing quality gate covered."""
    from carewatch.checks import checked_through
    from carewatch.config_tables import write_run_context
    from carewatch.runtime import open_warehouse

    if as_of is None and not scoped_tests:
        return ""
    with open_warehouse(warehouse_path) as con:
        if as_of is not None:
            write_run_context(con, as_of)
        since = checked_through(con) if scoped_tests else None
    return since.isoformat(sep=" ") if since is not None else ""


def close_dbt_duckdb() -> None:
    """Close the DuckDB instance dbt-duckdb keeps open for the life of the process.

    Until then this process holds the warehouse file's lock: a run that released
    the warehouse lock but had not exited yet made the next run's process fail to
    open the file. Closing also frees its buffer pool for the checks and publish.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # dbt-duckdb not installed: nothing was opened
        return
    with DuckDBConnectionManager._LOCK:
        environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if environment is not None:
        environment.close()


def _dbt_args(command: list[str], *, extra_vars: dict | None, quiet: bool) -> list[str]:
    args = [
        *command,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--vars",
        json.dumps(dict(extra_vars or {})),
    ]
    if quiet:
        args = ["--quiet", "--no-print", *args]
    if "DBT_LOG_LEVEL_FILE" not in os.environ:
        # at debug, dbt.log takes every statement of every node: ~10,000 lines (0.7 MB)
        # a small cycle, against ~180 at info, which keeps each node's result and
        # time. DBT_LOG_LEVEL_FILE=debug brings the statements back.
        args = ["--log-level-file", "info", *args]
    return args


def parse_project(warehouse_path: Path) -> Any:
    """dbt's parsed project (its manifest) for builds on this warehouse, or None when
    parsing fails (the build then parses again and reports why). It reads only the
    project's files, never the warehouse, so it can run while the warehouse is being
    written; a build given it (`run_dbt(manifest=...)`) skips parsing."""
    from dbt.cli.main import dbtRunner

    dbt_env(warehouse_path)
    result = dbtRunner().invoke(
        _dbt_args(["parse", "--no-write-json"], extra_vars=None, quiet=True)
    )
    return result.result if result.success else None


def run_dbt(
    command: list[str],
    warehouse_path: Path,
    *,
    as_of: datetime | None = None,
    extra_vars: dict | None = None,
    quiet: bool = True,
    scoped_tests: bool = False,
    manifest: Any = None,
) -> DbtOutcome:
    """Invoke dbt (e.g. ["build"]) on the warehouse; `as_of` goes into the warehouse's
    run-context table first (the models read it from there). With scoped_tests, data
    tests of stamped models cover the rows built since the last passing quality gate.
    `manifest` (parse_project's, with the same vars) saves dbt its parse."""
    from dbt.cli.main import dbtRunner

    from carewatch.runtime import create_warehouse_file

    dbt_env(warehouse_path)
    create_warehouse_file(warehouse_path)
    # dbt/macros/test_scope.sql reads it as the tests execute: not a dbt var (a
    # changed var re-parses the whole project) nor a table (a query per test)
    os.environ[TESTS_SCOPE_ENV] = prepare_run(warehouse_path, as_of, scoped_tests=scoped_tests)
    args = _dbt_args(command, extra_vars=extra_vars, quiet=quiet)
    try:
        result = dbtRunner(manifest=manifest).invoke(args)
    finally:
        os.environ.pop(TESTS_SCOPE_ENV, None)
        close_dbt_duckdb()
    if result.exception is not None:
        raise DbtFailure(f"dbt {' '.join(command)} failed: {result.exception}")
    failed: list[str] = []
    passed = 0
    elapsed = 0.0
    run_results = result.result
    for node in getattr(run_results, "results", []) or []:
        status = str(node.status)
        elapsed += node.execution_time or 0.0
        if status in ("error", "fail", "runtime error"):
            lines = [line.strip() for line in (node.message or "").splitlines() if line.strip()]
            # a runtime error's first line names the model, its last one the cause
            message = ": ".join(dict.fromkeys([lines[0], lines[-1]])) if lines else status
            failed.append(f"{node.node.name}: {message}")
        else:
            passed += 1
    if not result.success or failed:
        raise DbtFailure(
            f"dbt {' '.join(command)} failed on {len(failed)} node(s): " + "; ".join(failed[:10])
        )
    return DbtOutcome(passed=passed, failed=failed, elapsed_s=elapsed)

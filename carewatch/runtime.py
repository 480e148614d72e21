"""Process-wide settings applied before Prefect, dbt, dlt or GX are imported:
no telemetry, and Prefect's home inside the project (ephemeral mode)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # duckdb is imported where a connection is opened
    import duckdb

PROJECT_ROOT = Path(__file__).resolve().parent.parent

QUIET_TELEMETRY = {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


# the warehouse's file in its directory (dlt, dbt and carewatch all open this one)
WAREHOUSE_FILE = "carewatch.duckdb"

# DuckDB's memory bound (it spills to disk beyond it instead of growing). dbt's
# builds default to 1GB (dbt/profiles.yml); carewatch's own connections (config,
# load bookkeeping, checks, publish) to less: they scan and copy, and DuckDB fills
# the rest of a larger limit with cached blocks. At 5M posts the checks and the
# staged publish peaked ~400 MB lower at 512MB, and ran no slower (DECISIONLOG).
# CAREWATCH_DUCKDB_MEMORY_LIMIT sets both.
DUCKDB_MEMORY_LIMIT_DEFAULT = "512MB"


def duckdb_memory_limit() -> str:
    return os.environ.get("CAREWATCH_DUCKDB_MEMORY_LIMIT") or DUCKDB_MEMORY_LIMIT_DEFAULT


# The storage format of a new warehouse file. DuckDB writes new files in the v0.10
# format unless told otherwise; from v1.3 on, string columns compress with a
# faster scheme: at 5M posts a wide intermediate table is written ~30% faster and
# is ~20% smaller (DECISIONLOG). v1.4.0 is DuckDB's long-term-support release, so
# any DuckDB from 1.4 on can still open the warehouse.
WAREHOUSE_STORAGE_VERSION = "v1.4.0"


def create_warehouse_file(path: Path) -> None:
    """Create an empty warehouse file in WAREHOUSE_STORAGE_VERSION, unless it exists.

    Whoever opens the file first (the config sync, dlt, dbt) would otherwise create it
    in DuckDB's oldest format; an existing file keeps the format it was created in.
    """
    if path.exists():
        return
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.connect(
        str(path), config={"storage_compatibility_version": WAREHOUSE_STORAGE_VERSION}
    ).close()


@contextmanager
def open_warehouse(path: Path, *, read_only: bool = False) -> Iterator[Any]:
    """A DuckDB connection to a warehouse file with carewatch's bounds: the memory limit
    and no insertion-order preservation (no step relies on row order). Read-only
    connections of several processes can share the file; a writing one cannot."""
    import duckdb

    if not read_only:
        create_warehouse_file(path)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        # settings, not connect(config=...): dbt may hold the same file open in this
        # process, and a second open with a different config is refused
        con.execute(f"set memory_limit = '{duckdb_memory_limit()}'")
        con.execute("set preserve_insertion_order = false")
        yield con
    finally:
        con.close()


def configure_environment() -> None:
    for key, value in QUIET_TELEMETRY.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("PREFECT_HOME", str(PROJECT_ROOT / ".prefect"))
    # dlt logs a harmless warning per Arrow batch about column hints; keep errors only
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
    tune_garbage_collector()


def tune_garbage_collector() -> None:
    """Collect young objects every 50,000 allocations instead of every 700.

    A cycle imports dbt, Great Expectations and Prefect and loads dbt's manifest:
    millions of small long-lived objects, over which the default thresholds ran
    thousands of collections (about 1.5 s of a 10 s cycle). The data itself
    lives in DuckDB and Arrow, outside Python's collector; the loader still
    collects explicitly after each slice.
    """
    import gc

    gc.set_threshold(50_000, 20, 100)


def release_arrow_memory(generation: int = 2) -> None:
    """Hand freed Arrow buffers back to the system (between import slices, between
    check parts). Buffers can stay reachable only through reference cycles (dlt's
    steps, Great Expectations' batches) until the collector runs `generation`, and
    Arrow's allocator keeps freed buffers for reuse unless told to release them."""
    import gc

    import pyarrow as pa

    gc.collect(generation)
    pa.default_memory_pool().release_unused()


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether schema.table exists in the connection's own database."""
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_catalog = "
            "current_database() and table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )

"""Publish the reporting models to the readers' database, atomically.

The reporting file is written beside the old one under a temporary name,
flushed to disk, then renamed over it: a reader sees the old file or the new
one, never a half-written state, and an open reader keeps its old snapshot.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb

REPORTING_TABLES = (
    "fct_complaints",
    "fct_responses",
    "fct_follow_ups",
    "sla_daily",
    "sla_overall",
    "share_of_voice_daily",
    "agent_tone_daily",
)
REPORTING_FILE = "reporting.duckdb"
# incremental models' build stamps: warehouse bookkeeping, not for readers
BUILD_STAMP_COLUMNS = ("built_at", "config_version")


def publish_reporting(
    con: duckdb.DuckDBPyConnection,
    warehouse_dir: Path,
    *,
    run_id: str,
    as_of: datetime,
) -> Path:
    """Copy the marts into a fresh reporting file and swap it into place."""
    target = warehouse_dir / REPORTING_FILE
    temporary = warehouse_dir / f".{REPORTING_FILE}.{uuid.uuid4().hex}.tmp"
    alias = "publish_target"
    try:
        con.execute(f"attach '{temporary}' as {alias}")
        try:
            for table in REPORTING_TABLES:
                columns = ", ".join(f'"{c}"' for c in reader_columns(con, table))
                con.execute(
                    f"create table {alias}.main.{table} as select {columns} from marts.{table}"
                )
            con.execute(
                f"""create table {alias}.main.publish_info as
                    select ? as run_id, ? as published_at, ? as as_of""",
                [run_id, datetime.now(tz=UTC), as_of],
            )
        finally:
            con.execute(f"detach {alias}")
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()
    return target


def reader_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """A mart's columns in order, without the build stamps."""
    rows = con.execute(
        """select column_name from information_schema.columns
           where table_catalog = current_database() and table_schema = 'marts'
             and table_name = ? order by ordinal_position""",
        [table],
    ).fetchall()
    return [name for (name,) in rows if name not in BUILD_STAMP_COLUMNS]

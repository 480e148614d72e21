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
                con.execute(f"create table {alias}.main.{table} as select * from marts.{table}")
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

"""Publish the reporting models to the readers' database, atomically.

The reporting file is written beside the old one under a temporary name,
flushed to disk, then renamed over it: a reader sees the old file or the new
one, never a half-written state, and an open reader keeps its old snapshot.
The two halves are separate (`stage_reporting`, then `StagedPublish.commit`), so
a run writes the file while its quality checks run and renames it only when they
pass.

The every-15-minutes cycle changes a sliver of the history, so the new file
starts as a copy of the last one this warehouse published (a file copy, not a
re-encoding of every row) and takes only what changed: in the stamped fact
tables the rows rebuilt since that publish replace their old versions and rows
the warehouse no longer has go; the small aggregate tables are written whole.
Anything that cannot vouch for the old file (none yet, another run's file, a
changed column list) publishes every row, as the first publish does.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from carewatch.runtime import table_exists

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
# build stamps of the incremental models: warehouse bookkeeping, not for readers
BUILD_STAMP_COLUMNS = ("built_at", "config_version", "status_as_of")
# fact tables whose rows carry `built_at`, with their keys: published by difference
STAMPED_KEYS = {
    "fct_complaints": "case_id",
    "fct_responses": "post_id",
    "fct_follow_ups": "follow_up_id",
}
PUBLISH_LOG = ("audit", "publish_log")
_ALIAS = "publish_target"


@dataclass
class StagedPublish:
    """A reporting file written and flushed beside the published one, not yet in place:
    `commit` swaps it in and logs the publish, `discard` removes it."""

    temporary: Path
    target: Path
    run_id: str
    built_through: datetime | None
    mode: str  # "changes" or "whole"

    def commit(self, con: duckdb.DuckDBPyConnection) -> Path:
        os.replace(self.temporary, self.target)
        _record_publish(con, self.run_id, self.built_through, self.mode)
        return self.target

    def discard(self) -> None:
        self.temporary.unlink(missing_ok=True)


def publish_reporting(
    con: duckdb.DuckDBPyConnection,
    warehouse_dir: Path,
    *,
    run_id: str,
    as_of: datetime,
    whole: bool = False,
) -> Path:
    """Write the marts into a fresh reporting file and swap it into place; `whole`
    copies every row even when the last published file could be updated."""
    staged = stage_reporting(con, warehouse_dir, run_id=run_id, as_of=as_of, whole=whole)
    try:
        return staged.commit(con)
    finally:
        staged.discard()  # nothing left to remove once it is in place


def stage_reporting(
    con: duckdb.DuckDBPyConnection,
    warehouse_dir: Path,
    *,
    run_id: str,
    as_of: datetime,
    whole: bool = False,
) -> StagedPublish:
    """Write the marts into a new reporting file beside the published one and flush
    it; nothing a reader sees changes until the result's `commit`."""
    target = warehouse_dir / REPORTING_FILE
    temporary = warehouse_dir / f".{REPORTING_FILE}.{uuid.uuid4().hex}.tmp"
    built_through = newest_stamp(con)
    last = None if whole or not target.is_file() else _last_publish(con)
    try:
        if last is not None:
            shutil.copyfile(target, temporary)
            since = _attach_copy(con, temporary, *last)
        else:
            since = None
            _attach(con, temporary)
        try:
            con.execute("begin transaction")
            for table in REPORTING_TABLES:
                columns = reader_columns(con, table)
                if (
                    since is not None
                    and table in STAMPED_KEYS
                    and _same_columns(con, table, columns)
                ):
                    _apply_changes(con, table, columns, since)
                else:
                    _copy_whole(con, table, columns)
            con.execute(
                f"""create or replace table {_ALIAS}.main.publish_info as
                    select ? as run_id, ? as published_at, ? as as_of""",
                [run_id, datetime.now(tz=UTC), as_of],
            )
            con.execute("commit")
        finally:
            con.execute(f"detach {_ALIAS}")
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    mode = "changes" if since is not None else "whole"
    return StagedPublish(temporary, target, run_id, built_through, mode)


def _copy_whole(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> None:
    selected = ", ".join(f'"{c}"' for c in columns)
    con.execute(
        f"create or replace table {_ALIAS}.main.{table} as select {selected} from marts.{table}"
    )


def _apply_changes(
    con: duckdb.DuckDBPyConnection, table: str, columns: list[str], since: datetime
) -> None:
    """Rows rebuilt after `since` replace their published versions; published rows
    the warehouse no longer holds (a conversation re-rooted by a late parent) go."""
    key = STAMPED_KEYS[table]
    published = f"{_ALIAS}.main.{table}"
    rebuilt = f'select "{key}" from marts.{table} where built_at > ?'
    con.execute(f'delete from {published} where "{key}" in ({rebuilt})', [since])
    selected = ", ".join(f'"{c}"' for c in columns)
    con.execute(
        f"insert into {published} ({selected}) select {selected} from marts.{table} "
        "where built_at > ?",
        [since],
    )
    # The file now holds every warehouse row plus those the warehouse dropped since
    # (keys are unique on both sides), so equal counts mean none was dropped and
    # the anti-join over all keys (~0.2 s a table at 5M posts) can be skipped.
    counts = con.execute(
        f"select (select count(*) from {published}), (select count(*) from marts.{table})"
    ).fetchone()
    if counts[0] != counts[1]:
        con.execute(
            f'delete from {published} where "{key}" not in (select "{key}" from marts.{table})'
        )


def _same_columns(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> bool:
    published = con.execute(
        """select column_name from information_schema.columns
           where table_catalog = ? and table_schema = 'main' and table_name = ?
           order by ordinal_position""",
        [_ALIAS, table],
    ).fetchall()
    return [name for (name,) in published] == columns


def newest_stamp(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The newest build stamp in the stamped fact tables (None when they are empty)."""
    newest = " union all ".join(f"select max(built_at) as s from marts.{t}" for t in STAMPED_KEYS)
    return con.sql(f"select max(s) from ({newest})").fetchone()[0]


def _last_publish(con: duckdb.DuckDBPyConnection) -> tuple[str, datetime] | None:
    """The run id and newest build stamp of this warehouse's last publish, if any."""
    schema, table = PUBLISH_LOG
    if not table_exists(con, schema, table):
        return None
    last = con.execute(
        f"select run_id, built_through from {schema}.{table} order by published_at desc limit 1"
    ).fetchone()
    return None if last is None or last[1] is None else (last[0], last[1])


def _attach(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    # read-write even from a read-only warehouse connection (beside a check worker)
    con.execute(f"attach '{path}' as {_ALIAS} (read_write)")


def _attach_copy(
    con: duckdb.DuckDBPyConnection, copy: Path, run_id: str, built_through: datetime
) -> datetime | None:
    """Attach a copy of the published file; `built_through` when it is the file run
    `run_id` published (its publish_info says so), else None, and the copy is
    replaced by an empty file: every row is published. Reading the run id from the
    copy spares opening the published file for it."""
    try:
        _attach(con, copy)
    except duckdb.Error:  # not a DuckDB file we can read
        copy.unlink()
        _attach(con, copy)
        return None
    try:
        file_run = con.execute(f"select max(run_id) from {_ALIAS}.main.publish_info").fetchone()
    except duckdb.Error:
        file_run = None
    if file_run is not None and file_run[0] == run_id:
        return built_through
    con.execute(f"detach {_ALIAS}")
    copy.unlink()
    _attach(con, copy)
    return None


def _record_publish(
    con: duckdb.DuckDBPyConnection, run_id: str, built_through: datetime | None, mode: str
) -> None:
    schema, table = PUBLISH_LOG
    con.execute(f"create schema if not exists {schema}")
    con.execute(
        f"""create table if not exists {schema}.{table} (
            run_id varchar, published_at timestamp with time zone,
            built_through timestamp, mode varchar)"""
    )
    con.execute(
        f"insert into {schema}.{table} values (?, ?, ?, ?)",
        [run_id, datetime.now(tz=UTC), built_through, mode],
    )


def reader_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """A mart's columns in order, without the build stamps."""
    rows = con.execute(
        """select column_name from information_schema.columns
           where table_catalog = current_database() and table_schema = 'marts'
             and table_name = ? order by ordinal_position""",
        [table],
    ).fetchall()
    return [name for (name,) in rows if name not in BUILD_STAMP_COLUMNS]

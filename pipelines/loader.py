"""Load normalised posts into the warehouse's raw schema with dlt.

Posts merge on (platform, post_id), so loading the same input twice changes
nothing; rejected records merge into `raw.quarantine` on a hash of source and
payload for the same reason. Support accounts an export reveals merge into
`raw.discovered_accounts` on (platform, handle).

Every path into `raw.posts` (imports, the demo, the API collectors) goes
through `raw_items`: records are validated in batches, valid ones become one
Arrow table per batch (no row-by-row dlt normalisation) and rejects become
quarantine rows, routed to their own table from the same dlt resource so posts,
quarantine and (for collectors) the incremental cursor commit in one load.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from queue import Full, Queue
from typing import Any

import dlt
import numpy as np
import pyarrow as pa

from carewatch.privacy import customer_key_secret, customer_keyer
from carewatch.runtime import (
    WAREHOUSE_FILE,
    create_warehouse_file,
    open_warehouse,
    release_arrow_memory,
)
from pipelines.normalised import (
    DISCOVERED_ACCOUNTS_SCHEMA,
    POST_SCHEMA,
    QUARANTINE_SCHEMA,
    DiscoveredAccount,
    Rejected,
    posts_to_arrow,
    split_batches,
)

RAW_DATASET = "raw"
POSTS_TABLE = "posts"
QUARANTINE_TABLE = "quarantine"
DISCOVERED_ACCOUNTS_TABLE = "discovered_accounts"
log = logging.getLogger(__name__)

# insert-only: a record quarantined (or an account discovered) again keeps its first time.
QUARANTINE_HINTS = dlt.mark.make_hints(
    table_name=QUARANTINE_TABLE,
    primary_key="quarantine_id",
    write_disposition={"disposition": "merge", "strategy": "insert-only"},
)
DISCOVERED_ACCOUNTS_HINTS = dlt.mark.make_hints(
    table_name=DISCOVERED_ACCOUNTS_TABLE,
    primary_key=("platform", "handle"),
    write_disposition={"disposition": "merge", "strategy": "insert-only"},
)


@dataclass
class LoadSummary:
    source: str
    loaded: int = 0
    quarantined: int = 0
    skipped: int = 0  # records a reader left out on purpose (retweets, boosts)
    discovered: int = 0  # support accounts found in the input

    def __str__(self) -> str:
        text = f"{self.source}: {self.loaded} posts loaded, {self.quarantined} quarantined"
        if self.skipped:
            text += f", {self.skipped} skipped (reposts)"
        if self.discovered:
            text += f", {self.discovered} support accounts found"
        return text


def warehouse_pipeline(warehouse_dir: Path, name: str = "carewatch_posts") -> dlt.Pipeline:
    """A dlt pipeline writing into `<warehouse_dir>/carewatch.duckdb`, state kept beside it."""
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    # every post row carries the load that wrote it: the incremental models' cursor
    os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
    # a merge leaves its slice in raw_staging; emptied, it does not double the file
    os.environ.setdefault("LOAD__TRUNCATE_STAGING_DATASET", "true")
    create_warehouse_file(warehouse_dir / WAREHOUSE_FILE)
    return dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.duckdb(str(warehouse_dir / WAREHOUSE_FILE)),
        dataset_name=RAW_DATASET,
        pipelines_dir=str(warehouse_dir / ".dlt"),
        progress="log" if os.environ.get("CAREWATCH_PROGRESS") else None,
    )


def quarantine_item(rejected: Iterable[Rejected], now: datetime | None = None) -> Any:
    """Rejected records as one Arrow table routed to `raw.quarantine`."""
    now = now or datetime.now(tz=UTC)
    rows = list({row["quarantine_id"]: row for row in (r.as_row(now) for r in rejected)}.values())
    table = pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA)
    return dlt.mark.with_hints(table, QUARANTINE_HINTS, create_table_variant=True)


def discovered_accounts_item(
    accounts: Iterable[DiscoveredAccount], source: str, now: datetime | None = None
) -> Any:
    now = now or datetime.now(tz=UTC)
    rows = {(a.platform, a.handle.lower()): a.as_row(source, now) for a in accounts}
    table = pa.Table.from_pylist(list(rows.values()), schema=DISCOVERED_ACCOUNTS_SCHEMA)
    return dlt.mark.with_hints(table, DISCOVERED_ACCOUNTS_HINTS, create_table_variant=True)


class QuarantineFilter:
    """Counts rejects into a summary and keeps the first of each quarantine id."""

    def __init__(self, summary: LoadSummary) -> None:
        self.summary = summary
        self.seen: set[str] = set()

    def fresh(self, bad: Iterable[Rejected]) -> list[Rejected]:
        fresh = []
        for item in bad:
            key = item.as_row(datetime.min)["quarantine_id"]
            if key not in self.seen:
                self.seen.add(key)
                fresh.append(item)
            self.summary.quarantined += 1
            if self.summary.quarantined <= 5:
                log.warning("quarantined a record from %s: %s", item.source, item.reason)
        return fresh


def raw_items(
    records: Iterable[Any],
    source: str,
    summary: LoadSummary,
    *,
    keyer: Callable[[str, str], str] | None = None,
    batch_size: int = 50_000,
) -> Iterator[Any]:
    """Validate records in batches and yield what a dlt `posts` resource loads.

    `records` holds normalised post dicts, `Rejected` (a reader could not parse
    something) and `DiscoveredAccount` (a reader found a support account). Yields
    one Arrow table of posts per batch, plus quarantine and discovered-account
    tables routed to their own tables. Counts go into `summary` as they pass.
    """
    keyer = keyer or customer_keyer(customer_key_secret())
    discovered: dict[tuple[str, str], DiscoveredAccount] = {}
    quarantine = QuarantineFilter(summary)

    def posts_only() -> Iterator[Any]:
        for record in records:
            if isinstance(record, DiscoveredAccount):
                discovered.setdefault((record.platform, record.handle.lower()), record)
            else:
                yield record

    for valid, bad in split_batches(posts_only(), source, batch_size):
        if valid:
            summary.loaded += len(valid)
            yield posts_to_arrow(valid, keyer)
        fresh = quarantine.fresh(bad)
        if fresh:
            yield quarantine_item(fresh)
    if discovered:
        summary.discovered += len(discovered)
        yield discovered_accounts_item(discovered.values(), source)


@dlt.resource(name=POSTS_TABLE, primary_key=("platform", "post_id"), write_disposition="merge")
def posts_resource(items: Iterable[Any]) -> Iterator[Any]:
    """Arrow batches of posts (and quarantine/discovered tables routed by their hints)."""
    yield from items


@dlt.resource(
    name=QUARANTINE_TABLE,
    primary_key="quarantine_id",
    write_disposition={"disposition": "merge", "strategy": "insert-only"},
)
def quarantine_resource(rows: list[dict[str, Any]]) -> Iterator[pa.Table]:
    yield pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA)


def load_records(
    records: Iterable[Any],
    source: str,
    warehouse_dir: Path,
    *,
    batch_size: int = 50_000,
    posts_per_load: int = 250_000,
    summary: LoadSummary | None = None,
) -> LoadSummary:
    """Validate and load normalised records; bad ones go to quarantine.

    One dlt load per `posts_per_load` valid posts: the merge's memory grows with
    the size of one load, so a 5M-post import stays within what 1M needs.
    """
    summary = summary or LoadSummary(source=source)
    items = raw_items(records, source, summary, batch_size=batch_size)
    return run_loads(items, summary, warehouse_dir, posts_per_load=posts_per_load)


@dlt.resource(name=POSTS_TABLE, primary_key=("platform", "post_id"), write_disposition="append")
def new_posts_resource(items: Iterable[Any]) -> Iterator[Any]:
    """Posts whose keys the warehouse does not hold yet: appended, no merge needed."""
    yield from items


def split_known_posts(
    tables: list[pa.Table], warehouse_dir: Path
) -> tuple[pa.Table | None, pa.Table | None]:
    """One slice of post batches as (posts new to `raw.posts`, posts it already holds).

    A merge rewrites staging and deletes by key across the whole table; a fresh post
    needs neither, so only posts seen before take the merge. Within the slice the
    last row of a key wins, as a later load would. Callers hold the warehouse lock,
    so no other writer adds keys between this look-up and the load. Only the keys
    go to DuckDB; the rows are split with Arrow, without copies when all are new.
    """
    if not tables:
        return None, None
    import pyarrow.compute as pc

    table = pa.concat_tables(tables)
    keys = pa.table(
        {
            "platform": table["platform"],
            "post_id": table["post_id"],
            "cw_row": pa.array(np.arange(table.num_rows, dtype=np.int64)),
        }
    )
    with open_warehouse(warehouse_dir / WAREHOUSE_FILE) as con:
        con.register("cw_keys", keys)
        last_rows = con.sql(
            "select max(cw_row) as cw_row from cw_keys group by platform, post_id order by 1"
        ).to_arrow_table()["cw_row"]
        if len(last_rows) < table.num_rows:
            table, keys = table.take(last_rows), keys.take(last_rows)
            con.register("cw_keys", keys)
        has_posts = con.sql(
            "select count(*) from information_schema.tables "
            f"where table_schema = '{RAW_DATASET}' and table_name = '{POSTS_TABLE}'"
        ).fetchone()[0]
        # the slice's keys are the small side of the join: the table is only streamed
        held_rows = (
            con.sql(
                f"""select cw_keys.cw_row from cw_keys
                    semi join {RAW_DATASET}.{POSTS_TABLE} as held
                        on held.platform = cw_keys.platform and held.post_id = cw_keys.post_id"""
            ).to_arrow_table()["cw_row"]
            if has_posts
            else pa.array([], pa.int64())
        )
    table = table.cast(POST_SCHEMA)
    if len(held_rows) == 0:
        return table, None
    known = pc.is_in(keys["cw_row"], value_set=held_rows)
    fresh = table.filter(pc.invert(known))
    return (fresh if fresh.num_rows else None), table.filter(known)


def run_loads(
    items: Iterable[Any],
    summary: LoadSummary,
    warehouse_dir: Path,
    *,
    posts_per_load: int,
    read_ahead: int = 0,
) -> LoadSummary:
    """Feed `items` (as `raw_items` yields them) to dlt, one slice per `posts_per_load`
    posts: posts new to the warehouse are appended, posts it already holds are merged
    on (platform, post_id). With `read_ahead`, a background thread produces up to that
    many items while dlt loads the slice before them (only for sources that need no
    dlt context, such as a file reader)."""
    pipeline = warehouse_pipeline(warehouse_dir)
    items = iter(items_read_ahead(items, read_ahead) if read_ahead else items)
    exhausted = False

    def one_slice() -> tuple[list[pa.Table], list[Any]]:
        nonlocal exhausted
        posts: list[pa.Table] = []
        others: list[Any] = []  # quarantine and discovered accounts, routed by their hints
        taken = 0
        for item in items:
            if isinstance(item, pa.Table):
                posts.append(item)
                taken += item.num_rows
            else:
                others.append(item)
            if taken >= posts_per_load:
                return posts, others
        exhausted = True
        return posts, others

    # Objects alive before the import (imported modules, dbt's, Great Expectations'
    # and Prefect's state) are no slice's garbage: frozen, the full collection after
    # each slice skips them (0.27 s a collection in a cycle's process, 3 ms frozen).
    gc.freeze()
    try:
        while not exhausted:
            posts, others = one_slice()
            fresh, known = split_known_posts(posts, warehouse_dir)
            del posts
            if fresh is not None or others:
                pipeline.run(new_posts_resource([t for t in (fresh, *others) if t is not None]))
            if known is not None:
                pipeline.run(posts_resource([known]))
            del fresh, known, others
            # a slice's batches stay reachable through cycles in dlt's extract and
            # normalise steps: without a full collection a 5M import left ~1.2 GB resident
            release_arrow_memory()
    finally:
        gc.unfreeze()
    return summary


def items_read_ahead(items: Iterable[Any], depth: int) -> Iterator[Any]:
    """`items` in order, produced by a background thread up to `depth` items ahead.

    Reading and validating a file (pyarrow, DuckDB) and dlt's load (Parquet, DuckDB)
    both spend most of their time outside the GIL, so on two cores the next slice is
    read while the last one loads. An error in the source is raised here, at the
    item where it happened; when the consumer stops early, the source is closed.
    """
    queue: Queue[Any] = Queue(maxsize=depth)
    stop = threading.Event()
    finished = object()
    failure: list[BaseException] = []

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        source = iter(items)
        try:
            for item in source:
                if not put(item):
                    break
        except BaseException as error:  # handed to the consumer, raised there
            failure.append(error)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
            put(finished)

    producer = threading.Thread(target=produce, name="carewatch-read-ahead", daemon=True)
    producer.start()
    try:
        while (item := queue.get()) is not finished:
            yield item
        if failure:
            raise failure[0]
    finally:
        stop.set()
        producer.join()

"""Load normalised posts into the warehouse's raw schema with dlt.

Posts merge on (platform, post_id), so loading the same input twice changes
nothing; rejected records merge into `raw.quarantine` on a hash of source and
payload for the same reason.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa

from carewatch.privacy import customer_key_secret, customer_keyer
from pipelines.normalised import QUARANTINE_SCHEMA, Rejected, posts_to_arrow, split_batches

RAW_DATASET = "raw"
log = logging.getLogger(__name__)


@dataclass
class LoadSummary:
    source: str
    loaded: int = 0
    quarantined: int = 0

    def __str__(self) -> str:
        return f"{self.source}: {self.loaded} posts loaded, {self.quarantined} quarantined"


def warehouse_pipeline(warehouse_dir: Path, name: str = "carewatch_posts") -> dlt.Pipeline:
    """A dlt pipeline writing into `<warehouse_dir>/carewatch.duckdb`, state kept beside it."""
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    return dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.duckdb(str(warehouse_dir / "carewatch.duckdb")),
        dataset_name=RAW_DATASET,
        pipelines_dir=str(warehouse_dir / ".dlt"),
        progress="log" if os.environ.get("CAREWATCH_PROGRESS") else None,
    )


@dlt.resource(name="posts", primary_key=("platform", "post_id"), write_disposition="merge")
def posts_resource(batches: Iterable[pa.Table]) -> Iterator[pa.Table]:
    yield from batches


# insert-only: a record quarantined again keeps its first quarantined_at.
@dlt.resource(
    name="quarantine",
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
) -> LoadSummary:
    """Validate and load normalised records; bad ones go to quarantine."""
    summary = LoadSummary(source=source)
    keyer = customer_keyer(customer_key_secret())
    rejected: list[Rejected] = []

    def valid_tables() -> Iterator[pa.Table]:
        for valid, bad in split_batches(records, source, batch_size):
            rejected.extend(bad)
            summary.quarantined += len(bad)
            if valid:
                summary.loaded += len(valid)
                yield posts_to_arrow(valid, keyer)

    pipeline = warehouse_pipeline(warehouse_dir)
    pipeline.run(posts_resource(valid_tables()))
    if rejected:
        now = datetime.now(tz=UTC)
        rows = list({r.as_row(now)["quarantine_id"]: r.as_row(now) for r in rejected}.values())
        pipeline.run(quarantine_resource(rows))
        for item in rejected[:5]:
            log.warning("quarantined a record from %s: %s", item.source, item.reason)
    return summary

"""The pipeline's steps as plain functions: load, build, check, publish.

The Prefect flow in flows/care_pipeline.py only calls these in order; keeping
the logic here lets tests exercise each step without a flow run.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from carewatch.checks import CheckReport, Validation, record_checks, validate_models
from carewatch.config import CarewatchConfig, QualitySettings
from carewatch.config_tables import write_config_tables
from carewatch.publish import REPORTING_FILE, StagedPublish, publish_reporting, stage_reporting
from carewatch.quality_page import write_quality_page
from carewatch.runtime import WAREHOUSE_FILE, open_warehouse
from carewatch.transform import DbtOutcome, run_dbt

if TYPE_CHECKING:
    from carewatch.build_worker import BuildWorker
    from carewatch.check_worker import CheckWorker

    # dlt loads only when a run loads (~0.3 s of a no-new-data cycle's start-up)
    from pipelines.loader import LoadSummary

log = logging.getLogger(__name__)


class QualityGateFailed(RuntimeError):
    """A check failed: nothing was published. The message names each failure."""

    def __init__(self, report: CheckReport) -> None:
        self.report = report
        lines = [f.describe() for f in report.failures]
        super().__init__(
            f"{len(lines)} check(s) failed in run {report.run_id}; "
            "reporting database left unchanged:\n  " + "\n  ".join(lines)
        )


@dataclass(frozen=True)
class Warehouse:
    directory: Path

    @property
    def path(self) -> Path:
        return self.directory / WAREHOUSE_FILE

    @property
    def reporting_path(self) -> Path:
        return self.directory / REPORTING_FILE

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with open_warehouse(self.path) as con:
            yield con


def sync_config(config: CarewatchConfig, warehouse: Warehouse) -> None:
    with warehouse.connect() as con:
        write_config_tables(config, con)


def load_demo(
    config: CarewatchConfig,
    warehouse: Warehouse,
    *,
    seed: int,
    start: date,
    days: int,
    size: int,
) -> tuple[LoadSummary, Path]:
    """Generate the demo scenario, write it (with its truth) beside the warehouse, load it."""
    from pipelines.demo_data import generate_demo, write_demo
    from pipelines.loader import load_records

    data = generate_demo(config, seed=seed, start=start, days=days, size=size)
    out_dir = warehouse.directory / "demo"
    write_demo(data, out_dir)
    summary = load_records(iter(data.posts), "demo", warehouse.directory)
    return summary, out_dir


def load_jsonl(path: Path, warehouse: Warehouse) -> LoadSummary:
    """A normalised JSON Lines file, through the vectorised path (pipelines/fast_jsonl.py)."""
    from pipelines.fast_jsonl import load_jsonl_file

    return load_jsonl_file(path, warehouse.directory)


def build_models(
    warehouse: Warehouse,
    as_of: datetime,
    *,
    full_refresh: bool = False,
    unit_tests: bool = True,
    scoped_tests: bool = False,
    manifest: Any = None,
) -> DbtOutcome:
    """dbt build (models, seeds, data tests and, unless unit_tests is false, the dbt
    unit tests); full_refresh rebuilds incremental models from scratch. scoped_tests
    (the scheduled cycle): data tests cover the rows built since the last passing
    quality gate (dbt/macros/test_scope.sql). manifest: transform.parse_project's."""
    command = ["build", "--full-refresh"] if full_refresh else ["build"]
    if "DBT_WRITE_JSON" not in os.environ:
        # nothing reads manifest.json / run_results.json after a build (the docs site
        # writes its own); skipping them saves ~0.5 s a cycle. DBT_WRITE_JSON=true
        # (the benchmark, for per-node timings) keeps them.
        command.append("--no-write-json")
    if not unit_tests:
        # unit tests check the SQL against fixtures, not the data: dbt's advice is to
        # run them in development and CI, not on every production run
        command += ["--exclude-resource-type", "unit_test"]
    return run_dbt(
        command,
        warehouse.path,
        as_of=as_of,
        scoped_tests=scoped_tests and not full_refresh,
        manifest=manifest,
    )


def build_in_worker(
    worker: BuildWorker,
    as_of: datetime,
    *,
    full_refresh: bool = False,
    unit_tests: bool = True,
    scoped_tests: bool = False,
) -> DbtOutcome:
    """build_models, done by the worker process that parsed the project meanwhile."""
    return worker.build(
        as_of, full_refresh=full_refresh, unit_tests=unit_tests, scoped_tests=scoped_tests
    )


def check_models(
    warehouse: Warehouse,
    run_id: str,
    *,
    as_of: datetime | None = None,
    settings: QualitySettings | None = None,
    site_dir: Path | None = None,
    changed_only: bool = False,
) -> CheckReport:
    """Run every check, record it, and (with site_dir) refresh site/quality/index.html.

    changed_only (the scheduled cycle): fact rows rebuilt since the last pass only.
    """
    with warehouse.connect() as con:
        validation = validate_models(con, as_of=as_of, settings=settings, changed_only=changed_only)
    return record_validation(warehouse, run_id, validation, site_dir=site_dir)


def validate_in_worker(
    worker: CheckWorker,
    warehouse: Warehouse,
    *,
    as_of: datetime,
    config_path: str | None,
    changed_only: bool = False,
) -> Validation:
    """check_models' validation, done by a worker process on a read-only connection."""
    return worker.validate(
        warehouse.path, as_of=as_of, config_path=config_path, changed_only=changed_only
    )


def record_validation(
    warehouse: Warehouse, run_id: str, validation: Validation, *, site_dir: Path | None = None
) -> CheckReport:
    """Record a validation (check_models' own or a worker's) and, with site_dir,
    refresh site/quality/index.html; nothing else may hold the warehouse open."""
    with warehouse.connect() as con:
        report = record_checks(con, run_id, validation)
        if site_dir is not None:
            write_quality_page(con, site_dir / "quality" / "index.html")
    return report


def warning_count(warehouse: Warehouse, run_id: str) -> int:
    """How many checks of a run only warned (recorded in audit.check_results)."""
    with warehouse.connect() as con:
        return con.sql(
            "select count(*) from audit.check_results where run_id = ? and not passed "
            "and severity = 'warn'",
            params=[run_id],
        ).fetchone()[0]


def publish(warehouse: Warehouse, run_id: str, as_of: datetime, *, whole: bool = False) -> Path:
    """Publish the marts (only what changed since the last publish, unless `whole`)."""
    with warehouse.connect() as con:
        return publish_reporting(con, warehouse.directory, run_id=run_id, as_of=as_of, whole=whole)


def stage_publish(
    warehouse: Warehouse, run_id: str, as_of: datetime, *, read_only: bool = False
) -> StagedPublish:
    """Write the next reporting file beside the published one, out of readers' sight.

    A run stages it while its quality checks run (both read the finished marts; the
    checks are mostly single-threaded Python, so on two cores the copy costs little
    extra time) and swaps it in with `commit_publish` only when they pass, else
    discards it: failing checks still never reach the reporting database.
    read_only: beside a check worker process, which reads the warehouse too."""
    with open_warehouse(warehouse.path, read_only=read_only) as con:
        return stage_reporting(con, warehouse.directory, run_id=run_id, as_of=as_of)


def commit_publish(warehouse: Warehouse, staged: StagedPublish) -> Path:
    """Swap a staged reporting file into place and log the publish."""
    with warehouse.connect() as con:
        return staged.commit(con)


def sla_summary(warehouse: Warehouse) -> list[dict[str, Any]]:
    """Per brand: the headline numbers a care lead asks for first, as published."""
    from carewatch.report import key_numbers_from

    return key_numbers_from(warehouse.reporting_path)


def table_counts(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [
            r[0] for r in con.sql("select table_name from information_schema.tables").fetchall()
        ]
        return {n: con.sql(f'select count(*) from "{n}"').fetchone()[0] for n in sorted(names)}
    finally:
        con.close()


def format_summary(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of sla_summary rows (markdown-compatible)."""

    from carewatch.report import format_minutes as minutes
    from carewatch.report import format_pct as pct

    header = (
        "| brand | cases | complaints | response rate | median FRT min | "
        "median FRT business min | SLA met | weekend coverage | proactive reach |"
    )
    lines = [header, "|" + "---|" * 9]
    for r in rows:
        lines.append(
            f"| {r['brand']} | {r['cases']} | {r['complaints']} | {pct(r['response_rate'])} | "
            f"{minutes(r['median_frt_minutes'])} | {minutes(r['median_frt_business_minutes'])} | "
            f"{pct(r['sla_met_rate'])} | {pct(r['weekend_coverage'])} | "
            f"{pct(r['proactive_reach_rate'])} |"
        )
    return "\n".join(lines)


def parse_as_of(value: str | None) -> datetime:
    """`--as-of` (ISO 8601, Z allowed) or now, as an aware UTC datetime."""
    if not value:
        return datetime.now(tz=UTC).replace(microsecond=0)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def demo_as_of(start: date, days: int) -> datetime:
    """The demo's "now": the end of its generated period."""
    return datetime.combine(start + timedelta(days=days), datetime.min.time(), tzinfo=UTC)


def new_run_id() -> str:
    return datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%S%fZ")

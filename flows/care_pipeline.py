"""care_pipeline: collect/load -> dbt build -> checks (publish staged meanwhile) -> publish.

A thin flow: each step is a task calling carewatch.pipeline; retries only on
I/O (loading, publishing), never on checks (a failed check is a result).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture

from carewatch import pipeline
from carewatch.build_worker import BuildWorker
from carewatch.check_worker import CheckWorker
from carewatch.checks import Validation
from carewatch.config import load_config
from carewatch.locking import warehouse_lock
from carewatch.notify import notify_failure
from carewatch.pipeline import QualityGateFailed, Warehouse
from carewatch.publish import StagedPublish


@task(name="sync-config")
def sync_config_task(config_path: str | None, warehouse: Warehouse) -> None:
    pipeline.sync_config(load_config(config_path), warehouse)


@task(name="load-demo", retries=2, retry_delay_seconds=[2, 10])
def load_demo_task(
    config_path: str | None, warehouse: Warehouse, seed: int, start: date, days: int, size: int
) -> str:
    summary, out_dir = pipeline.load_demo(
        load_config(config_path), warehouse, seed=seed, start=start, days=days, size=size
    )
    get_run_logger().info("%s (demo files and ground truth in %s)", summary, out_dir)
    return str(summary)


@task(name="load-jsonl", retries=2, retry_delay_seconds=[2, 10])
def load_jsonl_task(path: str, warehouse: Warehouse) -> str:
    summary = pipeline.load_jsonl(Path(path), warehouse)
    get_run_logger().info("%s", summary)
    return str(summary)


@task(name="dbt-build", cache_policy=NO_CACHE)
def build_task(builder: BuildWorker, as_of, full_refresh: bool) -> None:
    # dbt unit tests (SQL against fixtures) run with full refreshes, `make test` and CI;
    # data tests look at the rows rebuilt since the last passing cycle (as the checks do)
    pipeline.build_in_worker(
        builder, as_of, full_refresh=full_refresh, unit_tests=full_refresh, scoped_tests=True
    )


@task(name="validate", cache_policy=NO_CACHE)
def validate_task(
    worker: CheckWorker, warehouse: Warehouse, as_of, config_path: str | None
) -> Validation:
    # rows rebuilt since the last pass; `carewatch checks` checks all
    return pipeline.validate_in_worker(
        worker, warehouse, as_of=as_of, config_path=config_path, changed_only=True
    )


@task(name="quality-checks")
def checks_task(warehouse: Warehouse, run_id: str, validation: Validation, site_dir: str) -> int:
    report = pipeline.record_validation(warehouse, run_id, validation, site_dir=Path(site_dir))
    for warning in report.warnings:
        get_run_logger().warning("check warning: %s", warning.describe())
    if not report.passed:
        create_markdown_artifact(
            key="care-pipeline-failed-checks",
            markdown="# Failed checks\n\n"
            + "\n".join(f"- {f.describe()}" for f in report.failures),
            description=f"Checks that stopped run {run_id} from publishing",
        )
        raise QualityGateFailed(report)
    # the gate passed: every check passed or only warned
    return len(report.results) - len(report.warnings)


@task(name="stage-publish", retries=2, retry_delay_seconds=[1, 5])
def stage_publish_task(warehouse: Warehouse, run_id: str, as_of) -> StagedPublish:
    # read-only: the check worker reads the warehouse at the same time
    return pipeline.stage_publish(warehouse, run_id, as_of, read_only=True)


@task(name="publish", retries=2, retry_delay_seconds=[1, 5])
def publish_task(warehouse: Warehouse, staged: StagedPublish) -> str:
    return str(pipeline.commit_publish(warehouse, staged))


def discard_staged(staged: PrefectFuture) -> None:
    """Remove the reporting file a run staged and did not publish (once its writer
    is done); a published file has been renamed away, so nothing is removed."""
    staged.wait()
    if staged.state.is_completed():
        staged.result().discard()


@flow(
    name="care-pipeline",
    log_prints=True,
    on_failure=[notify_failure],
    on_crashed=[notify_failure],
)
def care_pipeline(
    warehouse_dir: str = "warehouse",
    config_path: str | None = None,
    source: str = "none",
    input_path: str | None = None,
    as_of: str | None = None,
    demo_seed: int = 42,
    demo_start: date = date(2026, 3, 2),
    demo_days: int = 184,
    demo_size: int = 40_000,
    site_dir: str = "site",
    full_refresh: bool = False,
) -> dict:
    """Build, check and publish; `source` is demo, jsonl (with input_path) or none."""
    warehouse = Warehouse(Path(warehouse_dir))
    run_id = pipeline.new_run_id()
    as_of_at = (
        pipeline.demo_as_of(demo_start, demo_days)
        if source == "demo" and not as_of
        else pipeline.parse_as_of(as_of)
    )
    # the build worker loads dbt and parses the project on the other core while this
    # process syncs and loads; the check worker loads Great Expectations while dbt
    # builds (started together, the two imports slowed each other's)
    with (
        BuildWorker.for_warehouse(warehouse.directory) as builder,
        warehouse_lock(warehouse.directory),
    ):
        sync_config_task(config_path, warehouse)
        loaded = "nothing new loaded"
        if source == "demo":
            loaded = load_demo_task(
                config_path, warehouse, demo_seed, demo_start, demo_days, demo_size
            )
        elif source == "jsonl":
            if not input_path:
                raise ValueError("source=jsonl needs input_path")
            loaded = load_jsonl_task(input_path, warehouse)
        with CheckWorker() as worker:
            build_task(builder, as_of_at, full_refresh)
            # the next reporting file is written while the worker checks, and swapped
            # in only when they pass (pipeline.stage_publish); both only read
            staged = stage_publish_task.submit(warehouse, run_id, as_of_at)
            try:
                validation = validate_task(worker, warehouse, as_of_at, config_path)
                staged.wait()  # its read-only connection closes before results are written
                checks = checks_task(warehouse, run_id, validation, site_dir)
                warnings = pipeline.warning_count(warehouse, run_id)
                reporting = publish_task(warehouse, staged)
            finally:
                discard_staged(staged)  # a failed run's file; nothing once published
        summary = pipeline.sla_summary(warehouse)
    create_markdown_artifact(
        key="care-pipeline-sla",
        markdown=f"# SLA summary (as of {as_of_at:%Y-%m-%d %H:%M} UTC)\n\n"
        f"{pipeline.format_summary(summary)}\n\nRun `{run_id}`: {loaded}; "
        f"{checks} checks passed, {warnings} warned; published to `{reporting}`.",
        description="carewatch SLA summary per brand",
    )
    return {
        "run_id": run_id,
        "as_of": as_of_at.isoformat(),
        "reporting": reporting,
        "loaded": loaded,
        "checks": checks,
        "warnings": warnings,
        "summary": summary,
    }

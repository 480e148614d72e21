"""collect_mentions: incremental collection from the platform APIs.

A thin flow around carewatch.collect.collect, one task per source. HTTP faults
(429, 5xx, timeouts) are retried inside the collector and do not fail the run;
the task's own retries cover the rest of the I/O (the warehouse busy or a load
that failed), never a configuration problem such as a missing secret. The
warehouse is written under carewatch.locking.warehouse_lock, like every writer.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from carewatch.collect import CollectError, collect
from carewatch.config import ConfigError, load_config
from carewatch.locking import warehouse_lock


def _worth_retrying(task, task_run, state) -> bool:
    """Retry I/O failures, not configuration ones (a retry would fail the same way)."""
    try:
        state.result()
    except (CollectError, ConfigError):
        return False
    except Exception:
        return True
    return True


@task(name="collect", retries=2, retry_delay_seconds=[30, 120], retry_condition_fn=_worth_retrying)
def collect_task(source: str, config_path: str | None, warehouse_dir: str) -> dict:
    logger = get_run_logger()
    summary = collect(source, load_config(config_path), Path(warehouse_dir))
    logger.info("%s", summary)
    for fault in summary.faults:
        logger.warning("%s", fault)
    for query, outcome in summary.queries.items():
        if outcome != "complete":
            logger.info("%s: %s", query, outcome)
    return summary.as_dict()


@flow(name="collect-mentions", log_prints=True)
def collect_mentions(
    source: str | None = None,
    warehouse_dir: str = "warehouse",
    config_path: str | None = None,
    only_enabled: bool = True,
) -> list[dict]:
    """Collect from `source` (x, mastodon, bluesky) or from every source enabled in
    carewatch.yml. With `only_enabled`, a source the file leaves disabled is
    skipped, so a schedule per source can exist before its secrets do."""
    logger = get_run_logger()
    config = load_config(config_path)
    enabled = config.collection.enabled
    sources = [source] if source else list(enabled)
    if only_enabled:
        for name in [s for s in sources if s not in enabled]:
            logger.info("%s is not enabled in %s (collection.%s.enabled)", name, config.path, name)
        sources = [s for s in sources if s in enabled]
    if not sources:
        return []
    with warehouse_lock(warehouse_dir):
        results = [collect_task(name, config_path, warehouse_dir) for name in sources]
    rows = "\n".join(
        f"| {r['source']} | {r['loaded']} | {r['quarantined']} | {r['pages']} | "
        f"{len(r['faults'])} | {r['accounts']} |"
        for r in results
    )
    create_markdown_artifact(
        key="collect-mentions",
        markdown="# Collection\n\n| source | loaded | quarantined | pages | faults | "
        f"account snapshots |\n|---|---|---|---|---|---|\n{rows}\n",
        description="carewatch collection summary per source",
    )
    return results

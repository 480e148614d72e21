"""sla_report: render site/sla-report.html from the published reporting database.

Reads only reporting.duckdb (what passed the checks), so it needs no warehouse
lock. The key numbers also go into a markdown artifact for the care lead.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from carewatch.config import load_config
from carewatch.pipeline import Warehouse, format_summary
from carewatch.report import key_numbers_from, write_report


@task(name="write-sla-report", retries=1, retry_delay_seconds=5)
def write_report_task(reporting: str, out: str, own_brand: str) -> str:
    return str(write_report(Path(reporting), Path(out), own_brand=own_brand))


@flow(name="sla-report", log_prints=True)
def sla_report(
    warehouse_dir: str = "warehouse",
    out: str = "site/sla-report.html",
    config_path: str | None = None,
) -> str:
    """Write the SLA report page and a markdown artifact with its key numbers."""
    reporting = Warehouse(Path(warehouse_dir)).reporting_path
    page = write_report_task(str(reporting), out, load_config(config_path).own_brand.key)
    create_markdown_artifact(
        key="sla-report",
        markdown=f"# Weekly SLA report\n\n{format_summary(key_numbers_from(reporting))}\n\n"
        f"Full report with plots: `{page}`",
        description="carewatch weekly SLA key numbers",
    )
    print(f"SLA report written to {page}")
    return page

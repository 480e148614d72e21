"""Build the readers' site: dbt docs, the data-quality page and a landing page."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from carewatch.quality_page import write_quality_page
from carewatch.transform import DBT_PROJECT_DIR, run_dbt

LANDING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>carewatch</title>
<style>body { font-family: system-ui, sans-serif; margin: 3rem auto; max-width: 700px; }
li { margin: .6rem 0; }</style></head><body>
<h1>carewatch</h1>
<ul>
<li><a href="docs/index.html">dbt docs</a>: every reporting model and column, the metric
definitions, lineage and exposures</li>
<li><a href="quality/index.html">Data quality</a>: the latest check run, failing rows, history</li>
<li><a href="sla-report.html">SLA report</a> (after <code>carewatch report</code>)</li>
</ul></body></html>
"""


def build_docs(warehouse_path: Path, site_dir: Path) -> Path:
    """`dbt docs generate --static` into site/docs/, plus site/quality/ and site/index.html."""
    run_dbt(["docs", "generate", "--static"], warehouse_path)
    target = site_dir / "docs" / "index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DBT_PROJECT_DIR / "target" / "static_index.html", target)
    con = duckdb.connect(str(warehouse_path))
    try:
        write_quality_page(con, site_dir / "quality" / "index.html")
    finally:
        con.close()
    (site_dir / "index.html").write_text(LANDING, encoding="utf-8")
    return target

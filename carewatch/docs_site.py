"""Build the dbt docs site (one static page) into the project's site folder."""

from __future__ import annotations

import shutil
from pathlib import Path

from carewatch.transform import DBT_PROJECT_DIR, run_dbt


def build_docs(warehouse_path: Path, site_dir: Path) -> Path:
    """`dbt docs generate --static` against the warehouse; copy the page to site/docs/."""
    run_dbt(["docs", "generate", "--static"], warehouse_path)
    target = site_dir / "docs" / "index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DBT_PROJECT_DIR / "target" / "static_index.html", target)
    return target

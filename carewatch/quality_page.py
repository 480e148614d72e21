"""The data-quality page (site/quality/index.html), rendered from the audit trail.

Our own rendering of the Great Expectations validation results kept in
`audit.check_results`: one self-contained page (inline CSS, no scripts, no
network) that says for the latest run which expectation failed on which rows,
and lists earlier runs.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import duckdb

from carewatch.runtime import table_exists

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; font-size: .9rem; }
th, td { border-bottom: 1px solid #ddd; padding: .35rem .6rem; text-align: left;
         vertical-align: top; }
tr.failed td { background: #fde8e8; } tr.warning td { background: #fff6dc; }
.badge { display: inline-block; padding: .1rem .5rem; border-radius: .6rem; color: #fff;
         font-size: .8rem; }
.badge.passed { background: #2e7d32; } .badge.failed { background: #c62828; }
.badge.warning { background: #b26a00; }
code { font-size: .85rem; }
"""


def _state(passed: bool, severity: str) -> str:
    if passed:
        return "passed"
    return "failed" if severity == "error" else "warning"


def write_quality_page(con: duckdb.DuckDBPyConnection, out_path: Path, history: int = 20) -> Path:
    """Render the latest check run in full and a summary of earlier runs."""
    has_audit = table_exists(con, "audit", "check_results")
    runs = (
        []
        if not has_audit
        else con.sql(
            """select run_id, max(checked_at) as checked_at,
                  count(*) as checks,
                  count(case when not passed and coalesce(severity, 'error') = 'error' then 1 end)
                      as failed,
                  count(case when not passed and severity = 'warn' then 1 end) as warnings
           from audit.check_results group by run_id order by checked_at desc limit ?""",
            params=[history],
        ).fetchall()
    )
    body = ["<h1>carewatch data quality</h1>"]
    if not runs:
        body.append("<p>No check has run yet.</p>")
    else:
        latest = runs[0]
        rows = con.sql(
            """select table_name, expectation, column_name, passed, observed_value,
                      failing_row_sample, coalesce(severity, 'error')
               from audit.check_results where run_id = ?
               order by passed, table_name, expectation""",
            params=[latest[0]],
        ).fetchall()
        verdict = "failed" if latest[3] else "passed"
        body.append(
            f"<p>Latest run <code>{html.escape(latest[0])}</code> at {latest[1]:%Y-%m-%d %H:%M} "
            f'UTC: <span class="badge {verdict}">{verdict}</span> '
            f"{latest[2]} checks, {latest[3]} failed, {latest[4]} warnings. A failed run "
            "publishes nothing: the reporting database keeps the last good data.</p>"
        )
        body.append(
            "<table id='latest-run'><thead><tr><th>result</th><th>table</th><th>check</th>"
            "<th>column</th><th>observed</th><th>failing rows (sample)</th></tr></thead><tbody>"
        )
        for table, expectation, column, passed, observed, sample, severity in rows:
            state = _state(passed, severity)
            failing = ", ".join(json.loads(sample or "[]")[:10])
            body.append(
                f'<tr class="{state}"><td><span class="badge {state}">{state}</span></td>'
                f"<td>{html.escape(table)}</td><td><code>{html.escape(expectation)}</code></td>"
                f"<td>{html.escape(column or '')}</td><td>{html.escape(observed or '')}</td>"
                f"<td><code>{html.escape(failing)}</code></td></tr>"
            )
        body.append(
            "</tbody></table><h2>Earlier runs</h2><table><thead><tr><th>run</th>"
            "<th>checked at (UTC)</th><th>checks</th><th>failed</th><th>warnings</th>"
            "</tr></thead><tbody>"
        )
        for run_id, checked_at, checks, failed, warnings in runs:
            body.append(
                f'<tr class="{"failed" if failed else ""}"><td><code>{html.escape(run_id)}'
                f"</code></td><td>{checked_at:%Y-%m-%d %H:%M:%S}</td><td>{checks}</td>"
                f"<td>{failed}</td><td>{warnings}</td></tr>"
            )
        body.append("</tbody></table>")
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>carewatch data quality</title><style>{STYLE}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(page, encoding="utf-8")
    return out_path

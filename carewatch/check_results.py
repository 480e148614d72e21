"""Check results: what a check found, the gate's verdict, and the audit trail.

Every check run is kept in the warehouse's `audit.check_results` table (run id,
check, table, passed, observed value, failing row sample, severity), across runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from carewatch.runtime import table_exists


@dataclass
class CheckResult:
    table: str
    expectation: str
    column: str | None
    passed: bool
    observed: str
    failing_sample: list[str] = field(default_factory=list)
    # error: a failure stops the publish; warn: recorded and shown, publish goes on
    severity: str = "error"

    @property
    def blocks_publish(self) -> bool:
        return not self.passed and self.severity == "error"

    def describe(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        state = "passed" if self.passed else ("FAILED" if self.severity == "error" else "WARNING")
        text = f"{self.expectation} on {where}: {state}"
        if not self.passed:
            text += f" ({self.observed}; failing rows: {', '.join(self.failing_sample[:5])})"
        return text


@dataclass
class CheckReport:
    run_id: str
    results: list[CheckResult]

    @property
    def passed(self) -> bool:
        return not any(r.blocks_publish for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.blocks_publish]

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed and r.severity == "warn"]


def record_results(con: duckdb.DuckDBPyConnection, report: CheckReport) -> None:
    con.execute("create schema if not exists audit")
    con.execute(
        """create table if not exists audit.check_results (
            run_id varchar, checked_at timestamp with time zone, table_name varchar,
            expectation varchar, column_name varchar, passed boolean,
            observed_value varchar, failing_row_sample varchar, severity varchar)"""
    )
    # audit tables written before severity existed gain the column
    con.execute("alter table audit.check_results add column if not exists severity varchar")
    now = datetime.now(tz=UTC)
    con.execute("delete from audit.check_results where run_id = ?", [report.run_id])
    con.executemany(
        "insert into audit.check_results values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                report.run_id,
                now,
                r.table,
                r.expectation,
                r.column,
                r.passed,
                r.observed,
                json.dumps(r.failing_sample),
                r.severity,
            )
            for r in report.results
        ],
    )


def last_results(warehouse_path) -> tuple[str | None, list[CheckResult]]:
    """The most recent check run's results from audit.check_results."""
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        if not table_exists(con, "audit", "check_results"):
            return None, []
        latest = con.sql(
            "select run_id from audit.check_results order by checked_at desc limit 1"
        ).fetchone()
        if latest is None:
            return None, []
        rows = con.sql(
            """select table_name, expectation, column_name, passed, observed_value,
                      failing_row_sample, severity
               from audit.check_results where run_id = ? order by table_name""",
            params=[latest[0]],
        ).fetchall()
    finally:
        con.close()
    return latest[0], [
        CheckResult(
            table=r[0],
            expectation=r[1],
            column=r[2],
            passed=r[3],
            observed=r[4],
            failing_sample=json.loads(r[5] or "[]"),
            severity=r[6] or "error",
        )
        for r in rows
    ]

"""The plain-SQL floor (benchmarks/floor.sql): set-up, run, and comparison with
what the pipeline published.

Used by benchmarks/bench.py (timed per size) and tests/test_bench_floor.py (as a
correctness oracle on a small demo).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from carewatch.config import CarewatchConfig
from carewatch.config_tables import term_pattern

FLOOR_SQL = Path(__file__).resolve().parent / "floor.sql"
FLOAT_TOLERANCE = 1e-9

# The keys and compared columns of each comparison (DESIGN.md reporting tables).
FCT_KEYS = ("platform", "brand", "opening_post_id")
FCT_VALUES = ("first_response_post_id", "first_response_minutes")
SLA_KEYS = ("brand", "day")
SLA_VALUES = ("cases", "answered", "median_frt_minutes", "p90_frt_minutes")
FLOAT_COLUMNS = {"first_response_minutes", "median_frt_minutes", "p90_frt_minutes"}


def word_pattern(fragments: Sequence[str]) -> str:
    """Terms as one whole-word RE2 pattern (as dbt/macros/brand_terms.sql builds it)."""
    return r"(?:^|[^\pL\pN_])(?:" + "|".join(fragments) + r")(?:$|[^\pL\pN_])"


def create_config_tables(con: duckdb.DuckDBPyConnection, config: CarewatchConfig) -> None:
    """The floor's inputs from carewatch.yml: brands, accounts, one pattern per brand."""
    con.execute(
        """create or replace temp table floor_cfg_brands (
               brand_key varchar, timezone varchar, response_window_days integer)"""
    )
    con.execute(
        """create or replace temp table floor_cfg_accounts (
               handle varchar, brand_key varchar, role varchar)"""
    )
    con.execute(
        """create or replace temp table floor_cfg_patterns (
               brand_key varchar, watch_pattern varchar, exclusion_pattern varchar)"""
    )
    for brand in config.brands:
        con.execute(
            "insert into floor_cfg_brands values (?, ?, ?)",
            [brand.key, brand.timezone, brand.response_window_days],
        )
        for account in brand.accounts:
            con.execute(
                "insert into floor_cfg_accounts values (?, ?, ?)",
                [account.handle.lower(), brand.key, account.role],
            )
        watch = [term_pattern(t) for t in brand.watch_terms]
        exclusion = [term_pattern(t) for t in brand.exclusions]
        con.execute(
            "insert into floor_cfg_patterns values (?, ?, ?)",
            [
                brand.key,
                word_pattern(watch) if watch else None,
                word_pattern(exclusion) if exclusion else None,
            ],
        )


def floor_statements(sql: str | None = None) -> list[str]:
    """floor.sql split into its statements (each ends with ';' at the end of a line)."""
    text = sql if sql is not None else FLOOR_SQL.read_text(encoding="utf-8")
    statements, current = [], []
    for line in text.splitlines():
        if line.lstrip().startswith("--"):
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            statement = "\n".join(current).strip().rstrip(";").strip()
            if statement:
                statements.append(statement)
            current = []
    rest = "\n".join(current).strip()
    if rest:
        statements.append(rest)
    return statements


@dataclass
class FloorRun:
    seconds: float
    statement_s: list[tuple[str, float]] = field(default_factory=list)
    cases: int = 0
    sla_rows: int = 0


def _label(statement: str) -> str:
    match = re.search(r"(?:table|variable)\s+(\w+)", statement)
    return match.group(1) if match else statement.split()[0]


def run_floor(
    con: duckdb.DuckDBPyConnection, config: CarewatchConfig, posts: Path | Sequence[Path]
) -> FloorRun:
    """Set up the config tables (untimed), then run floor.sql (timed) on the posts file(s)."""
    paths = [str(posts)] if isinstance(posts, Path | str) else [str(p) for p in posts]
    create_config_tables(con, config)
    con.execute("set variable posts_path = ?", [paths[0] if len(paths) == 1 else paths])
    statements = floor_statements()
    timings = []
    started = time.perf_counter()
    for statement in statements:
        t0 = time.perf_counter()
        con.execute(statement)
        timings.append((_label(statement), time.perf_counter() - t0))
    seconds = time.perf_counter() - started
    cases = con.sql("select count(*) from floor_fct_complaints").fetchone()[0]
    sla_rows = con.sql("select count(*) from floor_sla_daily").fetchone()[0]
    return FloorRun(seconds=seconds, statement_s=timings, cases=cases, sla_rows=sla_rows)


@dataclass
class Comparison:
    """Rows that differ between two relations on the same keys (missing on a side counts)."""

    name: str
    left_rows: int
    right_rows: int
    mismatches: int
    sample: list[dict[str, Any]]

    @property
    def equal(self) -> bool:
        return self.mismatches == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "equal": self.equal,
            "left_rows": self.left_rows,
            "right_rows": self.right_rows,
            "mismatches": self.mismatches,
            "sample": self.sample,
        }


def compare_relations(
    con: duckdb.DuckDBPyConnection,
    name: str,
    left: str,
    right: str,
    keys: Sequence[str],
    values: Sequence[str],
    *,
    float_columns: set[str] | frozenset[str] = frozenset(FLOAT_COLUMNS),
    tolerance: float = FLOAT_TOLERANCE,
    sample_size: int = 5,
) -> Comparison:
    """Full outer join of `left` and `right` (SQL relations) on `keys`; a row differs when
    it is missing on one side or a value differs (floats within `tolerance`)."""

    def differs(column: str) -> str:
        same = f"l.{column} is not distinct from r.{column}"
        if column in float_columns:
            same += f" or abs(l.{column} - r.{column}) <= {tolerance!r}"
        return f"not ({same})"

    select_keys = ", ".join(f"coalesce(l.{k}, r.{k}) as {k}" for k in keys)
    select_values = ", ".join(f"l.{v} as left_{v}, r.{v} as right_{v}" for v in values)
    condition = " or ".join(
        [f"l.{keys[0]} is null", f"r.{keys[0]} is null", *(differs(v) for v in values)]
    )
    join = " and ".join(f"l.{k} = r.{k}" for k in keys)
    diff_sql = f"""
        with l as ({left}), r as ({right})
        select {select_keys}, {select_values}
        from l full outer join r on {join}
        where {condition}"""
    mismatches = con.sql(f"select count(*) from ({diff_sql})").fetchone()[0]
    sample: list[dict[str, Any]] = []
    if mismatches:
        relation = con.sql(f"{diff_sql} order by all limit {sample_size}")
        columns = relation.columns
        sample = [
            {c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in relation.fetchall()
        ]
    left_rows = con.sql(f"select count(*) from ({left})").fetchone()[0]
    right_rows = con.sql(f"select count(*) from ({right})").fetchone()[0]
    return Comparison(name, left_rows, right_rows, mismatches, sample)


def _plain(value: Any) -> Any:
    return value if isinstance(value, int | float | str | bool | None) else str(value)


def compare_with_reporting(
    con: duckdb.DuckDBPyConnection, reporting: Path, alias: str = "published"
) -> list[Comparison]:
    """The floor's tables (in `con`) against a published reporting.duckdb."""
    con.execute(f"attach '{reporting}' as {alias} (read_only)")
    try:
        fct_columns = ", ".join((*FCT_KEYS, *FCT_VALUES))
        sla_columns = ", ".join((*SLA_KEYS, *SLA_VALUES))
        return [
            compare_relations(
                con,
                "fct_complaints",
                f"select {fct_columns} from floor_fct_complaints",
                f"select {fct_columns} from {alias}.main.fct_complaints",
                FCT_KEYS,
                FCT_VALUES,
            ),
            compare_relations(
                con,
                "sla_daily",
                f"select {sla_columns} from floor_sla_daily",
                f"select {sla_columns} from {alias}.main.sla_daily",
                SLA_KEYS,
                SLA_VALUES,
            ),
        ]
    finally:
        con.execute(f"detach {alias}")

"""The quality gate: Great Expectations suites on the reporting models.

GX validates pandas dataframes read from DuckDB (GX over SQLAlchemy to DuckDB
is broken in the pinned versions). Every result is recorded in the warehouse's
`audit.check_results` table, kept across runs, with a sample of failing keys.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from carewatch.check_results import CheckReport, CheckResult, record_results
from carewatch.config import QualitySettings
from carewatch.data_checks import data_level_checks
from carewatch.publish import STAMPED_KEYS, newest_stamp
from carewatch.runtime import release_arrow_memory, table_exists

log = logging.getLogger(__name__)

RATE_COLUMNS = (
    "response_rate",
    "sla_met_rate",
    "weekend_coverage",
    "moved_to_private_rate",
    "recontact_rate",
    "resolution_rate",
    "boomerang_rate",
    "proactive_reach_rate",
    "formal_share",
    "informal_share",
)

# Each table is read with a query that adds derived columns the expectations
# need (for example whether sla_status agrees with minutes and target).
TABLE_QUERIES = {
    "fct_complaints": """
        select *,
            case
                when first_response_at is not null then
                    sla_status = case when first_response_business_minutes <= sla_target_minutes
                                      then 'met' else 'breached' end
                else sla_status in ('breached', 'pending')
            end as sla_status_consistent
        from marts.fct_complaints""",
    "fct_responses": "select * from marts.fct_responses",
    "fct_follow_ups": "select * from marts.fct_follow_ups",
    "sla_daily": "select *, brand || '|' || cast(day as varchar) as row_key from marts.sla_daily",
    "share_of_voice_daily": (
        "select *, brand || '|' || cast(day as varchar) as row_key from marts.share_of_voice_daily"
    ),
}
ROW_KEYS = {
    **STAMPED_KEYS,
    "sla_daily": "row_key",
    "share_of_voice_daily": "row_key",
}


def _suites() -> dict[str, list[Any]]:
    import great_expectations as gx

    e = gx.expectations
    return {
        "fct_complaints": [
            e.ExpectColumnValuesToNotBeNull(column="case_id"),
            e.ExpectColumnValuesToBeUnique(column="case_id"),
            e.ExpectColumnValuesToNotBeNull(column="opened_at"),
            e.ExpectColumnValuesToNotBeNull(column="customer_key"),
            e.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="first_response_at",
                column_B="opened_at",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            ),
            e.ExpectColumnValuesToBeBetween(column="first_response_minutes", min_value=0),
            e.ExpectColumnValuesToBeBetween(column="first_response_business_minutes", min_value=0),
            e.ExpectColumnValuesToBeInSet(
                column="sla_status", value_set=["met", "breached", "pending"]
            ),
            e.ExpectColumnValuesToBeInSet(column="sla_status_consistent", value_set=[True]),
            e.ExpectColumnValuesToBeInSet(column="origin", value_set=["addressed", "unaddressed"]),
            e.ExpectColumnValuesToBeInSet(
                column="case_kind", value_set=["complaint", "question", "praise", "other"]
            ),
        ],
        "fct_responses": [
            e.ExpectColumnValuesToNotBeNull(column="post_id"),
            e.ExpectColumnValuesToBeUnique(column="post_id"),
            e.ExpectColumnValuesToNotBeNull(column="case_id"),
            e.ExpectColumnValuesToBeBetween(column="minutes_since_open", min_value=0),
            e.ExpectColumnValuesToBeBetween(column="business_minutes_since_open", min_value=0),
            e.ExpectColumnValuesToBeInSet(
                column="address_form", value_set=["formal", "informal", "none"]
            ),
        ],
        "fct_follow_ups": [
            e.ExpectColumnValuesToNotBeNull(column="follow_up_id"),
            e.ExpectColumnValuesToBeUnique(column="follow_up_id"),
            e.ExpectColumnValuesToBeBetween(column="minutes_since_open", min_value=0),
            e.ExpectColumnValuesToBeInSet(
                column="event_type",
                value_set=[
                    "moved_to_private",
                    "technician",
                    "customer_reply",
                    "resolved_confirmation",
                    "still_unresolved",
                    "brand_follow_up",
                ],
            ),
        ],
        "sla_daily": [
            e.ExpectColumnValuesToBeUnique(column="row_key"),
            *[
                e.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1)
                for c in RATE_COLUMNS
            ],
            e.ExpectColumnValuesToBeBetween(column="cases", min_value=1),
        ],
        "share_of_voice_daily": [
            e.ExpectColumnValuesToBeUnique(column="row_key"),
            e.ExpectColumnValuesToBeBetween(column="share_of_mentions", min_value=0, max_value=1),
        ],
    }


# Rows validated at once: a larger table is split into parts by a hash of its row
# key, so memory stays bounded and every duplicate key still lands in one part.
# Each part costs a scan of the table and GX's fixed work per batch (~0.1 s): at 5M
# posts, 500k a part took 6.9 s against 8.2 s with 250k, both at about 1.2 GB.
CHECK_PART_ROWS = int(os.environ.get("CAREWATCH_CHECK_PART_ROWS") or 500_000)


def _columns_for(table: str, expectations: list[Any]) -> list[str]:
    """Only the columns the suite looks at (and the row key): a fraction of the memory."""
    columns = {ROW_KEYS[table]}
    for expectation in expectations:
        for key in ("column", "column_A", "column_B"):
            value = getattr(expectation, key, None)
            if value:
                columns.add(value)
    return sorted(columns)


# The fact tables carry the build stamp of their rows (`built_at`): the
# every-15-minutes cycle validates only rows rebuilt since the last check that
# passed, plus every row sharing a key with one of them (so a new duplicate of an
# old key is still caught). The small aggregate tables are always checked whole.
STAMPED_TABLES = tuple(STAMPED_KEYS)


def _scoped_query(table: str, changed_since: datetime | None) -> str:
    query = TABLE_QUERIES[table]
    if changed_since is None or table not in STAMPED_TABLES:
        return query
    key = ROW_KEYS[table]
    return (
        f'select * from ({query}) where "{key}" in (select "{key}" from marts.{table} '
        f"where built_at > cast('{changed_since.isoformat(sep=' ')}' as timestamp))"
    )


def _frames(
    con: duckdb.DuckDBPyConnection,
    table: str,
    expectations: list[Any],
    changed_since: datetime | None = None,
):
    """The table's checked columns as dataframes of at most about CHECK_PART_ROWS rows."""
    selected = ", ".join(f'"{c}"' for c in _columns_for(table, expectations))
    scoped = _scoped_query(table, changed_since)
    query = f"select {selected} from ({scoped})"
    rows = con.sql(f"select count(*) from ({scoped})").fetchone()[0]
    parts = max(1, -(-rows // CHECK_PART_ROWS))
    if parts == 1:
        yield _dataframe(con, query)
        return
    key = ROW_KEYS[table]
    for part in range(parts):
        yield _dataframe(con, f'{query} where hash("{key}") % {parts} = {part}')


def _dataframe(con: duckdb.DuckDBPyConnection, query: str) -> Any:
    """The query's rows as a pandas dataframe whose text columns stay in Arrow memory
    (pandas' "string[pyarrow]"): converting every id and key to a Python object was
    the larger part of the checks at millions of rows, and the objects took more memory."""
    import pandas as pd
    import pyarrow as pa

    def arrow_strings(kind: pa.DataType) -> Any:
        text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
        return pd.StringDtype("pyarrow") if text or pa.types.is_string_view(kind) else None

    return con.sql(query).fetch_arrow_table().to_pandas(types_mapper=arrow_strings)


def checked_through(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The newest build stamp the last passing check covered, if any."""
    if not table_exists(con, "audit", "check_scope"):
        return None
    return con.sql("select max(checked_through) from audit.check_scope").fetchone()[0]


def _record_scope(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    checked_through: datetime | None,
    changed_since: datetime | None,
) -> None:
    con.execute("create schema if not exists audit")
    con.execute(
        """create table if not exists audit.check_scope (
            run_id varchar, checked_at timestamp with time zone,
            changed_since timestamp, checked_through timestamp)"""
    )
    con.execute(
        "insert into audit.check_scope values (?, ?, ?, ?)",
        [run_id, datetime.now(tz=UTC), changed_since, checked_through],
    )


def _merge(first: CheckResult | None, part: CheckResult, counts: dict[str, int]) -> CheckResult:
    """One result per expectation over all parts: counts summed, samples joined."""
    if first is None:
        return part
    failing = (first.failing_sample + part.failing_sample)[:20]
    if counts:
        observed = f"{counts['unexpected']} unexpected of {counts['total']}"
    else:
        observed = part.observed
    return CheckResult(
        table=first.table,
        expectation=first.expectation,
        column=first.column,
        passed=first.passed and part.passed,
        observed=observed,
        failing_sample=failing,
    )


def _validate_table(
    datasource: Any, table: str, expectations: list[Any], frames
) -> list[CheckResult]:
    import great_expectations as gx

    asset = datasource.add_dataframe_asset(name=table)
    batches = asset.add_batch_definition_whole_dataframe(f"{table}_all")
    suite = gx.ExpectationSuite(name=f"{table}_suite", expectations=expectations)
    merged: list[CheckResult | None] = [None] * len(expectations)
    counts: list[dict[str, int]] = [{} for _ in expectations]
    for frame in frames:
        batch = batches.get_batch(batch_parameters={"dataframe": frame})
        # BASIC counts the unexpected rows; only a part that fails is validated again
        # with COMPLETE for the keys of its failing rows (finding them filters the
        # frame once more per expectation: a third of the checks at 5M posts)
        validation = batch.validate(suite, result_format={"result_format": "BASIC"})
        if not validation.success:
            validation = batch.validate(
                suite,
                result_format={
                    "result_format": "COMPLETE",
                    "unexpected_index_column_names": [ROW_KEYS[table]],
                    "partial_unexpected_count": 20,
                },
            )
        for index, outcome in enumerate(validation.results):
            config = outcome.expectation_config
            detail = outcome.result or {}
            sample = [
                str(item.get(ROW_KEYS[table]) if isinstance(item, dict) else item)
                for item in (detail.get("unexpected_index_list") or [])[:20]
            ]
            total = detail.get("element_count", len(frame))
            if "unexpected_count" in detail:
                tally = counts[index]
                tally["unexpected"] = tally.get("unexpected", 0) + detail["unexpected_count"]
                tally["total"] = tally.get("total", 0) + total
                observed = f"{detail['unexpected_count']} unexpected of {total}"
            else:
                observed = json.dumps(detail.get("observed_value"), default=str)
            part = CheckResult(
                table=table,
                expectation=config.type,
                column=config.kwargs.get("column") or config.kwargs.get("column_A"),
                passed=bool(outcome.success),
                observed=observed,
                failing_sample=sample,
            )
            merged[index] = _merge(merged[index], part, counts[index])
        del frame, validation
        # the part's buffers go back before the next part (its cycles are young)
        release_arrow_memory(generation=1)
    return [result for result in merged if result is not None]


def _skip_dataframe_fingerprints() -> None:
    """GX hashes every dataframe under HASH_THRESHOLD bytes (1 GB) into an md5
    "fingerprint" batch marker, which nothing here reads: a third of a full check's
    time at 5M posts. A threshold of 0 turns only that marker off; every
    expectation still sees every row."""
    from great_expectations.execution_engine import pandas_execution_engine

    pandas_execution_engine.HASH_THRESHOLD = 0


@dataclass
class Validation:
    """What the checks found, before it is recorded: the results, the newest build
    stamp they cover and the stamp they started after (None: every row)."""

    results: list[CheckResult]
    newest: datetime | None
    changed_since: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """As plain JSON values (the check worker's answer)."""
        return {
            "results": [asdict(result) for result in self.results],
            "newest": _iso(self.newest),
            "changed_since": _iso(self.changed_since),
        }

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Validation:
        return cls(
            results=[CheckResult(**result) for result in payload["results"]],
            newest=_from_iso(payload["newest"]),
            changed_since=_from_iso(payload["changed_since"]),
        )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _from_iso(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def validate_models(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: datetime | None = None,
    settings: QualitySettings | None = None,
    changed_only: bool = False,
) -> Validation:
    """Validate every reporting model, then the data-level checks, reading only (a
    read-only connection will do); `record_checks` records what they found.

    With changed_only, the fact tables' rows rebuilt since the last passing check
    are validated (all rows when no check has passed yet).
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    _skip_dataframe_fingerprints()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    datasource = context.data_sources.add_pandas(name="carewatch_marts")
    changed_since = checked_through(con) if changed_only else None
    if changed_since is not None:
        log.info("checking the fact rows rebuilt after %s", changed_since)
    newest = newest_stamp(con)
    results: list[CheckResult] = []
    for table, expectations in _suites().items():
        frames = _frames(con, table, expectations, changed_since)
        results.extend(_validate_table(datasource, table, expectations, frames))
    results.extend(
        data_level_checks(
            con, as_of or datetime.now(tz=UTC), settings or QualitySettings(), changed_since
        )
    )
    return Validation(results=results, newest=newest, changed_since=changed_since)


def record_checks(
    con: duckdb.DuckDBPyConnection, run_id: str, validation: Validation
) -> CheckReport:
    """Record a validation in the audit tables; a pass moves the checked-through stamp."""
    report = CheckReport(run_id=run_id, results=validation.results)
    record_results(con, report)
    if report.passed:
        _record_scope(con, run_id, validation.newest, validation.changed_since)
    return report

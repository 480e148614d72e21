"""Nothing lost, nothing doubled: re-running the pipeline on the same input changes nothing."""

from __future__ import annotations

import duckdb

from carewatch import pipeline
from tests.conftest import DEMO_ARGS

# Run bookkeeping that is meant to grow or change per run.
RUN_METADATA = {
    ("audit", "check_results"),
    ("audit", "check_scope"),
    ("audit", "publish_log"),
    ("main", "publish_info"),
}
# when and by which load a row was (re)built: the incremental models' cursors, not content
BUILD_STAMPS = {"built_at", "load_id"}


def _snapshot(path) -> dict[str, tuple[int, int]]:
    """(row count, order-independent content hash) of every table; dlt bookkeeping, its
    staging dataset and build stamps excluded."""
    # not read_only: dbt-duckdb keeps this file open in this process (same configuration only)
    con = duckdb.connect(str(path))
    try:
        tables = con.sql(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' and table_name not like '\\_dlt%' escape '\\' "
            "and table_schema <> 'raw_staging'"
        ).fetchall()
        snapshot = {}
        for schema, table in tables:
            if (schema, table) in RUN_METADATA:
                continue
            columns = [
                c[0]
                for c in con.sql(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ? and column_name not like '\\_dlt%' "
                    "escape '\\' order by ordinal_position",
                    params=[schema, table],
                ).fetchall()
                if c[0] not in BUILD_STAMPS
            ]
            selected = ", ".join(f'"{c}"' for c in columns)
            digest = f"coalesce(sum(hash(row({selected}))), 0)"
            snapshot[f"{schema}.{table}"] = con.sql(
                f'select count(*), {digest} from "{schema}"."{table}"'
            ).fetchone()
        return snapshot
    finally:
        con.close()


def test_running_the_whole_pipeline_twice_changes_no_table(scratch_warehouse, config):
    warehouse_before = _snapshot(scratch_warehouse.path)
    reporting_before = _snapshot(scratch_warehouse.reporting_path)
    assert warehouse_before["raw.posts"][0] > 1000

    as_of = pipeline.demo_as_of(DEMO_ARGS["start"], DEMO_ARGS["days"])
    pipeline.sync_config(config, scratch_warehouse)
    pipeline.load_demo(config, scratch_warehouse, **DEMO_ARGS)
    pipeline.build_models(scratch_warehouse, as_of)
    assert pipeline.check_models(scratch_warehouse, "second-run").passed
    pipeline.publish(scratch_warehouse, "second-run", as_of)

    assert _snapshot(scratch_warehouse.path) == warehouse_before
    assert _snapshot(scratch_warehouse.reporting_path) == reporting_before

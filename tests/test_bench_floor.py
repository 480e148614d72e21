"""The benchmark's plain-SQL floor (benchmarks/floor.sql) is also a correctness
oracle: on the demo scenario its first-response fields and daily calendar-FRT
numbers equal what the pipeline publishes."""

from __future__ import annotations

import duckdb
import pytest

from benchmarks.floor import compare_with_reporting, floor_statements, run_floor


@pytest.fixture(scope="module")
def floor(demo_warehouse, config):
    con = duckdb.connect()
    run = run_floor(con, config, demo_warehouse.directory / "demo" / "posts.jsonl")
    yield con, run
    con.close()


def test_floor_equals_published_pipeline(floor, demo_warehouse):
    con, run = floor
    assert run.cases > 1000
    comparisons = compare_with_reporting(con, demo_warehouse.reporting_path)
    assert [c.name for c in comparisons] == ["fct_complaints", "sla_daily"]
    for comparison in comparisons:
        assert comparison.left_rows == comparison.right_rows > 0, comparison.as_dict()
        assert comparison.equal, comparison.as_dict()


def test_floor_numbers_are_not_trivial(floor, config):
    con, _ = floor
    brands, answered, unanswered, late, medians = con.sql(
        """select count(distinct brand),
                  count(*) filter (where answered_within_window),
                  count(*) filter (where first_response_post_id is null),
                  count(*) filter (where first_response_minutes > 7 * 1440),
                  (select count(median_frt_minutes) from floor_sla_daily)
           from floor_fct_complaints"""
    ).fetchone()
    assert brands == len(config.brands)
    assert answered > 0 and unanswered > 0 and late > 0 and medians > 0


def test_comparison_sees_a_changed_minute_and_tolerates_rounding(floor, demo_warehouse):
    con, _ = floor
    con.execute("create or replace temp table saved as select * from floor_fct_complaints")
    try:
        answered = "first_response_minutes is not null and opening_post_id = ("
        answered += "select min(opening_post_id) from floor_fct_complaints"
        answered += " where first_response_minutes is not null)"
        con.execute(
            "update floor_fct_complaints set first_response_minutes = first_response_minutes"
            f" + 1e-12 where {answered}"
        )
        assert all(c.equal for c in compare_with_reporting(con, demo_warehouse.reporting_path))
        con.execute(
            "update floor_fct_complaints set first_response_minutes = first_response_minutes"
            f" + 1e-6 where {answered}"
        )
        fct = compare_with_reporting(con, demo_warehouse.reporting_path)[0]
        assert fct.mismatches == 1 and len(fct.sample) == 1
    finally:
        con.execute("create or replace temp table floor_fct_complaints as select * from saved")


def test_floor_script_splits_into_statements():
    statements = floor_statements()
    assert len(statements) >= 8
    assert all(not s.rstrip().endswith(";") for s in statements)
    assert any(s.startswith("create or replace temp table floor_sla_daily") for s in statements)

"""The Prefect flow end to end: demo in, reporting database out."""

from __future__ import annotations

from datetime import date

import duckdb


def test_care_pipeline_flow_publishes_all_reporting_tables(tmp_path, prefect_harness, config):
    from flows.care_pipeline import care_pipeline

    result = care_pipeline(
        warehouse_dir=str(tmp_path / "warehouse"),
        source="demo",
        demo_seed=3,
        demo_start=date(2026, 3, 2),
        demo_days=21,
        demo_size=2_000,
        site_dir=str(tmp_path / "site"),
    )

    assert result["checks"] > 20
    con = duckdb.connect(result["reporting"], read_only=True)
    try:
        tables = {
            r[0] for r in con.sql("select table_name from information_schema.tables").fetchall()
        }
        assert {
            "fct_complaints",
            "fct_responses",
            "fct_follow_ups",
            "sla_daily",
            "share_of_voice_daily",
        } <= tables
        brands = {r[0] for r in con.sql("select distinct brand from sla_daily").fetchall()}
    finally:
        con.close()
    assert brands == {b.key for b in config.brands}
    quality_page = (tmp_path / "site" / "quality" / "index.html").read_text(encoding="utf-8")
    assert result["run_id"] in quality_page
    assert {row["brand"] for row in result["summary"]} == brands | {"all"}

"""Write-audit-publish: failing checks never reach the reporting database."""

from __future__ import annotations

import hashlib
import time

import duckdb
import pytest
import yaml

from carewatch import pipeline
from carewatch.cli import main
from carewatch.config import QualitySettings
from carewatch.pipeline import QualityGateFailed
from carewatch.transform import PROJECT_ROOT, DbtFailure


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _gate(warehouse, run_id: str, as_of, site_dir=None) -> None:
    """What care_pipeline does after dbt: stage the next reporting file, check, and
    swap the staged file in only on success (the flow stages while it checks)."""
    staged = pipeline.stage_publish(warehouse, run_id, as_of)
    try:
        report = pipeline.check_models(warehouse, run_id, as_of=as_of, site_dir=site_dir)
        if not report.passed:
            raise QualityGateFailed(report)
        pipeline.commit_publish(warehouse, staged)
    finally:
        staged.discard()


def _temporaries(warehouse) -> list[str]:
    return [p.name for p in warehouse.directory.iterdir() if p.name.endswith(".tmp")]


def test_a_response_before_its_case_fails_the_run_and_keeps_reporting(
    scratch_warehouse, tmp_path, capsys
):
    before = _digest(scratch_warehouse.reporting_path)
    with scratch_warehouse.connect() as con:
        case_id = con.sql(
            "select case_id from marts.fct_complaints where first_response_at is not null limit 1"
        ).fetchone()[0]
        con.execute(
            "update marts.fct_complaints set first_response_at = opened_at - interval 1 hour "
            "where case_id = ?",
            [case_id],
        )
    with pytest.raises(QualityGateFailed) as failure:
        _gate(
            scratch_warehouse,
            "broken-run",
            pipeline.parse_as_of("2026-05-11T00:00:00Z"),
            site_dir=tmp_path / "site",
        )
    message = str(failure.value)
    assert "expect_column_pair_values_a_to_be_greater_than_b" in message
    assert case_id in message
    assert _digest(scratch_warehouse.reporting_path) == before
    assert _temporaries(scratch_warehouse) == []  # the staged file went with the run
    with scratch_warehouse.connect() as con:
        recorded = con.sql(
            "select passed, failing_row_sample from audit.check_results "
            "where run_id = 'broken-run' and not passed"
        ).fetchall()
    assert recorded and case_id in recorded[0][1]

    # the reader-facing views name the expectation and the failing row too
    assert main(["--warehouse", str(scratch_warehouse.directory), "checks"]) == 1
    printed = capsys.readouterr().out
    assert "FAILED" in printed and case_id in printed
    page = (tmp_path / "site" / "quality" / "index.html").read_text(encoding="utf-8")
    assert "expect_column_pair_values_a_to_be_greater_than_b" in page
    assert case_id in page


def test_an_inconsistent_sla_status_is_caught(scratch_warehouse):
    with scratch_warehouse.connect() as con:
        con.execute(
            "update marts.fct_complaints set sla_status = 'met' "
            "where case_id = (select min(case_id) from marts.fct_complaints "
            "where sla_status = 'breached')"
        )
    report = pipeline.check_models(scratch_warehouse, "status-run")
    assert [f.column for f in report.failures] == ["sla_status_consistent"]


def test_a_reporting_row_without_a_raw_post_is_caught(scratch_warehouse):
    with scratch_warehouse.connect() as con:
        post_id = con.sql("select min(post_id) from marts.fct_responses").fetchone()[0]
        con.execute("delete from raw.posts where post_id = ?", [post_id])
    report = pipeline.check_models(scratch_warehouse, "lineage-run")
    failure = next(f for f in report.failures if f.expectation == "references_raw_post")
    assert failure.table == "fct_responses"
    assert failure.failing_sample == [f"demo:{post_id}"]


def test_stale_sources_and_volume_anomalies_warn_without_blocking(scratch_warehouse):
    # two days after the demo ends: nothing new, and yesterday had no mentions at all
    later = pipeline.parse_as_of("2026-05-13T00:00:00Z")
    report = pipeline.check_models(scratch_warehouse, "stale-run", as_of=later)
    warned = {w.expectation for w in report.warnings}
    assert "source_freshness" in warned
    assert "mention_volume_within_band" in warned
    assert report.passed


def test_freshness_can_be_made_an_error(scratch_warehouse):
    strict = QualitySettings(freshness_severity="error", freshness_max_age_hours=1)
    long_after = pipeline.parse_as_of("2026-08-01T00:00:00Z")
    report = pipeline.check_models(
        scratch_warehouse, "strict-run", as_of=long_after, settings=strict
    )
    assert [f.expectation for f in report.failures] == ["source_freshness"]


def test_rates_outside_zero_to_one_are_caught(scratch_warehouse):
    with scratch_warehouse.connect() as con:
        con.execute("update marts.sla_daily set response_rate = 1.5 where cases > 0")
    report = pipeline.check_models(scratch_warehouse, "rate-run")
    assert any(f.column == "response_rate" for f in report.failures)


def test_publish_replaces_the_file_atomically_and_leaves_no_temporary(scratch_warehouse):
    as_of = pipeline.parse_as_of("2026-05-11T00:00:00Z")
    reader = duckdb.connect(str(scratch_warehouse.reporting_path), read_only=True)
    try:
        old_run = reader.sql("select run_id from publish_info").fetchone()[0]
        pipeline.publish(scratch_warehouse, "second-run", as_of)
        # an open reader keeps its consistent snapshot of the old file
        assert reader.sql("select run_id from publish_info").fetchone()[0] == old_run
    finally:
        reader.close()
    fresh = duckdb.connect(str(scratch_warehouse.reporting_path), read_only=True)
    try:
        assert fresh.sql("select run_id from publish_info").fetchone()[0] == "second-run"
    finally:
        fresh.close()
    assert _temporaries(scratch_warehouse) == []


def test_a_staged_publish_stays_out_of_sight_until_committed(scratch_warehouse):
    as_of = pipeline.parse_as_of("2026-05-11T00:00:00Z")
    before = _digest(scratch_warehouse.reporting_path)
    staged = pipeline.stage_publish(scratch_warehouse, "staged-run", as_of)
    try:
        # written and flushed beside the published file, which readers still see whole
        assert staged.temporary.parent == scratch_warehouse.directory
        assert _temporaries(scratch_warehouse) == [staged.temporary.name]
        assert _digest(scratch_warehouse.reporting_path) == before
        with scratch_warehouse.connect() as con:
            logged = con.sql(
                "select count(*) from audit.publish_log where run_id = 'staged-run'"
            ).fetchone()[0]
        assert logged == 0
        pipeline.commit_publish(scratch_warehouse, staged)
    finally:
        staged.discard()
    with duckdb.connect(str(scratch_warehouse.reporting_path), read_only=True) as reader:
        assert reader.sql("select run_id from publish_info").fetchone()[0] == "staged-run"
    with scratch_warehouse.connect() as con:
        logged = con.sql(
            "select count(*) from audit.publish_log where run_id = 'staged-run'"
        ).fetchone()[0]
    assert logged == 1
    assert _temporaries(scratch_warehouse) == []


def test_a_reporting_file_this_warehouse_did_not_write_is_published_whole(scratch_warehouse):
    """Only the file the last publish wrote is updated by difference; garbage or
    another run's file at the reporting path gets every row again."""
    as_of = pipeline.parse_as_of("2026-05-11T00:00:00Z")
    path = scratch_warehouse.reporting_path

    def published() -> tuple[str, dict[str, int]]:
        with scratch_warehouse.connect() as con:
            mode = con.sql(
                "select mode from audit.publish_log order by published_at desc limit 1"
            ).fetchone()[0]
        with duckdb.connect(str(path), read_only=True) as reader:
            counts = {
                t: reader.sql(f"select count(*) from {t}").fetchone()[0]
                for t in ("fct_complaints", "fct_responses", "fct_follow_ups", "sla_daily")
            }
        return mode, counts

    pipeline.publish(scratch_warehouse, "own-run", as_of)
    mode, expected = published()
    pipeline.publish(scratch_warehouse, "own-run-again", as_of)
    assert published() == ("changes", expected)

    path.write_bytes(b"not a DuckDB file")
    pipeline.publish(scratch_warehouse, "after-garbage", as_of)
    assert published() == ("whole", expected)

    path.unlink()
    with duckdb.connect(str(path)) as other:
        other.execute("create table publish_info as select 'someone-else' as run_id")
        other.execute("create table stray as select 1 as x")
    pipeline.publish(scratch_warehouse, "after-foreign-file", as_of)
    assert published() == ("whole", expected)
    with duckdb.connect(str(path), read_only=True) as reader:
        tables = {r[0] for r in reader.sql("select table_name from duckdb_tables()").fetchall()}
    assert "stray" not in tables  # a whole publish starts from an empty file
    assert _temporaries(scratch_warehouse) == []


def test_checks_in_parts_find_a_duplicate_key_and_count_like_one_part(
    scratch_warehouse, monkeypatch
):
    """A table validated in hash parts (bounded memory) reports what one part would:
    a duplicated key lands in one part, so uniqueness still fails; counts add up."""
    from carewatch import checks

    as_of = pipeline.parse_as_of("2026-05-11T00:00:00Z")
    with scratch_warehouse.connect() as con:
        case_id = con.sql("select min(case_id) from marts.fct_complaints").fetchone()[0]
        con.execute(
            "insert into marts.fct_complaints select * from marts.fct_complaints where case_id = ?",
            [case_id],
        )
        rows = con.sql("select count(*) from marts.fct_complaints").fetchone()[0]

    def unique_result(report):
        (result,) = [
            r
            for r in report.results
            if r.table == "fct_complaints" and r.expectation == "expect_column_values_to_be_unique"
        ]
        return result

    whole = pipeline.check_models(scratch_warehouse, "one-part", as_of=as_of)
    monkeypatch.setattr(checks, "CHECK_PART_ROWS", max(1, rows // 7))
    parted = pipeline.check_models(scratch_warehouse, "seven-parts", as_of=as_of)

    assert not unique_result(parted).passed
    assert case_id in unique_result(parted).failing_sample
    assert (
        unique_result(parted).observed
        == unique_result(whole).observed
        == (f"2 unexpected of {rows}")
    )
    assert [(r.table, r.expectation, r.column, r.passed, r.observed) for r in parted.results] == [
        (r.table, r.expectation, r.column, r.passed, r.observed) for r in whole.results
    ]


def test_the_cycle_checks_only_rows_rebuilt_since_the_last_pass(scratch_warehouse):
    """changed_only (the scheduled cycle) validates the fact rows stamped after the
    last passing check, with every row sharing a key: a new duplicate of an old
    key is caught, and the untouched rows are not read again."""
    as_of = pipeline.parse_as_of("2026-05-11T00:00:00Z")
    assert pipeline.check_models(scratch_warehouse, "full-pass", as_of=as_of).passed
    with scratch_warehouse.connect() as con:
        post_id = con.sql("select min(post_id) from marts.fct_responses").fetchone()[0]
        con.execute(
            "insert into marts.fct_responses select * replace "
            "(built_at + interval 1 minute as built_at) "
            "from marts.fct_responses where post_id = ?",
            [post_id],
        )
    report = pipeline.check_models(scratch_warehouse, "cycle", as_of=as_of, changed_only=True)
    by_check = {(r.table, r.expectation, r.column): r for r in report.results}
    unique = by_check[("fct_responses", "expect_column_values_to_be_unique", "post_id")]
    assert not unique.passed
    assert unique.failing_sample == [post_id, post_id]
    assert unique.observed == "2 unexpected of 2"  # the new row and the old one with its key
    complaints = by_check[("fct_complaints", "expect_column_values_to_not_be_null", "case_id")]
    assert complaints.observed == "0 unexpected of 0"  # nothing there was rebuilt

    with scratch_warehouse.connect() as con:
        con.execute(
            "delete from marts.fct_responses where post_id = ? and built_at = "
            "(select max(built_at) from marts.fct_responses)",
            [post_id],
        )
    assert pipeline.check_models(scratch_warehouse, "fixed", as_of=as_of, changed_only=True).passed


def _duplicate_a_response(warehouse, shift: str) -> str:
    """Insert a second fct_responses row for an existing post, stamped `shift` later."""
    with warehouse.connect() as con:
        post_id = con.sql("select min(post_id) from marts.fct_responses").fetchone()[0]
        con.execute(
            f"insert into marts.fct_responses select * replace (built_at + {shift} as built_at) "
            "from marts.fct_responses where post_id = ?",
            [post_id],
        )
    return post_id


def test_the_cycle_data_tests_cover_rows_built_since_the_last_pass(scratch_warehouse):
    """Scoped dbt data tests (the scheduled cycle) still catch a new duplicate of an
    old key: the rebuilt row and the old row sharing its key are both tested."""
    as_of = pipeline.parse_as_of("2026-05-11T00:00:00Z")
    assert pipeline.check_models(scratch_warehouse, "full-pass", as_of=as_of).passed
    _duplicate_a_response(scratch_warehouse, "interval 1 minute")
    with pytest.raises(DbtFailure, match="unique_fct_responses_post_id"):
        pipeline.build_models(scratch_warehouse, as_of, unit_tests=False, scoped_tests=True)


def test_scoped_data_tests_skip_rows_the_last_pass_covered(scratch_warehouse):
    """A row stamped before the last pass is not read again by the cycle's data tests
    (it passed then); a full build tests every row and finds the planted duplicate."""
    as_of = pipeline.parse_as_of("2026-05-11T00:00:00Z")
    assert pipeline.check_models(scratch_warehouse, "full-pass", as_of=as_of).passed
    _duplicate_a_response(scratch_warehouse, "interval 0 minute")
    pipeline.build_models(scratch_warehouse, as_of, unit_tests=False, scoped_tests=True)
    with pytest.raises(DbtFailure, match="unique_fct_responses_post_id"):
        pipeline.build_models(scratch_warehouse, as_of, unit_tests=False)


def _duplicate_a_raw_post(warehouse, load_id: str | None) -> None:
    """Insert a second raw.posts row for an existing post, under `load_id` (None:
    the load id of the post it copies)."""
    with warehouse.connect() as con:
        con.execute(
            "insert into raw.posts select * replace "
            "(coalesce(?, _dlt_load_id) as _dlt_load_id) "
            "from raw.posts where post_id = (select min(post_id) from raw.posts)",
            [load_id],
        )


def test_the_cycle_tests_staging_posts_loaded_since_the_last_pass(scratch_warehouse):
    """Staging carries no build stamp: the cycle's data tests take the posts loaded
    after the last pass (dlt's load id), with every post sharing their key. A
    duplicate loaded now fails; one from an earlier load is left to full builds."""
    as_of = pipeline.parse_as_of("2026-05-11T00:00:00Z")
    assert pipeline.check_models(scratch_warehouse, "full-pass", as_of=as_of).passed
    _duplicate_a_raw_post(scratch_warehouse, load_id=None)
    pipeline.build_models(scratch_warehouse, as_of, unit_tests=False, scoped_tests=True)
    with pytest.raises(DbtFailure, match="unique_combination_of_columns_stg_social__posts"):
        pipeline.build_models(scratch_warehouse, as_of, unit_tests=False)

    _duplicate_a_raw_post(scratch_warehouse, load_id=f"{time.time():.7f}")
    with pytest.raises(DbtFailure, match="unique_combination_of_columns_stg_social__posts"):
        pipeline.build_models(scratch_warehouse, as_of, unit_tests=False, scoped_tests=True)


def test_every_stamped_model_documents_its_stamp(scratch_warehouse):
    """The cycle's data tests find a model's build stamp (or load id) among its
    documented columns (dbt/macros/test_scope.sql): an undocumented stamp would
    quietly make its tests read every row on every cycle."""
    documented: dict[str, set[str]] = {}
    for models_file in (PROJECT_ROOT / "dbt" / "models").glob("*/_*models.yml"):
        for model in yaml.safe_load(models_file.read_text()).get("models", []):
            documented[model["name"]] = {c["name"] for c in model.get("columns", [])}
    with scratch_warehouse.connect() as con:
        stamped = con.execute(
            "select table_name, list(column_name) from information_schema.columns "
            "where table_schema in ('staging', 'intermediate', 'marts') "
            "and column_name in ('built_at', 'load_id') group by table_name"
        ).fetchall()
    assert len(stamped) >= 10
    undocumented = {
        table: sorted(set(columns) - documented.get(table, set())) for table, columns in stamped
    }
    assert {table: c for table, c in undocumented.items() if c} == {}


def _not_null_columns(con, table: str) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "select column_name from duckdb_columns() where schema_name = 'marts' "
            "and table_name = ? and not is_nullable",
            [table],
        ).fetchall()
    }


def test_an_incremental_mart_built_before_its_constraints_gains_them(scratch_warehouse):
    """A contract constrains the table dbt creates; an incremental mart created
    before a column's not-null constraint (an upgrade) gains it at the next run,
    so a null is refused from then on, and a stored null fails that run."""
    as_of = pipeline.parse_as_of("2026-05-11T00:00:00Z")
    with scratch_warehouse.connect() as con:
        declared = _not_null_columns(con, "fct_responses")
        assert {"post_id", "case_id", "address_form"} <= declared
        for column in ("case_id", "address_form"):
            con.execute(f"alter table marts.fct_responses alter column {column} drop not null")
    pipeline.build_models(scratch_warehouse, as_of, unit_tests=False, scoped_tests=True)
    with scratch_warehouse.connect() as con:
        assert _not_null_columns(con, "fct_responses") == declared
        with pytest.raises(duckdb.ConstraintException, match="address_form"):
            con.execute("update marts.fct_responses set address_form = null where true")
        con.execute("alter table marts.fct_responses alter column address_form drop not null")
        con.execute(
            "update marts.fct_responses set address_form = null "
            "where post_id = (select min(post_id) from marts.fct_responses)"
        )
    with pytest.raises(DbtFailure, match=r"fct_responses: .*address_form"):
        pipeline.build_models(scratch_warehouse, as_of, unit_tests=False, scoped_tests=True)


def test_a_null_in_a_reporting_column_stops_the_build(scratch_warehouse):
    """The reporting tables' not-null columns are contract constraints: DuckDB refuses
    the rows at build time, so the build fails and nothing downstream is published."""
    as_of = pipeline.parse_as_of("2026-05-11T00:00:00Z")
    with scratch_warehouse.connect() as con:
        case_id = con.sql("select min(case_id) from intermediate.int_cases_responded").fetchone()[0]
        con.execute(
            "update intermediate.int_cases_responded set customer_key = null where case_id = ?",
            [case_id],
        )
        # a pending case is recomputed by every cycle (the clock may breach it)
        con.execute(
            "update marts.fct_complaints set sla_status = 'pending' where case_id = ?", [case_id]
        )
    with pytest.raises(DbtFailure, match=r"fct_complaints: .*NOT NULL constraint failed"):
        pipeline.build_models(scratch_warehouse, as_of, unit_tests=False, scoped_tests=True)

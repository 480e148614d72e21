"""The scheduled cycle's dbt build in a worker process: it builds with the project it
parsed while the run started, scopes the data tests as an in-process build does, and
reports dbt's failures as dbt failures."""

from __future__ import annotations

import pytest

from carewatch import pipeline
from carewatch.build_worker import BuildWorker, BuildWorkerFailed
from carewatch.transform import DbtFailure

AS_OF = pipeline.parse_as_of("2026-05-11T00:00:00Z")


def _counts(warehouse) -> tuple:
    with warehouse.connect() as con:
        return con.sql(
            "select (select count(*) from marts.fct_complaints), "
            "(select count(*) from marts.fct_responses), (select count(*) from marts.sla_daily)"
        ).fetchone()


def test_the_worker_builds_the_warehouse_it_was_started_for(scratch_warehouse):
    before = _counts(scratch_warehouse)
    with BuildWorker(scratch_warehouse.directory) as worker:
        # the run holds the warehouse meanwhile: the worker's parse never opens it
        with scratch_warehouse.connect() as con:
            con.execute("select 1")
        outcome = pipeline.build_in_worker(worker, AS_OF, unit_tests=False, scoped_tests=True)
    assert outcome.passed > 50 and outcome.failed == []
    assert _counts(scratch_warehouse) == before  # no new posts: the same cases
    assert worker.process.returncode == 0


def test_a_failing_data_test_in_the_worker_is_a_dbt_failure(scratch_warehouse):
    assert pipeline.check_models(scratch_warehouse, "full-pass", as_of=AS_OF).passed
    with scratch_warehouse.connect() as con:
        # a duplicate stamped after the last pass: the cycle's scoped tests read it
        con.execute(
            "insert into marts.fct_responses select * replace "
            "(built_at + interval 1 minute as built_at) from marts.fct_responses "
            "where post_id = (select min(post_id) from marts.fct_responses)"
        )
    with (
        BuildWorker(scratch_warehouse.directory) as worker,
        pytest.raises(DbtFailure, match="unique_fct_responses_post_id"),
    ):
        pipeline.build_in_worker(worker, AS_OF, unit_tests=False, scoped_tests=True)


def test_a_worker_that_cannot_build_says_why_and_an_unused_one_ends_quietly(tmp_path):
    not_a_directory = tmp_path / "warehouse"
    not_a_directory.write_text("a file where the warehouse directory should be")
    with BuildWorker(not_a_directory) as worker, pytest.raises(BuildWorkerFailed) as failure:
        worker.build(AS_OF, full_refresh=False, unit_tests=False, scoped_tests=True)
    assert "exited with 1" in str(failure.value)
    assert "FileExistsError" in str(failure.value)  # the worker's own error

    unused = BuildWorker(tmp_path)
    unused.close()  # a run that failed before its build: end of input, a clean exit
    assert unused.process.returncode == 0

"""The scheduled cycle's checks in a worker process: the same findings as in the run's
own process, read-only beside the staged publish, and clear when it cannot check."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from carewatch import pipeline
from carewatch.check_worker import CheckWorker, CheckWorkerFailed
from carewatch.checks import validate_models

AS_OF = pipeline.parse_as_of("2026-05-11T00:00:00Z")


def _findings(validation) -> list[tuple]:
    return sorted(
        (r.table, r.expectation, r.column or "", r.passed, r.observed, r.severity)
        for r in validation.results
    )


def test_the_worker_finds_what_the_run_finds_while_the_publish_is_staged(
    scratch_warehouse, tmp_path
):
    with scratch_warehouse.connect() as con:
        con.execute(
            "update marts.fct_complaints set sla_status = 'met' where case_id in "
            "(select case_id from marts.fct_complaints where sla_status = 'breached' limit 2)"
        )
        in_process = validate_models(con, as_of=AS_OF)
    published_before = scratch_warehouse.reporting_path.read_bytes()

    # as the flow does: the staged publish and the worker both read the warehouse
    with CheckWorker() as worker, ThreadPoolExecutor(max_workers=1) as pool:
        staged = pool.submit(
            pipeline.stage_publish, scratch_warehouse, "worker-run", AS_OF, read_only=True
        )
        validation = pipeline.validate_in_worker(
            worker, scratch_warehouse, as_of=AS_OF, config_path=None
        )
        staged = staged.result()
    try:
        assert _findings(validation) == _findings(in_process)
        assert validation.newest is not None and validation.changed_since is None
        report = pipeline.record_validation(
            scratch_warehouse, "worker-run", validation, site_dir=tmp_path / "site"
        )
    finally:
        staged.discard()

    assert not report.passed
    assert {f.column for f in report.failures} == {"sla_status_consistent"}
    with scratch_warehouse.connect() as con:
        recorded = con.sql(
            "select count(*), count(*) filter (not passed) from audit.check_results "
            "where run_id = 'worker-run'"
        ).fetchone()
    assert recorded == (len(validation.results), len(report.failures) + len(report.warnings))
    assert "worker-run" in (tmp_path / "site" / "quality" / "index.html").read_text()
    assert scratch_warehouse.reporting_path.read_bytes() == published_before
    assert not [p for p in scratch_warehouse.directory.iterdir() if p.name.endswith(".tmp")]


def test_a_worker_that_cannot_check_says_why_and_an_unused_one_ends_quietly(tmp_path):
    with CheckWorker() as worker, pytest.raises(CheckWorkerFailed) as failure:
        worker.validate(
            tmp_path / "missing" / "carewatch.duckdb",
            as_of=AS_OF,
            config_path=None,
            changed_only=True,
        )
    assert "exited with 1" in str(failure.value)
    assert "missing" in str(failure.value)  # the worker's own error names the file

    unused = CheckWorker()
    unused.close()  # a run that failed before its checks: end of input, a clean exit
    assert unused.process.returncode == 0

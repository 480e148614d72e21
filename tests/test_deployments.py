"""Scheduled deployments on a real Prefect server: what `make serve` sets up.

A Prefect server on a free loopback port with a temporary PREFECT_HOME, the
`carewatch` process work pool, the deployments of prefect.yaml and a worker,
all started by carewatch.serve (the code behind `make serve`) and stopped by it
(`make stop`) at the end, also when a test fails. The server's scheduler is
off, so no scheduled run ever touches the project's own warehouse; the tests
trigger runs of `care-pipeline/every-15-min` against temporary warehouses.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from datetime import datetime

import duckdb
import pytest

from carewatch import serve
from tests.webhook import WebhookReceiver

pytestmark = pytest.mark.server

DEPLOYMENT = "care-pipeline/every-15-min"
DEMO = {"source": "demo", "demo_days": 14, "demo_size": 1500}
RUN_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    layout = serve.Layout(
        home=tmp_path_factory.mktemp("prefect_home"),
        port=serve.free_port(),
        extra_env={
            "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "CAREWATCH_WEBHOOK_URL": "",
        },
    )
    timings: dict[str, float] = {}
    started = []
    try:
        t0 = time.monotonic()
        started.append(serve.start_server(layout)["pid"])
        timings["server answering"] = serve.wait_for_server(layout)
        serve.prepare_server(layout)
        started.append(serve.start_worker(layout)["pid"])
        t1 = time.monotonic()
        serve.deploy(layout)
        timings["deploy"] = time.monotonic() - t1
        timings["setup total"] = time.monotonic() - t0
        yield layout, timings
    finally:
        serve.stop(layout)
        still_running = [pid for pid in started if serve._group_alive(pid)]
        print("\ntimings (s):", {k: round(v, 1) for k, v in timings.items()})
        assert still_running == [], f"process groups left running: {still_running}"


def _client(layout):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    class Session:
        def __enter__(self):
            self._settings = temporary_settings(updates={PREFECT_API_URL: layout.api_url})
            self._settings.__enter__()
            self._client = get_client(sync_client=True)
            return self._client.__enter__()

        def __exit__(self, *exc):
            self._client.__exit__(*exc)
            self._settings.__exit__(*exc)

    return Session()


def _trigger(client, job_variables: dict | None = None, **parameters):
    deployment = client.read_deployment_by_name(DEPLOYMENT)
    return client.create_flow_run_from_deployment(
        deployment.id, parameters=parameters, job_variables=job_variables
    ).id


def _run_logs(client, flow_run_id) -> list[str]:
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
    return [log.message for log in logs]


def _wait_until_final(
    layout, client, flow_run_ids, timeout_s=RUN_TIMEOUT_S, expect="Completed"
) -> dict:
    deadline = time.monotonic() + timeout_s
    runs = {}
    while time.monotonic() < deadline:
        runs = {i: client.read_flow_run(i) for i in flow_run_ids}
        if all(r.state and r.state.is_final() for r in runs.values()):
            break
        time.sleep(1)
    for run_id, run in runs.items():
        if not (run.state and run.state.name == expect):
            pytest.fail(
                f"flow run {run.name} ended {run.state and run.state.name}: "
                f"{run.state and run.state.message}\n--- run log:\n"
                + "\n".join(_run_logs(client, run_id)[-30:])
                + f"\n--- worker log:\n{serve._tail(layout.log_file('worker'), 30)}"
            )
    return runs


def _wait_for_artifact(client, flow_run_id, key: str, timeout_s: float = 30) -> list:
    deadline = time.monotonic() + timeout_s
    while True:
        artifacts = client.read_artifacts()
        found = [a for a in artifacts if a.flow_run_id == flow_run_id and a.key == key]
        if found or time.monotonic() > deadline:
            return artifacts
        time.sleep(0.5)


def _task_span(client, flow_run_id) -> tuple[datetime, datetime]:
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterFlowRunId

    tasks = client.read_task_runs(
        task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id]))
    )
    assert tasks, "the run has no task runs"
    return min(t.start_time for t in tasks), max(t.end_time for t in tasks)


@pytest.fixture(scope="module")
def first_run(served, tmp_path_factory):
    """One triggered run of every-15-min on small demo data, waited for."""
    layout, timings = served
    warehouse = tmp_path_factory.mktemp("scheduled") / "warehouse"
    with _client(layout) as client:
        started = time.monotonic()
        run_id = _trigger(client, warehouse_dir=str(warehouse), **DEMO)
        [run] = _wait_until_final(layout, client, [run_id]).values()
        timings["trigger to Completed (demo run)"] = time.monotonic() - started
    return warehouse, run


def test_a_triggered_run_builds_checks_and_publishes(served, first_run):
    warehouse, run = first_run
    assert run.state.is_completed()
    assert run.deployment_id is not None
    reporting = warehouse / "reporting.duckdb"
    con = duckdb.connect(str(reporting), read_only=True)
    try:
        tables = {
            r[0] for r in con.sql("select table_name from information_schema.tables").fetchall()
        }
        cases = con.sql("select count(*) from fct_complaints").fetchone()[0]
    finally:
        con.close()
    assert {"fct_complaints", "sla_daily", "share_of_voice_daily", "publish_info"} <= tables
    assert cases > 0


def test_every_deployment_of_prefect_yaml_is_on_the_carewatch_pool(served):
    layout, _ = served
    expected = {
        name
        for name, entrypoint in serve.deployment_entrypoints().items()
        if (serve.PROJECT_ROOT / entrypoint.split(":")[0]).is_file()
    }
    with _client(layout) as client:
        deployments = client.read_deployments()
    assert {d.name for d in deployments} == expected
    assert {d.work_pool_name for d in deployments} == {"carewatch"}
    by_name = {d.name: d for d in deployments}
    [schedule] = by_name["every-15-min"].schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("*/15 * * * *", "Europe/Berlin")
    assert by_name["nightly-rebuild"].parameters["full_refresh"] is True
    if "every-5-min" in by_name:  # one schedule per source; only enabled sources stay active
        collect = by_name["every-5-min"]
        assert {s.slug: s.parameters for s in collect.schedules} == {
            source: {"source": source} for source in ("x", "mastodon", "bluesky")
        }
        assert serve.sync_collect_schedules(layout, {"mastodon"}) == {
            "x": False,
            "mastodon": True,
            "bluesky": False,
        }
        with _client(layout) as client:
            schedules = client.read_deployment_schedules(collect.id)
        assert {s.slug: s.active for s in schedules} == {
            "x": False,
            "mastodon": True,
            "bluesky": False,
        }


def test_two_runs_at_once_take_turns_on_the_warehouse(served, first_run):
    layout, timings = served
    warehouse, _ = first_run
    with _client(layout) as client:
        started = time.monotonic()
        ids = [_trigger(client, warehouse_dir=str(warehouse)) for _ in range(2)]
        runs = _wait_until_final(layout, client, ids)
        timings["two concurrent runs to Completed"] = time.monotonic() - started
        spans = sorted((_task_span(client, i), runs[i]) for i in ids)
        (first_span, first), (second_span, second) = spans
        second_logs = _run_logs(client, second.id)

    assert first_span[1] <= second_span[0], (
        f"{first.name} wrote until {first_span[1]} but {second.name} started at {second_span[0]}"
    )
    waited = [m for m in second_logs if m.startswith("Warehouse lock taken after waiting")]
    assert waited, second_logs


def test_a_failing_check_in_a_deployment_run_sends_the_notice(served, first_run, tmp_path):
    layout, timings = served
    warehouse = tmp_path / "warehouse"
    shutil.copytree(first_run[0], warehouse)
    con = duckdb.connect(str(warehouse / "carewatch.duckdb"))
    try:  # a post reloaded without its author key (with a new load id, as dlt writes
        # it): the staging not_null test, which takes the posts loaded since the last
        # passing run, must stop the build
        con.execute(
            "update raw.posts set author_key = null, _dlt_load_id = ? "
            "where post_id = (select min(post_id) from raw.posts)",
            [f"{time.time():.7f}"],
        )
    finally:
        con.close()
    reporting = warehouse / "reporting.duckdb"
    before = hashlib.sha256(reporting.read_bytes()).hexdigest()

    with WebhookReceiver() as webhook, _client(layout) as client:
        started = time.monotonic()
        run_id = _trigger(
            client,
            job_variables={"env": {"CAREWATCH_WEBHOOK_URL": webhook.url}},
            warehouse_dir=str(warehouse),
        )
        [run] = _wait_until_final(layout, client, [run_id], expect="Failed").values()
        # the notice and its artifact come from the on_failure hook, which runs
        # after the run is already Failed: wait for the artifact
        artifacts = _wait_for_artifact(client, run.id, "care-pipeline-failure")
        timings["trigger to Failed + notice"] = time.monotonic() - started

    [message] = webhook.received
    body = message["body"]
    assert (body["flow"], body["flow_run"], body["state"]) == ("care-pipeline", run.name, "Failed")
    assert body["reason"] == "failed checks"
    assert any("not_null_stg_social__posts_author_key" in c for c in body["failed_checks"])
    assert body["url"].startswith(layout.ui_url)
    [artifact] = [
        a for a in artifacts if a.flow_run_id == run.id and a.key == "care-pipeline-failure"
    ]
    assert "not_null_stg_social__posts_author_key" in artifact.data
    assert hashlib.sha256(reporting.read_bytes()).hexdigest() == before

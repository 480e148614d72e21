"""Failure notice: a failed run writes a Prefect artifact and posts to the webhook."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from prefect import flow

from carewatch import pipeline
from carewatch.notify import notify_failure, webhook_url
from carewatch.pipeline import QualityGateFailed, Warehouse
from tests.webhook import WebhookReceiver

AS_OF = "2026-05-11T00:00:00Z"


@flow(name="quality-gate", on_failure=[notify_failure])
def quality_gate(warehouse_dir: str) -> str:
    """care_pipeline's gate (check, publish only on success) without the rebuild that
    would repair a mart broken on purpose."""
    warehouse = Warehouse(Path(warehouse_dir))
    report = pipeline.check_models(warehouse, "notify-run")
    if not report.passed:
        raise QualityGateFailed(report)
    return str(pipeline.publish(warehouse, "notify-run", pipeline.parse_as_of(AS_OF)))


@pytest.fixture
def webhook(monkeypatch):
    """The chat webhook, configured through CAREWATCH_WEBHOOK_URL."""
    with WebhookReceiver() as receiver:
        monkeypatch.setenv("CAREWATCH_WEBHOOK_URL", receiver.url)
        yield receiver.received


def _artifacts(flow_run_id, key: str) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
                key=ArtifactFilterKey(any_=[key]),
            )
        )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _break_first_response(warehouse: Warehouse) -> str:
    """Move one case's first response before its opening, as test_publish_gate does."""
    with warehouse.connect() as con:
        case_id = con.sql(
            "select case_id from marts.fct_complaints where first_response_at is not null limit 1"
        ).fetchone()[0]
        con.execute(
            "update marts.fct_complaints set first_response_at = opened_at - interval 1 hour "
            "where case_id = ?",
            [case_id],
        )
    return case_id


def test_a_failed_check_posts_the_webhook_and_writes_the_artifact(
    prefect_harness, scratch_warehouse, webhook
):
    case_id = _break_first_response(scratch_warehouse)
    before = _digest(scratch_warehouse.reporting_path)

    state = quality_gate(str(scratch_warehouse.directory), return_state=True)

    assert state.is_failed()
    flow_run_id = state.state_details.flow_run_id
    [message] = webhook
    assert message["content_type"] == "application/json"
    body = message["body"]
    assert body["flow"] == "quality-gate"
    assert body["flow_run_id"] == str(flow_run_id)
    assert body["state"] == "Failed"
    assert body["reason"] == "failed checks"
    assert "quality check(s) failed, nothing was published" in body["text"]
    [failed] = body["failed_checks"]
    assert "expect_column_pair_values_a_to_be_greater_than_b" in failed
    assert case_id in failed

    [artifact] = _artifacts(flow_run_id, "quality-gate-failure")
    assert artifact.type == "markdown"
    assert case_id in artifact.data
    assert "webhook: delivered to 127.0.0.1" in artifact.data
    assert _digest(scratch_warehouse.reporting_path) == before


def test_a_run_that_fails_its_retries_sends_the_notice(prefect_harness, tmp_path, webhook):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterFlowRunId

    from flows.care_pipeline import care_pipeline

    missing = tmp_path / "export-not-there.jsonl"
    state = care_pipeline(
        warehouse_dir=str(tmp_path / "warehouse"),
        source="jsonl",
        input_path=str(missing),
        return_state=True,
    )

    assert state.is_failed()
    flow_run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        [load] = [
            t
            for t in client.read_task_runs(
                task_run_filter=TaskRunFilter(
                    flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id])
                )
            )
            if t.name.startswith("load-jsonl")
        ]
    assert load.run_count == 3  # the first try and both retries
    [message] = webhook
    body = message["body"]
    assert body["flow"] == "care-pipeline"
    assert body["reason"] == "error"
    assert body["failed_checks"] == []
    assert "export-not-there.jsonl" in body["message"]
    [artifact] = _artifacts(flow_run_id, "care-pipeline-failure")
    assert "export-not-there.jsonl" in artifact.data
    assert not (tmp_path / "warehouse" / "reporting.duckdb").exists()


def test_without_a_webhook_the_artifact_says_so(prefect_harness, tmp_path, monkeypatch):
    monkeypatch.delenv("CAREWATCH_WEBHOOK_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no .dlt/secrets.toml here

    state = quality_gate(str(tmp_path / "empty-warehouse"), return_state=True)

    assert state.is_failed()
    [artifact] = _artifacts(state.state_details.flow_run_id, "quality-gate-failure")
    assert "webhook: none configured (set CAREWATCH_WEBHOOK_URL" in artifact.data


def test_an_unreachable_webhook_is_noted_and_the_run_stays_failed(
    prefect_harness, tmp_path, monkeypatch
):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("CAREWATCH_WEBHOOK_URL", f"http://127.0.0.1:{port}/hook")

    state = quality_gate(str(tmp_path / "empty-warehouse"), return_state=True)

    assert state.is_failed()
    [artifact] = _artifacts(state.state_details.flow_run_id, "quality-gate-failure")
    assert f"webhook: NOT delivered: 127.0.0.1:{port} unreachable" in artifact.data


def test_the_webhook_url_can_come_from_the_secrets_file(tmp_path, monkeypatch):
    monkeypatch.delenv("CAREWATCH_WEBHOOK_URL", raising=False)
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        '[carewatch]\ncustomer_key_secret = "x"\nwebhook_url = "https://chat.example/hook/abc"\n'
    )
    assert webhook_url(secrets) == "https://chat.example/hook/abc"
    monkeypatch.setenv("CAREWATCH_WEBHOOK_URL", "http://127.0.0.1:9/override")
    assert webhook_url(secrets) == "http://127.0.0.1:9/override"
    monkeypatch.delenv("CAREWATCH_WEBHOOK_URL")
    assert webhook_url(tmp_path / "absent.toml") is None

"""Failure notice: tell the care team when a run failed a check or gave up.

`notify_failure` is a Prefect flow hook (`on_failure=[notify_failure]`, also
fine for `on_crashed`). It runs after the flow run has entered Failed, that is
after a check stopped the publish (a Great Expectations expectation or a dbt
data test: a result, never retried) or after an I/O task used up its retries.
It

1. posts a short JSON message to a webhook, when one is configured: the
   environment variable `CAREWATCH_WEBHOOK_URL`, else `webhook_url` in the
   `[carewatch]` table of `.dlt/secrets.toml`. The body has a `text` field
   (what Slack, Mattermost and Teams incoming webhooks display) and the
   details as fields of their own;
2. writes a markdown artifact `<flow name>-failure` to the failed run: what
   failed, which checks, and whether the webhook took the message.

A notice never fails the run a second time: a webhook that is down is logged
and noted in the artifact.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from carewatch.privacy import SECRETS_FILE

WEBHOOK_ENV_VAR = "CAREWATCH_WEBHOOK_URL"
_TOML_KEY = "webhook_url"
TIMEOUT_SECONDS = 10
ATTEMPTS = 2

log = logging.getLogger(__name__)


def webhook_url(secrets_file: Path = SECRETS_FILE) -> str | None:
    """The configured webhook URL, or None when notices go to the artifact only."""
    value = os.environ.get(WEBHOOK_ENV_VAR)
    if value:
        return value.strip()
    if not secrets_file.is_file():
        return None
    import tomllib

    data = tomllib.loads(secrets_file.read_text(encoding="utf-8"))
    value = data.get("carewatch", {}).get(_TOML_KEY)
    return str(value).strip() if value else None


@dataclass
class FailureNotice:
    """What went wrong in one run, in the words a care lead needs."""

    flow: str
    flow_run: str
    flow_run_id: str
    state: str
    reason: str  # "failed checks", "error" or "crashed"
    message: str
    error_type: str | None = None
    failed_checks: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    url: str | None = None
    at: str = field(default_factory=lambda: datetime.now(tz=UTC).isoformat(timespec="seconds"))

    @property
    def headline(self) -> str:
        if self.failed_checks:
            what = f"{len(self.failed_checks)} quality check(s) failed, nothing was published"
        elif self.reason == "crashed":
            what = "the run crashed"
        else:
            what = f"the run failed ({self.error_type or 'error'})"
        return f"carewatch: {self.flow} run {self.flow_run} {self.state}: {what}"

    def payload(self) -> dict[str, Any]:
        text = self.headline
        if self.url:
            text += f" ({self.url})"
        return {
            "text": text,
            "flow": self.flow,
            "flow_run": self.flow_run,
            "flow_run_id": self.flow_run_id,
            "state": self.state,
            "reason": self.reason,
            "error_type": self.error_type,
            "failed_checks": self.failed_checks,
            "message": self.message[:1000],
            "url": self.url,
            "at": self.at,
        }

    def markdown(self, delivery: str) -> str:
        lines = [f"# {self.headline}", ""]
        if self.failed_checks:
            lines += ["## Failed checks", ""]
            lines += [f"- {check}" for check in self.failed_checks]
            lines += ["", "The reporting database still holds the last good publish.", ""]
        else:
            lines += ["## Error", "", "```", self.message[:4000], "```", ""]
        lines += [
            "## Run",
            "",
            f"- flow run: `{self.flow_run}` (`{self.flow_run_id}`), state {self.state}",
            f"- at: {self.at}",
        ]
        if self.parameters.get("warehouse_dir"):
            lines.append(f"- warehouse: `{self.parameters['warehouse_dir']}`")
        lines += [f"- webhook: {delivery}"]
        return "\n".join(lines)


def _exception_of(state) -> BaseException | None:
    try:
        result = state.result(raise_on_failure=False)
    except Exception:
        return None
    return result if isinstance(result, BaseException) else None


def failed_checks_of(exc: BaseException | None) -> list[str]:
    """The checks behind a failure: Great Expectations results of the quality gate,
    or the dbt data tests that stopped `dbt build` (both leave reporting untouched)."""
    from carewatch.pipeline import QualityGateFailed
    from carewatch.transform import DbtFailure

    if isinstance(exc, QualityGateFailed):
        return [f.describe() for f in exc.report.failures]
    if isinstance(exc, DbtFailure):
        # "dbt build failed on N node(s): name: message; name: message"
        _, found, nodes = str(exc).partition(" node(s): ")
        if found:
            return [
                f"dbt test {node.strip()}"
                for node in nodes.split("; ")
                if "configured to fail" in node  # dbt's wording for a failing data test
            ]
    return []


def notice_for(flow, flow_run, state) -> FailureNotice:
    """Build the notice from what a Prefect hook receives."""
    exc = _exception_of(state)
    failed_checks = failed_checks_of(exc)
    reason = "failed checks" if failed_checks else "crashed" if state.is_crashed() else "error"
    message = f"{type(exc).__name__}: {exc}" if exc is not None else state.message or state.name
    try:
        from prefect.utilities.urls import url_for

        url = url_for("flow-run", obj_id=flow_run.id)
    except Exception:
        url = None
    return FailureNotice(
        flow=flow.name,
        flow_run=flow_run.name,
        flow_run_id=str(flow_run.id),
        state=state.name or str(state.type),
        reason=reason,
        message=message,
        error_type=type(exc).__name__ if exc is not None else None,
        failed_checks=failed_checks,
        parameters=dict(flow_run.parameters or {}),
        url=url,
    )


def post_webhook(url: str, payload: dict[str, Any]) -> str:
    """POST the JSON; returns a one-line delivery status (never raises)."""
    host = urlsplit(url).netloc or "webhook"
    body = json.dumps(payload, default=str).encode("utf-8")
    error = "not attempted"
    for attempt in range(1, ATTEMPTS + 1):
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "carewatch-notify"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                return f"delivered to {host} (HTTP {response.status})"
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code} from {host}"
            if exc.code < 500:
                break
        except (urllib.error.URLError, OSError) as exc:
            error = f"{host} unreachable: {getattr(exc, 'reason', exc)}"
        if attempt < ATTEMPTS:
            time.sleep(2)
    return f"NOT delivered: {error}"


def _artifact_key(flow_name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", f"{flow_name}-failure".lower()).strip("-")


def write_artifact(notice: FailureNotice, delivery: str) -> None:
    """The markdown artifact on the failed run (by id: hooks may run outside its context)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import ArtifactCreate

    with get_client(sync_client=True) as client:
        client.create_artifact(
            ArtifactCreate(
                type="markdown",
                key=_artifact_key(notice.flow),
                description=notice.headline,
                flow_run_id=notice.flow_run_id,
                data=notice.markdown(delivery),
            )
        )


def _run_logger(flow, flow_run) -> logging.Logger | logging.LoggerAdapter:
    """The failed run's own logger, so the notice shows in its log in the UI."""
    try:
        from prefect.logging.loggers import flow_run_logger

        return flow_run_logger(flow_run, flow)
    except Exception:
        return log


def notify_failure(flow, flow_run, state) -> None:
    """Prefect `on_failure` / `on_crashed` hook: webhook (when configured), then artifact."""
    notice = notice_for(flow, flow_run, state)
    url = webhook_url()
    if url:
        delivery = post_webhook(url, notice.payload())
    else:
        delivery = f"none configured (set {WEBHOOK_ENV_VAR} or [carewatch] {_TOML_KEY})"
    _run_logger(flow, flow_run).warning("%s; webhook: %s", notice.headline, delivery)
    write_artifact(notice, delivery)

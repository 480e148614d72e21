"""What the API collectors share: a retrying HTTP client, the incremental pager,
fault records and the account statistics table.

Retries: a `429` waits for `Retry-After` (seconds or HTTP date), else for the
reset time in `x-rate-limit-reset` / `ratelimit-reset` (epoch seconds) or
`X-RateLimit-Reset` (ISO time, Mastodon); `5xx`, timeouts, dropped connections
and bodies that are not complete JSON are retried with exponential backoff.
Other `4xx` are not retried. `sleep` and `clock` are injectable, so tests run
the whole schedule without waiting.

Incremental cursors (in dlt resource state, one per query): every API here
pages newest-first, so a run reads from "now" back to the cursor of the last
complete run. The cursor only moves when a run has read every page down to it.
A run that stops early (a page failed after all retries, or `max_pages` was
reached) keeps the old cursor and records where it stopped (`pending`: the
token of the first page not read, and the newest marker seen); the next run
first finishes that gap from the stored token, then reads the new posts. So no
cursor ever passes a page that did not load, and merge on (platform, post_id)
makes the overlap harmless.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlencode

import dlt
import pyarrow as pa
import requests

from pipelines.loader import POSTS_TABLE, LoadSummary, raw_items

log = logging.getLogger("carewatch.collect")

ACCOUNT_STATS_TABLE = "account_stats_daily"
ACCOUNT_STATS_SCHEMA = pa.schema(
    [
        ("platform", pa.string()),
        ("account_handle", pa.string()),
        ("brand_key", pa.string()),
        ("day", pa.date32()),
        ("followers_count", pa.int64()),
        ("following_count", pa.int64()),
        ("listed_count", pa.int64()),
        ("post_count", pa.int64()),
        ("captured_at", pa.timestamp("us", tz="UTC")),
    ]
)
_RESET_HEADERS = ("x-rate-limit-reset", "ratelimit-reset", "x-ratelimit-reset")
_REMAINING_HEADERS = ("x-rate-limit-remaining", "ratelimit-remaining", "x-ratelimit-remaining")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    timeout: float = 30.0
    backoff_base: float = 1.0
    backoff_factor: float = 2.0
    backoff_max: float = 60.0
    max_rate_limit_wait: float = 900.0

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_max, self.backoff_base * self.backoff_factor ** (attempt - 1))


@dataclass(frozen=True)
class Fault:
    """One thing that went wrong talking to an API (retried or not)."""

    source: str
    kind: str  # rate_limited, server_error, timeout, connection, bad_body, client_error
    url: str
    status: int | None
    attempt: int
    detail: str
    wait_seconds: float | None  # None: not retried

    def __str__(self) -> str:
        status = f" HTTP {self.status}" if self.status else ""
        then = (
            f"retry in {self.wait_seconds:g} s" if self.wait_seconds is not None else "not retried"
        )
        return (
            f"{self.source}: {self.kind}{status} on {self.url} "
            f"(attempt {self.attempt}): {self.detail}; {then}"
        )


class RequestFailed(Exception):
    """A request that did not succeed within the retry policy; carries the last fault."""

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        super().__init__(str(fault))


@dataclass
class CollectStats:
    """What one collection run did; filled while dlt extracts, read afterwards."""

    source: str
    summary: LoadSummary = None  # type: ignore[assignment]
    pages: int = 0
    faults: list[Fault] = field(default_factory=list)
    queries: dict[str, str] = field(default_factory=dict)  # query -> outcome
    accounts: int = 0

    def __post_init__(self) -> None:
        if self.summary is None:
            self.summary = LoadSummary(source=self.source)

    def fault(self, fault: Fault) -> None:
        self.faults.append(fault)
        log.warning("%s", fault)


def _header(headers: Any, names: tuple[str, ...]) -> str | None:
    for name in names:
        value = headers.get(name)
        if value not in (None, ""):
            return str(value).strip()
    return None


def rate_limit_wait(headers: Any, now: float) -> float | None:
    """Seconds to wait before retrying a rate-limited request, from its headers."""
    retry_after = _header(headers, ("retry-after",))
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(retry_after)
                return max(0.0, when.timestamp() - now)
            except (TypeError, ValueError):
                pass
    reset = _header(headers, _RESET_HEADERS)
    if reset:
        try:
            value = float(reset)
        except ValueError:
            try:
                when = datetime.fromisoformat(reset.replace("Z", "+00:00"))
            except ValueError:
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, when.timestamp() - now) + 1.0
        # epoch seconds (X, Bluesky) or, when small, a delta (IETF RateLimit-Reset)
        return max(0.0, value - now) + 1.0 if value > 1e9 else max(0.0, value)
    return None


class RestClient:
    """GET/POST JSON with the retry policy; never logs headers (they carry tokens)."""

    def __init__(
        self,
        base_url: str,
        *,
        stats: CollectStats,
        headers: dict[str, str] | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.stats = stats
        self.policy = policy or RetryPolicy()
        self.sleep = sleep or time.sleep
        self.clock = clock or time.time
        self.session = session or requests.Session()
        self.session.headers.update({"User-Agent": "carewatch (+https://github.com/carewatch)"})
        if headers:
            self.session.headers.update(headers)
        self._resume_at = 0.0

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        url = (
            path
            if path.startswith(("http://", "https://"))
            else f"{self.base_url}/{path.lstrip('/')}"
        )
        return f"{url}?{urlencode(params, doseq=True)}" if params else url

    def get(
        self, path: str, params: dict[str, Any] | None = None, *, missing_ok: bool = False
    ) -> tuple[Any, Any]:
        """GET JSON; with `missing_ok` a 404 answers (None, headers) instead of failing."""
        return self._request("GET", path, params=params, missing_ok=missing_ok)

    def post(self, path: str, body: dict[str, Any]) -> tuple[Any, Any]:
        return self._request("POST", path, body=body)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        missing_ok: bool = False,
    ) -> tuple[Any, Any]:
        """(parsed JSON body, response headers), or RequestFailed."""
        url = self.url(path)
        shown = self.url(path, params)
        policy = self.policy
        for attempt in range(1, policy.max_attempts + 1):
            last = attempt == policy.max_attempts
            self._respect_quota(shown, attempt)
            fault = partial(Fault, self.stats.source, url=shown, attempt=attempt)
            try:
                response = self.session.request(
                    method, url, params=params, json=body, timeout=policy.timeout
                )
                content = response.content
            except requests.Timeout as exc:
                detail = f"no answer within {policy.timeout:g} s ({type(exc).__name__})"
                problem = fault(kind="timeout", status=None, detail=detail, wait_seconds=None)
            except requests.RequestException as exc:
                detail = f"{type(exc).__name__}: {exc}"
                problem = fault(kind="connection", status=None, detail=detail, wait_seconds=None)
            else:
                status = response.status_code
                if status == 429:
                    wait = rate_limit_wait(response.headers, self.clock())
                    wait = policy.backoff(attempt) if wait is None else wait
                    limited = partial(fault, kind="rate_limited", status=status)
                    if wait > policy.max_rate_limit_wait:
                        detail = (
                            f"reset in {wait:.0f} s is beyond max_rate_limit_wait_seconds "
                            f"({policy.max_rate_limit_wait:g})"
                        )
                        self._give_up(limited(detail=detail, wait_seconds=None))
                    if last:
                        self._give_up(limited(detail="still rate limited", wait_seconds=None))
                    self.stats.fault(limited(detail="rate limited", wait_seconds=wait))
                    self.sleep(wait)
                    continue
                if status == 404 and missing_ok:
                    return None, response.headers
                if status >= 500:
                    detail = response.reason or "server error"
                    problem = fault(
                        kind="server_error", status=status, detail=detail, wait_seconds=None
                    )
                elif status >= 400:
                    self._give_up(
                        fault(
                            kind="client_error",
                            status=status,
                            detail=_error_detail(content),
                            wait_seconds=None,
                        )
                    )
                else:
                    try:
                        payload = json.loads(content)
                    except ValueError as exc:
                        detail = f"body is not complete JSON ({len(content)} bytes: {exc})"
                        problem = fault(
                            kind="bad_body", status=status, detail=detail, wait_seconds=None
                        )
                    else:
                        self._note_quota(response.headers)
                        return payload, response.headers
            if last:
                self._give_up(problem)
            wait = policy.backoff(attempt)
            self.stats.fault(replace(problem, wait_seconds=wait))
            self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _give_up(self, fault: Fault) -> None:
        self.stats.fault(fault)
        raise RequestFailed(fault)

    def _note_quota(self, headers: Any) -> None:
        """When a response says the quota is used up, hold the next request until reset."""
        remaining = _header(headers, _REMAINING_HEADERS)
        if remaining not in ("0", "0.0"):
            return
        reset_headers = {k: v for k, v in headers.items() if k.lower() != "retry-after"}
        wait = rate_limit_wait({k.lower(): v for k, v in reset_headers.items()}, self.clock())
        if wait:
            self._resume_at = self.clock() + wait

    def _respect_quota(self, url: str, attempt: int) -> None:
        wait = self._resume_at - self.clock()
        if wait <= 0:
            return
        if wait > self.policy.max_rate_limit_wait:
            self._give_up(
                Fault(
                    self.stats.source,
                    "rate_limited",
                    url,
                    None,
                    attempt,
                    f"quota used up; reset in {wait:.0f} s is beyond max_rate_limit_wait_seconds",
                    None,
                )
            )
        log.info("%s: quota used up, waiting %.0f s for the reset", self.stats.source, wait)
        self.sleep(wait)
        self._resume_at = 0.0


def _error_detail(content: bytes) -> str:
    """A short, token-free description of an API error body."""
    try:
        body = json.loads(content)
    except ValueError:
        return content[:200].decode("utf-8", "replace")
    if isinstance(body, dict):
        for key in ("detail", "error_description", "message", "error", "title"):
            if isinstance(body.get(key), str):
                return body[key][:200]
    return json.dumps(body)[:200]


# --- the incremental pager ----------------------------------------------------


@dataclass
class Page:
    """One page of an API answer, already mapped to records."""

    records: list[Any]  # normalised post dicts, Rejected
    next_token: str | None  # the token (cursor, max_id, next_token) of the next page
    newest: str | None  # the newest cursor value on this page (id or timestamp)


Fetch = Callable[[str | None, str | None], Page]  # (page token, since) -> Page


def incremental_pages(
    cursor: dict[str, Any],
    fetch: Fetch,
    *,
    newer: Callable[[str | None, str | None], str | None],
    max_pages: int,
    stats: CollectStats,
    label: str,
) -> Iterator[Page]:
    """Pages of one query, newest first, moving `cursor` (a dict in dlt state) only
    over pages that loaded. See the module docstring for the cursor's life."""
    budget = [max_pages]

    def walk(since: str | None, token: str | None):
        newest = None
        while budget[0] > 0:
            try:
                page = fetch(token, since)
            except RequestFailed as exc:
                return "failed", token, newest, exc.fault
            budget[0] -= 1
            stats.pages += 1
            yield page
            newest = newer(newest, page.newest)
            if page.next_token and page.next_token == token:
                log.warning(
                    "%s: %s: the API sent the same page token again; stopping there",
                    stats.source,
                    label,
                )
                return "complete", None, newest, None
            token = page.next_token
            if not token:
                return "complete", None, newest, None
        return "limit", token, newest, None

    pending = cursor.get("pending")
    if pending:
        outcome, token, newest, fault = yield from walk(cursor.get("since"), pending["token"])
        newest = newer(pending.get("newest"), newest)
        if outcome == "complete":
            cursor["since"] = newer(cursor.get("since"), newest)
            cursor["pending"] = None
        elif (
            outcome == "failed"
            and token == pending["token"]
            and fault is not None
            and fault.kind == "client_error"
        ):
            # the API no longer accepts the stored token: re-read from the cursor
            # (merge makes the overlap harmless) and keep the newest marker seen
            log.warning(
                "%s: %s: stored page token refused; re-reading from the cursor", stats.source, label
            )
            cursor["pending"] = None
            pending_newest = newest
            outcome, token, newest, fault = yield from walk(cursor.get("since"), None)
            if outcome == "complete":
                cursor["since"] = newer(cursor.get("since"), newer(pending_newest, newest))
                stats.queries[label] = "complete"
            elif newest is not None or pending_newest is not None:
                cursor["pending"] = {"token": token, "newest": newer(pending_newest, newest)}
                stats.queries[label] = f"stopped ({outcome}); resumes next run"
            return
        else:
            cursor["pending"] = {"token": token, "newest": newest}
            stats.queries[label] = f"stopped ({outcome}) finishing an earlier gap; resumes next run"
            return
    since = cursor.get("since")
    outcome, token, newest, fault = yield from walk(since, None)
    if (
        outcome == "failed"
        and newest is None
        and since is not None
        and fault is not None
        and fault.kind == "client_error"
        and fault.status == 400
    ):
        # the API refuses the cursor itself (X: a since_id older than the search
        # window): read the query as far back as the API allows instead
        log.warning("%s: %s: cursor %s refused; reading without it", stats.source, label, since)
        cursor["since"] = since = None
        outcome, token, newest, fault = yield from walk(None, None)
    if outcome == "complete":
        cursor["since"] = newer(since, newest)
        stats.queries[label] = "complete"
    elif newest is None:
        stats.queries[label] = f"stopped ({outcome}) before the first page; cursor unchanged"
    else:
        cursor["pending"] = {"token": token, "newest": newest}
        stats.queries[label] = f"stopped ({outcome}); resumes next run"


def newer_id(a: str | None, b: str | None) -> str | None:
    """The larger of two numeric ids given as text (snowflakes, Mastodon ids)."""
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b, key=lambda v: (len(v), v))


def newer_time(a: str | None, b: str | None) -> str | None:
    """The later of two ISO timestamps (as text)."""
    if a is None:
        return b
    if b is None:
        return a

    def key(value: str) -> datetime:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return datetime.min.replace(tzinfo=UTC)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    return max(a, b, key=key)


# --- account statistics -------------------------------------------------------


def account_stats_row(
    platform: str,
    handle: str,
    brand_key: str | None,
    now: datetime,
    *,
    followers: Any,
    following: Any,
    listed: Any,
    posts: Any,
) -> dict[str, Any]:
    def count(value: Any) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return {
        "platform": platform,
        "account_handle": handle.lower(),
        "brand_key": brand_key,
        "day": now.astimezone(UTC).date(),
        "followers_count": count(followers),
        "following_count": count(following),
        "listed_count": count(listed),
        "post_count": count(posts),
        "captured_at": now,
    }


def account_stats_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=ACCOUNT_STATS_SCHEMA)


ACCOUNT_STATS_HINTS = {
    "name": ACCOUNT_STATS_TABLE,
    "primary_key": ("platform", "account_handle", "day"),
    # one snapshot per account and UTC day: a later run the same day replaces it
    "write_disposition": "merge",
}


__all__ = [
    "ACCOUNT_STATS_HINTS",
    "CollectStats",
    "Fault",
    "Page",
    "RequestFailed",
    "RestClient",
    "RetryPolicy",
    "account_stats_row",
    "account_stats_table",
    "incremental_pages",
    "newer_id",
    "newer_time",
    "rate_limit_wait",
]


def source_resources(
    records: Callable[[dict[str, Any]], Iterator[Any]],
    source: str,
    stats: Any,
    stats_rows: Callable[[], list[dict[str, Any]]] | None,
) -> list[Any]:
    """The resources every collector returns: posts (incremental, state-backed) and,
    when brand accounts are configured, their daily statistics snapshot."""

    @dlt.resource(name=POSTS_TABLE, primary_key=("platform", "post_id"), write_disposition="merge")
    def posts() -> Iterator[Any]:
        yield from raw_items(records(dlt.current.resource_state()), source, stats.summary)

    resources = [posts]
    if stats_rows is not None:

        @dlt.resource(**ACCOUNT_STATS_HINTS)
        def account_stats_daily() -> Iterator[Any]:
            rows = stats_rows()
            stats.accounts += len(rows)
            if rows:
                yield account_stats_table(rows)

        resources.append(account_stats_daily)
    return resources

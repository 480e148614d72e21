"""One writer at a time: the warehouse lock.

DuckDB lets one process open a database file for writing; a second writer
fails with "Could not set lock on file". Scheduled runs (collect every five
minutes, build every fifteen, the nightly rebuild) and a `carewatch run` typed
by hand can overlap, so every step that writes the warehouse runs inside
`warehouse_lock(directory)`. The second run waits, and says in its log whom it
is waiting for.

Two locks, taken in this order:

1. a Prefect global concurrency limit (`carewatch-warehouse`, one slot), when a
   Prefect server is configured (`PREFECT_API_URL`). It shows in the UI under
   Concurrency, and it serialises runs from workers on other hosts that share
   the warehouse folder. The limit is created on first use when missing.
2. an exclusive `flock` on `<warehouse>/.carewatch.lock`, always. It needs no
   server (ephemeral mode, `carewatch run`, tests), and the kernel releases it
   the moment its process dies, so a crashed run never leaves the warehouse
   locked. The file names its current holder, for the waiting run's log line.

The lock is re-entrant within one thread of execution: a step that is already
inside the lock for a folder may call another step that takes it again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOCK_FILE = ".carewatch.lock"
CONCURRENCY_LIMIT = "carewatch-warehouse"
# A lease the server renews while the holder lives; when a holder dies without
# releasing, the slot frees itself after this long.
LEASE_SECONDS = 300
POLL_SECONDS = 0.5

_held: ContextVar[frozenset[str]] = ContextVar("carewatch_warehouse_locks", default=frozenset())


class WarehouseBusy(TimeoutError):
    """Another run held the warehouse for longer than the caller wanted to wait."""


def _logger() -> logging.Logger | logging.LoggerAdapter:
    """The flow run's logger inside a run (so the line shows in the UI), else ours."""
    try:
        from prefect import get_run_logger

        return get_run_logger()
    except Exception:
        return logging.getLogger(__name__)


def _flow_run() -> tuple[str | None, str | None]:
    try:
        from prefect.runtime import flow_run

        return flow_run.get_id(), flow_run.get_name()
    except Exception:
        return None, None


def describe_holder(info: dict[str, Any]) -> str:
    """'flow run sassy-fox (id) pid 123 on host since ...' from the lock file's JSON."""
    who = (
        f"flow run {info.get('flow_run_name')} ({info.get('flow_run_id')})"
        if info.get("flow_run_id")
        else "a process outside Prefect"
    )
    return f"{who}, pid {info.get('pid')} on {info.get('host')}, since {info.get('since')}"


def current_holder(directory: Path) -> dict[str, Any] | None:
    """What the lock file says about the run holding the warehouse (None when free)."""
    path = Path(directory) / LOCK_FILE
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _busy_with(directory: Path) -> str | None:
    """Who holds the warehouse right now (None when it is free), without waiting."""
    path = directory / LOCK_FILE
    if not path.exists():
        return None
    with open(path, "a+", encoding="utf-8") as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = current_holder(directory)
            return describe_holder(holder) if holder else "another run"
        fcntl.flock(probe, fcntl.LOCK_UN)
    return None


@contextlib.contextmanager
def _file_lock(directory: Path, deadline: float | None) -> Iterator[None]:
    path = directory / LOCK_FILE
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the lock's lifetime)
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    holder = current_holder(directory)
                    raise WarehouseBusy(
                        f"warehouse {directory} is still locked (lock file {path}); "
                        f"the writing run is {describe_holder(holder) if holder else 'unknown'}"
                    ) from None
                time.sleep(POLL_SECONDS)
        run_id, run_name = _flow_run()
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps(
                {
                    "flow_run_id": run_id,
                    "flow_run_name": run_name,
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "since": datetime.now(tz=UTC).isoformat(timespec="seconds"),
                }
            )
        )
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()


def prefect_server_url() -> str | None:
    """The configured Prefect API URL, or None in ephemeral mode (no server)."""
    try:
        from prefect.settings import get_current_settings

        return get_current_settings().api.url
    except Exception:
        return None


def ensure_concurrency_limit(name: str = CONCURRENCY_LIMIT, limit: int = 1):
    """The global concurrency limit, created when the server does not have it yet."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            return client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with contextlib.suppress(ObjectAlreadyExists):
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=limit)
                )
            return client.read_global_concurrency_limit_by_name(name)


@contextlib.contextmanager
def _server_slot(timeout_seconds: float | None) -> Iterator[None]:
    from prefect.client.schemas.objects import ConcurrencyLeaseHolder
    from prefect.concurrency.sync import concurrency

    run_id, _ = _flow_run()
    holder = ConcurrencyLeaseHolder(type="flow_run", id=run_id) if run_id else None
    try:
        with concurrency(
            CONCURRENCY_LIMIT,
            occupy=1,
            timeout_seconds=timeout_seconds,
            lease_duration=LEASE_SECONDS,
            strict=True,
            holder=holder,
            raise_on_lease_renewal_failure=False,
        ):
            yield
    except TimeoutError as exc:
        raise WarehouseBusy(
            f"no free slot on concurrency limit {CONCURRENCY_LIMIT!r} within {timeout_seconds} s"
        ) from exc


@contextlib.contextmanager
def warehouse_lock(directory: str | Path, timeout_seconds: float | None = None) -> Iterator[None]:
    """Hold the warehouse in `directory` for writing; wait while another run holds it.

    `timeout_seconds=None` waits as long as it takes; otherwise `WarehouseBusy`
    (a TimeoutError) names the run that holds the lock.
    """
    directory = Path(directory).resolve()
    key = str(directory)
    held = _held.get()
    if key in held:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    log = _logger()
    use_server = prefect_server_url() is not None
    busy = _busy_with(directory)
    if use_server:
        limit = ensure_concurrency_limit()
        if not busy and limit.active_slots >= limit.limit:
            busy = f"another run ({limit.active_slots}/{limit.limit} slots taken)"
    if busy:
        log.info(
            "Warehouse %s is being written by %s; waiting for it (%s)",
            directory,
            busy,
            f"concurrency limit {CONCURRENCY_LIMIT!r}, then lock file {LOCK_FILE}"
            if use_server
            else f"lock file {LOCK_FILE}",
        )
    started = time.monotonic()
    deadline = None if timeout_seconds is None else started + timeout_seconds
    token = _held.set(held | {key})
    try:
        with contextlib.ExitStack() as stack:
            if use_server:
                stack.enter_context(_server_slot(timeout_seconds))
            stack.enter_context(_file_lock(directory, deadline))
            acquired = time.monotonic()
            log.info(
                "Warehouse lock taken%s: %s",
                f" after waiting {acquired - started:.1f} s"
                if busy or acquired - started > 1
                else "",
                directory,
            )
            try:
                yield
            finally:
                log.info(
                    "Warehouse lock released after %.1f s: %s",
                    time.monotonic() - acquired,
                    directory,
                )
    finally:
        _held.reset(token)

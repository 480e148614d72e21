"""The warehouse lock without a Prefect server: one writer at a time, per folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from carewatch import pipeline
from carewatch.locking import WarehouseBusy, current_holder, warehouse_lock

HOLDER = textwrap.dedent(
    """
    import logging, sys, time
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from carewatch.locking import warehouse_lock
    with warehouse_lock(sys.argv[1]):
        print("locked", time.time(), flush=True)
        time.sleep(float(sys.argv[2]))
        print("released", time.time(), flush=True)
    """
)


@pytest.fixture(autouse=True)
def no_prefect_server():
    """This process, too, has no Prefect API configured (whatever ran before in the session)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        yield


def _env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")  # ephemeral mode, no server
    return env


def _hold(tmp_path, directory, seconds: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(directory), str(seconds)],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stamp(process: subprocess.Popen, word: str) -> float:
    line = process.stdout.readline()
    assert line.startswith(word), (line, process.stderr.read() if process.poll() else "")
    return float(line.split()[1])


def test_a_second_writer_waits_until_the_first_is_done(tmp_path):
    warehouse = tmp_path / "warehouse"
    first = _hold(tmp_path, warehouse, 3)
    try:
        _stamp(first, "locked")
        second = _hold(tmp_path, warehouse, 0)
        second_locked = _stamp(second, "locked")
        first_released = _stamp(first, "released")
        second.wait(timeout=30)
    finally:
        first.kill()
    assert second_locked >= first_released
    assert "is being written by a process outside Prefect, pid" in second.stderr.read()


def test_a_busy_warehouse_names_its_writer_when_the_wait_times_out(tmp_path):
    warehouse = tmp_path / "warehouse"
    holder = _hold(tmp_path, warehouse, 30)
    try:
        _stamp(holder, "locked")
        assert current_holder(warehouse)["pid"] == holder.pid
        with (
            pytest.raises(WarehouseBusy, match=f"pid {holder.pid}"),
            warehouse_lock(warehouse, timeout_seconds=1),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_writer_leaves_the_warehouse_free(tmp_path):
    warehouse = tmp_path / "warehouse"
    holder = _hold(tmp_path, warehouse, 30)
    _stamp(holder, "locked")
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    started = time.monotonic()
    with warehouse_lock(warehouse, timeout_seconds=5):
        assert current_holder(warehouse)["pid"] == os.getpid()
    assert time.monotonic() - started < 2
    assert current_holder(warehouse) is None


def test_the_lock_is_reentrant_in_one_run_and_separate_per_folder(tmp_path):
    with warehouse_lock(tmp_path / "a", timeout_seconds=1):
        with warehouse_lock(tmp_path / "a", timeout_seconds=1):
            pass
        with warehouse_lock(tmp_path / "b", timeout_seconds=1):
            pass


def test_after_a_build_another_process_can_open_the_warehouse(scratch_warehouse):
    """dbt-duckdb keeps its DuckDB instance for the life of the process; the build
    closes it, so the next run's process can open the file as soon as this run has
    released the warehouse lock (not only when this process exits)."""
    as_of = pipeline.parse_as_of("2026-05-11T00:00:00Z")
    pipeline.build_models(scratch_warehouse, as_of, unit_tests=False)
    opened = subprocess.run(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; duckdb.connect(sys.argv[1]).close()",
            str(scratch_warehouse.path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert opened.returncode == 0, opened.stderr

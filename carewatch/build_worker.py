"""The scheduled cycle's dbt build, in a process of its own.

Importing dbt and reading its parsed project take ~2-3 s of Python before a build
can start. In the run's process that work shared the interpreter lock with the
run's own start (Prefect's API, the configuration sync, loading the new posts),
so the cycle paid for both one after the other. A worker started when the run
starts imports dbt and parses the project (`transform.parse_project`, which reads
only the project's files) on the other core meanwhile; when the run asks, it
builds with that manifest and answers with the outcome. dbt's failures come back
as `DbtFailure`, as from an in-process build.

Run as `python -m carewatch.build_worker WAREHOUSE_DIR`: one request (a JSON line)
on stdin, one answer on stdout (carewatch.worker_process).
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from carewatch.transform import DbtFailure, DbtOutcome
from carewatch.worker_process import WorkerFailed, WorkerProcess, serve_one


class BuildWorkerFailed(WorkerFailed):
    """The build worker ended without an answer; the message holds its error output."""


class BuildWorker(WorkerProcess):
    """A started build worker for one warehouse: `build` once, then `close`."""

    name = "build worker"
    failed = BuildWorkerFailed

    def __init__(self, warehouse_dir: Path) -> None:
        self.warehouse_dir = Path(warehouse_dir).resolve()
        super().__init__("carewatch.build_worker", str(self.warehouse_dir))

    @classmethod
    def prestart(cls, warehouse_dir: Path) -> None:
        """Start the worker for the next run on this warehouse now: `carewatch run`
        calls this before it imports Prefect and starts the flow (~2 s)."""
        if Path(warehouse_dir).resolve() not in _prestarted:
            worker = cls(warehouse_dir)
            _prestarted[worker.warehouse_dir] = worker

    @classmethod
    def for_warehouse(cls, warehouse_dir: Path) -> BuildWorker:
        """A worker pre-started for this warehouse, or a new one."""
        waiting = _prestarted.pop(Path(warehouse_dir).resolve(), None)
        return waiting or cls(warehouse_dir)

    def build(
        self, as_of: datetime, *, full_refresh: bool, unit_tests: bool, scoped_tests: bool
    ) -> DbtOutcome:
        answer = self.request(
            {
                "as_of": as_of.isoformat(),
                "full_refresh": full_refresh,
                "unit_tests": unit_tests,
                "scoped_tests": scoped_tests,
            }
        )
        if "dbt_failure" in answer:
            raise DbtFailure(answer["dbt_failure"])
        return DbtOutcome(**answer)


# the worker started ahead of its run (BuildWorker.prestart), per warehouse; an
# unused one ends when this process does (end of input)
_prestarted: dict[Path, BuildWorker] = {}


def build(warehouse_dir: Path, manifest: Any, request: dict[str, Any]) -> dict[str, Any]:
    from carewatch.pipeline import Warehouse, build_models

    try:
        outcome = build_models(
            Warehouse(warehouse_dir),
            datetime.fromisoformat(request["as_of"]),
            full_refresh=request["full_refresh"],
            unit_tests=request["unit_tests"],
            scoped_tests=request["scoped_tests"],
            manifest=manifest,
        )
    except DbtFailure as exc:
        return {"dbt_failure": str(exc)}
    return asdict(outcome)


if __name__ == "__main__":
    # the import and the parse first: they are the reason this process exists
    from carewatch.runtime import WAREHOUSE_FILE, configure_environment
    from carewatch.transform import parse_project

    configure_environment()
    directory = Path(sys.argv[1])
    serve_one(partial(build, directory, parse_project(directory / WAREHOUSE_FILE)))

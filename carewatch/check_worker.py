"""The scheduled cycle's quality checks, in a process of their own.

Importing Great Expectations takes about 2 s of Python. In the run's own process
that import (in a background thread, to overlap the build) and dbt's node
rendering took turns holding the interpreter lock: on a small warehouse the
build ran ~2 s longer beside it. A worker process started as the build starts
(carewatch.build_worker builds in a process of its own) imports Great
Expectations at a lower priority while dbt builds, then waits; once
the build is done it validates the marts through a read-only connection and
hands the results back as JSON. The run's process records them (the worker never
writes) and stages the publish meanwhile, also read-only, as DuckDB lets several
processes read a file only when none writes it.

Run as `python -m carewatch.check_worker`: one request (a JSON line) on stdin,
one result on stdout (carewatch.worker_process).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from carewatch.checks import Validation
from carewatch.worker_process import WorkerFailed, WorkerProcess, serve_one


class CheckWorkerFailed(WorkerFailed):
    """The check worker ended without a result; the message holds its error output."""


class CheckWorker(WorkerProcess):
    """A started check worker: `validate` once, then `close` (also when never used)."""

    name = "check worker"
    failed = CheckWorkerFailed

    def __init__(self) -> None:
        super().__init__("carewatch.check_worker")

    def validate(
        self,
        warehouse_path: Path,
        *,
        as_of: datetime,
        config_path: str | None,
        changed_only: bool,
    ) -> Validation:
        answer = self.request(
            {
                "warehouse": str(warehouse_path),
                "as_of": as_of.isoformat(),
                "config_path": config_path,
                "changed_only": changed_only,
            }
        )
        return Validation.from_dict(answer)


def validate(request: dict[str, Any]) -> dict[str, Any]:
    from carewatch.checks import validate_models
    from carewatch.config import load_config
    from carewatch.runtime import open_warehouse

    settings = load_config(request["config_path"]).quality
    with open_warehouse(Path(request["warehouse"]), read_only=True) as con:
        validation = validate_models(
            con,
            as_of=datetime.fromisoformat(request["as_of"]),
            settings=settings,
            changed_only=request["changed_only"],
        )
    return validation.as_dict()


if __name__ == "__main__":
    # the imports first: they are the reason this process exists. At a lower
    # priority: they only need to be done by the time the build is, and dbt's
    # build beside them is what the run waits for
    os.nice(10)
    from carewatch.runtime import configure_environment

    configure_environment()
    import great_expectations  # noqa: F401

    serve_one(validate)

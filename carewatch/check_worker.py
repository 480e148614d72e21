"""The scheduled cycle's quality checks, in a process of their own.

Importing Great Expectations takes about 2 s of Python. In the run's own process
that import (in a background thread, to overlap the build) and dbt's node
rendering took turns holding the interpreter lock: on a small warehouse the
build ran ~2 s longer beside it. A worker process started when the run starts
imports Great Expectations on the other core while dbt builds, then waits; once
the build is done it validates the marts through a read-only connection and
hands the results back as JSON. The run's process records them (the worker never
writes) and stages the publish meanwhile, also read-only, as DuckDB lets several
processes read a file only when none writes it.

Run as `python -m carewatch.check_worker`: one request (a JSON line) on stdin,
one result on stdout; end of input before a request (the run failed before its
checks) ends it quietly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from carewatch.checks import Validation


class CheckWorkerFailed(RuntimeError):
    """The worker process ended without a result; the message holds its error output."""


class CheckWorker:
    """A started worker: `validate` once, then `close` (also when never used)."""

    def __init__(self) -> None:
        # the worker's error output, read back only when it fails; closed by close()
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "carewatch.check_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )

    def __enter__(self) -> CheckWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def validate(
        self,
        warehouse_path: Path,
        *,
        as_of: datetime,
        config_path: str | None,
        changed_only: bool,
    ) -> Validation:
        request = {
            "warehouse": str(warehouse_path),
            "as_of": as_of.isoformat(),
            "config_path": config_path,
            "changed_only": changed_only,
        }
        output, _ = self.process.communicate(json.dumps(request) + "\n")
        if self.process.returncode != 0 or not output.strip():
            raise CheckWorkerFailed(
                f"the check worker exited with {self.process.returncode}: {self._errors()}"
            )
        return Validation.from_json(output.strip().splitlines()[-1])

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()  # no request: the worker ends on its own
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()

    def _errors(self) -> str:
        self._stderr.seek(0)
        lines = self._stderr.read().strip().splitlines()
        return "\n".join(lines[-20:]) or "no error output"


def main() -> int:
    # the imports first: they are the reason this process exists
    from carewatch.runtime import configure_environment

    configure_environment()
    import great_expectations  # noqa: F401

    from carewatch.checks import validate_models
    from carewatch.config import load_config
    from carewatch.runtime import open_warehouse

    line = sys.stdin.readline()
    if not line.strip():
        return 0
    request = json.loads(line)
    settings = load_config(request["config_path"]).quality
    with open_warehouse(Path(request["warehouse"]), read_only=True) as con:
        validation = validate_models(
            con,
            as_of=datetime.fromisoformat(request["as_of"]),
            settings=settings,
            changed_only=request["changed_only"],
        )
    sys.stdout.write(validation.as_json() + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    # skip the interpreter's teardown of GX's and pandas' objects (as the CLI does)
    code = main()
    sys.stdout.flush()
    os._exit(code)

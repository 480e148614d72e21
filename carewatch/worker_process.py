"""A helper process of the scheduled cycle: started early, it does its slow imports
on the other core while the run goes on, then answers one request.

The parent writes one JSON line to the worker's stdin and reads one JSON line back
(`WorkerProcess.request`); end of input before a request (the run failed first)
ends the worker quietly. The worker's error output goes to a temporary file that
is read back only when it fails. carewatch.build_worker and carewatch.check_worker
are the two workers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from typing import Any, Self


class WorkerFailed(RuntimeError):
    """The worker process ended without a result; the message holds its error output."""


class WorkerProcess:
    """A started worker (`python -m <module> <args>`): `request` once, then `close`
    (also when never used)."""

    name = "worker"
    failed: type[WorkerFailed] = WorkerFailed  # what `request` raises when it ends

    def __init__(self, module: str, *args: str) -> None:
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        output, _ = self.process.communicate(json.dumps(payload) + "\n")
        if self.process.returncode != 0 or not output.strip():
            raise self.failed(
                f"the {self.name} exited with {self.process.returncode}: {self._errors()}"
            )
        return json.loads(output.strip().splitlines()[-1])

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


def serve_one(handle: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """The worker's side: read one request, answer it on the original stdout, and
    leave the process without the interpreter's teardown (as the CLI does). Anything
    the handler prints goes to the error output, so stdout carries only the answer."""
    answer = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    code = 0
    line = sys.stdin.readline()
    if line.strip():
        try:
            answer.write(json.dumps(handle(json.loads(line))) + "\n")
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
    answer.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

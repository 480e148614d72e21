"""The `carewatch` console script exits without tearing the interpreter down
(carewatch.cli.entry): exit codes, output, threads and exit handlers must be
exactly what a normal exit gives."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

CAREWATCH = Path(sys.executable).with_name("carewatch")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CAREWATCH), *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def test_help_is_printed_whole_through_a_pipe():
    # stdout to a pipe is block-buffered: an exit without a flush would lose it
    done = run("--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: carewatch")
    assert "docs" in done.stdout and done.stdout.endswith("\n")


def test_usage_errors_keep_their_exit_code():
    done = run("no-such-command")
    assert done.returncode == 2
    assert "invalid choice" in done.stderr


def test_a_command_prints_its_results_and_its_exit_code_matches(scratch_warehouse):
    done = run("--warehouse", str(scratch_warehouse.directory), "checks")
    header, *results = done.stdout.splitlines()
    failed = int(re.search(r"(\d+) failed", header).group(1))
    assert done.returncode == (1 if failed else 0), done.stderr
    assert len(results) == int(re.search(r"(\d+) passed", header).group(1)) + failed


def test_missing_input_fails_with_a_message():
    done = run("run", "--skip-collect", "--input", "/nonexistent/posts.jsonl")
    assert done.returncode == 2
    assert "no such file" in done.stderr


def test_threads_and_exit_handlers_finish_before_the_process_ends(tmp_path):
    # Prefect's log and event workers drain through threading's exit hooks and
    # live in threads; the ephemeral server stops in an atexit handler
    script = tmp_path / "exit_probe.py"
    script.write_text(
        "import atexit, threading, time\n"
        "from carewatch.cli import _exit_without_teardown\n"
        "atexit.register(lambda: print('atexit handler ran', flush=True))\n"
        "threading._register_atexit(lambda: print('thread exit hook ran', flush=True))\n"
        "def slow():\n"
        "    time.sleep(0.3)\n"
        "    print('worker thread finished')\n"
        "threading.Thread(target=slow).start()\n"
        "print('buffered line')\n"
        "_exit_without_teardown(3)\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    lines = done.stdout.splitlines()
    assert "buffered line" in lines
    assert lines.index("thread exit hook ran") < lines.index("atexit handler ran")
    assert lines.index("worker thread finished") < lines.index("atexit handler ran")

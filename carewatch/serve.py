"""Run carewatch on a schedule: a local Prefect server, the `carewatch` work
pool, a worker, and the deployments of prefect.yaml.

    python -m carewatch.serve start [--port 4200]   # what `make serve` runs
    python -m carewatch.serve stop                  # what `make stop` runs
    python -m carewatch.serve status

`start` launches two background processes, each in a session of its own, with
their PIDs and logs under `.prefect/run/` (`server.pid`, `server.log`,
`worker.pid`, `worker.log`, `deploy.log`); it then creates the work pool and the
warehouse concurrency limit and runs `prefect deploy --all` without prompts.
Running it again reuses a server or worker that is still alive and deploys
again. `stop` signals exactly the process groups recorded in those PID files
(after checking that each PID is still the process that was started, not a
reused number): SIGTERM, then SIGKILL after a grace period. The worker's flow
runs are its children, so they end with it.

The served server keeps its own database (`.prefect/server.db`), apart from the
one ephemeral mode uses for `carewatch demo`/`run` (`.prefect/prefect.db`), so
the two never write one SQLite file at once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from carewatch.runtime import PROJECT_ROOT, QUIET_TELEMETRY

WORK_POOL = "carewatch"
WORKER_NAME = "carewatch-worker"
COLLECT_DEPLOYMENT = "every-5-min"
DEFAULT_PORT = 4200
DEFAULT_HOST = "127.0.0.1"
PREFECT_YAML = PROJECT_ROOT / "prefect.yaml"


def prefect_executable() -> str:
    """The `prefect` command of this virtual environment."""
    candidate = Path(sys.executable).with_name("prefect")
    return str(candidate) if candidate.exists() else "prefect"


@dataclass
class Layout:
    """Where one served Prefect lives: its home, its run folder, its address."""

    home: Path = PROJECT_ROOT / ".prefect"
    run_dir: Path | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.home = Path(self.home).resolve()
        self.run_dir = Path(self.run_dir).resolve() if self.run_dir else self.home / "run"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://{'localhost' if self.host == '127.0.0.1' else self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(QUIET_TELEMETRY)
        env.update(
            {
                "PREFECT_HOME": str(self.home),
                "PREFECT_API_URL": self.api_url,
                "PREFECT_SERVER_API_HOST": self.host,
                "PREFECT_SERVER_API_PORT": str(self.port),
                "PREFECT_SERVER_DATABASE_CONNECTION_URL": (
                    f"sqlite+aiosqlite:///{self.home / 'server.db'}"
                ),
                "PREFECT_UI_URL": self.ui_url,
                "PREFECT_CLI_PROMPT": "false",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.log"


# --- processes we started -------------------------------------------------------------------


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (tells a reused PID apart)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def _recorded(layout: Layout, name: str) -> dict | None:
    """The PID file's record if that very process is still alive, else None."""
    path = layout.pid_file(name)
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if _start_ticks(record["pid"]) != record.get("start_ticks"):
        return None
    return record


def _launch(layout: Layout, name: str, command: list[str]) -> dict:
    layout.run_dir.mkdir(parents=True, exist_ok=True)
    log = open(layout.log_file(name), "ab")  # noqa: SIM115 (the child keeps it)
    log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(command)}\n".encode())
    log.flush()
    # The child leads a session of its own: `stop` signals that whole process group.
    # `env --default-signal=INT` undoes an inherited "ignore SIGINT" (a background job
    # of a non-interactive shell), so the worker's SIGTERM -> SIGINT shutdown works.
    process = subprocess.Popen(
        ["env", "--default-signal=INT", *command],
        cwd=PROJECT_ROOT,
        env=layout.env(),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    record = {
        "api_url": layout.api_url,
        "pid": process.pid,
        "start_ticks": _start_ticks(process.pid),
        "command": command,
        "log": str(layout.log_file(name)),
    }
    layout.pid_file(name).write_text(json.dumps(record))
    return record


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = DEFAULT_HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_for_server(layout: Layout, timeout_s: float = 180) -> float:
    """Poll /api/health until the server answers; returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if _recorded(layout, "server") is None:
            raise RuntimeError(
                f"the Prefect server exited while starting; its log "
                f"{layout.log_file('server')} ends with:\n{_tail(layout.log_file('server'))}"
            )
        try:
            with urllib.request.urlopen(f"{layout.api_url}/health", timeout=5) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise TimeoutError(
        f"the Prefect server did not answer on {layout.api_url} within {timeout_s:.0f} s; "
        f"see {layout.log_file('server')}"
    )


def start_server(layout: Layout) -> dict:
    """Start `prefect server start` in the background unless ours is already running."""
    running = _recorded(layout, "server")
    if running:
        return running
    if not _port_free(layout.host, layout.port):
        raise RuntimeError(
            f"port {layout.port} on {layout.host} is in use by another program; "
            f"choose another with --port (make serve PREFECT_PORT=...)"
        )
    return _launch(
        layout,
        "server",
        [
            prefect_executable(),
            "server",
            "start",
            "--host",
            layout.host,
            "--port",
            str(layout.port),
        ],
    )


def start_worker(layout: Layout) -> dict:
    """Start a process worker polling the `carewatch` pool unless ours is already running."""
    running = _recorded(layout, "worker")
    if running:
        return running
    return _launch(
        layout,
        "worker",
        [
            prefect_executable(),
            "worker",
            "start",
            "--pool",
            WORK_POOL,
            "--type",
            "process",
            "--name",
            WORKER_NAME,
        ],
    )


def prepare_server(layout: Layout) -> None:
    """Create the work pool and the warehouse concurrency limit (idempotent)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.workers.process import ProcessWorker

    from carewatch.locking import ensure_concurrency_limit

    with temporary_settings(updates={PREFECT_API_URL: layout.api_url}):
        with get_client(sync_client=True) as client, contextlib.suppress(ObjectAlreadyExists):
            client.create_work_pool(
                WorkPoolCreate(
                    name=WORK_POOL,
                    type="process",
                    base_job_template=ProcessWorker.get_default_base_job_template(),
                    description="carewatch: collection, build/check/publish, reports",
                )
            )
        ensure_concurrency_limit()


def deployment_entrypoints(prefect_yaml: Path = PREFECT_YAML) -> dict[str, str]:
    """'flow-name/deployment' is unknown before loading the flow; map deployment name -> file."""
    import yaml

    spec = yaml.safe_load(prefect_yaml.read_text(encoding="utf-8"))
    return {d["name"]: d["entrypoint"] for d in spec.get("deployments", [])}


def deploy(layout: Layout, names: list[str] | None = None) -> str:
    """`prefect deploy --all` (or `--name` each of `names`) from the project root, no prompts.

    Deployments whose entrypoint file does not exist yet are left out with a
    warning instead of failing the others. Returns the command's output.
    """
    entrypoints = deployment_entrypoints()
    missing = sorted(
        name
        for name, entrypoint in entrypoints.items()
        if not (PROJECT_ROOT / entrypoint.split(":", 1)[0]).is_file()
    )
    selected = names or [name for name in entrypoints if name not in missing]
    command = [prefect_executable(), "--no-prompt", "deploy"]
    if names is None and not missing:
        command.append("--all")
    else:
        for name in selected:
            command += ["--name", name]
    for name in missing:
        if names is None or name in names:
            print(f"carewatch: not deploying {name!r}: {entrypoints[name]} does not exist yet")
    layout.run_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=layout.env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    layout.log_file("deploy").write_text(output)
    if result.returncode != 0:
        raise RuntimeError(
            f"prefect deploy failed (exit {result.returncode}); "
            f"{layout.log_file('deploy')} ends with:\n{_tail(layout.log_file('deploy'))}"
        )
    return output


def enabled_sources(config_path: Path | None = None) -> set[str]:
    """The collectors switched on in the brand configuration (`collection.<source>.enabled`)."""
    from carewatch.config import load_config

    collection = getattr(load_config(config_path), "collection", None)
    return set(getattr(collection, "enabled", ()) or ())


def sync_collect_schedules(layout: Layout, enabled: set[str]) -> dict[str, bool]:
    """Activate the collect schedule of each enabled source, pause the others.

    prefect.yaml has one schedule per supported source (its slug is the source);
    only the sources switched on in carewatch.yml should run every five minutes.
    Returns {source: active}.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
    from prefect.settings import PREFECT_API_URL, temporary_settings

    activity: dict[str, bool] = {}
    with (
        temporary_settings(updates={PREFECT_API_URL: layout.api_url}),
        get_client(sync_client=True) as client,
    ):
        deployments = client.read_deployments(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[COLLECT_DEPLOYMENT]))
        )
        for deployment in deployments:
            for schedule in client.read_deployment_schedules(deployment.id):
                source = schedule.slug or (schedule.parameters or {}).get("source")
                if not source:
                    continue
                active = source in enabled
                if schedule.active != active:
                    client.update_deployment_schedule(deployment.id, schedule.id, active=active)
                activity[source] = active
    return activity


def cancel_active_runs(api_url: str, timeout_s: float = 60) -> list[str]:
    """Cancel the pool's Pending/Running flow runs through the API and wait for them.

    A cancelled run unwinds properly: its warehouse lock and concurrency slot are
    released and it ends Cancelled, instead of staying Running in the UI with
    its slot held until the lease runs out. Returns the names of the runs.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        WorkPoolFilter,
        WorkPoolFilterName,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.states import Cancelling

    with (
        temporary_settings(updates={PREFECT_API_URL: api_url}),
        get_client(sync_client=True) as client,
    ):
        active = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(
                    type=FlowRunFilterStateType(any_=[StateType.RUNNING, StateType.PENDING])
                )
            ),
            work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[WORK_POOL])),
        )
        for run in active:
            client.set_flow_run_state(
                run.id, Cancelling(message="carewatch stopped (make stop)"), force=True
            )
        deadline = time.monotonic() + timeout_s
        pending = {run.id for run in active}
        while pending and time.monotonic() < deadline:
            time.sleep(0.5)
            pending = {i for i in pending if not client.read_flow_run(i).state.is_final()}
    return [run.name for run in active]


def _descendants(pid: int) -> list[tuple[int, int | None]]:
    """(pid, start ticks) of every process below `pid`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], list(children.get(pid, []))
    while stack:
        child = stack.pop()
        found.append((child, _start_ticks(child)))
        stack.extend(children.get(child, []))
    return found


def stop(layout: Layout, grace_s: float = 30) -> list[str]:
    """End the worker (with its flow runs), then the server, that `start` recorded.

    Flow runs still in progress are cancelled through the API first. The worker
    starts each flow run in a session of its own, so the run processes found
    below the worker are signalled too; nothing else is touched.
    """
    stopped = []
    worker, server = _recorded(layout, "worker"), _recorded(layout, "server")
    if worker and server:
        with contextlib.suppress(Exception):  # a server that no longer answers
            cancelled = cancel_active_runs(server.get("api_url", layout.api_url))
            if cancelled:
                stopped.append(f"cancelled flow runs {', '.join(cancelled)}")
    for name, record in (("worker", worker), ("server", server)):
        pid_file = layout.pid_file(name)
        if record is None:
            pid_file.unlink(missing_ok=True)
            continue
        pid = record["pid"]
        below = [(p, t) for p, t in _descendants(pid) if t is not None]
        groups = {pid} | {
            g for p, t in below if _start_ticks(p) == t and (g := _pgid_of(p)) is not None
        }
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(_group_alive(g) for g in groups):
            time.sleep(0.2)
        for group in groups:
            if _group_alive(group):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)
        stopped.append(f"{name} (pid {pid})")
    return stopped


def _pgid_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _group_alive(pgid: int) -> bool:
    """True while any process of the group exists (reaping our own dead child first)."""
    # not our child in the usual case (`make stop` runs in a new process)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pgid, os.WNOHANG)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def status(layout: Layout) -> dict[str, dict | None]:
    return {name: _recorded(layout, name) for name in ("server", "worker")}


def serve(layout: Layout) -> None:
    """Everything `make serve` does, printing what it did and where to look."""
    started = time.monotonic()
    server = start_server(layout)
    print(f"carewatch: Prefect server pid {server['pid']}, log {server['log']}")
    took = wait_for_server(layout)
    print(f"carewatch: server answering on {layout.api_url} after {took:.1f} s")
    prepare_server(layout)
    print(f"carewatch: work pool {WORK_POOL!r} and concurrency limit 'carewatch-warehouse' ready")
    worker = start_worker(layout)
    print(f"carewatch: worker pid {worker['pid']}, log {worker['log']}")
    deploy(layout)
    print(f"carewatch: deployed prefect.yaml (log {layout.log_file('deploy')})")
    activity = sync_collect_schedules(layout, enabled_sources())
    if activity:
        print(
            "carewatch: collection every 5 min: "
            + ", ".join(f"{source} {'on' if on else 'paused'}" for source, on in activity.items())
            + " (switch sources on in carewatch.yml `collection.<source>.enabled`, then "
            "`make serve` again)"
        )
    print(f"carewatch: ready in {time.monotonic() - started:.0f} s; UI at {layout.ui_url}")
    print("carewatch: stop with `make stop`")


def _layout(args: argparse.Namespace) -> Layout:
    return Layout(
        home=args.home, run_dir=args.run_dir, host=args.host, port=args.port or DEFAULT_PORT
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m carewatch.serve",
        description="Run carewatch on a schedule with a local Prefect server and worker.",
    )
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("CAREWATCH_PREFECT_PORT") or DEFAULT_PORT),
        help="port of the Prefect API and UI (default 4200, or $CAREWATCH_PREFECT_PORT)",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on")
    parser.add_argument(
        "--home",
        type=Path,
        default=Path(os.environ.get("PREFECT_HOME") or PROJECT_ROOT / ".prefect"),
        help="Prefect home of the server (default $PREFECT_HOME, else .prefect/ in the project)",
    )
    parser.add_argument(
        "--run-dir", type=Path, default=None, help="PID and log folder (default HOME/run)"
    )
    args = parser.parse_args(argv)
    layout = _layout(args)
    if args.command == "start":
        try:
            serve(layout)
        except (RuntimeError, TimeoutError) as exc:
            print(f"carewatch: {exc}", file=sys.stderr)
            print("carewatch: run `make stop` to end what was started", file=sys.stderr)
            return 1
        return 0
    if args.command == "stop":
        stopped = stop(layout)
        print("carewatch: stopped " + (", ".join(stopped) if stopped else "nothing (not running)"))
        return 0
    for name, record in status(layout).items():
        print(f"{name}: " + (f"running, pid {record['pid']}" if record else "not running"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

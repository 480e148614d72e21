"""`make bench`: the pipeline against the plain-SQL floor (issue 7).

For each size (default 1M and 5M posts) it generates the demo scenario as a
JSONL file in the normalised format (cached under <workdir>/data), then, in a
fresh warehouse and a child process per size, times each phase (startup,
config, load, build, checks, publish) and samples the peak RSS of the child's
process tree. It runs benchmarks/floor.sql on the same file (in-memory DuckDB)
and compares the floor's numbers with the published reporting database. Then:
the fixed cost of a cycle with no new data (`carewatch run --skip-collect`,
ephemeral Prefect and against a Prefect server on a free loopback port), and an
incremental cycle (1% new posts appended to the largest warehouse: new cases,
late replies to old ones) compared with a full rebuild of the same data.

Writes benchmarks/results/latest.json and prints a table. Usage:

    .venv/bin/python benchmarks/bench.py [--sizes 1000000 5000000] [--keep]
        [--workdir benchmarks/work] [--skip-server] [--days 365]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from carewatch.runtime import QUIET_TELEMETRY, configure_environment  # noqa: E402

configure_environment()

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_FILE = BENCH_DIR / "results" / "latest.json"
START = date(2025, 9, 1)
SEED = 42
TINY_SIZE = 1_000  # a warehouse whose cycle costs only the fixed part
INCREMENT_SHARE = 0.01
FLOOR_RUNS = 3
# no-new-data cycles per fixed cost (ephemeral and against a server); their median counts
FIXED_RUNS = 3
BENCH_SECRET = "carewatch-bench-not-a-secret"
STEPS = ("config", "load", "build", "checks", "publish")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# progress lines of the children count from the parent's start
os.environ.setdefault("CAREWATCH_BENCH_STARTED", repr(time.time()))
T0 = float(os.environ["CAREWATCH_BENCH_STARTED"])


def say(message: str) -> None:
    print(f"[{time.time() - T0:7.1f} s] {message}", flush=True)


# --- processes: wall time and peak RSS of the process tree ----------------------------------


def _tree_rss_bytes(root: int) -> int:
    """Resident memory of `root` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * PAGE_SIZE
        except (OSError, IndexError, ValueError):
            pass
        stack.extend(children.get(pid, []))
    return total


@dataclass
class Measured:
    command: list[str]
    seconds: float
    returncode: int
    peak_rss_mb: float
    log: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_measured(
    command: list[str],
    env: dict[str, str],
    log: Path,
    *,
    cwd: Path = ROOT,
    show_output: bool = False,
    interval_s: float = 0.2,
) -> Measured:
    """Run `command`, sampling its process tree's RSS; stderr (and stdout unless
    show_output) go to `log`. Peak = max(sampled tree sum, the kernel's maxrss)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    # Write back what earlier steps left in the page cache: otherwise the first fsync
    # of the measured run (a DuckDB checkpoint) waits for the previous run's writes
    # (up to ~0.6 s after a 5M build), which a scheduled cycle 15 minutes later never
    # does.
    os.sync()
    with log.open("ab") as sink:
        sink.write(f"\n--- {datetime.now():%Y-%m-%d %H:%M:%S} {' '.join(command)}\n".encode())
        sink.flush()
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=None if show_output else sink,
            stderr=sink,
        )
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _tree_rss_bytes(process.pid))
                done.wait(interval_s)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
    peak_bytes = max(peak[0], usage.ru_maxrss * 1024)
    return Measured(command, seconds, process.returncode, peak_bytes / 2**20, log)


def base_env(workdir: Path) -> dict[str, str]:
    """The children's environment: quiet, ephemeral Prefect home of the bench, a fixed
    customer-key secret (nothing read from or written to .dlt/secrets.toml)."""
    env = dict(os.environ)
    env.update(QUIET_TELEMETRY)
    env.pop("PREFECT_API_URL", None)
    env.update(
        {
            "PREFECT_HOME": str(workdir / "prefect-home"),
            "CAREWATCH__CUSTOMER_KEY_SECRET": BENCH_SECRET,
            "CAREWATCH_WEBHOOK_URL": "",
            "RUNTIME__LOG_LEVEL": "ERROR",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def warehouse_env(env: dict[str, str], warehouse: Path) -> dict[str, str]:
    """dbt's target and logs beside each warehouse (never the project's dbt/target), so
    partial parsing stays warm for the cycles on one warehouse, as in production."""
    return {
        **env,
        "DBT_TARGET_PATH": str(warehouse / "dbt-target"),
        "DBT_LOG_PATH": str(warehouse / "dbt-logs"),
    }


# --- data ------------------------------------------------------------------------------------


def ensure_posts(config, data_dir: Path, size: int, seed: int, days: int) -> Path:
    """The demo scenario as normalised JSONL, generated once per (size, seed, start, days)."""
    from pipelines.demo_data import iter_demo_posts

    path = data_dir / f"posts-{size}-seed{seed}-{START.isoformat()}-{days}d.jsonl"
    if path.is_file():
        say(f"data {path.name}: cached ({path.stat().st_size / 2**20:.0f} MB)")
        return path
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    started = time.perf_counter()
    count = 0
    with partial.open("w", encoding="utf-8") as handle:
        for post in iter_demo_posts(config, seed=seed, start=START, days=days, size=size):
            handle.write(json.dumps(post, ensure_ascii=False) + "\n")
            count += 1
            if count % 500_000 == 0:
                say(f"  generating {path.name}: {count:,} posts")
    partial.replace(path)
    say(f"data {path.name}: {count:,} posts in {time.perf_counter() - started:.1f} s")
    return path


def _prefixed(value: str | None, prefix: str) -> str | None:
    return None if value is None else prefix + value


def make_increment(
    config,
    base: Path,
    reporting: Path,
    out: Path,
    *,
    count: int,
    seed: int,
    days: int,
    as_of: datetime,
) -> dict[str, int]:
    """`count` new posts for the largest warehouse: 70% new conversations over the last
    7 days (another seed, ids prefixed so they never collide), 20% late support replies
    and 10% late customer replies to existing customers' opening posts (a mix of
    unanswered and answered cases from the whole period), all before `as_of`."""
    import duckdb

    from pipelines.demo_data import iter_demo_posts

    rng = random.Random(seed)
    new_count = int(count * 0.7)
    support_count = int(count * 0.2)
    customer_count = count - new_count - support_count
    posts: list[dict] = []
    for post in iter_demo_posts(
        config, seed=seed + 1_000, start=START + timedelta(days=days - 7), days=7, size=new_count
    ):
        post["post_id"] = "n" + post["post_id"]
        post["parent_post_id"] = _prefixed(post["parent_post_id"], "n")
        post["conversation_id"] = _prefixed(post["conversation_id"], "n")
        posts.append(post)

    con = duckdb.connect()
    con.execute(f"attach '{reporting}' as published (read_only)")
    targets = con.execute(
        """with picked as (
               select opening_post_id, brand, opened_at, first_response_at is null as unanswered
               from published.main.fct_complaints
               where opened_at < ? - interval 1 hour
               order by md5(opening_post_id || ?)
               limit ?)
           select picked.opening_post_id, picked.brand, picked.opened_at, picked.unanswered,
                  posts.author_handle
           from picked
           inner join read_json(?, format = 'newline_delimited',
                                columns = {post_id: 'varchar', author_handle: 'varchar'}) as posts
               on posts.post_id = picked.opening_post_id
           order by picked.opening_post_id""",
        [as_of, str(seed), support_count + customer_count, str(base)],
    ).fetchall()
    con.close()
    brands = {b.key: b for b in config.brands}
    late_support = late_customer = 0
    for index, (post_id, brand_key, opened_at, _unanswered, customer) in enumerate(targets):
        brand = brands[brand_key]
        handle = brand.support_handles[0]
        english = brand.timezone.startswith("America/")
        earliest = max(opened_at + timedelta(seconds=30), as_of - timedelta(days=3))
        moment = earliest + (as_of - timedelta(minutes=1) - earliest) * rng.random()
        moment = moment.replace(microsecond=0)
        if index < support_count:
            text = (
                f"@{customer} Sorry for the late reply, please send us a DM. -BN"
                if english
                else f"@{customer} Entschuldigung für die späte Antwort, bitte schicken Sie "
                "uns eine DM. ^BN"
            )
            author, mentions = handle, [customer.lower()]
            late_support += 1
        else:
            text = (
                f"@{handle} still not working, nobody answered"
                if english
                else f"@{handle} Immer noch kein Netz, keiner antwortet 😡"
            )
            author, mentions = customer, [handle.lower()]
            late_customer += 1
        posts.append(
            {
                "platform": "demo",
                "post_id": f"late{index:07d}",
                "author_handle": author,
                "created_at": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "text": text,
                "language": "en" if english else "de",
                "parent_post_id": post_id,
                "conversation_id": None,
                "mentioned_handles": mentions,
            }
        )
    with out.open("w", encoding="utf-8") as handle:
        for post in posts:
            handle.write(json.dumps(post, ensure_ascii=False) + "\n")
    return {
        "posts": len(posts),
        "new_conversation_posts": len(posts) - late_support - late_customer,
        "late_support_replies": late_support,
        "late_customer_replies": late_customer,
    }


# --- children ----------------------------------------------------------------------------------


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# "12 of 157 OK created sql table model marts.sla_daily ..... [OK in 1.29s]" in dbt.log
_DBT_NODE_LINE = re.compile(
    r"\d+ of \d+ (?:OK|PASS|FAIL|WARN|ERROR)(?P<what>[^\[]*?)[\s.]*\[\w+ in (?P<s>[\d.]+)s\]"
)


def _slowest_dbt_nodes(limit: int = 12) -> dict[str, Any]:
    """Per-node times of the last dbt invocation, from its log (the cycle does not
    write run_results.json, and the bench measures it as it runs in production)."""
    log_file = Path(os.environ.get("DBT_LOG_PATH", ROOT / "dbt" / "logs")) / "dbt.log"
    try:
        text = log_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    last_run = text[text.rfind("Running with dbt=") :]
    nodes: list[tuple[str, str, float]] = []
    for match in _DBT_NODE_LINE.finditer(last_run):
        words = match["what"].split()
        kind = next((k for k in ("model", "seed", "unit_test") if k in words), "test")
        nodes.append((kind, words[-1].rsplit(".", 1)[-1], float(match["s"])))
    nodes.sort(key=lambda node: -node[2])
    by_kind: dict[str, float] = {}
    for kind, _, seconds in nodes:
        by_kind[kind] = by_kind.get(kind, 0.0) + seconds
    return {
        "nodes": len(nodes),
        "seconds_by_kind": {k: round(v, 2) for k, v in by_kind.items()},
        "slowest": [[name, round(seconds, 2)] for _, name, seconds in nodes[:limit]],
    }


def child_pipeline(args: argparse.Namespace) -> int:
    """The pipeline's phases on one warehouse, in this process; JSON to --out."""
    from carewatch import pipeline
    from carewatch.config import load_config

    steps = [s for s in args.steps.split(",") if s]
    config = load_config()
    warehouse = pipeline.Warehouse(Path(args.warehouse))
    as_of = pipeline.parse_as_of(args.as_of)
    run_id = pipeline.new_run_id()
    stage_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stage-publish")
    result: dict[str, Any] = {"phases": {}, "rss_after_mb": {}, "ok": True}
    label = args.label or warehouse.directory.name

    def timed(name: str, action) -> Any:
        started = time.perf_counter()
        value = action()
        seconds = time.perf_counter() - started
        result["phases"][name] = seconds
        result["rss_after_mb"][name] = round(_rss_mb(), 1)
        say(
            f"  {label}: {name} {seconds:.1f} s (peak RSS of the process so far {_rss_mb():.0f} MB)"
        )
        return value

    try:
        if "config" in steps:
            timed("config", lambda: pipeline.sync_config(config, warehouse))
        if "load" in steps:
            summary = timed("load", lambda: pipeline.load_jsonl(Path(args.data), warehouse))
            result["loaded"] = summary.loaded
            result["quarantined"] = summary.quarantined
        if "build" in steps:
            timed(
                "build",
                lambda: pipeline.build_models(warehouse, as_of, full_refresh=args.full_refresh),
            )
            result["dbt"] = _slowest_dbt_nodes()
        # as in the flow, the reporting file is staged while the checks run; "publish"
        # is the time it adds after them (waiting for the staging, then the swap)
        stager = (
            stage_pool.submit(pipeline.stage_publish, warehouse, run_id, as_of)
            if "publish" in steps
            else None
        )
        if "checks" in steps:
            report = timed(
                "checks",
                lambda: pipeline.check_models(
                    warehouse, run_id, as_of=as_of, site_dir=warehouse.directory / "site"
                ),
            )
            result["checks_passed"] = report.passed
            result["checks"] = len(report.results)
            if not report.passed:
                result["ok"] = False
                result["check_failures"] = [f.describe() for f in report.failures][:20]
        if stager is not None and result["ok"]:
            timed("publish", lambda: pipeline.commit_publish(warehouse, stager.result()))
        elif stager is not None:
            stager.result().discard()
    except Exception as exc:  # reported to the parent, which carries on with other sizes
        result["ok"] = False
        result["error"] = f"{type(exc).__name__}: {exc}"[:4000]
        say(f"  {label}: FAILED {result['error'][:500]}")
    finally:
        stage_pool.shutdown()
    Path(args.out).write_text(json.dumps(result, indent=2, default=str))
    return 0 if result["ok"] else 1


def child_floor(args: argparse.Namespace) -> int:
    """floor.sql on the posts file(s) in in-memory DuckDBs (median of FLOOR_RUNS runs);
    the last run is compared with --reporting."""
    import duckdb

    from benchmarks.floor import compare_with_reporting, run_floor
    from carewatch.config import load_config

    # The floor takes seconds, so one slow moment of the machine moves it by 10-30%
    # (8.4 to 10.8 s at 5M between runs) and the marginal ratio with it: it runs
    # FLOOR_RUNS times, each in a fresh database, and counts the median.
    runs: list[float] = []
    for _ in range(FLOOR_RUNS):
        con = duckdb.connect()
        run = run_floor(con, load_config(), [Path(p) for p in args.data])
        runs.append(run.seconds)
        if len(runs) < FLOOR_RUNS:
            con.close()
    result: dict[str, Any] = {
        "seconds": statistics.median(runs),
        "runs_s": [round(s, 3) for s in runs],
        "statements": [[name, round(s, 3)] for name, s in run.statement_s],
        "cases": run.cases,
        "sla_rows": run.sla_rows,
        "rss_mb": round(_rss_mb(), 1),
    }
    label = args.label or "floor"
    say(
        f"  {label}: floor {result['seconds']:.2f} s (median of "
        f"{', '.join(f'{s:.2f}' for s in runs)}), {run.cases:,} cases ({_rss_mb():.0f} MB)"
    )
    if args.reporting:
        comparisons = compare_with_reporting(con, Path(args.reporting))
        result["comparisons"] = [c.as_dict() for c in comparisons]
        result["matches"] = all(c.equal for c in comparisons)
        for c in comparisons:
            say(
                f"  {label}: floor vs pipeline {c.name}: {c.left_rows:,} vs {c.right_rows:,} rows, "
                f"{c.mismatches} mismatching"
            )
    Path(args.out).write_text(json.dumps(result, indent=2, default=str))
    return 0


# --- comparisons of two warehouses -------------------------------------------------------------


def compare_warehouses(left: Path, right: Path) -> dict[str, Any]:
    """marts tables of two warehouses, every column, keyed (floats within 1e-9)."""
    import duckdb

    from benchmarks.floor import compare_relations

    tables = {
        "fct_complaints": ("case_id",),
        "sla_daily": ("brand", "day"),
        "fct_responses": ("post_id",),
        "fct_follow_ups": ("follow_up_id",),
        "share_of_voice_daily": ("brand", "day"),
    }
    from carewatch.publish import BUILD_STAMP_COLUMNS

    con = duckdb.connect()
    con.execute(f"attach '{left}' as lw (read_only)")
    con.execute(f"attach '{right}' as rw (read_only)")
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="carewatch-compare-") as scratch:
        for table, keys in tables.items():
            columns = con.execute(
                """select column_name, data_type from information_schema.columns
                   where table_catalog = 'lw' and table_schema = 'marts' and table_name = ?
                   order by ordinal_position""",
                [table],
            ).fetchall()
            # build stamps say when a row was computed, not what it says
            names = [c for c, _ in columns if c not in BUILD_STAMP_COLUMNS]
            floats = {c for c, t in columns if t in ("DOUBLE", "FLOAT", "REAL")}
            values = [c for c in names if c not in keys]
            select = ", ".join(f'"{c}"' for c in names)
            sides = [
                _readable(con, alias, path, table, select, Path(scratch))
                for alias, path in (("lw", left), ("rw", right))
            ]
            comparison = compare_relations(con, table, *sides, keys, values, float_columns=floats)
            out[table] = comparison.as_dict()
    con.close()
    return out


def _readable(con, alias: str, path: Path, table: str, select: str, scratch: Path) -> str:
    """A relation for `alias`.marts.`table`. A view names its own catalog, which an
    attached file under another alias does not have: it is read through its file
    (its rows go to a Parquet file first)."""
    import duckdb

    kind = con.execute(
        "select table_type from information_schema.tables "
        "where table_catalog = ? and table_schema = 'marts' and table_name = ?",
        [alias, table],
    ).fetchone()
    if kind is None or kind[0] != "VIEW":
        return f"select {select} from {alias}.marts.{table}"
    out = scratch / f"{alias}-{table}.parquet"
    own = duckdb.connect(str(path), read_only=True)
    try:
        own.execute(f"copy (select {select} from marts.{table}) to '{out}' (format parquet)")
    finally:
        own.close()
    return f"select * from read_parquet('{out}')"


# --- the parent --------------------------------------------------------------------------------


def _child_command(kind: str, *extra: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--child", kind, *extra]


def carewatch_command(*args: str) -> list[str]:
    executable = Path(sys.executable).with_name("carewatch")
    if executable.exists():
        return [str(executable), *args]
    return [sys.executable, "-m", "carewatch.cli", *args]


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    versions = {}
    for package in ("duckdb", "dbt-core", "dbt-duckdb", "dlt", "prefect", "great-expectations"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    info["versions"] = versions
    info.update(code_state())
    return info


def code_state() -> dict[str, Any]:
    """The commit and a fingerprint of uncommitted changes to the code the bench runs."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        code = ["carewatch", "pipelines", "flows", "dbt"]
        trees = subprocess.run(
            ["git", "rev-parse", *(f"HEAD:{d}" for d in code)],
            cwd=ROOT,
            capture_output=True,
        ).stdout
        diff = subprocess.run(
            ["git", "diff", "HEAD", "--", *code], cwd=ROOT, capture_output=True
        ).stdout
        porcelain = subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True
        ).stdout
    except OSError:
        return {}
    import hashlib

    return {
        "git_commit": commit,
        "git_uncommitted_files": len(porcelain.splitlines()),
        # committed code trees plus uncommitted changes to them (README edits don't count)
        "code_sha1": hashlib.sha1(trees + diff).hexdigest()[:12],
    }


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        from carewatch.config import load_config
        from carewatch.pipeline import demo_as_of

        self.args = args
        self.workdir = Path(args.workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.logs = self.workdir / "logs"
        self.config = load_config()
        self.as_of = demo_as_of(START, args.days)
        self.as_of_iso = self.as_of.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.env = base_env(self.workdir)
        self.cli_cwd = self.workdir / "cli"  # `carewatch run` writes site/ below its cwd
        self.cli_cwd.mkdir(exist_ok=True)
        self.sizes = sorted(set(args.sizes))
        self.warehouses: dict[int, Path] = {}
        self.data: dict[int, Path] = {}
        self.tiny_warehouse: Path | None = None
        self.result: dict[str, Any] = {
            "timestamp": datetime.now(tz=UTC).isoformat(timespec="seconds"),
            "machine": machine_info(),
            "scenario": {"start": START.isoformat(), "days": args.days, "seed": args.seed},
            "as_of": self.as_of_iso,
            "sizes": self.sizes,
            "total_s": {},
            "floor_s": {},
            "peak_rss_mb": {},
            "floor_peak_rss_mb": {},
            "phases": {},
            "phase_share": {},
            "dbt": {},
            "floor_statements": {},
            "floor_details": {},
            "errors": [],
        }

    # pieces

    def pipeline_child(
        self, label: str, warehouse: Path, data: Path | None, steps: str, *, full_refresh=False
    ) -> tuple[Measured, dict[str, Any]]:
        out = self.workdir / f"child-{label}.json"
        out.unlink(missing_ok=True)
        command = _child_command(
            "pipeline",
            "--warehouse",
            str(warehouse),
            "--as-of",
            self.as_of_iso,
            "--steps",
            steps,
            "--out",
            str(out),
            "--label",
            label,
        )
        if data is not None:
            command += ["--data", str(data)]
        if full_refresh:
            command.append("--full-refresh")
        measured = run_measured(
            command,
            warehouse_env(self.env, warehouse),
            self.logs / f"{label}.log",
            show_output=True,
        )
        payload = json.loads(out.read_text()) if out.is_file() else {"ok": False}
        if not measured.ok or not payload.get("ok"):
            self.result["errors"].append(
                f"{label}: exit {measured.returncode}: "
                f"{payload.get('error') or payload.get('check_failures') or measured.log}"
            )
        return measured, payload

    def floor_child(self, label: str, data: list[Path], reporting: Path | None) -> dict[str, Any]:
        out = self.workdir / f"floor-{label}.json"
        out.unlink(missing_ok=True)
        command = _child_command(
            "floor", "--out", str(out), "--label", label, "--data", *map(str, data)
        )
        if reporting is not None and reporting.is_file():
            command += ["--reporting", str(reporting)]
        measured = run_measured(
            command, self.env, self.logs / f"floor-{label}.log", show_output=True
        )
        payload = json.loads(out.read_text()) if out.is_file() else {}
        payload["peak_rss_mb"] = round(measured.peak_rss_mb, 1)
        payload["process_s"] = round(measured.seconds, 2)
        if not measured.ok:
            self.result["errors"].append(f"floor {label}: exit {measured.returncode}")
        return payload

    def cli(self, label: str, warehouse: Path, *args: str, env: dict | None = None) -> Measured:
        command = carewatch_command("--warehouse", str(warehouse), *args)
        measured = run_measured(
            command,
            warehouse_env(env or self.env, warehouse),
            self.logs / f"{label}.log",
            cwd=self.cli_cwd,
        )
        status = "ok" if measured.ok else f"FAILED (exit {measured.returncode}, see {measured.log})"
        say(
            f"  {label}: `carewatch {' '.join(args[:1])}` {measured.seconds:.1f} s, "
            f"peak RSS {measured.peak_rss_mb:.0f} MB, {status}"
        )
        if not measured.ok:
            self.result["errors"].append(f"{label}: exit {measured.returncode}, log {measured.log}")
        return measured

    def run_cycle(
        self, label: str, warehouse: Path, *extra: str, env: dict | None = None
    ) -> Measured:
        return self.cli(
            label, warehouse, "run", "--skip-collect", "--as-of", self.as_of_iso, *extra, env=env
        )

    # stages

    def tiny(self) -> None:
        """A 1,000-post warehouse: warms Prefect's ephemeral home, and its cycle is the
        pure fixed cost (start-up, dbt parse, Prefect) with almost no data."""
        say(f"tiny warehouse ({TINY_SIZE:,} posts): fixed cost without data")
        data = ensure_posts(
            self.config, self.workdir / "data", TINY_SIZE, self.args.seed, self.args.days
        )
        warehouse = self.fresh_warehouse("tiny")
        self.pipeline_child("tiny", warehouse, data, ",".join(STEPS))
        cold = self.run_cycle("tiny-cycle-cold", warehouse)
        warm = self.median_cycle("tiny-cycle-warm", warehouse)
        self.tiny_warehouse = warehouse
        self.result["fixed_tiny"] = {
            "ephemeral_cold_s": round(cold.seconds, 2),
            "ephemeral_s": warm["median_s"],
            "ephemeral_runs_s": warm["runs_s"],
        }

    def median_cycle(self, label: str, warehouse: Path, env: dict | None = None) -> dict[str, Any]:
        """FIXED_RUNS cycles with no new data, and their median: like the floor, a
        cycle of seconds moves by 1-2 s with the machine (13.3 to 16.3 s ephemeral)."""
        runs = [
            self.run_cycle(f"{label}-{n}", warehouse, env=env) for n in range(1, FIXED_RUNS + 1)
        ]
        seconds = [run.seconds for run in runs if run.ok]
        return {
            "median_s": round(statistics.median(seconds), 2) if seconds else None,
            "runs_s": [round(run.seconds, 2) for run in runs],
        }

    def fresh_warehouse(self, name: str) -> Path:
        path = self.workdir / f"wh-{name}"
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return path

    def size(self, size: int) -> None:
        key = str(size)
        data = ensure_posts(
            self.config, self.workdir / "data", size, self.args.seed, self.args.days
        )
        self.data[size] = data
        warehouse = self.fresh_warehouse(str(size))
        self.warehouses[size] = warehouse
        say(f"size {size:,}: pipeline (child process) on {data.name}")
        measured, payload = self.pipeline_child(str(size), warehouse, data, ",".join(STEPS))
        phases = {"startup": 0.0, **{k: round(v, 2) for k, v in payload.get("phases", {}).items()}}
        phases["startup"] = round(measured.seconds - sum(payload.get("phases", {}).values()), 2)
        self.result["total_s"][key] = round(measured.seconds, 2)
        self.result["peak_rss_mb"][key] = round(measured.peak_rss_mb, 1)
        self.result["phases"][key] = phases
        self.result["phase_share"][key] = {
            k: round(v / measured.seconds, 3) for k, v in phases.items()
        }
        self.result["dbt"][key] = payload.get("dbt", {})
        if payload.get("loaded") is not None:
            self.result.setdefault("posts_loaded", {})[key] = payload["loaded"]
        say(
            f"size {size:,}: pipeline {measured.seconds:.1f} s, peak RSS "
            f"{measured.peak_rss_mb:.0f} MB; floor (child process)"
        )
        floor = self.floor_child(str(size), [data], warehouse / "reporting.duckdb")
        self.result["floor_s"][key] = round(floor.get("seconds", float("nan")), 3)
        self.result["floor_peak_rss_mb"][key] = floor.get("peak_rss_mb")
        self.result["floor_statements"][key] = floor.get("statements")
        self.result["floor_details"][key] = {
            "matches": floor.get("matches", False),
            "cases": floor.get("cases"),
            "comparisons": floor.get("comparisons"),
        }

    def fixed(self) -> None:
        smallest = self.sizes[0]
        warehouse = self.warehouses.get(smallest)
        if warehouse is None or not (warehouse / "reporting.duckdb").is_file():
            self.result["errors"].append("fixed cost: no published warehouse of the smallest size")
            return
        # The fixed cost is what a cycle costs whatever the data (start-up, imports, dbt
        # parse and node overhead, Prefect): a cycle with no new data on the tiny
        # warehouse. The same cycle on the smallest full-size warehouse is reported
        # beside it (`no_new_data_cycle`): it adds what a cycle still rescans.
        tiny = self.tiny_warehouse
        if tiny is not None and "fixed_tiny" in self.result:
            self.result["fixed_s_ephemeral"] = self.result["fixed_tiny"]["ephemeral_s"]
            self.result["fixed_s_size"] = TINY_SIZE
        say(f"no-new-data cycle on the {smallest:,} warehouse (ephemeral)")
        ephemeral = self.run_cycle(f"no-new-data-ephemeral-{smallest}", warehouse)
        cycle = self.result["no_new_data_cycle"] = {
            "size": smallest,
            "ephemeral_s": round(ephemeral.seconds, 2),
            "ephemeral_peak_rss_mb": round(ephemeral.peak_rss_mb, 1),
        }
        if self.args.skip_server:
            self.result["fixed_s_server"] = None
            return
        from carewatch import serve

        home = self.workdir / "prefect-server"
        if home.exists():
            shutil.rmtree(home)
        home.mkdir(parents=True)
        layout = serve.Layout(
            home=home,
            port=serve.free_port(),
            extra_env={
                "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
                "CAREWATCH_WEBHOOK_URL": "",
            },
        )
        say(f"fixed cost: starting a Prefect server on {layout.api_url} (home {home})")
        try:
            started = time.perf_counter()
            serve.start_server(layout)
            serve.wait_for_server(layout)
            self.result["server_start_s"] = round(time.perf_counter() - started, 2)
            say(f"  server answering after {self.result['server_start_s']:.1f} s")
            env = {**self.env, "PREFECT_API_URL": layout.api_url, "PREFECT_HOME": str(home)}
            if tiny is not None and "fixed_tiny" in self.result:
                first = self.run_cycle("tiny-cycle-server-first", tiny, env=env)
                warm = self.median_cycle("tiny-cycle-server", tiny, env=env)
                self.result["fixed_tiny"]["server_first_s"] = round(first.seconds, 2)
                self.result["fixed_tiny"]["server_s"] = warm["median_s"]
                self.result["fixed_tiny"]["server_runs_s"] = warm["runs_s"]
                self.result["fixed_s_server"] = warm["median_s"]
            server = self.run_cycle(f"no-new-data-server-{smallest}", warehouse, env=env)
            cycle["server_s"] = round(server.seconds, 2) if server.ok else None
        except Exception as exc:
            self.result["fixed_s_server"] = None
            self.result["errors"].append(f"server: {type(exc).__name__}: {exc}")
            say(f"  server FAILED: {exc}")
        finally:
            stopped = serve.stop(layout)
            say(f"  stopped {', '.join(stopped) or 'nothing'}")

    def incremental(self) -> None:
        largest = self.sizes[-1]
        warehouse = self.warehouses.get(largest)
        if warehouse is None or not (warehouse / "reporting.duckdb").is_file():
            self.result["errors"].append("incremental: no published warehouse of the largest size")
            self.result["incremental_matches"] = False
            return
        count = max(1, round(largest * INCREMENT_SHARE))
        increment = self.workdir / "data" / f"increment-{largest}-seed{self.args.seed}.jsonl"
        say(f"incremental: {count:,} new posts (1%) for the {largest:,} warehouse")
        made = make_increment(
            self.config,
            self.data[largest],
            warehouse / "reporting.duckdb",
            increment,
            count=count,
            seed=self.args.seed + 1,
            days=self.args.days,
            as_of=self.as_of,
        )
        self.result["increment"] = made
        say(f"  increment: {made}")
        # the every-15-minutes path: the new posts arrive and are loaded in the cycle
        # itself (as collectors do), then build, checks and publish
        cycle = self.run_cycle(f"incremental-run-{largest}", warehouse, "--input", str(increment))
        self.result["incremental_s"] = round(cycle.seconds, 2)
        self.result["incremental_peak_rss_mb"] = round(cycle.peak_rss_mb, 1)
        self.result["incremental_dbt"] = _read_dbt(warehouse)
        if not cycle.ok:
            self.result["incremental_matches"] = False
            return
        say("  full rebuild of the same data into a copy (dbt build --full-refresh)")
        copy = self.workdir / f"wh-{largest}-full"
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(warehouse, copy)
        rebuilt, payload = self.pipeline_child(
            f"{largest}-full-refresh", copy, None, "build", full_refresh=True
        )
        self.result["full_refresh_build_s"] = round(payload.get("phases", {}).get("build", 0), 2)
        if not rebuilt.ok:
            self.result["incremental_matches"] = False
            return
        details = compare_warehouses(warehouse / "carewatch.duckdb", copy / "carewatch.duckdb")
        self.result["incremental_details"] = details
        self.result["incremental_matches"] = all(d["equal"] for d in details.values())
        for table, comparison in details.items():
            say(
                f"  incremental vs full rebuild {table}: {comparison['left_rows']:,} vs "
                f"{comparison['right_rows']:,} rows, {comparison['mismatches']} mismatching"
            )
        floor = self.floor_child(
            f"{largest}-incremented",
            [self.data[largest], increment],
            warehouse / "reporting.duckdb",
        )
        self.result["incremental_floor_matches"] = floor.get("matches", False)
        self.result["incremental_floor_details"] = floor.get("comparisons")
        if not self.args.keep:
            shutil.rmtree(copy, ignore_errors=True)

    def summarise(self) -> None:
        r = self.result
        small, large = str(self.sizes[0]), str(self.sizes[-1])
        floors = r["floor_s"]
        totals = r["total_s"]
        r["marginal_ratio"] = None
        if len(self.sizes) > 1 and small in totals and large in totals:
            floor_delta = floors.get(large, 0) - floors.get(small, 0)
            if floor_delta > 0:
                r["marginal_ratio"] = round((totals[large] - totals[small]) / floor_delta, 2)
        r["floor_matches"] = bool(r["floor_details"]) and all(
            d.get("matches") for d in r["floor_details"].values()
        )
        r["incremental_share"] = None
        fixed = r.get("fixed_s_ephemeral")
        if r.get("incremental_s") is not None and fixed is not None and large in totals:
            denominator = totals[large] - fixed
            if denominator > 0:
                r["incremental_share"] = round((r["incremental_s"] - fixed) / denominator, 3)
        r["bench_wall_s"] = round(time.time() - T0, 1)

    def table(self) -> str:
        r = self.result
        names = ["startup", *STEPS]
        lines = [
            "| posts | total s | "
            + " | ".join(f"{n} s (share)" for n in names)
            + " | floor s | pipeline/floor | peak RSS MB | floor matches |",
            "|---" * (len(names) + 6) + "|",
        ]
        for size in self.sizes:
            key = str(size)
            total = r["total_s"].get(key)
            phases = r["phases"].get(key, {})
            floor = r["floor_s"].get(key)
            cells = [
                f"{phases[n]:.1f} ({phases[n] / total:.0%})" if n in phases and total else "-"
                for n in names
            ]
            ratio = f"{total / floor:.0f}x" if total and floor else "-"
            lines.append(
                f"| {size:,} | {total if total is not None else '-'} | "
                + " | ".join(cells)
                + f" | {floor} | {ratio} | {r['peak_rss_mb'].get(key, '-')} | "
                f"{r['floor_details'].get(key, {}).get('matches', '-')} |"
            )
        lines += [
            "",
            f"marginal_ratio      {r.get('marginal_ratio')}   (target <= 10)",
            f"fixed_s_server      {r.get('fixed_s_server')}   (target <= 10)",
            f"fixed_s_ephemeral   {r.get('fixed_s_ephemeral')}",
            f"fixed (tiny)        {r.get('fixed_tiny')}",
            f"no-new-data cycle   {r.get('no_new_data_cycle')}",
            f"incremental_s       {r.get('incremental_s')}",
            f"incremental_share   {r.get('incremental_share')}   (target <= 0.10)",
            f"floor_matches       {r.get('floor_matches')}",
            f"incremental_matches {r.get('incremental_matches')}"
            f"   (floor on incremented data: {r.get('incremental_floor_matches')})",
        ]
        if r["errors"]:
            lines += ["", "errors:", *(f"  {e}" for e in r["errors"])]
        return "\n".join(lines)

    def write(self) -> None:
        results = self.args.results
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(json.dumps(self.result, indent=2, default=str) + "\n")

    def run(self) -> int:
        say(f"carewatch bench: sizes {self.sizes}, workdir {self.workdir}")
        try:
            if not self.args.sizes_only:
                self.tiny()
            for size in self.sizes:
                self.size(size)
                self.summarise()
                self.write()
            if not self.args.sizes_only:
                self.fixed()
                self.summarise()
                self.write()
                self.incremental()
        finally:
            start, end = self.result["machine"], code_state()
            if start.get("code_sha1") != end.get("code_sha1"):
                self.result["errors"].append(
                    f"the code changed during the run ({start.get('git_commit')} "
                    f"{start.get('code_sha1')} -> {end.get('git_commit')} "
                    f"{end.get('code_sha1')}): figures mix versions, run again"
                )
            self.result["machine"]["code_at_end"] = end
            self.summarise()
            self.write()
            if not self.args.keep:
                for path in self.workdir.glob("wh-*"):
                    shutil.rmtree(path, ignore_errors=True)
        print()
        print(self.table())
        print(f"\nwritten {self.args.results}")
        return 0 if not self.result["errors"] else 1


def _read_dbt(warehouse: Path) -> dict[str, Any]:
    previous = os.environ.get("DBT_LOG_PATH")
    os.environ["DBT_LOG_PATH"] = str(warehouse / "dbt-logs")
    try:
        return _slowest_dbt_nodes()
    finally:
        if previous is None:
            os.environ.pop("DBT_LOG_PATH", None)
        else:
            os.environ["DBT_LOG_PATH"] = previous


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench.py",
        description="Benchmark the carewatch pipeline against the plain-SQL floor (issue 7).",
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000], help="posts per run"
    )
    parser.add_argument("--keep", action="store_true", help="keep the benchmark warehouses")
    parser.add_argument(
        "--workdir", type=Path, default=BENCH_DIR / "work", help="data cache and warehouses"
    )
    parser.add_argument(
        "--skip-server", action="store_true", help="no fixed-cost run against a Prefect server"
    )
    parser.add_argument(
        "--sizes-only",
        action="store_true",
        help="only the per-size runs and floors (no fixed-cost or incremental stage)",
    )
    parser.add_argument(
        "--results", type=Path, default=RESULTS_FILE, help="where to write the JSON results"
    )
    parser.add_argument("--days", type=int, default=365, help="days of demo history")
    parser.add_argument("--seed", type=int, default=SEED, help="demo seed")
    # internal: the measured child processes
    parser.add_argument("--child", choices=["pipeline", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", help=argparse.SUPPRESS)
    parser.add_argument("--data", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--as-of", help=argparse.SUPPRESS)
    parser.add_argument("--steps", default=",".join(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--full-refresh", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--reporting", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--label", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child == "pipeline":
        if args.data:
            args.data = args.data[0]
        return child_pipeline(args)
    if args.child == "floor":
        return child_floor(args)
    return Bench(args).run()


if __name__ == "__main__":
    sys.exit(main())

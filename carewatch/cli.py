"""The `carewatch` command line."""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import sys
import threading
import time
from datetime import date
from pathlib import Path

from carewatch.runtime import configure_environment

DEFAULT_WAREHOUSE = Path("warehouse")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="carewatch",
        description="Social customer-care warehouse: mentions -> complaints, responses, "
        "follow-ups and SLA metrics, published only when the checks pass.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="brand configuration file (default: carewatch.yml in the project)",
    )
    parser.add_argument(
        "--warehouse",
        type=Path,
        default=DEFAULT_WAREHOUSE,
        help="folder of carewatch.duckdb and reporting.duckdb (default: warehouse/)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="generate the demo scenario and run the whole pipeline on it",
        description="Generate the demo scenario (Deutsche Telekom and three competitors), "
        "load it, build the models, check them, publish the reporting database and print "
        "the SLA summary. Deterministic for a seed.",
    )
    demo.add_argument(
        "--size", type=int, default=40_000, help="about how many posts (default 40000)"
    )
    demo.add_argument(
        "--days", type=int, default=184, help="length of the period in days (default 184)"
    )
    demo.add_argument(
        "--start",
        type=date.fromisoformat,
        default=date(2026, 3, 2),
        help="first day of the period, YYYY-MM-DD (default 2026-03-02)",
    )
    demo.add_argument("--seed", type=int, default=42, help="random seed (default 42)")

    run = sub.add_parser(
        "run",
        help="build, check and publish what the warehouse holds",
        description="Build the dbt models on the warehouse, run the quality checks and, "
        "only if every check passes, publish the reporting database atomically.",
    )
    run.add_argument(
        "--skip-collect",
        action="store_true",
        help="do not collect new posts first (build on what is loaded)",
    )
    run.add_argument(
        "--as-of",
        default=None,
        help="'now' for pending SLA status and backlog ages, ISO 8601 (default: the clock)",
    )
    run.add_argument(
        "--input",
        type=Path,
        default=None,
        help="a normalised JSON Lines file to load first, in the same run "
        "(like `import --format jsonl`, without a second process)",
    )

    from carewatch.collect import FORMAT_HELP

    imp = sub.add_parser(
        "import",
        help="load an export file into the warehouse",
        description="Load posts from a file, streaming (a progress bar shows for big files "
        "on a terminal). Bad records go to raw.quarantine with source, raw payload and "
        "reason; the rest loads and the command exits 0 with a summary. Re-importing the "
        "same file adds nothing. Formats: "
        + "; ".join(f"{name} = {text}" for name, text in FORMAT_HELP.items())
        + ". See docs/collectors.md.",
    )
    imp.add_argument(
        "--format", required=True, choices=list(FORMAT_HELP), help="file format (see above)"
    )
    imp.add_argument("path", type=Path, help="file to import")
    imp.add_argument("--no-progress", action="store_true", help="never show the progress bar")

    collect = sub.add_parser(
        "collect",
        help="collect new posts from the platform APIs (incremental)",
        description="Collect posts mentioning the configured brands from the APIs enabled "
        "in carewatch.yml (`collection:`), or from one source. Incremental: each query "
        "resumes after the last page that loaded. Rate limits (429), server errors and "
        "timeouts are retried with backoff; bad records go to raw.quarantine. Secrets come "
        "from the environment or .dlt/secrets.toml (see .dlt/example.secrets.toml).",
    )
    collect.add_argument(
        "--source",
        choices=["x", "mastodon", "bluesky"],
        default=None,
        help="collect from this source only (default: every enabled source)",
    )
    _add_reader_commands(sub)
    return parser


def _add_reader_commands(sub) -> None:
    """Commands for the readers' side: report, checks, docs, classify."""
    classify = sub.add_parser(
        "classify",
        help="apply the models' text classifier to any CSV",
        description="Add case_kind, is_complaint, language, topic (and the follow-up and tone "
        "signals) to every row of a CSV, with exactly the classifier the dbt models use "
        "(the post_lexicon and post_topics seeds).",
    )
    classify.add_argument("csv", type=Path, help="input CSV file")
    classify.add_argument("--text-column", required=True, help="column holding the post text")
    classify.add_argument("--out", type=Path, required=True, help="output CSV file")
    classify.add_argument(
        "--language-column", default=None, help="optional column with a known language"
    )
    report = sub.add_parser(
        "report",
        help="write the SLA report (one self-contained HTML page with plots)",
        description="Render site/sla-report.html from the published reporting database.",
    )
    report.add_argument(
        "--out", type=Path, default=Path("site/sla-report.html"), help="output HTML file"
    )
    sub.add_parser(
        "checks",
        help="print the results of the last quality-check run",
        description="Print every expectation of the last check run from audit.check_results, "
        "failing ones first, with a sample of the failing rows.",
    )
    docs = sub.add_parser(
        "docs",
        help="build the dbt docs site into site/docs/",
        description="Generate the dbt docs (models, columns, metric definitions, exposures) "
        "as one static page, site/docs/index.html.",
    )
    docs.add_argument("--site", type=Path, default=Path("site"), help="site folder")


def main(argv: list[str] | None = None) -> int:
    configure_environment()
    args = _parser().parse_args(argv)
    from carewatch.config import ConfigError, load_config

    try:
        load_config(args.config)
    except ConfigError as exc:
        print(f"carewatch: configuration error: {exc}", file=sys.stderr)
        return 2
    handlers = {
        "demo": _demo,
        "run": _run,
        "import": _import,
        "collect": _collect,
        "report": _report,
        "checks": _checks,
        "docs": _docs,
        "classify": _classify,
    }
    return handlers[args.command](args)


def _run_flow(args: argparse.Namespace, **parameters) -> int:
    from carewatch.build_worker import BuildWorker

    # dbt loads in the worker while this process loads Prefect and starts the flow
    BuildWorker.prestart(args.warehouse)
    if parameters.get("source") in ("demo", "jsonl"):
        # the loader (dlt, ~0.6 s) in the background: mostly while Prefect waits for
        # its API (ephemeral mode starts a server first)
        threading.Thread(
            target=importlib.import_module,
            args=("pipelines.fast_jsonl",),
            name="import-loader",
            daemon=True,
        ).start()
    from carewatch.pipeline import QualityGateFailed, format_summary, table_counts
    from carewatch.transform import DbtFailure
    from flows.care_pipeline import care_pipeline

    started = time.perf_counter()
    try:
        result = care_pipeline(
            warehouse_dir=str(args.warehouse),
            config_path=str(args.config) if args.config else None,
            **parameters,
        )
    except (QualityGateFailed, DbtFailure) as exc:
        print(f"\ncarewatch: run failed, nothing published.\n{exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    reporting = Path(result["reporting"])
    print()
    print(f"SLA summary as of {result['as_of']} (run {result['run_id']}, {elapsed:.1f} s)")
    print(format_summary(result["summary"]))
    print()
    print(f"Loaded:     {result['loaded']}")
    print(f"Checks:     {result['checks']} passed, {result['warnings']} warnings")
    print(f"Quality:    {Path(parameters.get('site_dir', 'site')) / 'quality' / 'index.html'}")
    print(f"Warehouse:  {args.warehouse / 'carewatch.duckdb'}")
    print(f"Reporting:  {reporting} (read-only for BI tools)")
    for table, rows in table_counts(reporting).items():
        print(f"            {table}: {rows} rows")
    return 0


def _demo(args: argparse.Namespace) -> int:
    code = _run_flow(
        args,
        source="demo",
        demo_seed=args.seed,
        demo_start=args.start,
        demo_days=args.days,
        demo_size=args.size,
    )
    if code == 0:
        print(
            f"Demo data:  {args.warehouse / 'demo' / 'posts.jsonl'} (ground truth in demo/truth/)"
        )
    return code


def _run(args: argparse.Namespace) -> int:
    if not args.skip_collect:
        _collect_enabled(args)
    if args.input is not None:
        if not args.input.is_file():
            print(f"carewatch: no such file: {args.input}", file=sys.stderr)
            return 2
        return _run_flow(args, source="jsonl", input_path=str(args.input), as_of=args.as_of)
    return _run_flow(args, source="none", as_of=args.as_of)


def _collect_enabled(args: argparse.Namespace, only: str | None = None) -> int:
    """Collect from the enabled sources (or `only`); print one summary line each.
    Returns 0, or 2 when a collector could not start (for example a missing secret)."""
    from carewatch.collect import CollectError, collect, collect_enabled
    from carewatch.config import load_config

    config = load_config(args.config)
    if only is None and not config.collection.enabled:
        then = "building on what is loaded" if args.command == "run" else "nothing to collect"
        print(
            "carewatch: no collector is enabled (collection.<source>.enabled in "
            f"{config.path}); {then}."
        )
        return 0
    from carewatch.locking import warehouse_lock

    with warehouse_lock(args.warehouse):
        results = (
            [_try_collect(collect, only, config, args.warehouse)]
            if only
            else list(collect_enabled(config, args.warehouse))
        )
    code = 0
    for result in results:
        if isinstance(result, CollectError):
            print(f"carewatch: {result}", file=sys.stderr)
            code = 2
            continue
        print(result)
        for fault in result.faults[:10]:
            print(f"  fault: {fault}")
        if len(result.faults) > 10:
            print(f"  ... and {len(result.faults) - 10} more faults (see the log)")
        for query, outcome in result.queries.items():
            if outcome != "complete":
                print(f"  {query}: {outcome}")
    return code


def _try_collect(collect, source, config, warehouse):
    from carewatch.collect import CollectError

    try:
        return collect(source, config, warehouse)
    except CollectError as exc:
        return exc


def _collect(args: argparse.Namespace) -> int:
    return _collect_enabled(args, only=args.source)


def _import(args: argparse.Namespace) -> int:
    from carewatch.collect import ImportFormatError, import_file

    if not args.path.is_file():
        print(f"carewatch: {args.path}: no such file", file=sys.stderr)
        return 2
    from carewatch.locking import warehouse_lock

    try:
        with warehouse_lock(args.warehouse):
            summary = import_file(
                args.format, args.path, args.warehouse, progress=False if args.no_progress else None
            )
    except ImportFormatError as exc:
        print(f"carewatch: {exc}", file=sys.stderr)
        return 2
    print(summary)
    if summary.quarantined:
        print(
            f"  {summary.quarantined} record(s) in raw.quarantine of "
            f"{args.warehouse / 'carewatch.duckdb'} (source {summary.source!r})"
        )
    return 0


def _classify(args: argparse.Namespace) -> int:
    from carewatch.classify import classify_csv

    try:
        rows = classify_csv(
            args.csv, args.text_column, args.out, language_column=args.language_column
        )
    except (FileNotFoundError, ValueError) as exc:
        print(f"carewatch: {exc}", file=sys.stderr)
        return 2
    print(f"classified {rows} rows -> {args.out}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from carewatch.config import load_config
    from carewatch.pipeline import Warehouse
    from carewatch.report import write_report

    reporting = Warehouse(args.warehouse).reporting_path
    if not reporting.is_file():
        print(
            f"carewatch: {reporting} does not exist yet: run `carewatch demo` or "
            "`carewatch run` first",
            file=sys.stderr,
        )
        return 2
    out = write_report(reporting, args.out, own_brand=load_config(args.config).own_brand.key)
    print(f"SLA report: {out}")
    return 0


def _checks(args: argparse.Namespace) -> int:
    from carewatch.check_results import last_results
    from carewatch.pipeline import Warehouse

    warehouse = Warehouse(args.warehouse)
    if not warehouse.path.is_file():
        print(f"carewatch: {warehouse.path} does not exist yet", file=sys.stderr)
        return 2
    run_id, results = last_results(warehouse.path)
    if run_id is None:
        print("carewatch: no check has run yet")
        return 2
    failed = [r for r in results if not r.passed]
    print(f"Check run {run_id}: {len(results) - len(failed)} passed, {len(failed)} failed")
    for result in sorted(results, key=lambda r: r.passed):
        print(f"  {result.describe()}")
    return 1 if failed else 0


def _docs(args: argparse.Namespace) -> int:
    from carewatch.docs_site import build_docs
    from carewatch.pipeline import Warehouse

    warehouse = Warehouse(args.warehouse)
    if not warehouse.path.is_file():
        print(
            f"carewatch: {warehouse.path} does not exist yet: run `carewatch demo` first",
            file=sys.stderr,
        )
        return 2
    print(f"dbt docs: {build_docs(warehouse.path, args.site)}")
    return 0


def entry() -> None:
    """The `carewatch` console script: main(), then a quick exit.

    Tearing the interpreter down after a run (dbt's manifest, Great Expectations,
    Prefect and pandas modules: millions of objects) took 1.5-2 s of every
    15-minute cycle. Everything an exit must do still happens in order: Prefect's
    log and event workers drain and other threads finish (threading's shutdown),
    atexit handlers run (the ephemeral Prefect server stops, dbt closes DuckDB),
    output is flushed; only the freeing of memory the OS reclaims anyway is
    skipped. In-process callers (tests) use main() and exit normally.
    """
    try:
        code = main()
    except SystemExit as exc:  # argparse's errors and --help
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    _exit_without_teardown(code)


def _exit_without_teardown(code: int) -> None:
    threading._shutdown()  # type: ignore[attr-defined]  # what interpreter exit runs first
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()

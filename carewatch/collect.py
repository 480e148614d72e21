"""Collection and imports as plain functions: `collect` runs one API collector,
`import_file` loads one export file. Both return a `CollectSummary`.

The Prefect flow (flows/collect_mentions.py) and the CLI (`carewatch collect`,
`carewatch import`, `carewatch run`) only call these.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carewatch.config import COLLECTOR_SOURCES, CarewatchConfig, SourceSettings

# format name -> (module, reader function); every reader streams its file
IMPORT_FORMATS: dict[str, tuple[str, str]] = {
    "jsonl": ("pipelines.jsonl_export", "read_jsonl"),
    "twcs": ("pipelines.twcs_export", "read_twcs"),
    "x-v2": ("pipelines.x_v2_export", "read_x_v2"),
    "mastodon": ("pipelines.mastodon_export", "read_mastodon"),
    "bluesky": ("pipelines.bluesky_export", "read_bluesky"),
    "ibm-cdp": ("pipelines.ibm_cdp_export", "read_ibm_cdp"),
}
FORMAT_HELP = {
    "jsonl": "the project's own normalised posts, one JSON object per line",
    "twcs": 'Kaggle "Customer Support on Twitter" CSV (twcs.csv)',
    "x-v2": "saved X API v2 search/timeline responses (JSON or JSON Lines)",
    "mastodon": "saved Mastodon statuses, timelines, search results or contexts",
    "bluesky": "saved Bluesky searchPosts, feeds, threads or post views",
    "ibm-cdp": "IBM Twitter customer-care conversations (dev.json, test.json)",
}


class CollectError(RuntimeError):
    """A collector cannot start (a secret is missing, the source is unknown)."""


class ImportFormatError(ValueError):
    """The file is not in the format asked for (for example a CSV without the columns)."""


@dataclass
class CollectSummary:
    """What a collection or an import did."""

    source: str
    loaded: int = 0
    quarantined: int = 0
    skipped: int = 0
    discovered: int = 0
    pages: int = 0
    accounts: int = 0
    faults: list[Any] = field(default_factory=list)
    queries: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.loaded + self.quarantined + self.skipped

    def __str__(self) -> str:
        parts = [f"{self.loaded} posts loaded", f"{self.quarantined} quarantined"]
        if self.skipped:
            parts.append(f"{self.skipped} reposts skipped")
        if self.discovered:
            parts.append(f"{self.discovered} support accounts found")
        if self.pages:
            parts.append(f"{self.pages} pages")
        if self.accounts:
            parts.append(f"{self.accounts} account snapshots")
        if self.faults:
            parts.append(f"{len(self.faults)} faults")
        return f"{self.source}: " + ", ".join(parts) + f" ({self.seconds:.1f} s)"

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "loaded": self.loaded,
            "quarantined": self.quarantined,
            "skipped": self.skipped,
            "discovered": self.discovered,
            "pages": self.pages,
            "accounts": self.accounts,
            "faults": [str(f) for f in self.faults],
            "queries": dict(self.queries),
            "seconds": round(self.seconds, 3),
        }


# --- imports -------------------------------------------------------------------


def import_file(
    fmt: str,
    path: Path,
    warehouse_dir: Path,
    *,
    progress: bool | None = None,
    batch_size: int = 50_000,
) -> CollectSummary:
    """Stream one export file into the warehouse; bad records go to raw.quarantine.

    Raises ImportFormatError when the file is not in that format at all, and
    FileNotFoundError when it does not exist.
    """
    from importlib import import_module

    from pipelines.loader import LoadSummary, load_records
    from pipelines.reading import ReadStats
    from pipelines.twcs_export import TwcsFormatError

    if fmt not in IMPORT_FORMATS:
        raise ImportFormatError(f"unknown format {fmt!r} (one of {', '.join(IMPORT_FORMATS)})")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    module, function = IMPORT_FORMATS[fmt]
    reader = getattr(import_module(module), function)
    source = f"{fmt}:{path.name}"
    read_stats = ReadStats()
    kwargs: dict[str, Any] = {"progress": progress}
    if fmt != "jsonl":
        kwargs["stats"] = read_stats
    started = time.perf_counter()
    load = LoadSummary(source=source)
    try:
        if fmt == "jsonl":  # the vectorised path; it reads the lines Python must with read_jsonl
            from pipelines.fast_jsonl import load_jsonl_file

            load_jsonl_file(path, warehouse_dir, source=source, progress=progress, summary=load)
        else:
            load_records(
                reader(path, **kwargs), source, warehouse_dir, batch_size=batch_size, summary=load
            )
    except TwcsFormatError as exc:
        raise ImportFormatError(str(exc)) from exc
    except Exception as exc:  # dlt wraps reader errors raised during extraction
        cause = _root_cause(exc)
        if isinstance(cause, TwcsFormatError):
            raise ImportFormatError(str(cause)) from exc
        raise
    return CollectSummary(
        source=source,
        loaded=load.loaded,
        quarantined=load.quarantined,
        skipped=read_stats.skipped,
        discovered=load.discovered,
        seconds=time.perf_counter() - started,
    )


def _root_cause(exc: BaseException) -> BaseException:
    seen = set()
    while exc.__cause__ is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__
    return exc


# --- collection ----------------------------------------------------------------


def collect(
    source: str,
    config: CarewatchConfig,
    warehouse_dir: Path,
    *,
    credentials: dict[str, Any] | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
    base_url: str | None = None,
) -> CollectSummary:
    """Run one collector (x, mastodon or bluesky) incrementally into the warehouse.

    Settings come from `config.collection`; secrets from `credentials` when
    given (tests), else from dlt's providers (environment, .dlt/secrets.toml).
    HTTP faults do not raise: they are retried, logged and listed in the
    summary, and the cursor stays at the last page that loaded.
    """
    from dlt.common.configuration.exceptions import ConfigFieldMissingException

    from pipelines.collecting import CollectStats, RetryPolicy
    from pipelines.loader import warehouse_pipeline

    if source not in COLLECTOR_SOURCES:
        raise CollectError(f"unknown source {source!r} (one of {', '.join(COLLECTOR_SOURCES)})")
    settings = config.collection.source(source)
    if base_url:
        from dataclasses import replace

        settings = replace(settings, base_url=base_url.rstrip("/"))
    policy = RetryPolicy(
        max_attempts=config.collection.max_retries + 1,
        timeout=config.collection.timeout_seconds,
        max_rate_limit_wait=config.collection.max_rate_limit_wait_seconds,
    )
    stats = CollectStats(f"{source}-api")
    common = {
        "base_url": settings.base_url,
        "page_size": settings.page_size,
        "max_pages": settings.max_pages,
        "account_handles": _stats_handles(config, settings),
        "account_brands": {h: b.key for h, (b, _a) in config.account_brand().items()},
        "retry": policy,
        "sleep": sleep,
        "clock": clock,
        "stats": stats,
        **(credentials or {}),
    }
    started = time.perf_counter()
    try:
        dlt_source = _build_source(source, config, settings, common)
    except ConfigFieldMissingException as exc:
        raise CollectError(_missing_secret_message(source, exc)) from exc
    pipeline = warehouse_pipeline(Path(warehouse_dir), name=f"carewatch_collect_{source}")
    pipeline.run(dlt_source)
    return CollectSummary(
        source=source,
        loaded=stats.summary.loaded,
        quarantined=stats.summary.quarantined,
        skipped=stats.summary.skipped,
        pages=stats.pages,
        accounts=stats.accounts,
        faults=list(stats.faults),
        queries=dict(stats.queries),
        seconds=time.perf_counter() - started,
    )


def collect_enabled(
    config: CarewatchConfig, warehouse_dir: Path, **kwargs: Any
) -> Iterator[CollectSummary | CollectError]:
    """Run every collector enabled in carewatch.yml; a collector that cannot start
    is reported (as a CollectError) and the others still run."""
    for source in config.collection.enabled:
        try:
            yield collect(source, config, warehouse_dir, **kwargs)
        except CollectError as exc:
            yield exc


def _stats_handles(config: CarewatchConfig, settings: SourceSettings) -> list[str]:
    if not config.collection.account_stats:
        return []
    if settings.accounts:
        return list(settings.accounts)
    return [a.handle for b in config.brands for a in b.accounts]


def _build_source(
    source: str, config: CarewatchConfig, settings: SourceSettings, common: dict[str, Any]
) -> Any:
    if source == "x":
        from pipelines.x_api import brand_queries, x_api_source

        queries = [
            q
            for brand in config.brands
            for q in brand_queries(
                brand,
                include_brand_posts=settings.include_brand_posts,
                max_length=settings.max_query_length,
            )
        ]
        return x_api_source(queries=queries, **common)
    if source == "mastodon":
        from pipelines.mastodon import mastodon_source

        terms: list[str] = []
        if settings.search:
            for brand in config.brands:
                terms += list(brand.watch_terms) + [f"@{a.handle}" for a in brand.accounts]
        return mastodon_source(
            tags=list(settings.tags), search_terms=list(dict.fromkeys(terms)), **common
        )
    from pipelines.bluesky import bluesky_source

    queries = []
    for brand in config.brands:
        queries += [f'"{t}"' if " " in t else t for t in brand.watch_terms]
        if settings.search_handles:
            queries += [f"@{a.handle}" for a in brand.accounts]
    return bluesky_source(queries=list(dict.fromkeys(queries)), **common)


_SECRET_HINTS = {
    "x": "the X bearer token: set SOURCES__X_API__BEARER_TOKEN or `bearer_token` under "
    "[sources.x_api] in .dlt/secrets.toml",
    "mastodon": "a Mastodon secret: see [sources.mastodon] in .dlt/example.secrets.toml",
    "bluesky": "a Bluesky secret: see [sources.bluesky] in .dlt/example.secrets.toml",
}


def _missing_secret_message(source: str, exc: Exception) -> str:
    fields = getattr(exc, "fields", None) or []
    named = f" ({', '.join(fields)})" if fields else ""
    return f"{source}: missing {_SECRET_HINTS[source]}{named}"


def cursors(source: str, warehouse_dir: Path) -> dict[str, Any]:
    """The incremental cursors a collector keeps in its dlt state (query -> cursor):
    `since` (the newest id or time fully read), `pending` (where an interrupted run
    stopped) and the query text. Empty before the first run."""
    import dlt

    from pipelines.loader import RAW_DATASET

    source_names = {"x": "x_api", "mastodon": "mastodon", "bluesky": "bluesky"}
    if source not in source_names:
        raise CollectError(f"unknown source {source!r}")
    pipelines_dir = Path(warehouse_dir) / ".dlt"
    name = f"carewatch_collect_{source}"
    if not (pipelines_dir / name).is_dir():
        return {}
    pipeline = dlt.attach(pipeline_name=name, pipelines_dir=str(pipelines_dir))
    assert pipeline.dataset_name == RAW_DATASET
    state = pipeline.state.get("sources", {}).get(source_names[source], {})
    return dict(state.get("resources", {}).get("posts", {}).get("cursors", {}))

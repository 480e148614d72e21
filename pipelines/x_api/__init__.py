"""X API v2 collector: recent search per brand, incremental by `since_id`.

A dlt source in the style of dlt's verified sources: the bearer token is a
secret (`sources.x_api.bearer_token` in .dlt/secrets.toml or the environment
variable SOURCES__X_API__BEARER_TOKEN), everything else comes from
carewatch.yml through carewatch/collect.py. Resources:

- `posts`: tweets mapped into the normalised post shape, validated in Arrow
  batches; bad records go to `quarantine` in the same load; merge on
  (platform, post_id). One cursor per query in the resource state.
- `account_stats_daily`: followers, following, listed and tweet counts of the
  brand accounts, one snapshot per account and UTC day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltResource

from pipelines.collecting import (
    CollectStats,
    RestClient,
    RetryPolicy,
    incremental_pages,
    newer_id,
    source_resources,
)
from pipelines.reading import ReadStats
from pipelines.x_api.helpers import account_stats, brand_queries, search_page
from pipelines.x_api.settings import MAX_RESULTS, SOURCE_NAME, X_API_BASE_URL

__all__ = ["brand_queries", "x_api_source"]


@dlt.source(name="x_api", max_table_nesting=0)
def x_api_source(
    queries: Sequence[Sequence[str]] = (),
    account_handles: Sequence[str] = (),
    account_brands: dict[str, str] | None = None,
    bearer_token: TSecretStrValue = dlt.secrets.value,
    base_url: str = X_API_BASE_URL,
    page_size: int = MAX_RESULTS,
    max_pages: int = 10,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
    stats: CollectStats | None = None,
) -> Sequence[DltResource]:
    """`queries`: (label, query) pairs (see `brand_queries`); `account_handles`: whose
    daily statistics to snapshot, `account_brands` maps them to brand keys."""
    stats = stats or CollectStats(SOURCE_NAME)
    client = RestClient(
        base_url,
        stats=stats,
        headers={"Authorization": f"Bearer {bearer_token}"},
        policy=retry,
        sleep=sleep,
        clock=clock,
    )
    read_stats = ReadStats()

    def records(state: dict[str, Any]) -> Iterator[Any]:
        cursors = state.setdefault("cursors", {})
        for label, query in queries:
            cursor = cursors.setdefault(label, {"since": None, "pending": None})
            cursor["query"] = query

            def fetch(token: str | None, since: str | None, query: str = query) -> Any:
                return search_page(
                    client,
                    query,
                    page_size=page_size,
                    token=token,
                    since_id=since,
                    source=SOURCE_NAME,
                    read_stats=read_stats,
                )

            for page in incremental_pages(
                cursor, fetch, newer=newer_id, max_pages=max_pages, stats=stats, label=label
            ):
                yield from page.records
        stats.summary.skipped += read_stats.skipped

    def stats_rows() -> list[dict[str, Any]]:
        now = datetime.fromtimestamp(client.clock(), tz=UTC)
        return account_stats(client, account_handles, account_brands or {}, now, stats)

    return source_resources(records, SOURCE_NAME, stats, stats_rows if account_handles else None)

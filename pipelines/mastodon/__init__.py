"""Mastodon collector: hashtag timelines and (with a token) status search on one
configured instance, incremental by status id.

Secrets: an optional access token (`sources.mastodon.access_token`, or
SOURCES__MASTODON__ACCESS_TOKEN); hashtag timelines are public, the full-text
search of statuses needs one. Status ids are the instance's own, so collect
from one instance (the one the brand accounts live on).

Resources: `posts` (merge on platform, post_id; rejects to `quarantine` in
the same load; one cursor per tag or search term) and `account_stats_daily`.
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
from pipelines.mastodon.helpers import account_stats, search_page, tag_page
from pipelines.mastodon.settings import MASTODON_BASE_URL, MAX_LIMIT, SOURCE_NAME
from pipelines.reading import ReadStats

__all__ = ["mastodon_source"]


@dlt.source(name="mastodon", max_table_nesting=0)
def mastodon_source(
    tags: Sequence[str] = (),
    search_terms: Sequence[str] = (),
    account_handles: Sequence[str] = (),
    account_brands: dict[str, str] | None = None,
    access_token: TSecretStrValue | None = None,
    base_url: str = MASTODON_BASE_URL,
    page_size: int = MAX_LIMIT,
    max_pages: int = 10,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
    stats: CollectStats | None = None,
) -> Sequence[DltResource]:
    stats = stats or CollectStats(SOURCE_NAME)
    headers = {"Authorization": f"Bearer {access_token}"} if access_token else None
    client = RestClient(
        base_url, stats=stats, headers=headers, policy=retry, sleep=sleep, clock=clock
    )
    read_stats = ReadStats()
    queries = [("tag", t) for t in tags] + [("search", t) for t in search_terms]

    def records(state: dict[str, Any]) -> Iterator[Any]:
        cursors = state.setdefault("cursors", {})
        for kind, value in queries:
            label = f"{kind}:{value.lower()}"
            cursor = cursors.setdefault(label, {"since": None, "pending": None})
            page_of = tag_page if kind == "tag" else search_page

            def fetch(token: str | None, since: str | None, value=value, page_of=page_of) -> Any:
                return page_of(
                    client,
                    value,
                    limit=page_size,
                    token=token,
                    since=since,
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

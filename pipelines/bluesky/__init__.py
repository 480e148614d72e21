"""Bluesky collector: app.bsky.feed.searchPosts per watch term and brand handle,
incremental by the newest post time (`since`), paged by `cursor`.

Secrets (optional): `sources.bluesky.identifier` and `sources.bluesky.app_password`
(or SOURCES__BLUESKY__IDENTIFIER / SOURCES__BLUESKY__APP_PASSWORD). With them the
collector opens a session (com.atproto.server.createSession) on `base_url`, which
should then be your PDS (https://bsky.social/xrpc); without them it calls
`base_url` anonymously (the public AppView may refuse anonymous search).

Resources: `posts` (at:// URIs as post ids, reply parent and root for threads;
merge on platform, post_id; rejects to `quarantine`) and `account_stats_daily`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltResource

from pipelines.bluesky.helpers import account_stats, search_page
from pipelines.bluesky.settings import (
    BLUESKY_BASE_URL,
    CREATE_SESSION_PATH,
    MAX_LIMIT,
    SOURCE_NAME,
)
from pipelines.collecting import (
    CollectStats,
    RequestFailed,
    RestClient,
    RetryPolicy,
    incremental_pages,
    newer_time,
    source_resources,
)
from pipelines.reading import ReadStats

__all__ = ["bluesky_source"]


@dlt.source(name="bluesky", max_table_nesting=0)
def bluesky_source(
    queries: Sequence[str] = (),
    account_handles: Sequence[str] = (),
    account_brands: dict[str, str] | None = None,
    identifier: str | None = None,
    app_password: TSecretStrValue | None = None,
    base_url: str = BLUESKY_BASE_URL,
    page_size: int = MAX_LIMIT,
    max_pages: int = 10,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
    stats: CollectStats | None = None,
) -> Sequence[DltResource]:
    stats = stats or CollectStats(SOURCE_NAME)
    client = RestClient(base_url, stats=stats, policy=retry, sleep=sleep, clock=clock)
    read_stats = ReadStats()
    session: dict[str, bool] = {}

    def authenticate() -> None:
        if session or not (identifier and app_password):
            return
        session["done"] = True
        body, _ = client.post(
            CREATE_SESSION_PATH, {"identifier": identifier, "password": app_password}
        )
        token = body.get("accessJwt") if isinstance(body, dict) else None
        if isinstance(token, str):
            client.session.headers["Authorization"] = f"Bearer {token}"

    def records(state: dict[str, Any]) -> Iterator[Any]:
        try:
            authenticate()
        except RequestFailed:
            return  # the fault is recorded; nothing collected, no cursor moves
        cursors = state.setdefault("cursors", {})
        for query in queries:
            label = f"search:{hashlib.sha1(query.encode()).hexdigest()[:10]}"
            cursor = cursors.setdefault(label, {"since": None, "pending": None})
            cursor["query"] = query

            def fetch(token: str | None, since: str | None, query: str = query) -> Any:
                return search_page(
                    client,
                    query,
                    limit=page_size,
                    token=token,
                    since=since,
                    source=SOURCE_NAME,
                    read_stats=read_stats,
                )

            for page in incremental_pages(
                cursor, fetch, newer=newer_time, max_pages=max_pages, stats=stats, label=label
            ):
                yield from page.records
        stats.summary.skipped += read_stats.skipped

    def stats_rows() -> list[dict[str, Any]]:
        now = datetime.fromtimestamp(client.clock(), tz=UTC)
        try:
            authenticate()
            return account_stats(client, account_handles, account_brands or {}, now, stats)
        except RequestFailed:
            return []  # the fault is recorded

    resources = source_resources(
        records, SOURCE_NAME, stats, stats_rows if account_handles else None
    )
    return resources

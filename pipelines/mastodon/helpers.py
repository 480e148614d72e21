"""Mastodon: status -> normalised post (HTML content to text), tag timeline and
search paging (newest first, by `max_id`), account statistics."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

from pipelines.collecting import (
    CollectStats,
    Page,
    RequestFailed,
    RestClient,
    account_stats_row,
    newer_id,
)
from pipelines.mastodon.settings import (
    ACCOUNT_LOOKUP_PATH,
    PLATFORM,
    SEARCH_PATH,
    TAG_TIMELINE_PATH,
)
from pipelines.normalised import RAW_PAYLOAD_KEY, Rejected
from pipelines.reading import ReadStats


class _Text(HTMLParser):
    """Mastodon's status HTML as plain text: paragraphs as blank lines, <br> as
    newlines, links as their full text (the `invisible` URL parts included)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p" and self.parts:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(content: str) -> str:
    parser = _Text()
    parser.feed(content)
    parser.close()
    return "".join(parser.parts).strip()


def status_to_post(status: Any, source: str) -> dict[str, Any] | Rejected | None:
    """One Status entity -> normalised post; None for a boost (someone else's post)."""
    if not isinstance(status, dict):
        return Rejected(
            source,
            json.dumps(status, default=str)[:10_000],
            f"status is a {type(status).__name__}, not an object",
        )
    if status.get("reblog"):
        return None
    record: dict[str, Any] = {RAW_PAYLOAD_KEY: status}
    account = status.get("account")
    if not isinstance(account, dict):
        return Rejected(source, json.dumps(status, default=str), "status has no `account` object")
    content = status.get("content")
    mentions = status.get("mentions")
    handles = (
        [m["acct"] for m in mentions if isinstance(m, dict) and isinstance(m.get("acct"), str)]
        if isinstance(mentions, list)
        else None
    )
    record.update(
        platform=PLATFORM,
        post_id=status.get("id"),
        author_handle=account.get("acct") or account.get("username"),
        created_at=status.get("created_at"),
        text=html_to_text(content) if isinstance(content, str) else content,
        language=status.get("language"),
        parent_post_id=status.get("in_reply_to_id"),
        conversation_id=None,  # the public API has no conversation id; replies thread
        mentioned_handles=handles,
    )
    return record


def statuses_in(value: Any) -> Iterator[Any]:
    """Status entities in any saved Mastodon answer: a status, a list of them, a
    v2 search result (`statuses`) or a context (`ancestors`, `descendants`)."""
    if isinstance(value, list):
        for item in value:
            yield from statuses_in(item)
    elif isinstance(value, dict) and (
        "statuses" in value or "ancestors" in value or "descendants" in value
    ):
        for key in ("ancestors", "statuses", "descendants"):
            if isinstance(value.get(key), list):
                yield from value[key]
    else:
        yield value


def page_records(
    statuses: list[Any], source: str, read_stats: ReadStats
) -> list[dict[str, Any] | Rejected]:
    records = []
    for status in statuses:
        mapped = status_to_post(status, source)
        if mapped is None:
            read_stats.skipped += 1
        else:
            records.append(mapped)
    return records


def _page(
    body: Any, source: str, read_stats: ReadStats, since: str | None, key: str | None = None
) -> Page:
    statuses = body.get(key) if key and isinstance(body, dict) else body
    if not isinstance(statuses, list):
        rejected = Rejected(
            source, json.dumps(body, default=str)[:100_000], "answer is not a list of statuses"
        )
        return Page([rejected], None, None)
    ids = [s["id"] for s in statuses if isinstance(s, dict) and isinstance(s.get("id"), str)]
    # the search API has no since_id: drop what the cursor already covers and stop there
    fresh = [
        s
        for s in statuses
        if not (
            since
            and isinstance(s, dict)
            and isinstance(s.get("id"), str)
            and newer_id(s["id"], since) == since
        )
    ]
    reached_cursor = len(fresh) < len(statuses)
    oldest = min(ids, key=lambda v: (len(v), v)) if ids else None
    newest = None
    for status_id in ids:
        newest = newer_id(newest, status_id)
    next_token = None if (reached_cursor or not statuses or oldest is None) else oldest
    return Page(page_records(fresh, source, read_stats), next_token, newest)


def tag_page(
    client: RestClient,
    tag: str,
    *,
    limit: int,
    token: str | None,
    since: str | None,
    source: str,
    read_stats: ReadStats,
) -> Page:
    """One page of a hashtag timeline (public), newest first."""
    params: dict[str, Any] = {"limit": limit}
    if token:
        params["max_id"] = token
    if since:
        params["since_id"] = since
    body, _ = client.get(TAG_TIMELINE_PATH.format(tag=quote(tag, safe="")), params)
    return _page(body, source, read_stats, since)


def search_page(
    client: RestClient,
    term: str,
    *,
    limit: int,
    token: str | None,
    since: str | None,
    source: str,
    read_stats: ReadStats,
) -> Page:
    """One page of /api/v2/search for statuses (needs an access token on most instances)."""
    params: dict[str, Any] = {"q": term, "type": "statuses", "limit": limit, "resolve": "false"}
    if token:
        params["max_id"] = token
    body, _ = client.get(SEARCH_PATH, params)
    return _page(body, source, read_stats, since, key="statuses")


def account_stats(
    client: RestClient,
    handles: Iterable[str],
    brands: dict[str, str],
    now: datetime,
    stats: CollectStats,
) -> list[dict[str, Any]]:
    """followers, following and statuses counts (GET /api/v1/accounts/lookup);
    Mastodon has no list count."""
    rows = []
    for handle in dict.fromkeys(h.lower() for h in handles):
        try:
            body, _ = client.get(ACCOUNT_LOOKUP_PATH, {"acct": handle}, missing_ok=True)
        except RequestFailed:
            continue  # recorded as a fault; the other accounts still get their snapshot
        if not isinstance(body, dict):
            stats.queries[f"account:{handle}"] = "not found on this instance"
            continue
        rows.append(
            account_stats_row(
                PLATFORM,
                handle,
                brands.get(handle),
                now,
                followers=body.get("followers_count"),
                following=body.get("following_count"),
                listed=None,
                posts=body.get("statuses_count"),
            )
        )
    return rows

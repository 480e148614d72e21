"""Bluesky: post view -> normalised post (at:// URIs as ids, record.reply for
threads, mention facets for handles), searchPosts paging by `cursor`, profiles."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from pipelines.bluesky.settings import (
    GET_PROFILES_PATH,
    MENTION_FACET,
    PLATFORM,
    PROFILES_PER_LOOKUP,
    REPOST_REASON,
    SEARCH_POSTS_PATH,
)
from pipelines.collecting import (
    CollectStats,
    Page,
    RequestFailed,
    RestClient,
    account_stats_row,
    newer_time,
)
from pipelines.normalised import RAW_PAYLOAD_KEY, Rejected, parse_timestamp
from pipelines.reading import ReadStats

# Bluesky handles are domain names: letters, digits, '-' and dots
_MENTION_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9.\-]{0,252}[A-Za-z0-9])")


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _mentions(record: dict[str, Any], text: Any) -> list[str] | None:
    """Handles mentioned in a post: the text under its mention facets, else @handles."""
    if not isinstance(text, str):
        return None
    raw = text.encode("utf-8")
    handles: list[str] = []
    facets = record.get("facets")
    for facet in facets if isinstance(facets, list) else []:
        if not isinstance(facet, dict):
            continue
        features = facet.get("features")
        index = facet.get("index")
        if not isinstance(features, list) or not isinstance(index, dict):
            continue
        if not any(isinstance(f, dict) and f.get("$type") == MENTION_FACET for f in features):
            continue
        start, end = index.get("byteStart"), index.get("byteEnd")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(raw):
            handle = raw[start:end].decode("utf-8", "replace").lstrip("@").strip()
            if handle:
                handles.append(handle.lower())
    if not handles:
        handles = [m.lower() for m in _MENTION_RE.findall(text)]
    return list(dict.fromkeys(handles))


def _created_at(record: dict[str, Any], view: dict[str, Any]) -> Any:
    """record.createdAt (the author's clock); the server's indexedAt when createdAt
    is missing, naive or unreadable."""
    created = record.get("createdAt")
    try:
        parse_timestamp(created)
        return created
    except (ValueError, TypeError, OverflowError, OSError):
        indexed = view.get("indexedAt")
        return indexed if indexed not in (None, "") else created


def post_view_to_post(view: Any, source: str) -> dict[str, Any] | Rejected:
    """One app.bsky.feed.defs#postView -> normalised post."""
    if not isinstance(view, dict):
        return Rejected(
            source, _dump(view)[:10_000], f"post is a {type(view).__name__}, not an object"
        )
    uri = view.get("uri")
    if isinstance(uri, str) and not uri.startswith("at://"):
        return Rejected(source, _dump(view), f"`uri` {uri[:80]!r} is not an at:// URI")
    author = view.get("author")
    if not isinstance(author, dict):
        return Rejected(source, _dump(view), "post has no `author` object")
    record = view.get("record")
    if not isinstance(record, dict):
        return Rejected(source, _dump(view), "post has no `record` object")
    reply = record.get("reply")
    parent = root = None
    if isinstance(reply, dict):
        parent = (
            reply.get("parent", {}).get("uri") if isinstance(reply.get("parent"), dict) else None
        )
        root = reply.get("root", {}).get("uri") if isinstance(reply.get("root"), dict) else None
    langs = record.get("langs")
    text = record.get("text")
    return {
        RAW_PAYLOAD_KEY: view,
        "platform": PLATFORM,
        "post_id": uri,
        "author_handle": author.get("handle"),
        "created_at": _created_at(record, view),
        "text": text,
        "language": langs[0]
        if isinstance(langs, list) and langs and isinstance(langs[0], str)
        else None,
        "parent_post_id": parent,
        "conversation_id": root or (uri if isinstance(uri, str) else None),
        "mentioned_handles": _mentions(record, text),
    }


def post_views_in(value: Any, read_stats: ReadStats | None = None) -> Iterator[Any]:
    """Post views in any saved Bluesky answer: searchPosts (`posts`), a feed
    (`feed`, reposts left out), a thread (`thread`, parents and replies), a post
    view, or a list of any of these."""
    if isinstance(value, list):
        for item in value:
            yield from post_views_in(item, read_stats)
    elif isinstance(value, dict) and isinstance(value.get("posts"), list):
        yield from value["posts"]
    elif isinstance(value, dict) and isinstance(value.get("feed"), list):
        for item in value["feed"]:
            reason = item.get("reason") if isinstance(item, dict) else None
            if isinstance(reason, dict) and reason.get("$type") == REPOST_REASON:
                if read_stats is not None:
                    read_stats.skipped += 1
                continue
            yield item.get("post") if isinstance(item, dict) and "post" in item else item
    elif isinstance(value, dict) and isinstance(value.get("thread"), dict):
        yield from _thread_posts(value["thread"])
    else:
        yield value


def _thread_posts(node: dict[str, Any]) -> Iterator[Any]:
    """Posts of a threadViewPost: its parents upwards, itself, its replies downwards
    (notFound and blocked posts have no `post` and are passed over)."""
    parent = node.get("parent")
    while isinstance(parent, dict):
        if isinstance(parent.get("post"), dict):
            yield parent["post"]
        parent = parent.get("parent")
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current.get("post"), dict):
            yield current["post"]
        replies = current.get("replies")
        if isinstance(replies, list):
            stack.extend(r for r in reversed(replies) if isinstance(r, dict))


def _sort_at(view: Any) -> str | None:
    """The search API's `sortAt`: the earlier of createdAt and indexedAt."""
    if not isinstance(view, dict):
        return None
    record = view.get("record") if isinstance(view.get("record"), dict) else {}
    values = [v for v in (record.get("createdAt"), view.get("indexedAt")) if isinstance(v, str)]
    best: tuple[datetime, str] | None = None
    for value in values:
        try:
            parsed = parse_timestamp(value)
        except (ValueError, TypeError, OverflowError, OSError):
            continue
        if best is None or parsed < best[0]:
            best = (parsed, value)
    return best[1] if best else None


def search_page(
    client: RestClient,
    query: str,
    *,
    limit: int,
    token: str | None,
    since: str | None,
    source: str,
    read_stats: ReadStats,
) -> Page:
    """One page of app.bsky.feed.searchPosts, latest first."""
    params: dict[str, Any] = {"q": query, "sort": "latest", "limit": limit}
    if token:
        params["cursor"] = token
    if since:
        params["since"] = since
    body, _ = client.get(SEARCH_POSTS_PATH, params)
    posts = body.get("posts") if isinstance(body, dict) else None
    if not isinstance(posts, list):
        return Page(
            [Rejected(source, _dump(body)[:100_000], "answer has no `posts` list")], None, None
        )
    newest = None
    for view in posts:
        newest = newer_time(newest, _sort_at(view))
    cursor = body.get("cursor")
    next_token = cursor if isinstance(cursor, str) and cursor and posts else None
    return Page([post_view_to_post(v, source) for v in posts], next_token, newest)


def account_stats(
    client: RestClient,
    handles: Iterable[str],
    brands: dict[str, str],
    now: datetime,
    stats: CollectStats,
) -> list[dict[str, Any]]:
    """followers, follows and posts counts (app.bsky.actor.getProfiles); no list count."""
    handles = [h for h in dict.fromkeys(h.lower() for h in handles) if "." in h]
    rows = []
    for start in range(0, len(handles), PROFILES_PER_LOOKUP):
        chunk = handles[start : start + PROFILES_PER_LOOKUP]
        try:
            body, _ = client.get(GET_PROFILES_PATH, {"actors": chunk})
        except RequestFailed:
            continue  # recorded as a fault; the other accounts still get their snapshot
        profiles = body.get("profiles") if isinstance(body, dict) else None
        for profile in profiles if isinstance(profiles, list) else []:
            if not isinstance(profile, dict) or not isinstance(profile.get("handle"), str):
                continue
            handle = profile["handle"].lower()
            rows.append(
                account_stats_row(
                    PLATFORM,
                    handle,
                    brands.get(handle),
                    now,
                    followers=profile.get("followersCount"),
                    following=profile.get("followsCount"),
                    listed=None,
                    posts=profile.get("postsCount"),
                )
            )
        found = {r["account_handle"] for r in rows}
        for missing in (h for h in chunk if h not in found):
            stats.queries[f"account:{missing}"] = "not found on Bluesky"
    return rows

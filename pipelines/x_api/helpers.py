"""X API v2: queries from the brand configuration, tweet -> normalised post,
paging of recent search and the account statistics lookup."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from carewatch.config import Brand
from pipelines.collecting import (
    CollectStats,
    Page,
    RequestFailed,
    RestClient,
    account_stats_row,
    newer_id,
)
from pipelines.normalised import RAW_PAYLOAD_KEY, Rejected
from pipelines.reading import ReadStats
from pipelines.x_api.settings import (
    EXPANSIONS,
    PLATFORM,
    SEARCH_RECENT_PATH,
    STATS_USER_FIELDS,
    TWEET_FIELDS,
    UNDETERMINED_LANGUAGES,
    USER_FIELDS,
    USERS_BY_PATH,
    USERS_PER_LOOKUP,
)

_BARE_TERM = re.compile(r"^[\w#$@]+$")


def _term(term: str) -> str:
    """A watch term as a query atom: bare when it is one word, else an exact phrase."""
    term = term.strip()
    return term if _BARE_TERM.match(term) else '"' + term.replace('"', "") + '"'


def brand_queries(
    brand: Brand, *, include_brand_posts: bool = True, max_length: int = 512
) -> list[tuple[str, str]]:
    """(label, query) pairs for one brand's recent search.

    Any brand account as `@handle` or `to:handle`, the support accounts' own posts
    (`from:handle`, their replies) when asked, every watch term; exclusions as
    `-"..."` and `-is:retweet`. A query longer than the plan allows is split into
    several, each with all the exclusions. The label is the brand key plus a hash
    of the query, so editing the terms starts a fresh cursor.
    """
    atoms: list[str] = []
    for account in brand.accounts:
        atoms += [f"@{account.handle}", f"to:{account.handle}"]
        if include_brand_posts and account.role == "support":
            atoms.append(f"from:{account.handle}")
    atoms += [_term(t) for t in brand.watch_terms]
    atoms = list(dict.fromkeys(atoms))
    suffix = " ".join([*(f"-{_term(e)}" for e in brand.exclusions), "-is:retweet"])
    queries: list[str] = []
    chunk: list[str] = []

    def render(parts: list[str]) -> str:
        group = parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
        return f"{group} {suffix}"

    for atom in atoms:
        if chunk and len(render([*chunk, atom])) > max_length:
            queries.append(render(chunk))
            chunk = []
        chunk.append(atom)
        if len(render(chunk)) > max_length:
            raise ValueError(
                f"brand {brand.key}: the query for {atom!r} with the exclusions is longer "
                f"than max_query_length ({max_length})"
            )
    if chunk:
        queries.append(render(chunk))
    return [(f"{brand.key}:{hashlib.sha1(q.encode()).hexdigest()[:10]}", q) for q in queries]


def tweet_to_post(
    tweet: Any, users: dict[str, str], source: str
) -> dict[str, Any] | Rejected | None:
    """One API v2 tweet object -> normalised post; None for a retweet (not a post of
    its author's own), Rejected when the author cannot be named."""
    if not isinstance(tweet, dict):
        return Rejected(
            source, repr(tweet)[:10_000], f"tweet is a {type(tweet).__name__}, not an object"
        )
    refs = tweet.get("referenced_tweets")
    refs = [r for r in refs if isinstance(r, dict)] if isinstance(refs, list) else []
    if any(r.get("type") == "retweeted" for r in refs):
        return None
    record: dict[str, Any] = {RAW_PAYLOAD_KEY: tweet}
    author_id = tweet.get("author_id")
    if author_id is None or author_id == "":
        return _reject(record, source, "tweet has no `author_id` (request tweet.fields=author_id)")
    handle = users.get(str(author_id))
    if handle is None:
        return _reject(
            record,
            source,
            f"author {author_id} is not in includes.users (request expansions=author_id)",
        )
    note = tweet.get("note_tweet")
    text = (
        note.get("text") if isinstance(note, dict) and isinstance(note.get("text"), str) else None
    )
    entities = tweet.get("entities")
    mentions = entities.get("mentions") if isinstance(entities, dict) else None
    handles = (
        [
            m["username"]
            for m in mentions
            if isinstance(m, dict) and isinstance(m.get("username"), str)
        ]
        if isinstance(mentions, list)
        else None
    )
    language = tweet.get("lang")
    record.update(
        platform=PLATFORM,
        post_id=tweet.get("id"),
        author_handle=handle,
        created_at=tweet.get("created_at"),
        text=text if text is not None else tweet.get("text"),
        language=None if language in UNDETERMINED_LANGUAGES else language,
        parent_post_id=next((r.get("id") for r in refs if r.get("type") == "replied_to"), None),
        conversation_id=tweet.get("conversation_id"),
        mentioned_handles=handles,
    )
    return record


def _reject(record: dict[str, Any], source: str, reason: str) -> Rejected:
    from pipelines.normalised import payload_text

    return Rejected(source, payload_text(record), reason)


def users_by_id(response: dict[str, Any]) -> dict[str, str]:
    includes = response.get("includes")
    users = includes.get("users") if isinstance(includes, dict) else None
    if not isinstance(users, list):
        return {}
    return {
        str(u["id"]): u["username"]
        for u in users
        if isinstance(u, dict) and u.get("id") is not None and isinstance(u.get("username"), str)
    }


def response_records(
    response: Any, source: str, stats: ReadStats | None = None
) -> Iterator[dict[str, Any] | Rejected]:
    """Normalised records of one API v2 response: `data`, then `includes.tweets`
    (the replied-to and quoted tweets, which carry the threads)."""
    if not isinstance(response, dict):
        yield Rejected(
            source,
            repr(response)[:10_000],
            f"response is a {type(response).__name__}, not an object",
        )
        return
    data = response.get("data")
    if data is None:
        errors = response.get("errors")
        if errors and "meta" not in response:
            yield Rejected(
                source, _dump(response), f"X API error response without data: {_dump(errors)[:300]}"
            )
        elif "meta" not in response and "includes" not in response:
            yield Rejected(
                source, _dump(response), "not an X API v2 response (no `data` or `meta`)"
            )
        return
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        yield Rejected(
            source, _dump(response), f"`data` is a {type(data).__name__}, not a list of tweets"
        )
        return
    users = users_by_id(response)
    includes = response.get("includes")
    context = includes.get("tweets") if isinstance(includes, dict) else None
    for tweet in [*data, *(context if isinstance(context, list) else [])]:
        mapped = tweet_to_post(tweet, users, source)
        if mapped is None:
            if stats is not None:
                stats.skipped += 1
            continue
        yield mapped


def _dump(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


def search_page(
    client: RestClient,
    query: str,
    *,
    page_size: int,
    token: str | None,
    since_id: str | None,
    source: str,
    read_stats: ReadStats,
) -> Page:
    """One page of /2/tweets/search/recent, newest first."""
    params: dict[str, Any] = {
        "query": query,
        "max_results": page_size,
        "tweet.fields": TWEET_FIELDS,
        "expansions": EXPANSIONS,
        "user.fields": USER_FIELDS,
    }
    if since_id:
        params["since_id"] = since_id
    if token:
        params["next_token"] = token
    body, _headers = client.get(SEARCH_RECENT_PATH, params)
    records = list(response_records(body, source, read_stats))
    meta = body.get("meta") if isinstance(body, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    newest = meta.get("newest_id")
    if newest is None and isinstance(body, dict) and isinstance(body.get("data"), list):
        for tweet in body["data"]:
            if isinstance(tweet, dict) and isinstance(tweet.get("id"), str):
                newest = newer_id(newest, tweet["id"])
    token = meta.get("next_token")
    return Page(
        records,
        token if isinstance(token, str) and token else None,
        str(newest) if newest is not None else None,
    )


def account_stats(
    client: RestClient,
    handles: Iterable[str],
    brands: dict[str, str],
    now: datetime,
    stats: CollectStats,
) -> list[dict[str, Any]]:
    """followers, following, listed and tweet counts per handle (GET /2/users/by)."""
    handles = list(dict.fromkeys(h.lower() for h in handles))
    rows = []
    for start in range(0, len(handles), USERS_PER_LOOKUP):
        chunk = handles[start : start + USERS_PER_LOOKUP]
        try:
            body, _ = client.get(
                USERS_BY_PATH, {"usernames": ",".join(chunk), "user.fields": STATS_USER_FIELDS}
            )
        except RequestFailed:
            continue  # recorded as a fault; the other accounts still get their snapshot
        users = body.get("data") if isinstance(body, dict) else None
        for user in users if isinstance(users, list) else []:
            if not isinstance(user, dict) or not isinstance(user.get("username"), str):
                continue
            metrics = (
                user.get("public_metrics") if isinstance(user.get("public_metrics"), dict) else {}
            )
            handle = user["username"].lower()
            rows.append(
                account_stats_row(
                    PLATFORM,
                    handle,
                    brands.get(handle),
                    now,
                    followers=metrics.get("followers_count"),
                    following=metrics.get("following_count"),
                    listed=metrics.get("listed_count"),
                    posts=metrics.get("tweet_count"),
                )
            )
        found = {r["account_handle"] for r in rows}
        for missing in (h for h in chunk if h not in found):
            stats.queries[f"account:{missing}"] = "not found on X"
    return rows

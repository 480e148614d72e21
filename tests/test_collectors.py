"""The API collectors against a real HTTP server on loopback.

The server speaks the real response shapes (X API v2 recent search, Mastodon
tag timelines, Bluesky searchPosts; payloads written here) with their paging
rules, and plays scripted faults: a 429 with Retry-After (or the platform's
reset header), a 503, a timeout, a truncated JSON body, a page with one broken
record. The collectors run through dlt into a real DuckDB warehouse; `sleep`
and the clock are injected so the retry schedule runs without waiting.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest
import yaml

from carewatch.collect import collect, cursors
from carewatch.config import DEFAULT_CONFIG_PATH, parse_config

NOW = 1_780_000_000.0  # the injected clock: 2026-05-28T20:26:40Z
TOKEN = "test-bearer-token-not-a-secret"


@pytest.fixture(autouse=True)
def _customer_key(monkeypatch):
    monkeypatch.setenv("CAREWATCH__CUSTOMER_KEY_SECRET", "test-secret")


# --- a scripted HTTP server -------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def json_reply(payload: Any, status: int = 200, **headers: str) -> Reply:
    return Reply(
        status, json.dumps(payload).encode(), {"Content-Type": "application/json", **headers}
    )


@dataclass
class Fault:
    """Answer the `nth` request to `path` (1-based) with `make(params)`; once, or on
    every matching request while `sticky`."""

    path: str
    make: Callable[[dict[str, str]], Reply]
    nth: int | None = None
    when: Callable[[dict[str, str]], bool] | None = None
    sticky: bool = False


class FakeApi:
    def __init__(self) -> None:
        self.routes: dict[str, Callable[[dict[str, str]], Reply]] = {}
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parsed = urlparse(self.path)
                params = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
                params.update({f"{k}[]": ",".join(v) for k, v in parse_qs(parsed.query).items()})
                reply = api.answer(parsed.path, params, dict(self.headers))
                time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout fault)

            do_GET = _answer
            do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append((path, params, headers))
            self._counts[path] = n = self._counts.get(path, 0) + 1
            for fault in list(self.faults):
                if fault.path != path:
                    continue
                if fault.nth is not None and fault.nth != n:
                    continue
                if fault.when is not None and not fault.when(params):
                    continue
                if not fault.sticky:
                    self.faults.remove(fault)
                return fault.make(params)
        return self.routes[path](params)

    def calls(self, path: str) -> list[dict[str, str]]:
        return [p for q, p, _h in self.requests if q == path]


@pytest.fixture
def fake_api():
    api = FakeApi()
    api.thread.start()
    yield api
    api.server.shutdown()
    api.server.server_close()


def rate_limited(**headers: str) -> Callable[[dict[str, str]], Reply]:
    return lambda params: json_reply({"title": "Too Many Requests"}, 429, **headers)


def unavailable(params: dict[str, str]) -> Reply:
    return Reply(503, b"<html>Service Unavailable</html>", {"Content-Type": "text/html"})


def too_slow(params: dict[str, str]) -> Reply:
    return Reply(200, b"{}", {"Content-Type": "application/json"}, delay=1.5)


def truncated(route: Callable[[dict[str, str]], Reply]) -> Callable[[dict[str, str]], Reply]:
    def make(params: dict[str, str]) -> Reply:
        whole = route(params)
        return Reply(200, whole.body[: len(whole.body) // 2], whole.headers)

    return make


# --- configuration and warehouse helpers -----------------------------------------


def telekom_config(tmp_path: Path, source: str, base_url: str, **settings: Any):
    """The project's configuration cut to the Telekom brand, one collector enabled."""
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    raw["brands"] = [b for b in raw["brands"] if b["key"] == "telekom"]
    raw["collection"] = {
        "timeout_seconds": 0.5,
        "max_retries": 3,
        "max_pages": 20,
        source: {"enabled": True, "base_url": base_url, **settings},
    }
    return parse_config(raw, tmp_path / "carewatch.yml")


def query(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse / "carewatch.duckdb"), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def run(source: str, config, warehouse: Path, sleeps: list[float]):
    credentials = {"bearer_token": TOKEN} if source == "x" else {}
    return collect(
        source, config, warehouse, credentials=credentials, sleep=sleeps.append, clock=lambda: NOW
    )


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- X API v2 ----------------------------------------------------------------------

X_BASE = 1_790_000_000_000_000_000
X_START = datetime(2026, 5, 20, 8, 0, tzinfo=UTC)
X_USERS = {
    "1001": "kundin_anna",
    "1002": "ben_aus_bonn",
    "1003": "telekom_hilft",
}


def tweet(n: int, **overrides: Any) -> dict[str, Any]:
    """Tweet number n in the shape recent search returns with our tweet.fields."""
    tweet_id = str(X_BASE + n)
    author = "1003" if n % 5 == 0 else ("1001" if n % 2 else "1002")
    body: dict[str, Any] = {
        "id": tweet_id,
        "edit_history_tweet_ids": [tweet_id],
        "author_id": author,
        "created_at": iso(X_START + timedelta(minutes=7 * n)),
        "conversation_id": tweet_id,
        "lang": "de",
        "text": f"@telekom_hilft seit heute kein Internet, Meldung {n}",
        "entities": {
            "mentions": [{"start": 0, "end": 14, "username": "telekom_hilft", "id": "1003"}]
        },
    }
    if author == "1003":  # the support account answers the post before it
        parent = str(X_BASE + n - 1)
        body.update(
            text=f"@kundin_anna Das tut uns leid, wir schauen es uns an. ^AB ({n})",
            conversation_id=parent,
            in_reply_to_user_id="1001",
            referenced_tweets=[{"type": "replied_to", "id": parent}],
            entities={
                "mentions": [{"start": 0, "end": 12, "username": "kundin_anna", "id": "1001"}]
            },
        )
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


class XApi:
    """/2/tweets/search/recent over a list of tweets: newest first, since_id,
    max_results and an opaque next_token, like the real endpoint."""

    def __init__(self, tweets: list[dict[str, Any]]) -> None:
        self.tweets = tweets

    def search(self, params: dict[str, str]) -> Reply:
        pool = sorted(self.tweets, key=lambda t: int(t["id"]), reverse=True)
        if "since_id" in params:
            pool = [t for t in pool if int(t["id"]) > int(params["since_id"])]
        if "next_token" in params:
            below = int(params["next_token"].removeprefix("nt"), 36)
            pool = [t for t in pool if int(t["id"]) < below]
        size = int(params["max_results"])
        page, rest = pool[:size], pool[size:]
        if not page:
            return json_reply({"meta": {"result_count": 0}})
        meta = {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"], "result_count": len(page)}
        if rest:
            meta["next_token"] = self.token_below(page[-1]["id"])
        authors = {t.get("author_id") for t in page}
        users = [
            {"id": i, "name": h.title(), "username": h} for i, h in X_USERS.items() if i in authors
        ]
        return json_reply(
            {"data": page, "includes": {"users": users}, "meta": meta},
            **{"x-rate-limit-limit": "450", "x-rate-limit-remaining": "400"},
        )

    @staticmethod
    def token_below(tweet_id: str) -> str:
        return "nt" + _base36(int(tweet_id))

    def users(self, params: dict[str, str]) -> Reply:
        data = [
            {
                "id": "1003",
                "name": "Telekom hilft",
                "username": "telekom_hilft",
                "public_metrics": {
                    "followers_count": 81234,
                    "following_count": 120,
                    "tweet_count": 402113,
                    "listed_count": 517,
                },
            },
        ]
        wanted = set(params["usernames"].lower().split(","))
        return json_reply({"data": [u for u in data if u["username"] in wanted]})


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"


def x_server(fake_api: FakeApi, tweets: list[dict[str, Any]]) -> XApi:
    api = XApi(tweets)
    fake_api.routes["/2/tweets/search/recent"] = api.search
    fake_api.routes["/2/users/by"] = api.users
    return api


SEARCH = "/2/tweets/search/recent"


def test_x_collector_rides_out_every_fault_and_loads_each_post_once(tmp_path, fake_api, caplog):
    tweets = [tweet(n) for n in range(1, 35)]
    tweets[14] = tweet(15, created_at=None)  # page 2 carries one broken record
    tweets[19] = tweet(20, referenced_tweets=[{"type": "retweeted", "id": "42"}])
    api = x_server(fake_api, tweets)
    fake_api.faults = [
        Fault(SEARCH, rate_limited(**{"Retry-After": "7"}), nth=1),
        Fault(SEARCH, unavailable, nth=3),
        Fault(SEARCH, too_slow, nth=5),
        Fault(SEARCH, truncated(api.search), nth=7),
    ]
    config = telekom_config(tmp_path, "x", f"{fake_api.url}/2", page_size=10)
    warehouse, sleeps = tmp_path / "warehouse", []

    with caplog.at_level(logging.WARNING, logger="carewatch.collect"):
        summary = run("x", config, warehouse, sleeps)

    valid = {t["id"] for t in tweets} - {str(X_BASE + 15), str(X_BASE + 20)}
    loaded = query(warehouse, "select post_id from raw.posts where platform = 'x'")
    assert len(loaded) == len(valid) == 32
    assert {r[0] for r in loaded} == valid
    assert (summary.loaded, summary.quarantined, summary.skipped, summary.pages) == (32, 1, 1, 4)
    reasons = query(warehouse, "select source, reason from raw.quarantine")
    assert reasons == [("x-api", "missing `created_at`")]
    assert [f.kind for f in summary.faults] == [
        "rate_limited",
        "server_error",
        "timeout",
        "bad_body",
    ]
    assert sleeps == [7.0, 1.0, 1.0, 1.0]  # Retry-After honoured, then backoff
    assert len([r for r in caplog.records if r.name == "carewatch.collect"]) == 4
    assert TOKEN not in caplog.text and TOKEN not in str(summary.as_dict())
    (cursor,) = cursors("x", warehouse).values()
    assert cursor["since"] == str(X_BASE + 34) and cursor["pending"] is None


def test_x_query_sends_the_configured_search_and_bearer_token(tmp_path, fake_api):
    x_server(fake_api, [tweet(1)])
    config = telekom_config(tmp_path, "x", f"{fake_api.url}/2", page_size=10)

    run("x", config, tmp_path / "warehouse", [])

    (path, params, headers) = next(r for r in fake_api.requests if r[0] == SEARCH)
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert params["query"].startswith("(@telekom_hilft OR to:telekom_hilft OR from:telekom_hilft")
    assert params["query"].endswith('-"Telekom Baskets" -is:retweet')
    assert params["max_results"] == "10" and "author_id" in params["expansions"]
    assert {"created_at", "conversation_id", "referenced_tweets", "lang", "author_id"} <= set(
        params["tweet.fields"].split(",")
    )


def test_x_cursor_stays_at_the_last_good_page_until_the_gap_is_read(tmp_path, fake_api):
    tweets = [tweet(n) for n in range(1, 31)]
    api = x_server(fake_api, tweets)
    page3 = api.token_below(str(X_BASE + 11))  # pages: 30..21, 20..11, 10..1
    broken_page = Fault(
        SEARCH, unavailable, when=lambda p: p.get("next_token") == page3, sticky=True
    )
    fake_api.faults = [broken_page]
    config = telekom_config(tmp_path, "x", f"{fake_api.url}/2", page_size=10)
    warehouse = tmp_path / "warehouse"

    first = run("x", config, warehouse, [])

    assert first.loaded == 20 and first.pages == 2
    assert [f.wait_seconds is None for f in first.faults] == [False, False, False, True]
    (cursor,) = cursors("x", warehouse).values()
    assert cursor["since"] is None  # never past a page that did not load
    assert cursor["pending"] == {"token": page3, "newest": str(X_BASE + 30)}

    fake_api.faults.clear()
    api.tweets += [tweet(n) for n in range(31, 34)]  # new posts meanwhile
    fake_api.requests.clear()
    second = run("x", config, warehouse, [])

    searches = fake_api.calls(SEARCH)
    assert searches[0].get("next_token") == page3 and "since_id" not in searches[0]
    assert searches[1]["since_id"] == str(X_BASE + 30) and "next_token" not in searches[1]
    assert second.loaded == 13
    ids = query(warehouse, "select post_id from raw.posts")
    assert sorted(int(r[0]) - X_BASE for r in ids) == list(range(1, 34))
    (cursor,) = cursors("x", warehouse).values()
    assert cursor == {**cursor, "since": str(X_BASE + 33), "pending": None}


def test_x_account_statistics_are_one_snapshot_per_account_and_day(tmp_path, fake_api):
    x_server(fake_api, [tweet(1)])
    config = telekom_config(tmp_path, "x", f"{fake_api.url}/2", page_size=10)
    warehouse = tmp_path / "warehouse"

    run("x", config, warehouse, [])
    run("x", config, warehouse, [])

    rows = query(
        warehouse,
        "select platform, account_handle, brand_key, day, followers_count, listed_count, "
        "post_count from raw.account_stats_daily",
    )
    day = datetime.fromtimestamp(NOW, tz=UTC).date()
    assert rows == [("x", "telekom_hilft", "telekom", day, 81234, 517, 402113)]
    usernames = fake_api.calls("/2/users/by")[0]["usernames"].split(",")
    assert sorted(usernames) == ["deutschetelekom", "telekom_hilft"]


# --- Mastodon ------------------------------------------------------------------------

M_BASE = 116_000_000_000_000_000
M_START = datetime(2026, 5, 21, 10, 0, tzinfo=UTC)


def status(n: int, **overrides: Any) -> dict[str, Any]:
    """Status n in the shape of /api/v1/timelines/tag/:hashtag."""
    status_id = str(M_BASE + n * 1000)
    account = {
        "id": "77",
        "username": "kunde",
        "acct": "kunde@social.example",
        "display_name": "Kunde",
        "followers_count": 3,
        "statuses_count": 40,
    }
    body = {
        "id": status_id,
        "created_at": iso(M_START + timedelta(minutes=11 * n)),
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "de",
        "uri": f"https://social.example/users/kunde/statuses/{status_id}",
        "url": f"https://social.example/@kunde/{status_id}",
        "content": (
            '<p><span class="h-card"><a href="https://mastodon.example/@telekom_hilft" '
            'class="u-url mention">@<span>telekom_hilft</span></a></span> Router blinkt rot '
            f"&amp; nichts geht (#{n})</p><p>Zweiter Absatz<br>neue Zeile "
            '<a href="https://mastodon.example/tags/telekom" class="mention hashtag" '
            'rel="tag">#<span>Telekom</span></a></p>'
        ),
        "reblog": None,
        "account": account,
        "mentions": [
            {
                "id": "5",
                "username": "telekom_hilft",
                "acct": "telekom_hilft",
                "url": "https://mastodon.example/@telekom_hilft",
            }
        ],
        "tags": [{"name": "telekom", "url": "https://mastodon.example/tags/telekom"}],
    }
    body.update(overrides)
    return body


class MastodonApi:
    """A tag timeline with max_id / since_id / limit paging, newest first."""

    def __init__(self, statuses: list[dict[str, Any]]) -> None:
        self.statuses = statuses

    def timeline(self, params: dict[str, str]) -> Reply:
        pool = sorted(self.statuses, key=lambda s: int(s["id"]), reverse=True)
        if "max_id" in params:
            pool = [s for s in pool if int(s["id"]) < int(params["max_id"])]
        if "since_id" in params:
            pool = [s for s in pool if int(s["id"]) > int(params["since_id"])]
        return json_reply(pool[: int(params.get("limit", 20))])

    def lookup(self, params: dict[str, str]) -> Reply:
        if params["acct"] != "telekom_hilft":
            return json_reply({"error": "Record not found"}, 404)
        return json_reply(
            {
                "id": "5",
                "username": "telekom_hilft",
                "acct": "telekom_hilft",
                "followers_count": 1520,
                "following_count": 8,
                "statuses_count": 930,
            }
        )


TAG = "/api/v1/timelines/tag/telekom"


def test_mastodon_collector_turns_html_into_text_and_resumes_after_its_cursor(tmp_path, fake_api):
    statuses = [status(n) for n in range(1, 13)]
    statuses[3] = status(4, in_reply_to_id=str(M_BASE + 3000), in_reply_to_account_id="77")
    statuses[6] = status(7, account=None)  # broken: no account
    statuses[8] = status(9, reblog=status(2))  # a boost: skipped
    api = MastodonApi(statuses)
    fake_api.routes[TAG] = api.timeline
    fake_api.routes["/api/v1/accounts/lookup"] = api.lookup
    reset = iso(datetime.fromtimestamp(NOW, tz=UTC) + timedelta(seconds=60))
    fake_api.faults = [
        Fault(TAG, rate_limited(**{"X-RateLimit-Reset": reset}), nth=1),
        Fault(TAG, truncated(api.timeline), nth=3),
    ]
    config = telekom_config(tmp_path, "mastodon", fake_api.url, page_size=5, tags=["telekom"])
    warehouse, sleeps = tmp_path / "warehouse", []

    summary = run("mastodon", config, warehouse, sleeps)

    assert (summary.loaded, summary.quarantined, summary.skipped) == (10, 1, 1)
    assert [f.kind for f in summary.faults] == ["rate_limited", "bad_body"]
    assert sleeps == [61.0, 1.0]  # the ISO reset time (+1 s), then backoff
    rows = dict(query(warehouse, "select post_id, text from raw.posts"))
    assert rows[str(M_BASE + 1000)] == (
        "@telekom_hilft Router blinkt rot & nichts geht (#1)\n\nZweiter Absatz\nneue Zeile #Telekom"
    )
    assert query(
        warehouse,
        f"select parent_post_id, author_handle, mentioned_handles "
        f"from raw.posts where post_id = '{M_BASE + 4000}'",
    ) == [(str(M_BASE + 3000), "kunde@social.example", '["telekom_hilft"]')]
    assert query(warehouse, "select reason from raw.quarantine") == [
        ("status has no `account` object",)
    ]
    assert cursors("mastodon", warehouse)["tag:telekom"]["since"] == str(M_BASE + 12000)

    fake_api.requests.clear()
    again = run("mastodon", config, warehouse, [])
    assert fake_api.calls(TAG)[0]["since_id"] == str(M_BASE + 12000)
    assert again.loaded == 0
    assert query(warehouse, "select count(*) from raw.posts") == [(10,)]


def test_mastodon_statistics_skip_accounts_the_instance_does_not_know(tmp_path, fake_api):
    api = MastodonApi([])
    fake_api.routes[TAG] = api.timeline
    fake_api.routes["/api/v1/accounts/lookup"] = api.lookup
    config = telekom_config(tmp_path, "mastodon", fake_api.url, tags=["telekom"])

    summary = run("mastodon", config, tmp_path / "warehouse", [])

    assert summary.faults == [] and summary.accounts == 1
    assert summary.queries["account:deutschetelekom"] == "not found on this instance"
    assert query(
        tmp_path / "warehouse",
        "select account_handle, followers_count, listed_count, "
        "post_count from raw.account_stats_daily",
    ) == [("telekom_hilft", 1520, None, 930)]


# --- Bluesky -------------------------------------------------------------------------

B_START = datetime(2026, 5, 22, 12, 0, tzinfo=UTC)
DID = "did:plc:kunde7x3q"


def post_view(n: int, **record_overrides: Any) -> dict[str, Any]:
    """A postView as app.bsky.feed.searchPosts returns it."""
    uri = f"at://{DID}/app.bsky.feed.post/3lx{n:05d}"
    text = f"@telekom.bsky.social Telekom Störung in Köln? ({n})"
    record = {
        "$type": "app.bsky.feed.post",
        "createdAt": iso(B_START + timedelta(minutes=13 * n)),
        "langs": ["de"],
        "text": text,
        "facets": [
            {
                "index": {"byteStart": 0, "byteEnd": len("@telekom.bsky.social")},
                "features": [
                    {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:telekom"}
                ],
            }
        ],
    }
    record.update(record_overrides)
    view = {
        "uri": uri,
        "cid": f"bafyrei{n:040d}",
        "author": {
            "did": DID,
            "handle": "kunde.bsky.social",
            "displayName": "Kunde",
            "labels": [],
            "createdAt": "2024-01-01T00:00:00.000Z",
        },
        "record": record,
        "replyCount": 0,
        "repostCount": 0,
        "likeCount": 1,
        "quoteCount": 0,
        "indexedAt": iso(B_START + timedelta(minutes=13 * n, seconds=2)),
        "labels": [],
    }
    return view


class BlueskyApi:
    """searchPosts (sort=latest) with limit, cursor and an inclusive `since`."""

    def __init__(self, posts: list[dict[str, Any]]) -> None:
        self.posts = posts

    def search(self, params: dict[str, str]) -> Reply:
        if params["q"] != "Telekom":
            return json_reply({"posts": []})
        pool = sorted(self.posts, key=lambda p: p["indexedAt"], reverse=True)
        if "since" in params:
            pool = [p for p in pool if p["record"].get("createdAt", "") >= params["since"]]
        start = int(params.get("cursor", "0"))
        size = int(params["limit"])
        page = pool[start : start + size]
        body: dict[str, Any] = {"posts": page}
        if start + size < len(pool):
            body["cursor"] = str(start + size)
        return json_reply(body)

    def profiles(self, params: dict[str, str]) -> Reply:
        return json_reply(
            {
                "profiles": [
                    {
                        "did": "did:plc:telekom",
                        "handle": "telekom.bsky.social",
                        "followersCount": 2210,
                        "followsCount": 14,
                        "postsCount": 388,
                    }
                ]
            }
        )


SEARCH_POSTS = "/xrpc/app.bsky.feed.searchPosts"


def test_bluesky_collector_threads_replies_and_keeps_at_uris(tmp_path, fake_api):
    posts = [post_view(n) for n in range(1, 8)]
    root, parent = posts[0]["uri"], posts[1]["uri"]
    posts[2] = post_view(
        3, reply={"root": {"uri": root, "cid": "c1"}, "parent": {"uri": parent, "cid": "c2"}}
    )
    del posts[4]["record"]  # a post without its record
    api = BlueskyApi(posts)
    fake_api.routes[SEARCH_POSTS] = api.search
    fake_api.routes["/xrpc/app.bsky.actor.getProfiles"] = api.profiles
    fake_api.faults = [
        Fault(SEARCH_POSTS, rate_limited(**{"ratelimit-reset": str(int(NOW) + 20)}), nth=1),
        Fault(SEARCH_POSTS, lambda p: Reply(502, b"Bad Gateway"), nth=3),
    ]
    config = telekom_config(
        tmp_path, "bluesky", f"{fake_api.url}/xrpc", page_size=3, accounts=["telekom.bsky.social"]
    )
    warehouse, sleeps = tmp_path / "warehouse", []

    summary = run("bluesky", config, warehouse, sleeps)

    assert (summary.loaded, summary.quarantined) == (6, 1)
    assert sleeps == [21.0, 1.0]
    assert [f.kind for f in summary.faults] == ["rate_limited", "server_error"]
    reply = query(
        warehouse,
        "select parent_post_id, conversation_id, mentioned_handles, "
        f"language from raw.posts where post_id = '{posts[2]['uri']}'",
    )
    assert reply == [(parent, root, '["telekom.bsky.social"]', "de")]
    assert query(warehouse, "select reason from raw.quarantine") == [
        ("post has no `record` object",)
    ]
    assert query(
        warehouse, "select account_handle, followers_count, post_count from raw.account_stats_daily"
    ) == [("telekom.bsky.social", 2210, 388)]
    telekom = next(c for c in cursors("bluesky", warehouse).values() if c["query"] == "Telekom")
    assert telekom["since"] == posts[-1]["record"]["createdAt"] and telekom["pending"] is None

    fake_api.requests.clear()
    run("bluesky", config, warehouse, [])
    first = next(p for p in fake_api.calls(SEARCH_POSTS) if p["q"] == "Telekom")
    assert first["since"] == telekom["since"]
    assert query(warehouse, "select count(*) from raw.posts") == [(6,)]


# --- the command line and the Prefect flow -----------------------------------------


def _write_config(tmp_path: Path, source: str, base_url: str, **settings: Any) -> Path:
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    raw["brands"] = [b for b in raw["brands"] if b["key"] == "telekom"]
    raw["collection"] = {source: {"enabled": True, "base_url": base_url, **settings}}
    path = tmp_path / "carewatch.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_collect_command_prints_the_summary_and_the_faults(tmp_path, fake_api, capsys):
    from carewatch.cli import main

    api = MastodonApi([status(1), status(2)])
    fake_api.routes[TAG] = api.timeline
    fake_api.routes["/api/v1/accounts/lookup"] = api.lookup
    fake_api.faults = [Fault(TAG, rate_limited(**{"Retry-After": "0"}), nth=1)]
    config = _write_config(tmp_path, "mastodon", fake_api.url, tags=["telekom"])

    code = main(["--config", str(config), "--warehouse", str(tmp_path / "wh"), "collect"])

    out = capsys.readouterr().out
    assert code == 0
    assert "mastodon: 2 posts loaded, 0 quarantined, 2 pages, 1 account snapshots, 1 faults" in out
    assert "fault: mastodon-api: rate_limited HTTP 429" in out


def test_collect_without_the_x_token_names_the_missing_secret(tmp_path, capsys, monkeypatch):
    from carewatch.cli import main

    monkeypatch.delenv("SOURCES__X_API__BEARER_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)  # no .dlt/secrets.toml here
    config = _write_config(tmp_path, "x", "http://127.0.0.1:9/2")

    code = main(
        ["--config", str(config), "--warehouse", str(tmp_path / "wh"), "collect", "--source", "x"]
    )

    assert code == 2
    assert "SOURCES__X_API__BEARER_TOKEN" in capsys.readouterr().err


def test_collect_mentions_flow_reads_the_token_from_the_environment(
    tmp_path, fake_api, monkeypatch, prefect_harness
):
    from flows.collect_mentions import collect_mentions

    x_server(fake_api, [tweet(n) for n in range(1, 4)])
    monkeypatch.setenv("SOURCES__X_API__BEARER_TOKEN", TOKEN)
    config = _write_config(tmp_path, "x", f"{fake_api.url}/2", page_size=10)

    results = collect_mentions(
        source="x", warehouse_dir=str(tmp_path / "wh"), config_path=str(config)
    )
    skipped = collect_mentions(
        source="bluesky", warehouse_dir=str(tmp_path / "wh"), config_path=str(config)
    )

    assert [(r["source"], r["loaded"], r["faults"]) for r in results] == [("x", 3, [])]
    assert skipped == []  # not enabled in that configuration
    (_path, _params, headers) = next(r for r in fake_api.requests if r[0] == SEARCH)
    assert headers["Authorization"] == f"Bearer {TOKEN}"


def test_x_cursor_the_api_refuses_is_dropped_instead_of_blocking_the_query(tmp_path, fake_api):
    api = x_server(fake_api, [tweet(n) for n in range(1, 6)])
    config = telekom_config(tmp_path, "x", f"{fake_api.url}/2", page_size=10)
    warehouse = tmp_path / "warehouse"
    run("x", config, warehouse, [])
    too_old = Fault(
        SEARCH,
        lambda p: json_reply({"title": "Invalid Request", "detail": "since_id is too old"}, 400),
        when=lambda p: "since_id" in p,
        sticky=True,
    )
    fake_api.faults = [too_old]
    api.tweets += [tweet(6)]

    summary = run("x", config, warehouse, [])

    assert summary.loaded == 6 and [f.status for f in summary.faults] == [400]
    (cursor,) = cursors("x", warehouse).values()
    assert cursor["since"] == str(X_BASE + 6)


# --- configuration -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "key", "problem"),
    [
        ({"x": {"enabled": "yes"}}, "collection.x.enabled", "true or false"),
        ({"x": {"page_size": 500}}, "collection.x.page_size", "between 10 and 100"),
        ({"mastodon": {"base_url": "ftp://example"}}, "collection.mastodon.base_url", "http"),
        ({"mastodon": {"tags": ["#ok", "not ok"]}}, "collection.mastodon.tags", "hashtags"),
        ({"bluesky": {"token": "s3cr3t"}}, "collection.bluesky.token", "not a known key"),
        ({"max_retries": 0}, "collection.max_retries", "positive integer"),
        ({"threads": []}, "collection.threads", "not a known key"),
    ],
)
def test_collection_settings_fail_fast_naming_the_key(tmp_path, section, key, problem):
    from carewatch.config import ConfigError

    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    raw["collection"] = section

    with pytest.raises(ConfigError) as error:
        parse_config(raw, tmp_path / "carewatch.yml")

    assert f"`{key}`" in str(error.value) and problem in str(error.value)


def test_the_shipped_configuration_collects_nothing_until_enabled():
    from carewatch.config import load_config

    collection = load_config().collection
    assert collection.enabled == ()
    assert collection.source("mastodon").tags == ("telekom", "telekomhilft", "magentatv")

"""Contract tests on real public payloads in ../shared/data/ (never copied into
the repository; skipped when the folder is absent).

Every file in api_examples/ is imported end to end into a DuckDB warehouse, and
every record in it is accounted for: loaded, skipped as a repost, or quarantined
exactly when it lacks a field the normalised post needs (counted here
independently with plain `json`). The TWCS sample and the IBM conversations
load completely, and the TWCS sample builds, checks and publishes.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from carewatch import pipeline
from carewatch.collect import import_file
from carewatch.config import load_config
from carewatch.pipeline import Warehouse
from pipelines.reading import strip_json_comments

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
API_EXAMPLES = SHARED_DATA / "api_examples"
FORMATS = {"x_api_v2": "x-v2", "mastodon": "mastodon", "bluesky": "bluesky"}

pytestmark = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} is absent (real public samples)"
)


def _payload_files() -> list[Path]:
    if not API_EXAMPLES.is_dir():
        return []
    return sorted(
        p
        for p in API_EXAMPLES.glob("*/*")
        if p.is_file() and not p.name.startswith("_") and p.parent.name in FORMATS
    )


@pytest.fixture(autouse=True)
def _customer_key(monkeypatch):
    monkeypatch.setenv("CAREWATCH__CUSTOMER_KEY_SECRET", "test-secret")


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse / "carewatch.duckdb"), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def _document(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return json.loads(strip_json_comments(text) if path.suffix == ".jsonc" else text)


def _expected(fmt: str, doc: Any) -> dict[str, int]:
    """Records in a payload, counted independently: which load, skip or quarantine."""
    counts = {"loaded": 0, "skipped": 0, "quarantined": 0}
    if fmt == "x-v2":
        includes = doc.get("includes", {})
        users = {u["id"] for u in includes.get("users", [])}
        for tweet in doc.get("data", []) + includes.get("tweets", []):
            refs = tweet.get("referenced_tweets", [])
            if any(r["type"] == "retweeted" for r in refs):
                counts["skipped"] += 1
            elif tweet.get("author_id") in users and tweet.get("created_at"):
                counts["loaded"] += 1
            else:
                counts["quarantined"] += 1
    elif fmt == "mastodon":
        if isinstance(doc, dict) and ("statuses" in doc or "ancestors" in doc):
            statuses = (
                doc.get("ancestors", []) + doc.get("statuses", []) + doc.get("descendants", [])
            )
        else:
            statuses = doc if isinstance(doc, list) else [doc]
        for status in statuses:
            if status.get("reblog"):
                counts["skipped"] += 1
            elif isinstance(status.get("account"), dict) and status.get("content"):
                counts["loaded"] += 1
            else:
                counts["quarantined"] += 1
    else:
        if "thread" in doc:
            views, node = [], doc["thread"]
            stack = [node]
            parent = node.get("parent")
            while parent:
                views.append(parent["post"])
                parent = parent.get("parent")
            while stack:
                current = stack.pop()
                if "post" in current:
                    views.append(current["post"])
                stack.extend(current.get("replies", []))
        else:
            views = doc["posts"]
        for view in views:
            ok = isinstance(view.get("record"), dict) and view["record"].get("text")
            counts["loaded" if ok else "quarantined"] += 1
    return counts


@pytest.mark.parametrize("path", _payload_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_record_of_a_real_payload_is_loaded_skipped_or_quarantined(tmp_path, path):
    fmt = FORMATS[path.parent.name]
    expected = _expected(fmt, _document(path))

    summary = import_file(fmt, path, tmp_path)

    got = {"loaded": summary.loaded, "skipped": summary.skipped, "quarantined": summary.quarantined}
    assert got == expected
    if summary.loaded:
        platform = {"x-v2": "x", "mastodon": "mastodon", "bluesky": "bluesky"}[fmt]
        assert _rows(tmp_path, "select distinct platform from raw.posts") == [(platform,)]
        assert _rows(tmp_path, "select count(*) from raw.posts where created_at is null") == [(0,)]


def test_real_x_replies_keep_their_thread_and_authors(tmp_path):
    path = API_EXAMPLES / "x_api_v2" / "x_v2_search_all__to_kfc__206_replies.json"
    doc = _document(path)
    replied = {
        t["id"]
        for t in doc["data"] + doc["includes"].get("tweets", [])
        if any(r["type"] == "replied_to" for r in t.get("referenced_tweets", []))
    }

    import_file("x-v2", path, tmp_path)

    with_parent = _rows(tmp_path, "select post_id from raw.posts where parent_post_id is not null")
    assert {r[0] for r in with_parent} == replied
    handles = {u["username"].lower() for u in doc["includes"]["users"]}
    loaded_authors = {r[0].lower() for r in _rows(tmp_path, "select author_handle from raw.posts")}
    assert loaded_authors <= handles and "kfc" in {
        h
        for r in _rows(tmp_path, "select mentioned_handles from raw.posts")
        for h in json.loads(r[0])
    }


def test_real_bluesky_replies_point_to_their_parent_and_root(tmp_path):
    path = API_EXAMPLES / "bluesky" / "bskyr_vcr__app.bsky.feed.searchPosts__q_redistricting.json"
    replies = {
        p["uri"]: (p["record"]["reply"]["parent"]["uri"], p["record"]["reply"]["root"]["uri"])
        for p in _document(path)["posts"]
        if "reply" in p["record"]
    }

    import_file("bluesky", path, tmp_path)

    loaded = {
        r[0]: (r[1], r[2])
        for r in _rows(tmp_path, "select post_id, parent_post_id, conversation_id from raw.posts")
        if r[1] is not None
    }
    assert loaded == replies and len(replies) == 12


def test_real_mastodon_reply_threads_by_in_reply_to_id(tmp_path):
    path = API_EXAMPLES / "mastodon" / "mastodonpy_cassette__status_reply_in_reply_to.json"
    status = _document(path)

    import_file("mastodon", path, tmp_path)

    assert _rows(tmp_path, "select post_id, parent_post_id, text from raw.posts") == [
        (status["id"], status["in_reply_to_id"], "@mastodonpy_test_2 same!")
    ]


def test_the_twcs_sample_loads_every_row_and_finds_its_support_accounts(tmp_path):
    path = SHARED_DATA / "twcs" / "twcs_random5000.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    support = {r["author_id"].lower() for r in rows if r["inbound"] == "False"}

    summary = import_file("twcs", path, tmp_path)

    assert (summary.loaded, summary.quarantined) == (len(rows), 0)
    discovered = {r[0] for r in _rows(tmp_path, "select handle from raw.discovered_accounts")}
    assert discovered == support


def test_the_ibm_conversations_load_with_their_support_accounts(tmp_path):
    tweet_ids, companies = set(), set()
    for name in ("dev.json", "test.json"):
        conversations = json.loads((SHARED_DATA / "ibm_cdp" / name).read_text(encoding="utf-8"))
        for c in conversations:
            tweet_ids |= {t["tweet_ID"] for t in c["dialogContent"]} | {c["agentURL"]["tweet_ID"]}
            companies.add(c["dialogHeader"]["company"].lower())
        summary = import_file("ibm-cdp", SHARED_DATA / "ibm_cdp" / name, tmp_path)
        assert summary.quarantined == 0

    loaded = {r[0] for r in _rows(tmp_path, "select post_id from raw.posts")}
    assert loaded == tweet_ids
    discovered = {r[0] for r in _rows(tmp_path, "select handle from raw.discovered_accounts")}
    assert companies <= discovered


def test_the_twcs_sample_publishes_reporting_tables_for_its_brands(tmp_path):
    """The acceptance path: import TWCS, then build, check and publish (no collection)."""
    warehouse = Warehouse(tmp_path)
    import_file("twcs", SHARED_DATA / "twcs" / "twcs_random5000.csv", tmp_path)
    as_of = pipeline.parse_as_of("2017-12-05T00:00:00Z")

    pipeline.sync_config(load_config(), warehouse)
    pipeline.build_models(warehouse, as_of)
    report = pipeline.check_models(warehouse, "twcs-acceptance")
    assert report.passed, [f.describe() for f in report.failures]
    pipeline.publish(warehouse, "twcs-acceptance", as_of)

    con = duckdb.connect(str(warehouse.reporting_path), read_only=True)
    try:
        brands = {r[0] for r in con.sql("select distinct brand from fct_complaints").fetchall()}
        daily = con.sql("select count(*) from sla_daily").fetchone()[0]
    finally:
        con.close()
    assert {"applesupport", "amazonhelp", "comcast"} <= brands
    assert len(brands) > 50 and daily > 0

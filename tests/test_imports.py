"""File imports: each format maps into the normalised post shape, streams, and
re-importing the same file adds nothing. Fixtures are written by the project
(tests/fixtures/imports/); the real public samples are in test_real_payloads.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from carewatch import pipeline
from carewatch.cli import main
from carewatch.collect import import_file
from carewatch.config import load_config
from carewatch.pipeline import Warehouse

FIXTURES = Path(__file__).parent / "fixtures" / "imports"
SAMPLES = {
    "jsonl": "posts.jsonl",
    "twcs": "twcs_sample.csv",
    "x-v2": "x_v2_pages.jsonl",
    "mastodon": "mastodon_timeline.json",
    "bluesky": "bluesky_thread.json",
    "ibm-cdp": "ibm_cdp_sample.json",
}


@pytest.fixture(autouse=True)
def _customer_key(monkeypatch):
    monkeypatch.setenv("CAREWATCH__CUSTOMER_KEY_SECRET", "test-secret")


def rows(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse / "carewatch.duckdb"), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def posts(warehouse: Path) -> dict[str, dict]:
    con = duckdb.connect(str(warehouse / "carewatch.duckdb"), read_only=True)
    try:
        table = con.sql(
            "select post_id, author_handle, created_at, text, language, parent_post_id, "
            "conversation_id, mentioned_handles, source from raw.posts"
        )
        columns = table.columns
        return {r[0]: dict(zip(columns, r, strict=True)) for r in table.fetchall()}
    finally:
        con.close()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_twcs_rows_load_with_classic_times_float_ids_and_multiline_text(tmp_path):
    summary = import_file("twcs", FIXTURES / SAMPLES["twcs"], tmp_path)

    assert (summary.loaded, summary.quarantined) == (7, 0)
    loaded = posts(tmp_path)
    assert loaded["2"]["parent_post_id"] == "1"  # "1.0" in the file
    assert loaded["2"]["text"].endswith("Please DM us. ^JK") and "\n" in loaded["2"]["text"]
    assert loaded["1"]["created_at"] == utc("2017-10-31T22:10:47+00:00")
    assert loaded["6"]["created_at"] == utc("2017-11-01T14:45:00+00:00")  # -0500 offset
    assert loaded["6"]["text"] == '@Delta flight 1234 delayed, "again", no info at the gate'
    assert loaded["1"]["mentioned_handles"] == '["applesupport"]'
    assert rows(tmp_path, "select distinct platform from raw.posts") == [("twcs",)]


def test_twcs_support_accounts_become_brands_unless_configured(tmp_path):
    import_file("twcs", FIXTURES / SAMPLES["twcs"], tmp_path)
    config = load_config()

    pipeline.sync_config(config, Warehouse(tmp_path))

    discovered = rows(tmp_path, "select handle from raw.discovered_accounts order by 1")
    assert discovered == [("applesupport",), ("comcastcares",), ("delta",)]
    brands = dict(rows(tmp_path, "select brand_key, timezone from carewatch_config.brands"))
    assert {k for k in brands} == {b.key for b in config.brands} | {"applesupport", "delta"}
    assert brands["applesupport"] == config.defaults.timezone
    accounts = dict(rows(tmp_path, "select handle, brand_key from carewatch_config.brand_accounts"))
    assert accounts["comcastcares"] == "comcast"  # the configuration wins
    assert accounts["applesupport"] == "applesupport"
    hours = rows(
        tmp_path,
        "select count(*) from carewatch_config.service_hours where brand_key = 'delta'",
    )
    assert hours == [(len(config.defaults.service_hours),)]
    assert rows(
        tmp_path, "select count(*) > 0 from carewatch_config.holidays where brand_key = 'delta'"
    ) == [(True,)]


def test_normalised_jsonl_accepts_offsets_and_epoch_seconds(tmp_path):
    summary = import_file("jsonl", FIXTURES / SAMPLES["jsonl"], tmp_path)

    assert (summary.loaded, summary.quarantined) == (3, 0)
    loaded = posts(tmp_path)
    assert loaded["9000002"]["created_at"] == utc("2026-03-02T08:07:00+00:00")
    assert loaded["110000000000000001"]["created_at"] == datetime.fromtimestamp(1772442000, UTC)


def test_x_v2_pages_thread_through_included_tweets_and_skip_retweets(tmp_path):
    summary = import_file("x-v2", FIXTURES / SAMPLES["x-v2"], tmp_path)

    assert (summary.loaded, summary.quarantined, summary.skipped) == (3, 0, 1)
    loaded = posts(tmp_path)
    brand_reply = loaded["1850000000000000005"]  # only in includes.tweets
    assert brand_reply["author_handle"] == "telekom_hilft"
    assert brand_reply["parent_post_id"] == "1850000000000000001"
    assert loaded["1850000000000000010"]["conversation_id"] == "1850000000000000001"
    assert loaded["1850000000000000001"]["language"] is None  # "und"
    assert loaded["1850000000000000001"]["source"] == "x-v2:x_v2_pages.jsonl"


def test_mastodon_statuses_become_text_posts_and_boosts_are_skipped(tmp_path):
    summary = import_file("mastodon", FIXTURES / SAMPLES["mastodon"], tmp_path)

    assert (summary.loaded, summary.skipped) == (2, 1)
    loaded = posts(tmp_path)
    assert (
        loaded["112000000000000010"]["text"]
        == "Seit drei Tagen kein #MagentaTV — @telekom_hilft hallo?"
    )
    reply = loaded["112000000000000020"]
    assert reply["parent_post_id"] == "112000000000000010"
    assert reply["mentioned_handles"] == '["kunde@social.example"]'


def test_bluesky_thread_loads_parent_post_and_replies(tmp_path):
    summary = import_file("bluesky", FIXTURES / SAMPLES["bluesky"], tmp_path)

    assert summary.loaded == 3
    loaded = posts(tmp_path)
    root = "at://did:plc:kunde123/app.bsky.feed.post/3lq2a"
    answer = loaded["at://did:plc:telekomxyz/app.bsky.feed.post/3lq2b"]
    assert (answer["parent_post_id"], answer["conversation_id"]) == (root, root)
    assert answer["mentioned_handles"] == '["kunde.bsky.social"]'
    assert loaded[root]["conversation_id"] == root
    thanks = loaded["at://did:plc:kunde123/app.bsky.feed.post/3lq2c"]
    assert thanks["parent_post_id"] == "at://did:plc:telekomxyz/app.bsky.feed.post/3lq2b"


def test_ibm_conversations_chain_turns_and_time_the_closing_answer(tmp_path):
    summary = import_file("ibm-cdp", FIXTURES / SAMPLES["ibm-cdp"], tmp_path)

    assert (summary.loaded, summary.quarantined, summary.discovered) == (6, 0, 2)
    loaded = posts(tmp_path)
    closing = loaded["1240027125642166276"]
    assert closing["author_handle"] == "ExampleCare"
    assert closing["created_at"] == utc("2020-03-17T21:28:00+00:00")  # from the snowflake id
    assert closing["parent_post_id"] == "1240025615692726275"
    assert closing["conversation_id"] == "1240023350768566273"
    assert loaded["1240186173649846277"]["author_handle"] == "other_user"  # `client1`


def _snapshot(warehouse: Path) -> dict[str, tuple]:
    con = duckdb.connect(str(warehouse / "carewatch.duckdb"), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.sql(
                "select table_name from information_schema.tables where table_schema = 'raw' "
                "and table_name not like '\\_dlt%' escape '\\'"
            ).fetchall()
        ]
        out = {}
        for table in tables:
            columns = [
                c[0]
                for c in con.sql(
                    "select column_name from information_schema.columns where table_schema = "
                    "'raw' and table_name = ? and column_name not like '\\_dlt%' escape '\\'",
                    params=[table],
                ).fetchall()
            ]
            selected = ", ".join(f'"{c}"' for c in columns)
            out[table] = con.sql(
                f"select count(*), coalesce(sum(hash(row({selected}))), 0) from raw.{table}"
            ).fetchone()
        return out
    finally:
        con.close()


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_reimporting_the_same_file_changes_nothing(tmp_path, fmt):
    path = FIXTURES / SAMPLES[fmt]
    import_file(fmt, path, tmp_path)
    before = _snapshot(tmp_path)

    again = import_file(fmt, path, tmp_path)

    assert again.loaded > 0
    assert _snapshot(tmp_path) == before


def test_json_documents_stream_across_chunk_boundaries(tmp_path, monkeypatch):
    import pipelines.reading

    whole = tmp_path / "whole"
    import_file("mastodon", FIXTURES / SAMPLES["mastodon"], whole)
    monkeypatch.setattr(pipelines.reading, "_CHUNK", 7)  # every value crosses many chunks
    chunked = tmp_path / "chunked"

    import_file("mastodon", FIXTURES / SAMPLES["mastodon"], chunked)

    assert _snapshot(chunked)["posts"][0] == 2
    assert posts(chunked).keys() == posts(whole).keys()


def test_import_command_prints_a_summary_and_exits_zero(tmp_path, capsys):
    code = main(
        [
            "--warehouse",
            str(tmp_path),
            "import",
            "--format",
            "twcs",
            str(FIXTURES / SAMPLES["twcs"]),
        ]
    )

    assert code == 0
    out = capsys.readouterr().out
    assert "twcs:twcs_sample.csv: 7 posts loaded, 0 quarantined, 3 support accounts found" in out


def test_a_file_that_is_not_twcs_is_refused_with_exit_2(tmp_path, capsys):
    path = tmp_path / "other.csv"
    path.write_text("id,user,message\n1,anna,hello\n", encoding="utf-8")

    code = main(["--warehouse", str(tmp_path / "wh"), "import", "--format", "twcs", str(path)])

    assert code == 2
    assert "not a TWCS file, the header lacks tweet_id" in capsys.readouterr().err


def test_a_discovered_handle_never_takes_a_configured_brand_key(tmp_path):
    path = tmp_path / "twcs.csv"
    path.write_text(
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
        "1,Vodafone,False,Tue Oct 31 22:10:47 +0000 2017,@700001 How can we help?,,\n",
        encoding="utf-8",
    )
    import_file("twcs", path, tmp_path / "wh")

    pipeline.sync_config(load_config(), Warehouse(tmp_path / "wh"))

    accounts = dict(
        rows(tmp_path / "wh", "select handle, brand_key from carewatch_config.brand_accounts")
    )
    assert accounts["vodafone"] == "vodafone_2"  # `vodafone` is the configured brand's key
    assert accounts["vodafone_de"] == "vodafone"

"""Loading the project's own JSONL format: bad lines to quarantine, re-loads add nothing."""

from __future__ import annotations

import json

import duckdb

from carewatch.pipeline import Warehouse, load_jsonl


def _post(post_id: str, **overrides) -> dict:
    post = {
        "platform": "x",
        "post_id": post_id,
        "author_handle": "kunde_1",
        "created_at": "2026-03-02T09:00:00Z",
        "text": "@telekom_hilft seit heute kein Netz",
        "language": "de",
        "parent_post_id": None,
        "conversation_id": None,
        "mentioned_handles": ["telekom_hilft"],
    }
    post.update(overrides)
    return post


def test_broken_lines_are_quarantined_and_valid_neighbours_load(tmp_path):
    lines = [
        json.dumps(_post("1")),
        '{"platform": "x", "post_id": "2", "text": "cut off',
        json.dumps(_post("3", created_at="yesterday")),
        json.dumps(_post("4", text="   ")),
        json.dumps(_post("5", author_handle=None)),
        json.dumps(_post("6", parent_post_id="1")),
    ]
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    warehouse = Warehouse(tmp_path / "warehouse")

    first = load_jsonl(path, warehouse)
    second = load_jsonl(path, warehouse)

    assert (first.loaded, first.quarantined) == (2, 4)
    assert (second.loaded, second.quarantined) == (2, 4)
    con = duckdb.connect(str(warehouse.path), read_only=True)
    try:
        assert sorted(r[0] for r in con.sql("select post_id from raw.posts").fetchall()) == [
            "1",
            "6",
        ]
        reasons = sorted(r[0] for r in con.sql("select reason from raw.quarantine").fetchall())
    finally:
        con.close()
    assert len(reasons) == 4
    assert any(r.startswith("broken JSON on line 2") for r in reasons)
    assert any("unparsable `created_at`" in r for r in reasons)
    assert "empty `text`" in reasons
    assert "missing `author_handle`" in reasons


def test_large_imports_split_into_several_loads_without_loss_or_doubles(tmp_path):
    from pipelines.loader import load_records

    posts = [_post(str(n)) for n in range(30)]
    posts.insert(12, {"platform": "x", "post_id": "broken"})
    warehouse = Warehouse(tmp_path / "warehouse")
    for _ in range(2):
        summary = load_records(
            iter(posts), "test", warehouse.directory, posts_per_load=7, batch_size=4
        )
        assert (summary.loaded, summary.quarantined) == (30, 1)
    con = duckdb.connect(str(warehouse.path), read_only=True)
    try:
        assert con.sql("select count(*), count(distinct post_id) from raw.posts").fetchone() == (
            30,
            30,
        )
        assert con.sql("select count(*) from raw.quarantine").fetchone() == (1,)
    finally:
        con.close()


def test_a_slice_appends_new_posts_merges_known_ones_and_keeps_the_last_duplicate(tmp_path):
    """Posts new to the warehouse are appended, posts it holds are merged (updated in
    place), and of two rows with one key in a slice the later one is loaded."""
    from pipelines.loader import load_records

    warehouse = Warehouse(tmp_path / "warehouse")
    load_records(iter([_post("1"), _post("2")]), "test", warehouse.directory)
    second = [
        _post("2", text="@telekom_hilft geht wieder, danke"),  # known: merged
        _post("3", text="@telekom_hilft erste Fassung"),
        _post("3", text="@telekom_hilft zweite Fassung"),  # same key, later row wins
    ]
    summary = load_records(iter(second), "test", warehouse.directory)
    assert summary.loaded == 3
    con = duckdb.connect(str(warehouse.path), read_only=True)
    try:
        rows = con.sql("select post_id, text from raw.posts order by post_id").fetchall()
        staged = con.sql("select count(*) from raw_staging.posts").fetchone()[0]
    finally:
        con.close()
    assert rows == [
        ("1", "@telekom_hilft seit heute kein Netz"),
        ("2", "@telekom_hilft geht wieder, danke"),
        ("3", "@telekom_hilft zweite Fassung"),
    ]
    assert staged == 0  # the merge's staging copy is emptied

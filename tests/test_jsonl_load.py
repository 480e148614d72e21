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

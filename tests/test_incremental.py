"""The every-15-minutes cycle: only new posts are classified, results equal a full rebuild."""

from __future__ import annotations

import json

from carewatch import pipeline
from tests.conftest import DEMO_ARGS


def _marts(warehouse) -> dict[str, list]:
    with warehouse.connect() as con:
        return {
            table: con.sql(f"select * from marts.{table} order by all").fetchall()
            for table in ("fct_complaints", "fct_responses", "fct_follow_ups", "sla_daily")
        }


def test_a_cycle_classifies_only_new_posts_and_matches_a_full_rebuild(scratch_warehouse, tmp_path):
    as_of = pipeline.demo_as_of(DEMO_ARGS["start"], DEMO_ARGS["days"])
    with scratch_warehouse.connect() as con:
        old_version = con.sql(
            "select any_value(lexicon_version), count(*) from intermediate.int_posts_classified"
        ).fetchone()
        customer_post = con.sql(
            "select p.post_id, p.author_handle, p.created_at from raw.posts p "
            "join marts.fct_complaints c on c.opening_post_id = p.post_id "
            "where c.brand = 'telekom' and c.first_response_at is null limit 1"
        ).fetchone()
    new_posts = [
        {
            "platform": "demo",
            "post_id": "late-reply-1",
            "author_handle": "telekom_hilft",
            "created_at": "2026-05-10T09:00:00Z",
            "text": f"@{customer_post[1]} Sorry für die Wartezeit! Schreib uns eine DM. ^AB",
            "parent_post_id": customer_post[0],
        },
        {
            "platform": "demo",
            "post_id": "new-case-1",
            "author_handle": "kunde_neu",
            "created_at": "2026-05-10T10:00:00Z",
            "text": "@telekom_hilft seit gestern kein Internet, Router blinkt rot",
        },
    ]
    path = tmp_path / "new.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in new_posts) + "\n", encoding="utf-8")
    pipeline.load_jsonl(path, scratch_warehouse)

    pipeline.build_models(scratch_warehouse, as_of)

    with scratch_warehouse.connect() as con:
        version, rows = con.sql(
            "select any_value(lexicon_version), count(*) from intermediate.int_posts_classified"
        ).fetchone()
        answered = con.sql(
            "select first_response_post_id from marts.fct_complaints where opening_post_id = ?",
            params=[customer_post[0]],
        ).fetchone()[0]
        new_case = con.sql(
            "select is_complaint from marts.fct_complaints where opening_post_id = 'new-case-1'"
        ).fetchone()
    assert (version, rows) == (old_version[0], old_version[1] + 2)
    assert answered == "late-reply-1"
    assert new_case == (True,)

    incremental = _marts(scratch_warehouse)
    pipeline.build_models(scratch_warehouse, as_of, full_refresh=True)
    assert _marts(scratch_warehouse) == incremental

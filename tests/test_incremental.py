"""The every-15-minutes cycle: only new posts are classified, results equal a full rebuild."""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb

from carewatch import pipeline
from carewatch.cli import main
from carewatch.publish import REPORTING_TABLES, reader_columns
from tests.conftest import DEMO_ARGS


def _marts(warehouse) -> dict[str, list]:
    """The marts as readers get them (build stamps left out, as publish does)."""
    with warehouse.connect() as con:
        return {
            table: con.sql(
                f"select {', '.join(reader_columns(con, table))} from marts.{table} order by all"
            ).fetchall()
            for table in REPORTING_TABLES
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
        # the case models recomputed the two touched conversations, nothing else
        recomputed, total = con.sql(
            "select count(*) filter (where built_at = (select max(built_at) "
            "from intermediate.int_cases_responded)), count(*) "
            "from intermediate.int_cases_responded"
        ).fetchone()
        touched_cases = con.sql(
            "select count(*) from intermediate.int_cases_opened where conversation_root_post_id in "
            "(select conversation_root_post_id from intermediate.int_posts_threaded "
            "where post_id in ('late-reply-1', 'new-case-1'))"
        ).fetchone()[0]
    assert (version, rows) == (old_version[0], old_version[1] + 2)
    assert recomputed == touched_cases >= 2
    assert total > 10 * recomputed
    assert answered == "late-reply-1"
    assert new_case == (True,)

    incremental = _marts(scratch_warehouse)
    pipeline.build_models(scratch_warehouse, as_of, full_refresh=True)
    assert _marts(scratch_warehouse) == incremental


def _published(warehouse) -> dict[str, list]:
    """The reporting file's tables (publish_info aside), rows in a stable order."""
    con = duckdb.connect(str(warehouse.reporting_path), read_only=True)
    try:
        return {t: con.sql(f"select * from {t} order by all").fetchall() for t in REPORTING_TABLES}
    finally:
        con.close()


def _last_publish_mode(warehouse) -> str:
    with warehouse.connect() as con:
        return con.sql(
            "select mode from audit.publish_log order by published_at desc limit 1"
        ).fetchone()[0]


def _publish_changes_then_whole(warehouse, as_of, name: str) -> dict[str, list]:
    """Publish what changed, then everything: both files must hold the same rows."""
    pipeline.publish(warehouse, f"{name}-changes", as_of)
    assert _last_publish_mode(warehouse) == "changes"
    by_difference = _published(warehouse)
    pipeline.publish(warehouse, f"{name}-whole", as_of, whole=True)
    assert _last_publish_mode(warehouse) == "whole"
    assert _published(warehouse) == by_difference
    return by_difference


def _threads(warehouse) -> list:
    with warehouse.connect() as con:
        return con.sql(
            "select platform, post_id, conversation_root_post_id, reply_depth, "
            "customer_ancestor_post_id from intermediate.int_posts_threaded order by all"
        ).fetchall()


def _load(warehouse, tmp_path, name: str, posts: list[dict]) -> None:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in posts) + "\n", encoding="utf-8")
    pipeline.load_jsonl(path, warehouse)


def test_a_late_parent_rethreads_its_replies_and_a_config_change_rebuilds(
    scratch_warehouse, tmp_path
):
    """Replies that arrived before their parent join its conversation once it
    arrives (the case moves to the parent); a changed watch-term list rebuilds the
    mentions. Each incremental cycle equals a full rebuild of the same data."""
    as_of = pipeline.demo_as_of(DEMO_ARGS["start"], DEMO_ARGS["days"])
    customer = "kunde_spaet"
    _load(
        scratch_warehouse,
        tmp_path,
        "orphans",
        [
            {
                "platform": "demo",
                "post_id": "orphan-reply",
                "author_handle": customer,
                "created_at": "2026-05-10T09:30:00Z",
                "text": "@telekom_hilft immer noch kein Netz, bitte meldet euch",
                "parent_post_id": "late-root",
            },
            {
                "platform": "demo",
                "post_id": "orphan-answer",
                "author_handle": "telekom_hilft",
                "created_at": "2026-05-10T09:45:00Z",
                "text": f"@{customer} Das tut uns leid! Schreib uns bitte eine DM. ^AB",
                "parent_post_id": "orphan-reply",
            },
        ],
    )
    pipeline.build_models(scratch_warehouse, as_of)
    with scratch_warehouse.connect() as con:
        stamps = con.sql(
            "select count(distinct built_at) from intermediate.int_posts_authored"
        ).fetchone()[0]
    assert stamps == 2  # the first build's rows, and only the new posts' rows of this cycle

    _load(
        scratch_warehouse,
        tmp_path,
        "late-parent",
        [
            {
                "platform": "demo",
                "post_id": "late-root",
                "author_handle": customer,
                "created_at": "2026-05-10T09:00:00Z",
                "text": "@telekom_hilft seit heute morgen kein Netz in Bonn",
            }
        ],
    )
    pipeline.build_models(scratch_warehouse, as_of)
    with scratch_warehouse.connect() as con:
        root = con.sql(
            "select conversation_root_post_id from intermediate.int_posts_threaded "
            "where post_id = 'orphan-answer'"
        ).fetchone()[0]
        opening = con.sql(
            "select opening_post_id, first_response_post_id from marts.fct_complaints "
            "where opening_post_id in ('late-root', 'orphan-reply')"
        ).fetchall()
    assert root == "late-root"
    assert opening == [("late-root", "orphan-answer")]
    # the case that opened on the orphan reply is gone: publishing the changes removes it
    published = _publish_changes_then_whole(scratch_warehouse, as_of, "late-parent")
    assert not [r for r in published["fct_complaints"] if "orphan-reply" in r]
    incremental = (_marts(scratch_warehouse), _threads(scratch_warehouse))
    pipeline.build_models(scratch_warehouse, as_of, full_refresh=True)
    assert (_marts(scratch_warehouse), _threads(scratch_warehouse)) == incremental

    with scratch_warehouse.connect() as con:
        con.execute(
            "delete from carewatch_config.brand_terms where brand_key = 'vodafone' "
            "and term_kind = 'watch'"
        )
    pipeline.build_models(scratch_warehouse, as_of)
    changed_config = _marts(scratch_warehouse)
    assert changed_config != incremental[0]  # the term change did change the marts
    _publish_changes_then_whole(scratch_warehouse, as_of, "changed-config")
    pipeline.build_models(scratch_warehouse, as_of, full_refresh=True)
    assert _marts(scratch_warehouse) == changed_config


def test_pending_cases_breach_with_the_clock_and_an_earlier_as_of_recomputes_all(
    scratch_warehouse,
):
    """Only a pending case's status depends on "as of": a later cycle recomputes the
    pending cases (not the history) and equals a full rebuild, and so does a cycle
    with an earlier "as of" than the stored statuses."""
    as_of = pipeline.demo_as_of(DEMO_ARGS["start"], DEMO_ARGS["days"])
    with scratch_warehouse.connect() as con:
        pending, total = con.sql(
            "select count(*) filter (where sla_status = 'pending'), count(*) "
            "from marts.fct_complaints"
        ).fetchone()
    assert 0 < pending < total

    later = as_of + timedelta(days=30)
    pipeline.build_models(scratch_warehouse, later)
    with scratch_warehouse.connect() as con:
        still_pending, restamped = con.sql(
            "select count(*) filter (where sla_status = 'pending'), count(*) filter "
            "(where built_at = (select max(built_at) from marts.fct_complaints)) "
            "from marts.fct_complaints"
        ).fetchone()
    assert still_pending == 0  # a month later every unanswered case is breached
    assert restamped == pending  # and only the pending ones were recomputed
    moved_on = _marts(scratch_warehouse)
    published = _publish_changes_then_whole(scratch_warehouse, later, "later")
    assert published["fct_complaints"]
    pipeline.build_models(scratch_warehouse, later, full_refresh=True)
    assert _marts(scratch_warehouse) == moved_on

    pipeline.build_models(scratch_warehouse, as_of)  # back to the earlier "as of"
    went_back = _marts(scratch_warehouse)
    with scratch_warehouse.connect() as con:
        assert (
            con.sql(
                "select count(*) from marts.fct_complaints where sla_status = 'pending'"
            ).fetchone()[0]
            == pending
        )
    pipeline.build_models(scratch_warehouse, as_of, full_refresh=True)
    assert _marts(scratch_warehouse) == went_back


def test_a_reporting_file_this_warehouse_did_not_write_is_published_whole(
    scratch_warehouse, tmp_path
):
    as_of = pipeline.demo_as_of(DEMO_ARGS["start"], DEMO_ARGS["days"])
    pipeline.publish(scratch_warehouse, "first", as_of)
    expected = _published(scratch_warehouse)
    # someone replaces the file with another (valid) one: it cannot be a base
    foreign = duckdb.connect(str(tmp_path / "foreign.duckdb"))
    foreign.execute("create table fct_complaints as select 1 as case_id")
    foreign.execute("create table publish_info as select 'someone-else' as run_id")
    foreign.close()
    (tmp_path / "foreign.duckdb").replace(scratch_warehouse.reporting_path)
    pipeline.publish(scratch_warehouse, "second", as_of)
    assert _last_publish_mode(scratch_warehouse) == "whole"
    assert _published(scratch_warehouse) == expected


def test_run_loads_an_input_file_in_the_same_cycle(
    prefect_harness, scratch_warehouse, tmp_path, monkeypatch, capsys
):
    """`carewatch run --input FILE`: the new posts are loaded, built, checked and
    published by one run (the every-15-minutes path without a second process)."""
    monkeypatch.chdir(tmp_path)  # the run writes site/quality below the working directory
    path = tmp_path / "arrived.jsonl"
    post = {
        "platform": "demo",
        "post_id": "arrived-case-1",
        "author_handle": "kunde_neu",
        "created_at": "2026-05-10T10:00:00Z",
        "text": "@telekom_hilft seit gestern kein Internet, Router blinkt rot",
    }
    path.write_text(json.dumps(post) + "\n", encoding="utf-8")
    as_of = pipeline.demo_as_of(DEMO_ARGS["start"], DEMO_ARGS["days"])
    argv = ["--warehouse", str(scratch_warehouse.directory), "run", "--skip-collect"]
    argv += ["--as-of", as_of.isoformat(), "--input", str(path)]

    assert main(argv) == 0
    assert "1 posts loaded, 0 quarantined" in capsys.readouterr().out
    with scratch_warehouse.connect() as con:
        con.execute(f"attach '{scratch_warehouse.reporting_path}' as reporting (read_only)")
        published = con.sql(
            "select brand, is_complaint from reporting.fct_complaints "
            "where opening_post_id = 'arrived-case-1'"
        ).fetchall()
    assert published == [("telekom", True)]

    missing = tmp_path / "not-there.jsonl"
    assert main([*argv[:-1], str(missing)]) == 2
    assert "no such file" in capsys.readouterr().err

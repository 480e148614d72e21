"""The vectorised JSON Lines import (pipelines/fast_jsonl.py) loads exactly what the
Python path (read_jsonl -> validate_post) loads, and quarantines exactly what it
quarantines, with the same reasons and payloads; real DuckDB warehouses."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import duckdb
import pytest

from pipelines import fast_jsonl
from pipelines.fast_jsonl import ChunkReader, load_jsonl_file
from pipelines.jsonl_export import read_jsonl
from pipelines.loader import items_read_ahead, load_records

BAD_INPUT = Path(__file__).parent / "fixtures" / "bad_input" / "posts.jsonl"
POST_COLUMNS = (
    "platform, post_id, author_handle, author_key, created_at, text, language, "
    "parent_post_id, conversation_id, mentioned_handles, source"
)


@pytest.fixture(autouse=True)
def _customer_key(monkeypatch):
    monkeypatch.setenv("CAREWATCH__CUSTOMER_KEY_SECRET", "test-secret")


def _post(n: int, **overrides) -> bytes:
    post = {
        "platform": "demo",
        "post_id": str(1_000_000 + n),
        "author_handle": f"kunde_{n % 7}",
        "created_at": f"2026-03-{1 + n % 28:02d}T{n % 24:02d}:15:00Z",
        "text": f"@telekom_hilft kein Netz seit {n} Stunden",
        "language": "de",
        "parent_post_id": None,
        "conversation_id": str(1_000_000 + n),
        "mentioned_handles": ["telekom_hilft"],
    }
    post.update(overrides)
    return json.dumps(post, ensure_ascii=False).encode()


# valid for validate_post, but most of them not for the strict vectorised predicate
TRICKY = [
    _post(501, post_id=777001, parent_post_id=777000),  # numeric ids: the chunk fails to parse
    _post(502, author_handle="@@Kunde_Gross"),
    _post(503, parent_post_id="", conversation_id=""),
    _post(504, created_at="2026-03-02T09:00:00+02:00"),
    _post(505, created_at="2026-03-02T09:00:00.5-01:30"),
    _post(506, created_at="2026-03-02T09:00:00.123456Z"),
    _post(507, created_at="2026-03-02 09:00:00+00:00"),
    _post(508, created_at="Tue Oct 31 22:10:47 +0000 2017"),
    _post(509, created_at=1_772_442_000),
    _post(510, platform="DEMO", language="DE"),
    _post(511, platform=" Demo "),
    _post(512, language=""),
    _post(513, language=None),
    _post(514, text="Привет 😀 — ничего не работает"),
    _post(515, text="kein Netz 🙁 @Telekom_Hilft und @o2de"),
    _post(516, mentioned_handles=None),
    _post(517, mentioned_handles=["@Telekom_Hilft", "O2DE"]),
    _post(518, mentioned_handles=[]),
    _post(519, author_handle="müller"),
    _post(520, post_id="ü-520"),
    _post(521, conversation_id="  "),
    _post(522, text="tab\tand newline\n inside"),
    b'{"platform": "demo", "post_id": "1000523", "author_handle": "kunde_1",  '
    b'"created_at": "2026-03-03T10:00:00Z", "text": "spaced out", "extra": [1, 2]}',
    _post(2),  # a duplicate of a clean line
    _post(3, author_handle="@kunde_3"),  # the same post once normalised
    _post(524, created_at="2026-02-29T10:00:00Z"),  # not a leap year: quarantined
    _post(525, created_at="2026-03-02T24:00:00Z"),
    _post(526, created_at="2026-03-02T09:00:00.1234567Z"),
    b"",
    b"   ",
    _post(527) + b"\r",  # a CRLF line
    b"null",
    _post(528) + _post(529),  # two objects on one line
    b"\xef\xbb\xbf" + _post(530),  # a byte order mark
    b" " + _post(531),
    _post(532, text="BAD-duplicate-payload kaputt", author_handle=None),
    _post(532, text="BAD-duplicate-payload kaputt", author_handle=None),
    # complete records (mentions given) that are wrong in exactly one way
    _post(540, text="  \n\t "),
    _post(541, text="a\u0000b"),
    _post(542, text="\u00a0\u2003"),
    _post(543, parent_post_id="1000543"),
    _post(544, mentioned_handles=["ok", None]),
    _post(545, mentioned_handles=["Müller", "@ÄÖ"]),
    _post(546, author_handle="anna b"),
    _post(547, author_handle="@@"),
    _post(548, author_handle="kunde\u0085x"),
    _post(549, post_id="   "),
    _post(550, platform=""),
    _post(551, post_id="x" * 513),
    _post(552, author_handle="@" + "k" * 512),
    _post(553, conversation_id="a\u0001"),
    _post(554, language="Ελ"),
    _post(555, created_at="2026-13-01T00:00:00Z"),
    _post(556, created_at="0001-01-01T00:00:00+01:00"),
    _post(557, created_at="2026-03-02T09:00:00z"),
    _post(558, created_at="2026-03-02T09:00:00"),
]


def _write_mixed_file(path: Path) -> Path:
    """The bad-input corpus and the tricky lines, each between clean lines, so that
    some pieces parse cleanly around a bad line and others fall back."""
    lines = [_post(n) for n in range(60)]
    for n, line in enumerate(BAD_INPUT.read_bytes().splitlines() + TRICKY):
        lines += [line, _post(1000 + 2 * n), _post(1001 + 2 * n)]
    lines += [_post(n) for n in range(60, 120)]
    path.write_bytes(b"\n".join(lines))  # no newline after the last line
    return path


def _contents(warehouse: Path) -> tuple[list[tuple], list[tuple]]:
    con = duckdb.connect(str(warehouse / "carewatch.duckdb"), read_only=True)
    try:
        posts = con.sql(f"select {POST_COLUMNS} from raw.posts order by all").fetchall()
        quarantine = con.sql(
            "select quarantine_id, source, raw_payload, reason from raw.quarantine order by all"
        ).fetchall()
    finally:
        con.close()
    return posts, quarantine


@pytest.mark.parametrize("chunk_bytes", [700, 4096, 1 << 20])
def test_fast_path_loads_and_quarantines_exactly_like_the_python_path(
    tmp_path, monkeypatch, chunk_bytes
):
    monkeypatch.setattr(fast_jsonl, "MIN_PIECE_LINES", 4)  # halve failing chunks in small files
    path = _write_mixed_file(tmp_path / "mixed.jsonl")
    source = f"jsonl:{path.name}"

    slow = load_records(read_jsonl(path), source, tmp_path / "slow")
    fast = load_jsonl_file(path, tmp_path / "fast", chunk_bytes=chunk_bytes)

    assert (fast.loaded, fast.quarantined) == (slow.loaded, slow.quarantined)
    slow_posts, slow_quarantine = _contents(tmp_path / "slow")
    fast_posts, fast_quarantine = _contents(tmp_path / "fast")
    assert len(slow_posts) > 200 and len(slow_quarantine) > 30
    assert fast_posts == slow_posts
    assert fast_quarantine == slow_quarantine


def test_slices_read_ahead_load_exactly_what_one_slice_loads(tmp_path):
    # small slices and chunks: the background reader runs ahead of several dlt loads
    path = _write_mixed_file(tmp_path / "mixed.jsonl")
    whole = load_jsonl_file(path, tmp_path / "whole", chunk_bytes=1 << 20)
    sliced = load_jsonl_file(path, tmp_path / "sliced", chunk_bytes=700, posts_per_load=40)
    assert (sliced.loaded, sliced.quarantined) == (whole.loaded, whole.quarantined)
    assert _contents(tmp_path / "sliced") == _contents(tmp_path / "whole")


def test_read_ahead_keeps_order_raises_the_source_error_and_closes_an_abandoned_source():
    assert list(items_read_ahead(iter(range(100)), 3)) == list(range(100))

    def failing():
        yield 1
        yield 2
        raise ValueError("line 3 is broken")

    received = []
    with pytest.raises(ValueError, match="line 3 is broken"):
        for item in items_read_ahead(failing(), 2):
            received.append(item)
    assert received == [1, 2]

    closed = threading.Event()

    def endless():
        try:
            n = 0
            while True:
                n += 1
                yield n
        finally:
            closed.set()

    reader = items_read_ahead(endless(), 2)
    assert [next(reader), next(reader)] == [1, 2]
    reader.close()  # the consumer stops early (a failed load)
    assert closed.is_set()


def test_reimporting_with_the_fast_path_changes_nothing(tmp_path):
    path = _write_mixed_file(tmp_path / "mixed.jsonl")
    first = load_jsonl_file(path, tmp_path / "wh", chunk_bytes=4096)
    before = _contents(tmp_path / "wh")
    second = load_jsonl_file(path, tmp_path / "wh", chunk_bytes=4096)
    assert (second.loaded, second.quarantined) == (first.loaded, first.quarantined)
    assert _contents(tmp_path / "wh") == before


def test_clean_chunks_never_touch_the_python_path_and_bad_pieces_stay_small(monkeypatch):
    monkeypatch.setattr(fast_jsonl, "MIN_PIECE_LINES", 4)
    clean = b"\n".join(_post(n) for n in range(64)) + b"\n"
    broken = b"\n".join(
        [_post(n) for n in range(32)] + [b'{"cut": "off'] + [_post(n) for n in range(32, 64)]
    )
    reader = ChunkReader("jsonl:test")
    try:
        posts, rejects, lines = reader.read(clean, 1)
        assert (posts.num_rows, rejects, lines, reader.python_lines) == (64, [], 64, 0)

        posts, rejects, lines = reader.read(broken, 101)
        assert (posts.num_rows, lines) == (64, 65)
        assert [r.reason.split(":")[0] for r in rejects] == ["broken JSON on line 133"]
        assert 0 < reader.python_lines <= 4  # only the piece around the broken line
        assert posts["line"].to_pylist() == [n for n in range(101, 166) if n != 133]
    finally:
        reader.close()


def _python_result(chunk: bytes, source: str) -> tuple[list[dict], list]:
    import io

    from pipelines.jsonl_export import jsonl_records
    from pipelines.normalised import Rejected, validate_post

    valid, rejects = [], []
    for record in jsonl_records(io.BytesIO(chunk), source):
        result = record if isinstance(record, Rejected) else validate_post(record, source)
        (rejects if isinstance(result, Rejected) else valid).append(result)
    return valid, rejects


@pytest.mark.parametrize(
    "line",
    BAD_INPUT.read_bytes().splitlines() + TRICKY,
    ids=lambda line: line[:40].decode(errors="replace"),
)
def test_each_line_between_clean_lines_gets_the_python_result(line):
    chunk = b"\n".join([_post(1), line, _post(2)]) + b"\n"
    reader = ChunkReader("jsonl:test")
    try:
        posts, rejects, _ = reader.read(chunk, 1)
    finally:
        reader.close()
    valid, expected_rejects = _python_result(chunk, "jsonl:test")
    assert posts.drop_columns("line").to_pylist() == valid
    assert rejects == expected_rejects

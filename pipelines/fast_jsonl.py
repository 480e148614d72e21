"""A vectorised import of normalised JSON Lines files (`carewatch import --format jsonl`).

The Python path (read_jsonl -> validate_post -> posts_to_arrow) spends ~25 µs
per post. Here the file is read in chunks of whole lines, pyarrow parses a chunk
against an explicit schema, and one DuckDB query validates and normalises it
with a deliberately strict predicate: it accepts a row only when validate_post
would certainly accept it with exactly the same values. Everything else (a piece
pyarrow refuses, a row the predicate does not accept) goes through the Python
path from its original line, so what loads, what is quarantined and with which
reason does not depend on the path; only the speed does.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from carewatch.privacy import customer_key_secret, customer_keyer
from pipelines.jsonl_export import jsonl_records
from pipelines.loader import (
    LoadSummary,
    QuarantineFilter,
    quarantine_item,
    run_loads,
)
from pipelines.normalised import POST_SCHEMA, Rejected, validate_post
from pipelines.reading import progress_bar

log = logging.getLogger(__name__)

# 32 MB of lines (~100k posts) a chunk: larger chunks do not parse faster but
# raise the peak; smaller ones pay DuckDB's per-query cost more often.
CHUNK_BYTES = 32 << 20
# A piece pyarrow refuses is halved until it is this small, then read by Python.
MIN_PIECE_LINES = 1024
# Posts per dlt load. Each load pays a fixed cost (dlt's extract/normalise/load
# steps, the look-up of known keys in raw.posts) and the peak grows with the posts
# of one load (DuckDB's merge when posts are re-imported). At 1M posts, 500k a
# load took 5.4 s against 6.5 s with 250k, for ~0.1 GB more peak (1M: 5.3 s, +0.26 GB).
POSTS_PER_LOAD = 500_000
# Chunks read ahead while dlt loads the slice before them (~100k posts each): about
# one slice, so reading overlaps loading without holding more than two slices.
CHUNKS_READ_AHEAD = 4

_TEXT_FIELDS = (
    "platform",
    "post_id",
    "author_handle",
    "created_at",
    "text",
    "language",
    "parent_post_id",
    "conversation_id",
)
# Exactly the documented fields: an unknown field (which pyarrow would skip without
# the checks Python's parser applies) fails the piece, and Python reads it.
JSON_SCHEMA = pa.schema(
    [(name, pa.string()) for name in _TEXT_FIELDS] + [("mentioned_handles", pa.list_(pa.string()))]
)
_POST_FIELDS = [f for f in POST_SCHEMA if f.name != "author_key"]
# Posts before author_key, with the line they came from (to keep the file's order).
_LINED_SCHEMA = pa.schema([("line", pa.int64()), *_POST_FIELDS])

# Each condition is a subset of what validate_post accepts, chosen so that the
# normalisation below (ASCII lower, ltrim '@', '' -> NULL) equals Python's.
_ID = r"[!-~]{1,512}"  # printable ASCII, no space: non-blank, no control characters
_TIME = (
    r"(19|20|21)\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)"
)
_VALIDATE_SQL = f"""
select
    line,
    lower(platform) as platform,
    ltrim(author_handle, '@') as author_handle,
    epoch_us(try_cast(created_at as timestamptz)) as created_at,
    nullif(lower(language), '') as language,
    nullif(parent_post_id, '') as parent_post_id,
    nullif(conversation_id, '') as conversation_id,
    list_transform(mentioned_handles, h -> lower(ltrim(h, '@'))) as mentioned_handles,
    coalesce(
        regexp_full_match(platform, '[A-Za-z0-9_.-]{{1,64}}')
        and regexp_full_match(post_id, '{_ID}')
        and regexp_full_match(author_handle, '@*[!-?A-~][!-~]*')
        and length(author_handle) <= 512
        and regexp_matches(text, '[A-Za-z0-9]')
        and not regexp_matches(text, '\\x00')
        and regexp_full_match(created_at, '{_TIME}')
        and try_cast(created_at as timestamptz) is not null
        and (language is null or regexp_full_match(language, '[ -~]*'))
        and (parent_post_id is null or parent_post_id = ''
             or (regexp_full_match(parent_post_id, '{_ID}') and parent_post_id <> post_id))
        and (conversation_id is null or conversation_id = ''
             or regexp_full_match(conversation_id, '{_ID}'))
        and len(list_filter(mentioned_handles,
                            h -> h is null or not regexp_full_match(h, '[ -~]*'))) = 0,
        false
    ) as ok
from piece
"""


def read_chunks(handle: io.BufferedIOBase, chunk_bytes: int) -> Iterator[bytes]:
    """The file in pieces of whole lines, about `chunk_bytes` each."""
    while chunk := handle.read(chunk_bytes):
        if not chunk.endswith(b"\n"):
            chunk += handle.readline()  # the rest of the last line
        yield chunk


def _line_bounds(chunk: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start and end offsets of each line, and whether it is one `{...}` (no blank
    line, no leading or trailing space); only such lines go to pyarrow, whose
    reader skips blank lines and crashes on a bare `null`."""
    buf = np.frombuffer(chunk, np.uint8)
    ends = np.flatnonzero(buf == 0x0A)
    if not len(ends) or ends[-1] != len(buf) - 1:
        ends = np.append(ends, len(buf))  # the last line has no newline
    starts = np.concatenate(([0], ends[:-1] + 1))  # all < len(buf): no line is empty at the end
    objects = (buf[starts] == ord("{")) & (buf[ends - 1] == ord("}")) & (ends > starts)
    return starts, ends, objects


def _parse(piece: pa.Buffer, lines: int) -> pa.Table | None:
    """The piece as a table of JSON_SCHEMA, or None when pyarrow cannot read it as
    exactly one object a line (broken JSON, another type, unknown field, bad UTF-8)."""
    try:
        table = pj.read_json(
            pa.BufferReader(piece),
            read_options=pj.ReadOptions(block_size=16 << 20),
            parse_options=pj.ParseOptions(
                explicit_schema=JSON_SCHEMA, unexpected_field_behavior="error"
            ),
        )
    except (pa.ArrowException, UnicodeDecodeError):
        return None
    return table if table.num_rows == lines else None


class ChunkReader:
    """Turns chunks of a JSON Lines file into (posts without author_key, rejects)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.con = duckdb.connect()
        self.seconds = {"parse": 0.0, "validate": 0.0, "python": 0.0}
        self.lines = self.python_lines = 0  # lines read, and how many by the Python path

    def close(self) -> None:
        self.con.close()

    def read(self, chunk: bytes, first_line: int) -> tuple[pa.Table, list[Rejected], int]:
        """(posts, rejects, number of lines) of a chunk whose first line is `first_line`."""
        starts, ends, objects = _line_bounds(chunk)
        buffer = pa.py_buffer(chunk)  # pieces are zero-copy slices of it
        tables: list[pa.Table] = []
        python_lines: list[int] = []  # indexes of lines the Python path reads
        stack = [(0, len(starts))]
        while stack:
            lo, hi = stack.pop()
            began = time.perf_counter()
            table = None
            if objects[lo:hi].all():
                stop = min(ends[hi - 1] + 1, len(chunk))  # with its newline, if any
                piece = buffer.slice(starts[lo], stop - starts[lo])
                table = _parse(piece, hi - lo)
            self.seconds["parse"] += time.perf_counter() - began
            if table is not None:
                line = pa.array(np.arange(first_line + lo, first_line + hi, dtype=np.int64))
                accepted, refused = self._validate(table.append_column("line", line))
                tables.append(accepted)
                python_lines.extend(n - first_line for n in refused)
            elif hi - lo > MIN_PIECE_LINES:
                mid = (lo + hi) // 2
                stack += [(mid, hi), (lo, mid)]  # the first half pops first
            else:
                python_lines.extend(range(lo, hi))
        began = time.perf_counter()
        python_lines.sort()
        self.lines += len(starts)
        self.python_lines += len(python_lines)
        valid, rejects = self._python(chunk, first_line, starts, ends, python_lines)
        if valid:
            tables.append(pa.Table.from_pylist(valid, schema=_LINED_SCHEMA))
        posts = pa.concat_tables(tables) if tables else _LINED_SCHEMA.empty_table()
        if valid:  # Python's posts go back to their place in the file
            posts = posts.sort_by("line")
        self.seconds["python"] += time.perf_counter() - began
        return posts, rejects, len(starts)

    def _validate(self, table: pa.Table) -> tuple[pa.Table, list[int]]:
        """(the rows the strict predicate accepts, normalised; line numbers of the rest)"""
        began = time.perf_counter()
        self.con.register("piece", table)
        try:
            result = self.con.sql(_VALIDATE_SQL).to_arrow_table()
        finally:
            self.con.unregister("piece")
        if not result["line"].equals(table["line"]):  # DuckDB keeps the order of a scan
            raise RuntimeError("DuckDB returned the rows of a JSON Lines chunk out of order")
        ok = result["ok"]
        refused: list[int] = []
        if not pc.all(ok).as_py():
            refused = result["line"].filter(pc.invert(ok)).to_pylist()
            result, table = result.filter(ok), table.filter(ok)
        # post_id and text pass unchanged: take them from pyarrow, not through DuckDB
        accepted = (
            result.append_column("post_id", table["post_id"])
            .append_column("text", table["text"])
            .append_column("source", pa.repeat(pa.scalar(self.source), result.num_rows))
            .set_column(
                result.schema.get_field_index("created_at"),
                "created_at",
                result["created_at"].cast(pa.timestamp("us", tz="UTC")),
            )
        )
        self.seconds["validate"] += time.perf_counter() - began
        return accepted.select(_LINED_SCHEMA.names).cast(_LINED_SCHEMA), refused

    def _python(
        self, chunk: bytes, first_line: int, starts: Any, ends: Any, indexes: list[int]
    ) -> tuple[list[dict[str, Any]], list[Rejected]]:
        """The Python path (read_jsonl + validate_post) for the given lines, in order."""
        valid: list[dict[str, Any]] = []
        rejects: list[Rejected] = []
        for i in indexes:
            line = io.BytesIO(chunk[starts[i] : ends[i] + 1])
            for record in jsonl_records(line, self.source, start=first_line + i):
                if not isinstance(record, Rejected):
                    record = validate_post(record, self.source)
                if isinstance(record, Rejected):
                    rejects.append(record)
                else:
                    valid.append({**record, "line": first_line + i})
        return valid, rejects


def author_keys(posts: pa.Table, keyer: Callable[[str, str], str]) -> pa.Array:
    """keyer(platform, author_handle) per post, computed once per distinct pair."""
    pairs = pc.binary_join_element_wise(posts["platform"], posts["author_handle"], "\x1f")
    encoded = pairs.combine_chunks().dictionary_encode()
    # neither field can hold \x1f: the predicate and validate_post refuse control characters
    keys = [keyer(*pair.split("\x1f", 1)) for pair in encoded.dictionary.to_pylist()]
    return pa.array(keys, pa.string()).take(encoded.indices)


def jsonl_items(
    path: Path,
    source: str,
    summary: LoadSummary,
    *,
    keyer: Callable[[str, str], str] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    progress: bool | None = None,
) -> Iterator[Any]:
    """What `raw_items` would yield for `read_jsonl(path)`: an Arrow table of posts
    (exactly POST_SCHEMA) and a quarantine table per chunk."""
    keyer = keyer or customer_keyer(customer_key_secret())
    quarantine = QuarantineFilter(summary)
    reader = ChunkReader(source)
    keying = 0.0
    try:
        with path.open("rb") as handle, progress_bar(path, progress) as bar:
            first_line = 1
            for chunk in read_chunks(handle, chunk_bytes):
                posts, rejects, lines = reader.read(chunk, first_line)
                first_line += lines
                bar.update(len(chunk))
                del chunk
                if posts.num_rows:
                    began = time.perf_counter()
                    posts = posts.append_column("author_key", author_keys(posts, keyer))
                    posts = posts.select(POST_SCHEMA.names).cast(POST_SCHEMA)
                    keying += time.perf_counter() - began
                    summary.loaded += posts.num_rows
                    yield posts
                fresh = quarantine.fresh(rejects)
                if fresh:
                    yield quarantine_item(fresh)
                pa.default_memory_pool().release_unused()  # keep the peak of one chunk
    finally:
        reader.close()
        seconds = {**reader.seconds, "key": keying}
        log.info(
            "%s: %d of %d lines read by the Python path; %s",
            source,
            reader.python_lines,
            reader.lines,
            ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items()),
        )


def load_jsonl_file(
    path: Path,
    warehouse_dir: Path,
    *,
    source: str | None = None,
    progress: bool | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    posts_per_load: int = POSTS_PER_LOAD,
    summary: LoadSummary | None = None,
) -> LoadSummary:
    """Load a normalised JSON Lines file, as load_records(read_jsonl(path)) would."""
    source = source or f"jsonl:{path.name}"
    summary = summary or LoadSummary(source=source)
    items = jsonl_items(path, source, summary, chunk_bytes=chunk_bytes, progress=progress)
    return run_loads(
        items,
        summary,
        warehouse_dir,
        posts_per_load=posts_per_load,
        read_ahead=CHUNKS_READ_AHEAD,
    )

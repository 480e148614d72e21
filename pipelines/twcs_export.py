"""Read the Kaggle "Customer Support on Twitter" CSV (`--format twcs`), streaming.

Columns: tweet_id, author_id, inbound, created_at, text, response_tweet_id,
in_response_to_tweet_id. `created_at` looks like `Tue Oct 31 22:10:47 +0000
2017`; ids may be written as floats ("3.0"). Customer authors are anonymised
numbers; `inbound=False` authors are the brands' support accounts: each one is
recorded in `raw.discovered_accounts` and becomes its own brand unless
carewatch.yml lists the handle (see carewatch/config_tables.py).

Posts get platform `twcs`: the data set renumbered the tweets, so its ids must
not meet real X ids. A row that cannot be read (wrong number of fields, broken
quoting, bad id, bad `inbound`, unparsable time, empty text, bad UTF-8) goes to
quarantine with its original CSV text; the rows around it still load.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines.normalised import RAW_PAYLOAD_KEY, DiscoveredAccount, Rejected
from pipelines.reading import ReadStats, progress_bar

PLATFORM = "twcs"
COLUMNS = (
    "tweet_id",
    "author_id",
    "inbound",
    "created_at",
    "text",
    "response_tweet_id",
    "in_response_to_tweet_id",
)
REQUIRED = ("tweet_id", "author_id", "inbound", "created_at", "text", "in_response_to_tweet_id")
_FLOAT_ID = re.compile(r"^(\d+)(?:\.0+)?$")
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


class TwcsFormatError(ValueError):
    """The file is not a TWCS CSV at all (its header lacks the columns)."""


def _tweet_id(value: str, column: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    match = _FLOAT_ID.match(value)
    if not match:
        raise ValueError(f"`{column}` {value[:40]!r} is not a tweet id")
    return str(int(match.group(1)))


def read_twcs(
    path: Path, *, progress: bool | None = None, stats: ReadStats | None = None
) -> Iterator[dict[str, Any] | Rejected | DiscoveredAccount]:
    source = f"twcs:{path.name}"
    with path.open("rb") as handle, progress_bar(path, progress) as bar:
        consumed: list[str] = []  # the raw lines of the row being read
        state = {"line": 0, "bad_utf8": False}

        def lines() -> Iterator[str]:
            for raw in handle:
                state["line"] += 1
                bar.update(len(raw))
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    text = raw.decode("utf-8", "backslashreplace")
                    state["bad_utf8"] = True
                consumed.append(text)
                yield text

        reader = csv.reader(lines(), strict=True)
        try:
            header = [h.strip().lstrip("\ufeff") for h in next(reader)]
        except (StopIteration, csv.Error) as exc:
            raise TwcsFormatError(f"{path}: no CSV header ({exc or 'empty file'})") from exc
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise TwcsFormatError(f"{path}: not a TWCS file, the header lacks {', '.join(missing)}")
        index = {name: i for i, name in enumerate(header)}
        consumed.clear()
        seen_support: set[str] = set()
        while True:
            first_line = state["line"] + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                yield Rejected(
                    source, "".join(consumed), f"unreadable CSV row at line {first_line}: {exc}"
                )
                consumed.clear()
                state["bad_utf8"] = False
                continue
            payload = "".join(consumed).rstrip("\r\n")
            consumed.clear()
            if state["bad_utf8"]:
                state["bad_utf8"] = False
                yield Rejected(source, payload, f"row at line {first_line} is not valid UTF-8")
                continue
            if len(row) != len(header):
                yield Rejected(
                    source,
                    payload,
                    f"row at line {first_line} has {len(row)} fields, the header has {len(header)}",
                )
                continue
            mapped = _row_to_post(row, index, source, payload, first_line)
            if isinstance(mapped, dict) and mapped.pop("_support", False):
                handle = mapped["author_handle"]
                if handle and handle not in seen_support:
                    seen_support.add(handle)
                    yield DiscoveredAccount(PLATFORM, handle)
            yield mapped


def _row_to_post(
    row: list[str], index: dict[str, int], source: str, payload: str, line: int
) -> dict[str, Any] | Rejected:
    def col(name: str) -> str:
        return row[index[name]]

    try:
        post_id = _tweet_id(col("tweet_id"), "tweet_id")
        parent = _tweet_id(col("in_response_to_tweet_id"), "in_response_to_tweet_id")
    except ValueError as exc:
        return Rejected(source, payload, f"row at line {line}: {exc}")
    inbound = _BOOLEANS.get(col("inbound").strip().lower())
    if inbound is None:
        return Rejected(
            source,
            payload,
            f"row at line {line}: `inbound` must be True or False, got {col('inbound')[:20]!r}",
        )
    author = col("author_id").strip()
    return {
        RAW_PAYLOAD_KEY: payload,
        "_support": not inbound,
        "platform": PLATFORM,
        "post_id": post_id,
        "author_handle": author or None,
        "created_at": col("created_at").strip(),
        "text": col("text"),
        "language": None,
        "parent_post_id": parent,
        "conversation_id": None,
        "mentioned_handles": None,
    }

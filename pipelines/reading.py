"""Streaming readers shared by the file imports: lines, JSON values, progress.

Nothing here loads a whole file into memory (except `.jsonc` documentation
examples, see `iter_json_values`). A record that cannot be read becomes a
`Rejected` with a reason naming the line (or byte offset); the reader carries on
with the next record whenever the format allows it.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from pipelines.normalised import Rejected

try:  # dlt depends on orjson on CPython; it parses JSON Lines ~3x faster
    import orjson

    _fast_loads = orjson.loads
except ImportError:  # pragma: no cover - PyPy or a stripped environment
    _fast_loads = json.loads

# Files at least this big show a progress bar on an interactive terminal.
PROGRESS_MIN_BYTES = 16 * 1024 * 1024
# A broken JSON document's payload is kept up to this many characters.
MAX_PAYLOAD_CHARS = 1_000_000
_CHUNK = 1 << 20
_WS = re.compile(r"[ \t\n\r]*")


@dataclass
class ReadStats:
    """What a reader noticed besides records: reposts it left out, and so on."""

    skipped: int = 0
    notes: list[str] = field(default_factory=list)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


@contextmanager
def progress_bar(path: Path, progress: bool | None = None) -> Iterator[Any]:
    """A tqdm byte counter for `path`; None = only for big files on a terminal."""
    size = path.stat().st_size
    if progress is None:
        progress = size >= PROGRESS_MIN_BYTES and sys.stderr.isatty()
    if not progress:
        yield _NoBar()
        return
    from tqdm import tqdm

    bar = tqdm(total=size, unit="B", unit_scale=True, desc=f"importing {path.name}", leave=False)
    try:
        yield bar
    finally:
        bar.close()


def _payload(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "backslashreplace") if isinstance(raw, bytes) else raw
    text = text.rstrip("\r\n")
    if len(text) > MAX_PAYLOAD_CHARS:
        text = text[:MAX_PAYLOAD_CHARS] + "…[truncated]"
    return text


def iter_lines(
    handle: BinaryIO, source: str, bar: Any, start: int = 1
) -> Iterator[tuple[int, str] | Rejected]:
    """(line number, text) per non-blank line of a binary file, numbered from `start`;
    bad UTF-8 is rejected."""
    pending = 0
    for number, raw in enumerate(handle, start=start):
        pending += len(raw)
        if pending >= _CHUNK:
            bar.update(pending)
            pending = 0
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Rejected(
                source=source,
                raw_payload=_payload(raw),
                reason=f"line {number} is not valid UTF-8 (byte {exc.start}: {exc.reason})",
            )
            continue
        if line.strip():
            yield number, line
    bar.update(pending)


def loads_line(line: str) -> Any:
    """One JSON value; orjson first, the standard library for what orjson refuses
    (integers beyond 64 bits) and for its clearer error messages."""
    try:
        return _fast_loads(line)
    except ValueError:
        return json.loads(line)


def iter_json_lines(
    path: Path, source: str, *, progress: bool | None = None
) -> Iterator[tuple[int, Any] | Rejected]:
    """(line number, value) per line of a JSON Lines file; broken lines are rejected."""
    with path.open("rb") as handle, progress_bar(path, progress) as bar:
        yield from json_lines(handle, source, bar)


def json_lines(
    handle: BinaryIO, source: str, bar: Any = None, start: int = 1
) -> Iterator[tuple[int, Any] | Rejected]:
    """(line number, value) per line of an open binary stream, numbered from `start`."""
    for item in iter_lines(handle, source, bar or _NoBar(), start):
        if isinstance(item, Rejected):
            yield item
            continue
        number, line = item
        line = line.rstrip("\r\n")
        try:
            yield number, loads_line(line)
        except json.JSONDecodeError as exc:
            yield Rejected(source, _payload(line), f"broken JSON on line {number}: {exc.msg}")
        except (ValueError, RecursionError) as exc:
            yield Rejected(source, _payload(line), f"broken JSON on line {number}: {exc}")


def _looks_like_json_lines(path: Path) -> bool:
    """JSON Lines unless the first non-blank line opens a multi-line document."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return True
    with path.open("rb") as handle:
        for raw in handle:
            line = raw.strip()
            if not line:
                continue
            try:
                loads_line(line.decode("utf-8", "replace"))
                return True
            except (ValueError, RecursionError):
                return not line.endswith((b"{", b"[", b","))
    return True


def iter_json_values(
    path: Path, source: str, *, progress: bool | None = None
) -> Iterator[tuple[str, Any] | Rejected]:
    """(position, value) for each record of a JSON file, streaming.

    - JSON Lines (one value per line, e.g. twarc2 output): each line; a broken
      line is rejected and the next line still reads.
    - A JSON document (pretty-printed API response, or an array of them): each
      top-level value; a top-level array yields its elements one by one, so a
      big array never sits in memory whole. A document broken in the middle is
      rejected from that point on (the elements before it still load).
    - `.jsonc` (JSON with // comments, as in API documentation): read whole,
      comments and trailing commas removed.
    """
    if path.suffix.lower() == ".jsonc":
        text = strip_json_comments(path.read_text(encoding="utf-8", errors="replace"))
        try:
            yield "document", json.loads(text)
        except json.JSONDecodeError as exc:
            yield Rejected(source, _payload(text), f"broken JSON at char {exc.pos}: {exc.msg}")
        return
    if _looks_like_json_lines(path):
        for item in iter_json_lines(path, source, progress=progress):
            yield item if isinstance(item, Rejected) else (f"line {item[0]}", item[1])
        return
    with path.open("rb") as raw, progress_bar(path, progress) as bar:
        yield from _DocumentStream(raw, source, bar).values()


class _DocumentStream:
    """Top-level JSON values of a text stream, arrays exploded, read in chunks."""

    def __init__(self, raw: BinaryIO, source: str, bar: Any) -> None:
        import codecs

        self._raw = raw
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._json = json.JSONDecoder()
        self._source = source
        self._bar = bar
        self.buf = ""
        self.pos = 0
        self.offset = 0  # characters dropped from the front of buf
        self.eof = False

    def _fill(self) -> None:
        want = max(_CHUNK, len(self.buf) - self.pos)  # grow geometrically for big values
        data = self._raw.read(want)
        self._bar.update(len(data))
        if not data:
            self.eof = True
            text = self._decoder.decode(b"", final=True)
        else:
            text = self._decoder.decode(data)
        self.offset += self.pos
        self.buf = self.buf[self.pos :] + text
        self.pos = 0

    def _peek(self) -> str:
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or self.eof:
                return self.buf[self.pos] if self.pos < len(self.buf) else ""
            self._fill()

    def _decode(self) -> Any:
        while True:
            try:
                value, end = self._json.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                if self.eof:
                    raise
                self._fill()
                continue
            if end >= len(self.buf) and not self.eof:
                self._fill()  # a number may continue in the next chunk
                continue
            self.pos = end
            return value

    def _broken(self, exc: Exception, where: str) -> Rejected:
        at = self.offset + self.pos
        if isinstance(exc, json.JSONDecodeError) and exc.doc is self.buf:
            at = self.offset + exc.pos
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        # the payload is the rest of the file (capped): nothing after this point loads
        while not self.eof and len(self.buf) - self.pos <= MAX_PAYLOAD_CHARS:
            self._fill()
        return Rejected(
            self._source,
            _payload(self.buf[self.pos : self.pos + MAX_PAYLOAD_CHARS + 1]),
            f"broken JSON at char {at} ({where}): {message}; the rest of the file is skipped",
        )

    def values(self) -> Iterator[tuple[str, Any] | Rejected]:
        document = 0
        while self._peek():
            document += 1
            if self._peek() != "[":
                try:
                    yield f"document {document}", self._decode()
                except (ValueError, RecursionError) as exc:
                    yield self._broken(exc, f"document {document}")
                    return
                continue
            self.pos += 1  # into the array
            element = 0
            while True:
                char = self._peek()
                if char == "]":
                    self.pos += 1
                    break
                if element and char == ",":
                    self.pos += 1
                    char = self._peek()
                elif element:
                    yield self._broken(
                        json.JSONDecodeError("Expecting ',' or ']'", self.buf, self.pos),
                        f"document {document}, after element {element}",
                    )
                    return
                element += 1
                try:
                    yield f"document {document}, element {element}", self._decode()
                except (ValueError, RecursionError) as exc:
                    yield self._broken(exc, f"document {document}, element {element}")
                    return


def strip_json_comments(text: str) -> str:
    """JSONC -> JSON: drop // and /* */ comments and trailing commas outside strings."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            end = _string_end(text, i)
            out.append(text[i:end])
            i = end
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            out.append(ch)
            i += 1
    cleaned = "".join(out)
    # second pass, strings kept verbatim again: a comma before } or ] goes
    result: list[str] = []
    i, n = 0, len(cleaned)
    while i < n:
        ch = cleaned[i]
        if ch == '"':
            end = _string_end(cleaned, i)
            result.append(cleaned[i:end])
            i = end
            continue
        if ch == ",":
            j = _WS.match(cleaned, i + 1).end()
            if j < n and cleaned[j] in "}]":
                i += 1
                continue
        result.append(ch)
        i += 1
    return "".join(result)


def _string_end(text: str, start: int) -> int:
    """Index just past the JSON string opening at `start` (or the end of text)."""
    i, n = start + 1, len(text)
    while i < n:
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            return i + 1
        else:
            i += 1
    return n

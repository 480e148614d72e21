"""Read a file of normalised posts (JSON Lines), streaming.

One JSON object per line in the shape documented in the README ("Normalised
post format"). A line that is not valid JSON (or not UTF-8) becomes a
quarantine record; the rest of the file still loads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from pipelines.normalised import Rejected
from pipelines.reading import json_lines, progress_bar


def read_jsonl(path: Path, *, progress: bool | None = None) -> Iterator[dict[str, Any] | Rejected]:
    with path.open("rb") as handle, progress_bar(path, progress) as bar:
        yield from jsonl_records(handle, f"jsonl:{path.name}", bar)


def jsonl_records(
    handle: BinaryIO, source: str, bar: Any = None, start: int = 1
) -> Iterator[dict[str, Any] | Rejected]:
    """The records of an open JSON Lines stream whose first line is line `start`."""
    for item in json_lines(handle, source, bar, start):
        if isinstance(item, Rejected):
            yield item
            continue
        number, value = item
        if isinstance(value, dict):
            yield value
        else:
            yield Rejected(
                source=source,
                raw_payload=json.dumps(value, ensure_ascii=False),
                reason=f"line {number} is a JSON {type(value).__name__}, not an object",
            )

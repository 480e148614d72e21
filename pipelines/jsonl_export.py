"""Read a file of normalised posts (JSON Lines), streaming.

One JSON object per line in the shape documented in the README ("Normalised
post format"). A line that is not valid JSON becomes a quarantine record; the
rest of the file still loads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines.normalised import Rejected


def read_jsonl(path: Path) -> Iterator[dict[str, Any] | Rejected]:
    source = f"jsonl:{path.name}"
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                yield Rejected(
                    source=source,
                    raw_payload=line.rstrip("\n"),
                    reason=f"broken JSON on line {line_number}: {exc.msg}",
                )

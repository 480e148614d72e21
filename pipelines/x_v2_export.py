"""Read saved X API v2 responses (`--format x-v2`), streaming.

Accepts what people save from the API: one response per line (twarc2 and most
collectors write JSON Lines), a pretty-printed response, or an array of
responses. Each response's `data` tweets, and its `includes.tweets` (the
replied-to and quoted tweets that carry the threads), map to normalised posts
with `includes.users` naming the authors. Retweets are skipped and counted.
A tweet whose author is not in `includes.users`, a broken line or a response
without `data` goes to quarantine with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines.normalised import Rejected
from pipelines.reading import ReadStats, iter_json_values
from pipelines.x_api.helpers import response_records


def read_x_v2(
    path: Path, *, progress: bool | None = None, stats: ReadStats | None = None
) -> Iterator[dict[str, Any] | Rejected]:
    source = f"x-v2:{path.name}"
    stats = stats if stats is not None else ReadStats()
    for item in iter_json_values(path, source, progress=progress):
        if isinstance(item, Rejected):
            yield item
            continue
        _where, value = item
        yield from response_records(value, source, stats)

"""Read saved Mastodon API answers (`--format mastodon`), streaming.

Accepts Status entities in any of the shapes the API returns, saved as JSON
Lines (one answer per line) or as a document: a single status, an array of
statuses (timelines), a v2 search result (`statuses`) or a status context
(`ancestors`, `descendants`); `.jsonc` files (with // comments, as in the
Mastodon documentation) too. HTML `content` becomes text; `in_reply_to_id`
threads the replies. Boosts are skipped and counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines.mastodon.helpers import status_to_post, statuses_in
from pipelines.normalised import Rejected
from pipelines.reading import ReadStats, iter_json_values


def read_mastodon(
    path: Path, *, progress: bool | None = None, stats: ReadStats | None = None
) -> Iterator[dict[str, Any] | Rejected]:
    source = f"mastodon:{path.name}"
    stats = stats if stats is not None else ReadStats()
    for item in iter_json_values(path, source, progress=progress):
        if isinstance(item, Rejected):
            yield item
            continue
        for status in statuses_in(item[1]):
            mapped = status_to_post(status, source)
            if mapped is None:
                stats.skipped += 1
            else:
                yield mapped

"""Read saved Bluesky API answers (`--format bluesky`), streaming.

Accepts post views in the shapes the AppView returns, saved as JSON Lines or
as a document: app.bsky.feed.searchPosts (`posts`), a feed (`feed`, reposts
skipped and counted), app.bsky.feed.getPostThread (`thread`: the parents and
every reply), a single post view, or a list of these. The at:// URI is the
post id; `record.reply.parent` / `root` thread the replies.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines.bluesky.helpers import post_view_to_post, post_views_in
from pipelines.normalised import Rejected
from pipelines.reading import ReadStats, iter_json_values


def read_bluesky(
    path: Path, *, progress: bool | None = None, stats: ReadStats | None = None
) -> Iterator[dict[str, Any] | Rejected]:
    source = f"bluesky:{path.name}"
    stats = stats if stats is not None else ReadStats()
    for item in iter_json_values(path, source, progress=progress):
        if isinstance(item, Rejected):
            yield item
            continue
        for view in post_views_in(item[1], stats):
            yield post_view_to_post(view, source)

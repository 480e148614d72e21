"""Read IBM's Twitter customer-care conversations (`--format ibm-cdp`), streaming.

The "Conversational Document Prediction" data set (dev.json, test.json,
train.json): a JSON array of conversations between a customer and one of 25
brand support accounts, each with `dialogHeader` (company, start time,
duration), `dialogContent` (turns with `client` or `agent`, `datetime`,
`message`, `tweet_ID`; a second customer appears as `client1`) and `agentURL`
(the agent's closing answer with a link, `tweet_ID` and `url_utterance`, but no
time).

Mapping: every turn is a post on platform `x` (the ids are real tweet ids);
each turn replies to the turn before it and the conversation id is the first
turn's id. The closing answer's time comes from its tweet id (an X snowflake
id carries its creation time in milliseconds). Agents and companies are support
accounts: they go to `raw.discovered_accounts` and become brands unless
carewatch.yml lists them. The array is read element by element, never whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.normalised import RAW_PAYLOAD_KEY, DiscoveredAccount, Rejected
from pipelines.reading import ReadStats, iter_json_values

PLATFORM = "x"
_TWITTER_EPOCH_MS = 1288834974657


def snowflake_time(tweet_id: Any) -> str | None:
    """The creation time (ISO, UTC) encoded in an X snowflake id, if it is one."""
    if isinstance(tweet_id, bool) or not isinstance(tweet_id, str | int):
        return None
    text = str(tweet_id).strip()
    if not text.isdigit() or int(text) < (1 << 22) * 10**9:  # snowflakes began in Nov 2010
        return None
    millis = (int(text) >> 22) + _TWITTER_EPOCH_MS
    return datetime.fromtimestamp(millis / 1000, tz=UTC).isoformat()


def read_ibm_cdp(
    path: Path, *, progress: bool | None = None, stats: ReadStats | None = None
) -> Iterator[dict[str, Any] | Rejected | DiscoveredAccount]:
    source = f"ibm-cdp:{path.name}"
    seen_accounts: set[str] = set()
    for item in iter_json_values(path, source, progress=progress):
        if isinstance(item, Rejected):
            yield item
            continue
        where, conversation = item
        for record in conversation_records(conversation, source, where):
            if isinstance(record, DiscoveredAccount):
                if record.handle.lower() in seen_accounts:
                    continue
                seen_accounts.add(record.handle.lower())
            yield record


def conversation_records(
    conversation: Any, source: str, where: str
) -> Iterator[dict[str, Any] | Rejected | DiscoveredAccount]:
    if not isinstance(conversation, dict):
        yield Rejected(
            source,
            json.dumps(conversation, default=str)[:100_000],
            f"{where}: conversation is a {type(conversation).__name__}, not an object",
        )
        return
    header = conversation.get("dialogHeader")
    company = header.get("company") if isinstance(header, dict) else None
    turns = conversation.get("dialogContent")
    if not isinstance(turns, list):
        yield Rejected(
            source,
            json.dumps(conversation, default=str),
            f"{where}: conversation has no `dialogContent` list",
        )
        return
    if isinstance(company, str) and company.strip():
        yield DiscoveredAccount(PLATFORM, company.strip())
    parent: str | None = None
    root: str | None = None
    for number, turn in enumerate(turns, start=1):
        if not isinstance(turn, dict):
            yield Rejected(
                source,
                json.dumps(turn, default=str),
                f"{where}, turn {number}: turn is a {type(turn).__name__}, not an object",
            )
            continue
        # `agent` is the support account; `client`, `client1`, ... are customers
        author_key = (
            "agent"
            if "agent" in turn
            else next((k for k in turn if k.startswith("client")), "client")
        )
        author = turn.get(author_key)
        if author_key == "agent" and isinstance(author, str) and author.strip():
            yield DiscoveredAccount(PLATFORM, author.strip())
        tweet_id = turn.get("tweet_ID")
        yield {
            RAW_PAYLOAD_KEY: turn,
            "platform": PLATFORM,
            "post_id": tweet_id,
            "author_handle": author,
            "created_at": turn.get("datetime"),
            "text": turn.get("message"),
            "language": None,
            "parent_post_id": parent,
            "conversation_id": root,
            "mentioned_handles": None,
        }
        if isinstance(tweet_id, str | int) and not isinstance(tweet_id, bool) and str(tweet_id):
            parent = str(tweet_id)
            root = root or parent
    closing = conversation.get("agentURL")
    if isinstance(closing, dict):
        tweet_id = closing.get("tweet_ID")
        yield {
            RAW_PAYLOAD_KEY: closing,
            "platform": PLATFORM,
            "post_id": tweet_id,
            "author_handle": company,
            "created_at": snowflake_time(tweet_id),
            "text": closing.get("url_utterance"),
            "language": None,
            "parent_post_id": parent,
            "conversation_id": root,
            "mentioned_handles": None,
        }


__all__ = ["ReadStats", "conversation_records", "read_ibm_cdp", "snowflake_time"]

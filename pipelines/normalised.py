"""The normalised post shape every source maps into, and its validation.

A record that cannot be read becomes a quarantine row (source, raw payload,
reason) instead of stopping the batch; valid neighbours still load.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

POST_SCHEMA = pa.schema(
    [
        ("platform", pa.string()),
        ("post_id", pa.string()),
        ("author_handle", pa.string()),
        ("author_key", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("text", pa.string()),
        ("language", pa.string()),
        ("parent_post_id", pa.string()),
        ("conversation_id", pa.string()),
        ("mentioned_handles", pa.list_(pa.string())),
        ("source", pa.string()),
    ]
)

QUARANTINE_SCHEMA = pa.schema(
    [
        ("quarantine_id", pa.string()),
        ("source", pa.string()),
        ("raw_payload", pa.string()),
        ("reason", pa.string()),
        ("quarantined_at", pa.timestamp("us", tz="UTC")),
    ]
)

_MENTION_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{1,64})")
_WHITESPACE_RE = re.compile(r"\s")
_ID_TYPES = (str, int)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
MAX_ID_LENGTH = 512
# Twitter's classic (API v1.1, TWCS) timestamp: "Tue Oct 31 22:10:47 +0000 2017"
_CLASSIC_TIME_RE = re.compile(
    r"^[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} [+-]\d{4} \d{4}$"
)
_CLASSIC_TIME_FORMAT = "%a %b %d %H:%M:%S %z %Y"
# A reader may attach the record as it was read (a CSV row, an API object) under
# this key; quarantine then keeps that original payload instead of the mapped dict.
RAW_PAYLOAD_KEY = "_raw_payload"


@dataclass(frozen=True)
class Rejected:
    """A record that cannot be loaded, and why."""

    source: str
    raw_payload: str
    reason: str

    def as_row(self, now: datetime) -> dict[str, Any]:
        digest = hashlib.sha256(f"{self.source}\x1f{self.raw_payload}".encode()).hexdigest()
        return {
            "quarantine_id": digest[:32],
            "source": self.source,
            "raw_payload": self.raw_payload,
            "reason": self.reason,
            "quarantined_at": now,
        }


def mentioned_handles_in(text: str) -> list[str]:
    """@handles in a text, lower-cased, in order of appearance, without repeats."""
    return list(dict.fromkeys(m.lower() for m in _MENTION_RE.findall(text)))


def parse_timestamp(value: Any) -> datetime:
    """ISO 8601 (with offset or Z), Twitter's classic format, epoch seconds or an
    aware datetime -> aware UTC datetime."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a timestamp")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{value.isoformat()!r} has no time zone offset")
        return value.astimezone(UTC)
    if isinstance(value, int | float):
        if value != value:  # NaN
            raise ValueError("NaN is not a timestamp")
        return datetime.fromtimestamp(value, tz=UTC)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("missing")
    text = value.strip()
    if _CLASSIC_TIME_RE.match(text):
        return datetime.strptime(text, _CLASSIC_TIME_FORMAT).astimezone(UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone offset")
    return parsed.astimezone(UTC)


def _clean_id(value: Any, key: str) -> str:
    """An id or handle as text; raise ValueError naming the key when it cannot be one."""
    if isinstance(value, bool) or not isinstance(value, _ID_TYPES):
        raise ValueError(f"`{key}` must be a string, got {type(value).__name__}")
    text = str(value)
    if len(text) > MAX_ID_LENGTH:
        raise ValueError(f"`{key}` is longer than {MAX_ID_LENGTH} characters")
    if _CONTROL_RE.search(text):
        raise ValueError(f"`{key}` contains control characters")
    return text


def _optional_id(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, _ID_TYPES):
        raise ValueError(f"`{key}` must be a string or integer, got {type(value).__name__}")
    return _clean_id(value, key)


def payload_text(record: Any) -> str:
    """A record as text for the quarantine: its original payload when a reader kept it."""
    if isinstance(record, dict) and RAW_PAYLOAD_KEY in record:
        record = record[RAW_PAYLOAD_KEY]
        if isinstance(record, str):
            return record
    try:
        return json.dumps(record, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(record)


def validate_post(record: Any, source: str) -> dict[str, Any] | Rejected:
    """Check one normalised record; return the clean post or why it was rejected."""

    def reject(reason: str) -> Rejected:
        # the payload is only serialised for the (rare) rejected record
        return Rejected(source=source, raw_payload=payload_text(record), reason=reason)

    if not isinstance(record, dict):
        return reject(f"record is a {type(record).__name__}, not an object")
    ids: dict[str, str] = {}
    for key in ("platform", "post_id", "author_handle"):
        value = record.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return reject(f"missing `{key}`")
        try:
            ids[key] = _clean_id(value, key)
        except ValueError as exc:
            return reject(str(exc))
    handle = ids["author_handle"].lstrip("@").strip()
    if not handle:
        return reject("missing `author_handle`")
    if _WHITESPACE_RE.search(handle):
        return reject("`author_handle` contains whitespace")
    text = record.get("text")
    if not isinstance(text, str):
        return reject("missing `text`" if text is None else "`text` must be a string")
    if not text.strip():
        return reject("empty `text`")
    if "\x00" in text:
        return reject("`text` contains a NUL character")
    raw_time = record.get("created_at")
    if raw_time is None or raw_time == "":
        return reject("missing `created_at`")
    if isinstance(raw_time, bool) or not isinstance(raw_time, str | int | float | datetime):
        return reject(f"`created_at` must be a string, got {type(raw_time).__name__}")
    try:
        created_at = parse_timestamp(raw_time)
    except (ValueError, TypeError, OverflowError, OSError) as exc:
        return reject(f"unparsable `created_at` {raw_time!r}: {exc}")
    try:
        parent = _optional_id(record, "parent_post_id")
        conversation = _optional_id(record, "conversation_id")
    except ValueError as exc:
        return reject(str(exc))
    language = record.get("language")
    if language is not None and not isinstance(language, str):
        return reject("`language` must be a string or null")
    handles = record.get("mentioned_handles")
    if handles is None:
        handles = mentioned_handles_in(text)
    elif not isinstance(handles, list) or not all(isinstance(h, str) for h in handles):
        return reject("`mentioned_handles` must be a list of strings")
    post_id = ids["post_id"]
    if parent == post_id:
        return reject("`parent_post_id` equals `post_id`")
    return {
        "platform": ids["platform"].strip().lower(),
        "post_id": post_id,
        "author_handle": handle,
        "created_at": created_at,
        "text": text,
        "language": (language or None) and language.lower(),
        "parent_post_id": parent,
        "conversation_id": conversation,
        "mentioned_handles": [h.lstrip("@").lower() for h in handles],
        "source": source,
    }


def split_batches(
    records: Iterable[Any], source: str, batch_size: int = 50_000
) -> Iterator[tuple[list[dict[str, Any]], list[Rejected]]]:
    """Validate records lazily, yielding (valid posts, rejects) per batch."""
    valid: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    for record in records:
        # a reader may already have rejected a record it could not parse
        result = record if isinstance(record, Rejected) else validate_post(record, source)
        if isinstance(result, Rejected):
            rejected.append(result)
        else:
            valid.append(result)
        if len(valid) + len(rejected) >= batch_size:
            yield valid, rejected
            valid, rejected = [], []
    if valid or rejected:
        yield valid, rejected


def posts_to_arrow(posts: list[dict[str, Any]], keyer: Callable[[str, str], str]) -> pa.Table:
    """Valid posts as an Arrow batch, each with its author's keyed hash."""
    for post in posts:
        post["author_key"] = keyer(post["platform"], post["author_handle"])
    return pa.Table.from_pylist(posts, schema=POST_SCHEMA)


DISCOVERED_ACCOUNTS_SCHEMA = pa.schema(
    [
        ("platform", pa.string()),
        ("handle", pa.string()),
        ("display_handle", pa.string()),
        ("role", pa.string()),
        ("source", pa.string()),
        ("discovered_at", pa.timestamp("us", tz="UTC")),
    ]
)


@dataclass(frozen=True)
class DiscoveredAccount:
    """A brand support account an export reveals (TWCS `inbound=False` authors, IBM
    agents). A reader yields these among its records; they land in
    `raw.discovered_accounts` and become brands unless carewatch.yml knows the handle."""

    platform: str
    handle: str
    role: str = "support"

    def as_row(self, source: str, now: datetime) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "handle": self.handle.lower(),
            "display_handle": self.handle,
            "role": self.role,
            "source": source,
            "discovered_at": now,
        }

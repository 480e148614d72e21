"""Brand configuration: load, validate and expand `carewatch.yml`.

The file is the single source of truth. Python reads it here; the dbt models
read the same facts from the `carewatch_config` tables that `config_tables()`
produces, so no model hard-codes a brand, a handle or an hour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib
import yaml

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "carewatch.yml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ROLES = ("support", "corporate")
_HOURS_RE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_HANDLE_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_KEY_RE = re.compile(r"^[a-z0-9_]{1,32}$")


class ConfigError(ValueError):
    """A configuration problem, naming the file, the key and what is wrong."""


@dataclass(frozen=True)
class Account:
    handle: str
    role: str


@dataclass(frozen=True)
class ServiceWindow:
    """Opening hours on one ISO weekday (1 = Monday), local time."""

    iso_weekday: int
    opens_minute: int  # minutes after local midnight
    closes_minute: int  # up to 1440 (24:00)


@dataclass(frozen=True)
class Brand:
    key: str
    name: str
    own: bool
    accounts: tuple[Account, ...]
    watch_terms: tuple[str, ...]
    exclusions: tuple[str, ...]
    timezone: str
    holiday_country: str
    holiday_subdivision: str | None
    service_hours: tuple[ServiceWindow, ...]
    sla_target_minutes: int
    response_window_days: int

    @property
    def support_handles(self) -> tuple[str, ...]:
        return tuple(a.handle for a in self.accounts if a.role == "support")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def holidays(self, years: range) -> dict[date, str]:
        calendar = holidays_lib.country_holidays(
            self.holiday_country, subdiv=self.holiday_subdivision, years=list(years)
        )
        return dict(sorted(calendar.items()))


@dataclass(frozen=True)
class BrandDefaults:
    """The `defaults` section: the calendar and SLA of a brand that does not set its own
    (also used for support accounts discovered in imports, see config_tables)."""

    timezone: str = "Europe/Berlin"
    holiday_country: str = "DE"
    holiday_subdivision: str | None = None
    service_hours: tuple[ServiceWindow, ...] = ()
    sla_target_minutes: int = 60
    response_window_days: int = 7

    def brand(self, key: str, name: str, accounts: tuple[Account, ...]) -> Brand:
        """A competitor brand with these defaults, no watch terms and no exclusions."""
        return Brand(
            key=key,
            name=name,
            own=False,
            accounts=accounts,
            watch_terms=(),
            exclusions=(),
            timezone=self.timezone,
            holiday_country=self.holiday_country,
            holiday_subdivision=self.holiday_subdivision,
            service_hours=self.service_hours,
            sla_target_minutes=self.sla_target_minutes,
            response_window_days=self.response_window_days,
        )


@dataclass(frozen=True)
class CarewatchConfig:
    path: Path
    brands: tuple[Brand, ...] = field(default_factory=tuple)
    defaults: BrandDefaults = field(default_factory=BrandDefaults)
    collection: CollectionConfig = field(default_factory=lambda: CollectionConfig())
    quality: QualitySettings = field(default_factory=lambda: QualitySettings())

    def brand(self, key: str) -> Brand:
        for brand in self.brands:
            if brand.key == key:
                return brand
        raise KeyError(key)

    @property
    def own_brand(self) -> Brand:
        return next(b for b in self.brands if b.own)

    def account_brand(self) -> dict[str, tuple[Brand, Account]]:
        """Lower-cased handle -> (brand, account) for every configured account."""
        return {a.handle.lower(): (b, a) for b in self.brands for a in b.accounts}


def load_config(path: str | Path | None = None) -> CarewatchConfig:
    """Read and validate the configuration; raise ConfigError naming the key."""
    config_path = Path(path) if path else DEFAULT_CONFIG_PATH
    if not config_path.is_file():
        raise ConfigError(f"{config_path}: configuration file not found")
    try:
        raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{config_path}: not valid YAML: {exc}") from exc
    return parse_config(raw, config_path)


def parse_config(raw: Any, path: Path) -> CarewatchConfig:
    where = str(path)

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{where}: `{key}` {problem}")

    if not isinstance(raw, dict):
        raise fail("(top level)", "must be a mapping with `defaults` and `brands`")
    unknown = set(raw) - {"defaults", "brands", "collection", "quality"}
    if unknown:
        raise fail(
            sorted(unknown)[0],
            "is not a known top-level key (expected defaults, brands, collection, quality)",
        )
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise fail("defaults", "must be a mapping")
    brands_raw = raw.get("brands")
    if not isinstance(brands_raw, list) or not brands_raw:
        raise fail("brands", "must be a non-empty list of brands")

    brands: list[Brand] = []
    seen_keys: set[str] = set()
    seen_handles: dict[str, str] = {}
    for index, item in enumerate(brands_raw):
        prefix = f"brands[{index}]"
        if not isinstance(item, dict):
            raise fail(prefix, "must be a mapping")
        merged = {**defaults, **item}
        key = item.get("key")
        if not isinstance(key, str) or not _KEY_RE.match(key):
            raise fail(f"{prefix}.key", "must be lower-case letters, digits or _ (1-32 chars)")
        if key in seen_keys:
            raise fail(f"{prefix}.key", f"repeats brand key {key!r}")
        seen_keys.add(key)
        prefix = f"brands[{key}]"
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise fail(f"{prefix}.name", "must be a non-empty string")

        accounts = _parse_accounts(item.get("accounts"), f"{prefix}.accounts", fail)
        for account in accounts:
            other = seen_handles.get(account.handle.lower())
            if other:
                raise fail(
                    f"{prefix}.accounts", f"handle {account.handle!r} already belongs to {other}"
                )
            seen_handles[account.handle.lower()] = key
        watch_terms = _parse_terms(item.get("watch_terms", []), f"{prefix}.watch_terms", fail)
        exclusions = _parse_terms(item.get("exclusions", []), f"{prefix}.exclusions", fail)

        calendar = _parse_calendar(merged, prefix, fail)
        own = item.get("own", False)
        if not isinstance(own, bool):
            raise fail(f"{prefix}.own", "must be true or false")
        brands.append(
            Brand(
                key=key,
                name=name.strip(),
                own=own,
                accounts=accounts,
                watch_terms=watch_terms,
                exclusions=exclusions,
                **calendar,
            )
        )
    if sum(b.own for b in brands) != 1:
        raise fail("brands[*].own", "must be true for exactly one brand (the care team's own)")
    return CarewatchConfig(
        path=path,
        brands=tuple(brands),
        defaults=BrandDefaults(**_parse_calendar(defaults, "defaults", fail)),
        collection=parse_collection(raw.get("collection"), fail),
        quality=parse_quality(raw.get("quality"), fail),
    )


def _parse_calendar(merged: dict[str, Any], prefix: str, fail) -> dict[str, Any]:
    """Time zone, holidays, service hours and SLA of a brand (or of `defaults`)."""
    tz_name = merged.get("timezone", "Europe/Berlin")
    try:
        ZoneInfo(str(tz_name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise fail(f"{prefix}.timezone", f"{tz_name!r} is not an IANA time zone") from exc

    hol = merged.get("holidays") or {}
    if not isinstance(hol, dict) or not isinstance(hol.get("country"), str):
        raise fail(f"{prefix}.holidays.country", "must be an ISO country code such as DE")
    country, subdivision = hol["country"], hol.get("subdivision")
    try:
        holidays_lib.country_holidays(country, subdiv=subdivision, years=[2024])
    except NotImplementedError as exc:
        raise fail(f"{prefix}.holidays.country", f"{country!r} is not supported") from exc
    except Exception as exc:  # holidays raises various errors for bad subdivisions
        raise fail(f"{prefix}.holidays.subdivision", f"{subdivision!r}: {exc}") from exc

    hours = _parse_hours(merged.get("service_hours"), f"{prefix}.service_hours", fail)
    sla = merged.get("sla") or {}
    if not isinstance(sla, dict):
        raise fail(f"{prefix}.sla", "must be a mapping")
    target = sla.get("first_response_target_minutes", 60)
    window = sla.get("response_window_days", 7)
    if not isinstance(target, int) or isinstance(target, bool) or target <= 0:
        raise fail(f"{prefix}.sla.first_response_target_minutes", "must be a positive integer")
    if not isinstance(window, int) or isinstance(window, bool) or window <= 0:
        raise fail(f"{prefix}.sla.response_window_days", "must be a positive integer")
    return {
        "timezone": str(tz_name),
        "holiday_country": country,
        "holiday_subdivision": subdivision,
        "service_hours": hours,
        "sla_target_minutes": target,
        "response_window_days": window,
    }


def _parse_accounts(raw: Any, key: str, fail) -> tuple[Account, ...]:
    if not isinstance(raw, list) or not raw:
        raise fail(key, "must list at least one account")
    accounts = []
    for i, acc in enumerate(raw):
        if not isinstance(acc, dict):
            raise fail(f"{key}[{i}]", "must be a mapping with handle and role")
        handle = str(acc.get("handle", "")).lstrip("@")
        if not _HANDLE_RE.match(handle):
            raise fail(f"{key}[{i}].handle", f"{handle!r} is not a valid handle")
        role = acc.get("role")
        if role not in ROLES:
            raise fail(f"{key}[{i}].role", f"{role!r} must be one of {', '.join(ROLES)}")
        accounts.append(Account(handle=handle, role=role))
    if not any(a.role == "support" for a in accounts):
        raise fail(key, "needs at least one account with role: support")
    return tuple(accounts)


def _parse_terms(raw: Any, key: str, fail) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(t, str | int) for t in raw):
        raise fail(key, "must be a list of strings")
    terms = tuple(str(t).strip() for t in raw)
    if any(not t for t in terms):
        raise fail(key, "contains an empty term")
    return terms


def _parse_hours(raw: Any, key: str, fail) -> tuple[ServiceWindow, ...]:
    if not isinstance(raw, dict):
        raise fail(key, "must map weekdays (mon..sun) to 'HH:MM-HH:MM'")
    windows = []
    for day, value in raw.items():
        if day not in WEEKDAYS:
            raise fail(f"{key}.{day}", f"is not a weekday (use {', '.join(WEEKDAYS)})")
        if value is None:
            continue
        match = _HOURS_RE.match(str(value))
        if not match:
            raise fail(f"{key}.{day}", f"{value!r} must look like '08:00-20:00'")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
            raise fail(f"{key}.{day}", f"{value!r} is not a valid time range")
        opens, closes = h1 * 60 + m1, h2 * 60 + m2
        if closes <= opens:
            raise fail(f"{key}.{day}", f"{value!r} must close after it opens")
        windows.append(ServiceWindow(WEEKDAYS.index(day) + 1, opens, closes))
    return tuple(sorted(windows, key=lambda w: w.iso_weekday))


# --- collection -------------------------------------------------------------

COLLECTOR_SOURCES = ("x", "mastodon", "bluesky")
DEFAULT_BASE_URLS = {
    "x": "https://api.x.com/2",
    "mastodon": "https://mastodon.social",
    "bluesky": "https://public.api.bsky.app/xrpc",
}
# (smallest, largest, default) page size each API accepts
_PAGE_SIZES = {"x": (10, 100, 100), "mastodon": (1, 40, 40), "bluesky": (1, 100, 100)}
_URL_RE = re.compile(r"^https?://[^\s/?#]+(:\d+)?(/[^\s?#]*)?$")
_SOURCE_KEYS = {
    "common": {"enabled", "base_url", "max_pages", "page_size", "accounts"},
    "x": {"include_brand_posts", "max_query_length"},
    "mastodon": {"tags", "search"},
    "bluesky": {"search_handles"},
}
_COLLECTION_KEYS = {
    "max_pages",
    "timeout_seconds",
    "max_retries",
    "max_rate_limit_wait_seconds",
    "account_stats",
    *COLLECTOR_SOURCES,
}


@dataclass(frozen=True)
class SourceSettings:
    """One collector's settings from `collection.<source>` (secrets are not here)."""

    name: str
    enabled: bool = False
    base_url: str = ""
    max_pages: int = 10
    page_size: int = 100
    # handles on this platform whose daily statistics are snapshotted;
    # empty = every configured brand account's handle
    accounts: tuple[str, ...] = ()
    # x: also collect the support accounts' own posts (from:handle), i.e. their replies
    include_brand_posts: bool = True
    # x: longest query the API plan accepts; longer brand queries are split
    max_query_length: int = 512
    # mastodon: hashtag timelines to read (without '#'), and whether to run
    # /api/v2/search for each watch term and account (needs an access token)
    tags: tuple[str, ...] = ()
    search: bool = False
    # bluesky: also search "@handle" for each configured brand account
    search_handles: bool = True


@dataclass(frozen=True)
class CollectionConfig:
    """The `collection` section: which collectors run and how hard they try."""

    sources: tuple[SourceSettings, ...] = tuple(
        SourceSettings(name=n, base_url=DEFAULT_BASE_URLS[n], page_size=_PAGE_SIZES[n][2])
        for n in COLLECTOR_SOURCES
    )
    max_pages: int = 10
    timeout_seconds: float = 30.0
    max_retries: int = 5
    max_rate_limit_wait_seconds: float = 900.0
    account_stats: bool = True

    def source(self, name: str) -> SourceSettings:
        for settings in self.sources:
            if settings.name == name:
                return settings
        raise KeyError(name)

    @property
    def enabled(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sources if s.enabled)


def parse_collection(raw: Any, fail) -> CollectionConfig:
    """Validate the optional `collection` section; absent means every collector is off."""
    if raw is None:
        return CollectionConfig()
    if not isinstance(raw, dict):
        raise fail("collection", "must be a mapping")
    unknown = set(raw) - _COLLECTION_KEYS
    if unknown:
        raise fail(
            f"collection.{sorted(unknown)[0]}",
            f"is not a known key (expected {', '.join(sorted(_COLLECTION_KEYS))})",
        )
    max_pages = _positive_int(raw.get("max_pages", 10), "collection.max_pages", fail)
    max_retries = _positive_int(raw.get("max_retries", 5), "collection.max_retries", fail)
    timeout = _positive_number(raw.get("timeout_seconds", 30), "collection.timeout_seconds", fail)
    max_wait = _positive_number(
        raw.get("max_rate_limit_wait_seconds", 900),
        "collection.max_rate_limit_wait_seconds",
        fail,
    )
    account_stats = _boolean(raw.get("account_stats", True), "collection.account_stats", fail)
    sources = tuple(
        _parse_source(name, raw.get(name), max_pages, fail) for name in COLLECTOR_SOURCES
    )
    return CollectionConfig(
        sources=sources,
        max_pages=max_pages,
        timeout_seconds=float(timeout),
        max_retries=max_retries,
        max_rate_limit_wait_seconds=float(max_wait),
        account_stats=account_stats,
    )


def _parse_source(name: str, raw: Any, default_max_pages: int, fail) -> SourceSettings:
    key = f"collection.{name}"
    smallest, largest, default_size = _PAGE_SIZES[name]
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise fail(key, "must be a mapping")
    allowed = _SOURCE_KEYS["common"] | _SOURCE_KEYS[name]
    unknown = set(raw) - allowed
    if unknown:
        raise fail(
            f"{key}.{sorted(unknown)[0]}",
            f"is not a known key (expected {', '.join(sorted(allowed))})",
        )
    base_url = raw.get("base_url", DEFAULT_BASE_URLS[name])
    if not isinstance(base_url, str) or not _URL_RE.match(base_url):
        raise fail(f"{key}.base_url", f"{base_url!r} must be an http(s) URL without query")
    page_size = _positive_int(raw.get("page_size", default_size), f"{key}.page_size", fail)
    if not smallest <= page_size <= largest:
        raise fail(f"{key}.page_size", f"must be between {smallest} and {largest}")
    accounts = _string_list(raw.get("accounts", []), f"{key}.accounts", fail)
    tags = tuple(t.lstrip("#") for t in _string_list(raw.get("tags", []), f"{key}.tags", fail))
    if any(not re.fullmatch(r"\w{1,100}", t) for t in tags):
        raise fail(f"{key}.tags", "must be hashtags of letters, digits or _")
    max_query_length = _positive_int(
        raw.get("max_query_length", 512), f"{key}.max_query_length", fail
    )
    if max_query_length < 64:
        raise fail(f"{key}.max_query_length", "must be at least 64")
    return SourceSettings(
        name=name,
        enabled=_boolean(raw.get("enabled", False), f"{key}.enabled", fail),
        base_url=base_url.rstrip("/"),
        max_pages=_positive_int(raw.get("max_pages", default_max_pages), f"{key}.max_pages", fail),
        page_size=page_size,
        accounts=tuple(a.lstrip("@") for a in accounts),
        include_brand_posts=_boolean(
            raw.get("include_brand_posts", True), f"{key}.include_brand_posts", fail
        ),
        max_query_length=max_query_length,
        tags=tags,
        search=_boolean(raw.get("search", False), f"{key}.search", fail),
        search_handles=_boolean(raw.get("search_handles", True), f"{key}.search_handles", fail),
    )


def _positive_int(value: Any, key: str, fail) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise fail(key, "must be a positive integer")
    return value


def _positive_number(value: Any, key: str, fail) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise fail(key, "must be a positive number")
    return float(value)


def _boolean(value: Any, key: str, fail) -> bool:
    if not isinstance(value, bool):
        raise fail(key, "must be true or false")
    return value


def _string_list(value: Any, key: str, fail) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise fail(key, "must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


# --- quality ----------------------------------------------------------------


@dataclass(frozen=True)
class QualitySettings:
    """Thresholds and severities of the data-level checks (carewatch.data_checks)."""

    freshness_max_age_hours: float = 24.0
    freshness_severity: str = "warn"
    volume_band_factor: float = 3.0
    volume_min_median: float = 20.0
    volume_severity: str = "warn"
    frt_drift_factor: float = 2.0
    frt_drift_min_cases: int = 20
    frt_drift_severity: str = "warn"


SEVERITIES = ("warn", "error")


def parse_quality(raw: Any, fail) -> QualitySettings:
    """The optional `quality` section: thresholds and severity of the data-level checks."""
    if raw is None:
        return QualitySettings()
    if not isinstance(raw, dict):
        raise fail("quality", "must be a mapping")
    known = {f.name: f for f in fields(QualitySettings)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise fail(f"quality.{key}", f"is not a known setting ({', '.join(known)})")
        if key.endswith("_severity"):
            if value not in SEVERITIES:
                raise fail(f"quality.{key}", f"{value!r} must be warn or error")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise fail(f"quality.{key}", "must be a positive number")
        values[key] = value
    return QualitySettings(**values)

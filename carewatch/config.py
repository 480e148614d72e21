"""Brand configuration: load, validate and expand `carewatch.yml`.

The file is the single source of truth. Python reads it here; the dbt models
read the same facts from the `carewatch_config` tables that `config_tables()`
produces, so no model hard-codes a brand, a handle or an hour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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
class CarewatchConfig:
    path: Path
    brands: tuple[Brand, ...] = field(default_factory=tuple)

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
    unknown = set(raw) - {"defaults", "brands"}
    if unknown:
        raise fail(sorted(unknown)[0], "is not a known top-level key (expected defaults, brands)")
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
                timezone=str(tz_name),
                holiday_country=country,
                holiday_subdivision=subdivision,
                service_hours=hours,
                sla_target_minutes=target,
                response_window_days=window,
            )
        )
    if sum(b.own for b in brands) != 1:
        raise fail("brands[*].own", "must be true for exactly one brand (the care team's own)")
    return CarewatchConfig(path=path, brands=tuple(brands))


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

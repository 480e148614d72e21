"""Write the brand configuration into the warehouse for the dbt models.

`carewatch.yml` stays the single source of truth: these tables are rebuilt
from it before every dbt build, in one transaction, so the models never see a
half-written configuration.
"""

from __future__ import annotations

import duckdb

from carewatch.config import CarewatchConfig

CONFIG_SCHEMA = "carewatch_config"
# Public holidays are expanded for this span of years; posts outside it are
# still handled, only without holidays.
HOLIDAY_YEARS = range(2006, 2041)
_REGEX_SPECIALS = set(".^$*+?()[]{}|\\")


def term_pattern(term: str) -> str:
    """A watch term as a regex fragment: specials escaped, any run of spaces allowed."""
    escaped = "".join("\\" + ch if ch in _REGEX_SPECIALS else ch for ch in term.strip())
    return r"\s+".join(escaped.split())


def write_config_tables(config: CarewatchConfig, con: duckdb.DuckDBPyConnection) -> None:
    brands = [
        (
            b.key,
            b.name,
            b.own,
            b.timezone,
            b.holiday_country,
            b.holiday_subdivision,
            b.sla_target_minutes,
            b.response_window_days,
        )
        for b in config.brands
    ]
    accounts = [(b.key, a.handle.lower(), a.role) for b in config.brands for a in b.accounts]
    terms = [
        (b.key, term, kind, term_pattern(term))
        for b in config.brands
        for kind, group in (("watch", b.watch_terms), ("exclusion", b.exclusions))
        for term in group
    ]
    hours = [
        (b.key, w.iso_weekday, w.opens_minute, w.closes_minute)
        for b in config.brands
        for w in b.service_hours
    ]
    holidays = [
        (b.key, day, name) for b in config.brands for day, name in b.holidays(HOLIDAY_YEARS).items()
    ]
    s = CONFIG_SCHEMA
    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {s}")
        con.execute(
            f"""create or replace table {s}.brands (
                brand_key varchar primary key, brand_name varchar not null,
                is_own_brand boolean not null, timezone varchar not null,
                holiday_country varchar not null, holiday_subdivision varchar,
                sla_target_minutes integer not null, response_window_days integer not null)"""
        )
        con.executemany(f"insert into {s}.brands values (?, ?, ?, ?, ?, ?, ?, ?)", brands)
        con.execute(
            f"""create or replace table {s}.brand_accounts (
                brand_key varchar not null, handle varchar primary key, role varchar not null)"""
        )
        con.executemany(f"insert into {s}.brand_accounts values (?, ?, ?)", accounts)
        con.execute(
            f"""create or replace table {s}.brand_terms (
                brand_key varchar not null, term varchar not null,
                term_kind varchar not null, term_pattern varchar not null)"""
        )
        if terms:
            con.executemany(f"insert into {s}.brand_terms values (?, ?, ?, ?)", terms)
        con.execute(
            f"""create or replace table {s}.service_hours (
                brand_key varchar not null, iso_weekday integer not null,
                opens_minute integer not null, closes_minute integer not null)"""
        )
        if hours:
            con.executemany(f"insert into {s}.service_hours values (?, ?, ?, ?)", hours)
        con.execute(
            f"""create or replace table {s}.holidays (
                brand_key varchar not null, holiday_date date not null,
                holiday_name varchar not null)"""
        )
        con.executemany(f"insert into {s}.holidays values (?, ?, ?)", holidays)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise

"""Write the brand configuration into the warehouse for the dbt models.

`carewatch.yml` stays the single source of truth: these tables are rebuilt
from it before every dbt build, in one transaction, so the models never see a
half-written configuration.

Imports can reveal support accounts the file does not name (TWCS `inbound=False`
authors, IBM agents); they wait in `raw.discovered_accounts`. Each one the
configuration does not list becomes a brand of its own here, with the
configuration's `defaults` (time zone, service hours, holidays, SLA) and no
watch terms. A handle listed in carewatch.yml always keeps its configured brand.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import duckdb
import pyarrow as pa

from carewatch.config import Account, Brand, CarewatchConfig
from carewatch.runtime import table_exists

CONFIG_SCHEMA = "carewatch_config"
# Public holidays are expanded for this span of years; posts outside it are
# still handled, only without holidays.
HOLIDAY_YEARS = range(2006, 2041)
_REGEX_SPECIALS = set(".^$*+?()[]{}|\\")


def term_pattern(term: str) -> str:
    """A watch term as a regex fragment: specials escaped, any run of spaces allowed."""
    escaped = "".join("\\" + ch if ch in _REGEX_SPECIALS else ch for ch in term.strip())
    return r"\s+".join(escaped.split())


DISCOVERED_ACCOUNTS = ("raw", "discovered_accounts")


def discovered_brands(config: CarewatchConfig, con: duckdb.DuckDBPyConnection) -> list[Brand]:
    """A brand per discovered support account that the configuration does not know."""
    schema, table = DISCOVERED_ACCOUNTS
    if not table_exists(con, schema, table):
        return []
    rows = con.execute(
        f"""select lower(handle), min(display_handle)
            from {schema}.{table}
            where role = 'support' and coalesce(trim(handle), '') <> ''
            group by lower(handle) order by lower(handle)"""
    ).fetchall()
    known = set(config.account_brand())
    taken = {b.key for b in config.brands}
    brands = []
    for handle, display in rows:
        if handle in known:
            continue
        key = _brand_key(handle, taken)
        taken.add(key)
        brands.append(config.defaults.brand(key, display, (Account(display, "support"),)))
    return brands


def _brand_key(handle: str, taken: set[str]) -> str:
    """A brand key from a handle: lower-case letters, digits and _, unique, <= 32 chars."""
    base = re.sub(r"[^a-z0-9_]", "_", handle.lower())[:32] or "account"
    key, number = base, 1
    while key in taken:
        number += 1
        suffix = f"_{number}"
        key = base[: 32 - len(suffix)] + suffix
    return key


def _insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    """Rows into `table` in one statement: executemany runs one insert per row, and with
    thousands of holiday rows (one set per discovered brand) that outgrew the memory limit."""
    if not rows:
        return
    columns = [c[0] for c in con.sql(f"select * from {table} limit 0").description]
    batch = pa.table({name: [row[i] for row in rows] for i, name in enumerate(columns)})
    con.register("cw_config_rows", batch)
    try:
        con.execute(f"insert into {table} select * from cw_config_rows")
    finally:
        con.unregister("cw_config_rows")


def write_config_tables(config: CarewatchConfig, con: duckdb.DuckDBPyConnection) -> None:
    all_brands = (*config.brands, *discovered_brands(config, con))
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
        for b in all_brands
    ]
    accounts = [(b.key, a.handle.lower(), a.role) for b in all_brands for a in b.accounts]
    terms = [
        (b.key, term, kind, term_pattern(term))
        for b in config.brands
        for kind, group in (("watch", b.watch_terms), ("exclusion", b.exclusions))
        for term in group
    ]
    hours = [
        (b.key, w.iso_weekday, w.opens_minute, w.closes_minute)
        for b in all_brands
        for w in b.service_hours
    ]
    calendars: dict[tuple[str, str | None], dict[date, str]] = {}
    holidays = []
    for b in all_brands:
        region = (b.holiday_country, b.holiday_subdivision)
        if region not in calendars:
            calendars[region] = b.holidays(HOLIDAY_YEARS)
        holidays += [(b.key, day, name) for day, name in calendars[region].items()]
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
        _insert_rows(con, f"{s}.brands", brands)
        con.execute(
            f"""create or replace table {s}.brand_accounts (
                brand_key varchar not null, handle varchar primary key, role varchar not null)"""
        )
        _insert_rows(con, f"{s}.brand_accounts", accounts)
        con.execute(
            f"""create or replace table {s}.brand_terms (
                brand_key varchar not null, term varchar not null,
                term_kind varchar not null, term_pattern varchar not null)"""
        )
        if terms:
            _insert_rows(con, f"{s}.brand_terms", terms)
        con.execute(
            f"""create or replace table {s}.service_hours (
                brand_key varchar not null, iso_weekday integer not null,
                opens_minute integer not null, closes_minute integer not null)"""
        )
        if hours:
            _insert_rows(con, f"{s}.service_hours", hours)
        con.execute(
            f"""create or replace table {s}.holidays (
                brand_key varchar not null, holiday_date date not null,
                holiday_name varchar not null)"""
        )
        _insert_rows(con, f"{s}.holidays", holidays)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def write_run_context(con: duckdb.DuckDBPyConnection, as_of: datetime) -> None:
    """The build's "as of" instant as data (`carewatch_config.run_context`), not a dbt
    var: a var that changes every cycle would make dbt re-parse the whole project."""
    con.execute(f"create schema if not exists {CONFIG_SCHEMA}")
    con.execute(
        f"create or replace table {CONFIG_SCHEMA}.run_context as select "
        "cast(? as timestamp with time zone) as as_of_at",
        [as_of],
    )

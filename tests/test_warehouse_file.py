"""A new warehouse file is created in carewatch's storage format; an existing one keeps its own."""

from __future__ import annotations

import duckdb

from carewatch.runtime import WAREHOUSE_STORAGE_VERSION, create_warehouse_file, open_warehouse


def _storage_version(path) -> str:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tags = con.sql(
            "select tags from duckdb_databases() where database_name = current_database()"
        ).fetchone()[0]
    finally:
        con.close()
    return tags["storage_version"]


def test_a_new_warehouse_gets_the_storage_format_and_an_old_one_keeps_its_own(tmp_path):
    new = tmp_path / "new" / "carewatch.duckdb"
    with open_warehouse(new) as con:  # the first opener creates the file
        con.execute("create table t as select 1 as x")
    assert _storage_version(new).startswith(WAREHOUSE_STORAGE_VERSION)

    old = tmp_path / "old" / "carewatch.duckdb"
    old.parent.mkdir()
    duckdb.connect(str(old)).close()  # DuckDB's default (oldest) format
    before = _storage_version(old)
    create_warehouse_file(old)
    with open_warehouse(old) as con:
        con.execute("create table t as select 1 as x")
    assert _storage_version(old) == before != _storage_version(new)


def test_carewatch_connections_are_bounded_and_the_bound_can_be_raised(tmp_path, monkeypatch):
    path = tmp_path / "carewatch.duckdb"

    def settings() -> tuple[str, str]:
        with open_warehouse(path) as con:
            return con.sql(
                "select current_setting('memory_limit'), "
                "current_setting('preserve_insertion_order')::varchar"
            ).fetchone()

    monkeypatch.delenv("CAREWATCH_DUCKDB_MEMORY_LIMIT", raising=False)
    limit, order = settings()
    assert limit == "488.2 MiB"  # DuckDB's rendering of the 512MB default
    assert order == "false"
    monkeypatch.setenv("CAREWATCH_DUCKDB_MEMORY_LIMIT", "2GB")
    assert settings()[0] == "1.8 GiB"

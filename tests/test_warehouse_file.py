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

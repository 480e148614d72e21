"""The bad-input corpus (tests/fixtures/bad_input/, written by the project): every
broken record lands in raw.quarantine with a specific reason and its raw payload,
no valid record beside it is lost, and the import exits 0 with a summary.

Each broken record carries a token `BAD-<kind>` in its raw text; `expected.json`
maps every token to the reason it must get, per file. Valid records carry
`OK-<format>-<n>`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from carewatch.cli import main

BAD_INPUT = Path(__file__).parent / "fixtures" / "bad_input"
EXPECTED = json.loads((BAD_INPUT / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _customer_key(monkeypatch):
    monkeypatch.setenv("CAREWATCH__CUSTOMER_KEY_SECRET", "test-secret")


def _import(warehouse: Path, fmt: str) -> int:
    path = BAD_INPUT / EXPECTED[fmt]["file"]
    return main(["--warehouse", str(warehouse), "import", "--format", fmt, str(path)])


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse / "carewatch.duckdb"), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def test_the_corpus_has_at_least_thirty_kinds_of_broken_record():
    kinds = {token for spec in EXPECTED.values() for token in spec["bad"]}
    reasons = {reason for spec in EXPECTED.values() for reason in spec["bad"].values()}
    assert len(kinds) >= 30
    assert len(reasons) >= 30


@pytest.mark.parametrize("fmt", sorted(EXPECTED))
def test_each_broken_record_is_quarantined_with_its_reason(tmp_path, fmt, capsys):
    spec = EXPECTED[fmt]

    code = _import(tmp_path, fmt)

    assert code == 0
    summary = capsys.readouterr().out
    assert f"{spec['valid']} posts loaded, {len(spec['bad'])} quarantined" in summary
    rows = _rows(tmp_path, "select source, raw_payload, reason, quarantined_at from raw.quarantine")
    assert len(rows) == len(spec["bad"])
    for token, reason in spec["bad"].items():
        (row,) = [r for r in rows if token in r[1]]  # exactly one record per token
        assert reason in row[2], (token, row[2])
        assert row[0] == f"{fmt}:{spec['file']}" and row[3] is not None


@pytest.mark.parametrize("fmt", sorted(EXPECTED))
def test_no_valid_record_beside_a_broken_one_is_lost(tmp_path, fmt):
    raw = (BAD_INPUT / EXPECTED[fmt]["file"]).read_bytes().decode("utf-8", "replace")
    valid_tokens = set(re.findall(r"OK-[a-z0-9]+-\d+", raw))
    assert len(valid_tokens) == EXPECTED[fmt]["valid"]

    _import(tmp_path, fmt)

    texts = [r[0] for r in _rows(tmp_path, "select text from raw.posts")]
    assert len(texts) == len(valid_tokens)
    assert {t for text in texts for t in re.findall(r"OK-[a-z0-9]+-\d+", text)} == valid_tokens


def test_importing_the_corpus_again_adds_no_quarantine_row(tmp_path):
    for fmt in EXPECTED:
        _import(tmp_path, fmt)
    before = _rows(tmp_path, "select quarantine_id, quarantined_at from raw.quarantine order by 1")

    for fmt in EXPECTED:
        assert _import(tmp_path, fmt) == 0

    after = _rows(tmp_path, "select quarantine_id, quarantined_at from raw.quarantine order by 1")
    assert after == before
    assert len(after) == sum(len(spec["bad"]) for spec in EXPECTED.values())

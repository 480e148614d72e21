"""`carewatch classify`: the models' text classifier applied to any CSV file.

The classifier is not re-implemented here: the seeds (`post_lexicon`,
`post_topics`) are loaded into a scratch DuckDB file with `dbt seed`, the
`post_classification_ctes` macro is compiled by dbt exactly as in
`int_posts_classified`, and the compiled SQL runs in DuckDB over the CSV. So a
file classified here gets the labels the warehouse would give the same text.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from pathlib import Path

import duckdb

from carewatch.transform import DBT_PROJECT_DIR, DbtFailure

#: Columns the classifier adds, in output order.
CLASSIFIER_COLUMNS = [
    "case_kind",
    "is_complaint",
    "language",
    "topic",
    "asks_private_channel",
    "mentions_technician",
    "says_resolved",
    "says_unresolved",
    "address_form",
    "agent",
    "uses_emoji",
    "has_small_talk",
    "text_length",
    "complaint_score",
]

#: The relation the compiled classifier reads: one row per post.
INPUT_VIEW = "cw_input_posts"

_INLINE_SQL = (
    "-- depends_on: {{ ref('post_lexicon') }}\n"
    "-- depends_on: {{ ref('post_topics') }}\n"
    "with {{ post_classification_ctes("
    f"relation='{INPUT_VIEW}', text='cw_input_text', "
    "source_language='cw_input_language', keep=['cw_row_id'], prefilter=PREFILTER) }} "
    "select * from posts_classified"
)

_SEEDS = ("post_lexicon", "post_topics")
_compiled: dict[str, str] = {}


def _seed_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in _SEEDS:
        digest.update((DBT_PROJECT_DIR / "seeds" / f"{name}.csv").read_bytes())
    digest.update((DBT_PROJECT_DIR / "macros" / "post_classification.sql").read_bytes())
    digest.update((DBT_PROJECT_DIR / "macros" / "text_portable.sql").read_bytes())
    return digest.hexdigest()


def _invoke(runner, args: list[str], work: Path):
    common = [
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(work / "target"),
    ]
    # `compile --inline` prints the compiled query even when quiet: keep stdout clean
    with contextlib.redirect_stdout(io.StringIO()):
        result = runner.invoke(
            ["--quiet", "--no-print", "--log-path", str(work / "logs"), *args, *common]
        )
    if result.exception is not None or not result.success:
        detail = result.exception or "; ".join(
            f"{r.node.name}: {r.message}" for r in getattr(result.result, "results", []) or []
        )
        raise DbtFailure(f"dbt {args[0]} for the classifier failed: {detail}")
    return result


def compile_classifier(*, prefilter: bool = True) -> str:
    """The classifier's SQL as dbt compiles it from the seeds and the macro.

    The query reads the relation `cw_input_posts(cw_row_id, cw_input_text,
    cw_input_language)` and returns `cw_row_id` plus CLASSIFIER_COLUMNS.
    Cached per process for as long as the seeds and macros are unchanged.
    `prefilter=False` compiles the slow form that tries every rule one by one
    (the same labels; tests use it to check the fast one).
    """
    fingerprint = f"{_seed_fingerprint()}:{prefilter}"
    if fingerprint in _compiled:
        return _compiled[fingerprint]

    from dbt.cli.main import dbtRunner

    saved = {key: os.environ.get(key) for key in ("CAREWATCH_WAREHOUSE_PATH",)}
    with tempfile.TemporaryDirectory(prefix="carewatch-classify-") as tmp:
        work = Path(tmp)
        os.environ["CAREWATCH_WAREHOUSE_PATH"] = str(work / "lexicon.duckdb")
        os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        os.environ.setdefault("DO_NOT_TRACK", "1")
        try:
            runner = dbtRunner()
            _invoke(runner, ["seed", "--select", *_SEEDS], work)
            inline = _INLINE_SQL.replace("PREFILTER", "true" if prefilter else "false")
            result = _invoke(runner, ["compile", "--inline", inline], work)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    sql = result.result.results[0].node.compiled_code
    _compiled[fingerprint] = sql
    return sql


def classify_table(
    con: duckdb.DuckDBPyConnection,
    source_table: str,
    text_column: str,
    target_table: str,
    *,
    language_column: str | None = None,
    prefilter: bool = True,
) -> None:
    """Create `target_table` = `source_table`'s rows classified, joined on its rowid.

    `target_table` has `cw_row_id` (the source table's rowid) and CLASSIFIER_COLUMNS.
    """
    sql = compile_classifier(prefilter=prefilter)
    language = _quote(language_column) if language_column else "cast(null as varchar)"
    con.execute(
        f"create or replace temp view {INPUT_VIEW} as "
        f"select rowid as cw_row_id, cast({_quote(text_column)} as varchar) as cw_input_text, "
        f"lower(cast({language} as varchar)) as cw_input_language from {source_table}"
    )
    con.execute(f"create or replace temp table {target_table} as {sql}")


def classify_csv(
    input_csv: Path,
    text_column: str,
    output_csv: Path,
    *,
    language_column: str | None = None,
) -> int:
    """Classify every row of `input_csv` by its `text_column`; write `output_csv`.

    The output has the input's columns (as text, unchanged, in order) followed
    by CLASSIFIER_COLUMNS; an input column with one of those names is kept as
    `input_<name>`. `language_column`, when given, is the source's own language
    tag (used when it is 'de' or 'en', as in the models). Returns the row count.
    """
    input_csv = Path(input_csv)
    if not input_csv.is_file():
        raise FileNotFoundError(f"{input_csv}: no such file")
    con = duckdb.connect()
    try:
        con.execute(
            "create temp table cw_input as select * from read_csv(?, header = true, "
            "all_varchar = true, auto_detect = true)",
            [str(input_csv)],
        )
        columns = [row[0] for row in con.execute("describe cw_input").fetchall()]
        for wanted in filter(None, (text_column, language_column)):
            if wanted not in columns:
                raise ValueError(
                    f"{input_csv}: no column {wanted!r}; columns are: {', '.join(columns)}"
                )
        classify_table(con, "cw_input", text_column, "cw_output", language_column=language_column)
        passthrough = [
            f"cw_input.{_quote(c)} as {_quote('input_' + c if c in CLASSIFIER_COLUMNS else c)}"
            for c in columns
        ]
        added = [f"cw_output.{c}" for c in CLASSIFIER_COLUMNS]
        output_csv = Path(output_csv)
        output_csv.parent.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"copy (select {', '.join(passthrough + added)} from cw_input "
            "inner join cw_output on cw_input.rowid = cw_output.cw_row_id "
            f"order by cw_input.rowid) to '{_sql_literal(str(output_csv))}' (header, delimiter ',')"
        )
        return con.execute("select count(*) from cw_output").fetchone()[0]
    finally:
        con.close()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _sql_literal(value: str) -> str:
    return value.replace("'", "''")

"""BI tools read reporting.duckdb read-only while runs publish: never an error, never a mix."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

from carewatch import pipeline

READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import sqlalchemy as sa

    path, stop = sys.argv[1], Path(sys.argv[2])
    reads, errors, inconsistent, runs = 0, [], 0, set()
    while not stop.exists():
        try:
            # a BI tool's connection: SQLAlchemy + duckdb-engine, read-only
            engine = sa.create_engine(
                f"duckdb:///{path}", connect_args={"read_only": True}, poolclass=sa.pool.NullPool
            )
            with engine.connect() as con:
                daily = con.execute(sa.text("select sum(cases) from sla_daily")).scalar()
                facts = con.execute(sa.text("select count(*) from fct_complaints")).scalar()
                runs.add(con.execute(sa.text("select run_id from publish_info")).scalar())
            engine.dispose()
            reads += 1
            inconsistent += daily != facts
        except Exception as exc:  # every error counts against the publisher
            errors.append(repr(exc))
        time.sleep(0.01)
    print(json.dumps({"reads": reads, "errors": errors, "inconsistent": inconsistent,
                      "runs": sorted(runs)}))
    """
)


def test_readers_never_fail_nor_see_a_half_published_state(scratch_warehouse, tmp_path):
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(scratch_warehouse.reporting_path), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)
        as_of = pipeline.parse_as_of("2026-05-11T00:00:00Z")
        for number in range(5):
            run_id = f"publish-{number}"
            assert pipeline.check_models(scratch_warehouse, run_id).passed
            pipeline.publish(scratch_warehouse, run_id, as_of)
            time.sleep(0.3)
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    outcome = json.loads(out)
    assert outcome["errors"] == []
    assert outcome["inconsistent"] == 0
    assert outcome["reads"] > 20
    assert len(set(outcome["runs"]) & {f"publish-{n}" for n in range(5)}) >= 2

"""Shared fixtures: real DuckDB warehouses in temp folders, real dbt builds."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from carewatch.runtime import configure_environment

configure_environment()

# Prefect binds its console log handler to sys.stderr when it loads: load it before
# any test captures output, or the handler keeps a captured stream that a later
# test finds closed ("I/O operation on closed file").
import prefect.main  # noqa: E402, F401

from carewatch import pipeline  # noqa: E402
from carewatch.config import load_config  # noqa: E402
from carewatch.pipeline import Warehouse  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# Small enough for a fast suite, long enough to cross DST, Easter and weekends.
DEMO_ARGS = {"seed": 7, "start": date(2026, 3, 2), "days": 70, "size": 6_000}


@pytest.fixture(scope="session")
def config():
    return load_config()


def build_demo_warehouse(directory: Path, config) -> Warehouse:
    """Generate, load, build, check and publish the demo into `directory`."""
    warehouse = Warehouse(directory)
    pipeline.sync_config(config, warehouse)
    pipeline.load_demo(config, warehouse, **DEMO_ARGS)
    as_of = pipeline.demo_as_of(DEMO_ARGS["start"], DEMO_ARGS["days"])
    pipeline.build_models(warehouse, as_of)
    report = pipeline.check_models(warehouse, "test-run-1")
    assert report.passed, [f.describe() for f in report.failures]
    pipeline.publish(warehouse, "test-run-1", as_of)
    return warehouse


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory, config) -> Warehouse:
    """One fully built demo warehouse shared by read-only tests."""
    return build_demo_warehouse(tmp_path_factory.mktemp("demo_warehouse"), config)


@pytest.fixture
def scratch_warehouse(tmp_path, demo_warehouse) -> Warehouse:
    """A private copy of the built demo warehouse that a test may break."""
    target = tmp_path / "warehouse"
    shutil.copytree(demo_warehouse.directory, target)
    return Warehouse(target)


@pytest.fixture(scope="session")
def prefect_harness():
    """One ephemeral Prefect API for the whole session (it costs ~10 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness():
        yield

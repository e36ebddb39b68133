"""Shared fixtures: real SQLite files, a real PostgreSQL database, the real CLI."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from onetrip_testing import CliHarness, postgres_database, setup_people

DATA = Path(__file__).parent / "data"

# In CI (CI=true) property tests run the same examples every time, so a run is reproducible;
# on a developer's machine they keep exploring new ones.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def sample_bpmn() -> Path:
    return DATA / "residence_permit.bpmn"


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'onetrip.db'}"


@pytest.fixture
def pg_url():
    with postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'onetrip.db'}"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def cli(db_url) -> CliHarness:
    return CliHarness(db_url)


@pytest.fixture
def sqlite_cli(sqlite_url) -> CliHarness:
    return CliHarness(sqlite_url)


@pytest.fixture
def sample_office(sqlite_cli, sample_bpmn) -> CliHarness:
    """The sample's people, and its residence-permit model uploaded as the current 'after' version."""
    setup_people(sqlite_cli)
    sqlite_cli.ok(f"process upload {sample_bpmn} --label after", user="李设计")
    return sqlite_cli

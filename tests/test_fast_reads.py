"""The local CLI's reading commands start fast: `task list`, `case list`, `case show`, `process list`, `metrics`
and `compare --stored` read with SQLAlchemy Core (engine.reads) and import neither the ORM nor SpiffWorkflow
(nor lxml) — and answer exactly what the Service answers, on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from engine import measure, reads, store, tables
from engine.clock import Clock
from engine.config import Settings
from engine.context import Context
from engine.service import Service
from onetrip_testing import POLICE, CliHarness, setup_people

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "residence_permit.bpmn"
MARK = "\nHEAVY:"


def run_cli(db_url: str, *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """`onetrip --db URL ARGS` in a fresh interpreter; also the heavy modules it imported."""
    code = ("import sys, cli\n"
            "code = 0\ntry:\n    cli.main(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
            "sys.stdout.flush()\n"
            "heavy = sorted(m for m in sys.modules if m.startswith(('sqlalchemy.orm', 'SpiffWorkflow', 'lxml')))\n"
            f"print({MARK!r} + ','.join(heavy))\n"
            "sys.exit(code)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONETRIP_")}
    out = subprocess.run([sys.executable, "-c", code, "--db", db_url, *args], capture_output=True, text=True,
                         timeout=120, cwd=ROOT, env=env)
    body, _, heavy = out.stdout.rpartition(MARK)
    out.stdout = body
    return out, [m for m in heavy.strip().split(",") if m]


def sample_office(url: str) -> CliHarness:
    """An office with the sample process and two cases, one a step ahead (the reads have rows to show)."""
    cli = CliHarness(url, simulation=False)
    cli.ok("init")
    setup_people(cli)
    cli.ok(f"process upload {SAMPLE} --label after", user="李设计")
    first = cli.ok("case start JZZSAMPLE --data 申请人=张三 --json", user="王窗口").json()
    cli.ok(f"task complete {first['ready'][0]['id']} --online", user="王窗口")
    cli.ok("case start JZZSAMPLE --data 申请人=李四", user="王窗口")
    return cli


@pytest.fixture
def office(db_url) -> CliHarness:
    return sample_office(db_url)


def service_answer(db_url: str, name: str, actor: str | None, *args):
    service = Service(Settings(db_url=db_url))
    try:
        return json.loads(json.dumps(getattr(service, name)(Context(actor, Clock()), *args), default=str))
    finally:
        service.dispose()


def service_warnings(db_url: str, name: str, *args) -> list[str]:
    service = Service(Settings(db_url=db_url))
    try:
        return getattr(service, name)(Context(None, Clock()), *args).get("warnings", [])
    finally:
        service.dispose()


@pytest.mark.parametrize("args, user, op, op_args", [
    (["task", "list"], "王窗口", "list_tasks", (None, False)),
    (["task", "list"], "赵警官", "list_tasks", (None, False)),
    (["task", "list", "--all"], None, "list_tasks", (None, True)),
    (["task", "list", "--all", "--case", "1"], None, "list_tasks", ("1", True)),
    (["case", "list"], None, "list_cases", (None, None)),
    (["case", "list", "--status", "open", "--matter", "JZZSAMPLE"], None, "list_cases", ("open", "JZZSAMPLE")),
    (["process", "list"], None, "list_versions", (None,)),
    (["case", "show", "1"], None, "show_case", ("1",)),
    (["case", "show", "2"], None, "show_case", ("2",)),
])
def test_reading_commands_import_neither_the_orm_nor_spiffworkflow(office, db_url, args, user, op, op_args):
    prefix = ["--as", user] if user else []
    out, heavy = run_cli(db_url, *prefix, *args, "--json")
    assert out.returncode == 0, out.stderr
    assert heavy == [], heavy
    assert json.loads(out.stdout) == service_answer(db_url, op, user, *op_args)
    assert json.loads(out.stdout), "the office has tasks, cases and versions to list"
    table, heavy = run_cli(db_url, *prefix, *args)
    assert table.returncode == 0 and heavy == [] and table.stdout.strip()


@pytest.mark.parametrize("args, user, expected", [
    (["task", "list"], "无此人", "unknown user"),             # refusals come from the Service, as before
    (["task", "list"], "李设计", "is not a clerk"),
    (["case", "list", "--status", "lost"], None, "is not one of"),
    (["task", "list", "--case", "x1"], None, "no case x1"),
    (["case", "show", "99"], None, "no case 99"),
    (["case", "show", "x"], None, "no case x"),
])
def test_refusals_are_the_services(office, db_url, args, user, expected):
    out, _ = run_cli(db_url, *(["--as", user] if user else []), *args)
    assert out.returncode != 0 and expected in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_a_clerk_of_no_known_lane_still_hears_why_the_list_is_empty(office, db_url):
    office.ok("user add 孙某 --role clerk --department 不存在的部门", user="admin")
    out, _ = run_cli(db_url, "--as", "孙某", "task", "list")
    assert out.returncode == 0 and "no uploaded model has a lane named '不存在的部门'" in out.stderr


def test_a_missing_database_is_refused_as_before(tmp_path):
    out, heavy = run_cli(str(tmp_path / "nowhere.db"), "case", "list")
    assert out.returncode == 1 and "no database at" in out.stderr and heavy == []
    assert not (tmp_path / "nowhere.db").exists()


def test_the_reads_columns_are_the_stores():
    """engine.reads declares the columns it reads (names and types) without the ORM: they must be
    the store's own."""
    for clause in (reads.USERS, reads.DEPARTMENTS, reads.MATTERS, reads.VERSIONS, reads.CASES, reads.ITEMS,
                   reads.EVENTS, tables.CALENDAR, measure._ENDED_CASES, measure._YEARS, measure._COUNT_ROWS):
        real = store.Base.metadata.tables[clause.name]
        for col in clause.columns:
            assert col.name in real.columns, f"{clause.name}.{col.name}"
            assert isinstance(real.columns[col.name].type, type(col.type)) or \
                type(real.columns[col.name].type).__mro__[1] is type(col.type), f"{clause.name}.{col.name}"


def finish(cli: CliHarness, case_id: int) -> None:
    """Complete every step of a case, each by a clerk of its lane."""
    for _ in range(20):
        ready = cli.ok(f"task list --all --case {case_id} --json").json()
        if not ready:
            return
        for t in ready:
            cli.ok(f"task complete {t['id']} --online", user="赵警官" if t["lane"] == POLICE else "王窗口")
    raise AssertionError(f"case {case_id} did not finish")


@pytest.mark.parametrize("args, op, op_args", [
    (["metrics"], "metrics", ()),
    (["metrics", "--matter", "JZZSAMPLE", "--since", "2000-01-01"], "metrics", ("JZZSAMPLE", date(2000, 1, 1))),
])
def test_metrics_answer_as_the_service_without_the_orm(office, db_url, args, op, op_args):
    finish(office, 1)
    # The first time, the Service writes the working-day calendar (a write: the reader defers) ...
    first_json, _ = run_cli(db_url, *args, "--json")
    first_table, _ = run_cli(db_url, *args)
    # ... then the same command reads it with Core alone, and prints the same.
    out, heavy = run_cli(db_url, *args, "--json")
    assert out.returncode == 0 and heavy == [], (out.stderr, heavy)
    assert out.stdout == first_json.stdout
    assert json.loads(out.stdout) == service_answer(db_url, op, None, *op_args)
    row = json.loads(out.stdout)["matters"][0]
    assert (row["cases"], row["completed"], row["open"]) == (2, 1, 1), row
    table, heavy = run_cli(db_url, *args)
    assert table.returncode == 0 and heavy == [] and table.stdout == first_table.stdout and table.stdout.strip()


def test_metrics_refusals_and_warnings_are_the_services(office, db_url):
    out, _ = run_cli(db_url, "metrics", "--matter", "JZZSAMPL")
    assert out.returncode != 0 and "JZZSAMPLE" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    # A case accepted in a year China's calendar does not cover: the Service counts it Monday–Friday and
    # says so, the first time (writing the calendar) and every time after (the reader defers).
    from sqlalchemy import update
    from engine.database import make_engine
    eng = make_engine(db_url)
    with eng.begin() as conn:
        conn.execute(update(reads.CASES).where(reads.CASES.c.id == 2).values(accepted_at=datetime(1999, 3, 1, 9)))
    eng.dispose()
    for _ in range(2):
        out, heavy = run_cli(db_url, "metrics")
        assert out.returncode == 0 and heavy and out.stdout.strip()
        assert out.stderr.strip() and out.stderr.strip() in "\n".join(service_warnings(db_url, "metrics")), \
            out.stderr


@pytest.fixture
def uploaded(db_url) -> CliHarness:
    """Versions uploaded, no case run yet."""
    cli = CliHarness(db_url, simulation=False)
    cli.ok("init")
    setup_people(cli)
    cli.ok(f"process upload {SAMPLE} --label after", user="李设计")
    return cli


def test_compare_stored_answers_as_the_service_without_the_orm(uploaded, db_url):
    first_json, _ = run_cli(db_url, "compare", "--stored", "--json")    # the Service writes the calendar
    first_table, _ = run_cli(db_url, "compare", "--stored")
    out, heavy = run_cli(db_url, "compare", "--stored", "--json")
    assert out.returncode == 0 and heavy == [], (out.stderr, heavy)
    assert out.stdout == first_json.stdout
    assert json.loads(out.stdout) == service_answer(db_url, "compare_stored", None)
    assert json.loads(out.stdout)["matters"][0]["matter_code"] == "JZZSAMPLE"
    table, heavy = run_cli(db_url, "compare", "--stored")
    assert table.returncode == 0 and heavy == [] and table.stdout == first_table.stdout and "JZZSAMPLE" in table.stdout


def test_compare_stored_with_cases_is_the_services(office, db_url):
    """Conformance shares replay the cases with SpiffWorkflow: the Service answers, as before."""
    finish(office, 1)
    service_answer(db_url, "metrics", None)     # the calendar is there: only the cases make it defer
    out, heavy = run_cli(db_url, "compare", "--stored", "--json")
    assert out.returncode == 0 and heavy
    answer = json.loads(out.stdout)
    assert answer == service_answer(db_url, "compare_stored", None)
    assert "conforming_share" in answer["matters"][0]["measured"]["after"]

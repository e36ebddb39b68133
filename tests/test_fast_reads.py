"""The local CLI's reading commands start fast: `task list`, `case list`, `case show` and `process list` read with
SQLAlchemy Core (engine.reads) and import neither the ORM nor SpiffWorkflow — and answer exactly what
the Service answers, on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import reads, store
from engine.clock import Clock
from engine.config import Settings
from engine.context import Context
from engine.service import Service
from onetrip_testing import CliHarness, setup_people

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "residence_permit.bpmn"
MARK = "\nHEAVY:"


def run_cli(db_url: str, *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """`onetrip --db URL ARGS` in a fresh interpreter; also the heavy modules it imported."""
    code = ("import sys, cli\n"
            "code = 0\ntry:\n    cli.main(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
            "sys.stdout.flush()\n"
            "heavy = sorted(m for m in sys.modules if m.startswith(('sqlalchemy.orm', 'SpiffWorkflow')))\n"
            f"print({MARK!r} + ','.join(heavy))\n"
            "sys.exit(code)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONETRIP_")}
    out = subprocess.run([sys.executable, "-c", code, "--db", db_url, *args], capture_output=True, text=True,
                         timeout=120, cwd=ROOT, env=env)
    body, _, heavy = out.stdout.rpartition(MARK)
    out.stdout = body
    return out, [m for m in heavy.strip().split(",") if m]


@pytest.fixture
def office(db_url) -> CliHarness:
    cli = CliHarness(db_url, simulation=False)
    cli.ok("init")
    setup_people(cli)
    cli.ok(f"process upload {SAMPLE} --label after", user="李设计")
    first = cli.ok("case start JZZSAMPLE --data 申请人=张三 --json", user="王窗口").json()
    cli.ok(f"task complete {first['ready'][0]['id']} --online", user="王窗口")
    cli.ok("case start JZZSAMPLE --data 申请人=李四", user="王窗口")
    return cli


def service_answer(db_url: str, name: str, actor: str | None, *args):
    service = Service(Settings(db_url=db_url))
    try:
        return json.loads(json.dumps(getattr(service, name)(Context(actor, Clock()), *args), default=str))
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
                   reads.EVENTS):
        real = store.Base.metadata.tables[clause.name]
        for col in clause.columns:
            assert col.name in real.columns, f"{clause.name}.{col.name}"
            assert isinstance(real.columns[col.name].type, type(col.type)) or \
                type(real.columns[col.name].type).__mro__[1] is type(col.type), f"{clause.name}.{col.name}"

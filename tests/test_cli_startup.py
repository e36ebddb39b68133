"""The CLI starts fast: a command imports what it uses, when it uses it.

* ``onetrip --help`` imports neither the renderers (engine.report, rich) nor a database library;
* a table printed to a pipe is drawn without rich's console and table code (``cli._plain_table``), and
  is the text rich prints, character for character (else rich draws it);
* the reading commands (task list, case list, case show, process list) import neither SpiffWorkflow
  nor the ORM, nor rich's table code, in a real process (tests/test_fast_reads.py checks their answers);
* ``task complete`` does not build the ORM's model classes (engine.store): a step runs on Core statements
  over engine.tables' clauses, which must be the store's columns.
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cli
from engine.report import Col, build_table
from onetrip_testing import CliHarness
from test_fast_reads import sample_office

ROOT = Path(__file__).resolve().parent.parent
MARK = "\nLOADED:"
WATCHED = ("sqlalchemy.orm", "SpiffWorkflow", "lxml", "rich.console", "rich.table", "engine.report",
           "sqlalchemy", "engine.service", "httpx", "engine.store")


def run_cli(*args: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, set[str]]:
    """`onetrip ARGS` in a fresh interpreter, its output to a pipe; also which watched modules it imported."""
    code = ("import sys, cli\n"
            "code = 0\ntry:\n    cli.main(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
            "sys.stdout.flush()\n"
            f"print({MARK!r} + ','.join(sorted(m for m in sys.modules if m in {WATCHED!r} "
            f"or m.startswith(('SpiffWorkflow.', 'sqlalchemy.orm.', 'lxml.')))))\n"
            "sys.exit(code)")
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith("ONETRIP_") and k not in cli._RICH_TERMINAL_VARIABLES} | (env or {})
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                         cwd=ROOT, env=environment)
    body, _, loaded = out.stdout.rpartition(MARK)
    out.stdout = body
    return out, {m.split(".")[0] if m.startswith(("SpiffWorkflow", "lxml")) else m
                 for m in loaded.strip().split(",") if m}


def test_help_imports_neither_the_renderers_nor_a_database_library():
    out, loaded = run_cli("--help")
    assert out.returncode == 0 and "Usage: " in out.stdout, out.stderr
    assert loaded == set(), loaded
    out, loaded = run_cli("compare", "--help")          # the --format choices are the renderers'
    assert out.returncode == 0 and "[table|json|csv|markdown|html]" in out.stdout, out.stderr
    assert "sqlalchemy" not in loaded and "rich.console" not in loaded, loaded


def test_a_wrong_format_is_refused_with_the_choices():
    out, _ = run_cli("compare", "--stored", "--format", "pdf")
    assert out.returncode == 2
    assert "'pdf' is not one of 'table', 'json', 'csv', 'markdown', 'html'" in out.stderr, out.stderr


@pytest.fixture
def office(sqlite_url) -> CliHarness:
    return sample_office(sqlite_url)


@pytest.mark.parametrize("args, user", [
    (["task", "list"], "王窗口"),
    (["task", "list", "--all"], None),
    (["case", "list"], None),
    (["case", "show", "1"], None),
    (["process", "list"], None),
])
def test_reading_commands_print_their_tables_without_the_orm_spiffworkflow_or_rich_tables(
        office, sqlite_url, args, user):
    prefix = ["--db", sqlite_url] + (["--as", user] if user else [])
    for columns in ("80", "200"):
        out, loaded = run_cli(*prefix, *args, env={"COLUMNS": columns})
        assert out.returncode == 0 and out.stdout.strip(), out.stderr
        assert not loaded & {"sqlalchemy.orm", "SpiffWorkflow", "lxml", "engine.service"}, loaded
        if columns == "200":        # nothing wraps: drawn without rich (in 80 columns an id may wrap: rich)
            assert not loaded & {"rich.console", "rich.table"}, loaded
        # the same text as rich draws it (FORCE_COLOR= makes the CLI use rich, still without colour)
        drawn, loaded = run_cli(*prefix, *args, env={"FORCE_COLOR": "", "COLUMNS": columns})
        assert "rich.table" in loaded
        assert out.stdout == drawn.stdout


def test_completing_a_task_imports_no_renderer(office, sqlite_url):
    [task] = office.json("task list", user="王窗口")[:1]
    out, loaded = run_cli("--db", sqlite_url, "--as", "王窗口", "task", "complete", task["id"], "--online")
    assert out.returncode == 0 and f"completed task {task['id']}" in out.stdout, out.stderr
    assert "SpiffWorkflow" in loaded and not loaded & {"rich.console", "rich.table", "engine.report"}, loaded



def test_completing_a_task_does_not_load_the_orm_model_classes(office, sqlite_url):
    [task] = office.json("task list", user="王窗口")[:1]
    case_id = task["case"]
    out, loaded = run_cli("--db", sqlite_url, "--as", "王窗口", "task", "complete", task["id"], "--online")
    assert out.returncode == 0 and f"completed task {task['id']}" in out.stdout, out.stderr
    assert "engine.store" not in loaded and "SpiffWorkflow" in loaded, loaded
    # the step was written: the task is gone from the ready ones, its event is in the case's trail
    assert task["id"] not in [t["id"] for t in office.json("task list --all")]
    events = office.json(f"case show {case_id}")["events"]
    assert [(e["task"], e["action"], e["actor"]) for e in events if e["task"] == task["id"]] == \
        [(task["id"], "complete", "王窗口")], events
    # the same task again: the one-line answer (looked up with the ORM, as before), no traceback
    again, loaded = run_cli("--db", sqlite_url, "--as", "王窗口", "task", "complete", task["id"], "--online")
    assert again.returncode != 0 and "already completed" in again.stderr, again.stderr
    assert "Traceback" not in again.stderr and "engine.store" in loaded


def test_the_steps_table_clauses_are_the_stores_columns():
    """engine.tables declares names and types without the ORM (casework writes with them): each
    must be a column of the store's table, of the same type."""
    from sqlalchemy.sql import TableClause
    from engine import store, tables
    clauses = [v for v in vars(tables).values() if isinstance(v, TableClause)]
    assert {"cases", "work_items", "task_events"} <= {c.name for c in clauses}
    for clause in clauses:
        real = store.Base.metadata.tables[clause.name]
        for col in clause.columns:
            assert col.name in real.columns, f"{clause.name}.{col.name}"
            kind = type(real.columns[col.name].type)
            assert issubclass(kind, type(col.type)) or kind.__mro__[1] is type(col.type), f"{clause.name}.{col.name}"
    written = {c.name for c in tables.EVENT_ROWS.columns}
    assert written == {c.name for c in store.TaskEvent.__table__.columns} - {"id"}

# ------------------------------------------------------------------ the plain table is rich's table

def rich_text(rows, cols, width, row_style=None) -> str:
    """What cli._table's rich console prints to a pipe."""
    from rich.console import Console
    console = Console(file=io.StringIO(), width=width, highlight=False, emoji=False)
    console.print(build_table(rows, cols, width, None, row_style))
    return console.file.getvalue()


TEXT = st.lists(st.sampled_from(list("ab Z09-_.:") + ["环节", "综合窗口", "超期", "é", "e\u0301", "\u3000", "😀",
                                                     "\t", "\n", "\x1b[31m", "[bold]", "\u202e", "\u200b", "  "]),
                max_size=6).map("".join)
VALUE = st.one_of(st.none(), TEXT, st.integers(-10**6, 10**6), st.floats(-1e6, 1e6, allow_nan=False),
                  st.booleans())
COLUMN = st.builds(Col, key=st.sampled_from("abcdef"), header=TEXT, kind=st.sampled_from(
    ["text", "id", "date", "num", "flag"]), drop=st.integers(0, 3))


@settings(max_examples=400, deadline=None)
@given(cols=st.lists(COLUMN, min_size=1, max_size=6), width=st.integers(10, 120),
       rows=st.lists(st.dictionaries(st.sampled_from("abcdef"), VALUE), min_size=1, max_size=5))
def test_the_plain_table_is_the_text_rich_prints(cols, width, rows):
    plain = cli._plain_table(rows, cols, width)
    if plain is not None:
        assert plain == rich_text(rows, cols, width, lambda r: "red")


def test_the_plain_table_draws_the_usual_tables():
    """A task list as a clerk sees it in a pipe: drawn plain (rich is left for what wraps)."""
    rows = [{"id": f"{n}.1", "matter_code": "JZZBL", "name": "受理", "lane": "公安局", "due": "2026-03-09 超期",
             "where": "现场"} for n in range(1, 4)]
    cols = [Col("id", "任务 task", "id"), Col("matter_code", "事项 matter", "id"), Col("name", "环节 step"),
            Col("lane", "部门 department", drop=1), Col("due", "到期 due", "date"),
            Col("where", "现场 onsite", "flag", 2)]
    for width in (80, 50, 40):
        plain = cli._plain_table(rows, cols, width)
        assert plain is not None and plain == rich_text(rows, cols, width)
    narrow = [{"name": "一个很长很长很长的环节名称需要换行"}]
    assert cli._plain_table(narrow, [Col("name", "环节 step")], 20) is None       # wraps: rich draws it


def test_the_collector_is_off_only_while_a_command_imports_its_libraries(office, monkeypatch):
    import gc
    seen = []
    settled = cli._settled

    def spy():
        before = gc.isenabled()
        settled()
        seen.append((before, gc.isenabled(), gc.get_freeze_count() > 0))
    monkeypatch.setattr(cli, "_settled", spy)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    office.ok("task list", user="王窗口")
    office.ok("case show 1")
    assert seen and seen[0] == (False, True, True) and all(s[1:] == (True, True) for s in seen), seen
    assert gc.isenabled() and gc.get_freeze_count() == 0        # as before the command (tests run many)

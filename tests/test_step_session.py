"""The step's transaction below SQLAlchemy's session: what it must keep.

* An ORM Session made inside a step (a cache miss, an error path) is in the step's own transaction:
  it commits with the step's raw statements and rolls back with them.
* Values bound on the driver's cursor are stored exactly as SQLAlchemy stores them (SQLite keeps
  datetimes as text: rows written either way must compare and sort alike in SQL).
* On SQLite a process that writes many steps checkpoints the WAL on a thread of its own, the steps'
  connections never do, and a one-step process changes nothing.
"""
from __future__ import annotations

import sqlite3
import time
from datetime import date, datetime

import pytest
from sqlalchemy import insert, select, text

from engine import database, store
from engine.config import Settings
from engine.context import Context
from engine.rawsql import Raw, Statement, StepSession
from engine.service import Service
from onetrip_testing import setup_people
from onetrip_testing.bpmn_factory import Step, linear_model

LANE = "政务服务中心综合窗口"


def _open(url):
    eng = store.open_database(url, create=True)
    return eng, store.session_factory(eng)


@pytest.mark.parametrize("commit", [True, False], ids=["commit", "rollback"])
def test_an_orm_session_made_inside_a_step_shares_its_transaction(db_url, commit):
    eng, sessions = _open(db_url)
    try:
        step = StepSession(eng.connect(), sessions)
        step.raw.begin()
        step.raw.execute(Statement("INSERT INTO departments (name) VALUES (:name)"), {"name": "甲"})
        step.add(store.Department(name="乙"))           # the lazy ORM Session, same connection
        step.flush()
        assert step.connection().execute(text("SELECT count(*) FROM departments")).scalar() == 2
        step.finish(commit=commit)
        step.close()
        with eng.connect() as conn:
            names = sorted(conn.execute(text("SELECT name FROM departments")).scalars())
        assert names == (["乙", "甲"] if commit else [])
    finally:
        eng.dispose()


def test_values_bound_on_the_cursor_are_stored_as_sqlalchemy_stores_them(sqlite_url):
    """The same row written by SQLAlchemy and by a raw statement typed as the step's are (casework._kinds):
    the same text in every datetime, date and boolean column (SQL compares them as text), the same
    JSON values, and both read back alike."""
    from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Integer, MetaData, String, Table
    from engine.casework import _typed
    table = Table("bound", MetaData(), Column("k", Integer, primary_key=True), Column("at", DateTime),
                  Column("day", Date), Column("ok", Boolean), Column("data", JSON), Column("name", String(20)))
    names = ("k", "at", "day", "ok", "data", "name")
    stmt = Statement(f"INSERT INTO bound ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})",
                     _typed(table, names))
    rows = [{"at": datetime(26, 3, 2, 9, 5, 7, 12), "day": date(2026, 2, 17), "ok": True,
             "data": {"意见": "同意", "n": [1, 2.5, None], "深": {"k": "☃"}}, "name": "甲"},
            {"at": datetime(2026, 12, 1, 23, 59, 59, 999999), "day": None, "ok": False, "data": None, "name": None},
            {"at": None, "day": date(1, 1, 1), "ok": None, "data": [], "name": ""}]
    eng, sessions = _open(sqlite_url)
    try:
        table.create(eng)
        with eng.begin() as conn:
            conn.execute(insert(table), [r | {"k": 2 * i} for i, r in enumerate(rows)])
        step = StepSession(eng.connect(), sessions)
        step.raw.begin()
        step.raw.executemany(stmt, [r | {"k": 2 * i + 1} for i, r in enumerate(rows)])
        step.finish(commit=True)
        step.close()
        with eng.connect() as conn:
            as_text = conn.execute(text("SELECT CAST(at AS TEXT), CAST(day AS TEXT), CAST(ok AS TEXT), name "
                                        "FROM bound ORDER BY k")).all()
            read = conn.execute(select(table).order_by(table.c.k)).all()
        for i, row in enumerate(rows):
            assert as_text[2 * i] == as_text[2 * i + 1]
            assert read[2 * i][1:] == read[2 * i + 1][1:] == tuple(row[n] for n in names[1:])
    finally:
        eng.dispose()


def test_a_date_bound_on_the_cursor_reads_back_as_a_date(sqlite_url):
    eng, sessions = _open(sqlite_url)
    try:
        step = StepSession(eng.connect(), sessions)
        raw = Raw.of(step)
        assert raw is step.raw
        raw.begin()
        raw.execute(Statement("CREATE TABLE t (d DATE, b BOOLEAN)"))
        raw.execute(Statement("INSERT INTO t VALUES (:d, :b)", {"d": "date", "b": "bool"}),
                    {"d": date(2026, 2, 17), "b": False})
        assert raw.all(Statement("SELECT d, b FROM t", columns=("date", "bool"))) == [(date(2026, 2, 17), False)]
        step.finish(commit=False)
        step.close()
    finally:
        eng.dispose()


# ---------------------------------------------------------------- WAL checkpoints

def _office(tmp_path):
    url = f"sqlite:///{tmp_path / 'onetrip.db'}"
    from onetrip_testing import CliHarness
    cli = CliHarness(url, simulation=False)
    cli.ok("init")
    setup_people(cli)
    model = tmp_path / "wal.bpmn"
    model.write_text(linear_model("WAL", "检查点", [Step(f"环节{i}", lane=LANE) for i in range(5)]), encoding="utf-8")
    cli.ok(f"process upload {model} --label after", user="李设计")
    svc = Service(Settings(db_url=url, user=None))
    return cli, svc, Context("王窗口", svc.settings.clock), tmp_path / "onetrip.db"


def _run_cases(svc, ctx, n):
    for _ in range(n):
        r = svc.start_case(ctx, "WAL")
        while r["ready"]:
            r = svc.complete_task(ctx, r["ready"][0]["id"], {"意见": "同意"})


def _autocheckpoint(svc) -> set[int]:
    """wal_autocheckpoint of every connection in the service's pool."""
    seen, held = set(), []
    try:
        for _ in range(svc._engine.pool.checkedin()):
            conn = svc._engine.raw_connection()
            held.append(conn)
            seen.add(conn.driver_connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
    finally:
        for conn in held:
            conn.close()
    return seen


def test_a_process_of_many_steps_checkpoints_on_a_thread(tmp_path, monkeypatch):
    monkeypatch.setattr(database.WalCheckpointer, "EVERY", 10)
    monkeypatch.setattr(database.WalCheckpointer, "IDLE_SECONDS", 0.05)
    cli, svc, ctx, path = _office(tmp_path)
    try:
        _run_cases(svc, ctx, 1)
        checkpointer = svc._checkpointer
        assert checkpointer.running
        thread = checkpointer._thread
        _run_cases(svc, ctx, 30)                    # 150 steps
        deadline = time.monotonic() + 5
        while checkpointer.checkpoints < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert checkpointer.checkpoints >= 3
        assert _autocheckpoint(svc) == {0}           # the steps' connections leave it to the thread
        with sqlite3.connect(path) as conn:         # everything the steps wrote is checkpointed by now
            busy, log, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert busy == 0 and done == log
        assert cli.json("audit verify", user="admin")["ok"]
        assert len(cli.json("case list --status completed")) == 31
    finally:
        svc.dispose()
    assert not thread.is_alive()


def test_a_one_step_process_keeps_sqlites_own_checkpoints(tmp_path):
    cli, svc, ctx, path = _office(tmp_path)
    try:
        svc.start_case(ctx, "WAL")                  # one step (a CLI command): no thread
        assert not svc._checkpointer.running
        assert _autocheckpoint(svc) == {1000}
    finally:
        svc.dispose()


def test_only_a_sqlite_file_gets_a_checkpointer(tmp_path):
    assert database.wal_checkpointer("postgresql+psycopg://u@h/db") is None
    assert database.wal_checkpointer("sqlite://") is None
    assert database.wal_checkpointer("sqlite:///:memory:") is None
    checkpointer = database.wal_checkpointer(f"sqlite:///{tmp_path / 'new.db'}")
    assert checkpointer is not None and not checkpointer.running

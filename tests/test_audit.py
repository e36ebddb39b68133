"""The audit trail is a hash chain: any change made behind the application's back is found."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from onetrip_testing import finish_case, setup_people


@pytest.fixture
def finished_case(cli, sample_bpmn):
    setup_people(cli)
    cli.ok("user add 审计 --role reformer", user="admin")
    cli.ok(f"process upload {sample_bpmn} --label after", user="李设计")
    case = cli.json("case start JZZSAMPLE", user="王窗口")["id"]
    finish_case(cli, case)
    return cli, case


def tamper(cli, sql):
    eng = create_engine(cli.db_url)
    with eng.begin() as conn:
        conn.execute(text(sql))
    eng.dispose()


def test_untouched_trail_verifies(finished_case):
    cli, case = finished_case
    r = cli.ok("audit verify", user="审计")
    assert r.stdout.strip() == "ok: 6 events of 1 case verified"
    assert cli.json(f"audit verify {case}", user="审计")["ok"] is True


@pytest.mark.parametrize("sql, message", [
    ("UPDATE task_events SET actor = '冒名' WHERE seq = 3", "case 1 event 3: content changed after it was recorded"),
    ("UPDATE task_events SET onsite = NOT onsite WHERE seq = 2", "case 1 event 2: content changed"),
    ("DELETE FROM task_events WHERE seq = 4", "case 1 event 5: expected event 4"),
    ("DELETE FROM task_events WHERE seq = 6", "case 1: case recorded 6 events, the trail ends at 5"),
    ("INSERT INTO task_events (case_id, seq, action, onsite, step, clock_stop, materials, data, at, actor) "
     "VALUES (1, 7, 'complete', false, true, false, 0, '{}', '2026-03-03 10:00:00', '伪造')",
     "case 1 event 7: chain broken"),
    ("UPDATE cases SET trips = 0", "case 1: trips is 0 but the events say 2"),
    ("UPDATE cases SET paused_workdays = 5", "case 1: paused_workdays is 5 but the events say 0"),
])
def test_tampering_is_reported(finished_case, sql, message):
    cli, _ = finished_case
    tamper(cli, sql)
    r = cli("audit verify", user="审计")
    assert r.exit_code == 1
    assert message in r.stderr


def test_clerks_cannot_verify(finished_case):
    cli, _ = finished_case
    r = cli("audit verify", user="王窗口")
    assert r.exit_code == 1 and "only admins or reformers may verify the audit trail" in r.stderr

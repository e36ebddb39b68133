"""The worker fires expired timers (waiting periods, escalations of overdue steps) and sends
deadline reminders; several workers share the work without doing anything twice."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
TIMERS = ROOT / "tests" / "data" / "timers.bpmn"


def people(cli):
    cli.ok("init")
    cli.ok("user add admin --role admin")
    cli.ok("user add 设计 --role designer", user="admin")
    cli.ok("user add 窗口 --role clerk --department 综合窗口", user="admin")
    cli.ok("user add 督查 --role clerk --department 督查室", user="admin")
    cli.ok(f"process upload {TIMERS} --label after", user="设计")


def ready_names(cli, case_id):
    return [t["name"] for t in cli.json(f"case show {case_id}")["ready"]]


def test_waiting_period_then_escalation(cli):
    people(cli)
    case = cli.json("case start TIMERS", user="窗口", now="2026-03-02T09:00")["id"]
    assert ready_names(cli, case) == []                       # waiting for the publicity period
    out = cli.ok("worker --once", user="admin", now="2026-03-02T09:30").stdout
    assert "0 timers fired in 0 cases" in out
    out = cli.ok("worker --once", user="admin", now="2026-03-02T10:01").stdout
    assert "1 timers fired in 1 cases" in out
    assert ready_names(cli, case) == ["审核"]
    out = cli.ok("worker --once", user="admin", now="2026-03-02T18:00").stdout
    assert "0 timers fired" in out                             # the review is not overdue yet
    out = cli.ok("worker --once", user="admin", now="2026-03-03T10:30").stdout
    assert "1 timers fired in 1 cases" in out
    assert ready_names(cli, case) == ["督办"]                 # escalated to supervision
    events = cli.json(f"case show {case}")["events"]
    assert [(e["action"], e["actor"]) for e in events if e["action"] == "timer"] == [("timer", "timer")] * 2
    assert cli.json("audit verify", user="admin")["ok"]


def test_deadline_reminders_once(cli):
    people(cli)
    case = cli.json("case start TIMERS", user="窗口", now="2026-03-02T09:00")["id"]   # due 4 March
    assert "0 reminders" in cli.ok("worker --once", user="admin", now="2026-03-02T10:00").stdout
    out = cli.ok("worker --once", user="admin", now="2026-03-03T10:00").stdout
    assert f"reminder: case {case} TIMERS due 2026-03-04" in out
    assert "0 reminders" in cli.ok("worker --once", user="admin", now="2026-03-03T11:00").stdout


@pytest.mark.postgres
@pytest.mark.slow
def test_two_workers_share_1000_timers_on_postgres(pg_url):
    from onetrip_testing import CliHarness
    from engine.clock import FixedClock
    from engine.config import Settings
    from engine.service import Service
    from datetime import datetime

    cli = CliHarness(pg_url)
    people(cli)
    from engine.context import Context
    svc = Service(Settings(db_url=pg_url))
    ctx = Context("窗口", FixedClock(datetime(2026, 3, 2, 9, 0)))
    for _ in range(1000):
        svc.start_case(ctx, "TIMERS")
    svc.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONETRIP_")}
    cmd = [sys.executable, "-c", "import cli; cli.main()", "--db", pg_url, "--as", "admin", "--now", "2026-03-02T11:00",
           "worker", "--once", "--batch", "5000"]
    workers = [subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    outs = [w.communicate(timeout=600) for w in workers]
    assert all(w.returncode == 0 for w in workers), outs
    fired = [int(out.split("worker: ")[1].split()[0]) for out, _ in outs]
    assert sum(fired) == 1000 and all(n > 0 for n in fired), fired   # shared, none twice, none lost
    from sqlalchemy import create_engine, text
    eng = create_engine(pg_url)
    with eng.connect() as conn:
        per_case = conn.execute(text("SELECT count(*) FROM task_events WHERE action = 'timer' "
                                     "GROUP BY case_id")).scalars().all()
        ready = conn.execute(text("SELECT count(*) FROM work_items WHERE name = '审核'")).scalar()
    eng.dispose()
    assert len(per_case) == 1000 and set(per_case) == {1} and ready == 1000

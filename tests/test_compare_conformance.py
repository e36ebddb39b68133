"""`compare --stored` reads each case's conformance from tables (case_conformance, conformance_counts):
the figures are the ones the replay of every case gives (the `conformance` operation, check_cases), on
SQLite and PostgreSQL, for several todays, after steps, the worker's pass and a holiday import; once
stored, the local CLI answers without SpiffWorkflow or the ORM."""
from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import delete, insert, select, text

from engine import measure, store
from engine.clock import Clock, FixedClock
from engine.config import Settings
from engine.context import Context
from engine.mining import conformance
from engine.mining.log import LogFilter
from engine.service import Service
from engine.store import TaskEvent
from onetrip_testing import POLICE, WINDOW, setup_people
from test_fast_reads import run_cli
from test_metric_counts import _session

LANE_USER = {WINDOW: "王窗口", POLICE: "赵警官"}
DAYS = [date(2026, 3, 6), date(2026, 3, 20), date(2026, 4, 15), date(2027, 1, 15)]


def _at(day: date, hour: int) -> str:
    return datetime.combine(day, datetime.min.time()).replace(hour=hour).isoformat(timespec="minutes")


def _seed(cli, sample_bpmn) -> dict[str, int]:
    """Cases of both labels: straight through, returned once or twice, on-site reviews, late, cancelled,
    left open (due dates before and after the test days); two with deviations written into the log."""
    setup_people(cli)
    cli.ok(f"process upload {sample_bpmn} --label before", user="李设计")
    cli.ok(f"process upload {sample_bpmn} --label after", user="李设计")
    rnd = random.Random(6)
    day, ids = date(2026, 2, 23), {}
    for n in range(16):
        day += timedelta(days=rnd.randint(0, 3))
        label = "before" if n % 3 == 0 else "after"
        case = cli.json(f"case start JZZSAMPLE --label {label}", user="王窗口", now=_at(day, 9))["id"]
        t, fate, returned = day, n % 6, 0
        for step in range(14):
            ready = cli.json(["task", "list", "--all", "--case", str(case)])
            if not ready or (fate == 3 and step == 2) or (fate == 4 and returned):
                break
            [task] = ready
            t += timedelta(days=rnd.randint(0, 6 if fate == 5 else 3))
            if fate in (1, 4, 5) and returned < (2 if fate == 5 else 1) and task["task"] == "Review":
                cli.ok(["task", "return", task["id"], "--reason", "缺件"], user=LANE_USER[task["lane"]],
                       now=_at(t, 10))
                returned += 1
                continue
            extra = ["--onsite"] if fate == 2 and task["task"] == "Review" else []
            cli.ok(["task", "complete", task["id"], *extra], user=LANE_USER[task["lane"]], now=_at(t, 10))
        if fate == 4:
            cli.ok(f"case cancel {case} --reason 撤回", user="admin", now=_at(t + timedelta(days=1), 11))
        ids.setdefault(fate, case)
    with _session(cli.db_url) as s:       # a lost 制证 record, a duplicated 审核 (completed cases)
        done = s.scalars(select(store.Case.id).where(store.Case.status == "completed").order_by(store.Case.id)).all()
        s.execute(delete(TaskEvent).where(TaskEvent.case_id == done[0], TaskEvent.task_name == "Issue"))
        row = s.execute(select(TaskEvent.__table__).where(TaskEvent.case_id == done[1], TaskEvent.task_name == "Review")
                        .limit(1)).mappings().one()
        s.execute(insert(TaskEvent), {k: v for k, v in row.items() if k != "id"} | {"seq": 99})
    return ids




def _old(url: str, today: date, replay: bool = True) -> dict:
    """The figures as compare --stored computed them before: every case checked (replayed) now."""
    with _session(url) as s:
        results = conformance.check_cases(s, LogFilter(), measure.load_calendar(s), today, replay_steps=replay)
    return {(m["matter_code"], m["label"]): {"conforming_share": m["conforming_share"],
                                             "mean_fitness": m["mean_fitness"],
                                             "conformance_checks": "replay and promises" if replay else "promises only"}
            for m in conformance.summarize(results)}


def _service(url: str, name: str, clock, *args):
    service = Service(Settings(db_url=url))
    try:
        return json.loads(json.dumps(getattr(service, name)(Context(None, clock), *args), default=str))
    finally:
        service.dispose()


def _new(answer: dict) -> dict:
    keys = ("conforming_share", "mean_fitness", "conformance_checks")
    return {(row["matter_code"], label): {k: m[k] for k in keys}
            for row in answer["matters"] for label, m in (row.get("measured") or {}).items() if "conforming_share" in m}


def _compare(url: str, today: date) -> dict:
    return _new(_service(url, "compare_stored", FixedClock(datetime.combine(today, datetime.min.time()))))


def _stored(url: str) -> tuple[int, int]:
    with _session(url) as s:
        return (s.execute(text("SELECT count(*) FROM case_conformance")).scalar(),
                s.execute(text("SELECT count(*) FROM cases")).scalar())


def test_stored_conformance_gives_the_replayed_figures(cli, sample_bpmn, db_url, tmp_path):
    ids = _seed(cli, sample_bpmn)
    url = cli.db_url
    seen = set()
    for today in DAYS:
        old = _old(url, today)
        assert _compare(url, today) == old, today
        seen |= {(v["conforming_share"], v["mean_fitness"]) for v in old.values()}
    assert len(seen) > 2 and any(f != 1.0 for _, f in seen)      # late, open past due, deviations: they move
    stored, cases = _stored(url)
    assert stored == cases
    with _session(url) as s:
        statuses = dict(s.execute(text("SELECT status, count(*) FROM case_conformance GROUP BY status")).all())
    assert statuses.keys() == {"open", "completed", "cancelled"}, statuses

    # Filled: the local CLI reads tables only, and answers what the Service answers.
    out, heavy = run_cli(url, "compare", "--stored", "--json")
    assert out.returncode == 0 and heavy == [], (out.stderr, heavy)
    assert json.loads(out.stdout) == _service(url, "compare_stored", Clock())
    assert _new(json.loads(out.stdout)) == _old(url, date.today())

    # A step moves an open case: its stored result is no longer current; the Service checks it again.
    open_case = ids[3]
    [task] = cli.json(["task", "list", "--all", "--case", str(open_case)])
    cli.ok(["task", "complete", task["id"]], user=LANE_USER[task["lane"]], now="2026-04-20T10:00")
    out, heavy = run_cli(url, "compare", "--stored", "--json")
    assert out.returncode == 0 and heavy, "a moved case needs the replay"
    assert _new(json.loads(out.stdout)) == _old(url, date.today())
    out, heavy = run_cli(url, "compare", "--stored", "--json")
    assert out.returncode == 0 and heavy == [], heavy

    # ... or the worker's pass does, after its reminders.
    [task] = cli.json(["task", "list", "--all", "--case", str(open_case)])
    cli.ok(["task", "complete", task["id"]], user=LANE_USER[task["lane"]], now="2026-04-21T10:00")
    assert _stored(url)[0] == cases
    cli.ok("worker --once", user="admin")
    out, heavy = run_cli(url, "compare", "--stored", "--json")
    assert out.returncode == 0 and heavy == [], heavy
    for today in DAYS:
        assert _compare(url, today) == _old(url, today), today

    # A holiday notice moves working days: which completed cases were late is recounted.
    notice = tmp_path / "2026.toml"
    notice.write_text('year = 2026\nholidays = ["2026-02-26..2026-04-17"]\n', encoding="utf-8")
    before, late = _compare(url, DAYS[-1]), _late(url)
    cli.ok(["calendar", "import", str(notice)], user="admin", now="2026-12-01T09:00")
    assert _late(url) < late      # the case the test completed on 2026-04-21 among them
    for today in DAYS:
        assert _compare(url, today) == _old(url, today), today
    assert _compare(url, DAYS[-1]) != before


def _late(url: str) -> set[int]:
    with _session(url) as s:
        return set(s.execute(text("SELECT case_id FROM case_conformance WHERE late_after = 0")).scalars())


def test_beyond_the_replay_limit_the_promises_from_the_tables(cli, sample_bpmn, db_url, monkeypatch):
    import engine.service.mining as mining_service
    _seed(cli, sample_bpmn)
    url = cli.db_url
    for limit in (3, None):         # promises only (stored without replay), then every case replayed
        if limit is not None:
            monkeypatch.setattr(mining_service, "REPLAY_LIMIT", limit)
            monkeypatch.setattr(measure, "REPLAY_LIMIT", limit)
        else:
            monkeypatch.undo()
        for today in DAYS[1:3]:
            old = _old(url, today, replay=limit is None)
            assert _compare(url, today) == old, (limit, today)
        assert all(v["conformance_checks"] == ("promises only" if limit else "replay and promises")
                   for v in old.values())
    assert _stored(url)[0] == _stored(url)[1]


def test_the_tables_hold_no_case_twice_and_count_the_ended_ones(cli, sample_bpmn, db_url):
    _seed(cli, sample_bpmn)
    url = cli.db_url
    _compare(url, DAYS[-1])
    _compare(url, DAYS[-1])     # nothing to fill the second time
    with _session(url) as s:
        ended = s.execute(text("SELECT count(*) FROM cases WHERE status IN ('completed', 'cancelled')")).scalar()
        counted = s.execute(text("SELECT sum(n) FROM conformance_counts")).scalar()
        per_case = s.execute(text("SELECT count(*) FROM case_conformance WHERE status IN ('completed', "
                                  "'cancelled')")).scalar()
        figures = measure.conformance_figures(s.connection(), DAYS[-1])
        stale = measure.stale_conformance(s.connection(), True)
    assert ended == counted == per_case and ended > 0
    assert figures.complete and figures.replay and stale == []

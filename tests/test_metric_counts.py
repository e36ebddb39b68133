"""Metrics from case_counts give the figures the full scan of cases gives (SQLite and PostgreSQL).

Cases of two versions (before / after), completed straight through, returned for correction
(clock stopped while the applicant supplements), cancelled (with due dates past and still ahead)
and left open; figures compared for several days, filters, after a backfill from scratch and after
a holiday import that moves working days.
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import text

from contextlib import contextmanager

from sqlalchemy.orm import Session

from engine import measure, store
from onetrip_testing import POLICE, WINDOW, setup_people

LANE_USER = {WINDOW: "王窗口", POLICE: "赵警官"}


def _at(day: date, hour: int) -> str:
    return datetime.combine(day, datetime.min.time()).replace(hour=hour).isoformat(timespec="minutes")


def _seed(cli, sample_bpmn) -> None:
    setup_people(cli)
    cli.ok(f"process upload {sample_bpmn} --label before", user="李设计")
    cli.ok(f"process upload {sample_bpmn} --label after", user="李设计")
    rnd = random.Random(15)
    day = date(2026, 2, 23)
    for n in range(14):
        day += timedelta(days=rnd.randint(0, 3))
        label = "before" if n % 3 == 0 else "after"
        case = cli.json(f"case start JZZSAMPLE --label {label}", user="王窗口", now=_at(day, 9))["id"]
        t, fate, returned = day, n % 5, False
        for step in range(12):
            ready = cli.json(["task", "list", "--all", "--case", str(case)])
            if not ready or (fate == 3 and step == 2) or (fate == 4 and returned):
                break
            [task] = ready
            t += timedelta(days=rnd.randint(0, 4))
            verb = ["task", "complete", task["id"]]
            if fate in (1, 4) and not returned:
                r = cli(["task", "return", task["id"], "--reason", "缺件"], user=LANE_USER[task["lane"]], now=_at(t, 10))
                if r.exit_code == 0:
                    returned = True
                    continue
            cli.ok(verb, user=LANE_USER[task["lane"]], now=_at(t, 10))
        if fate == 4:
            cli.ok(f"case cancel {case} --reason 撤回", user="admin", now=_at(t + timedelta(days=1), 11))


@contextmanager
def _session(url: str):
    """A session of our own on the database (the caller owns the transaction, as the engine's own do)."""
    eng = store.open_database(url)
    try:
        with Session(eng) as s, s.begin():
            yield s
    finally:
        eng.dispose()


def _both(url: str, today: date, filters: measure.Filters):
    with _session(url) as s:
        first, last = measure.calendar_span(s, today)
        measure.ensure_calendar(s, measure.load_calendar(s), first, last)
        return measure.matter_metrics(s, today, filters), measure.matter_metrics_scan(s, today, filters)


FILTERS = [measure.Filters(), measure.Filters("JZZSAMPLE"), measure.Filters(since=date(2026, 3, 2)),
           measure.Filters(until=date(2026, 3, 4)), measure.Filters(None, date(2026, 2, 25), date(2026, 3, 6)),
           measure.Filters("NOSUCH")]
DAYS = [date(2026, 3, 10), date(2026, 4, 1), date(2027, 1, 15)]


def _check(url):
    seen = 0
    for today in DAYS:
        for f in FILTERS:
            counted, scanned = _both(url, today, f)
            assert counted == scanned, (today, f)
            seen += sum(r["cases"] for r in scanned)
    return seen


def test_counts_give_the_full_scan_figures(cli, sample_bpmn, tmp_path):
    _seed(cli, sample_bpmn)
    url = cli.db_url
    assert _check(url) > 0
    counted, _ = _both(url, DAYS[-1], measure.Filters())
    assert {r["label"] for r in counted} == {"before", "after"}
    assert any(r["mean_returns"] for r in counted) and any(r["overdue"] for r in counted)

    # The backfill (migration 0005, holiday imports) recounts from the cases alone: same figures.
    with _session(url) as s:
        statuses = dict(s.execute(text("SELECT status, count(*) FROM cases GROUP BY status")).all())
        assert statuses.keys() == {"open", "completed", "cancelled"}, statuses
        assert s.execute(text("SELECT count(*) FROM cases WHERE returns > 0 AND status = 'completed'")).scalar()
        rows_before = sorted(s.execute(text("SELECT version_id, day, metric, value, n FROM case_counts")).all())
        s.execute(text("DELETE FROM case_counts"))
        measure.rebuild_counts(s, measure.load_calendar(s))
        rows_after = sorted(s.execute(text("SELECT version_id, day, metric, value, n FROM case_counts")).all())
    assert rows_after == rows_before and rows_before

    # A holiday notice for 2026 (it replaces the packaged year) moves working days: recounted.
    notice = tmp_path / "2026.toml"
    notice.write_text('year = 2026\nholidays = ["2026-03-03..2026-03-04"]\n', encoding="utf-8")
    cli.ok(["calendar", "import", str(notice)], user="admin", now="2026-12-01T09:00")
    _check(url)
    with _session(url) as s:
        rows_now = sorted(s.execute(text("SELECT version_id, day, metric, value, n FROM case_counts")).all())
    assert rows_now != rows_before


@pytest.mark.postgres
def test_task_events_are_partitioned_by_month_on_postgres(pg_url, sample_bpmn):
    """Migration 0005 makes task_events a table partitioned by month; steps, audit verify and
    metrics work on it (the rest of the suite runs on it too)."""
    from onetrip_testing import CliHarness
    cli = CliHarness(pg_url)
    _seed(cli, sample_bpmn)
    with _session(pg_url) as s:
        assert s.execute(text("SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                              "WHERE c.relname = 'task_events'")).scalar() == 1
        used = s.execute(text("SELECT DISTINCT tableoid::regclass::text FROM task_events")).scalars().all()
    assert used and all(name.startswith("task_events_p2026") for name in used), used
    assert cli.json("audit verify", user="admin")["ok"]
    _check(pg_url)

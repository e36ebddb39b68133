"""Measured metrics from executed cases, computed in SQL.

Per case, from its task events: steps executed, trips (onsite completions),
materials submitted, returns for correction, elapsed working days (the
acceptance day is day 0; working days while the case waited on the applicant
— steps annotated ``clock=stop`` — do not count), on time or overdue.
Per matter and label: cases, mean/median/90th percentile elapsed working
days, on-time rate, mean trips, steps, materials and returns.

Working days come from the ``calendar_days`` table (China's official
calendar materialised by :func:`ensure_calendar`), so elapsed days are a
difference of two ``seq`` values: no Python loop over rows.
Percentiles are nearest-rank (the smallest value with at least p% of cases at
or below it), computed with window functions that SQLite and PostgreSQL share.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Date, Float, and_, case, cast, delete, func, insert, literal, or_, select
from sqlalchemy.orm import Session, aliased

from .store import Case, CalendarDay, Matter, ProcessVersion, TaskEvent
from .workdays import WorkCalendar

HUMAN_ACTIONS = ("complete", "return")


def ensure_calendar(session: Session, calendar: WorkCalendar, first: date, last: date) -> None:
    """Make ``calendar_days`` cover [first, last] (rebuilt whole, so ``seq`` stays continuous)."""
    lo, hi = session.execute(select(func.min(CalendarDay.day), func.max(CalendarDay.day))).one()
    if isinstance(lo, str):  # pragma: no cover - driver without date parsing
        lo, hi = date.fromisoformat(lo), date.fromisoformat(hi)
    if lo is not None and lo <= first and hi >= last:
        return
    first = min(first, lo) if lo else first
    last = max(last, hi) if hi else last
    session.execute(delete(CalendarDay))
    rows = [{"day": d, "workday": w, "seq": s} for d, w, s in calendar.day_rows(first, last)]
    for i in range(0, len(rows), 5000):
        session.execute(insert(CalendarDay), rows[i:i + 5000])


def reset_calendar(session: Session) -> None:
    """Forget the materialised calendar (after a holiday file import)."""
    session.execute(delete(CalendarDay))


def calendar_span(session: Session, today: date) -> tuple[date, date]:
    """The days metrics may touch: from the first acceptance to today or the last event, whole years."""
    first = session.scalar(select(func.min(Case.accepted_at)))
    last_event = session.scalar(select(func.max(TaskEvent.at)))
    first = first.date() if isinstance(first, datetime) else (first or today)
    last = max(today, last_event.date() if isinstance(last_event, datetime) else today)
    return date(first.year, 1, 1), date(last.year, 12, 31)


def _day(col):
    return func.date(col)


@dataclass
class Filters:
    matter_code: str | None = None
    since: date | None = None
    until: date | None = None
    case_ids: list[int] | None = None


def _filtered(stmt, f: Filters):
    if f.matter_code:
        stmt = stmt.where(Matter.code == f.matter_code)
    if f.since:
        stmt = stmt.where(Case.accepted_at >= datetime.combine(f.since, datetime.min.time()))
    if f.until:
        stmt = stmt.where(Case.accepted_at < datetime.combine(f.until + timedelta(days=1), datetime.min.time()))
    if f.case_ids is not None:
        stmt = stmt.where(Case.id.in_(f.case_ids))
    return stmt


def case_metrics_query(today: date, filters: Filters | None = None):
    """One row per case with its measured figures (a selectable).

    Steps, trips, returns, materials and paused working days are the case's
    counters, which every step updates in the same transaction as its events
    (and ``audit verify`` recounts from the events); elapsed working days are
    a difference of calendar ``seq`` values.
    """
    c_start, c_end = aliased(CalendarDay), aliased(CalendarDay)
    end_day = func.coalesce(_day(Case.completed_at), literal(today, Date))
    elapsed = (c_end.seq - c_start.seq - Case.paused_workdays).label("elapsed")
    stmt = (select(Case.id.label("case_id"), Matter.code.label("matter_code"), Matter.name.label("matter_name"),
                   ProcessVersion.label.label("label"), Case.version_id, Case.status, Case.accepted_at,
                   Case.completed_at, Case.promised_workdays, Case.due_date,
                   Case.steps_done.label("steps"), Case.trips.label("trips"), Case.returns.label("returns"),
                   Case.materials_submitted.label("materials"), Case.paused_workdays.label("paused"), elapsed)
            .join(ProcessVersion, Case.version_id == ProcessVersion.id)
            .join(Matter, ProcessVersion.matter_id == Matter.id)
            .join(c_start, c_start.day == _day(Case.accepted_at))
            .join(c_end, c_end.day == end_day))
    return _filtered(stmt, filters or Filters())


def recount_from_events(session: Session, case_ids: list[int] | None = None) -> dict[int, dict]:
    """The same per-case figures recounted from the task events alone (the audit trail)."""
    ev = TaskEvent
    human = ev.action.in_(HUMAN_ACTIONS)
    p_start, p_end = aliased(CalendarDay), aliased(CalendarDay)
    paused = func.sum(case((ev.clock_stop, p_end.seq - p_start.seq), else_=0))
    stmt = (select(ev.case_id, func.sum(case((ev.step, 1), else_=0)), func.sum(case((ev.onsite, 1), else_=0)),
                   func.sum(case((ev.action == "return", 1), else_=0)), func.sum(ev.materials), paused)
            .join(p_start, p_start.day == _day(ev.ready_at))
            .join(p_end, p_end.day == _day(ev.at))
            .where(human).group_by(ev.case_id))
    if case_ids is not None:
        stmt = stmt.where(ev.case_id.in_(case_ids))
    return {row[0]: dict(zip(("steps_done", "trips", "returns", "materials_submitted", "paused_workdays"),
                             (int(v or 0) for v in row[1:])))
            for row in session.execute(stmt)}


def matter_metrics(session: Session, today: date, filters: Filters | None = None) -> list[dict]:
    """Per matter and label: measured figures over the cases that match ``filters``.

    Two grouped passes over the per-case rows (a materialized CTE): the
    aggregates, and the nearest-rank percentiles by window functions; the
    two small grouped results are then joined.
    """
    per_case = case_metrics_query(today, filters).cte("per_case").prefix_with("MATERIALIZED")
    completed = per_case.c.status == "completed"
    on_time = and_(completed, per_case.c.promised_workdays.isnot(None),
                   per_case.c.elapsed <= per_case.c.promised_workdays)
    late = or_(and_(completed, per_case.c.elapsed > per_case.c.promised_workdays),
               and_(~completed, per_case.c.due_date.isnot(None), per_case.c.due_date < today))
    group = (per_case.c.matter_code, per_case.c.label)
    as_float = lambda col: cast(col, Float)  # noqa: E731
    agg = (select(per_case.c.matter_code, func.max(per_case.c.matter_name).label("name"), per_case.c.label,
                  func.count().label("cases"),
                  func.sum(case((completed, 1), else_=0)).label("completed"),
                  func.avg(case((completed, as_float(per_case.c.elapsed)))).label("mean_workdays"),
                  func.sum(case((on_time, 1), else_=0)).label("on_time"),
                  func.sum(case((late, 1), else_=0)).label("overdue"),
                  func.avg(case((completed, as_float(per_case.c.trips)))).label("mean_trips"),
                  func.avg(case((completed, as_float(per_case.c.steps)))).label("mean_steps"),
                  func.avg(case((completed, as_float(per_case.c.materials)))).label("mean_materials"),
                  func.avg(as_float(per_case.c.returns)).label("mean_returns"),
                  func.max(per_case.c.promised_workdays).label("promised_workdays"))
           .group_by(*group).subquery("agg"))
    # Nearest-rank percentiles over completed cases: rank = ceil(p * n / 100) in integer arithmetic.
    ranked = (select(per_case.c.matter_code, per_case.c.label, per_case.c.elapsed,
                     func.row_number().over(partition_by=group, order_by=per_case.c.elapsed).label("rn"),
                     func.count().over(partition_by=group).label("n"))
              .where(completed).subquery("ranked"))
    pct = (select(ranked.c.matter_code, ranked.c.label,
                  *[func.max(case((ranked.c.rn == (ranked.c.n * p + 99) // 100, ranked.c.elapsed))).label(f"p{p}")
                    for p in (50, 90)])
           .group_by(ranked.c.matter_code, ranked.c.label).subquery("pct"))
    stmt = (select(agg, pct.c.p50.label("median_workdays"), pct.c.p90.label("p90_workdays"))
            .outerjoin(pct, and_(pct.c.matter_code == agg.c.matter_code, pct.c.label == agg.c.label))
            .order_by(agg.c.matter_code, agg.c.label.desc()))
    out = []
    for r in session.execute(stmt).mappings():
        done = r["completed"] or 0
        out.append({
            "matter_code": r["matter_code"], "name": r["name"], "label": r["label"],
            "cases": r["cases"], "completed": done, "open": r["cases"] - done,
            "mean_workdays": _round(r["mean_workdays"]), "median_workdays": r["median_workdays"],
            "p90_workdays": r["p90_workdays"], "promised_workdays": r["promised_workdays"],
            "on_time_rate": _round(r["on_time"] / done, 3) if done else None,
            "overdue": r["overdue"] or 0,
            "mean_trips": _round(r["mean_trips"]), "mean_steps": _round(r["mean_steps"]),
            "mean_materials": _round(r["mean_materials"]), "mean_returns": _round(r["mean_returns"]),
        })
    return out


def _round(value, digits: int = 2):
    return None if value is None else round(float(value), digits)

"""The event log: task events of the chosen cases, read in batches in case order.

One query joins each event to its case, version, matter and the materialised
working-day calendar (``calendar_days``) for the working-day offset from
acceptance, ordered by ``(case_id, seq)`` (the unique index of the audit
trail), and is read with ``yield_per``: PostgreSQL streams it through a
server-side cursor, SQLite steps its cursor; memory stays bounded by the
batch size whatever the log's length.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from ..errors import InvalidInput
from ..store import LABELS, CalendarDay, Case, Matter, ProcessVersion, TaskEvent

#: Events that are activities of the log: a clerk's completion or return, a timer that fired.
ACTIVITY_ACTIONS = ("complete", "return", "timer")
BATCH = 5000

EVENT_COLUMNS = ("case_id", "seq", "task_id", "activity", "lane", "actor", "action", "onsite", "step",
                 "clock_stop", "new_materials", "ready_at", "at", "workday", "matter_code", "label",
                 "version_id", "accepted_at", "completed_at", "status", "promised_workdays")


@dataclass(frozen=True)
class LogFilter:
    """Which cases: by matter, label and acceptance date (like ``metrics``)."""
    matter_code: str | None = None
    label: str | None = None
    since: date | None = None
    until: date | None = None
    case_ids: tuple[int, ...] | None = None

    def check(self) -> "LogFilter":
        if self.label is not None and self.label not in LABELS:
            raise InvalidInput(f"unknown label {self.label!r}: use before or after")
        if self.since and self.until and self.until < self.since:
            raise InvalidInput(f"--until {self.until} is before --since {self.since}")
        return self

    def apply(self, stmt):
        if self.matter_code:
            stmt = stmt.where(Matter.code == self.matter_code)
        if self.label:
            stmt = stmt.where(ProcessVersion.label == self.label)
        if self.since:
            stmt = stmt.where(Case.accepted_at >= datetime.combine(self.since, datetime.min.time()))
        if self.until:
            stmt = stmt.where(Case.accepted_at < datetime.combine(self.until + timedelta(days=1),
                                                                    datetime.min.time()))
        if self.case_ids is not None:
            stmt = stmt.where(Case.id.in_(self.case_ids))
        return stmt


def parse_date(value, option: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{option} {value!r}: expected a date like 2026-03-02") from None


def _cases(stmt):
    return (stmt.join(ProcessVersion, Case.version_id == ProcessVersion.id)
            .join(Matter, ProcessVersion.matter_id == Matter.id))


def events_query(flt: LogFilter):
    """Activity events in ``(case, seq)`` order with their case's attributes and working-day offset."""
    ev = TaskEvent
    c_acc, c_ev = aliased(CalendarDay), aliased(CalendarDay)
    stmt = (select(ev.case_id, ev.seq, ev.task_name, ev.name, ev.lane, ev.actor, ev.action, ev.onsite,
                   ev.step, ev.clock_stop, ev.materials, ev.ready_at, ev.at,
                   (c_ev.seq - c_acc.seq).label("workday"), Matter.code.label("matter_code"), ProcessVersion.label,
                   Case.version_id, Case.accepted_at, Case.completed_at, Case.status, Case.promised_workdays)
            .select_from(ev)
            .join(Case, Case.id == ev.case_id)
            .join(ProcessVersion, Case.version_id == ProcessVersion.id)
            .join(Matter, ProcessVersion.matter_id == Matter.id)
            .join(c_acc, c_acc.day == func.date(Case.accepted_at))
            .join(c_ev, c_ev.day == func.date(ev.at))
            .where(ev.action.in_(ACTIVITY_ACTIONS))
            .order_by(ev.case_id, ev.seq))
    return flt.apply(stmt)


def stream_events(session: Session, flt: LogFilter, batch: int = BATCH):
    """Yield one tuple per event (fields as :data:`EVENT_COLUMNS`), ``batch`` rows at a time."""
    result = session.connection().execution_options(yield_per=batch, stream_results=True) \
        .execute(events_query(flt))
    try:
        for part in result.partitions():
            yield from part
    finally:
        result.close()


def _case_query(flt: LogFilter):
    stmt = _cases(select(Case.id, Matter.code, Matter.name, ProcessVersion.label, Case.version_id, Case.status,
                         Case.accepted_at, Case.completed_at, Case.promised_workdays, Case.due_date,
                         Case.trips, Case.returns, Case.steps_done, Case.paused_workdays, Case.applicant))
    return flt.apply(stmt).order_by(Case.id)


def case_rows(session: Session, flt: LogFilter):
    """The chosen cases (id, matter, label, version, status, accepted, completed, promised, due, figures)."""
    return session.execute(_case_query(flt)).all()


def stream_cases(session: Session, flt: LogFilter, batch: int = BATCH):
    """Like :func:`case_rows`, read in batches (a server-side cursor on PostgreSQL)."""
    result = session.connection().execution_options(yield_per=batch, stream_results=True) \
        .execute(_case_query(flt))
    try:
        for part in result.partitions():
            yield from part
    finally:
        result.close()


def count_cases(session: Session, flt: LogFilter) -> int:
    return session.scalar(flt.apply(_cases(select(func.count(Case.id)))))


def versions_of(session: Session, flt: LogFilter, skip=()) -> dict[int, ProcessVersion]:
    """The process versions the chosen cases ran on (but those in ``skip``)."""
    ids = select(Case.version_id).distinct()
    ids = flt.apply(_cases(ids))
    stmt = select(ProcessVersion).where(ProcessVersion.id.in_(ids))
    if skip:
        stmt = stmt.where(ProcessVersion.id.not_in(list(skip)))
    return {v.id: v for v in session.scalars(stmt)}


def activity_names(session: Session, flt: LogFilter) -> list[str]:
    """The distinct activities, named as the writers name them (step name, else step id, else action)."""
    label = func.coalesce(TaskEvent.name, TaskEvent.task_name, TaskEvent.action)
    stmt = (select(label).distinct().select_from(TaskEvent).join(Case, Case.id == TaskEvent.case_id)
            .where(TaskEvent.action.in_(ACTIVITY_ACTIONS)))
    stmt = flt.apply(_cases(stmt))
    return sorted(n or "" for n in session.scalars(stmt))


def lanes(session: Session, flt: LogFilter) -> list[str]:
    stmt = (select(TaskEvent.lane).distinct().select_from(TaskEvent).join(Case, Case.id == TaskEvent.case_id)
            .where(TaskEvent.action.in_(ACTIVITY_ACTIONS), TaskEvent.lane.isnot(None)))
    return sorted(session.scalars(flt.apply(_cases(stmt))))


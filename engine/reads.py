"""Reading the ready tasks, the cases and the stored versions with SQLAlchemy Core only.

The Service's ``list_tasks``, ``list_cases``, ``list_versions`` and case records (``show_case``) run
these queries on their session's connection, and :class:`Reader` runs them on a connection of its own,
so ``onetrip task list`` (and ``case list``, ``case show``, ``process list``) answer without importing
the ORM or SpiffWorkflow.  The records are
built here, once, for both.  The columns read are declared as lightweight table clauses in ``engine.tables``.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .annotations import is_onsite
from .database import SCHEMA_REVISION, current_revision, make_engine, parse_id, refuse_missing_sqlite
from .errors import OnetripError
from .values import check_text, nfkc

CASE_STATUSES = ("open", "completed", "quarantine", "cancelled")
CLERK = "clerk"

from .tables import CASES, DEPARTMENTS, EVENTS, ITEMS, MATTERS, USERS, VERSIONS


def is_overdue(due_date: date | None, today: date, completed_at: datetime | None = None) -> bool:
    """The overdue rule: a case with a due date is overdue when it finished after that day, or is still
    open past it.  (``measure`` counts the same rule in SQL over many cases.)"""
    return due_date is not None and ((completed_at.date() if completed_at else today) > due_date)


def iso(value) -> str | None:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else (
        value.isoformat() if value is not None else None)


# ------------------------------------------------------------------ records

def task_record(*, ref: str, case_id: int, spec_name: str, name: str, lane: str | None, props: dict,
                ready_at, matter_code: str, label: str, due_date) -> dict:
    return {"id": ref, "case": case_id, "task": spec_name, "name": name, "lane": lane,
            "matter_code": matter_code, "label": label, "onsite": is_onsite(props), "props": props,
            "ready_at": iso(ready_at), "due_date": iso(due_date)}


def case_summary(*, id: int, matter_code: str, matter_name: str, label: str, version_id: int, status: str,
                 accepted_at, completed_at, due_date, revision: int, today: date) -> dict:
    return {"id": id, "matter_code": matter_code, "matter_name": matter_name, "label": label,
            "version": version_id, "status": status, "accepted_at": iso(accepted_at),
            "completed_at": iso(completed_at), "due_date": iso(due_date),
            "overdue": is_overdue(due_date, today, completed_at), "revision": revision}


def event_record(e, onsite_defaults: dict[str, bool]) -> dict:
    record = {"seq": e.seq, "task": e.task_ref, "task_id": e.task_name, "name": e.name, "lane": e.lane,
              "actor": e.actor, "action": e.action, "onsite": e.onsite, "data": e.data, "at": iso(e.at)}
    if e.task_name:     # a step: where the model said it happens, when the clerk said neither
        record["onsite_default"] = onsite_defaults.get(e.task_name)
    return record


def onsite_defaults(spec_json: str | None) -> dict[str, bool]:
    """Each human step's ``onsite`` annotation (the default when a clerk gives neither --onsite nor
    --online), read from the version's stored spec (SpiffWorkflow's serialized form, as JSON)."""
    if not spec_json:
        return {}
    import json
    stored = json.loads(spec_json)
    specs = [stored["spec"], *(stored.get("subprocess_specs") or {}).values()]
    return {t["bpmn_id"]: is_onsite(t.get("extensions") or {})
            for spec in specs for t in spec["task_specs"].values() if t.get("bpmn_id")}


def version_record(*, id: int, matter_code: str, matter_name: str, process_id: str, name: str | None, label: str,
                   sha256: str, executable: bool, uploaded_by: str | None, uploaded_at) -> dict:
    return {"id": id, "matter_code": matter_code, "matter_name": matter_name, "process_id": process_id,
            "name": name, "label": label, "sha256": sha256, "executable": executable,
            "uploaded_by": uploaded_by, "uploaded_at": iso(uploaded_at)}


# ------------------------------------------------------------------ queries (any Core connection)

#: ``tasks(lane=EVERY_LANE)``: no department filter (``task list --all``).
EVERY_LANE = object()


def tasks(conn, today: date, case_id: int | None = None, lane=EVERY_LANE) -> list[dict]:
    """Ready tasks, earliest due first; ``lane``: a department's (and those of no lane) only."""
    stmt = (select(ITEMS, CASES.c.due_date, MATTERS.c.code, VERSIONS.c.label)
            .join(CASES, CASES.c.id == ITEMS.c.case_id)
            .join(VERSIONS, VERSIONS.c.id == CASES.c.version_id)
            .join(MATTERS, MATTERS.c.id == VERSIONS.c.matter_id))
    if case_id is not None:
        stmt = stmt.where(ITEMS.c.case_id == case_id)
    if lane is not EVERY_LANE:
        stmt = stmt.where(ITEMS.c.lane.is_(None) | (ITEMS.c.lane == lane))
    stmt = stmt.order_by(CASES.c.due_date.is_(None), CASES.c.due_date, ITEMS.c.case_id, ITEMS.c.seq)
    return [task_record(ref=f"{r.case_id}.{r.seq}", case_id=r.case_id, spec_name=r.spec_name, name=r.name,
                        lane=r.lane, props=r.props or {}, ready_at=r.ready_at, matter_code=r.code, label=r.label,
                        due_date=r.due_date) | {"overdue": is_overdue(r.due_date, today)}
            for r in conn.execute(stmt)]


def cases(conn, today: date, status: str | None = None, matter_code: str | None = None) -> list[dict]:
    """Cases, earliest due date first (those without one last)."""
    stmt = (select(CASES, MATTERS.c.code, MATTERS.c.name.label("matter_name"), VERSIONS.c.label)
            .join(VERSIONS, VERSIONS.c.id == CASES.c.version_id)
            .join(MATTERS, MATTERS.c.id == VERSIONS.c.matter_id))
    if status:
        stmt = stmt.where(CASES.c.status == status)
    if matter_code:
        stmt = stmt.where(MATTERS.c.code == matter_code)
    stmt = stmt.order_by(CASES.c.due_date.is_(None), CASES.c.due_date, CASES.c.id)
    return [case_summary(id=r.id, matter_code=r.code, matter_name=r.matter_name, label=r.label,
                         version_id=r.version_id, status=r.status, accepted_at=r.accepted_at,
                         completed_at=r.completed_at, due_date=r.due_date, revision=r.revision, today=today)
            for r in conn.execute(stmt)]


def versions(conn, matter_code: str | None = None) -> list[dict]:
    """Stored process versions by matter code, oldest first."""
    stmt = (select(VERSIONS, MATTERS.c.code, MATTERS.c.name.label("matter_name"), USERS.c.name.label("uploader"))
            .join(MATTERS, MATTERS.c.id == VERSIONS.c.matter_id)
            .outerjoin(USERS, USERS.c.id == VERSIONS.c.uploaded_by)
            .order_by(MATTERS.c.code, VERSIONS.c.id))
    if matter_code:
        stmt = stmt.where(MATTERS.c.code == matter_code)
    return [version_record(id=r.id, matter_code=r.code, matter_name=r.matter_name, process_id=r.process_id,
                           name=r.name, label=r.label, sha256=r.sha256, executable=r.executable,
                           uploaded_by=r.uploader, uploaded_at=r.uploaded_at)
            for r in conn.execute(stmt)]


def case_record(conn, case_id: int, today: date) -> dict | None:
    """One case with its applicant, measured figures, ready tasks and history; None when there is none."""
    c = conn.execute(select(CASES, MATTERS.c.code, MATTERS.c.name.label("matter_name"), VERSIONS.c.label,
                            VERSIONS.c.spec_json)
                     .join(VERSIONS, VERSIONS.c.id == CASES.c.version_id)
                     .join(MATTERS, MATTERS.c.id == VERSIONS.c.matter_id)
                     .where(CASES.c.id == case_id)).first()
    if c is None:
        return None
    events = conn.execute(select(EVENTS).where(EVENTS.c.case_id == case_id).order_by(EVENTS.c.seq)).all()
    record = case_summary(id=c.id, matter_code=c.code, matter_name=c.matter_name, label=c.label,
                          version_id=c.version_id, status=c.status, accepted_at=c.accepted_at,
                          completed_at=c.completed_at, due_date=c.due_date, revision=c.revision, today=today)
    if c.status == "quarantine":
        last = next((e for e in reversed(events) if e.action == "quarantine"), None)
        record["quarantine"] = {"reason": (last.data or {}).get("reason") if last else None,
                                "at": iso(last.at) if last else None,
                                "release": f"onetrip --as ADMIN case release {c.id}"}
    defaults = onsite_defaults(c.spec_json)
    return record | {
        "applicant": c.applicant,
        "measured": {"steps": c.steps_done, "trips": c.trips, "returns": c.returns,
                     "materials": c.materials_submitted, "paused_workdays": c.paused_workdays},
        "ready": [{k: v for k, v in t.items() if k != "overdue"} for t in tasks(conn, today, case_id)],
        "events": [event_record(e, defaults) for e in events],
    }


def user_role(conn, name: str) -> tuple[str, str | None] | None:
    """(role, department) of a user, None when there is no such user."""
    row = conn.execute(select(USERS.c.role, DEPARTMENTS.c.name)
                       .outerjoin(DEPARTMENTS, DEPARTMENTS.c.id == USERS.c.department_id)
                       .where(USERS.c.name == name)).first()
    return (row[0], row[1]) if row else None


# ------------------------------------------------------------------ the reader of the local CLI

class Defer(Exception):
    """This read is the Service's to answer: a refusal to explain, a warning to give, a pinned clock,
    a database that needs opening properly (missing schema, other revision) — it says why in one line."""


class Reader:
    """``list_tasks``, ``list_cases`` and ``list_versions`` as the Service answers them in the common
    case, on a Core connection; anything else raises :class:`Defer` before a record is returned."""

    def __init__(self, settings):
        self.settings = settings

    def call(self, name: str, ctx, *args):
        refuse_missing_sqlite(self.settings.db_url)
        try:
            eng = make_engine(self.settings.db_url)
        except Exception:       # the Service says what is wrong with the URL
            raise Defer() from None
        try:
            if current_revision(eng) != SCHEMA_REVISION:     # init creates or upgrades it: the Service says so
                raise Defer()
            with eng.connect() as conn:
                conn = conn.execution_options(readonly=True)
                with conn.begin():
                    return getattr(self, name)(conn, ctx, *args)
        except SQLAlchemyError:
            raise Defer() from None
        finally:
            eng.dispose()

    def list_tasks(self, conn, ctx, case_id=None, show_all: bool = False):
        parsed = None
        if case_id is not None:
            parsed = parse_id(case_id)
            if parsed is None:
                raise Defer()
        if show_all:
            return tasks(conn, ctx.today(), parsed)
        try:
            name = nfkc(check_text(ctx.actor, "--as user name")) if ctx.actor else None
        except OnetripError:
            raise Defer() from None
        user = user_role(conn, name) if name else None
        if user is None or user[0] != CLERK:
            raise Defer()
        rows = tasks(conn, ctx.today(), parsed, user[1])
        if not rows:            # the Service says whether the clerk's lane exists at all
            raise Defer()
        return rows

    def list_cases(self, conn, ctx, status=None, matter_code=None):
        if status not in (None, *CASE_STATUSES):
            raise Defer()
        return cases(conn, ctx.today(), status, matter_code)

    def show_case(self, conn, ctx, case_id):
        parsed = parse_id(case_id)
        record = case_record(conn, parsed, ctx.today()) if parsed is not None else None
        if record is None:      # the Service says there is no such case
            raise Defer()
        return record

    def list_versions(self, conn, ctx, matter_code=None):
        return versions(conn, matter_code)

    def metrics(self, conn, ctx, matter_code=None, since=None, until=None):
        if matter_code and conn.execute(select(MATTERS.c.id).where(MATTERS.c.code == matter_code)).first() is None:
            raise Defer()       # the Service says "no matter" with its "did you mean"
        return {"matters": self._measured(conn, ctx, matter_code, since, until)}

    def compare_stored(self, conn, ctx):
        """The stored comparison with the measured figures and each case's stored conformance (tables
        only); while some case has no current stored result (it ended or moved since the worker's last
        pass), the Service answers: it replays those with SpiffWorkflow and stores what it found."""
        from . import compare, measure
        measured = self._measured(conn, ctx)   # the calendar may need writing, or warn: the Service's
        figures = measure.conformance_figures(conn, ctx.today())
        if not figures.complete:
            raise Defer()
        latest = {}     # the current version of every matter and label, as store.current_versions
        for r in conn.execute(select(MATTERS.c.code, MATTERS.c.name, MATTERS.c.kind, VERSIONS.c.label,
                                     VERSIONS.c.metrics)
                              .join(MATTERS, MATTERS.c.id == VERSIONS.c.matter_id)
                              .order_by(VERSIONS.c.activation, VERSIONS.c.id)):
            latest[(r.code, r.label)] = r
        before = {code: v.metrics for (code, label), v in latest.items() if label == "before"}
        after = {code: v.metrics for (code, label), v in latest.items() if label == "after"}
        result = compare.pair(before, after, {v.code: v.name for v in latest.values()},
                              {v.code: v.kind for v in latest.values()})
        for row in result.matters:
            row.measured = {r["label"]: r for r in measured if r["matter_code"] == row.matter_code}
        measure.add_conformance(result.matters, figures)
        return result.to_dict()

    def _measured(self, conn, ctx, matter_code=None, since=None, until=None) -> list[dict]:
        """The Service's measured figures when the working-day calendar already covers the span and
        gives no warning (else the Service writes the calendar, or says which years it counts
        Monday–Friday)."""
        from . import measure
        today = ctx.today()
        calendar = measure.load_calendar(conn)
        first, last = measure.calendar_span(conn, today)
        lo, hi = measure.calendar_bounds(conn)
        if lo is None or lo > first or hi < last:
            raise Defer()
        calendar.workdays_between(first, last)
        if calendar.warnings():
            raise Defer()
        return measure.matter_metrics(conn, today, measure.Filters(matter_code, since, until))

"""The SQL store: SQLAlchemy 2.x models, engine/session setup and repositories.

Rules: the caller owns the session (``Service`` opens one transaction per use
case); repository functions take a session and never commit; nothing connects
at import time.  The schema is managed by Alembic (``engine/migrations``);
:func:`open_database` (its home is ``engine.database``) initialises a fresh SQLite file on first use and
refuses a database whose schema is older or newer than this code.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON, BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text,
    UniqueConstraint, func, select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from .database import (  # noqa: F401  (their home is engine.database, which imports no ORM)
    BUSY_TIMEOUT_MS, MAX_ID_DIGITS, SCHEMA_REVISION, SQLITE_BUSY_SNAPSHOT, Actor, current_revision, find_actor,
    hide_password, is_busy, is_stale_snapshot, make_engine, migrate, open_database, parse_id, parse_task_ref,
    session_factory,
)
from .errors import InvalidInput, NotFound
from .roles import ROLES  # noqa: F401  (the users.role values; their home is engine.roles)

LABELS = ("before", "after")


class Base(DeclarativeBase):
    type_annotation_map = {dict: JSON, list: JSON}


class Department(Base):
    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    password_hash: Mapped[str | None] = mapped_column(String(200), deferred=True)    # argon2 (engine.auth)
    department: Mapped[Department | None] = relationship(lazy="joined")

    @property
    def department_name(self) -> str | None:
        return self.department.name if self.department else None


class Matter(Base):
    __tablename__ = "matters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10), default="matter")      # matter | bundle
    department: Mapped[str | None] = mapped_column(String(200))
    manifest: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ProcessVersion(Base):
    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("matter_id", "label", "sha256", name="uq_version_content"),
                      Index("ix_versions_matter_label", "matter_id", "label", "id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"))
    label: Mapped[str] = mapped_column(String(10))
    process_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    bpmn_xml: Mapped[str] = mapped_column(Text, deferred=True)
    spec_json: Mapped[str | None] = mapped_column(Text, deferred=True)   # parsed spec, once per version
    executable: Mapped[bool] = mapped_column(Boolean, default=True)
    problems: Mapped[list] = mapped_column(JSON, default=list)
    metrics: Mapped[dict | None] = mapped_column(JSON)        # static metrics at upload
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime)
    activation: Mapped[int] = mapped_column(Integer, default=0)    # highest = current for its matter+label
    #: the other files uploaded with the main one: [{filename, sha256, xml}] (call activities resolve to them)
    extra_files: Mapped[list | None] = mapped_column(JSON, deferred=True)
    #: what reading the model did: {translations: [...], bindings: [...]} (shown by `process show`)
    details: Mapped[dict | None] = mapped_column(JSON)
    matter: Mapped[Matter] = relationship(lazy="joined")
    uploader: Mapped[User | None] = relationship(lazy="select")


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_status_due", "status", "due_date"),
                      Index("ix_cases_version", "version_id"),
                      Index("ix_cases_accepted", "accepted_at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    status: Mapped[str] = mapped_column(String(10), default="open")        # open | completed
    applicant: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(Text, deferred=True)
    state_format: Mapped[str] = mapped_column(String(40))
    revision: Mapped[int] = mapped_column(Integer, default=1)                # optimistic lock
    task_seq: Mapped[int] = mapped_column(Integer, default=0)
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str | None] = mapped_column(String(64))               # head of the audit chain
    next_timer_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)   # earliest waiting timer
    # Measured figures, kept current by every step (and checked against the events by `audit verify`):
    steps_done: Mapped[int] = mapped_column(Integer, default=0)
    trips: Mapped[int] = mapped_column(Integer, default=0)
    returns: Mapped[int] = mapped_column(Integer, default=0)
    materials_submitted: Mapped[int] = mapped_column(Integer, default=0)
    paused_workdays: Mapped[int] = mapped_column(Integer, default=0)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime)           # deadline reminder sent
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accepted_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    promised_workdays: Mapped[int | None] = mapped_column(Integer)
    due_date: Mapped[date | None] = mapped_column(Date)
    version: Mapped[ProcessVersion] = relationship(lazy="joined")


class CaseTask(Base):
    """One SpiffWorkflow task of a case, in SpiffWorkflow's own serialized form.

    A case's state is ``cases.state`` (workflow-level fields) plus these rows;
    a step rewrites only the rows of tasks it changed, so the cost of saving
    does not grow with the case's history.  ``pos`` keeps creation order
    (parents before children), which restoring needs.
    """
    __tablename__ = "case_tasks"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workflow: Mapped[str] = mapped_column(String(36), default="")     # "" or the subprocess's parent task
    pos: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)


class WorkItem(Base):
    """A human task that is ready now: what ``task list`` reads without loading workflows."""
    __tablename__ = "work_items"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_work_item_seq"),
                      Index("ix_work_items_lane", "lane"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    task_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    spec_name: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(200))
    props: Mapped[dict] = mapped_column(JSON, default=dict)
    ready_at: Mapped[datetime] = mapped_column(DateTime)

    @property
    def ref(self) -> str:
        return f"{self.case_id}.{self.seq}"


class TaskEvent(Base):
    """The audit trail: one row per thing that happened to a case; never updated."""
    __tablename__ = "task_events"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_event_seq"),
                      Index("ix_events_at", "at"))
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    task_ref: Mapped[str | None] = mapped_column(String(40))
    task_uuid: Mapped[str | None] = mapped_column(String(36))
    task_name: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))     # start | complete | return | auto | timer
    onsite: Mapped[bool] = mapped_column(Boolean, default=False)
    step: Mapped[bool] = mapped_column(Boolean, default=False)
    clock_stop: Mapped[bool] = mapped_column(Boolean, default=False)
    materials: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    ready_at: Mapped[datetime | None] = mapped_column(DateTime)
    at: Mapped[datetime] = mapped_column(DateTime)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    writes: Mapped[dict | None] = mapped_column(JSON)    # digest of the state the step wrote (engine.audit)


class Token(Base):
    """A bearer token of a login (engine.auth): only its SHA-256 is stored."""
    __tablename__ = "tokens"
    __table_args__ = (Index("ix_tokens_user", "user_id"),)
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    client: Mapped[str | None] = mapped_column(String(200))


class LoginFailure(Base):
    """One failed login, counted per user name and per client to rate-limit guessing (engine.auth)."""
    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_username", "username", "at"),
                      Index("ix_login_failures_client", "client", "at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    client: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime)


class DatabaseSettings(Base):
    """One row (id 1): what this database is.  ``simulation``: its clock may be pinned."""
    __tablename__ = "database_settings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    simulation: Mapped[bool] = mapped_column(Boolean, default=False)


def is_simulation(session: Session) -> bool:
    """Whether the database was created as a simulation (`onetrip demo`, `onetrip init --simulation`)."""
    return bool(session.scalar(select(DatabaseSettings.simulation).where(DatabaseSettings.id == 1)))


def mark_simulation(session: Session) -> None:
    """Make the database a simulation: only an empty one, or one that is a simulation already — an
    office's cases were worked on the machine's clock, and pinning it later would let them be backdated."""
    row = session.get(DatabaseSettings, 1)
    if row is not None and row.simulation:
        return
    cases = session.scalar(select(func.count()).select_from(Case))
    if cases:
        raise InvalidInput(f"this database holds {cases} case(s) worked on the machine's clock, so it cannot "
                           f"become a simulation: give the simulation a database of its own (a new file or "
                           f"PostgreSQL database)")
    if row is None:
        session.add(DatabaseSettings(id=1, simulation=True))
    else:
        row.simulation = True


class CaseCount(Base):
    """How many ended cases of a version, accepted on a day, had a metric at a value (engine.measure)."""
    __tablename__ = "case_counts"
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    metric: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))


class CalendarYear(Base):
    """An imported holiday notice for a year chinese_calendar does not know."""
    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    holidays: Mapped[list] = mapped_column(JSON)
    workdays: Mapped[list] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(String(500))
    imported_at: Mapped[datetime] = mapped_column(DateTime)


class CalendarDay(Base):
    """China's working-day calendar materialised for SQL (elapsed days = seq difference)."""
    __tablename__ = "calendar_days"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    workday: Mapped[bool] = mapped_column(Boolean)
    seq: Mapped[int] = mapped_column(Integer, index=True)   # working days from the table's first day


class CaseConformance(Base):
    """A case's conformance as checked last (engine.service.mining fills it; engine.measure reads it):
    current while the case's ``status`` and ``event_seq`` are the ones stored.  ``sync``/``moves``:
    the replay's synchronous and total moves (-1 when only the promises were checked); ``replay_ok``:
    no skipped, added or not-allowed step; ``promises_ok``: no extra trip or return; ``late_after``:
    the case is late on days whose ordinal is greater (0: late whatever the day, -1: never)."""
    __tablename__ = "case_conformance"
    __table_args__ = (Index("ix_conformance_group", "version_id", "day"),)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))
    event_seq: Mapped[int] = mapped_column(Integer)
    sync: Mapped[int] = mapped_column(Integer)
    moves: Mapped[int] = mapped_column(Integer)
    replay_ok: Mapped[bool] = mapped_column(Boolean)
    promises_ok: Mapped[bool] = mapped_column(Boolean)
    late_after: Mapped[int] = mapped_column(Integer)
    checked_at: Mapped[datetime] = mapped_column(DateTime)


class ConformanceCount(Base):
    """How many ended cases of a version, accepted on a day, had one conformance outcome."""
    __tablename__ = "conformance_counts"
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    sync: Mapped[int] = mapped_column(Integer, primary_key=True)
    moves: Mapped[int] = mapped_column(Integer, primary_key=True)
    replay_ok: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    promises_ok: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    late_after: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))


# ------------------------------------------------------------ repositories

def get_or_create_department(session: Session, name: str) -> Department:
    dept = session.scalar(select(Department).where(Department.name == name))
    if dept is None:
        dept = Department(name=name)
        session.add(dept)
        session.flush()
    return dept


def get_matter(session: Session, code: str) -> Matter:
    matter = session.scalar(select(Matter).where(Matter.code == code))
    if matter is None:
        raise NotFound("matter", code)
    return matter


def get_version(session: Session, version_id: int) -> ProcessVersion:
    version = session.get(ProcessVersion, version_id)
    if version is None:
        raise NotFound("process version", version_id)
    return version


#: The current version of a matter and label is the one uploaded last (re-uploading an older
#: model makes it current again).
CURRENT_ORDER = (ProcessVersion.activation, ProcessVersion.id)


def current_versions(session: Session, executable_only: bool = False) -> dict[tuple[str, str], ProcessVersion]:
    """The current version of every matter and label, keyed by (matter code, label)."""
    stmt = select(ProcessVersion).order_by(*CURRENT_ORDER)
    if executable_only:
        stmt = stmt.where(ProcessVersion.executable.is_(True))
    return {(v.matter.code, v.label): v for v in session.scalars(stmt)}


def next_activation(session: Session, matter_id: int, label: str) -> int:
    top = session.scalar(select(func.max(ProcessVersion.activation))
                         .where(ProcessVersion.matter_id == matter_id, ProcessVersion.label == label))
    return (top or 0) + 1


def latest_version(session: Session, matter: Matter, label: str) -> ProcessVersion | None:
    return session.scalar(select(ProcessVersion)
                          .where(ProcessVersion.matter_id == matter.id, ProcessVersion.label == label)
                          .order_by(ProcessVersion.activation.desc(), ProcessVersion.id.desc()).limit(1))


def get_case(session: Session, case_id: int, *, for_update: bool = False) -> Case:
    stmt = select(Case).where(Case.id == case_id)
    if for_update:
        stmt = stmt.with_for_update()
    case = session.scalar(stmt)
    if case is None:
        raise NotFound("case", case_id)
    return case


def get_work_item(session: Session, ref: str) -> WorkItem:
    parsed = parse_task_ref(ref)
    if parsed is None:
        raise NotFound("task", f"{ref} (task ids look like 12.3: case 12, its 3rd task)")
    item = session.scalar(select(WorkItem).where(WorkItem.case_id == parsed[0], WorkItem.seq == parsed[1]))
    if item is None:
        raise NotFound("ready task", ref)
    return item


# ---------------------------------------------------------------- queries the service facade asks

def lane_names(session: Session) -> list[str]:
    """Lane names of every stored process version (the departments clerks can work for)."""
    lanes: set[str] = set()
    for metrics in session.scalars(select(ProcessVersion.metrics)):
        lanes.update((metrics or {}).get("lanes") or ())
    return sorted(lanes)


def current_executable(session: Session, process_id: str) -> ProcessVersion | None:
    """The most recently uploaded executable version of a BPMN process id (a call activity's target)."""
    return session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == process_id,
                                                       ProcessVersion.executable.is_(True))
                          .order_by(ProcessVersion.uploaded_at.desc(), ProcessVersion.id.desc()).limit(1))


def count_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(User.role == "admin"))


def count_cases(session: Session, version_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Case).where(Case.version_id == version_id))


def recent_actions(session: Session, case_id: int, limit: int) -> list[str]:
    """The actions of a case's last ``limit`` events, newest first."""
    return list(session.scalars(select(TaskEvent.action).where(TaskEvent.case_id == case_id)
                                .order_by(TaskEvent.seq.desc()).limit(limit)))


def completed_event(session: Session, task_ref: str) -> TaskEvent | None:
    """The event that completed a task (``case.seq``), if one did."""
    return session.scalar(select(TaskEvent).where(TaskEvent.task_ref == task_ref).limit(1))


def open_promised_cases(session: Session):
    """Open cases with a promised number of working days: (id, accepted_at, promised, paused, due)."""
    return session.execute(select(Case.id, Case.accepted_at, Case.promised_workdays, Case.paused_workdays,
                                  Case.due_date)
                           .where(Case.status == "open", Case.promised_workdays.isnot(None))).all()


def cases_to_remind(session: Session, now: datetime, horizon: date):
    """Open cases due by ``horizon`` not yet reminded, locked (skipping those another worker holds):
    (id, due_date, matter code)."""
    return session.execute(select(Case.id, Case.due_date, Matter.code)
                           .join(ProcessVersion, Case.version_id == ProcessVersion.id)
                           .join(Matter, ProcessVersion.matter_id == Matter.id)
                           .where(Case.status == "open", Case.due_date.isnot(None),
                                  Case.due_date <= horizon, Case.reminded_at.is_(None),
                                  Case.updated_at <= now)      # time only moves forward
                           .order_by(Case.due_date, Case.id)
                           .with_for_update(skip_locked=True, of=Case.__table__)).all()

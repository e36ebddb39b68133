"""Running one step of a case against the store: the hot path, in SQLAlchemy Core.

A step reads the work item with its case row in one query and (unless this
process already holds the case at the same revision) the case's task rows,
runs SpiffWorkflow, then writes only what changed: the task rows the step
touched, the ready work items, the audit events, and the case row — guarded
by the case's revision, so that of two clerks acting at once exactly one wins
and the other gets :class:`~engine.errors.ConcurrentUpdate`.

The statements are built once (module constants with bind parameters) and run
on the session's connection: building and caching a statement costs more
than SQLite takes to run it.  Nothing here commits: the caller owns the
transaction.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from types import SimpleNamespace
from datetime import date, datetime

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from . import audit, runtime
from .annotations import counts_as_step, is_clock_stop
from .database import parse_task_ref
from .rawsql import Raw, Statement, _parse_json
from .errors import ConcurrentUpdate, InvalidInput, NotFound, StoreError
from .reads import is_overdue  # noqa: F401  (the overdue rule; its home is engine.reads, read without the ORM)
# The tables as lightweight clauses (names and types, no ORM model classes: a step does not build them)
from .tables import CASES, ITEMS, MATTERS, VERSIONS
from .tables import EVENT_ROWS as EVENTS

#: Workflows kept warm in this process (validated against the stored revision on every use).
CACHE_SIZE = 256

COUNTERS = ("steps_done", "trips", "returns", "materials_submitted", "paused_workdays")
_CASE_FIELDS = ("version_id", "status", "revision", "task_seq", "event_seq", "last_hash", "accepted_at",
                "promised_workdays", "due_date", "completed_at", "next_timer_at", "reminded_at") + COUNTERS \
    + ("updated_at",)
_ITEM_FIELDS = ("case_id", "seq", "task_uuid", "spec_name", "name", "lane", "props", "ready_at")
_WRITABLE = ("status", "task_seq", "event_seq", "last_hash", "due_date", "completed_at",
             "next_timer_at", "reminded_at") + COUNTERS


SELECT_VERSION = (select(VERSIONS.c.id, VERSIONS.c.label, MATTERS.c.code, MATTERS.c.name, VERSIONS.c.metrics)
                  .join(MATTERS, VERSIONS.c.matter_id == MATTERS.c.id)
                  .where(VERSIONS.c.id == bindparam("version_id")))
SELECT_SPEC = select(VERSIONS.c.spec_json).where(VERSIONS.c.id == bindparam("version_id"))
INSERT_EVENTS = insert(EVENTS)
UPDATE_REMINDED = (update(CASES).where(CASES.c.id == bindparam("b_id"))
                   .values(event_seq=bindparam("event_seq"), last_hash=bindparam("last_hash"),
                           reminded_at=bindparam("reminded_at"), revision=CASES.c.revision + 1))
UPDATE_STATUS = (update(CASES)
                 .where(CASES.c.id == bindparam("b_id"), CASES.c.revision == bindparam("b_revision"))
                 .values(status=bindparam("status"), event_seq=bindparam("event_seq"),
                         last_hash=bindparam("last_hash"), next_timer_at=bindparam("next_timer_at"),
                         updated_at=bindparam("updated_at"), revision=CASES.c.revision + 1))
DELETE_CASE_ITEMS = delete(ITEMS).where(ITEMS.c.case_id == bindparam("case_id"))
UPDATE_DUE = (update(CASES).where(CASES.c.id == bindparam("b_id"))
              .values(due_date=bindparam("due_date"), reminded_at=None, revision=CASES.c.revision + 1))


def _kinds(table, names) -> tuple:
    """How rawsql converts each column (by its SQLAlchemy type)."""
    from sqlalchemy import JSON, Boolean, Date, DateTime
    out = []
    for name in names:
        t = table.c[name].type
        out.append("dt" if isinstance(t, DateTime) else "date" if isinstance(t, Date) and not isinstance(t, DateTime)
                   else "bool" if isinstance(t, Boolean) else "json" if isinstance(t, JSON) else None)
    return tuple(out)


def _typed(table, names) -> dict:
    return {n: k for n, k in zip(names, _kinds(table, names)) if k}


# The hot path's statements as constant SQL on the driver's cursor (engine.rawsql), without
# SQLAlchemy's per-statement work (the read of a work item takes no lock: the step runs on what it
# read, and its write is guarded by the case's revision).
R_SELECT_ITEM = Statement(
    f"SELECT {', '.join('i.' + f for f in _ITEM_FIELDS)}, {', '.join('c.' + f for f in _CASE_FIELDS)} "
    f"FROM work_items i JOIN cases c ON c.id = i.case_id WHERE i.case_id = :case_id AND i.seq = :seq",
    columns=_kinds(ITEMS, _ITEM_FIELDS) + _kinds(CASES, _CASE_FIELDS))
R_SELECT_CASE = Statement(f"SELECT id, {', '.join(_CASE_FIELDS)} FROM cases WHERE id = :case_id",
                          columns=(None,) + _kinds(CASES, _CASE_FIELDS))
R_SELECT_STATE = Statement("SELECT state FROM cases WHERE id = :case_id")
R_SELECT_TASKS = Statement("SELECT task_id, workflow, pos, body FROM case_tasks WHERE case_id = :case_id")
_ALL_ITEM_FIELDS = ("id",) + _ITEM_FIELDS
R_SELECT_ITEMS = Statement(f"SELECT {', '.join(_ALL_ITEM_FIELDS)} FROM work_items WHERE case_id = :case_id "
                           f"ORDER BY seq", columns=_kinds(ITEMS, _ALL_ITEM_FIELDS))
_CASE_SET = _WRITABLE + ("state", "updated_at", "revision")
#: Columns under an index that most steps leave as they were.  SQLite rewrites an index entry for every
#: column a SET names, changed or not: a step that changes none of them names none of them (two index
#: pages fewer in every commit).
_INDEXED = ("status", "due_date", "completed_at", "next_timer_at", "reminded_at")
# The acting user as the step saw it (cached per process) must still be so when the step writes.
_ACTOR_GUARD = (" AND EXISTS (SELECT 1 FROM users u LEFT JOIN departments d ON d.id = u.department_id "
                "WHERE u.id = :g_uid AND u.name = :g_name AND u.role = :g_role "
                "AND COALESCE(d.name, '') = :g_dept)")
_CASE_TYPES = _typed(CASES, _CASE_SET)


def _update_case(lean: bool, actor: bool, pg: bool) -> Statement:
    """The step's guarded UPDATE of its case.  PostgreSQL: the guard fails inside the transaction
    (division by zero when no row matched), so the statements pipelined after it never commit."""
    columns = [f for f in _CASE_SET if not (lean and f in _INDEXED)]
    sql = (f"UPDATE cases SET {', '.join(f'{f} = :{f}' for f in columns)} "
           f"WHERE id = :b_id AND revision = :b_revision" + (_ACTOR_GUARD if actor else ""))
    if pg:
        sql = f"WITH u AS ({sql} RETURNING 1) SELECT 1 / (SELECT count(*) FROM u)"
    return Statement(sql, _CASE_TYPES)


#: (lean, with the actor guard, PostgreSQL) -> statement
R_UPDATE_CASE = {(lean, actor, pg): _update_case(lean, actor, pg)
                 for lean in (False, True) for actor in (False, True) for pg in (False, True)}
R_UPSERT_TASKS = Statement("INSERT INTO case_tasks (case_id, task_id, workflow, pos, body) "
                           "VALUES (:case_id, :task_id, :workflow, :pos, :body) "
                           "ON CONFLICT (case_id, task_id) DO UPDATE SET body = excluded.body, pos = excluded.pos, "
                           "workflow = excluded.workflow")
R_DELETE_TASK = Statement("DELETE FROM case_tasks WHERE case_id = :case_id AND task_id = :task_id")
R_DELETE_ITEM = Statement("DELETE FROM work_items WHERE case_id = :case_id AND task_uuid = :uuid")
R_INSERT_ITEMS = Statement(f"INSERT INTO work_items ({', '.join(_ITEM_FIELDS)}) "
                           f"VALUES ({', '.join(':' + f for f in _ITEM_FIELDS)})", _typed(ITEMS, _ITEM_FIELDS))
R_UPSERT_COUNTS = Statement("INSERT INTO case_counts (version_id, day, metric, value, n) "
                            "VALUES (:version_id, :day, :metric, :value, :n) "
                            "ON CONFLICT (version_id, day, metric, value) DO UPDATE SET n = case_counts.n + excluded.n",
                            {"day": "date"})
# The lists as stored text (no JSON parsed to find the cached calendar; parsed only to build one).
R_SELECT_YEARS = Statement("SELECT year, CAST(holidays AS TEXT), CAST(workdays AS TEXT), source FROM calendar_years "
                           "ORDER BY year")
_CALENDARS: dict[tuple, object] = {}


def step_calendar(s: Session):
    """The working-day calendar as imported now, built once per content of ``calendar_years`` (for the
    step that ends a case, or pauses one for the applicant).  Shared: take ``.fresh()`` to read its
    warnings."""
    rows = tuple(Raw.of(s).all(R_SELECT_YEARS))
    calendar = _CALENDARS.get(rows)
    if calendar is None:
        if len(_CALENDARS) > 16:
            _CALENDARS.clear()
        from .measure import calendar_of        # only steps that end or pause a case need the calendar
        calendar = _CALENDARS[rows] = calendar_of(
            [(year, _parse_json(h), _parse_json(w), source) for year, h, w, source in rows])
    return calendar


def ended_count_rows(s: Session, case: "CaseRow") -> list[dict]:
    """What a case that has just ended adds to ``case_counts`` (engine.measure)."""
    calendar = step_calendar(s) if case.status == "completed" else None
    from . import measure                       # loaded by the step that ends a case, not at start-up
    return measure.count_rows(case.version_id, case.accepted_at.date(), measure.ended_counts(
        case.status, case.accepted_at, case.completed_at, case.paused_workdays or 0, case.promised_workdays,
        case.due_date, case.steps_done, case.trips, case.returns, case.materials_submitted, calendar))


EVENT_FIELDS = ("case_id", "seq", "task_ref", "task_uuid", "task_name", "name", "lane", "actor", "action", "onsite",
                "step", "clock_stop", "materials", "data", "ready_at", "at", "prev_hash", "hash", "writes")
R_INSERT_EVENTS = Statement(f"INSERT INTO task_events ({', '.join(EVENT_FIELDS)}) "
                            f"VALUES ({', '.join(':' + f for f in EVENT_FIELDS)})", _typed(EVENTS, EVENT_FIELDS))


@dataclass
class CaseRow:
    """The case columns a step reads and writes."""
    id: int
    version_id: int
    status: str
    revision: int
    task_seq: int
    event_seq: int
    last_hash: str | None
    accepted_at: datetime
    promised_workdays: int | None
    due_date: date | None
    completed_at: datetime | None = None
    next_timer_at: datetime | None = None
    reminded_at: datetime | None = None
    steps_done: int = 0
    trips: int = 0
    returns: int = 0
    materials_submitted: int = 0
    paused_workdays: int = 0
    updated_at: datetime | None = None

    def set(self, **values) -> None:
        for key, value in values.items():
            setattr(self, key, value)

    def copy(self) -> "CaseRow":
        """A copy (``dataclasses.replace`` costs ten times as much, on every step)."""
        row = object.__new__(CaseRow)
        row.__dict__.update(self.__dict__)
        return row

    @property
    def last_event_at(self) -> datetime:
        """When the latest thing recorded on the case happened (start, step, timer, reminder)."""
        return max(t for t in (self.accepted_at, self.updated_at, self.reminded_at) if t is not None)


def stale() -> ConcurrentUpdate:
    """The case's revision moved since the step read it (``.stale``: the step may be run again)."""
    error = ConcurrentUpdate("another clerk changed this case at the same time; nothing was saved — "
                             "run the command again")
    error.stale = True
    return error


def check_time(case: CaseRow, now: datetime) -> None:
    """Time only moves forward: refuse a step dated before the case's last event (e.g. a wrong --now)."""
    last = case.last_event_at
    if now < last:
        raise InvalidInput(f"case {case.id}: the time of this step ({now:%Y-%m-%d %H:%M:%S}) is earlier than the "
                           f"case's last event ({last:%Y-%m-%d %H:%M:%S}); time only moves forward — check --now "
                           f"or the clock")


def read_case(s: Session, case_id: int) -> CaseRow:
    row = Raw.of(s).first(R_SELECT_CASE, {"case_id": case_id})
    if row is None:
        raise NotFound("case", case_id)
    return CaseRow(*row)


def read_item(s: Session, ref: str) -> tuple[dict | None, CaseRow | None]:
    """A ready work item by its ``CASE.SEQ`` reference, with its case, in one query."""
    parsed = parse_task_ref(ref)
    if parsed is None:
        return None, None
    row = Raw.of(s).first(R_SELECT_ITEM, {"case_id": parsed[0], "seq": parsed[1]})
    if row is None:
        return None, None
    item = dict(zip(_ITEM_FIELDS, row[:len(_ITEM_FIELDS)]))
    item["ref"] = f"{parsed[0]}.{parsed[1]}"
    item["props"] = item["props"] or {}
    return item, CaseRow(item["case_id"], *row[len(_ITEM_FIELDS):])


@dataclass(frozen=True)
class VersionInfo:
    """What a step needs of its process version (versions never change once stored)."""
    id: int
    label: str
    matter_code: str
    matter_name: str
    task_materials: dict
    returnable: frozenset = frozenset()          # tasks a clerk may return for correction


class VersionCache:
    def __init__(self):
        self._items: dict[int, VersionInfo] = {}

    def get(self, s: Session, version_id: int) -> VersionInfo:
        info = self._items.get(version_id)
        if info is None:
            vid, label, code, name, metrics = s.connection().execute(
                SELECT_VERSION, {"version_id": version_id}).one()
            metrics = metrics or {}
            info = VersionInfo(vid, label, code, name, metrics.get("task_materials") or {},
                               frozenset(metrics.get("returnable_tasks") or ()))
            self._items[version_id] = info
        return info


class ModelCache:
    """Parsed specs per process version, restored once per process."""

    def __init__(self):
        self._models: dict[int, runtime.CompiledModel] = {}

    def get(self, s: Session, version_id: int) -> runtime.CompiledModel:
        model = self._models.get(version_id)
        if model is None:
            spec_json = s.connection().execute(SELECT_SPEC, {"version_id": version_id}).scalar()
            model = runtime.spec_from_json(spec_json)
            self._models[version_id] = model
        return model


class WorkflowCache:
    """Live workflows by case, valid only at the revision they were saved at.

    An entry is taken out while a step runs and put back only after its commit,
    so a failed step never leaves a workflow that is ahead of the database.
    """

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._items: OrderedDict[int, tuple] = OrderedDict()

    def take(self, case_id: int, revision: int):
        """(workflow, state, ready task ids) of the case at ``revision``, or None."""
        entry = self._items.pop(case_id, None)
        if entry is not None and entry[0] == revision:
            return entry[1:4]
        return None

    def put(self, case_id: int, revision: int, wf, state, ready: set[str] | None = None,
            case: "CaseRow | None" = None, items: list[dict] | None = None) -> None:
        self._items[case_id] = (revision, wf, state, ready, case, items)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def keep(self, step: "Step") -> None:
        """Keep a step's case after its commit: the workflow, and the case row and work items it wrote."""
        self.put(step.case.id, step.case.revision, step.wf, step.state, step.ready, step.case.copy(), step.items)

    def item(self, ref: str):
        """A ready work item and its case as this process last wrote them, or None.

        Nothing is read from the database: the step's guarded write finds out whether the case is
        still at that revision (if not, the step is stale, and its retry reads the case afresh).
        """
        parsed = parse_task_ref(ref)
        entry = self._items.get(parsed[0]) if parsed is not None else None
        if entry is None or entry[4] is None or entry[5] is None:
            return None
        for it in entry[5]:
            if it["seq"] == parsed[1]:
                item = {f: it[f] for f in _ITEM_FIELDS}
                item["ref"] = f"{parsed[0]}.{parsed[1]}"
                item["props"] = item["props"] or {}
                return item, entry[4].copy()
        return None


class ActorCache:
    """Acting users by name, looked up once per process.

    Safe because nothing is decided on a cached user alone: a step that uses one re-checks it in
    its guarded write (``_ACTOR_GUARD``: same id, name, role and department, or the write matches
    no row and the step is stale), the entry is forgotten then, and the retry looks the user up
    again; refusals are only given on a fresh look-up.
    """

    def __init__(self, size: int = 1024):
        self.size = size
        self._items: dict[str, object] = {}

    def get(self, s: Session, name: str):
        from .database import find_actor
        actor = self._items.get(name)
        if actor is None:
            actor = find_actor(s, name)
            if actor is not None:
                if len(self._items) >= self.size:
                    self._items.clear()
                self._items[name] = actor
        return actor

    def forget(self, name: str) -> None:
        self._items.pop(name, None)


class NoCache:
    """For reads that must not take a workflow out of the shared cache."""

    def take(self, case_id, revision):
        return None

    def item(self, ref):
        return None


@dataclass
class Step:
    """One unit of work on a case inside a transaction."""
    session: Session
    case: CaseRow
    model: runtime.CompiledModel
    wf: object
    state: runtime.CaseState | None
    events: list[dict] = field(default_factory=list)
    fired: int = 0                                    # timers fired by the step (set when prepared)
    timers: dict = field(default_factory=dict)        # timer task id -> (its task, children) when the step began
    timers_done: set = field(default_factory=set)     # timer tasks already completed when the step began
    deferred: bool = False                            # events are sealed by plan(), with what the step wrote
    ready: set[str] | None = None                     # ready task ids as stored (= the case's work items)
    actor: object = None                              # a cached acting user the write re-checks (store.Actor)
    actors: ActorCache | None = None                  # where it came from (forgotten when the check fails)
    items: list[dict] | None = None                   # the case's ready work items once written
    indexed: tuple = ()                               # the case's _INDEXED columns as the step read them

    def __post_init__(self):
        self.indexed = tuple([getattr(self.case, f) for f in _INDEXED])

    @property
    def before(self) -> set[str]:
        """The ready task ids when the step began (walks the task tree only when not known)."""
        if self.ready is None:
            self.ready = ready_uuids(self.wf)
        return self.ready

    def record(self, actor: str, action: str, at: datetime, *, item: dict | None = None, onsite: bool = False,
               data: dict | None = None, materials: int = 0) -> None:
        """Append an audit event (sealed into the case's hash chain)."""
        props = (item or {}).get("props") or {}
        seq = self.case.event_seq + 1
        ev = SimpleNamespace(case_id=self.case.id, seq=seq, task_ref=item["ref"] if item else None,
                             task_uuid=item["task_uuid"] if item else None,
                             task_name=item["spec_name"] if item else None, name=item["name"] if item else None,
                             lane=item["lane"] if item else None, actor=actor, action=action, onsite=onsite,
                             step=bool(item) and counts_as_step(props),
                             clock_stop=is_clock_stop(props), materials=materials,
                             data=data or {}, ready_at=item["ready_at"] if item else None, at=at)
        ev.writes = None
        if self.deferred:
            ev.prev_hash = ev.hash = None
            self.case.set(event_seq=seq)
        else:
            audit.seal(ev, self.case.last_hash)
            self.case.set(event_seq=seq, last_hash=ev.hash)
        if action in ("complete", "return"):
            c = self.case
            c.set(steps_done=c.steps_done + ev.step, trips=c.trips + bool(onsite),
                  returns=c.returns + (action == "return"), materials_submitted=c.materials_submitted + materials)
        self.events.append(vars(ev))


def open_step(s: Session, case: CaseRow, models: ModelCache, cache) -> Step:
    """Load a case's workflow: from this process's cache at the same revision, else from its rows."""
    model = models.get(s, case.version_id)
    warm = cache.take(case.id, case.revision)
    ready = None
    if warm is not None:
        wf, state, ready = warm
    else:
        raw = Raw.of(s)
        workflow_json = raw.first(R_SELECT_STATE, {"case_id": case.id})[0]
        rows = raw.all(R_SELECT_TASKS, {"case_id": case.id})
        try:
            wf, state = runtime.restore(workflow_json, rows, model)
        except runtime.Unloadable as exc:
            raise StoreError(f"case {case.id} cannot be loaded: {exc}; an admin can still show it "
                             f"(`onetrip case show {case.id}`) and cancel it (`onetrip --as ADMIN case cancel "
                             f"{case.id} --reason ...`)") from None
    step = Step(s, case, model, wf, state, deferred=True, ready=ready)
    if model.has_timers:
        for task in runtime.timer_tasks(wf):
            if task.state == runtime.TaskState.WAITING:
                step.timers[task.id] = (task, len(task._children))
            elif task.state == runtime.TaskState.COMPLETED:
                step.timers_done.add(task.id)
    return step


def claim_due_case(s: Session, now: datetime, after: tuple | None = None, lock: bool = True):
    """The open case whose timer is due first, after the key ``after`` = (next_timer_at, id) of the
    case taken before in this pass; returns (case, its key), or None.

    Walking the due cases in key order takes each at most once per pass (a case that failed keeps
    its key behind the cursor).  With ``lock`` (PostgreSQL) the case row is locked and workers
    skip cases another holds.
    """
    stmt = (select(CASES.c.id, CASES.c.next_timer_at)
            .where(CASES.c.status == "open", CASES.c.next_timer_at <= now)
            .order_by(CASES.c.next_timer_at, CASES.c.id).limit(1))
    if after is not None:
        at, last_id = after
        stmt = stmt.where((CASES.c.next_timer_at > at) | ((CASES.c.next_timer_at == at) & (CASES.c.id > last_id)))
    if lock:
        stmt = stmt.with_for_update(skip_locked=True)
    row = s.connection().execute(stmt).first()
    return (read_case(s, row[0]), (row[1], row[0])) if row is not None else None


def new_step(s: Session, case: CaseRow, model: runtime.CompiledModel, wf) -> Step:
    """A step on a case just created: nothing stored yet."""
    return Step(s, case, model, wf, None, deferred=True)


def new_materials(wf, task_materials: dict, spec_name: str) -> int:
    """How many of this step's applicant materials the case has not been asked for before."""
    wanted = task_materials.get(spec_name)
    if not wanted:
        return 0
    asked: set[str] = set()
    for task in wf.tasks.values():
        if task.state == runtime.TaskState.COMPLETED and task.task_spec.manual:
            asked.update(task_materials.get(task.task_spec.bpmn_id or task.task_spec.name, ()))
    return len(set(wanted) - asked)


def ready_uuids(wf) -> set[str]:
    """The work items stored for a case are exactly its ready tasks as of the last save."""
    return {str(t.id) for t in runtime.ready_tasks(wf)}


@dataclass
class Plan:
    """Everything a step writes, prepared before the write lock is taken."""
    changes: runtime.StateChanges
    gone: list[str]
    new_items: list[dict]
    ready_count: int
    events: list[dict]
    params: dict
    ready: set[str]
    counts: list[dict] = field(default_factory=list)     # case_counts rows of a case that ended
    lean: bool = False                                   # no _INDEXED column changed: the UPDATE leaves them out


def _record_timers(step: Step, now: datetime) -> int:
    """Append a ``timer`` event for every timer that fired during the step; return how many."""
    wf, fired = step.wf, 0

    def record(task) -> None:
        spec = task.task_spec
        step.record("timer", "timer", now, item={
            "ref": None, "task_uuid": str(task.id), "spec_name": spec.bpmn_id or spec.name,
            "name": spec.bpmn_name or spec.bpmn_id, "lane": spec.lane, "props": {"step": "false"},
            "ready_at": None})

    for task, children in step.timers.values():
        if task.state == runtime.TaskState.COMPLETED:
            record(task)
            fired += 1
        elif len(task._children) > children:          # a cycle fired (each firing adds its path)
            outputs = max(len(task.task_spec.outputs), 1)
            for _ in range((len(task._children) - children + outputs - 1) // outputs):
                record(task)
                fired += 1
    for task in runtime.timer_tasks(wf):               # reached and fired within this very step
        if task.state == runtime.TaskState.COMPLETED and task.id not in step.timers \
                and task.id not in step.timers_done:
            record(task)
            fired += 1
    step.timers, step.timers_done = {}, set()
    return fired


def plan(step: Step, now: datetime, before: set[str]) -> Plan:
    """Serialize what the step changed and prepare its rows; touches no database.

    ``before`` is the set of ready task ids when the step began (what
    ``work_items`` holds for the case).
    """
    case, wf = step.case, step.wf
    if step.model.has_timers:
        step.fired = _record_timers(step, now)
    changes = runtime.save_changes(wf, step.state)
    ready = {str(t.id): t for t in runtime.ready_tasks(wf)}
    gone = [uuid for uuid in before if uuid not in ready]
    new_items, seq = [], case.task_seq
    for uuid, t in ready.items():
        if uuid not in before:
            seq += 1
            new_items.append({"case_id": case.id, "seq": seq, "task_uuid": uuid, "spec_name": t.spec_name,
                              "name": t.name, "lane": t.lane, "props": t.props, "ready_at": now})
    if new_items:
        case.set(task_seq=seq)
    counts = []
    if wf.completed and case.status != "completed":
        case.set(status="completed", completed_at=now)
        step.record("system", "finish", now)
        counts = ended_count_rows(step.session, case)
    if step.model.has_timers:
        case.set(next_timer_at=runtime.next_timer_at(wf))
    writes = audit.step_writes(changes.upserts, changes.deletes, new_items, gone)
    if writes is not None and not step.events:      # state written with no event to carry it (rare)
        step.record("system", "save", now)
    if step.events:
        case.set(last_hash=audit.seal_events(step.events, case.last_hash, writes))
    params = {f: getattr(case, f) for f in _WRITABLE}
    params.update(state=changes.workflow, updated_at=now, revision=case.revision + 1,
                  b_id=case.id, b_revision=case.revision)
    events, step.events = step.events, []
    lean = tuple([params[f] for f in _INDEXED]) == step.indexed
    return Plan(changes, gone, new_items, len(ready), events, params, set(ready), counts, lean)


def write(step: Step, p: Plan, final: bool = False) -> list[dict]:
    """Write a prepared step under the case's revision guard; return the case's ready work items.

    The statements run on the driver cursor of the step's session's connection.  On PostgreSQL
    the statements go in one pipeline (one round trip), the guard failing inside the transaction.
    ``final``: the step's transaction ends with this write; on PostgreSQL its COMMIT goes in the same
    pipeline (the caller's commit then finds nothing to do; nothing may be written after it).
    """
    case = step.case
    raw = Raw.of(step.session)
    params, actor = p.params, step.actor
    if actor is not None:
        params = params | {"g_uid": actor.id, "g_name": actor.name, "g_role": actor.role,
                           "g_dept": actor.department or ""}
    changes = p.changes
    pg = raw.dialect == "postgresql"
    one_trip = pg and final and raw.idle()        # nothing read in this transaction: BEGIN goes along too
    try:
        with raw.pipeline(begin=one_trip):
            update = R_UPDATE_CASE[p.lean, actor is not None, pg]
            if pg:
                raw.execute(update, params)
            elif raw.execute(update, params) != 1:
                raise _guard_failed(step)
            if changes.upserts:
                raw.executemany(R_UPSERT_TASKS, [{"case_id": case.id, "task_id": tid, "workflow": wkey, "pos": pos,
                                                  "body": body} for tid, wkey, pos, body in changes.upserts])
            if changes.deletes:
                raw.executemany(R_DELETE_TASK, [{"case_id": case.id, "task_id": tid} for tid in changes.deletes])
            if p.gone:
                raw.executemany(R_DELETE_ITEM, [{"case_id": case.id, "uuid": uuid} for uuid in p.gone])
            if p.new_items:
                raw.executemany(R_INSERT_ITEMS, p.new_items)
            if p.events:
                raw.executemany(R_INSERT_EVENTS, p.events)
            if p.counts:
                raw.executemany(R_UPSERT_COUNTS, p.counts)
            if final and pg:
                raw.commit()
    except DBAPIError as exc:
        if pg and getattr(exc.orig, "sqlstate", None) == "22012":      # the guard's division by zero
            raise _guard_failed(step) from None
        raise
    step.state = changes.state
    step.ready = p.ready
    step.indexed = tuple([p.params[f] for f in _INDEXED])
    case.revision += 1
    case.updated_at = p.params["updated_at"]
    if p.ready_count == len(p.new_items):
        step.items = p.new_items
    else:
        step.items = [dict(zip(_ALL_ITEM_FIELDS, r)) for r in raw.all(R_SELECT_ITEMS, {"case_id": case.id})]
    return step.items


def _guard_failed(step: Step) -> ConcurrentUpdate:
    if step.actor is not None and step.actors is not None:
        step.actors.forget(step.actor.name)        # the retry looks the user up again
    return stale()


def persist(step: Step, now: datetime, before: set[str]) -> list[dict]:
    """Prepare and write a step in the step's own session (both phases at once)."""
    return write(step, plan(step, now, before))


def set_status(s: Session, case: CaseRow, status: str, events: list[tuple[str, str, dict]], now: datetime,
               *, drop_items: bool = False) -> None:
    """Record administrative events (``(actor, action, data)``: cancel, error, quarantine, release) and the
    case's new status, without loading its workflow (so it works on a case that cannot be loaded)."""
    step = Step(s, case, None, None, None)
    for actor, action, data in events:
        step.record(actor, action, now, data=data)
    if drop_items:
        case.set(last_hash=audit.seal_events(step.events, step.events[0]["prev_hash"], audit.CLEARED_ITEMS))
    conn = s.connection()
    params = {"b_id": case.id, "b_revision": case.revision, "status": status, "event_seq": case.event_seq,
              "last_hash": case.last_hash, "updated_at": now,
              "next_timer_at": None if drop_items else case.next_timer_at}
    if conn.execute(UPDATE_STATUS, params).rowcount != 1:
        raise ConcurrentUpdate("the case changed at the same time; nothing was saved — run the command again")
    conn.execute(INSERT_EVENTS, step.events)
    if drop_items:
        conn.execute(DELETE_CASE_ITEMS, {"case_id": case.id})
    case.set(status=status, revision=case.revision + 1)
    from .measure import ENDED                  # (imported here: measure loads the working-day calendar)
    if status in ENDED:
        Raw.of(s).executemany(R_UPSERT_COUNTS, ended_count_rows(s, case))


def item_ref(item: dict) -> str:
    return f"{item['case_id']}.{item['seq']}"

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
from sqlalchemy.orm import Session

from . import audit, runtime
from .annotations import counts_as_step, is_clock_stop
from .errors import ConcurrentUpdate, InvalidInput, NotFound, StoreError
from .store import Case, CaseTask, Matter, ProcessVersion, TaskEvent, WorkItem, parse_task_ref

CASES = Case.__table__
TASKS = CaseTask.__table__
ITEMS = WorkItem.__table__
EVENTS = TaskEvent.__table__

#: Workflows kept warm in this process (validated against the stored revision on every use).
CACHE_SIZE = 256

COUNTERS = ("steps_done", "trips", "returns", "materials_submitted", "paused_workdays")
_CASE_FIELDS = ("version_id", "status", "revision", "task_seq", "event_seq", "last_hash", "accepted_at",
                "promised_workdays", "due_date", "completed_at", "next_timer_at", "reminded_at") + COUNTERS \
    + ("updated_at",)
_ITEM_FIELDS = ("case_id", "seq", "task_uuid", "spec_name", "name", "lane", "props", "ready_at")
_WRITABLE = ("status", "task_seq", "event_seq", "last_hash", "due_date", "completed_at",
             "next_timer_at", "reminded_at") + COUNTERS


def is_overdue(due_date: date | None, today: date, completed_at: datetime | None = None) -> bool:
    """The overdue rule: a case with a due date is overdue when it finished after that day, or is still
    open past it.  (``measure`` counts the same rule in SQL over many cases.)"""
    return due_date is not None and ((completed_at.date() if completed_at else today) > due_date)


SELECT_CASE = select(CASES.c.id, *[CASES.c[f] for f in _CASE_FIELDS]).where(CASES.c.id == bindparam("case_id"))
# Read without a lock: the step runs on what it read, and its write is guarded by the case's revision.
SELECT_ITEM = (select(*[ITEMS.c[f] for f in _ITEM_FIELDS], *[CASES.c[f] for f in _CASE_FIELDS])
               .join(CASES, CASES.c.id == ITEMS.c.case_id)
               .where(ITEMS.c.case_id == bindparam("case_id"), ITEMS.c.seq == bindparam("seq")))
SELECT_ITEMS = select(ITEMS).where(ITEMS.c.case_id == bindparam("case_id")).order_by(ITEMS.c.seq)
SELECT_STATE = select(CASES.c.state).where(CASES.c.id == bindparam("case_id"))
SELECT_TASKS = (select(TASKS.c.task_id, TASKS.c.workflow, TASKS.c.pos, TASKS.c.body)
                .where(TASKS.c.case_id == bindparam("case_id")))
VERSIONS, MATTERS = ProcessVersion.__table__, Matter.__table__
SELECT_VERSION = (select(VERSIONS.c.id, VERSIONS.c.label, MATTERS.c.code, MATTERS.c.name, VERSIONS.c.metrics)
                  .join(MATTERS, VERSIONS.c.matter_id == MATTERS.c.id)
                  .where(VERSIONS.c.id == bindparam("version_id")))
SELECT_SPEC = select(VERSIONS.c.spec_json).where(VERSIONS.c.id == bindparam("version_id"))
DELETE_TASKS = delete(TASKS).where(TASKS.c.case_id == bindparam("case_id"),
                                   TASKS.c.task_id.in_(bindparam("task_ids", expanding=True)))
DELETE_ITEM = delete(ITEMS).where(ITEMS.c.case_id == bindparam("case_id"),
                                  ITEMS.c.task_uuid == bindparam("uuid"))
INSERT_ITEMS = insert(ITEMS)
INSERT_EVENTS = insert(EVENTS)
UPDATE_CASE = (update(CASES)
               .where(CASES.c.id == bindparam("b_id"), CASES.c.revision == bindparam("b_revision"))
               .values(**{f: bindparam(f) for f in _WRITABLE + ("state", "updated_at", "revision")}))
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
_UPSERTS: dict[str, object] = {}


def _upsert_statement(dialect: str):
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert
        base = upsert(TASKS)
        stmt = base.on_conflict_do_update(index_elements=[TASKS.c.case_id, TASKS.c.task_id],
                                          set_={"body": base.excluded.body, "pos": base.excluded.pos,
                                                "workflow": base.excluded.workflow})
        _UPSERTS[dialect] = stmt
    return stmt


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
    row = s.connection().execute(SELECT_CASE, {"case_id": case_id}).first()
    if row is None:
        raise NotFound("case", case_id)
    return CaseRow(*row)


def read_item(s: Session, ref: str) -> tuple[dict | None, CaseRow | None]:
    """A ready work item by its ``CASE.SEQ`` reference, with its case, in one query."""
    parsed = parse_task_ref(ref)
    if parsed is None:
        return None, None
    row = s.connection().execute(SELECT_ITEM, {"case_id": parsed[0], "seq": parsed[1]}).first()
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


class VersionCache:
    def __init__(self):
        self._items: dict[int, VersionInfo] = {}

    def get(self, s: Session, version_id: int) -> VersionInfo:
        info = self._items.get(version_id)
        if info is None:
            vid, label, code, name, metrics = s.connection().execute(
                SELECT_VERSION, {"version_id": version_id}).one()
            info = VersionInfo(vid, label, code, name, (metrics or {}).get("task_materials") or {})
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
        self._items: OrderedDict[int, tuple[int, object, runtime.CaseState]] = OrderedDict()

    def take(self, case_id: int, revision: int):
        entry = self._items.pop(case_id, None)
        if entry is not None and entry[0] == revision:
            return entry[1], entry[2]
        return None

    def put(self, case_id: int, revision: int, wf, state) -> None:
        self._items[case_id] = (revision, wf, state)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


class NoCache:
    """For reads that must not take a workflow out of the shared cache."""

    def take(self, case_id, revision):
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
    if warm is not None:
        wf, state = warm
    else:
        conn = s.connection()
        workflow_json = conn.execute(SELECT_STATE, {"case_id": case.id}).scalar()
        rows = conn.execute(SELECT_TASKS, {"case_id": case.id}).all()
        try:
            wf, state = runtime.restore(workflow_json, rows, model)
        except runtime.Unloadable as exc:
            raise StoreError(f"case {case.id} cannot be loaded: {exc}; an admin can still show it "
                             f"(`onetrip case show {case.id}`) and cancel it (`onetrip --as ADMIN case cancel "
                             f"{case.id} --reason ...`)") from None
    step = Step(s, case, model, wf, state, deferred=True)
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
    if wf.completed and case.status != "completed":
        case.set(status="completed", completed_at=now)
        step.record("system", "finish", now)
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
    return Plan(changes, gone, new_items, len(ready), events, params)


def write(conn, step: Step, p: Plan) -> list[dict]:
    """Write a prepared step under the case's revision guard; return the case's ready work items."""
    case = step.case
    if conn.execute(UPDATE_CASE, p.params).rowcount != 1:
        raise stale()
    changes = p.changes
    if changes.upserts:
        conn.execute(_upsert_statement(conn.dialect.name),
                     [{"case_id": case.id, "task_id": tid, "workflow": wkey, "pos": pos, "body": body}
                      for tid, wkey, pos, body in changes.upserts])
    if changes.deletes:
        conn.execute(DELETE_TASKS, {"case_id": case.id, "task_ids": changes.deletes})
    if p.gone:
        conn.execute(DELETE_ITEM, [{"case_id": case.id, "uuid": uuid} for uuid in p.gone])
    if p.new_items:
        conn.execute(INSERT_ITEMS, p.new_items)
    if p.events:
        conn.execute(INSERT_EVENTS, p.events)
    step.state = changes.state
    case.revision += 1
    case.updated_at = p.params["updated_at"]
    if p.ready_count == len(p.new_items):
        return p.new_items
    return [dict(r._mapping) for r in conn.execute(SELECT_ITEMS, {"case_id": case.id})]


def persist(step: Step, now: datetime, before: set[str]) -> list[dict]:
    """Prepare and write a step in the step's own session (both phases at once)."""
    return write(step.session.connection(), step, plan(step, now, before))


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


def item_ref(item: dict) -> str:
    return f"{item['case_id']}.{item['seq']}"

"""Cases and tasks: start, list, show, complete or return, cancel, release."""
from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import insert
from sqlalchemy.orm import Session

from .. import casework, reads, runtime, values
from ..annotations import is_clock_stop, is_onsite
from ..context import Context
from ..roles import CLERK
from ..errors import InvalidInput, NotExecutable, NotFound, PermissionDenied, TaskStateError
from ._base import (
    CASE_STATUSES, ServiceBase, _int_id, _iso, _item_record, _matter,
    _task_record, operation,
)

if TYPE_CHECKING:       # annotations only: the ORM's model classes load when a method needs them
    from ..store import Case, WorkItem


class CaseMethods(ServiceBase):

    @operation
    def start_case(self, ctx: Context, matter_code: str, label: str | None = None,
                   data: dict | None = None) -> dict:
        data = values.check_data(dict(data or {}))
        return self._retried(lambda: self._start_once(matter_code, label, data))

    def _start_once(self, matter_code: str, label: str | None, data: dict) -> dict:
        from .. import store
        from ..store import Case, LABELS
        with self._tx(step=True) as tx:
            s = tx.session
            user = self._actor(s)
            matter = _matter(s, matter_code)
            if label is not None and label not in LABELS:
                raise InvalidInput(f"unknown label {label!r}: use before or after")
            version = None
            for lab in ([label] if label else ["after", "before"]):
                version = store.latest_version(s, matter, lab)
                if version is not None:
                    break
            if version is None:
                raise NotFound("process version", f"of matter {matter_code}"
                                                  + (f" labelled {label}" if label else ""))
            if not version.executable:
                reasons = "; ".join(version.problems[:3]) or "descriptive model"
                raise NotExecutable(f"version {version.id} of {matter_code} is stored for analysis only "
                                    f"and cannot run: {reasons}")
            version_id = version.id
            model = self._models.get(s, version_id)
            promised = (version.metrics or {}).get("promised_workdays")
            promised = int(promised) if promised is not None else None
            calendar = self._calendar(s)
            # The first step runs before anything is written: a slow or hostile model blocks no one.
            wf = runtime.start(model, data)
            now = self._ctx.now()
            due = calendar.add_workdays(now.date(), promised) if promised is not None else None
            self._note_calendar(calendar)
            case_id = s.execute(insert(Case.__table__).values(
                version_id=version_id, status="open", applicant=data, state="",
                state_format=runtime.STATE_FORMAT, accepted_at=now, updated_at=now, started_by=user.id,
                promised_workdays=promised, due_date=due, revision=1, task_seq=0,
                event_seq=0)).inserted_primary_key[0]
            step = casework.new_step(s, casework.read_case(s, case_id), model, wf)
            step.record(user.name, "start", now, data=data)
            items = casework.persist(step, now, set())
            self._keep(step)
            return self._step_record(step, items, self._versions.get(s, version_id))


    def _step_record(self, step, items: list[dict], version: casework.VersionInfo) -> dict:
        case = step.case
        today = self._ctx.today()
        overdue = casework.is_overdue(case.due_date, today, case.completed_at)
        return {"id": case.id, "matter_code": version.matter_code, "matter_name": version.matter_name,
                "label": version.label, "version": version.id, "status": case.status,
                "accepted_at": _iso(case.accepted_at), "completed_at": _iso(case.completed_at),
                "due_date": _iso(case.due_date), "overdue": overdue, "revision": case.revision,
                "ready": [_item_record(i, version) | {"due_date": _iso(case.due_date)} for i in items]}

    @operation
    def list_cases(self, ctx: Context, status: str | None = None, matter_code: str | None = None) -> list[dict]:
        if status not in (None, *CASE_STATUSES):
            raise InvalidInput(f"unknown status {status!r}: use {', '.join(CASE_STATUSES)}")
        with self._tx(readonly=True) as tx:
            return reads.cases(tx.session.connection(), self._ctx.today(), status, matter_code)

    @operation
    def show_case(self, ctx: Context, case_id: str | int) -> dict:
        from .. import store
        cid = _int_id(case_id, "case")
        with self._tx(readonly=True) as tx:
            s = tx.session
            case = store.get_case(s, cid)
            return self._case_record(s, case)

    def _case_record(self, s: Session, case: Case) -> dict:
        s.flush()       # the record is read with Core, from this session's connection
        return reads.case_record(s.connection(), case.id, self._ctx.today())

    def _returnable(self, s: Session, version_id: int) -> set[str]:
        return set(self._versions.get(s, version_id).returnable)

    # ------------------------------------------------------------ tasks

    @operation
    def list_tasks(self, ctx: Context, case_id: str | int | None = None, show_all: bool = False) -> list[dict]:
        from .. import store
        with self._tx(readonly=True) as tx:
            s = tx.session
            wanted = None if case_id is None else _int_id(case_id, "case")
            lane = reads.EVERY_LANE
            if not show_all:
                user = self._actor(s)
                if user.role != CLERK:
                    raise PermissionDenied(f"{user.name} is not a clerk; only clerks have tasks "
                                           f"(use --all to see every ready task)")
                lane = dept = user.department_name
            rows = reads.tasks(s.connection(), self._ctx.today(), wanted, lane)
            if not rows and not show_all:      # say why, else this clerk sees nothing, silently, forever
                known = store.lane_names(s)
                if known and dept not in known:
                    tx.warnings.append(f"warning: no uploaded model has a lane named {dept!r}, so {user.name} "
                                         f"sees no tasks; lanes: {'、'.join(known)}")
            return rows

    @operation
    def show_task(self, ctx: Context, ref: str) -> dict:
        from .. import store
        with self._tx(readonly=True) as tx:
            s = tx.session
            item = self._find_task(s, ref)
            case = store.get_case(s, item.case_id)
            step = casework.open_step(s, casework.read_case(s, case.id), self._models, casework.NoCache())
            task = step.wf.get_task_from_id(UUID(item.task_uuid))
            data = {k: v for k, v in (task.data if task else {}).items() if k != "data_objects"}
            return _task_record(item, case) | {"data": data,
                                               "returnable": item.spec_name in self._returnable(s, case.version_id)}

    def _find_task(self, s: Session, ref: str) -> WorkItem:
        from .. import store
        try:
            return store.get_work_item(s, ref)
        except NotFound:
            parsed = store.parse_task_ref(ref)
            if parsed is not None:
                canonical = f"{parsed[0]}.{parsed[1]}"
                done = store.completed_event(s, canonical)
                if done is not None:
                    raise TaskStateError(f"task {ref} ({done.name}) was already completed by "
                                         f"{done.actor} at {done.at:%Y-%m-%d %H:%M}") from None
            raise

    @operation
    def complete_task(self, ctx: Context, ref: str, data: dict | None = None, onsite: bool | None = None) -> dict:
        """Complete one ready task of the acting clerk's department.

        The step runs on the case as read, outside any write lock; its write is guarded by the
        case's revision.  Should another step land on the case meanwhile, the step is run again
        on the new state (up to :data:`STEP_ATTEMPTS` times) — so two clerks finishing parallel
        tasks of one case both succeed, and the second of two on the same task is told it is done.
        """
        return self._complete(ref, data, onsite, False, None)

    @operation
    def return_task(self, ctx: Context, ref: str, reason: str, data: dict | None = None,
                    onsite: bool | None = None) -> dict:
        """Return one ready task's file to the applicant for correction (the model's correction loop)."""
        return self._complete(ref, data, onsite, True, reason)

    def _complete(self, ref: str, data: dict | None, onsite: bool | None, returned: bool,
                  reason: str | None) -> dict:
        data = values.check_data(dict(data or {}))
        data["returned"] = returned
        if returned:
            data["return_reason"] = values.check_text(reason or "", "--reason")
        return self._retried(lambda: self._complete_once(ref, data, onsite, returned))

    def _complete_once(self, ref: str, data: dict, onsite: bool | None, returned: bool) -> dict:
        with self._tx(step=True) as tx:
            s = tx.session
            user = self._cached_actor(s)
            # A case this process wrote last is not read again: the guarded write checks its revision.
            item, case = self._workflows.item(ref) or casework.read_item(s, ref)
            if item is None:
                self._find_task(s, ref)          # raises the right error (unknown or already completed)
                raise NotFound("ready task", ref)
            if item["lane"] and item["lane"] != user.department:
                user = self._actor(s)                   # not on a cached user's word
            if item["lane"] and item["lane"] != user.department:
                raise PermissionDenied(f"task {ref} ({item['name']}) belongs to {item['lane']}; "
                                       f"{user.name} works for {user.department}")
            if returned and item["spec_name"] not in self._returnable(s, case.version_id):
                raise TaskStateError(f"task {ref} ({item['name']}) cannot be returned for correction: the model "
                                     f"has no correction loop after this step; use `onetrip task complete {ref}`")
            version = self._versions.get(s, case.version_id)
            clock_stop = is_clock_stop(item["props"])
            calendar = self._calendar(s) if clock_stop else None
            step = casework.open_step(s, case, self._models, self._workflows)
            step.actor, step.actors = user, self._actors
            # The step itself runs holding no lock (on SQLite a read snapshot, on PostgreSQL no row lock).
            now = self._ctx.now()
            casework.check_time(case, now)
            before = step.before
            materials = casework.new_materials(step.wf, version.task_materials, item["spec_name"])
            try:
                runtime.complete(step.wf, UUID(item["task_uuid"]), data)
            except TaskStateError:
                raise TaskStateError(f"task {ref} ({item['name']}) was completed by another clerk a moment "
                                     f"ago; see `onetrip task list`") from None
            was_onsite = is_onsite(item["props"]) if onsite is None else onsite
            # the audit trail keeps whether the clerk said --onsite/--online or the model's default applied
            step.record(user.name, "return" if returned else "complete", now, item=item,
                        onsite=bool(was_onsite), data=data if onsite is None else data | {"onsite_marked": onsite},
                        materials=materials)
            if clock_stop:
                # The applicant's time (补正) does not count: the due date moves by the paused working days.
                paused = calendar.workdays_between(item["ready_at"].date(), now.date())
                if paused:
                    case.set(paused_workdays=case.paused_workdays + paused)
                    if case.due_date is not None:
                        case.set(due_date=calendar.add_workdays(case.due_date, paused), reminded_at=None)
                self._note_calendar(calendar)
            prepared = casework.plan(step, now, before)
            # The write: the case row first, guarded by the revision the step read.
            items = casework.write(step, prepared, final=True)
            self._keep(step)
        return self._step_record(step, items, version)

    # ------------------------------------------------------------ administration of cases

    @operation
    def cancel_case(self, ctx: Context, case_id: str | int, reason: str) -> dict:
        """Cancel a case (admin): no task of it stays ready; works on a case that cannot be loaded."""
        from .. import store
        cid = _int_id(case_id, "case")
        reason = values.check_text((reason or "").strip(), "--reason")
        if not reason:
            raise InvalidInput("say why the case is cancelled: --reason ...")
        with self._tx() as tx:
            s = tx.session
            user = self._actor(s)
            case = casework.read_case(s, cid)
            if case.status in ("completed", "cancelled"):
                raise TaskStateError(f"case {cid} is already {case.status}")
            now = self._ctx.now()
            casework.check_time(case, now)
            casework.set_status(s, case, "cancelled", [(user.name, "cancel", {"reason": reason})], now,
                                drop_items=True)
            self._workflows.take(cid, -1)
            return self._case_record(s, store.get_case(s, cid))

    @operation
    def release_case(self, ctx: Context, case_id: str | int) -> dict:
        """Release a case the worker quarantined (admin): the worker tries its timers again."""
        from .. import store
        cid = _int_id(case_id, "case")
        with self._tx() as tx:
            s = tx.session
            user = self._actor(s)
            case = casework.read_case(s, cid)
            if case.status != "quarantine":          # nothing to release: say so, change nothing
                return self._case_record(s, store.get_case(s, cid))
            now = self._ctx.now()
            casework.check_time(case, now)
            casework.set_status(s, case, "open", [(user.name, "release", {})], now)
            return self._case_record(s, store.get_case(s, cid))

"""Administration: the database, users, the worker (timers, reminders), audit, the holiday calendar."""
from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from .. import audit, casework, runtime, values
from ..context import Context
from ..errors import EXIT_TEMPFAIL, InvalidInput, OnetripError, StoreError, one_line
from ..roles import CLERK, ROLES
from ._base import ServiceBase, _cpu_backstop, _current, _exit_description, _int_id, _user_record, operation

#: Failures in a row after which the worker quarantines a case.
WORKER_MAX_FAILURES = 3
#: Seconds one worker pass may take new cases for; what is left is due in the next pass (reminders and
#: the next pass are not starved by a long queue of slow cases).
WORKER_PASS_SECONDS = 60.0


class AdminMethods(ServiceBase):
    # ------------------------------------------------------------ database

    @operation
    def init(self, ctx: Context, simulation: bool = False) -> dict:
        """Create or upgrade the schema; ``simulation`` marks the database as one (its clock may be pinned)."""
        from .. import store
        eng = self._open(create=True, simulation=simulation)
        with self._tx(readonly=True) as tx:
            simulated = store.is_simulation(tx.session)
        return {"database": eng.url.render_as_string(hide_password=True),
                "schema_revision": store.current_revision(eng), "simulation": simulated}

    # ------------------------------------------------------------ users

    @operation
    def add_user(self, ctx: Context, name: str, department: str | None, role: str) -> dict:
        from .. import store
        from ..store import User
        if role not in ROLES:
            raise InvalidInput(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
        name = values.normalize_name(name or "", "user name")
        if department is not None and not department.strip():
            department = None
        if department is not None:
            department = values.normalize_name(department, "department name", max_chars=200)
        if role == CLERK and not department:
            raise InvalidInput("a clerk needs --department (the lane name of their department)")
        with self._tx() as tx:
            s = tx.session
            if store.count_admins(s):
                self._actor(s)
            key = values.name_key(name)
            for existing in s.scalars(select(User.name)):
                if values.name_key(existing) == key:
                    raise InvalidInput(f"user {name!r} already exists" +
                                       ("" if existing == name else f" (as {existing!r}, which reads the same)"))
            if department:
                key = values.name_key(department)
                for existing in s.scalars(select(store.Department.name)):
                    if values.name_key(existing) == key and existing != department:
                        raise InvalidInput(f"department {department!r} reads the same as the existing "
                                           f"{existing!r}: use that name")
            dept = store.get_or_create_department(s, department) if department else None
            user = User(name=name, role=role, department=dept, created_at=self._ctx.now())
            s.add(user)
            s.flush()
            record = _user_record(user)
            if role == CLERK:
                known = store.lane_names(s)
                if known and department.strip() not in known:
                    record["warning"] = (f"no uploaded model has a lane named {department.strip()!r}, so "
                                         f"{name} will see no tasks until one does; lanes: {'、'.join(known)}")
            return record

    @operation
    def list_users(self, ctx: Context) -> list[dict]:
        from ..store import User
        with self._tx(readonly=True) as tx:
            s = tx.session
            return [_user_record(u) for u in s.scalars(select(User).order_by(User.name))]


    @operation
    def run_due_timers(self, ctx: Context, limit: int = 1000) -> dict:
        """Fire the expired timers of up to ``limit`` cases, each case on its own.

        The cases run in a child process (where ``os.fork`` exists), each step under the step's
        budget and a CPU backstop, so that a case which crashes or kills its process costs only its
        own step: the worker records the failure on the case (an audited ``error`` event), starts a
        new child and goes on with the others.  After :data:`WORKER_MAX_FAILURES` failures in a row
        the case is quarantined: it leaves the worker's queue until an admin releases it
        (``onetrip case release``).  Each case is taken at most once per pass, so a cycle timer far
        behind fires once per pass, not once per missed interval, and a pass takes no new case after
        :data:`WORKER_PASS_SECONDS`.

        Several workers may run at once: on PostgreSQL each claims a case with
        ``FOR UPDATE SKIP LOCKED``; on SQLite the step runs before the write lock is taken and its
        write is guarded by the case's revision (a case another worker or clerk changed meanwhile is
        left for the next pass).  A worker killed mid-case loses nothing.
        """
        self._check_role()
        done: set[int] = set()
        cursor: list = [None]           # (next_timer_at, id) of the last case taken this pass
        deadline = time.monotonic() + WORKER_PASS_SECONDS
        totals = {"cases": 0, "timers": 0, "failures": []}

        def outcome(result: dict) -> None:
            done.add(result["case"])
            if result.get("ok"):
                if result.get("fired") is not None:
                    totals["cases"] += 1
                    totals["timers"] += result["fired"]
            elif not result.get("retry"):
                quarantined = result.get("quarantined")
                if quarantined is None:     # its process died: nothing was recorded on the case yet
                    quarantined = self._record_failure(result["case"], result["error"])
                totals["failures"].append({"case": result["case"], "error": result["error"],
                                           "quarantined": quarantined})

        if not hasattr(os, "fork") or self.settings.worker_inprocess:
            while len(done) < limit and time.monotonic() < deadline:
                claimed: list[int] = []

                def report(case_id: int, key) -> None:
                    claimed.append(case_id)
                    cursor[0] = key
                try:
                    result = self._fire_next(cursor[0], report)
                except OnetripError as exc:
                    if not claimed:
                        raise
                    result = {"case": claimed[-1], "ok": False, "error": str(exc), "retry": exc.exit_code == EXIT_TEMPFAIL}
                if result is None:
                    break
                outcome(result)
        else:
            while len(done) < limit and time.monotonic() < deadline \
                    and not self._worker_child(done, cursor, limit, deadline, outcome):
                pass
        return totals

    def _worker_child(self, done: set[int], cursor: list, limit: int, deadline: float, outcome) -> bool:
        """Fire due cases in a child process until none is due or ``limit`` cases were taken; feed each
        result to ``outcome`` as it comes.  True when the child finished its pass, False when it died
        in a case's step (that case's failure is recorded here; call again to go on)."""
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:                                    # the child: never returns
            code = 0
            try:
                os.close(read_end)
                self._after_fork()
                taken = set(done)

                def send(line: str) -> None:
                    os.write(write_end, (line + "\n").encode("utf-8"))

                def report(case_id: int, key) -> None:
                    claimed.append(case_id)
                    cursor[0] = key
                    send(f"claim {case_id} {key[0].isoformat()}")

                while len(taken) < limit and time.monotonic() < deadline:
                    _cpu_backstop()
                    claimed: list[int] = []
                    try:
                        result = self._fire_next(cursor[0], report)
                    except OnetripError as exc:
                        if not claimed:
                            raise
                        result = {"case": claimed[-1], "ok": False, "error": str(exc),
                                  "retry": exc.exit_code == EXIT_TEMPFAIL}
                    if result is None:
                        break
                    taken.add(result["case"])
                    send("done " + json.dumps(result, default=str))
                send("end")
            except OnetripError as exc:
                os.write(write_end, ("fail " + json.dumps({"error": str(exc), "retry": exc.exit_code == EXIT_TEMPFAIL})
                                     + "\n").encode("utf-8"))
                code = 1
            except BaseException as exc:  # noqa: BLE001
                os.write(write_end, ("fail " + json.dumps({"error": one_line(
                    f"internal error ({type(exc).__name__}: {exc})")}) + "\n").encode("utf-8"))
                code = 70
            finally:
                os._exit(code)
        os.close(write_end)
        claimed_case, finished, failure = None, False, None
        with os.fdopen(read_end, "rb") as pipe:
            for raw in pipe:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                if line.startswith("claim "):
                    _, case_id, at = line.split()
                    claimed_case = int(case_id)
                    cursor[0] = (datetime.fromisoformat(at), claimed_case)
                elif line.startswith("done "):
                    claimed_case = None
                    outcome(json.loads(line[5:]))
                elif line == "end":
                    finished = True
                elif line.startswith("fail "):
                    failure = json.loads(line[5:])
        _, status = os.waitpid(pid, 0)
        if finished:
            return True
        if claimed_case is not None:           # it died inside this case's step
            outcome({"case": claimed_case, "ok": False,
                     "error": f"its step was ended by the system ({_exit_description(status)}); nothing was saved"})
            return False
        if failure is not None:
            error = StoreError(failure["error"])
            if failure.get("retry"):
                error.exit_code = 75
            raise error
        raise StoreError(f"the worker's process ended ({_exit_description(status)}) before it took a case")

    def _fire_next(self, after, report) -> dict | None:
        """Claim the first due case after the cursor ``after``, fire its timers, write; None: none is due.
        ``report(case_id, key)`` is told which case was taken before its step runs.  A step that another
        write made stale is run again; a step that fails is recorded on its case (:meth:`_record_failure`).
        """
        claimed: list[int] = []

        def told(case_id, key):
            claimed.append(case_id)
            report(case_id, key)
        try:
            return self._retried(lambda: self._fire_once(after, told))
        except OnetripError as exc:
            if not claimed or exc.exit_code == EXIT_TEMPFAIL:
                raise
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a bug: one line on the case, and the worker goes on
            if not claimed:
                raise
            error = one_line(f"internal error ({type(exc).__name__}: {exc})")
        return {"case": claimed[-1], "ok": False, "error": error,
                "quarantined": self._record_failure(claimed[-1], error)}

    def _fire_once(self, after, report) -> dict | None:
        now = self._ctx.now()
        locking = self._open().dialect.name == "postgresql"

        def claim(s):
            found = casework.claim_due_case(s, now, after=after, lock=locking)
            if found is None:
                return None
            case, key = found
            report(case.id, key)
            if now < case.last_event_at:        # the clock is behind the case: nothing is due for it yet
                return {"case": case.id, "ok": True, "fired": None}
            return casework.open_step(s, case, self._models, casework.NoCache())

        def fire(step):
            before = casework.ready_uuids(step.wf)
            runtime.run_engine(step.wf)
            return casework.plan(step, now, before)

        # PostgreSQL: the row lock holds this one case only; SQLite: no lock until the write.
        with self._tx(step=True) as tx:
            s = tx.session
            step = claim(s)
            if step is None or isinstance(step, dict):
                return step
            casework.write(step, fire(step))
        return {"case": step.case.id, "ok": True, "fired": step.fired}

    def _after_fork(self) -> None:
        """In a worker's child: its own database connections; SIGXCPU ends it (the CPU backstop)."""
        if self._engine is not None:
            self._engine.dispose(close=False)
        signal.signal(signal.SIGXCPU, signal.SIG_DFL)

    def _record_failure(self, case_id: int, error: str) -> bool:
        """Record a worker's failure on a case (an audited event); quarantine it after too many in a row."""
        from .. import store
        with self._tx() as tx:
            s = tx.session
            case = casework.read_case(s, case_id)
            if case.status != "open":
                return False
            recent = store.recent_actions(s, case_id, WORKER_MAX_FAILURES)
            streak = 0
            for action in recent:
                if action != "error":
                    break
                streak += 1
            now = max(self._ctx.now(), case.last_event_at)
            events = [("worker", "error", {"reason": error})]
            quarantine = streak + 1 >= WORKER_MAX_FAILURES
            if quarantine:
                events.append(("worker", "quarantine", {"reason": error, "failures": streak + 1}))
            casework.set_status(s, case, "quarantine" if quarantine else "open", events, now)
            return quarantine

    @operation
    def send_reminders(self, ctx: Context) -> list[dict]:
        """Record a reminder on every open case due by the next working day (once per case)."""
        from .. import store
        from ..store import TaskEvent
        out = []
        with self._tx() as tx:
            s = tx.session
            self._actor(s)
            now = self._ctx.now()
            calendar = self._calendar(s)
            horizon = calendar.add_workdays(now.date(), 1)
            conn = s.connection()
            for case_id, due, code in store.cases_to_remind(s, now, horizon):
                step = casework.Step(s, casework.read_case(s, case_id), None, None, None)
                overdue = casework.is_overdue(due, now.date())
                step.record("worker", "remind", now, data={"due_date": due.isoformat(), "overdue": overdue})
                conn.execute(insert(TaskEvent.__table__), step.events)
                conn.execute(casework.UPDATE_REMINDED, {"b_id": case_id, "event_seq": step.case.event_seq,
                                                        "last_hash": step.case.last_hash, "reminded_at": now})
                out.append({"case": case_id, "matter_code": code, "due_date": due.isoformat(), "overdue": overdue})
        try:        # the pass's last share: conformance of the cases that ended or moved (compare --stored)
            self._conformance_pass()
        except OnetripError as exc:     # a case its model cannot replay: the report says so, reminders went out
            _current().warnings.append(f"conformance not stored this pass: {one_line(str(exc))}")
        return out

    @operation
    def verify_audit(self, ctx: Context, case_id: str | int | None = None, checkpoint: str | None = None,
                     pubkey: str | None = None, key: str | None = None) -> dict:
        """Check the hash chain of one case or of every case, that the state each step wrote is still
        what its events say, and that each case's measured counters agree with its events; with a
        signed ``checkpoint``, also every event rewritten, deleted or appended to a closed case since,
        and every case deleted since."""
        from .. import store
        from ..store import Case
        cp = None
        if checkpoint is not None:
            public = audit.load_public_key(pubkey, key or (None if pubkey else self.settings.audit_key))
            cp = audit.read_checkpoint(checkpoint, public)
        with self._tx() as tx:
            s = tx.session
            self._actor(s)
            cid = None
            if case_id is not None:
                cid = _int_id(case_id, "case")
                if cp is None or s.get(Case, cid) is not None:
                    store.get_case(s, cid)
            heads = {e["case"]: e["events"] for e in cp["cases"]} if cp is not None else {}
            findings, summaries, count, events = self._audit_trail(s, cid, heads)
            r = {"cases": count, "events": events}
            if cp is not None:
                more, appended = audit.compare_checkpoint(cp, summaries, cid)
                findings += [str(f) for f in more]
                r["checkpoint"] = {"file": checkpoint, "created_at": cp["created_at"], "key_id": cp["key_id"],
                                   "cases": len(cp["cases"]), "appended_events": appended}
            r.update(ok=not findings, findings=findings)
            return r

    def _audit_trail(self, s: Session, cid: int | None, heads: dict | None = None
                     ) -> tuple[list[str], dict, int, int]:
        """Verify every case (or one): findings, each case's summary for checkpoints (with its chain
        hash after the event count ``heads`` gives for it), cases, events."""
        from ..store import Case, TaskEvent
        from .. import measure
        stmt = select(Case.id, Case.status, Case.event_seq, Case.last_hash,
                      *[getattr(Case, c) for c in casework.COUNTERS]).order_by(Case.id)
        ids = None
        if cid is not None:
            stmt, ids = stmt.where(Case.id == cid), [cid]
        rows = s.execute(stmt).all()
        first, last = measure.calendar_span(s, self._ctx.today())
        measure.ensure_calendar(s, self._calendar(s), first, last)
        recounted = measure.recount_from_events(s, ids)
        findings, summaries, total = [], {}, 0
        for cid_, status, count, last_hash, *counters in rows:
            total += count
            events = audit.load_events(s, cid_)
            contents = {}
            found = audit.check_chain(cid_, events, count, last_hash, contents)
            state_found, digest = audit.check_state(s, cid_, events)
            found += state_found
            expected = recounted.get(cid_, dict.fromkeys(casework.COUNTERS, 0))
            for name, value in zip(casework.COUNTERS, counters):
                if expected[name] != value:
                    found.append(audit.AuditFinding(cid_, None, f"{name} is {value} but the events "
                                                                f"say {expected[name]}"))
            findings += [str(f) for f in found]
            summary = audit.case_summary(cid_, status, events, contents, digest)
            summary["by_seq"] = contents
            at = (heads or {}).get(cid_)
            summary["heads"] = {ev.seq: ev.hash for ev in events if ev.seq == at}
            summaries[cid_] = summary
        orphans = select(TaskEvent.case_id).where(TaskEvent.case_id.notin_(select(Case.id))).distinct()
        if cid is not None:
            orphans = orphans.where(TaskEvent.case_id == cid)
        for (orphan,) in s.execute(orphans.order_by(TaskEvent.case_id)):
            findings.append(str(audit.AuditFinding(orphan, None, "its events remain but the case was deleted "
                                                                 "behind the application's back")))
        return findings, summaries, len(rows), total

    @operation
    def audit_checkpoint(self, ctx: Context, path: str, key: str | None = None,
                         accept_findings: bool = False) -> dict:
        """Write the signed heads of every case to ``path`` (to be kept outside the database); refused
        while the trail has findings, unless ``accept_findings`` (they are then kept in the checkpoint)."""
        private = audit.load_private_key(key or self.settings.audit_key)
        with self._tx() as tx:
            s = tx.session
            self._actor(s)
            findings, summaries, count, events = self._audit_trail(s, None)
        if findings and not accept_findings:
            raise InvalidInput(f"the audit trail has {len(findings)} finding(s) (first: {findings[0]}); "
                               f"see `onetrip audit verify`, or checkpoint them as they are with "
                               f"--accept-findings; no checkpoint was written")
        cases = []
        for summary in summaries.values():
            cases.append({k: v for k, v in summary.items() if k not in ("by_seq", "heads")})
        body = audit.write_checkpoint(path, private, cases, self._ctx.now().isoformat(timespec="seconds"),
                                      findings)
        return {"file": path, "created_at": body["created_at"], "key_id": body["key_id"], "cases": count,
                "events": events, "findings": findings}

    @operation
    def audit_keygen(self, ctx: Context, path: str) -> dict:
        """A new Ed25519 key pair for signing audit checkpoints (no database is touched)."""
        return audit.keygen(path)

    @operation
    def import_calendar(self, ctx: Context, path: str) -> dict:
        from ..store import CalendarYear
        from .. import measure
        from ..workdays import parse_holiday_file
        with self._tx() as tx:
            s = tx.session
            self._actor(s)
            year = parse_holiday_file(path)
            row = s.get(CalendarYear, year.year) or CalendarYear(year=year.year)
            row.holidays = sorted(d.isoformat() for d in year.holidays)
            row.workdays = sorted(d.isoformat() for d in year.workdays)
            row.source, row.imported_at = Path(path).name, self._ctx.now()
            s.add(row)
            s.flush()
            measure.reset_calendar(s)
            moved = self._recompute_due_dates(s)
            return {"year": year.year, "holidays": len(year.holidays), "workdays": len(year.workdays),
                    "source": row.source, "due_dates_moved": moved}

    def _recompute_due_dates(self, s: Session) -> int:
        """Open cases' due dates under the calendar as it now is (promised + paused working days)."""
        from .. import store
        calendar = self._calendar(s)
        changes = []
        for cid, accepted, promised, paused, due in store.open_promised_cases(s):
            new_due = calendar.add_workdays(accepted.date(), promised + (paused or 0))
            if new_due != due:
                changes.append({"b_id": cid, "due_date": new_due})
        if changes:
            s.connection().execute(casework.UPDATE_DUE, changes)
        return len(changes)

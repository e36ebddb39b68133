"""The facade's plumbing: opening the database, the one transaction helper, the acting user, and the
record helpers every capability shares.

Per-call state (who acts, the clock, warnings, after-commit hooks) never lives on the
:class:`ServiceBase` instance: one Service object serves many threads at once.  Each public operation
(:func:`operation`) keeps its call's state in a ContextVar for the duration of the call.
"""
from __future__ import annotations

import functools
import os
import resource
import signal
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from .. import auth, casework, database, reads, runtime, values
from ..annotations import is_onsite
from ..clock import FixedClock, using
from ..config import Settings
from ..context import Context
from ..errors import ConcurrentUpdate, NotFound, PermissionDenied, StoreError
from ..rawsql import StepSession
from ..protocol import OPERATIONS, Operation, RecordList, take_warnings
from ..reads import CASE_STATUSES  # noqa: F401  (the capabilities and engine.service take it from here)

if TYPE_CHECKING:       # annotations only: the ORM's model classes load when a method needs them
    from .. import store
    from ..store import Case, Matter, ProcessVersion, User, WorkItem

#: How often a step is run again when another step landed on the case meanwhile.
STEP_ATTEMPTS = 3


class Transaction:
    """What one ``_tx`` block sees: its session, the call's context, warnings and after-commit hooks."""

    def __init__(self, session: Session, ctx: Context, warnings: list[str]):
        self.session = session
        self.ctx = ctx
        self.warnings = warnings          # the call's list: a warning of any of its transactions is kept
        self._hooks: list = []

    def after_commit(self, fn) -> None:
        self._hooks.append(fn)


@dataclass
class _Call:
    op: Operation
    ctx: Context
    warnings: list[str] = field(default_factory=list)
    tx: Transaction | None = None
    clock_checked: bool = False


_CALL: ContextVar[_Call | None] = ContextVar("onetrip_service_call", default=None)


def operation(fn):
    """A public Service operation: ``fn(self, ctx, ...)`` as declared in :data:`engine.protocol.OPERATIONS`.

    For the duration of the call the engine's scripts and timers read ``ctx.clock``; warnings of the
    call come back in the result (``"warnings"`` of a record, ``.warnings`` of a list)."""
    op = OPERATIONS[fn.__name__]

    @functools.wraps(fn)
    def call(self, ctx, *args, **kwargs):
        if not isinstance(ctx, Context):
            raise TypeError(f"Service.{op.name}: the first argument must be an engine.context.Context, "
                            f"not {type(ctx).__name__}")
        state = _Call(op, ctx)
        token = _CALL.set(state)
        try:
            with using(ctx.clock):
                result = fn(self, ctx, *args, **kwargs)
        finally:
            _CALL.reset(token)
        return _with_warnings(result, state.warnings)
    call.operation = op
    return call


def _with_warnings(result, warnings: list[str]):
    if not warnings:
        return result
    unique = list(dict.fromkeys(warnings))
    if isinstance(result, dict):
        result["warnings"] = unique
        return result
    if isinstance(result, list):
        return RecordList(result, unique)
    return result


def _current() -> _Call:
    state = _CALL.get()
    if state is None:
        raise RuntimeError("a Service transaction outside an operation: call a public method with a Context")
    return state


def _compiler():
    from .. import compiler        # the BPMN parser and XML stack load only for commands that parse
    return compiler


class ServiceBase:
    """The plumbing every capability mixin uses."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._engine = None
        self._sessions = None
        self._read_sessions = None
        self._models = casework.ModelCache()
        self._workflows = casework.WorkflowCache()
        self._versions = casework.VersionCache()
        self._actors = casework.ActorCache()
        self._simulation = False        # this database is a simulation (a flag that is never taken back)
        self._checkpointer = None       # SQLite: WAL checkpoints off the step path (engine.database)

    # ------------------------------------------------------------ plumbing

    @property
    def _ctx(self) -> Context:
        """The context of the operation running on this thread (helpers deep in a call read "now" here)."""
        return _current().ctx

    def _open(self, create: bool = False, simulation: bool = False):
        if self._engine is None or create:
            if not create:
                database.refuse_missing_sqlite(self.settings.db_url)
            if self._checkpointer is not None:
                self._checkpointer.stop()
            self._engine = database.open_database(self.settings.db_url, create=create)
            self._checkpointer = database.wal_checkpointer(self.settings.db_url)
            self._sessions = database.session_factory(self._engine)
            self._read_sessions = database.session_factory(self._engine, readonly=True)
            if simulation:
                from .. import store
                with self._tx(check_clock=False) as tx:
                    store.mark_simulation(tx.session)
        return self._engine

    def _check_clock(self, session: Session, call: _Call) -> None:
        """The one place a pinned clock meets the database: only a simulation's clock may be pinned.
        Checked in the first transaction of a call whose clock is pinned (no extra transaction), and
        not again on this Service once the database said it is a simulation."""
        call.clock_checked = True
        if self._simulation or not isinstance(call.ctx.clock, FixedClock):
            return
        auth.check_clock(session, True)
        self._simulation = True

    @contextmanager
    def _tx(self, readonly: bool = False, step: bool = False, check_clock: bool = True):
        """One transaction: commit on success, roll back on any error; yields a :class:`Transaction`.

        ``step``: a step's transaction, which reads, runs SpiffWorkflow and then writes under the case's
        revision guard; on SQLite it holds no lock until its first write (others are not kept waiting
        while the step runs), and a case changed meanwhile makes it stale (retried by the caller).  It
        runs on a :class:`~engine.rawsql.StepSession` (BEGIN and COMMIT by the driver; an ORM Session
        over the same connection only if something asks for one)."""
        call = _current()
        self._open()
        session = None
        tx = Transaction(None, call.ctx, call.warnings)
        outer, call.tx = call.tx, tx
        try:
            if step:
                session = tx.session = StepSession(self._engine.connect(), self._sessions)
                checkpointer = self._checkpointer
                if checkpointer is not None:
                    checkpointer.prepare(session.raw.driver, session.connection().connection.info)
                session.raw.begin()
                try:
                    if check_clock and not call.clock_checked:
                        self._check_clock(session, call)
                    yield tx
                except BaseException:
                    try:
                        session.finish(commit=False)
                    except SQLAlchemyError:
                        pass            # the error that got here is the one to report
                    raise
                session.finish(commit=True)
                if checkpointer is not None:
                    checkpointer.committed()
            else:
                factory = self._read_sessions if readonly else self._sessions
                session = tx.session = factory()
                with session.begin():
                    if check_clock and not call.clock_checked:
                        self._check_clock(session, call)
                    yield tx
            for hook in tx._hooks:
                hook()
        except OperationalError as exc:
            text = str(exc.orig).strip().splitlines()[0]
            if database.is_stale_snapshot(exc):
                raise casework.stale() from None
            if database.is_busy(exc):
                raise ConcurrentUpdate(f"the database is busy ({text}); nothing was saved — "
                                       f"run the command again") from None
            raise StoreError(f"database error: {text}") from None
        except IntegrityError as exc:
            first = str(exc.orig).strip().splitlines()[0]
            raise ConcurrentUpdate(f"conflicting change ({first}); nothing was saved — "
                                   f"run the command again") from None
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {str(exc).strip().splitlines()[0]}") from None
        finally:
            call.tx = outer
            if session is not None:
                session.close()

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _actor(self, session: Session) -> store.Actor:
        """The acting user of this call, checked against the roles its operation declares."""
        call = _current()
        name = _actor_name(call.ctx)
        if not name:
            raise PermissionDenied("no acting user: pass --as NAME or set ONETRIP_USER")
        user = database.find_actor(session, name)
        if user is None:
            raise PermissionDenied(f"unknown user {name!r}: an admin adds users with `onetrip user add`")
        call.op.check_role(user.name, user.role)
        return user

    def _cached_actor(self, session: Session) -> store.Actor:
        """The acting user from this process's cache, for a step: its guarded write re-checks the user
        (engine.casework.ActorCache).  Anything short of a user the operation allows is decided by a
        fresh look-up (:meth:`_actor`)."""
        call = _current()
        name = _actor_name(call.ctx)
        if name:
            user = self._actors.get(session, name)
            if user is not None:
                try:
                    call.op.check_role(user.name, user.role)
                    return user
                except PermissionDenied:
                    self._actors.forget(name)
        return self._actor(session)

    def _check_role(self) -> None:
        """Refuse early, before reading files, when the acting user may not do this."""
        with self._tx(readonly=True) as tx:
            self._actor(tx.session)

    def _nested(self, result):
        """The result of another operation called inside this one, its warnings moved to this call's."""
        _current().warnings.extend(take_warnings(result))
        return result

    def _note_calendar(self, calendar, first=None, last=None) -> None:
        """Keep the calendar's warning (years counted Monday–Friday) for the command to show."""
        if first is not None and last is not None:
            calendar.workdays_between(first, last)      # visits every year of the span
        _current().warnings.extend(calendar.warnings())

    def _calendar(self, session: Session):
        """The working-day calendar as imported now (built once per content of ``calendar_years``: a
        step that pauses a case for the applicant needs it, and building it costs more than the step)."""
        return casework.step_calendar(session).fresh()

    def _retried(self, attempt):
        """Run a step again when another write made what it read stale (at most STEP_ATTEMPTS times)."""
        for n in range(STEP_ATTEMPTS):
            try:
                return attempt()
            except ConcurrentUpdate as exc:
                if not getattr(exc, "stale", False) or n == STEP_ATTEMPTS - 1:
                    raise           # a busy database is retried by the clerk (exit 75), not here
        raise AssertionError("unreachable")

    def _keep(self, step) -> None:
        """After the commit, keep the live workflow for the next step of this process."""
        _current().tx.after_commit(lambda: self._workflows.keep(step))


# ---------------------------------------------------------------- records

def _catalog_entries(paths: list[Path]) -> tuple[dict[str, str], dict[str, str]]:
    """Names and kinds (matter or 一件事 bundle) from the catalog manifests beside the compared
    models (``processes/`` next to their folder), else the default catalog: a folder comparison
    then leaves the bundles out of the totals exactly as ``compare --stored`` does."""
    import tomllib
    from .. import catalog
    folders = []
    for p in paths:
        p = p.resolve()
        base = p if p.is_dir() else p.parent
        folders += [base / "processes", base.parent / "processes"]
    folders.append(catalog.default_dir())
    names: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for folder in dict.fromkeys(folders):
        if not folder.is_dir():
            continue
        for toml in sorted(folder.glob("*.toml")):
            try:
                data = tomllib.loads(toml.read_text(encoding="utf-8-sig"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
            code = data.get("code")
            if isinstance(code, str) and code not in kinds:
                kinds[code] = data.get("kind") if data.get("kind") in ("matter", "bundle") else "matter"
                if isinstance(data.get("name"), str):
                    names[code] = data["name"]
        break           # the first catalog found is the one that describes these models
    return names, kinds


def _matter(s: Session, code: str) -> Matter:
    """The matter, or one line with a "did you mean" (case-insensitive, close spellings)."""
    from .. import store
    from ..store import Matter
    try:
        return store.get_matter(s, code)
    except NotFound:
        import difflib
        codes = list(s.scalars(select(Matter.code)))
        exact = [c for c in codes if c.casefold() == (code or "").casefold()]
        close = exact or difflib.get_close_matches((code or "").upper(), [c.upper() for c in codes], n=3, cutoff=0.6)
        close = [next(c for c in codes if c.upper() == m.upper()) for m in close]
        if close:
            raise NotFound("matter", f"{code}: did you mean {' or '.join(close)}?") from None
        raise


def _cpu_backstop() -> None:
    """In a worker's child, before each case: the kernel ends the child if the step burns more CPU than
    its wall-clock budget allows (a call no alarm can interrupt)."""
    try:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = int(usage.ru_utime + usage.ru_stime + 2 * runtime.STEP_SECONDS) + 2
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        if hard == resource.RLIM_INFINITY or cpu <= hard:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, hard))
    except (ValueError, OSError):
        pass


def _exit_description(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        text = signal.strsignal(sig) or ""
        return f"{name}: {text}" if text else name
    return f"exit status {os.WEXITSTATUS(status)}"


def _actor_name(ctx: Context) -> str | None:
    """The acting user's name as the users table keeps it (checked, NFKC), or None for nobody."""
    return values.nfkc(values.check_text(ctx.actor, "--as user name")) if ctx.actor else None


def _int_id(value, kind: str) -> int:
    parsed = database.parse_id(value)
    if parsed is None:
        raise NotFound(kind, value)
    return parsed


_iso = reads.iso


def _user_record(u: User) -> dict:
    return {"name": u.name, "role": u.role, "department": u.department_name, "created_at": _iso(u.created_at)}


def _version_record(v: ProcessVersion) -> dict:
    return reads.version_record(id=v.id, matter_code=v.matter.code, matter_name=v.matter.name,
                                process_id=v.process_id, name=v.name, label=v.label, sha256=v.sha256,
                                executable=v.executable, uploaded_by=v.uploader.name if v.uploader else None,
                                uploaded_at=v.uploaded_at)


def _task_record(w: WorkItem, c: Case) -> dict:
    return reads.task_record(ref=w.ref, case_id=w.case_id, spec_name=w.spec_name, name=w.name, lane=w.lane,
                             props=w.props, ready_at=w.ready_at, matter_code=c.version.matter.code,
                             label=c.version.label, due_date=c.due_date)


def _item_record(i: dict, version: casework.VersionInfo) -> dict:
    props = i.get("props") or {}
    return {"id": casework.item_ref(i), "case": i["case_id"], "task": i["spec_name"], "name": i["name"],
            "lane": i["lane"], "matter_code": version.matter_code, "label": version.label,
            "onsite": is_onsite(props), "props": props,
            "ready_at": _iso(i["ready_at"])}



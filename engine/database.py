"""Opening a database with SQLAlchemy Core only: the engine with onetrip's SQLite settings, the schema
revision (checked and migrated by :func:`open_database`), record ids and task references as typed, the
acting user's look-up.

Its own module so that reading commands (``engine.reads``) and a step (``onetrip task complete``) start
without the ORM's model classes; ``engine.store`` re-exports these names.  Nothing connects at import time.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from dataclasses import dataclass

from sqlalchemy import bindparam, create_engine, event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError, SQLAlchemyError

from .errors import StoreError
from .tables import DEPARTMENTS, USERS

#: The Alembic revision this code expects (engine/migrations/versions).
SCHEMA_REVISION = "0006"

#: Milliseconds a command waits for another's SQLite write lock before it gives up (exit 75).  Steps
#: run before they take the lock and hold it only to write, so a writer waits milliseconds, not seconds.
BUSY_TIMEOUT_MS = 5000


def _sqlite_pragmas(dbapi_conn, _record):
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    try:
        cur.execute("PRAGMA journal_mode=WAL")
    except Exception as exc:  # noqa: BLE001 - a read-only file keeps its journal mode; reads still work
        if "readonly" not in str(exc) and "read-only" not in str(exc):
            raise
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class WalCheckpointer:
    """SQLite's WAL checkpoints moved off the steps of a process that writes many of them.

    SQLite copies its write-ahead log into the database file when a commit crosses 1,000 pages:
    one commit in a hundred then takes 5-20 ms instead of 0.07 (70 % of the commit time of a run
    of steps).  A process that has committed a second step (a server, a worker, a simulation; not
    a one-command CLI) starts this thread: its steps' connections stop checkpointing
    (``wal_autocheckpoint=0``) and the thread runs a PASSIVE checkpoint on its own connection
    after every :attr:`EVERY` commits or :attr:`IDLE_SECONDS` after the last one.  A PASSIVE
    checkpoint never blocks a reader or a writer; durability does not change (the log, not the
    checkpoint, is what a commit writes); a process that ends or crashes leaves a log that the
    next connection (or SQLite at the last close) checkpoints.  Other connections keep SQLite's
    own automatic checkpoint.
    """

    EVERY = 200
    IDLE_SECONDS = 0.5

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._commits = 0           # since the last checkpoint
        self._seen = 0              # steps committed in this process
        self.checkpoints = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._pid == os.getpid()

    def prepare(self, dbapi_conn, info: dict) -> None:
        """Before a step on this connection: no checkpoint at its commit once the thread runs."""
        if self.running and not info.get("onetrip_no_autocheckpoint"):
            dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")
            info["onetrip_no_autocheckpoint"] = True

    def committed(self) -> None:
        """After a step's commit."""
        if self._pid != os.getpid():       # a forked child: the parent's thread is not here
            self.__init__(self.path)
        self._seen += 1
        self._commits += 1
        if self._thread is None:
            if self._seen >= 2:
                self._start()
        elif self._commits >= self.EVERY:
            self._wake.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._stop = False
            self._thread = threading.Thread(target=self._run, name="onetrip-wal-checkpoint", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error:
            return                      # nothing lost: the steps' connections still log their commits
        try:
            while not self._stop:
                self._wake.wait(self.IDLE_SECONDS)
                self._wake.clear()
                if self._commits and not self._stop:
                    self._commits = 0
                    try:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                        self.checkpoints += 1
                    except sqlite3.Error:
                        pass            # busy or gone: the next round tries again
        finally:
            conn.close()

    def stop(self) -> None:
        """End the thread (its last round runs first); steps' connections keep their setting until closed."""
        thread = self._thread
        if thread is None or self._pid != os.getpid():
            return
        self._stop = True
        self._wake.set()
        thread.join(timeout=5)
        self._thread = None


def wal_checkpointer(url: str) -> WalCheckpointer | None:
    """A checkpointer for a writable SQLite file (None for PostgreSQL, memory or a read-only file)."""
    path = _sqlite_path(url)
    if path is None or (os.path.exists(path) and not os.access(path, os.W_OK)):
        return None
    return WalCheckpointer(path)


def hide_password(url: str) -> str:
    """A database URL fit for an error line: never its password."""
    try:
        from sqlalchemy.engine import make_url
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not even a URL: hide whatever sits between ':' and '@'
        import re
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _sqlite_path(url: str) -> str | None:
    """The file of a plain ``sqlite:///path`` URL (not a URI filename, not memory)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///"):].split("?", 1)[0]
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return path


def _sqlite_begin(conn):
    # Writers take the lock up front so two clerks serialize instead of failing on
    # an upgraded read lock; read-only sessions (``readonly`` option) do not block; a step begins
    # with a plain BEGIN of its own and takes the lock at its first write.
    if conn.connection.driver_connection.in_transaction:
        return          # a step's transaction, begun by the driver (engine.rawsql.StepSession)
    options = conn.get_execution_options()
    if options.get("readonly"):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """Create (not connect) an engine for a URL, with our SQLite settings."""
    try:
        if url.startswith("sqlite"):
            path = _sqlite_path(url)
            if path and os.path.exists(path) and not os.access(path, os.W_OK):
                # A read-only file: open it read-only, so that reading commands work.
                url = f"sqlite:///file:{Path(path).resolve()}?mode=ro&uri=true"
            eng = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "isolation_level": None})
            event.listen(eng, "connect", _sqlite_pragmas)
            event.listen(eng, "begin", _sqlite_begin)
        else:
            eng = create_engine(url, pool_pre_ping=False)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        reason = " ".join(str(exc).replace(url, hide_password(url)).split())[:200]
        raise StoreError(f"cannot use database URL {hide_password(url)!r}: {reason}") from None
    return eng


def current_revision(eng: Engine) -> str | None:
    """The Alembic revision of the database, None when it has no schema yet (a read: takes no write lock)."""
    with eng.connect() as conn:
        conn = conn.execution_options(readonly=True)
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except (OperationalError, ProgrammingError) as exc:
            if is_busy(exc):
                raise
            return None       # no schema yet


def is_busy(exc: BaseException) -> bool:
    """Whether a database error says another connection holds a lock (worth retrying)."""
    text_ = str(getattr(exc, "orig", exc)).lower()
    return any(word in text_ for word in ("database is locked", "database table is locked", "busy",
                                          "could not serialize", "deadlock", "lock timeout",
                                          "could not obtain lock"))


def refuse_missing_sqlite(url: str) -> None:
    """Only ``init`` creates a database: a mistyped --db path must not become a new empty one."""
    from sqlalchemy.engine import make_url
    try:
        parsed = make_url(url)
    except Exception:      # a malformed URL: opening it says what is wrong
        return
    path = parsed.database
    if parsed.get_backend_name() == "sqlite" and path and path != ":memory:" and not path.startswith("file:") \
            and not Path(path).exists():
        raise StoreError(f"no database at {path}: run `onetrip --db {path} init` to create it, "
                         f"or check --db / ONETRIP_DB")


MAX_ID_DIGITS = 18      # fits a 64-bit integer column on every database


def parse_id(text) -> int | None:
    """A record id as typed (ASCII digits only, at most 18 of them), else None."""
    text = str(text).strip()
    if text.startswith("#"):
        text = text[1:]
    if text.isascii() and text.isdigit() and len(text.lstrip("0") or "0") <= MAX_ID_DIGITS:
        return int(text)
    return None


def parse_task_ref(ref) -> tuple[int, int] | None:
    """``12.3`` -> (12, 3): case 12, its 3rd task; None when not of that form."""
    case_part, dot, seq_part = str(ref).strip().partition(".")
    if not dot or not all(p.isascii() and p.isdigit() for p in (case_part, seq_part)):
        return None
    case_id, seq = parse_id(case_part), parse_id(seq_part)
    return (case_id, seq) if case_id is not None and seq is not None else None


# ------------------------------------------------------------------ opening with the schema checked

def _schema_error(eng: Engine, exc: BaseException) -> StoreError:
    where = hide_password(eng.url.render_as_string(hide_password=True))
    reason = " ".join(str(getattr(exc, "orig", exc)).split())[:200]
    if is_busy(exc):
        error = StoreError(f"the database {where} is busy ({reason}); nothing was changed — run the command "
                           f"again")
        error.exit_code = 75
        return error
    if "not a database" in reason or "malformed" in reason or "file is encrypted" in reason:
        return StoreError(f"{where} is not a onetrip database (not an SQLite file, or its header is damaged): "
                          f"{reason}")
    if "readonly" in reason or "read-only" in reason:
        return StoreError(f"the database {where} is read-only: reading commands work, this one writes")
    return StoreError(f"cannot open database {where}: {reason}")


def migrate(eng: Engine) -> str:
    """Create or upgrade the schema to head with Alembic; return the revision."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with eng.begin() as conn:
        from alembic.util.exc import CommandError

    before = current_revision(eng)
    try:
        with eng.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except CommandError as exc:
        raise StoreError(f"database schema is at revision {before}, which this onetrip does not know (it "
                         f"needs {SCHEMA_REVISION}): is it from a newer onetrip? "
                         f"({' '.join(str(exc).split())[:120]})") from None
    return current_revision(eng)


def open_database(url: str, *, create: bool = False) -> Engine:
    """Engine for ``url`` with a current schema.

    A fresh SQLite database is initialised automatically; any other empty or
    outdated database needs ``onetrip init`` (``create=True``).
    """
    eng = make_engine(url)
    try:
        rev = current_revision(eng)
        if rev != SCHEMA_REVISION:
            if rev is not None and rev > SCHEMA_REVISION:
                raise StoreError(f"database schema is at revision {rev}, newer than this onetrip "
                                 f"(it needs {SCHEMA_REVISION}): upgrade onetrip")
            if create or (rev is None and url.startswith("sqlite")):
                migrate(eng)
            elif rev is None:
                raise StoreError(f"database {eng.url.render_as_string(hide_password=True)} has no onetrip "
                                 f"schema: run `onetrip init` first")
            else:
                raise StoreError(f"database schema is at revision {rev}, this onetrip needs "
                                 f"{SCHEMA_REVISION}: run `onetrip init` to upgrade")
    except DBAPIError as exc:
        eng.dispose()
        raise _schema_error(eng, exc) from None
    return eng


def session_factory(eng: Engine, *, readonly: bool = False):
    """Sessions on ``eng`` (a ``sessionmaker``).  On SQLite ``readonly`` ones begin with a plain ``BEGIN``:
    they take no lock."""
    from sqlalchemy.orm import sessionmaker     # the ORM only for the commands that make a Session
    bind = eng.execution_options(readonly=True) if readonly else eng
    return sessionmaker(bind, expire_on_commit=False)


#: SQLite's extended result code for a read transaction that cannot become a write transaction because
#: another connection committed since it began: the step read a case that has changed since.
SQLITE_BUSY_SNAPSHOT = 517


def is_stale_snapshot(exc: BaseException) -> bool:
    return getattr(getattr(exc, "orig", exc), "sqlite_errorcode", None) == SQLITE_BUSY_SNAPSHOT


# ------------------------------------------------------------------ the acting user

@dataclass(frozen=True)
class Actor:
    """The acting user, as the permission checks need it."""
    id: int
    name: str
    role: str
    department: str | None

    @property
    def department_name(self) -> str | None:
        return self.department


_USERS, _DEPARTMENTS = USERS, DEPARTMENTS
_SELECT_ACTOR = (select(_USERS.c.id, _USERS.c.name, _USERS.c.role, _DEPARTMENTS.c.name)
                 .outerjoin(_DEPARTMENTS, _USERS.c.department_id == _DEPARTMENTS.c.id)
                 .where(_USERS.c.name == bindparam("name")))


def find_actor(session, name: str) -> Actor | None:
    row = session.connection().execute(_SELECT_ACTOR, {"name": name}).first()
    return Actor(*row) if row is not None else None

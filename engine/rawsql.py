"""The step's statements on the DBAPI connection, under the session's transaction.

SQLAlchemy's own work per statement (compiling, caching, result set-up) costs
10-20 times what SQLite takes to run one; the hot path of a step therefore
runs constant SQL text on the driver's cursor of the session's connection
(the transaction, its BEGIN and COMMIT stay SQLAlchemy's).  Values are
converted here exactly as SQLAlchemy's column types store them, so rows
written either way read the same: on SQLite datetimes as
``YYYY-MM-DD HH:MM:SS.ffffff`` text, dates as ISO text, booleans as 0/1,
JSON as JSON text (``None`` as ``null``; orjson's, non-ASCII text unescaped, the
same values ``json.loads`` reads); psycopg adapts the rest
natively, JSON goes in as text cast to ``json``.

Driver errors are re-raised as SQLAlchemy's (``DBAPIError.instance``), so the
caller's handling (busy database, stale SQLite snapshot, conflicts) is the
same as for any other statement.
"""
from __future__ import annotations

import json
import re
import weakref
from contextlib import contextmanager
from datetime import date, datetime

import orjson
from sqlalchemy.exc import DBAPIError

from .values import ORJSON_STRICT

_PG_IDLE = 0          # libpq's PQTRANS_IDLE: no transaction open
_PLACEHOLDER = re.compile(r"(?<![:\w]):(\w+)")


def _dt(value):
    if value is None:
        return None
    if value.tzinfo is None:       # SQLAlchemy's format; isoformat is 4 times faster than strftime
        return value.isoformat(" ", "microseconds")
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _date(value):
    return None if value is None else value.isoformat()


def _bool(value):
    return None if value is None else int(bool(value))


def _json(value):
    try:
        return orjson.dumps(value, option=ORJSON_STRICT).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)        # what orjson refuses or would write as text: as SQLAlchemy would


def _parse_dt(value):
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _parse_date(value):
    return date.fromisoformat(value) if isinstance(value, str) else value


def _parse_json(value):
    return json.loads(value) if isinstance(value, str) else value


class Statement:
    """One SQL text with typed named parameters (``:name``), rendered once per dialect.

    ``types`` maps a parameter to ``dt``, ``date``, ``bool`` or ``json``; ``columns`` the result
    columns in order to the same kinds (for reading), None for a column taken as is.  The driver gets
    positional parameters (``?`` or ``%s``), each converted by a function chosen once per dialect:
    building a dict per row costs more than SQLite takes to insert it.
    """

    def __init__(self, sql: str, types: dict | None = None, columns: tuple = ()):
        self.sql, self.types, self.columns = " ".join(sql.split()), types or {}, columns
        self._compiled: dict[str, tuple[str, tuple]] = {}

    def compiled(self, dialect: str) -> tuple[str, tuple]:
        """(SQL text, ((parameter name, converter or None), ...)) for the dialect."""
        done = self._compiled.get(dialect)
        if done is None:
            names = _PLACEHOLDER.findall(self.sql)
            if dialect == "postgresql":
                def pg(m):
                    return "CAST(%s AS JSON)" if self.types.get(m.group(1)) == "json" else "%s"
                text = _PLACEHOLDER.sub(pg, self.sql.replace("%", "%%"))
                convert = {"json": _json}
            else:
                text = _PLACEHOLDER.sub("?", self.sql)
                convert = _TO_SQLITE
            done = self._compiled[dialect] = (text, tuple((n, convert.get(self.types.get(n))) for n in names))
        return done


def _bind(plan: tuple, params: dict) -> tuple:
    return tuple([params[n] if f is None else f(params[n]) for n, f in plan])


_BEGIN, _COMMIT, _ROLLBACK = Statement("BEGIN"), Statement("COMMIT"), Statement("ROLLBACK")
_PIPELINE = Statement("pipeline")
_TO_SQLITE = {"dt": _dt, "date": _date, "bool": _bool, "json": _json}
_FROM_SQLITE = {"dt": _parse_dt, "date": _parse_date, "bool": bool, "json": _parse_json}


class Raw:
    """The driver cursor of a session's connection (one per transaction)."""

    def __init__(self, sa_conn):
        self.dialect = sa_conn.dialect.name
        self.dbapi = sa_conn.dialect.dbapi
        self.driver = sa_conn.connection.driver_connection
        self.cursor = self.driver.cursor()
        self.sqlite = self.dialect == "sqlite"

    @classmethod
    def of(cls, session) -> "Raw":
        """The session's raw cursor, made once per transaction (kept in ``session.info``; a transaction
        keeps its connection, so the same transaction object means the same cursor)."""
        if type(session) is StepSession:
            return session.raw
        tx = session.get_transaction()
        raw = session.info.get("onetrip_raw")
        if raw is not None and tx is not None and raw.tx() is tx:
            return raw
        sa_conn = session.connection()
        raw = cls(sa_conn)
        # weak: a strong reference would make a cycle (session -> info -> raw -> transaction -> session)
        # that keeps the cursor and the session alive until the garbage collector runs
        raw.sa_conn, raw.tx = sa_conn, weakref.ref(session.get_transaction())
        session.info["onetrip_raw"] = raw
        return raw

    def _rows(self, stmt: Statement, rows):
        if not self.sqlite or not stmt.columns:  # psycopg adapts types itself (JSON columns parsed below)
            if not self.sqlite and "json" in stmt.columns:
                return [tuple(_parse_json(v) if kind == "json" else v for v, kind in zip(r, stmt.columns))
                        for r in rows]
            return rows
        conv = [(_FROM_SQLITE[kind] if kind else None) for kind in stmt.columns]
        return [tuple(v if f is None or v is None else f(v) for v, f in zip(r, conv)) for r in rows]

    def _error(self, exc: Exception, stmt: Statement, params) -> Exception:
        """A driver error as SQLAlchemy's (``raise raw._error(...) from exc``)."""
        return DBAPIError.instance(stmt.sql, params, exc, self.dbapi.Error, dialect=self.sa_conn.dialect)

    # (try/except in each method, not a context manager: entering one costs as much as a statement)

    def execute(self, stmt: Statement, params: dict | None = None) -> int:
        """Run a statement; return its row count."""
        text, plan = stmt.compiled(self.dialect)
        cur = self.cursor
        try:
            cur.execute(text, _bind(plan, params or {}))
        except self.dbapi.Error as exc:
            raise self._error(exc, stmt, params) from exc
        return cur.rowcount

    def executemany(self, stmt: Statement, rows: list[dict]) -> None:
        text, plan = stmt.compiled(self.dialect)
        try:
            self.cursor.executemany(text, [_bind(plan, r) for r in rows])
        except self.dbapi.Error as exc:
            raise self._error(exc, stmt, rows) from exc

    def all(self, stmt: Statement, params: dict | None = None) -> list[tuple]:
        text, plan = stmt.compiled(self.dialect)
        cur = self.cursor
        try:
            if not self.sqlite and self.driver.pgconn.transaction_status == _PG_IDLE:
                # the first statement of a transaction: BEGIN goes in the same round trip
                with self.driver.pipeline():
                    cur.execute(text, _bind(plan, params or {}))
            else:
                cur.execute(text, _bind(plan, params or {}))
            rows = cur.fetchall()
        except self.dbapi.Error as exc:
            raise self._error(exc, stmt, params) from exc
        return self._rows(stmt, rows)

    def begin(self) -> None:
        """SQLite: a plain (deferred) BEGIN on the driver: no lock until the first write.  PostgreSQL:
        nothing (psycopg opens the transaction with the first statement, or the step's pipeline does)."""
        if self.sqlite:
            try:
                self.cursor.execute("BEGIN")
            except self.dbapi.Error as exc:
                raise self._error(exc, _BEGIN, None) from exc

    def end(self, commit: bool) -> None:
        """COMMIT (or ROLLBACK) on the driver; nothing when no transaction is open (a step's pipeline
        may have committed already)."""
        try:
            if commit:
                self.driver.commit()
            else:
                self.driver.rollback()
        except self.dbapi.Error as exc:
            raise self._error(exc, _COMMIT if commit else _ROLLBACK, None) from exc

    def commit(self) -> None:
        """COMMIT on the cursor (inside a pipeline: no round trip of its own); SQLAlchemy's commit
        that follows finds no transaction open and sends nothing."""
        self.cursor.execute("COMMIT")

    def first(self, stmt: Statement, params: dict | None = None):
        rows = self.all(stmt, params)
        return rows[0] if rows else None

    def idle(self) -> bool:
        """PostgreSQL: no transaction open on the connection yet (nothing sent since the last one)."""
        return not self.sqlite and self.driver.pgconn.transaction_status == _PG_IDLE

    @contextmanager
    def pipeline(self, begin: bool = False):
        """psycopg's pipeline mode (statements sent together, one round trip); nothing elsewhere.

        ``begin``: the pipeline opens the transaction itself (the connection is idle) and must end it
        with :meth:`commit`; psycopg would otherwise send its own BEGIN and wait for it.  An error
        rolls the opened transaction back before it is raised.
        """
        if self.sqlite:
            yield
            return
        driver = self.driver
        if not begin:
            try:
                with driver.pipeline():
                    yield
            except self.dbapi.Error as exc:
                raise self._error(exc, _PIPELINE, None) from exc
            return
        driver.autocommit = True
        try:
            with driver.pipeline():
                self.cursor.execute("BEGIN")
                yield
        except self.dbapi.Error as exc:
            raise self._error(exc, _PIPELINE, None) from exc
        finally:
            if driver.pgconn.transaction_status != _PG_IDLE:
                driver.execute("ROLLBACK")
            driver.autocommit = False


class StepSession:
    """A step's transaction: one pooled connection, BEGIN and COMMIT sent by the driver.

    A Session's own bookkeeping (begin, connection, commit, close) costs about 0.2 ms, as much as
    all of a step's statements on SQLite; a step reads and writes through :class:`Raw` and needs
    none of it.  What does want the ORM (a cache miss, an error path, starting a case) gets a
    Session made then, bound to this same connection and so inside this same transaction: every
    attribute this object does not have is the Session's.
    """

    def __init__(self, sa_conn, orm_factory):
        self._conn = sa_conn
        self._factory = orm_factory
        self._orm = None
        self.info: dict = {}
        pooled = sa_conn.connection.info          # lives as long as the driver's connection
        raw = pooled.get("onetrip_raw")
        if raw is None:
            raw = pooled["onetrip_raw"] = Raw(sa_conn)
        raw.sa_conn = sa_conn
        self.raw = raw

    def connection(self, **_options):
        return self._conn

    @property
    def orm(self):
        if self._orm is None:
            self._orm = self._factory(bind=self._conn)
        return self._orm

    def __getattr__(self, name):
        return getattr(self.orm, name)

    def finish(self, commit: bool) -> None:
        """End the transaction (the ORM Session's pending changes flushed first)."""
        if commit and self._orm is not None:
            self._orm.flush()
        self.raw.end(commit)

    def close(self) -> None:
        try:
            if self._orm is not None:
                self._orm.close()
        finally:
            self.raw.sa_conn = None
            self._conn.close()

"""Event-log writers: XES (IEEE 1849-2016), OCEL 2.0 (JSON or SQLite) and CSV.

All three consume :func:`engine.mining.log.stream_events` row by row and write
as they go (XES and OCEL JSON by plain escaped writes, not by building a
tree), so memory stays bounded by the read batch whatever the log's size.
A file is written beside its destination and moved into place only when
complete: a failed export never leaves half a log under the requested name.

What is in the log: one event per activity — a clerk completing a step
(``complete``), returning it for correction (``return``) or a timer firing
(``timer``) — with:

* XES: ``concept:name`` (step name), ``time:timestamp``, ``org:group`` (the
  lane = department), ``org:resource`` (the clerk), ``lifecycle:transition``
  (``complete``), and ``onetrip:task`` (step id), ``onetrip:action``,
  ``onetrip:onsite``, ``onetrip:returned``, ``onetrip:workday`` (working days
  since acceptance, day 0), ``onetrip:materials`` (the applicant materials
  the step asks for), ``onetrip:new_materials`` (how many of them were new to
  the case), ``onetrip:ready`` (when the step became ready); traces carry the
  case id, matter, label, version, status, acceptance and promised days.
* OCEL 2.0: object types ``case``, ``material`` (applicant materials) and
  ``department``; each event relates to its case, its department and the
  materials its step asks for.
* CSV: one row per event with the same fields (UTF-8).
"""
from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
import tempfile
from contextlib import contextmanager
from datetime import datetime
from html import escape
from pathlib import Path

from sqlalchemy.orm import Session

from ..errors import InvalidInput
from . import log as evlog

FORMATS = ("xes", "ocel", "csv")
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(value) -> str:
    """A string fit for an XML attribute value."""
    text = escape(str(value), quote=True)
    return _INVALID_XML.sub("\ufffd", text) if _INVALID_XML.search(text) else text


def _ts(value: datetime | None) -> str:
    return value.isoformat(timespec="milliseconds") if value is not None else ""


@contextmanager
def atomic_output(path: str | Path, binary: bool = False):
    """Write to a temporary file next to ``path`` and move it into place on success."""
    path = Path(path)
    folder = path.resolve().parent
    if path.is_dir():
        raise InvalidInput(f"{path}: is a folder; give a file name with -o")
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise InvalidInput(f"{path}: cannot write there (no such writable folder)")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    umask = os.umask(0o022)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)       # like any file the user writes, not mkstemp's 0600
    try:
        if binary:
            os.close(fd)
            yield tmp
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="", buffering=1 << 20) as fh:
                yield fh
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):      # disk full and the like
            raise InvalidInput(f"{path}: cannot write: {exc.strerror or exc}") from None
        raise


class _Materials:
    """Applicant materials per (version, step), and their names."""

    def __init__(self, versions: dict):
        self.by_step: dict[tuple[int, str], list[str]] = {}
        self.names: dict[str, str] = {}
        self.applicant: dict[str, None] = {}
        for vid, v in versions.items():
            m = v.metrics or {}
            applicant = set(m.get("applicant_materials") or ())
            for step, ids in (m.get("task_materials") or {}).items():
                self.by_step[(vid, step)] = [i for i in ids if not applicant or i in applicant]
            for mid in sorted(applicant):
                self.applicant.setdefault(mid)
            self.names.update(m.get("material_names") or {})

    def of(self, version_id: int, step: str | None) -> list[str]:
        return self.by_step.get((version_id, step or ""), [])


# --------------------------------------------------------------------- XES

_XES_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
  <global scope="trace">
    <string key="concept:name" value="__INVALID__"/>
  </global>
  <global scope="event">
    <string key="concept:name" value="__INVALID__"/>
    <date key="time:timestamp" value="1970-01-01T00:00:00.000"/>
    <string key="lifecycle:transition" value="complete"/>
  </global>
  <classifier name="Activity" keys="concept:name"/>
  <classifier name="Activity and transition" keys="concept:name lifecycle:transition"/>
  <string key="concept:name" value="onetrip"/>
  <string key="source" value="onetrip"/>
"""


def _trace_head(row) -> str:
    parts = [f'  <trace>\n    <string key="concept:name" value="{row.case_id}"/>\n',
             f'    <string key="onetrip:matter" value="{_x(row.matter_code)}"/>\n',
             f'    <string key="onetrip:label" value="{row.label}"/>\n',
             f'    <int key="onetrip:version" value="{row.version_id}"/>\n',
             f'    <string key="onetrip:status" value="{row.status}"/>\n',
             f'    <date key="onetrip:accepted" value="{_ts(row.accepted_at)}"/>\n']
    if row.completed_at is not None:
        parts.append(f'    <date key="onetrip:completed" value="{_ts(row.completed_at)}"/>\n')
    if row.promised_workdays is not None:
        parts.append(f'    <int key="onetrip:promised_workdays" value="{row.promised_workdays}"/>\n')
    return "".join(parts)


def write_xes(session: Session, flt: evlog.LogFilter, out, materials: _Materials) -> dict:
    out.write(_XES_HEAD)
    cases = events = 0
    current = None
    write = out.write
    for row in evlog.stream_events(session, flt):
        if row.case_id != current:
            if current is not None:
                write("  </trace>\n")
            current = row.case_id
            cases += 1
            write(_trace_head(row))
        asked = materials.of(row.version_id, row.task_name)
        write(f'    <event>\n      <string key="concept:name" value="{_x(row.name or row.task_name or row.action)}"/>\n'
              f'      <date key="time:timestamp" value="{_ts(row.at)}"/>\n'
              f'      <string key="lifecycle:transition" value="complete"/>\n'
              + (f'      <string key="org:group" value="{_x(row.lane)}"/>\n' if row.lane else "")
              + (f'      <string key="org:resource" value="{_x(row.actor)}"/>\n' if row.actor else "")
              + f'      <string key="onetrip:task" value="{_x(row.task_name or "")}"/>\n'
              f'      <string key="onetrip:action" value="{row.action}"/>\n'
              f'      <boolean key="onetrip:onsite" value="{"true" if row.onsite else "false"}"/>\n'
              f'      <boolean key="onetrip:returned" value="{"true" if row.action == "return" else "false"}"/>\n'
              f'      <int key="onetrip:workday" value="{row.workday}"/>\n'
              f'      <string key="onetrip:materials" value="{_x(",".join(asked))}"/>\n'
              f'      <int key="onetrip:new_materials" value="{row.materials or 0}"/>\n'
              + (f'      <date key="onetrip:ready" value="{_ts(row.ready_at)}"/>\n' if row.ready_at else "")
              + "    </event>\n")
        events += 1
    if current is not None:
        write("  </trace>\n")
    write("</log>\n")
    return {"cases": cases, "events": events}


# -------------------------------------------------------------------- OCEL

_EVENT_ATTRS = [("task", "string"), ("onsite", "boolean"), ("returned", "boolean"), ("workday", "integer"),
                ("actor", "string"), ("new_materials", "integer")]
_CASE_ATTRS = [("matter", "string"), ("label", "string"), ("status", "string"), ("promised_workdays", "integer")]
_EPOCH = "1970-01-01T00:00:00"


def _ocel_event(row, materials: _Materials) -> tuple[str, str, str, list, list]:
    """(id, type, time, attributes as (name, value), relationships as (object id, qualifier))."""
    attrs = [("task", row.task_name or ""), ("onsite", bool(row.onsite)), ("returned", row.action == "return"),
             ("workday", int(row.workday)), ("actor", row.actor or ""), ("new_materials", int(row.materials or 0))]
    rels = [(f"case:{row.case_id}", "case")]
    if row.lane:
        rels.append((f"department:{row.lane}", "handled by"))
    rels += [(f"material:{m}", "asks for") for m in materials.of(row.version_id, row.task_name)]
    return f"e{row.case_id}-{row.seq}", row.name or row.task_name or row.action, _ts(row.at), attrs, rels


def _objects(session, flt, materials: _Materials, departments: list[str]):
    """(id, type, attributes as (name, value)) of every object: cases, materials, departments."""
    for c in evlog.stream_cases(session, flt):
        yield f"case:{c.id}", "case", [("matter", c.code), ("label", c.label), ("status", c.status),
                                       ("promised_workdays", c.promised_workdays)]
    for mid in materials.applicant:
        yield f"material:{mid}", "material", [("name", materials.names.get(mid, mid))]
    for dept in departments:
        yield f"department:{dept}", "department", []


def write_ocel_json(session: Session, flt: evlog.LogFilter, out, materials: _Materials) -> dict:
    dump = lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":"))  # noqa: E731
    departments = evlog.lanes(session, flt)
    activities = evlog.activity_names(session, flt)
    out.write('{"objectTypes":' + dump([
        {"name": "case", "attributes": [{"name": n, "type": t} for n, t in _CASE_ATTRS]},
        {"name": "material", "attributes": [{"name": "name", "type": "string"}]},
        {"name": "department", "attributes": []}]))
    out.write(',"eventTypes":' + dump([{"name": a, "attributes": [{"name": n, "type": t} for n, t in _EVENT_ATTRS]}
                                       for a in activities]))
    out.write(',"objects":[')
    objects = 0
    for oid, otype, attrs in _objects(session, flt, materials, departments):
        out.write(("," if objects else "") + dump({
            "id": oid, "type": otype,
            "attributes": [{"name": n, "time": _EPOCH, "value": v} for n, v in attrs if v is not None]}))
        objects += 1
    out.write('],"events":[')
    events, cases = 0, set()
    for row in evlog.stream_events(session, flt):
        eid, etype, at, attrs, rels = _ocel_event(row, materials)
        out.write(("," if events else "") + "\n" + dump({
            "id": eid, "type": etype, "time": at, "attributes": [{"name": n, "value": v} for n, v in attrs],
            "relationships": [{"objectId": o, "qualifier": q} for o, q in rels]}))
        events += 1
        cases.add(row.case_id)
    out.write("\n]}\n")
    return {"cases": len(cases), "events": events, "objects": objects}


def _table_name(prefix: str, name: str, taken: dict[str, str]) -> str:
    base = re.sub(r"\W+", "_", name, flags=re.ASCII).strip("_") or "type"
    candidate, n = f"{prefix}_{base}", 1
    while candidate in taken.values():
        n += 1
        candidate = f"{prefix}_{base}_{n}"
    taken[name] = candidate
    return candidate


_SQL_TYPES = {"string": "TEXT", "integer": "INTEGER", "boolean": "INTEGER"}


def write_ocel_sqlite(session: Session, flt: evlog.LogFilter, path: str, materials: _Materials) -> dict:
    """OCEL 2.0's relational (SQLite) form: one table per event and object type, plus the maps."""
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        departments = evlog.lanes(session, flt)
        activities = evlog.activity_names(session, flt)
        emap: dict[str, str] = {}
        omap: dict[str, str] = {}
        db.execute("CREATE TABLE event (ocel_id TEXT PRIMARY KEY, ocel_type TEXT)")
        db.execute("CREATE TABLE object (ocel_id TEXT PRIMARY KEY, ocel_type TEXT)")
        db.execute("CREATE TABLE event_object (ocel_event_id TEXT, ocel_object_id TEXT, ocel_qualifier TEXT, "
                   "PRIMARY KEY (ocel_event_id, ocel_object_id, ocel_qualifier))")
        db.execute("CREATE TABLE object_object (ocel_source_id TEXT, ocel_target_id TEXT, ocel_qualifier TEXT, "
                   "PRIMARY KEY (ocel_source_id, ocel_target_id, ocel_qualifier))")
        db.execute("CREATE TABLE event_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT)")
        db.execute("CREATE TABLE object_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT)")
        ev_cols = ", ".join(f'"{n}" {_SQL_TYPES[t]}' for n, t in _EVENT_ATTRS)
        for a in activities:
            table = _table_name("event", a, emap)
            db.execute(f'CREATE TABLE "{table}" (ocel_id TEXT PRIMARY KEY, ocel_time TIMESTAMP, {ev_cols})')
            db.execute("INSERT INTO event_map_type VALUES (?, ?)", (a, table[len("event_"):]))
        object_attrs = {"case": _CASE_ATTRS, "material": [("name", "string")], "department": []}
        for otype, attrs in object_attrs.items():
            table = _table_name("object", otype, omap)
            cols = "".join(f', "{n}" {_SQL_TYPES[t]}' for n, t in attrs)
            db.execute(f'CREATE TABLE "{table}" (ocel_id TEXT, ocel_time TIMESTAMP, '
                       f'ocel_changed_field TEXT{cols})')
            db.execute("INSERT INTO object_map_type VALUES (?, ?)", (otype, table[len("object_"):]))
        objects = 0
        for oid, otype, attrs in _objects(session, flt, materials, departments):
            db.execute("INSERT INTO object VALUES (?, ?)", (oid, otype))
            names = [n for n, _ in object_attrs[otype]]
            values = dict(attrs)
            db.execute(f'INSERT INTO "{omap[otype]}" VALUES (?, ?, NULL{", ?" * len(names)})',
                       (oid, _EPOCH.replace("T", " "), *[values.get(n) for n in names]))
            objects += 1
        events, cases = 0, set()
        pending: dict[str, list] = {}
        base, links = [], []

        def flush():
            db.executemany("INSERT INTO event VALUES (?, ?)", base)
            db.executemany("INSERT OR IGNORE INTO event_object VALUES (?, ?, ?)", links)
            for table, rows in pending.items():
                db.executemany(f'INSERT INTO "{table}" VALUES (?, ?{", ?" * len(_EVENT_ATTRS)})', rows)
            base.clear(), links.clear(), pending.clear()

        for row in evlog.stream_events(session, flt):
            eid, etype, at, attrs, rels = _ocel_event(row, materials)
            base.append((eid, etype))
            pending.setdefault(emap[etype], []).append((eid, at.replace("T", " "), *[v for _, v in attrs]))
            links.extend((eid, o, q) for o, q in rels)
            events += 1
            cases.add(row.case_id)
            if len(base) >= evlog.BATCH:
                flush()
        flush()
        db.commit()
    finally:
        db.close()
    return {"cases": len(cases), "events": events, "objects": objects}


# --------------------------------------------------------------------- CSV

CSV_COLUMNS = ["case_id", "matter", "label", "activity", "task", "timestamp", "department", "actor", "action",
               "onsite", "returned", "workday", "materials", "new_materials", "ready_at", "accepted_at"]


def write_csv(session: Session, flt: evlog.LogFilter, out, materials: _Materials) -> dict:
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    events, cases, current = 0, 0, None
    for row in evlog.stream_events(session, flt):
        if row.case_id != current:
            current, cases = row.case_id, cases + 1
        writer.writerow([row.case_id, row.matter_code, row.label, row.name or row.task_name or row.action,
                         row.task_name or "", _ts(row.at), row.lane or "", row.actor or "", row.action,
                         "true" if row.onsite else "false", "true" if row.action == "return" else "false",
                         row.workday, ";".join(materials.of(row.version_id, row.task_name)), row.materials or 0,
                         _ts(row.ready_at), _ts(row.accepted_at)])
        events += 1
    return {"cases": cases, "events": events}


def export(session: Session, fmt: str, flt: evlog.LogFilter, path: str | Path) -> dict:
    """Write the log of the chosen cases to ``path``; return what was written."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown export format {fmt!r}: use {', '.join(FORMATS)}")
    materials = _Materials(evlog.versions_of(session, flt))
    suffix = Path(path).suffix.lower()
    if fmt == "ocel" and suffix in (".sqlite", ".sqlite3", ".db"):
        with atomic_output(path, binary=True) as tmp:
            counts = write_ocel_sqlite(session, flt, tmp, materials)
        form = "ocel-sqlite"
    else:
        if fmt == "ocel" and suffix not in (".json", ".jsonocel"):
            raise InvalidInput(f"{path}: an OCEL file ends in .json (OCEL 2.0 JSON) or .sqlite (OCEL 2.0 SQLite)")
        writer = {"xes": write_xes, "ocel": write_ocel_json, "csv": write_csv}[fmt]
        with atomic_output(path) as fh:
            counts = writer(session, flt, fh, materials)
        form = "ocel-json" if fmt == "ocel" else fmt
    return {"format": form, "file": str(path)} | counts

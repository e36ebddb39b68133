"""The facade: one method per use case, one transaction per method.

``cli.py`` calls exactly one of these per command and prints what comes
back: plain dicts and lists ready for JSON.  Every failure is an
:class:`~engine.errors.OnetripError`; a failed method leaves the database as
it was (its transaction is rolled back).
"""
from __future__ import annotations

import json
import os
import resource
import signal
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from uuid import UUID

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from . import audit, casework, runtime, store, values
from .annotations import is_clock_stop, is_onsite
from .config import Settings
from .mining.service import MiningMethods
from .errors import (
    ConcurrentUpdate, InvalidInput, ModelError, ModelValidationError, NotExecutable, NotFound, OnetripError,
    EXIT_TEMPFAIL, PermissionDenied, StoreError, TaskStateError, one_line,
)
from .roles import ADMIN, ADMIN_ROLES, AUDIT_ROLES, CASE_ROLES, CLERK, ROLES, TASK_ROLES, UPLOAD_ROLES
from .store import (
    LABELS, Case, CalendarYear, Matter, ProcessVersion, TaskEvent, User, WorkItem,
)

#: How often a step is run again when another step landed on the case meanwhile.
STEP_ATTEMPTS = 3
#: Failures in a row after which the worker quarantines a case.
WORKER_MAX_FAILURES = 3
#: Seconds one worker pass may take new cases for; what is left is due in the next pass (reminders and
#: the next pass are not starved by a long queue of slow cases).
WORKER_PASS_SECONDS = 60.0
CASE_STATUSES = ("open", "completed", "quarantine", "cancelled")



def _compiler():
    from . import compiler        # the BPMN parser and XML stack load only for commands that parse
    return compiler


class Service(MiningMethods):
    """Everything onetrip does, over one database."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._engine = None
        self._sessions = None
        self._read_sessions = None
        self.warnings: list[str] = []
        self._after_commit: list = []
        self._models = casework.ModelCache()
        self._workflows = casework.WorkflowCache()
        self._versions = casework.VersionCache()
        runtime.set_clock(settings.clock)

    # ------------------------------------------------------------ plumbing

    @property
    def clock(self):
        return self.settings.clock

    def _open(self, create: bool = False):
        if self._engine is None or create:
            if not create:
                _refuse_missing_sqlite(self.settings.db_url)
            self._engine = store.open_database(self.settings.db_url, create=create)
            self._sessions = store.session_factory(self._engine)
            self._read_sessions = store.session_factory(self._engine, readonly=True)
        return self._engine

    @contextmanager
    def _tx(self, readonly: bool = False, step: bool = False):
        """One transaction: commit on success, roll back on any error.

        ``step``: a step's transaction, which reads, runs SpiffWorkflow and then writes under the case's
        revision guard; on SQLite it holds no lock until its first write (others are not kept waiting
        while the step runs), and a case changed meanwhile makes it stale (retried by the caller)."""
        self._open()
        factory = self._read_sessions if readonly else self._sessions
        session: Session = factory()
        self._after_commit = []
        try:
            with session.begin():
                if step:        # on SQLite: a plain BEGIN (store._sqlite_begin), the write lock comes later
                    session.connection(execution_options=store.DEFERRED)
                yield session
            for hook in self._after_commit:
                hook()
        except OperationalError as exc:
            text = str(exc.orig).strip().splitlines()[0]
            if store.is_stale_snapshot(exc):
                raise casework.stale() from None
            if store.is_busy(exc):
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
            session.close()

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _actor(self, session: Session, roles: tuple[str, ...] | None = None, what: str = "do this") -> store.Actor:
        name = self.settings.user
        if not name:
            raise PermissionDenied("no acting user: pass --as NAME or set ONETRIP_USER")
        name = values.nfkc(values.check_text(name, "--as user name"))
        user = store.find_actor(session, name)
        if user is None:
            raise PermissionDenied(f"unknown user {name!r}: an admin adds users with `onetrip user add`")
        if roles and user.role not in roles:
            article = "an" if user.role[0] in "aeiou" else "a"
            raise PermissionDenied(f"{user.name} is {article} {user.role}; only "
                                   f"{' or '.join(r + 's' for r in roles)} may {what}")
        return user

    def _check_role(self, roles: tuple[str, ...], what: str) -> None:
        """Refuse early, before reading files, when the acting user may not do this."""
        with self._tx(readonly=True) as s:
            self._actor(s, roles, what)

    # ------------------------------------------------------------ database

    def init(self) -> dict:
        eng = self._open(create=True)
        return {"database": eng.url.render_as_string(hide_password=True),
                "schema_revision": store.current_revision(eng)}

    # ------------------------------------------------------------ users

    def add_user(self, name: str, department: str | None, role: str) -> dict:
        if role not in ROLES:
            raise InvalidInput(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
        name = values.normalize_name(name or "", "user name")
        if department is not None and not department.strip():
            department = None
        if department is not None:
            department = values.normalize_name(department, "department name", max_chars=200)
        if role == CLERK and not department:
            raise InvalidInput("a clerk needs --department (the lane name of their department)")
        with self._tx() as s:
            has_admin = s.scalar(select(func.count()).select_from(User).where(User.role == ADMIN))
            if has_admin:
                self._actor(s, ADMIN_ROLES, "add users")
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
            user = User(name=name, role=role, department=dept, created_at=self.clock.now())
            s.add(user)
            s.flush()
            record = _user_record(user)
            if role == CLERK:
                known = _known_departments(s)
                if known and department.strip() not in known:
                    record["warning"] = (f"no uploaded model has a lane named {department.strip()!r}, so "
                                         f"{name} will see no tasks until one does; lanes: {'、'.join(known)}")
            return record

    def list_users(self) -> list[dict]:
        with self._tx(readonly=True) as s:
            return [_user_record(u) for u in s.scalars(select(User).order_by(User.name))]

    # ------------------------------------------------------------ models

    def _load(self, path: str | Path):
        from . import bpmn_model
        return bpmn_model.load_document(path, max_bytes=self.settings.max_bpmn_bytes,
                                        max_depth=self.settings.max_xml_depth)

    def validate(self, paths: list[str], process_id: str | None = None) -> list[dict]:
        """Check files without a database; one result per file.

        The files are checked together: a call activity of one resolves to a
        process of another (``validate MAIN.bpmn CALLED.bpmn``).  ``process_id``
        chooses the process to run in the files that have it.
        """
        results = []
        loaded = {}
        for path in paths:
            try:
                loaded[path] = self._load(path)[1]
            except ModelError as exc:
                loaded[path] = exc
        anywhere = process_id and any(not isinstance(d, ModelError) and d.process(process_id)
                                      for d in loaded.values())
        for path in paths:
            doc = loaded[path]
            if isinstance(doc, ModelError):
                results.append({"file": str(path), "process_id": None, "matter_code": None,
                                "valid": False, "problems": [str(doc)]})
                continue
            doc.library = [d for p, d in loaded.items() if p != path and not isinstance(d, ModelError)]
            try:
                chosen = process_id if process_id and (doc.process(process_id) or not anywhere) else None
                process, _, problems = _compiler().compile_model(doc, chosen)
                results.append({"file": str(path), "process_id": process.id,
                                "matter_code": process.matter_code, "valid": not problems,
                                "problems": [str(p) for p in problems],
                                "translations": doc.translations})
            except ModelError as exc:
                results.append({"file": str(path), "process_id": None, "matter_code": None,
                                "valid": False, "problems": [str(exc)]})
        return results

    def _stored_library(self, doc, limit: int = 20) -> list[dict]:
        """Bind call activities no given file resolves to the current stored version of that process id.

        Adds the stored versions' files to ``doc.library``; returns the bindings.
        """
        from . import bpmn_model
        bindings, tried = [], set()
        for _ in range(limit):
            known = {p.id for p in doc.all_processes()}
            missing = sorted({n.called_element for p in doc.all_processes() for n in p.walk()
                              if n.tag == "callActivity" and n.called_element
                              and n.called_element not in known} - tried)
            if not missing:
                break
            tried.update(missing)
            with self._tx(readonly=True) as s:
                for pid in missing:
                    v = s.scalar(select(ProcessVersion).where(ProcessVersion.process_id == pid,
                                                              ProcessVersion.executable.is_(True))
                                 .order_by(ProcessVersion.uploaded_at.desc(), ProcessVersion.id.desc())
                                 .limit(1))
                    if v is None:
                        continue
                    files = [(v.filename, v.bpmn_xml)] + [(f["filename"], f["xml"]) for f in (v.extra_files or [])]
                    for name, xml in files:
                        doc.library.append(bpmn_model.load_bytes(
                            xml.encode("utf-8"), f"version {v.id}: {name}",
                            max_bytes=self.settings.max_bpmn_bytes, max_depth=self.settings.max_xml_depth))
                    bindings.append({"process_id": pid, "version": v.id, "file": v.filename,
                                     "matter_code": v.matter.code, "label": v.label})
        return bindings

    def _prepare(self, path, label: str, matter_code: str | None, allow_descriptive: bool,
                 process_id: str | None = None, extra: list[str] | None = None, stored: bool = False):
        """Read, check and analyze a model (its first file the main one) outside any transaction."""
        if label not in LABELS:
            raise InvalidInput(f"unknown label {label!r}: use before or after")
        data, doc = self._load(path)
        extras = []
        for other in extra or []:
            other_data, other_doc = self._load(other)
            extras.append((Path(other), other_data, other_doc))
        doc.library = [d for _, _, d in extras]
        bindings = [{"process_id": p.id, "version": None, "file": Path(f).name}
                    for f, _, d in extras for p in d.processes]
        if stored:
            bindings += self._stored_library(doc)
        process, compiled, problems = _compiler().compile_model(doc, process_id)
        if problems and not allow_descriptive:
            raise ModelValidationError(problems)
        code = (matter_code or process.matter_code or "").strip()
        if not code:
            raise ModelError("no matter code: set the process property matter_code or pass --matter",
                             file=str(path), line=process.line, element=process.id)
        from . import analysis
        metrics = analysis.version_metrics(doc, process)
        called = {n.called_element for p in _compiler().called_scope(doc, process) for n in p.walk()
                  if n.tag == "callActivity"}
        bindings = [b for b in bindings if b["process_id"] in called]
        digest = doc.sha256
        if extras:
            from .bpmn_model import sha256
            digest = sha256("\0".join([doc.sha256, *(d.sha256 for _, _, d in extras)]).encode())
        translations = [t | {"file": Path(d.filename).name} for d in [doc, *(d for _, _, d in extras)]
                        for t in d.translations]
        return {"path": Path(path), "label": label, "code": code, "data": data, "doc": doc, "process": process,
                "compiled": compiled, "problems": problems, "metrics": metrics, "sha256": digest,
                "extra_files": [{"filename": p.name, "sha256": d.sha256, "xml": b.decode("utf-8", "replace")}
                                for p, b, d in extras] or None,
                "details": {"translations": translations, "bindings": bindings}}

    def _store_version(self, s: Session, user: store.Actor, p: dict, manifest: dict | None = None) -> dict:
        code, process, doc = p["code"], p["process"], p["doc"]
        matter = s.scalar(select(Matter).where(Matter.code == code))
        name = (manifest or {}).get("name") or process.label
        if matter is None:
            matter = Matter(code=code, name=name, kind=(manifest or {}).get("kind", "matter"),
                            department=(manifest or {}).get("department"), manifest=manifest,
                            created_at=self.clock.now())
            s.add(matter)
            s.flush()
        elif manifest:
            matter.name, matter.manifest = name, manifest
            matter.kind = manifest.get("kind", matter.kind)
            matter.department = manifest.get("department", matter.department)
        existing = s.scalar(select(ProcessVersion).where(
            ProcessVersion.matter_id == matter.id, ProcessVersion.label == p["label"],
            ProcessVersion.sha256 == p.get("sha256", doc.sha256)))
        if existing is not None:
            current = store.latest_version(s, matter, p["label"])
            reactivated = current is not None and current.id != existing.id
            if reactivated:        # the designer went back to this model: it is the current one again
                existing.activation = store.next_activation(s, matter.id, p["label"])
                existing.uploaded_at, existing.uploaded_by = self.clock.now(), user.id
                s.flush()
            return _version_record(existing) | {"created": False, "reactivated": reactivated}
        compiled = p["compiled"]
        version = ProcessVersion(
            matter=matter, label=p["label"], process_id=process.id, name=process.label,
            filename=p["path"].name, sha256=p.get("sha256", doc.sha256),
            bpmn_xml=p["data"].decode("utf-8", "replace"), extra_files=p.get("extra_files"),
            details=p.get("details"),
            spec_json=runtime.spec_to_json(compiled) if compiled else None,
            executable=compiled is not None, problems=[str(x) for x in p["problems"]],
            metrics=p["metrics"], uploaded_by=user.id, uploaded_at=self.clock.now(),
            activation=store.next_activation(s, matter.id, p["label"]))
        s.add(version)
        s.flush()
        return _version_record(version) | {"created": True}

    def upload(self, path: str | list[str], label: str, matter_code: str | None = None,
               allow_descriptive: bool = False, process_id: str | None = None) -> dict:
        """Upload one model: a file, or several (the first the main one, its call activities
        resolving to the others, else to the current stored version of the called process)."""
        paths = [path] if isinstance(path, (str, Path)) else list(path)
        if not paths:
            raise InvalidInput("no BPMN file given")
        self._check_role(UPLOAD_ROLES, "upload process models")
        prepared = self._prepare(paths[0], label, matter_code, allow_descriptive, process_id,
                                 extra=paths[1:], stored=True)
        with self._tx() as s:
            user = self._actor(s, UPLOAD_ROLES, "upload process models")
            return self._store_version(s, user, prepared)

    def load_catalog(self, directory: str | None = None, progress=None) -> list[dict]:
        """Upload every manifest's before and after model, in one transaction (idempotent)."""
        from . import catalog
        self._check_role(UPLOAD_ROLES, "load the catalog")
        manifests = catalog.load_catalog(directory)
        prepared = []
        for m in manifests:
            for label, path in m.models.items():
                prepared.append((m, self._prepare(path, label, m.code, False)))
                if progress:
                    progress()
            versions = {p["label"]: p for _, p in prepared[-len(m.models):]}
            catalog.check_models(m, versions["before"]["process"], versions["after"]["process"],
                                 versions["before"]["metrics"], versions["after"]["metrics"])
        results = []
        with self._tx() as s:
            user = self._actor(s, UPLOAD_ROLES, "load the catalog")
            for m, p in prepared:
                results.append(self._store_version(s, user, p, m.record()))
        return results

    def list_catalog(self) -> list[dict]:
        with self._tx(readonly=True) as s:
            out = []
            for m in s.scalars(select(Matter).order_by(Matter.kind.desc(), Matter.code)):
                versions = s.scalars(select(ProcessVersion).where(ProcessVersion.matter_id == m.id)
                                     .order_by(ProcessVersion.id)).all()
                out.append({"code": m.code, "name": m.name, "kind": m.kind, "department": m.department,
                            "members": (m.manifest or {}).get("members", []),
                            "versions": [{"id": v.id, "label": v.label} for v in versions]})
            return out

    def list_versions(self, matter_code: str | None = None) -> list[dict]:
        with self._tx(readonly=True) as s:
            stmt = select(ProcessVersion).join(Matter).order_by(Matter.code, ProcessVersion.id)
            if matter_code:
                stmt = stmt.where(Matter.code == matter_code)
            return [_version_record(v) for v in s.scalars(stmt)]

    def show_version(self, version_id: str | int) -> dict:
        vid = _int_id(version_id, "process version")
        with self._tx(readonly=True) as s:
            v = store.get_version(s, vid)
            cases = s.scalar(select(func.count()).select_from(Case).where(Case.version_id == v.id))
            details = v.details or {}
            return _version_record(v) | {"problems": v.problems, "metrics": v.metrics, "cases": cases,
                                         "filename": v.filename,
                                         "files": [v.filename, *(f["filename"] for f in v.extra_files or [])],
                                         "translations": details.get("translations", []),
                                         "bindings": details.get("bindings", [])}

    def analyze(self, targets: list[str], process_id: str | None = None) -> list[dict]:
        """Static metrics and findings for BPMN files or stored version ids.

        Files are read together, so a call activity of one expands into a process
        of another; ``process_id`` chooses the process in the files that have it.
        """
        from . import analysis
        out = []
        stored = [t for t in targets if store.parse_id(t) is not None and not Path(str(t)).exists()]
        docs = {t: self._load(t)[1] for t in targets if t not in stored}
        for target, doc in docs.items():
            doc.library = [d for t, d in docs.items() if t != target]
            chosen = process_id if process_id and doc.process(process_id) else None
            out += [m.to_dict() | {"file": str(target)} for m in analysis.analyze_document(doc, chosen)]
        if stored:      # analysed when uploaded: the stored figures, not a second parse
            with self._tx(readonly=True) as s:
                for vid in stored:
                    v = store.get_version(s, store.parse_id(vid))
                    out.append(dict(v.metrics) | {"version": v.id, "label": v.label})
        return out

    def compare_files(self, before: list[str], after: list[str], diagrams: bool = False) -> dict:
        """Compare two sets of BPMN files or folders (paired by matter code); no database.

        With ``diagrams``, each model's diagram is drawn too (``data["diagrams"]``, for HTML).
        """
        from . import analysis, bpmn_svg, compare
        drawn: dict[str, str] = {}

        def analyze(path):
            _, doc = self._load(path)
            metrics = analysis.version_metrics(doc, _compiler().choose_leniently(doc)[0])
            if diagrams:
                drawn[str(path)] = bpmn_svg.render_svg(doc, metrics.get("task_materials"))
            return metrics

        b = compare.metrics_by_matter([Path(p) for p in before], "before", analyze)
        a = compare.metrics_by_matter([Path(p) for p in after], "after", analyze)
        names, kinds = _catalog_entries([Path(p) for p in before + after])
        data = compare.pair(b, a, names, kinds).to_dict()
        if diagrams:
            data["diagrams"] = {code: {label: drawn[side[code]["_file"]] for label, side in
                                       (("before", b), ("after", a)) if code in side}
                                for code in set(a) | set(b)}
        return data

    def compare_stored(self) -> dict:
        """Latest before and after version of every matter, with measured figures where cases ran."""
        from . import compare, measure
        with self._tx() as s:
            latest = store.current_versions(s)
            matters = {v.matter.code: v.matter for v in latest.values()}
            before = {code: v.metrics for (code, label), v in latest.items() if label == "before"}
            after = {code: v.metrics for (code, label), v in latest.items() if label == "after"}
            result = compare.pair(before, after, {c: m.name for c, m in matters.items()},
                                  {c: m.kind for c, m in matters.items()})
            measured = self._measured(s, measure.Filters())
            for row in result.matters:
                row.measured = {r["label"]: r for r in measured if r["matter_code"] == row.matter_code}
            self._add_conformance(s, result.matters)
            return result.to_dict()

    def metrics(self, matter_code: str | None = None, since=None, until=None) -> dict:
        from . import measure
        with self._tx() as s:
            if matter_code:
                _matter(s, matter_code)
            rows = self._measured(s, measure.Filters(matter_code, since, until))
            return {"matters": rows}

    def _measured(self, s: Session, filters) -> list[dict]:
        from . import measure
        today = self.clock.today()
        calendar = self._calendar(s)
        first, last = measure.calendar_span(s, today)
        measure.ensure_calendar(s, calendar, first, last)
        self._note_calendar(calendar, first, last)
        return measure.matter_metrics(s, today, filters)

    def calendar(self):
        """The working-day calendar with every imported year."""
        with self._tx(readonly=True) as s:
            return self._calendar(s)

    def demo_versions(self) -> list[dict]:
        """The latest executable before/after version of every matter, with what a simulation needs."""
        with self._tx(readonly=True) as s:
            return [{"matter_code": code, "label": label, "version": v.id,
                     "returnable": set(v.metrics.get("returnable_tasks", ())),
                     "lanes": v.metrics.get("lanes", []), "expected_steps": v.metrics.get("tasks_total", 1)}
                    for (code, label), v in sorted(store.current_versions(s, executable_only=True).items())]

    def report_details(self) -> tuple[dict, dict]:
        """Diagrams of the latest versions and measured working-day distributions, per matter."""
        from . import bpmn_model, bpmn_svg, measure
        with self._tx() as s:
            details: dict = {}
            for (code, label), v in store.current_versions(s).items():
                doc = bpmn_model.load_bytes(v.bpmn_xml.encode("utf-8"), v.filename)
                details.setdefault(code, {})[label] = bpmn_svg.render_svg(
                    doc, (v.metrics or {}).get("task_materials"))
            self._measured(s, measure.Filters())
            dist: dict = {}
            per_case = measure.case_metrics_query(self.clock.today()).subquery()
            for row in s.execute(select(per_case.c.matter_code, per_case.c.label, per_case.c.elapsed)
                                 .where(per_case.c.status == "completed")
                                 .order_by(per_case.c.case_id)):
                dist.setdefault(row.matter_code, {}).setdefault(row.label, []).append(int(row.elapsed))
            return details, dist

    def write_report(self, path: str | Path, comparison: dict, subtitle: str = "", simulated: bool = False,
                     simulations: list[dict] | None = None) -> Path:
        from .html_report import render_html
        details, dist = self.report_details()
        mining = self.report_mining(simulations)
        path = Path(path)
        try:
            path.write_text(render_html(comparison, details, dist, subtitle=subtitle, simulated=simulated,
                                        mining=mining),
                            encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"{path}: cannot write the report: {exc.strerror}") from None
        return path

    def run_due_timers(self, limit: int = 1000) -> dict:
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
        self._check_role(ADMIN_ROLES, "run the worker")
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

        if not hasattr(os, "fork") or os.environ.get("ONETRIP_WORKER_INPROCESS"):
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
                    result = {"case": claimed[-1], "ok": False, "error": str(exc),
                              "retry": exc.exit_code == EXIT_TEMPFAIL}
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
        now = self.clock.now()
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
        with self._tx(step=True) as s:
            step = claim(s)
            if step is None or isinstance(step, dict):
                return step
            casework.write(s.connection(), step, fire(step))
        return {"case": step.case.id, "ok": True, "fired": step.fired}

    def _after_fork(self) -> None:
        """In a worker's child: its own database connections; SIGXCPU ends it (the CPU backstop)."""
        if self._engine is not None:
            self._engine.dispose(close=False)
        signal.signal(signal.SIGXCPU, signal.SIG_DFL)

    def _record_failure(self, case_id: int, error: str) -> bool:
        """Record a worker's failure on a case (an audited event); quarantine it after too many in a row."""
        with self._tx() as s:
            case = casework.read_case(s, case_id)
            if case.status != "open":
                return False
            recent = s.scalars(select(TaskEvent.action).where(TaskEvent.case_id == case_id)
                               .order_by(TaskEvent.seq.desc()).limit(WORKER_MAX_FAILURES)).all()
            streak = 0
            for action in recent:
                if action != "error":
                    break
                streak += 1
            now = max(self.clock.now(), case.last_event_at)
            events = [("worker", "error", {"reason": error})]
            quarantine = streak + 1 >= WORKER_MAX_FAILURES
            if quarantine:
                events.append(("worker", "quarantine", {"reason": error, "failures": streak + 1}))
            casework.set_status(s, case, "quarantine" if quarantine else "open", events, now)
            return quarantine

    def send_reminders(self) -> list[dict]:
        """Record a reminder on every open case due by the next working day (once per case)."""
        out = []
        with self._tx() as s:
            self._actor(s, ADMIN_ROLES, "run the worker")
            now = self.clock.now()
            calendar = self._calendar(s)
            horizon = calendar.add_workdays(now.date(), 1)
            rows = s.execute(select(Case.id, Case.due_date, Matter.code)
                             .join(ProcessVersion, Case.version_id == ProcessVersion.id)
                             .join(Matter, ProcessVersion.matter_id == Matter.id)
                             .where(Case.status == "open", Case.due_date.isnot(None),
                                    Case.due_date <= horizon, Case.reminded_at.is_(None),
                                    Case.updated_at <= now)      # time only moves forward
                             .order_by(Case.due_date, Case.id)
                             .with_for_update(skip_locked=True, of=Case.__table__)).all()
            conn = s.connection()
            for case_id, due, code in rows:
                step = casework.Step(s, casework.read_case(s, case_id), None, None, None)
                overdue = casework.is_overdue(due, now.date())
                step.record("worker", "remind", now, data={"due_date": due.isoformat(), "overdue": overdue})
                conn.execute(insert(TaskEvent.__table__), step.events)
                conn.execute(casework.UPDATE_REMINDED, {"b_id": case_id, "event_seq": step.case.event_seq,
                                                        "last_hash": step.case.last_hash, "reminded_at": now})
                out.append({"case": case_id, "matter_code": code, "due_date": due.isoformat(), "overdue": overdue})
        return out

    def verify_audit(self, case_id: str | int | None = None, checkpoint: str | None = None,
                     pubkey: str | None = None, key: str | None = None) -> dict:
        """Check the hash chain of one case or of every case, that the state each step wrote is still
        what its events say, and that each case's measured counters agree with its events; with a
        signed ``checkpoint``, also every event rewritten, deleted or appended to a closed case since,
        and every case deleted since."""
        cp = None
        if checkpoint is not None:
            public = audit.load_public_key(pubkey, key or (None if pubkey else self.settings.audit_key))
            cp = audit.read_checkpoint(checkpoint, public)
        with self._tx() as s:
            self._actor(s, AUDIT_ROLES, "verify the audit trail")
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
        from . import measure
        stmt = select(Case.id, Case.status, Case.event_seq, Case.last_hash,
                      *[getattr(Case, c) for c in casework.COUNTERS]).order_by(Case.id)
        ids = None
        if cid is not None:
            stmt, ids = stmt.where(Case.id == cid), [cid]
        rows = s.execute(stmt).all()
        first, last = measure.calendar_span(s, self.clock.today())
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

    def audit_checkpoint(self, path: str, key: str | None = None, accept_findings: bool = False) -> dict:
        """Write the signed heads of every case to ``path`` (to be kept outside the database); refused
        while the trail has findings, unless ``accept_findings`` (they are then kept in the checkpoint)."""
        private = audit.load_private_key(key or self.settings.audit_key)
        with self._tx() as s:
            self._actor(s, ADMIN_ROLES, "take audit checkpoints")
            findings, summaries, count, events = self._audit_trail(s, None)
        if findings and not accept_findings:
            raise InvalidInput(f"the audit trail has {len(findings)} finding(s) (first: {findings[0]}); "
                               f"see `onetrip audit verify`, or checkpoint them as they are with "
                               f"--accept-findings; no checkpoint was written")
        cases = []
        for summary in summaries.values():
            cases.append({k: v for k, v in summary.items() if k not in ("by_seq", "heads")})
        body = audit.write_checkpoint(path, private, cases, self.clock.now().isoformat(timespec="seconds"),
                                      findings)
        return {"file": path, "created_at": body["created_at"], "key_id": body["key_id"], "cases": count,
                "events": events, "findings": findings}

    @staticmethod
    def audit_keygen(path: str) -> dict:
        """A new Ed25519 key pair for signing audit checkpoints (no database is touched)."""
        return audit.keygen(path)

    def import_calendar(self, path: str) -> dict:
        from . import measure
        from .workdays import parse_holiday_file
        with self._tx() as s:
            self._actor(s, ADMIN_ROLES, "import holiday calendars")
            year = parse_holiday_file(path)
            row = s.get(CalendarYear, year.year) or CalendarYear(year=year.year)
            row.holidays = sorted(d.isoformat() for d in year.holidays)
            row.workdays = sorted(d.isoformat() for d in year.workdays)
            row.source, row.imported_at = Path(path).name, self.clock.now()
            s.add(row)
            s.flush()
            measure.reset_calendar(s)
            moved = self._recompute_due_dates(s)
            return {"year": year.year, "holidays": len(year.holidays), "workdays": len(year.workdays),
                    "source": row.source, "due_dates_moved": moved}

    def _recompute_due_dates(self, s: Session) -> int:
        """Open cases' due dates under the calendar as it now is (promised + paused working days)."""
        calendar = self._calendar(s)
        rows = s.execute(select(Case.id, Case.accepted_at, Case.promised_workdays, Case.paused_workdays,
                                Case.due_date)
                         .where(Case.status == "open", Case.promised_workdays.isnot(None))).all()
        changes = []
        for cid, accepted, promised, paused, due in rows:
            new_due = calendar.add_workdays(accepted.date(), promised + (paused or 0))
            if new_due != due:
                changes.append({"b_id": cid, "due_date": new_due})
        if changes:
            s.connection().execute(casework.UPDATE_DUE, changes)
        return len(changes)

    # ------------------------------------------------------------ cases

    def _note_calendar(self, calendar, first=None, last=None) -> None:
        """Keep the calendar's warning (years counted Monday–Friday) for the command to show."""
        if first is not None and last is not None:
            calendar.workdays_between(first, last)      # visits every year of the span
        self.warnings = calendar.warnings()

    def _calendar(self, session: Session):
        from .workdays import HolidayYear, WorkCalendar
        years = session.scalars(select(CalendarYear)).all()
        return WorkCalendar([HolidayYear(y.year, frozenset(_dates(y.holidays)), frozenset(_dates(y.workdays)),
                                         y.source or "") for y in years])

    def start_case(self, matter_code: str, label: str | None = None, data: dict | None = None) -> dict:
        data = values.check_data(dict(data or {}))
        return self._retried(lambda: self._start_once(matter_code, label, data))

    def _retried(self, attempt):
        """Run a step again when another write made what it read stale (at most STEP_ATTEMPTS times)."""
        for n in range(STEP_ATTEMPTS):
            try:
                return attempt()
            except ConcurrentUpdate as exc:
                if not getattr(exc, "stale", False) or n == STEP_ATTEMPTS - 1:
                    raise           # a busy database is retried by the clerk (exit 75), not here
        raise AssertionError("unreachable")

    def _start_once(self, matter_code: str, label: str | None, data: dict) -> dict:
        with self._tx(step=True) as s:
            user = self._actor(s, CASE_ROLES, "start cases")
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
            now = self.clock.now()
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

    def _keep(self, step) -> None:
        """After the commit, keep the live workflow for the next step of this process."""
        self._after_commit.append(lambda: self._workflows.put(step.case.id, step.case.revision, step.wf,
                                                              step.state))

    def _step_record(self, step, items: list[dict], version: casework.VersionInfo) -> dict:
        case = step.case
        today = self.clock.today()
        overdue = casework.is_overdue(case.due_date, today, case.completed_at)
        return {"id": case.id, "matter_code": version.matter_code, "matter_name": version.matter_name,
                "label": version.label, "version": version.id, "status": case.status,
                "accepted_at": _iso(case.accepted_at), "completed_at": _iso(case.completed_at),
                "due_date": _iso(case.due_date), "overdue": overdue, "revision": case.revision,
                "ready": [_item_record(i, version) | {"due_date": _iso(case.due_date)} for i in items]}

    def list_cases(self, status: str | None = None, matter_code: str | None = None) -> list[dict]:
        if status not in (None, *CASE_STATUSES):
            raise InvalidInput(f"unknown status {status!r}: use {', '.join(CASE_STATUSES)}")
        with self._tx(readonly=True) as s:
            stmt = select(Case).join(ProcessVersion).join(Matter)
            if status:
                stmt = stmt.where(Case.status == status)
            if matter_code:
                stmt = stmt.where(Matter.code == matter_code)
            stmt = stmt.order_by(Case.due_date.is_(None), Case.due_date, Case.id)
            today = self.clock.today()
            return [_case_summary(c, today) for c in s.scalars(stmt)]

    def show_case(self, case_id: str | int) -> dict:
        cid = _int_id(case_id, "case")
        with self._tx(readonly=True) as s:
            case = store.get_case(s, cid)
            return self._case_record(s, case)

    def _case_record(self, s: Session, case: Case) -> dict:
        events = s.scalars(select(TaskEvent).where(TaskEvent.case_id == case.id).order_by(TaskEvent.seq))
        items = s.scalars(select(WorkItem).where(WorkItem.case_id == case.id).order_by(WorkItem.seq))
        defaults = self._onsite_defaults(s, case.version_id)
        record = _case_summary(case, self.clock.today())
        if case.status == "quarantine":
            last = s.scalar(select(TaskEvent).where(TaskEvent.case_id == case.id, TaskEvent.action == "quarantine")
                            .order_by(TaskEvent.seq.desc()).limit(1))
            record["quarantine"] = {"reason": (last.data or {}).get("reason") if last else None,
                                    "at": _iso(last.at) if last else None,
                                    "release": f"onetrip --as ADMIN case release {case.id}"}
        return record | {
            "applicant": case.applicant,
            "measured": {"steps": case.steps_done, "trips": case.trips, "returns": case.returns,
                         "materials": case.materials_submitted, "paused_workdays": case.paused_workdays},
            "ready": [_task_record(w, case) for w in items],
            "events": [_event_record(e) | {"onsite_default": defaults.get(e.task_name)} if e.task_name
                       else _event_record(e) for e in events],
        }

    def _onsite_defaults(self, s: Session, version_id: int) -> dict[str, bool]:
        """Each human step's ``onsite`` annotation (the default when a clerk gives neither --onsite nor --online)."""
        model = self._models.get(s, version_id)
        specs = [model.spec, *model.subprocess_specs.values()]
        return {t.bpmn_id: is_onsite(getattr(t, "extensions", None) or {})
                for spec in specs for t in spec.task_specs.values() if getattr(t, "bpmn_id", None)}

    def _returnable(self, s: Session, version_id: int) -> set[str]:
        metrics = s.scalar(select(ProcessVersion.metrics).where(ProcessVersion.id == version_id)) or {}
        return set(metrics.get("returnable_tasks") or ())

    # ------------------------------------------------------------ tasks

    def list_tasks(self, case_id: str | int | None = None, show_all: bool = False) -> list[dict]:
        with self._tx(readonly=True) as s:
            stmt = select(WorkItem, Case).join(Case, WorkItem.case_id == Case.id)
            if case_id is not None:
                stmt = stmt.where(WorkItem.case_id == _int_id(case_id, "case"))
            if not show_all:
                user = self._actor(s, None)
                if user.role != CLERK:
                    raise PermissionDenied(f"{user.name} is not a clerk; only clerks have tasks "
                                           f"(use --all to see every ready task)")
                dept = user.department_name
                stmt = stmt.where((WorkItem.lane.is_(None)) | (WorkItem.lane == dept))
            stmt = stmt.order_by(Case.due_date.is_(None), Case.due_date, WorkItem.case_id, WorkItem.seq)
            today = self.clock.today()
            rows = [_task_record(w, c) | {"overdue": casework.is_overdue(c.due_date, today)}
                    for w, c in s.execute(stmt)]
            if not rows and not show_all:      # say why, else this clerk sees nothing, silently, forever
                known = _known_departments(s)
                if known and dept not in known:
                    self.warnings.append(f"warning: no uploaded model has a lane named {dept!r}, so {user.name} "
                                         f"sees no tasks; lanes: {'、'.join(known)}")
            return rows

    def show_task(self, ref: str) -> dict:
        with self._tx(readonly=True) as s:
            item = self._find_task(s, ref)
            case = store.get_case(s, item.case_id)
            step = casework.open_step(s, casework.read_case(s, case.id), self._models, casework.NoCache())
            task = step.wf.get_task_from_id(UUID(item.task_uuid))
            data = {k: v for k, v in (task.data if task else {}).items() if k != "data_objects"}
            return _task_record(item, case) | {"data": data,
                                               "returnable": item.spec_name in self._returnable(s, case.version_id)}

    def _find_task(self, s: Session, ref: str) -> WorkItem:
        try:
            return store.get_work_item(s, ref)
        except NotFound:
            parsed = store.parse_task_ref(ref)
            if parsed is not None:
                canonical = f"{parsed[0]}.{parsed[1]}"
                done = s.scalar(select(TaskEvent).where(TaskEvent.task_ref == canonical).limit(1))
                if done is not None:
                    raise TaskStateError(f"task {ref} ({done.name}) was already completed by "
                                         f"{done.actor} at {done.at:%Y-%m-%d %H:%M}") from None
            raise

    def complete_task(self, ref: str, data: dict | None = None, onsite: bool | None = None,
                      returned: bool = False, reason: str | None = None) -> dict:
        """Complete (or return for correction) one ready task of the acting clerk's department.

        The step runs on the case as read, outside any write lock; its write is guarded by the
        case's revision.  Should another step land on the case meanwhile, the step is run again
        on the new state (up to :data:`STEP_ATTEMPTS` times) — so two clerks finishing parallel
        tasks of one case both succeed, and the second of two on the same task is told it is done.
        """
        data = values.check_data(dict(data or {}))
        data["returned"] = returned
        if returned:
            data["return_reason"] = values.check_text(reason or "", "--reason")
        return self._retried(lambda: self._complete_once(ref, data, onsite, returned))

    def _complete_once(self, ref: str, data: dict, onsite: bool | None, returned: bool) -> dict:
        with self._tx(step=True) as s:
            user = self._actor(s, TASK_ROLES, "complete tasks")
            item, case = casework.read_item(s, ref)
            if item is None:
                self._find_task(s, ref)          # raises the right error (unknown or already completed)
                raise NotFound("ready task", ref)
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
            # The step itself runs holding no lock (on SQLite a read snapshot, on PostgreSQL no row lock).
            now = self.clock.now()
            casework.check_time(case, now)
            before = casework.ready_uuids(step.wf)
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
            items = casework.write(s.connection(), step, prepared)
            self._keep(step)
        return self._step_record(step, items, version)

    # ------------------------------------------------------------ administration of cases

    def cancel_case(self, case_id: str | int, reason: str) -> dict:
        """Cancel a case (admin): no task of it stays ready; works on a case that cannot be loaded."""
        cid = _int_id(case_id, "case")
        reason = values.check_text((reason or "").strip(), "--reason")
        if not reason:
            raise InvalidInput("say why the case is cancelled: --reason ...")
        with self._tx() as s:
            user = self._actor(s, ADMIN_ROLES, "cancel cases")
            case = casework.read_case(s, cid)
            if case.status in ("completed", "cancelled"):
                raise TaskStateError(f"case {cid} is already {case.status}")
            now = self.clock.now()
            casework.check_time(case, now)
            casework.set_status(s, case, "cancelled", [(user.name, "cancel", {"reason": reason})], now,
                                drop_items=True)
            self._workflows.take(cid, -1)
            return self._case_record(s, store.get_case(s, cid))

    def release_case(self, case_id: str | int) -> dict:
        """Release a case the worker quarantined (admin): the worker tries its timers again."""
        cid = _int_id(case_id, "case")
        with self._tx() as s:
            user = self._actor(s, ADMIN_ROLES, "release quarantined cases")
            case = casework.read_case(s, cid)
            if case.status != "quarantine":          # nothing to release: say so, change nothing
                return self._case_record(s, store.get_case(s, cid))
            now = self.clock.now()
            casework.check_time(case, now)
            casework.set_status(s, case, "open", [(user.name, "release", {})], now)
            return self._case_record(s, store.get_case(s, cid))


# ---------------------------------------------------------------- records

def _refuse_missing_sqlite(url: str) -> None:
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


def _catalog_entries(paths: list[Path]) -> tuple[dict[str, str], dict[str, str]]:
    """Names and kinds (matter or 一件事 bundle) from the catalog manifests beside the compared
    models (``processes/`` next to their folder), else the default catalog: a folder comparison
    then leaves the bundles out of the totals exactly as ``compare --stored`` does."""
    import tomllib
    from . import catalog
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


def _known_departments(s: Session) -> list[str]:
    """Lane names of every stored process version."""
    lanes: set[str] = set()
    for metrics in s.scalars(select(ProcessVersion.metrics)):
        lanes.update((metrics or {}).get("lanes") or ())
    return sorted(lanes)


def _matter(s: Session, code: str) -> Matter:
    """The matter, or one line with a "did you mean" (case-insensitive, close spellings)."""
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


def _int_id(value, kind: str) -> int:
    parsed = store.parse_id(value)
    if parsed is None:
        raise NotFound(kind, value)
    return parsed


def _dates(values):
    from datetime import date
    return [date.fromisoformat(v) for v in values]


def _iso(value) -> str | None:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else (
        value.isoformat() if value is not None else None)


def _user_record(u: User) -> dict:
    return {"name": u.name, "role": u.role, "department": u.department_name, "created_at": _iso(u.created_at)}


def _version_record(v: ProcessVersion) -> dict:
    return {"id": v.id, "matter_code": v.matter.code, "matter_name": v.matter.name, "process_id": v.process_id,
            "name": v.name, "label": v.label, "sha256": v.sha256, "executable": v.executable,
            "uploaded_by": v.uploader.name if v.uploader else None, "uploaded_at": _iso(v.uploaded_at)}


def _case_summary(c: Case, today) -> dict:
    overdue = casework.is_overdue(c.due_date, today, c.completed_at)
    return {"id": c.id, "matter_code": c.version.matter.code, "matter_name": c.version.matter.name,
            "label": c.version.label, "version": c.version_id,
            "status": c.status, "accepted_at": _iso(c.accepted_at), "completed_at": _iso(c.completed_at),
            "due_date": _iso(c.due_date), "overdue": overdue, "revision": c.revision}


def _task_record(w: WorkItem, c: Case) -> dict:
    return {"id": w.ref, "case": w.case_id, "task": w.spec_name, "name": w.name, "lane": w.lane,
            "matter_code": c.version.matter.code, "label": c.version.label,
            "onsite": is_onsite(w.props), "props": w.props,
            "ready_at": _iso(w.ready_at), "due_date": _iso(c.due_date)}


def _item_record(i: dict, version: casework.VersionInfo) -> dict:
    props = i.get("props") or {}
    return {"id": casework.item_ref(i), "case": i["case_id"], "task": i["spec_name"], "name": i["name"],
            "lane": i["lane"], "matter_code": version.matter_code, "label": version.label,
            "onsite": is_onsite(props), "props": props,
            "ready_at": _iso(i["ready_at"])}


def _event_record(e: TaskEvent) -> dict:
    return {"seq": e.seq, "task": e.task_ref, "task_id": e.task_name, "name": e.name, "lane": e.lane,
            "actor": e.actor, "action": e.action, "onsite": e.onsite, "data": e.data, "at": _iso(e.at)}

"""Process models: validate, upload, the catalog, versions, static analysis, file comparison."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import reads, runtime
from ..context import Context
from ..errors import InvalidInput, ModelError, ModelValidationError
from ._base import ServiceBase, _catalog_entries, _compiler, _int_id, _version_record, operation

if TYPE_CHECKING:       # annotations only: the ORM's model classes load when a method needs them
    from .. import store


class ModelMethods(ServiceBase):
    def _load(self, path: str | Path):
        from .. import bpmn_model
        return bpmn_model.load_document(path, max_bytes=self.settings.max_bpmn_bytes,
                                        max_depth=self.settings.max_xml_depth)

    @operation
    def validate(self, ctx: Context, paths: list[str], process_id: str | None = None) -> list[dict]:
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
        from .. import store
        from .. import bpmn_model
        bindings, tried = [], set()
        for _ in range(limit):
            known = {p.id for p in doc.all_processes()}
            missing = sorted({n.called_element for p in doc.all_processes() for n in p.walk()
                              if n.tag == "callActivity" and n.called_element
                              and n.called_element not in known} - tried)
            if not missing:
                break
            tried.update(missing)
            with self._tx(readonly=True) as tx:
                s = tx.session
                for pid in missing:
                    v = store.current_executable(s, pid)
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
        from ..store import LABELS
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
        from .. import analysis
        metrics = analysis.version_metrics(doc, process)
        called = {n.called_element for p in _compiler().called_scope(doc, process) for n in p.walk()
                  if n.tag == "callActivity"}
        bindings = [b for b in bindings if b["process_id"] in called]
        digest = doc.sha256
        if extras:
            from ..bpmn_model import sha256
            digest = sha256("\0".join([doc.sha256, *(d.sha256 for _, _, d in extras)]).encode())
        translations = [t | {"file": Path(d.filename).name} for d in [doc, *(d for _, _, d in extras)]
                        for t in d.translations]
        return {"path": Path(path), "label": label, "code": code, "data": data, "doc": doc, "process": process,
                "compiled": compiled, "problems": problems, "metrics": metrics, "sha256": digest,
                "extra_files": [{"filename": p.name, "sha256": d.sha256, "xml": b.decode("utf-8", "replace")}
                                for p, b, d in extras] or None,
                "details": {"translations": translations, "bindings": bindings}}

    def _store_version(self, s: Session, user: store.Actor, p: dict, manifest: dict | None = None) -> dict:
        from .. import store
        from ..store import Matter, ProcessVersion
        code, process, doc = p["code"], p["process"], p["doc"]
        matter = s.scalar(select(Matter).where(Matter.code == code))
        name = (manifest or {}).get("name") or process.label
        if matter is None:
            matter = Matter(code=code, name=name, kind=(manifest or {}).get("kind", "matter"),
                            department=(manifest or {}).get("department"), manifest=manifest,
                            created_at=self._ctx.now())
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
                existing.uploaded_at, existing.uploaded_by = self._ctx.now(), user.id
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
            metrics=p["metrics"], uploaded_by=user.id, uploaded_at=self._ctx.now(),
            activation=store.next_activation(s, matter.id, p["label"]))
        s.add(version)
        s.flush()
        return _version_record(version) | {"created": True}

    @operation
    def upload(self, ctx: Context, path: str | list[str], label: str, matter_code: str | None = None,
               allow_descriptive: bool = False, process_id: str | None = None) -> dict:
        """Upload one model: a file, or several (the first the main one, its call activities
        resolving to the others, else to the current stored version of the called process)."""
        paths = [path] if isinstance(path, (str, Path)) else list(path)
        if not paths:
            raise InvalidInput("no BPMN file given")
        self._check_role()
        prepared = self._prepare(paths[0], label, matter_code, allow_descriptive, process_id,
                                 extra=paths[1:], stored=True)
        with self._tx() as tx:
            s = tx.session
            user = self._actor(s)
            return self._store_version(s, user, prepared)

    @operation
    def load_catalog(self, ctx: Context, directory: str | None = None, progress=None) -> list[dict]:
        """Upload every manifest's before and after model, in one transaction (idempotent)."""
        from .. import catalog
        self._check_role()
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
        with self._tx() as tx:
            s = tx.session
            user = self._actor(s)
            for m, p in prepared:
                results.append(self._store_version(s, user, p, m.record()))
        return results

    @operation
    def list_catalog(self, ctx: Context) -> list[dict]:
        from ..store import Matter, ProcessVersion
        with self._tx(readonly=True) as tx:
            s = tx.session
            versions: dict[int, list[dict]] = {}        # one query for every matter's versions, not one each
            for vid, matter_id, label in s.execute(select(ProcessVersion.id, ProcessVersion.matter_id,
                                                          ProcessVersion.label).order_by(ProcessVersion.id)):
                versions.setdefault(matter_id, []).append({"id": vid, "label": label})
            return [{"code": m.code, "name": m.name, "kind": m.kind, "department": m.department,
                     "members": (m.manifest or {}).get("members", []), "versions": versions.get(m.id, [])}
                    for m in s.scalars(select(Matter).order_by(Matter.kind.desc(), Matter.code))]

    @operation
    def list_versions(self, ctx: Context, matter_code: str | None = None) -> list[dict]:
        with self._tx(readonly=True) as tx:
            return reads.versions(tx.session.connection(), matter_code)

    @operation
    def show_version(self, ctx: Context, version_id: str | int) -> dict:
        from .. import store
        vid = _int_id(version_id, "process version")
        with self._tx(readonly=True) as tx:
            s = tx.session
            v = store.get_version(s, vid)
            cases = store.count_cases(s, v.id)
            details = v.details or {}
            return _version_record(v) | {"problems": v.problems, "metrics": v.metrics, "cases": cases,
                                         "filename": v.filename,
                                         "files": [v.filename, *(f["filename"] for f in v.extra_files or [])],
                                         "translations": details.get("translations", []),
                                         "bindings": details.get("bindings", [])}

    @operation
    def analyze(self, ctx: Context, targets: list[str], process_id: str | None = None) -> list[dict]:
        """Static metrics and findings for BPMN files or stored version ids.

        Files are read together, so a call activity of one expands into a process
        of another; ``process_id`` chooses the process in the files that have it.
        """
        from .. import store
        from .. import analysis
        out = []
        stored = [t for t in targets if store.parse_id(t) is not None and not Path(str(t)).exists()]
        docs = {t: self._load(t)[1] for t in targets if t not in stored}
        for target, doc in docs.items():
            doc.library = [d for t, d in docs.items() if t != target]
            chosen = process_id if process_id and doc.process(process_id) else None
            out += [m.to_dict() | {"file": str(target)} for m in analysis.analyze_document(doc, chosen)]
        if stored:      # analysed when uploaded: the stored figures, not a second parse
            with self._tx(readonly=True) as tx:
                s = tx.session
                for vid in stored:
                    v = store.get_version(s, store.parse_id(vid))
                    out.append(dict(v.metrics) | {"version": v.id, "label": v.label})
        return out

    @operation
    def compare_files(self, ctx: Context, before: list[str], after: list[str], diagrams: bool = False) -> dict:
        """Compare two sets of BPMN files or folders (paired by matter code); no database.

        With ``diagrams``, each model's diagram is drawn too (``data["diagrams"]``, for HTML).
        """
        from .. import analysis, bpmn_model, bpmn_svg, compare
        drawn: dict[str, str] = {}

        def analyze(path):
            _, doc = self._load(path)
            metrics = analysis.version_metrics(doc, bpmn_model.choose_leniently(doc)[0])
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


    @operation
    def demo_versions(self, ctx: Context) -> list[dict]:
        """The latest executable before/after version of every matter, with what a simulation needs."""
        from .. import store
        with self._tx(readonly=True) as tx:
            s = tx.session
            return [{"matter_code": code, "label": label, "version": v.id,
                     "returnable": sorted(v.metrics.get("returnable_tasks", ())),
                     "lanes": v.metrics.get("lanes", []), "expected_steps": v.metrics.get("tasks_total", 1)}
                    for (code, label), v in sorted(store.current_versions(s, executable_only=True).items())]

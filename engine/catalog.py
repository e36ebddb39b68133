"""The matter catalog: one TOML manifest per matter and per 一件事 bundle.

The fields follow a 实施清单 (GB/T 39046-2020); see ``processes/README.md``.
Model paths in a manifest are relative to the folder above ``processes/``
(the repository root).

Sourcing rules, checked on load (and by ``tools/catalog_gen.py`` before it
writes a manifest):

* ``legal_basis`` cites an article (``第十九条``) or a document number
  (``国发〔2017〕7号``, ``国务院令第746号``), or says explicitly ``none：…``;
* ``statutory_workdays`` (法定办结时限) only together with ``statutory_basis``,
  which cites the article or document that sets it; a matter without one says
  so in ``time_limit_note`` (``无法定时限：…``: 即办 or a local promise, and
  where that promise comes from);
* ``[kept_trips]``: every onsite step the after model keeps, with why;
  ``[removed_trips]`` / ``[removed_materials]``: what removed each trip and
  material, a reason starting with one of :data:`MECHANISMS`.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CatalogError

REQUIRED = {"code": str, "name": str, "kind": str, "type_code": str, "type_name": str, "department": str,
            "promised_workdays": int, "case_type": str, "service_object": list,
            "legal_basis": str, "annual_volume": int, "models": dict}
OPTIONAL = {"statutory_workdays": int, "statutory_basis": str, "time_limit_note": str, "members": list,
            "sources": list, "unverified": str, "kept_trips": dict, "removed_trips": dict,
            "removed_materials": dict}
KINDS = ("matter", "bundle")
CASE_TYPES = ("即办件", "承诺件")
#: what may remove a trip or a material: the first word of every removal reason
MECHANISMS = ("电子证照", "数据共享", "邮寄", "告知承诺", "容缺受理", "全程网办", "一窗受理",
              "表单合并", "免申即享", "取消")
NO_LIMIT = "无法定时限"
_ARTICLE = re.compile(r"第[一二三四五六七八九十百零〇两\d]+条")
_DOCUMENT = re.compile(r"〔\d{4}〕\d+号|令第\d+号")
_NONE = re.compile(r"^none\s*[：:]\s*\S")


def cites(text: str) -> bool:
    """True when ``text`` cites an article or a document number."""
    return bool(_ARTICLE.search(text) or _DOCUMENT.search(text))


def basis_problem(field_name: str, text: str, allow_none: bool = True) -> str | None:
    """Why ``text`` is not an acceptable legal basis, or None."""
    if allow_none and _NONE.match(text):
        return None
    if cites(text):
        return None
    tail = " or say \"none：<why>\"" if allow_none else ""
    return f"{field_name} must cite an article (第N条) or a document number (〔YYYY〕N号){tail}"


def note_problem(text: str) -> str | None:
    """Why a matter without a statutory limit does not say so properly, or None."""
    if text.startswith(NO_LIMIT + "：") and len(text) > len(NO_LIMIT) + 1:
        return None
    return (f"no statutory_workdays: time_limit_note must say \"{NO_LIMIT}：\" and where the "
            f"promised limit comes from (即办 or a local promise)")


def mechanism_problem(reason: str) -> str | None:
    """Why a removal reason names no known mechanism, or None."""
    if isinstance(reason, str) and reason.startswith(MECHANISMS):
        return None
    return f"removal reason {reason!r} must start with one of {'、'.join(MECHANISMS)}"


@dataclass
class Manifest:
    path: Path
    data: dict
    models: dict[str, Path] = field(default_factory=dict)

    @property
    def code(self) -> str:
        return self.data["code"]

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def kind(self) -> str:
        return self.data["kind"]

    @property
    def members(self) -> list[str]:
        return list(self.data.get("members") or [])

    def record(self) -> dict:
        """What is stored with the matter (JSON)."""
        d = {k: v for k, v in self.data.items() if k != "models"}
        d["models"] = {label: str(p) for label, p in self.models.items()}
        return d


def default_dir() -> Path:
    """``processes/`` in the current directory, else the one shipped beside the engine."""
    here = Path.cwd() / "processes"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parent.parent / "processes"


def _line_of(text: str, key: str) -> int | None:
    for i, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith(key):
            return i
    return None


def read_manifest(path: Path) -> Manifest:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CatalogError(f"cannot read: {exc.strerror}", file=str(path)) from None
    except UnicodeDecodeError:
        raise CatalogError("not UTF-8 text", file=str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = None
        msg = str(exc)
        if "(at line " in msg:
            line = int(msg.split("(at line ")[1].split(",")[0])
            msg = msg.split(" (at line ")[0]
        raise CatalogError(f"bad TOML: {msg}", file=str(path), line=line) from None

    def fail(key: str, message: str):
        raise CatalogError(message, file=str(path), line=_line_of(text, key))

    for key, typ in (REQUIRED | OPTIONAL).items():
        if key not in data and key in REQUIRED:
            fail("code", f"missing field {key!r}")
        if key in data and (not isinstance(data[key], typ) or (typ is int and isinstance(data[key], bool))):
            fail(key, f"field {key!r} must be a {typ.__name__}")
    problem = basis_problem("legal_basis", data["legal_basis"])
    if problem:
        fail("legal_basis", problem)
    if "statutory_workdays" in data:
        problem = basis_problem("statutory_basis", data.get("statutory_basis", ""), allow_none=False)
        if problem:
            fail("statutory_workdays", f"statutory_workdays needs a statutory_basis: {problem}")
    elif "statutory_basis" in data:
        fail("statutory_basis", "statutory_basis without statutory_workdays")
    else:
        problem = note_problem(data.get("time_limit_note", ""))
        if problem:
            fail("time_limit_note" if "time_limit_note" in data else "promised_workdays", problem)
    for table in ("kept_trips", "removed_trips", "removed_materials"):
        for key, reason in data.get(table, {}).items():
            if not isinstance(reason, str) or not reason.strip():
                fail(key, f"[{table}] {key} needs a reason (a non-empty string)")
            problem = table != "kept_trips" and mechanism_problem(reason)
            if problem:
                fail(key, f"[{table}] {key}: {problem}")
    if data["kind"] not in KINDS:
        fail("kind", f"kind must be one of {', '.join(KINDS)}, not {data['kind']!r}")
    if data["case_type"] not in CASE_TYPES:
        fail("case_type", f"case_type must be 即办件 or 承诺件, not {data['case_type']!r}")
    if data["kind"] == "bundle" and not data.get("members"):
        fail("members", "a bundle needs members = [codes of its matters]")
    if data.get("statutory_workdays", 0) < 0 or data["promised_workdays"] < 0:
        fail("promised_workdays", "working days cannot be negative")
    root = path.parent.parent
    models = {}
    for label in ("before", "after"):
        rel = data["models"].get(label)
        if not isinstance(rel, str):
            fail("[models]", f"[models] needs {label} = \"bpmn/…\"")
        model = (root / rel).resolve()
        if not model.is_file():
            fail(label, f"model {rel} not found")
        models[label] = model
    return Manifest(path=path, data=data, models=models)


def onsite_steps(process) -> list[str]:
    """Ids of a process's counted onsite steps (human tasks with ``onsite=true``, not ``step=false``)."""
    return [n.id for n in process.walk() if n.counts_as_step and n.onsite]


def material_ids(process, metrics: dict) -> set[str]:
    """A model's applicant materials by material id (a data object reference names its object)."""
    return {(process.data[m].object_ref if m in process.data and process.data[m].object_ref else m)
            for m in metrics["applicant_materials"]}


def check_models(m: Manifest, before, after, before_metrics: dict, after_metrics: dict) -> None:
    """The manifest's account of trips and materials agrees with its two models: every onsite step
    the after model keeps has a reason, and every trip and material the after model dropped says
    what removed it.  One line on the first disagreement."""
    text = m.path.read_text(encoding="utf-8-sig")

    def fail(key: str, message: str):
        raise CatalogError(message, file=str(m.path), line=_line_of(text, key))

    kept, gone = onsite_steps(after), onsite_steps(before)
    reasons = m.data.get("kept_trips", {})
    for nid in kept:
        if nid not in reasons:
            fail("[kept_trips]" if "kept_trips" in m.data else "code",
                 f"onsite step {nid} of the after model needs a reason in [kept_trips]")
    for nid in reasons:
        if nid not in kept:
            fail(nid, f"[kept_trips] {nid} is no onsite step of the after model")
    removed = m.data.get("removed_trips", {})
    for nid in removed:
        if nid not in gone:
            fail(nid, f"[removed_trips] {nid} is no onsite step of the before model")
    if len(removed) != len(gone) - len(kept):
        fail("[removed_trips]" if "removed_trips" in m.data else "code",
             f"the after model removes {len(gone) - len(kept)} of {len(gone)} trips: "
             f"[removed_trips] must say what removed each ({len(removed)} given)")
    dropped = material_ids(before, before_metrics) - material_ids(after, after_metrics)
    named = m.data.get("removed_materials", {})
    for mid in sorted(dropped):
        if mid not in named:
            fail("[removed_materials]" if "removed_materials" in m.data else "code",
                 f"material {mid} is no longer asked for: [removed_materials] must say what removed it")
    for mid in named:
        if mid not in dropped:
            fail(mid, f"[removed_materials] {mid} is not a material the after model stopped asking for")


def load_catalog(directory: str | Path | None = None) -> list[Manifest]:
    """Every manifest in a directory, checked, members resolved; sorted by code."""
    directory = Path(directory) if directory else default_dir()
    if not directory.is_dir():
        raise CatalogError("no such catalog directory", file=str(directory))
    manifests = [read_manifest(p) for p in sorted(directory.glob("*.toml"))]
    if not manifests:
        raise CatalogError("no *.toml manifests in this directory", file=str(directory))
    codes: dict[str, Path] = {}
    for m in manifests:
        if m.code in codes:
            raise CatalogError(f"matter code {m.code} is also used by {codes[m.code].name}", file=str(m.path),
                               line=1)
        codes[m.code] = m.path
    for m in manifests:
        missing = [c for c in m.members if c not in codes]
        if missing:
            raise CatalogError(f"bundle member(s) {', '.join(missing)} not in the catalog", file=str(m.path))
    return sorted(manifests, key=lambda m: (m.kind != "matter", m.code))

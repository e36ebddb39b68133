"""The matter catalog: one TOML manifest per matter and per 一件事 bundle.

The fields follow a 实施清单 (GB/T 39046-2020); see ``processes/README.md``.
Model paths in a manifest are relative to the folder above ``processes/``
(the repository root).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CatalogError

REQUIRED = {"code": str, "name": str, "kind": str, "type_code": str, "type_name": str, "department": str,
            "statutory_workdays": int, "promised_workdays": int, "case_type": str, "service_object": list,
            "legal_basis": str, "annual_volume": int, "models": dict}
KINDS = ("matter", "bundle")
CASE_TYPES = ("即办件", "承诺件")


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

    for key, typ in REQUIRED.items():
        if key not in data:
            fail("code", f"missing field {key!r}")
        if not isinstance(data[key], typ) or (typ is int and isinstance(data[key], bool)):
            fail(key, f"field {key!r} must be a {typ.__name__}")
    if data["kind"] not in KINDS:
        fail("kind", f"kind must be one of {', '.join(KINDS)}, not {data['kind']!r}")
    if data["case_type"] not in CASE_TYPES:
        fail("case_type", f"case_type must be 即办件 or 承诺件, not {data['case_type']!r}")
    if data["kind"] == "bundle" and not data.get("members"):
        fail("members", "a bundle needs members = [codes of its matters]")
    if data["statutory_workdays"] < 0 or data["promised_workdays"] < 0:
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

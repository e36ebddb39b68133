"""Before/after comparison per matter and for the whole catalog (四减一优).

Rules (also in the README, "How the figures are computed"):

* Matters are paired by ``matter_code``.  A matter present on one side only is
  listed with the other side empty and left out of the totals (a total over
  unpaired matters would compare different catalogs).
* 一件事 bundles (kind ``bundle`` in the catalog) are listed but left out of
  the totals: their member matters are already in them, so counting both
  would count every member's steps twice.
* ``reduction = (before - after) / before`` as a fraction (0.637 → "63.7%"),
  ``None`` when the before total is 0.
* ``time_compression = 1 - Σ promised(after) / Σ statutory`` over the paired
  matters that have a statutory limit (from the after model, else the before
  one) and a promised one; ``time_compression_basis`` says over how many, and
  which matters were left out because no law sets a limit for them (their
  absence is not an incomplete figure).
* Rates over the after versions of paired matters: ``online_rate`` (0 visits,
  网上可办率), ``one_trip_rate`` (≤ 1 visit, 最多跑一次率), ``immediate_rate``
  (0 promised working days, 即办率); the same rates of the before versions are
  given under ``rates_before``.
* A missing figure (a model without time annotations) is left out of that
  metric's sums; ``incomplete`` lists which matter lacked which figure.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import InvalidInput, ModelError

METRICS = ("steps", "materials", "visits", "promised_workdays", "statutory_workdays")
REDUCED = ("steps", "materials", "visits", "promised_workdays")
STATIC_KEYS = METRICS + ("tasks_total", "online", "lanes", "applicant_materials", "shared_materials")


@dataclass
class MatterComparison:
    matter_code: str
    name: str
    before: dict | None
    after: dict | None
    kind: str = "matter"
    measured: dict = field(default_factory=dict)     # label -> measured figures

    @property
    def paired(self) -> bool:
        return self.before is not None and self.after is not None

    def change(self) -> dict:
        if not self.paired:
            return {}
        out = {}
        for key in REDUCED:
            b, a = self.before.get(key), self.after.get(key)
            if b is None or a is None:
                out[key] = None
                continue
            out[key] = {"before": b, "after": a, "delta": _num(a - b), "reduction": reduction(b, a)}
        return out

    def to_dict(self) -> dict:
        d = {"matter_code": self.matter_code, "name": self.name, "kind": self.kind,
             "before": _static(self.before), "after": _static(self.after), "change": self.change()}
        if self.measured:
            d["measured"] = self.measured
        return d


def _static(m: dict | None) -> dict | None:
    return None if m is None else {k: m.get(k) for k in STATIC_KEYS if k in m}


def _num(x):
    return int(x) if isinstance(x, float) and x.is_integer() else x


def reduction(before, after) -> float | None:
    if before is None or after is None or not before:
        return None
    return round((before - after) / before, 4)


def rates(metrics: list[dict]) -> dict:
    n = len(metrics)
    if not n:
        return {"online_rate": None, "one_trip_rate": None, "immediate_rate": None}
    visits = [m.get("visits") for m in metrics]
    return {
        "online_rate": round(sum(1 for v in visits if v == 0) / n, 4),
        "one_trip_rate": round(sum(1 for v in visits if v is not None and v <= 1) / n, 4),
        "immediate_rate": round(sum(1 for m in metrics if m.get("promised_workdays") == 0) / n, 4),
    }


def totals(rows: list[MatterComparison]) -> dict:
    paired = [r for r in rows if r.paired and r.kind != "bundle"]
    sums = {"before": {}, "after": {}}
    incomplete = []
    for side in ("before", "after"):
        for key in METRICS:
            values = [getattr(r, side).get(key) for r in paired]
            incomplete += [f"{r.matter_code} {side} {key}" for r, v in zip(paired, values)
                           if v is None and key != "statutory_workdays"]
            sums[side][key] = _num(sum(v for v in values if v is not None))
    compressible, left_out = [], []
    for r in paired:
        statutory = r.after.get("statutory_workdays")
        if statutory is None:
            statutory = r.before.get("statutory_workdays")
        promised = r.after.get("promised_workdays")
        if statutory is None or promised is None:
            left_out.append(r.matter_code)
        else:
            compressible.append((promised, statutory))
    stat_total = sum(s for _, s in compressible)
    out = {
        "matters": len(paired),
        "bundles": sorted(r.matter_code for r in rows if r.kind == "bundle"),
        "unpaired": sorted(r.matter_code for r in rows if not r.paired),
        "before": sums["before"], "after": sums["after"],
        "reduction": {k: reduction(sums["before"][k], sums["after"][k]) for k in REDUCED},
        "time_compression": round(1 - sum(p for p, _ in compressible) / stat_total, 4) if stat_total else None,
        "time_compression_basis": {"matters": len(compressible), "left_out": sorted(left_out),
                                   "promised": _num(sum(p for p, _ in compressible)),
                                   "statutory": _num(stat_total)},
        **rates([r.after for r in paired]),
        "rates_before": rates([r.before for r in paired]),
    }
    if incomplete:
        out["incomplete"] = incomplete
    return out


@dataclass
class Comparison:
    matters: list[MatterComparison]

    def to_dict(self) -> dict:
        return {"matters": [m.to_dict() for m in self.matters], "totals": totals(self.matters)}


def _collect(paths: list[Path], side: str) -> list[Path]:
    """Files of one side; in a folder, ``*.before.bpmn``/``*.after.bpmn`` go to their own side only."""
    other = ".after." if side == "before" else ".before."
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.suffix.lower() in (".bpmn", ".xml") and q.is_file()
                           and other not in q.name)
            if not found:
                raise InvalidInput(f"{p}: no .bpmn files in this directory")
            files += found
        elif p.exists():
            files.append(p)
        else:
            raise ModelError("no such file or directory", file=str(p))
    return files


def metrics_by_matter(paths: list[Path], side: str, analyze) -> dict[str, dict]:
    """Analyze files; key each by its matter code (process property, else file stem)."""
    out: dict[str, dict] = {}
    for path in _collect(paths, side):
        m = analyze(path)
        code = m.get("matter_code") or _code_from_name(path)
        if code in out:
            raise InvalidInput(f"{path}: matter {code} appears twice on the {side} side "
                               f"(also {out[code]['_file']})")
        out[code] = m | {"_file": str(path)}
    return out


def _code_from_name(path: Path) -> str:
    stem = path.name
    for suffix in (".bpmn", ".xml", ".before", ".after"):
        stem = stem[: -len(suffix)] if stem.endswith(suffix) else stem
    return stem


def pair(before: dict[str, dict], after: dict[str, dict], names: dict[str, str] | None = None,
         kinds: dict[str, str] | None = None) -> Comparison:
    codes = sorted(set(before) | set(after))
    rows = []
    for code in codes:
        b, a = before.get(code), after.get(code)
        name = (names or {}).get(code) or (a or b).get("name") or code
        rows.append(MatterComparison(code, name, b, a, (kinds or {}).get(code, "matter")))
    return Comparison(rows)

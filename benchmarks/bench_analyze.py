"""analyze-1000: static analysis of 1,000 catalog-like BPMN files.

The catalog models in ``bpmn/`` (78 today) are copied round-robin into N files in a
temp dir; copy i has its matter code (and so its process, lane, task and
diagram ids, which embed the code) replaced by ``<CODE>X<i>``, so every file is
distinct.  Timed per pass over all files:

* subject: ``analysis.analyze_document(bpmn_model.load_document(path)[1])``
* baseline: reading the bytes and parsing them with lxml alone (same parser
  options as the engine's safe parser).

Passes alternate baseline/subject after one untimed warm-up pass of each;
value and baseline are medians of the pass times.
"""
from __future__ import annotations

import time
from pathlib import Path

from harness import REPO, Result, alternate, median


def make_files(directory: Path, n: int) -> list[Path]:
    sources = sorted((REPO / "bpmn").glob("*.bpmn"))
    if not sources:
        raise RuntimeError("no catalog models in bpmn/")
    texts = [(p.name.split(".")[0], p.name.split(".", 1)[1], p.read_text(encoding="utf-8")) for p in sources]
    out = []
    for i in range(n):
        code, rest, text = texts[i % len(texts)]
        new = f"{code}X{i:04d}"
        path = directory / f"{new}.{rest}"
        path.write_text(text.replace(code, new), encoding="utf-8")
        out.append(path)
    return out


def _lxml_pass(paths) -> float:
    from lxml import etree
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_pis=True, collect_ids=False)
    t0 = time.perf_counter()
    for p in paths:
        etree.fromstring(Path(p).read_bytes(), parser)
    return time.perf_counter() - t0


def _analysis_pass(paths) -> tuple[float, int, list[str]]:
    from engine import analysis, bpmn_model
    n, errors = 0, []
    t0 = time.perf_counter()
    for p in paths:
        try:
            n += len(analysis.analyze_document(bpmn_model.load_document(p)[1]))
        except Exception as exc:  # counted and reported, the pass goes on
            errors.append(f"{Path(p).name}: {type(exc).__name__}: {exc}")
    return time.perf_counter() - t0, n, errors


def bench_analyze(ctx) -> Result:
    name = "analyze-1000"
    n = 100 if ctx.quick else 1000
    reps = 2 if ctx.quick else 3
    ctx.say(f"{name}: {n} files, {reps} alternating passes")
    d = ctx.workdir(name)
    paths = make_files(d, n)
    _lxml_pass(paths)                        # warm the OS cache and the imports
    _, processes, errors = _analysis_pass(paths)
    if errors and len(errors) == len(paths):
        raise RuntimeError(f"every file failed, e.g. {errors[0]}")
    base, subj = alternate(lambda: _lxml_pass(paths), lambda: _analysis_pass(paths)[0], reps)
    v, b = median(subj), median(base)
    res = Result(name, v, "s", b, v / b, target={"value": 5.0},
                 sizes={"files": n, "source_models": len(list((REPO / 'bpmn').glob('*.bpmn'))),
                        "mb": round(sum(p.stat().st_size for p in paths) / 2**20, 1),
                        "processes_analyzed": processes, "passes": reps},
                 notes=["value: analyze_document(load_document(path)[1]) over all files (median pass); "
                        "baseline: read + lxml parse alone (median pass); the ratio is informational"])
    if errors:
        res.notes.append(f"{len(errors)} file(s) failed to analyze, e.g. {errors[0]}")
    res.stats = {"subject_min_s": min(subj), "baseline_min_s": min(base), "ms_per_file": v / n * 1000}
    return res

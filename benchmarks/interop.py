"""What real modelers draw: onetrip beside raw SpiffWorkflow 3.2 on a folder of BPMN files.

    python benchmarks/interop.py DIR [--jobs N] [--timeout S] [--json] [--top N]

DIR holds one sub-folder per source (``DIR/flowable/*.bpmn20.xml``,
``DIR/miwg/*.bpmn``...; files directly in DIR are source ``.``).  For every
file, in a separate worker process with a per-file time limit:

* **onetrip**: read it safely, compile it (what ``process validate`` does),
  analyse it (``process analyze``) and, when accepted, start a case and
  round-trip it through the serializer (``case start``).  The file is
  *accepted* (counted under "start needs data" too when the empty case stops
  with one clear line because a condition or script wants data the corpus
  cannot know), *refused* (one clear reason: the first problem, with quoted
  names and numbers masked to group alike reasons) or *failed* (a traceback,
  an internal error or a hang).
Each file runs in its own forked child (so no signal handler of this script
ever runs inside onetrip's sandbox, and a child killed by the sandbox's CPU
backstop loses only its own file).

* **raw SpiffWorkflow 3.2**: ``BpmnParser`` on the file, the first
  executable process no other process calls, ``do_engine_steps`` with its own
  (unsandboxed) script engine until the first wait state.  *ran* or *failed*.

It prints per source: files, accepted, refused, failed (onetrip), ran
(Spiff) and "Spiff ran, onetrip refused" (and how many of those onetrip
accepts once ``--process`` names the process Spiff ran); then the top refusal reasons, and
the reasons of the files Spiff runs but onetrip refuses (each must be a
refusal the README lists).  Nothing is written anywhere.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import time
import traceback
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PATTERNS = ("*.bpmn", "*.bpmn2", "*.bpmn20.xml", "*.bpmn.xml")
MAX_SPIFF_STEPS = 2000


def reason_key(message: str) -> str:
    """A refusal without its file, line, element and quoted names: alike reasons group together."""
    text = re.sub(r"^.*?\.(bpmn2?|xml)(:\d+)?: ", "", message)
    text = re.sub(r"^[\w.\-]+: ", "", text)                         # the element id
    text = re.sub(r"'[^']*'|\"[^\"]*\"|\([^()]*\)", "…", text)
    text = re.sub(r"\b\d[\d,.]*\b", "N", text)
    return text[:110]


def run_onetrip(path: str) -> dict:
    from engine import analysis, bpmn_model, compiler, runtime
    from engine.errors import OnetripError
    try:
        _, doc = bpmn_model.load_document(path)
    except OnetripError as exc:
        return {"onetrip": "refused", "reason": str(exc)}
    try:
        analysis.analyze_document(doc)
    except OnetripError as exc:
        return {"onetrip": "refused", "reason": str(exc)}
    process, compiled, problems = compiler.compile_model(doc)
    if problems:
        out = {"onetrip": "refused", "reason": str(problems[0]), "process": process.id}
        if "--process ID" in out["reason"]:      # what the designer then does: choose the process
            out["with_process"] = not compiler.compile_model(doc, process.id)[2]
        return out
    try:
        model = runtime.spec_from_json(runtime.spec_to_json(compiled))
        wf = runtime.start(model)
        runtime.copy_workflow(wf, model)
    except OnetripError as exc:      # one clear line: the case needs start data the corpus lacks
        return {"onetrip": "accepted", "start": f"{exc}"}
    return {"onetrip": "accepted"}


def run_spiff(path: str) -> dict:
    from lxml import etree
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
    parser = BpmnParser()
    parser.add_bpmn_file(path)
    ids = parser.get_process_ids()
    called = {el.get("calledElement") for el in etree.parse(path).iter()
              if isinstance(el.tag, str) and el.tag.endswith("}callActivity")}
    roots = [i for i in ids if i not in called] or ids
    if not roots:
        raise ValueError("no executable process")
    spec = parser.get_spec(roots[0])
    subs = parser.get_subprocess_specs(roots[0])
    wf = BpmnWorkflow(spec, subs, script_engine=PythonScriptEngine())
    steps = [0]

    def budget(task):
        steps[0] += 1
        if steps[0] > MAX_SPIFF_STEPS:
            raise RuntimeError("runaway")
    wf.refresh_timers()
    wf.do_engine_steps(did_complete_task=budget)
    return {"spiff": "ran"}


def _run_one(name: str, fn, path: str) -> dict:
    try:
        return fn(path)
    except Exception as exc:        # onetrip: a traceback is a failure; spiff: did not run
        out = {name: "failed", f"{name}_error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        if name == "onetrip":
            out["traceback"] = traceback.format_exc()[-1500:]
        return out


def _child(path: str, fd: int) -> None:
    """In a forked child: one JSON line per engine, written as soon as that engine is done."""
    for name, fn in (("onetrip", run_onetrip), ("spiff", run_spiff)):
        line = json.dumps(_run_one(name, fn, path), ensure_ascii=False) + "\n"
        os.write(fd, line.encode("utf-8"))


def run_all(work: list[tuple[str, str]], jobs: int, timeout: float) -> list[dict]:
    """Each file in its own forked child with a deadline per engine; a child past it is killed.

    No signal handler of ours runs inside onetrip (the sandbox owns SIGALRM while a model's
    code runs), and a child that dies (SIGXCPU from the sandbox's CPU backstop) loses only its file.
    """
    import engine.analysis, engine.compiler, engine.runtime  # noqa: F401,E401  (children inherit them)
    import SpiffWorkflow.bpmn.parser.BpmnParser  # noqa: F401
    results, queue, running = [], list(work), {}
    while queue or running:
        while queue and len(running) < jobs:
            path, source = queue.pop(0)
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:                           # the child
                os.close(r)
                try:
                    _child(path, w)
                finally:
                    os._exit(0)
            os.close(w)
            os.set_blocking(r, False)
            running[pid] = {"file": path, "source": source, "fd": r, "buf": b"", "since": time.monotonic()}
        time.sleep(0.005)
        for pid, job in list(running.items()):
            try:
                chunk = os.read(job["fd"], 1 << 16)
                while chunk:
                    job["buf"] += chunk
                    chunk = os.read(job["fd"], 1 << 16)
            except BlockingIOError:
                pass
            lines = job["buf"].count(b"\n")
            if lines and job.get("lines") != lines:      # an engine finished: its deadline restarts
                job["lines"], job["since"] = lines, time.monotonic()
            done, status = os.waitpid(pid, os.WNOHANG)
            late = time.monotonic() - job["since"] > timeout
            if not done and not late:
                continue
            if not done:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            try:
                job["buf"] += os.read(job["fd"], 1 << 20)
            except BlockingIOError:
                pass
            os.close(job["fd"])
            del running[pid]
            out = {"file": job["file"], "source": job["source"]}
            parts = [json.loads(x) for x in job["buf"].decode("utf-8", "replace").splitlines() if x.strip()]
            for part in parts:
                out.update(part)
            for name in ("onetrip", "spiff")[len(parts):]:
                why = (f"no result within {timeout:g} s (hang)" if late
                       else f"the process died (status {status})")
                out.update({name: "failed", f"{name}_error": why})
            results.append(out)
    return results


def collect(directory: Path) -> list[tuple[str, str]]:
    files = []
    found = [Path(d) / f for d, _, names in os.walk(directory, followlinks=True) for f in names]
    for path in sorted(found):
        if path.is_file() and any(path.match(p) for p in PATTERNS):
            rel = path.relative_to(directory)
            files.append((str(path), rel.parts[0] if len(rel.parts) > 1 else "."))
    return files


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("directory", type=Path)
    ap.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    ap.add_argument("--timeout", type=int, default=20, help="seconds per file and engine")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--json", action="store_true", help="print every file's result as JSON lines")
    args = ap.parse_args(argv)
    files = collect(args.directory)
    if not files:
        print(f"{args.directory}: no BPMN files", file=sys.stderr)
        return 2
    results = run_all(files, args.jobs, args.timeout)
    if args.json:
        for r in results:
            print(json.dumps(r, ensure_ascii=False))
        return 0
    print(report(results, args.top))
    return 0


def report(results: list[dict], top: int = 15) -> str:
    rows = defaultdict(Counter)
    reasons, gap = Counter(), Counter()
    for r in results:
        c = rows[r["source"]]
        c["files"] += 1
        c[r.get("onetrip", "failed")] += 1
        c["spiff ran"] += r.get("spiff") == "ran"
        c["start needs data"] += "start" in r
        if r.get("onetrip") == "refused":
            key = reason_key(r["reason"])
            reasons[key] += 1
            if r.get("spiff") == "ran":
                c["spiff ran, refused"] += 1
                gap[key] += 1
                c["of which ok with --process"] += bool(r.get("with_process"))
    cols = ["files", "accepted", "start needs data", "refused", "failed", "spiff ran", "spiff ran, refused",
            "of which ok with --process"]
    lines = ["| source | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    total = Counter()
    for source in sorted(rows):
        total.update(rows[source])
        lines.append(f"| {source} | " + " | ".join(str(rows[source][c]) for c in cols) + " |")
    lines.append("| **all** | " + " | ".join(str(total[c]) for c in cols) + " |")
    lines += ["", f"Top {top} refusal reasons (onetrip):", ""]
    lines += [f"{n:6d}  {k}" for k, n in reasons.most_common(top)]
    lines += ["", "Refused by onetrip although raw SpiffWorkflow runs them, per reason:", ""]
    lines += [f"{n:6d}  {k}" for k, n in gap.most_common()]
    failed = [r for r in results if r.get("onetrip") == "failed"]
    if failed:
        lines += ["", f"onetrip failures ({len(failed)}):", ""]
        lines += [f"  {r['file']}: {r.get('onetrip_error') or r.get('reason')}" for r in failed[:40]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

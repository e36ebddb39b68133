"""cli-*: wall time of real ``onetrip`` processes against bare interpreter imports.

Baseline and subject runs alternate (baseline, subject, baseline, ...) after
two untimed warm-up pairs, so both see the same machine load and a warm OS
file cache; value and baseline are medians.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Result, add_clerk, median, new_service, quantile, subprocess_env, upload
from bench_advance import LANE, _linear_model_file

WARMUP = 2


def _run(cmd: list[str], cwd, env) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {p.returncode}: "
                           f"{p.stderr.decode('utf-8', 'replace').strip()[-500:]}")
    return dt


def _alternate(baseline_cmd, subject_cmds, cwd, env, warmup=WARMUP):
    """subject_cmds: one command per run (may differ, e.g. a fresh task id each time)."""
    base, subj = [], []
    for i, cmd in enumerate(subject_cmds):
        b = _run(baseline_cmd, cwd, env)
        s = _run(cmd, cwd, env)
        if i >= warmup:
            base.append(b)
            subj.append(s)
    return base, subj


def _result(name, base, subj, target, sizes, notes) -> Result:
    res = Result(name, median(subj) * 1000, "ms", median(base) * 1000, median(subj) / median(base),
                 target={"ratio": target}, sizes=sizes, notes=notes)
    res.stats = {"subject_min_ms": min(subj) * 1000, "subject_p90_ms": quantile(subj, 0.9) * 1000,
                 "baseline_min_ms": min(base) * 1000, "ratio_of_mins": min(subj) / min(base)}
    return res


def setup_database(directory: Path, n_cases: int) -> list[str]:
    """A SQLite database with a clerk, a 10-task linear process and ``n_cases`` fresh cases.

    Runs in a separate interpreter (``python bench_cli.py --setup DIR N``), so the
    database is created by the engine code now on disk — the code the timed
    ``onetrip`` processes will run — not by the modules this harness imported
    when it started (the engine is edited while benchmarks run).
    """
    from engine.clock import FixedClock
    svc = new_service(f"sqlite:///{directory / 'onetrip.db'}", FixedClock(datetime(2026, 3, 2, 9, 0)))
    try:
        add_clerk(svc, "clerk", LANE)
        path, code, _ = _linear_model_file(directory, 10)
        upload(svc, path)
        svc.settings.user = "clerk"
        return [svc.start_case(code, data={"applicant": f"申请人{i}"})["ready"][0]["id"] for i in range(n_cases)]
    finally:
        svc.dispose()


def bench_cli_complete(ctx) -> Result:
    name = "cli-complete"
    runs = 5 if ctx.quick else 30
    warmup = 1 if ctx.quick else WARMUP
    ctx.say(f"{name}: {runs} alternating pairs")
    d, refs = prepared_database(ctx, name, runs + warmup)
    db = d / "onetrip.db"
    env = subprocess_env()
    cmds = [[str(ctx.onetrip), "--db", f"sqlite:///{db}", "--as", "clerk", "task", "complete", ref,
             "--data", "opinion=同意"] for ref in refs]
    base, subj = _alternate([str(ctx.python), "-c", "import SpiffWorkflow.bpmn, sqlalchemy.orm"], cmds, d, env,
                            warmup)
    return _result(name, base, subj, 1.2, {"runs": len(subj), "warmup_pairs": warmup},
                   ["subject: onetrip --db sqlite:///... --as clerk task complete <first task of a fresh case "
                    "of a 10-task linear process> (a new case per run, so every run does the same work)",
                    'baseline: python -c "import SpiffWorkflow.bpmn, sqlalchemy.orm" (same interpreter)',
                    "value/baseline are medians of wall time; runs alternate baseline/subject"])


def prepared_database(ctx, name: str, n_cases: int) -> tuple[Path, list[str]]:
    """A fresh work folder with the setup database (made by the engine on disk, in its own interpreter)."""
    d = ctx.workdir(name)
    p = subprocess.run([str(ctx.python), str(Path(__file__).resolve()), "--setup", str(d), str(n_cases)],
                       env=subprocess_env(), capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError(f"setting up the database failed: {p.stderr.strip()[-800:]}")
    return d, json.loads(p.stdout.strip().splitlines()[-1])


TASKLIST_CASES = 50


def bench_cli_tasklist(ctx) -> Result:
    """`onetrip task list` with direct database access: a read that needs neither the ORM nor SpiffWorkflow."""
    name = "cli-tasklist"
    runs = 5 if ctx.quick else 30
    warmup = 1 if ctx.quick else WARMUP
    ctx.say(f"{name}: {runs} alternating pairs")
    d, _ = prepared_database(ctx, name, TASKLIST_CASES)
    cmd = [str(ctx.onetrip), "--db", f"sqlite:///{d / 'onetrip.db'}", "--as", "clerk", "task", "list"]
    base, subj = _alternate([str(ctx.python), "-c", "import click, sqlalchemy"], [cmd] * (runs + warmup), d,
                            subprocess_env(), warmup)
    return _result(name, base, subj, 1.3, {"runs": len(subj), "warmup_pairs": warmup, "ready_tasks": TASKLIST_CASES},
                   [f"subject: onetrip --db sqlite:///... --as clerk task list ({TASKLIST_CASES} ready tasks, "
                    "printed as the table, to a pipe)",
                    'baseline: python -c "import click, sqlalchemy" (same interpreter)',
                    "value/baseline are medians of wall time; runs alternate baseline/subject"])


def bench_cli_help(ctx) -> Result:
    name = "cli-help"
    runs = 8 if ctx.quick else 30
    ctx.say(f"{name}: {runs} alternating pairs")
    d = ctx.workdir(name)
    env = subprocess_env()
    cmds = [[str(ctx.onetrip), "--help"]] * (runs + WARMUP)
    base, subj = _alternate([str(ctx.python), "-c", "import click"], cmds, d, env)
    return _result(name, base, subj, 1.5, {"runs": len(subj), "warmup_pairs": WARMUP},
                   ["subject: onetrip --help; baseline: python -c \"import click\"; medians of wall time"])


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--setup":
    print(json.dumps(setup_database(Path(sys.argv[2]), int(sys.argv[3]))))

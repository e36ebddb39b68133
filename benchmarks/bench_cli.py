"""cli-*: wall time of real ``onetrip`` processes against bare interpreter imports.

Baseline and subject runs alternate (baseline, subject, baseline, ...) after
two untimed warm-up pairs, so both see the same machine load and a warm OS
file cache; value and baseline are medians.
"""
from __future__ import annotations

import json
import os
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

#: The checkout's own modules; ``prepare_bytecode`` byte-compiles them before a timed run.
PROJECT_MODULES = ("cli.py", "engine", "onetrip_client", "web")


def prepare_bytecode(ctx) -> str:
    """Byte-compile the checkout's modules (``python -m compileall``), as ``pip install`` does for a package.

    The baseline's libraries were installed with their ``.pyc`` files; an editable checkout gets them on
    its first run, except where ``PYTHONDONTWRITEBYTECODE`` is set (as on the benchmark machine): then
    every timed ``onetrip`` would compile cli.py and the engine from source (16 ms for cli.py alone, about
    130 ms for what ``task complete`` imports), a cost no installed onetrip pays.
    ``ONETRIP_BENCH_BYTECODE=source`` measures that case instead (the checkout's ``__pycache__`` removed).
    Returns the mode, for the result's notes."""
    root = Path(__file__).resolve().parent.parent
    targets = [root / m for m in PROJECT_MODULES if (root / m).exists()]
    if os.environ.get("ONETRIP_BENCH_BYTECODE") == "source":
        for target in targets:
            caches = [target.parent / "__pycache__"] if target.is_file() else list(target.rglob("__pycache__"))
            for cache in caches:
                for f in cache.glob(f"{target.stem if target.is_file() else ''}*.pyc"):
                    f.unlink(missing_ok=True)
        return ("ONETRIP_BENCH_BYTECODE=source: no .pyc of the checkout's modules before the run "
                f"(PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r})")
    subprocess.run([str(ctx.python), "-m", "compileall", "-q", *map(str, targets)], check=True,
                   capture_output=True, timeout=600)
    return "the checkout's modules byte-compiled first (python -m compileall, as pip install does)"


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
    bytecode = prepare_bytecode(ctx)
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
                    "value/baseline are medians of wall time; runs alternate baseline/subject", bytecode])


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
    bytecode = prepare_bytecode(ctx)
    cmd = [str(ctx.onetrip), "--db", f"sqlite:///{d / 'onetrip.db'}", "--as", "clerk", "task", "list"]
    base, subj = _alternate([str(ctx.python), "-c", "import click, sqlalchemy"], [cmd] * (runs + warmup), d,
                            subprocess_env(), warmup)
    return _result(name, base, subj, 1.3, {"runs": len(subj), "warmup_pairs": warmup, "ready_tasks": TASKLIST_CASES},
                   [f"subject: onetrip --db sqlite:///... --as clerk task list ({TASKLIST_CASES} ready tasks, "
                    "printed as the table, to a pipe)",
                    'baseline: python -c "import click, sqlalchemy" (same interpreter)',
                    "value/baseline are medians of wall time; runs alternate baseline/subject", bytecode])


def bench_cli_help(ctx) -> Result:
    name = "cli-help"
    runs = 8 if ctx.quick else 30
    ctx.say(f"{name}: {runs} alternating pairs")
    d = ctx.workdir(name)
    bytecode = prepare_bytecode(ctx)
    env = subprocess_env()
    cmds = [[str(ctx.onetrip), "--help"]] * (runs + WARMUP)
    base, subj = _alternate([str(ctx.python), "-c", "import click"], cmds, d, env)
    return _result(name, base, subj, 1.5, {"runs": len(subj), "warmup_pairs": WARMUP},
                   ["subject: onetrip --help; baseline: python -c \"import click\"; medians of wall time", bytecode])


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--setup":
    print(json.dumps(setup_database(Path(sys.argv[2]), int(sys.argv[3]))))

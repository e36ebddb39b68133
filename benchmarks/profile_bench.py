#!/usr/bin/env python
"""cProfile one benchmark's subject (no baseline), to see where the time goes.

    /work/venv/bin/python benchmarks/profile_bench.py advance [--tasks 10] [--cases 10]
    /work/venv/bin/python benchmarks/profile_bench.py loop [--loops 50]
    /work/venv/bin/python benchmarks/profile_bench.py metrics [--cases 10000]
    /work/venv/bin/python benchmarks/profile_bench.py analyze [--files 100]
    /work/venv/bin/python benchmarks/profile_bench.py cli          # -X importtime of `onetrip task complete`

Options: --sort cumulative|tottime (default both), --limit N rows, --out FILE.prof
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Context, add_clerk, make_tmp, new_service, subprocess_env, upload  # noqa: E402


def _advance(ctx, a):
    from engine.clock import SimulatedClock
    from bench_advance import LANE, _linear_model_file
    d = ctx.workdir("profile-advance")
    svc = new_service(f"sqlite:///{d / 'onetrip.db'}", SimulatedClock(datetime(2026, 3, 2, 9)))
    add_clerk(svc, "clerk", LANE)
    path, code, _ = _linear_model_file(d, a.tasks)
    upload(svc, path)
    svc.settings.user = "clerk"

    def run(cases):
        for _ in range(cases):
            r = svc.start_case(code)
            while r["ready"]:
                r = svc.complete_task(r["ready"][0]["id"], {"opinion": "同意"})
                svc.settings.clock.advance(timedelta(minutes=10))
    run(1)                                   # warm caches (spec restore, compiled SQL)
    return lambda: run(a.cases), a.tasks * a.cases, "completions (start_case included)"


def _loop(ctx, a):
    from engine.clock import SimulatedClock
    from bench_advance import POLICE, SAMPLE, WINDOW
    d = ctx.workdir("profile-loop")
    svc = new_service(f"sqlite:///{d / 'onetrip.db'}", SimulatedClock(datetime(2026, 3, 2, 9)))
    users = {WINDOW: "window_clerk", POLICE: "police_clerk"}
    for dept, u in users.items():
        add_clerk(svc, u, dept)
    v = upload(svc, SAMPLE)
    svc.settings.user = users[WINDOW]
    state = {"r": svc.start_case(v["matter_code"])}

    def step(returned=False):
        [t] = state["r"]["ready"]
        svc.settings.user = users[t["lane"]]
        state["r"] = svc.complete_task(t["id"], {}, returned=returned, reason="缺" if returned else None)

    step()
    for _ in range(a.loops - 20):            # history before the profiled part
        step(True)
        step()

    def run():
        for _ in range(20):
            step(True)
            step()
    return run, 40, "completions (last 20 round trips)"


def _metrics(ctx, a):
    from bench_metrics import _subject, build_database
    url, _, sizes, _ = build_database(ctx, a.cases, a.cases * 10)
    _subject(url)                            # materialise calendar_days
    print(f"database: {sizes}", file=sys.stderr)
    return lambda: _subject(url), 1, "Service.metrics() call"


def _analyze(ctx, a):
    from bench_analyze import _analysis_pass, make_files
    paths = make_files(ctx.workdir("profile-analyze"), a.files)
    _analysis_pass(paths[:10])
    return lambda: _analysis_pass(paths), a.files, "files"


def _cli(ctx, a):
    from bench_advance import LANE, _linear_model_file
    from engine.clock import FixedClock
    d = ctx.workdir("profile-cli")
    db = d / "onetrip.db"
    svc = new_service(f"sqlite:///{db}", FixedClock(datetime(2026, 3, 2, 9)))
    add_clerk(svc, "clerk", LANE)
    path, code, _ = _linear_model_file(d, 10)
    upload(svc, path)
    svc.settings.user = "clerk"
    refs = [svc.start_case(code)["ready"][0]["id"] for _ in range(2)]
    svc.dispose()
    cmd = [str(ctx.onetrip), "--db", f"sqlite:///{db}", "--as", "clerk", "task", "complete"]
    subprocess.run(cmd + [refs[0]], env=subprocess_env(), capture_output=True, check=True)   # warm
    p = subprocess.run([str(ctx.python), "-X", "importtime"] + cmd + [refs[1]], env=subprocess_env(),
                       capture_output=True, text=True, check=True)
    rows = []
    for line in p.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), int(parts[0].split(":")[1]), parts[2].rstrip()))
    rows.sort(reverse=True)
    print(f"{'cumulative us':>14} {'self us':>9}  module (python -X importtime, one warm run)")
    for cum, own, name in rows[:a.limit]:
        print(f"{cum:>14} {own:>9}  {name}")
    return None, 0, ""


SCENARIOS = {"advance": _advance, "loop": _loop, "metrics": _metrics, "analyze": _analyze, "cli": _cli}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--tasks", type=int, default=10)
    ap.add_argument("--cases", type=int, default=10)
    ap.add_argument("--loops", type=int, default=50)
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--sort", choices=["cumulative", "tottime"], default=None)
    ap.add_argument("--limit", type=int, default=35)
    ap.add_argument("--out", help="also dump the raw profile here (for snakeviz etc.)")
    a = ap.parse_args(argv)
    if a.scenario == "metrics" and "--cases" not in (argv or sys.argv):
        a.cases = 10_000
    tmp = make_tmp()
    ctx = Context(quick=True, tmp=tmp, python=Path(sys.executable),
                  onetrip=Path(sys.executable).parent / "onetrip", pg_admin_url="")
    try:
        run, units, what = SCENARIOS[a.scenario](ctx, a)
        if run is None:
            return 0
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        run()
        prof.disable()
        dt = time.perf_counter() - t0
        print(f"{a.scenario}: {dt:.3f} s under cProfile for {units} {what} "
              f"({dt / max(units, 1) * 1000:.2f} ms each; profiling overhead included)\n")
        if a.out:
            prof.dump_stats(a.out)
        stats = pstats.Stats(prof)
        for key in ([a.sort] if a.sort else ["cumulative", "tottime"]):
            stats.sort_stats(key).print_stats(a.limit)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

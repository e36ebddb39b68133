"""export-1m and simulate-10k: the mining commands at size.

export-1m: ``onetrip export xes`` over the metrics-1m database (100,000 cases,
1,000,000 task events, built by ``bench_metrics.build_database``; the XES
holds the activity events, ~0.8 million), as a subprocess, timed, with its
peak resident memory (measured by a small wrapper process, so the benchmark's own pages do not count).  The same export
limited by ``--since`` to the last ~10% of cases shows that memory does not
grow with the log.  Baseline: reading the same events in the same order with
plain sqlite3 (no joins, no writing).

simulate-10k: ``Service.simulate()`` of 10,000 cases of a 10-step linear
model (two departments, each step promised 1–3 working days), calibrated
from 40 cases run through the real service on a simulated clock.  Baseline:
the same 10,000 cases run straight through SpiffWorkflow in memory (start,
complete every task), without the simulator's clock, calendar, sampling and
queues.
"""
from __future__ import annotations

import sqlite3
import subprocess
import time
from datetime import datetime, timedelta

from harness import Result, add_clerk, new_service, subprocess_env, upload

BASELINE_SQL = ("SELECT case_id, seq, task_name, name, lane, actor, action, onsite, at FROM task_events "
                "WHERE action IN ('complete', 'return', 'timer') ORDER BY case_id, seq")


#: Runs the command as its own child and reports that child's peak RSS: a child forked straight from
#: this (large) benchmark process would count this process's pages in its ru_maxrss.
_WRAPPER = ("import resource, subprocess, sys\n"
            "code = subprocess.run(sys.argv[1:]).returncode\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
            "sys.exit(code)\n")


def _run_measured(args: list[str], cwd, python) -> tuple[float, float, str]:
    """Run a command and return (seconds, its own peak RSS in MB, stdout)."""
    t0 = time.perf_counter()
    p = subprocess.run([str(python), "-c", _WRAPPER, *args], cwd=cwd, env=subprocess_env(), capture_output=True)
    seconds = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])} exited {p.returncode}: {p.stderr.decode('utf-8', 'replace')[-300:]}")
    peak_kb = int(p.stderr.decode().strip().splitlines()[-1])
    return seconds, peak_kb / 1024, p.stdout.decode()


def _baseline_read(db) -> float:
    conn = sqlite3.connect(db)
    try:
        t0 = time.perf_counter()
        for _ in conn.execute(BASELINE_SQL):
            pass
        return time.perf_counter() - t0
    finally:
        conn.close()


_BUILT: dict = {}


def _database(ctx, name):
    from bench_metrics import build_database
    n_cases, n_events = (10_000, 100_000) if ctx.quick else (100_000, 1_000_000)
    if (n_cases, n_events) not in _BUILT:
        ctx.say(f"{name}: building {n_cases:,} cases / {n_events:,} events")
        _BUILT[(n_cases, n_events)] = build_database(ctx, n_cases, n_events)
    return _BUILT[(n_cases, n_events)]


def bench_export(ctx) -> Result:
    return _export(ctx, "export-1m", None)


def bench_export_pg(ctx) -> Result:
    from onetrip_testing import NoPostgres, throwaway_postgres
    try:
        with throwaway_postgres(ctx.pg_admin_url, "onetrip_bench") as pg:
            return _export(ctx, "export-1m-pg", pg)
    except NoPostgres as exc:
        return Result("export-1m-pg", None, "s", skipped=True, notes=[str(exc)])


def _copy_to_postgres(ctx, sqlite_url: str, pg_url: str) -> float:
    """The SQLite benchmark database, table by table, into a fresh onetrip schema on PostgreSQL."""
    from sqlalchemy import create_engine, insert, select, text
    from engine import store
    t0 = time.perf_counter()
    store.migrate(store.make_engine(pg_url.replace("postgresql://", "postgresql+psycopg://")))
    src = create_engine(sqlite_url)
    dst = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    tables = [store.DatabaseSettings, store.Department, store.User, store.Matter, store.ProcessVersion, store.Case,
              store.TaskEvent]
    with src.connect() as a, dst.begin() as b:
        for model in tables:
            t = model.__table__
            rows = a.execution_options(yield_per=20_000).execute(select(t))
            for part in rows.partitions():
                b.execute(insert(t), [dict(r._mapping) for r in part])
        b.execute(text("ANALYZE"))
    src.dispose()
    dst.dispose()
    return time.perf_counter() - t0


def _export(ctx, name: str, pg_url: str | None) -> Result:
    import json
    url, db, sizes, _ = _database(ctx, name)
    sizes = dict(sizes)
    if pg_url:
        ctx.say(f"{name}: copying the database to PostgreSQL")
        sizes["copy_seconds"] = round(_copy_to_postgres(ctx, url, pg_url), 1)
        url = pg_url
    out = db.parent / "log.xes"
    args = [str(ctx.onetrip), "--db", url, "--now", "2026-11-28T12:00", "export", "xes", "-o", str(out), "--json"]
    ctx.say(f"{name}: exporting")
    seconds, peak, text = _run_measured(args, db.parent, ctx.python)
    written = json.loads(text)
    small_seconds, small_peak, small_text = _run_measured(args[:-3] + ["--since", "2026-09-01", "-o",
                                                                       str(db.parent / "small.xes"), "--json"],
                                                          db.parent, ctx.python)
    base = min(_baseline_read(db) for _ in range(2))
    res = Result(name, seconds, "s", base, seconds / base, target={"value": 60.0},
                 sizes=sizes | {"xes_events": written["events"], "xes_cases": written["cases"],
                                "xes_mb": round(out.stat().st_size / 2**20, 1)})
    res.stats = {"peak_rss_mb": round(peak, 1), "events_per_s": round(written["events"] / seconds),
                 "small_export_events": json.loads(small_text)["events"], "small_export_s": round(small_seconds, 2),
                 "small_export_peak_rss_mb": round(small_peak, 1)}
    res.notes = ["value: `onetrip export xes` as a subprocess (schema check, calendar, streamed query, writing); "
                 "baseline: plain sqlite3 SELECT of the same events in (case, seq) order, no writing",
                 "peak_rss_mb is the export process's own maximum resident set (RUSAGE_CHILDREN of a small wrapper); the --since export of ~10% of "
                 "the log shows memory does not grow with the log's size"]
    return res


def _ten_step_model(tmp) -> str:
    from onetrip_testing.bpmn_factory import Step, linear_model
    steps = [Step(f"环节{i + 1}", "综合窗口" if i % 2 == 0 else "审批科室", onsite=i in (0, 9),
                  workdays=1 + i % 3) for i in range(10)]
    path = tmp / "TENSTEP.after.bpmn"
    path.write_text(linear_model("TENSTEP", "十环节事项", steps, statutory=30, label="after"), encoding="utf-8")
    return str(path)


def bench_simulate(ctx) -> Result:
    from engine import runtime
    from engine.clock import SimulatedClock
    import random
    name = "simulate-10k"
    n = 1_000 if ctx.quick else 10_000
    d = ctx.workdir("simulate")
    clock = SimulatedClock(datetime(2026, 3, 2, 9, 0))
    svc = new_service(f"sqlite:///{d / 'onetrip.db'}", clock)
    rng = random.Random(7)
    try:
        add_clerk(svc, "窗口", "综合窗口")
        add_clerk(svc, "科室", "审批科室")
        upload(svc, _ten_step_model(d), "after")
        user = {"综合窗口": "窗口", "审批科室": "科室"}
        for i in range(40):                       # the measured cases the simulation is calibrated from
            clock.set(datetime(2026, 3, 2, 9, 0) + timedelta(days=i // 2 * 1, hours=i % 2))
            svc.settings.user = "窗口"
            r = svc.start_case("TENSTEP", "after")
            start = clock.now()
            while r["ready"]:
                t = r["ready"][0]
                clock.set(clock.now() + timedelta(hours=rng.choice((2, 5, 20, 26, 48))))
                svc.settings.user = user[t["lane"]]
                r = svc.complete_task(t["id"], {})
            clock.set(start)
        svc.settings.user = None
        model = None
        t0 = time.perf_counter()
        result = svc.simulate("TENSTEP", "after", cases=n, seed=1)
        seconds = time.perf_counter() - t0
        from sqlalchemy import select
        from engine.store import ProcessVersion
        from engine import store
        engine = store.open_database(svc.settings.db_url)
        with store.session_factory(engine, readonly=True)() as s:
            model = runtime.spec_from_json(s.scalar(select(ProcessVersion.spec_json)))
        engine.dispose()
    finally:
        svc.dispose()
    t0 = time.perf_counter()
    for _ in range(n):
        wf = runtime.start(model, {"applicant": "x"})
        while tasks := runtime.ready_tasks(wf):
            runtime.complete(wf, tasks[0].id, {"returned": False})
    base = time.perf_counter() - t0
    p = result["predicted"]
    res = Result(name, seconds, "s", base, seconds / base, target={"value": 30.0},
                 sizes={"cases": n, "steps_per_case": 10, "calibration_cases": 40})
    res.stats = {"completed": p["completed"], "median_workdays": p["median_workdays"],
                 "p90_workdays": p["p90_workdays"], "on_time_rate": p["on_time_rate"],
                 "tasks_per_s": round(n * 10 / seconds)}
    res.notes = ["value: Service.simulate() in-process (calibration query + simulation); baseline: the same "
                 "cases run straight through SpiffWorkflow in memory (runtime.start / complete)"]
    return res


"""serve-*: the office's server over real HTTP on PostgreSQL.

* ``serve-complete``: completing the first task of a fresh case with ``POST /api/tasks/{ref}/complete``
  (a keep-alive client, one token) against ``service.complete_task(ctx, ...)`` in-process on the same
  database; runs alternate (baseline, subject, ...), value and baseline are medians.
* ``serve-tasklist-100k``: p95 of ``GET /api/tasks`` for a clerk with 100,000 open tasks over 20
  departments (5,000 in the clerk's).  The tasks are seeded with bulk SQL (one case and one ready work
  item each, of a real uploaded 20-lane model), so the request runs the real task-list query; the
  in-process ``service.list_tasks(ctx)`` p95 is the baseline.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from harness import Result, median, quantile

LANES = [f"部门{i:02d}" for i in range(20)]


def _office(ctx, db_url: str, model_steps: list, code: str):
    """Users with passwords and one uploaded model, through the real CLI (in-process click)."""
    from onetrip_testing import CliHarness
    from onetrip_testing.bpmn_factory import linear_model
    from onetrip_testing.serve import set_passwords
    cli = CliHarness(db_url, simulation=False)      # a real office: the clock is the machine's
    cli.ok("init")
    cli.ok("user add admin --role admin")
    cli.ok("user add 设计 --role designer", user="admin")
    clerks = {lane: f"办事员{i:02d}" for i, lane in enumerate(sorted({s.lane for s in model_steps}))}
    for lane, name in clerks.items():
        cli.ok(["user", "add", name, "--role", "clerk", "--department", lane], user="admin")
    set_passwords(db_url, clerks.values())
    path = ctx.workdir(f"model-{code}") / f"{code}.bpmn"
    path.write_text(linear_model(code, f"基准事项{code}", model_steps), encoding="utf-8")
    version = cli.json(f"process upload {path} --label after", user="设计")
    return cli, clerks, version


def _service(db_url: str):
    from engine.config import Settings
    from engine.service import Service
    return Service(Settings(db_url=db_url))


def _context(name: str):
    from engine.context import Context
    from engine.clock import Clock
    return Context(actor=name, clock=Clock())


def bench_serve_complete(ctx) -> Result:
    from onetrip_testing import throwaway_postgres
    from onetrip_testing.bpmn_factory import Step
    from onetrip_testing.serve import login, serve
    name = "serve-complete"
    runs = 8 if ctx.quick else 40
    warmup = 2
    ctx.say(f"{name}: {runs} alternating pairs on PostgreSQL")
    with throwaway_postgres(ctx.pg_admin_url, prefix="onetrip_bench") as db_url:
        _, clerks, _ = _office(ctx, db_url, [Step(f"环节{i + 1}", lane="综合窗口") for i in range(10)], "SRVC")
        clerk = clerks["综合窗口"]
        svc = _service(db_url)
        try:
            with serve(db_url, ctx.workdir(name)) as server, login(server.url, clerk) as http:
                # Fresh cases, each started by the side that completes it (so both hold its live workflow
                # in their cache, as after a real start): every run does the same work.
                context = _context(clerk)
                refs = []
                for i in range(runs + warmup):
                    refs.append(svc.start_case(context, "SRVC", data={"applicant": f"申请人{i}"})["ready"][0]["id"])
                    r = http.post("/api/cases", json={"matter_code": "SRVC", "data": {"applicant": f"申请人{i}"}})
                    r.raise_for_status()
                    refs.append(r.json()["ready"][0]["id"])
                base, subj = [], []
                for i in range(runs + warmup):
                    b_ref, s_ref = refs[2 * i], refs[2 * i + 1]
                    order = [("b", b_ref), ("s", s_ref)] if i % 2 == 0 else [("s", s_ref), ("b", b_ref)]
                    for kind, ref in order:
                        t0 = time.perf_counter()
                        if kind == "b":
                            svc.complete_task(context, ref, {"opinion": "同意"})
                        else:
                            r = http.post(f"/api/tasks/{ref}/complete", json={"data": {"opinion": "同意"}})
                            if r.status_code != 200:
                                raise RuntimeError(f"HTTP complete {ref}: {r.status_code} {r.text}")
                        dt = time.perf_counter() - t0
                        if i >= warmup:
                            (base if kind == "b" else subj).append(dt)
        finally:
            svc.dispose()
    res = Result(name, median(subj) * 1000, "ms", median(base) * 1000, median(subj) / median(base),
                 target={"ratio": 1.5}, sizes={"runs": len(subj), "warmup_pairs": warmup, "backend": "postgresql"},
                 notes=["subject: POST /api/tasks/{ref}/complete to one `onetrip serve` process (uvicorn, "
                        "keep-alive httpx client, bearer token resolved per request)",
                        "baseline: service.complete_task(ctx, ref, data) in this process, same database",
                        "each run completes the first task of a fresh case of a 10-task linear process"])
    res.stats = {"subject_p90_ms": quantile(subj, 0.9) * 1000, "baseline_p90_ms": quantile(base, 0.9) * 1000}
    return res


def _seed_tasks(db_url: str, version_id: int, total: int) -> None:
    """``total`` open cases, each with one ready work item; lane i % 20 holds the model's step i."""
    from sqlalchemy import create_engine, text
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            fmt = conn.execute(text("SELECT state_format FROM cases LIMIT 1")).scalar() or "spiff-json"
            first = (conn.execute(text("SELECT coalesce(max(id), 0) FROM cases")).scalar() or 0) + 1
            conn.execute(text("""
                INSERT INTO cases (id, version_id, status, applicant, state, state_format, revision, task_seq,
                                   event_seq, steps_done, trips, returns, materials_submitted, paused_workdays,
                                   accepted_at, updated_at, promised_workdays, due_date)
                SELECT g, :version, 'open', json_build_object('applicant', '申请人' || g), '', :fmt, 1, 1, 0,
                       0, 0, 0, 0, 0, timestamp '2026-03-02 09:00' + (g % 600) * interval '1 minute',
                       timestamp '2026-03-02 09:00', 5, date '2026-03-09' + (g % 90)
                FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS g"""),
                         {"version": version_id, "fmt": fmt, "first": first, "last": first + total - 1})
            conn.execute(text("""
                INSERT INTO work_items (case_id, seq, task_uuid, spec_name, name, lane, props, ready_at)
                SELECT g, 1, md5('task' || g)::uuid::text, 'Task_' || (g % 20), '环节' || (g % 20 + 1),
                       '部门' || lpad((g % 20)::text, 2, '0'), '{"workdays": "1"}'::json,
                       timestamp '2026-03-02 09:00' + (g % 600) * interval '1 minute'
                FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS g"""), {"first": first, "last": first + total - 1})
            conn.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), :last)"),
                         {"last": first + total - 1})
            conn.execute(text("ANALYZE cases"))
            conn.execute(text("ANALYZE work_items"))
    finally:
        engine.dispose()


def bench_serve_tasklist(ctx) -> Result:
    from onetrip_testing import throwaway_postgres
    from onetrip_testing.bpmn_factory import Step
    from onetrip_testing.serve import login, serve
    name = "serve-tasklist-100k"
    total = 10_000 if ctx.quick else 100_000
    runs = 10 if ctx.quick else 50
    ctx.say(f"{name}: {total:,} open tasks over 20 departments, {runs} requests")
    with throwaway_postgres(ctx.pg_admin_url, prefix="onetrip_bench") as db_url:
        _, clerks, version = _office(ctx, db_url, [Step(f"环节{i + 1}", lane=lane) for i, lane in enumerate(LANES)],
                                     "SRVL")
        t0 = time.perf_counter()
        _seed_tasks(db_url, version["id"], total)
        seeded = time.perf_counter() - t0
        clerk = clerks[LANES[0]]
        svc = _service(db_url)
        try:
            with serve(db_url, ctx.workdir(name)) as server, login(server.url, clerk) as http:
                context = _context(clerk)
                subj, base = [], []
                for i in range(runs + 3):
                    t0 = time.perf_counter()
                    r = http.get("/api/tasks")
                    dt = time.perf_counter() - t0
                    if r.status_code != 200:
                        raise RuntimeError(f"GET /api/tasks: {r.status_code} {r.text[:300]}")
                    count = len(r.json())
                    t0 = time.perf_counter()
                    local = svc.list_tasks(context)
                    db = time.perf_counter() - t0
                    if i >= 3:
                        subj.append(dt)
                        base.append(db)
        finally:
            svc.dispose()
    p95, b95 = quantile(subj, 0.95), quantile(base, 0.95)
    res = Result(name, p95 * 1000, "ms", b95 * 1000, p95 / b95, target={"value": 150},
                 sizes={"open_tasks": total, "departments": 20, "tasks_listed": count, "requests": len(subj),
                        "seed_seconds": round(seeded, 1)},
                 notes=["value: p95 of GET /api/tasks (one clerk, keep-alive, bearer token) on PostgreSQL",
                        "baseline: p95 of service.list_tasks(ctx) in this process on the same database",
                        "tasks seeded with INSERT ... SELECT generate_series (cases + work_items of a real "
                        "uploaded 20-lane model), then ANALYZE"])
    res.stats = {"median_ms": median(subj) * 1000, "baseline_median_ms": median(base) * 1000,
                 "listed_in_process": len(local)}
    return res


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))

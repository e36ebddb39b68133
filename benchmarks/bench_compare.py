"""compare-stored-100k: ``Service.compare_stored()`` with every case's conformance stored, against
``Service.metrics()`` (the ``case_counts`` read) on the metrics-1m database (100,000 cases, SQLite).

The database is :mod:`bench_metrics`'s.  Its generated task events are not steps of the uploaded
models (they are shaped for the measuring queries), so they are not replayed here: each case's row of
``case_conformance`` is stored as the worker's pass stores one (:func:`engine.measure.store_conformance`,
which also counts the ended cases in ``conformance_counts``), with a made-up outcome and the real
lateness rule.  The read under test does not look at how the rows came: it adds up the counts of the
ended cases and reads the running ones' rows, like ``metrics`` — so the ratio should stay near 1
whatever the number of cases.  Subject and baseline alternate; value and baseline are medians.
"""
from __future__ import annotations

import random
import subprocess
import time

from bench_metrics import NOW, build_database
from harness import Result, alternate, median, subprocess_env


def _fill(url: str) -> int:
    from sqlalchemy import select

    from engine import measure, store
    from engine.tables import CASES
    rng = random.Random(7)
    eng = store.make_engine(url)
    try:
        with eng.begin() as conn:
            calendar = measure.load_calendar(conn)
            c = CASES.c
            rows = []
            for r in conn.execute(select(c.id, c.version_id, c.status, c.event_seq, c.accepted_at, c.completed_at,
                                         c.paused_workdays, c.promised_workdays, c.due_date)):
                moves = rng.choice((8, 8, 8, 9))
                rows.append({"case_id": r.id, "version_id": r.version_id, "day": r.accepted_at.date(),
                             "status": r.status, "event_seq": r.event_seq, "sync": moves - (moves == 9),
                             "moves": moves, "replay_ok": moves == 8, "promises_ok": rng.random() < 0.9,
                             "late_after": measure.late_after(r.status, r.accepted_at, r.completed_at,
                                                              r.paused_workdays, r.promised_workdays, r.due_date,
                                                              calendar),
                             "checked_at": NOW})
            measure.store_conformance(conn, rows)
            return len(rows)
    finally:
        eng.dispose()


def _call(url: str, name: str):
    from engine.clock import FixedClock
    from engine.config import Settings
    from engine.context import Context
    from engine.service import Service
    svc = Service(Settings(db_url=url, user=None, clock=FixedClock(NOW)))
    try:
        t0 = time.perf_counter()
        result = getattr(svc, name)(Context(None, svc.settings.clock))
        return time.perf_counter() - t0, result
    finally:
        svc.dispose()


def bench_compare_stored(ctx) -> Result:
    name = "compare-stored-100k"
    n_cases, n_events = (10_000, 100_000) if ctx.quick else (100_000, 1_000_000)
    reps = 3 if ctx.quick else 5
    ctx.say(f"{name}: building {n_cases:,} cases / {n_events:,} events")
    url, db, sizes, _ = build_database(ctx, n_cases, n_events)
    t0 = time.perf_counter()
    sizes["conformance_rows"] = _fill(url)
    sizes["fill_seconds"] = round(time.perf_counter() - t0, 1)
    first, result = _call(url, "compare_stored")      # materialises calendar_days
    checked = [m for row in result["matters"] for m in (row.get("measured") or {}).values()
               if "conforming_share" in m]
    if not checked:
        raise AssertionError("compare --stored gave no conformance figures")
    base, subj = alternate(lambda: _call(url, "metrics")[0], lambda: _call(url, "compare_stored")[0], reps, 60.0)
    cli = []
    for _ in range(0 if ctx.quick else 2):      # the local CLI: the Core-only reader (no --now: a real clock)
        t0 = time.perf_counter()
        p = subprocess.run([str(ctx.onetrip), "--db", url, "compare", "--stored", "--format", "json"],
                           cwd=db.parent, env=subprocess_env(), capture_output=True, timeout=600)
        if p.returncode != 0:
            break
        cli.append(time.perf_counter() - t0)
    v, b = median(subj), median(base)
    res = Result(name, v, "s", b, v / b, target={"ratio": 1.5}, sizes=sizes,
                 notes=["value: Service.compare_stored() in-process with every case's conformance stored "
                        "(median of warm calls); baseline: Service.metrics() on the same database (the "
                        "case_counts read); runs alternate",
                        "conformance rows are made up (the generated events are not the models' steps); "
                        "fill_seconds is not part of any timing"])
    res.stats = {"first_call_s": first, "subject_min_s": min(subj), "baseline_min_s": min(base),
                 "cli_compare_stored_s": median(cli) if cli else None, "reps": len(subj)}
    return res

"""metrics-1m: ``Service.metrics()`` over 100,000 cases and 1,000,000 task events on SQLite.

The database is built once per run in a temp dir: the schema by ``Service.init()``,
four real catalog versions by ``Service.upload()``, then cases and task events
by bulk SQL inserts straight into the tables (sqlite3 ``executemany``).

Every case has exactly ``events / cases`` events (10 in the full run):
``start``, human ``complete``/``return`` steps and, for completed cases,
``finish``.  Acceptance times are spread over working hours of 2025-01-02 ..
2026-11-20; ~7 % of cases (and every case accepted after 2026-10-20) are
still open.  15 % of cases were returned once for correction (a ``return``
event followed by a ``clock_stop`` supplement step).  The first step is
onsite with 2-6 materials; the last one is onsite in half the cases.  Every
case copies the workflow state (and every column the generator does not set)
from a real completed case of the residence-permit sample run through
``Service`` in a scratch database, so rows are as wide as real ones.

Baseline: one plain SQL statement over the same tables (sqlite3, no ORM):
per-case counts of task events grouped by case, joined to cases and grouped
by version.  Subject and baseline alternate; value and baseline are medians.
"""
from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import subprocess
import time
from datetime import date, datetime, timedelta

from harness import REPO, Result, alternate, median, new_service, subprocess_env, upload

NOW = datetime(2026, 11, 28, 12, 0)
MODELS = [("JZZBL", "before"), ("JZZBL", "after"), ("QYSLDJ", "before"), ("QYSLDJ", "after")]
WEIGHTS = [0.15, 0.35, 0.15, 0.35]

BASELINE_SQL = """
SELECT c.version_id, count(*) AS cases, sum(e.n) AS events, sum(e.onsite) AS trips, sum(e.steps) AS steps,
       sum(CASE WHEN c.status = 'completed' THEN 1 ELSE 0 END) AS completed
FROM (SELECT case_id, count(*) AS n, sum(onsite) AS onsite, sum(step) AS steps
      FROM task_events GROUP BY case_id) AS e
JOIN cases AS c ON c.id = e.case_id
GROUP BY c.version_id
"""

_DT = "%Y-%m-%d %H:%M:%S.000000"     # how SQLAlchemy stores DateTime in SQLite


def _fmt(dt: datetime | None) -> str | None:
    return dt.strftime(_DT) if dt is not None else None


def _workday_time(rng: random.Random, start: date, days: int) -> datetime:
    while True:
        d = start + timedelta(days=rng.randrange(days))
        if d.weekday() < 5:
            return datetime(d.year, d.month, d.day, rng.randrange(9, 17), rng.randrange(60), rng.randrange(60))


def _template_rows(ctx) -> tuple[dict, dict]:
    """A real completed case and one of its 'complete' events, as the current engine stores them.

    The residence-permit sample is run to completion through ``Service`` in a
    scratch database; every generated case copies the columns this benchmark
    does not generate (the workflow state, and whatever the schema has grown
    since) from that case, so the table rows stay as wide as real ones.
    """
    from engine.clock import SimulatedClock
    from harness import add_clerk
    d = ctx.workdir("metrics-template")
    db = d / "template.db"
    svc = new_service(f"sqlite:///{db}", SimulatedClock(datetime(2026, 3, 2, 9, 0)))
    users = {"政务服务中心综合窗口": "window_clerk", "公安局": "police_clerk"}
    try:
        for dept, user in users.items():
            add_clerk(svc, user, dept)
        v = upload(svc, REPO / "tests" / "data" / "residence_permit.bpmn")
        svc.settings.user = users["政务服务中心综合窗口"]
        r = svc.start_case(v["matter_code"], data={"applicant": "张三"})
        while r["ready"]:
            t = r["ready"][0]
            svc.settings.user = users[t["lane"]]
            r = svc.complete_task(t["id"], {"opinion": "同意"})
            svc.settings.clock.advance(timedelta(hours=3))
    finally:
        svc.dispose()
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        case = dict(conn.execute("SELECT * FROM cases WHERE id = ?", (r["id"],)).fetchone())
        event = dict(conn.execute("SELECT * FROM task_events WHERE case_id = ? AND action = 'complete' "
                                  "ORDER BY seq LIMIT 1", (r["id"],)).fetchone())
    finally:
        conn.close()
    return case, event


def _generate(n_cases: int, events_per_case: int, versions: list[tuple[int, int | None]], clerk_id: int,
              seed: int = 20260101):
    """Yield (case_row, [event_rows]) in GEN_CASE_COLS / GEN_EVENT_COLS order; case ids are 1..n_cases."""
    rng = random.Random(seed)
    version_ids = [v for v, _ in versions]
    promised = dict(versions)
    span = (date(2026, 11, 20) - date(2025, 1, 2)).days
    humans = events_per_case - 1          # open: start + humans; completed: start + (humans - 1) + finish
    for cid in range(1, n_cases + 1):
        vid = rng.choices(version_ids, WEIGHTS[:len(version_ids)])[0]
        accepted = _workday_time(rng, date(2025, 1, 2), span)
        is_open = accepted >= datetime(2026, 10, 20) or rng.random() < 0.05
        n_human = humans if is_open else humans - 1
        returned_at = rng.randrange(1, n_human - 1) if rng.random() < 0.15 and n_human >= 3 else None
        events = []
        at = accepted
        prev_hash = None

        def add(action, ready_at, at, *, task=None, actor="clerk", onsite=0, step=0, clock_stop=0, materials=0,
                data='{"returned": false}'):
            nonlocal prev_hash
            seq = len(events) + 1
            h = hashlib.sha256(f"{cid}:{seq}:{prev_hash}".encode()).hexdigest()
            if task:
                events.append((cid, seq, f"{cid}.{task}", f"{cid:08x}-{seq:04x}-4000-8000-{cid * 31 + seq:012x}",
                               f"Task_{task}", f"环节{task}", "公安局", actor, action, onsite, step, clock_stop,
                               materials, data, _fmt(ready_at), _fmt(at), prev_hash, h))
            else:
                events.append((cid, seq, None, None, None, None, None, actor, action, 0, 0, 0, 0, data,
                               None, _fmt(at), prev_hash, h))
            prev_hash = h

        add("start", None, at, actor="clerk", data='{"applicant": "申请人"}')
        task_no = 0
        for k in range(n_human):
            ready = at
            at = at + timedelta(hours=rng.choice((1, 2, 4, 20, 24, 44, 68)), minutes=rng.randrange(60))
            task_no += 1
            if returned_at is not None and k == returned_at:
                add("return", ready, at, task=task_no, step=1,
                    data='{"returned": true, "return_reason": "缺少材料"}')
            elif returned_at is not None and k == returned_at + 1:
                at = at + timedelta(days=rng.randrange(1, 8))        # the applicant's time (补正)
                add("complete", ready, at, task=task_no, onsite=1, step=0, clock_stop=1)
            else:
                add("complete", ready, at, task=task_no, step=1,
                    onsite=1 if k == 0 or (k == n_human - 1 and rng.random() < 0.5) else 0,
                    materials=rng.randrange(2, 7) if k == 0 else 0)
        completed = None
        if not is_open:
            completed = at
            add("finish", None, at, actor="system", data="{}")
        p = promised.get(vid)
        due = (accepted + timedelta(days=round(p * 1.4))).date().isoformat() if p is not None else None
        yield ((cid, vid, "open" if is_open else "completed", '{"applicant": "申请人"}', task_no, len(events),
                clerk_id, _fmt(accepted), _fmt(at), _fmt(completed), p, due, prev_hash), events)


#: Columns generated per row; every other column is copied from the template rows.
GEN_CASE_COLS = ("id", "version_id", "status", "applicant", "task_seq", "event_seq", "started_by", "accepted_at",
                 "updated_at", "completed_at", "promised_workdays", "due_date", "last_hash")
OPTIONAL_CASE_COLS = ("last_hash",)
GEN_EVENT_COLS = ("case_id", "seq", "task_ref", "task_uuid", "task_name", "name", "lane", "actor", "action",
                  "onsite", "step", "clock_stop", "materials", "data", "ready_at", "at", "prev_hash", "hash")


def _layout(conn, table: str, gen_cols: tuple[str, ...], template: dict, optional=()) -> tuple[list, list, tuple]:
    """(indexes of generated values to keep, all column names, constant tail from the template)."""
    names = [r[1] for r in conn.execute(f"PRAGMA table_info({table})").fetchall()]
    missing = [c for c in gen_cols if c not in names and c not in optional]
    if missing:
        raise RuntimeError(f"{table} has no column(s) {missing}: the schema changed, update bench_metrics.py")
    keep = [i for i, c in enumerate(gen_cols) if c in names]
    extra = [c for c in names if c not in gen_cols and c != "id"]
    return keep, [gen_cols[i] for i in keep] + extra, tuple(template.get(c) for c in extra)


def build_database(ctx, n_cases: int, n_events: int):
    from engine.clock import FixedClock
    t0 = time.perf_counter()
    case_tpl, event_tpl = _template_rows(ctx)
    d = ctx.workdir("metrics-db")
    db = d / "onetrip.db"
    url = f"sqlite:///{db}"
    svc = new_service(url, FixedClock(datetime(2025, 1, 1, 9, 0)))
    try:
        versions = []
        for code, label in MODELS:
            v = upload(svc, REPO / "bpmn" / f"{code}.{label}.bpmn", label)
            versions.append(v["id"])
    finally:
        svc.dispose()
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        promised = {}
        for vid, metrics in conn.execute("SELECT id, metrics FROM process_versions"):
            m = json.loads(metrics) if metrics else {}
            promised[vid] = int(m["promised_workdays"]) if m.get("promised_workdays") is not None else None
        c_keep, c_cols, c_tail = _layout(conn, "cases", GEN_CASE_COLS, case_tpl, OPTIONAL_CASE_COLS)
        e_keep, e_cols, e_tail = _layout(conn, "task_events", GEN_EVENT_COLS, event_tpl)
        c_all = len(c_keep) == len(GEN_CASE_COLS)
        clerk = conn.execute("SELECT id FROM users ORDER BY id LIMIT 1").fetchone()[0]
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-200000")
        conn.execute("BEGIN")
        case_sql = f"INSERT INTO cases ({', '.join(c_cols)}) VALUES ({', '.join('?' * len(c_cols))})"
        event_sql = f"INSERT INTO task_events ({', '.join(e_cols)}) VALUES ({', '.join('?' * len(e_cols))})"
        per_case = n_events // n_cases
        cases, events = [], []
        for case_row, ev_rows in _generate(n_cases, per_case, [(v, promised.get(v)) for v in versions], clerk):
            cases.append((case_row if c_all else tuple(case_row[i] for i in c_keep)) + c_tail)
            events.extend(ev + e_tail for ev in ev_rows)
            if len(cases) >= 5000:
                conn.executemany(case_sql, cases)
                conn.executemany(event_sql, events)
                cases, events = [], []
        if cases:
            conn.executemany(case_sql, cases)
            conn.executemany(event_sql, events)
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=WAL")
        got_cases = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
        got_events = conn.execute("SELECT count(*) FROM task_events").fetchone()[0]
    finally:
        conn.close()
    _backfill_counts(url)
    build = time.perf_counter() - t0
    state = case_tpl.get("state") or ""
    sizes = {"cases": got_cases, "task_events": got_events, "versions": len(versions),
             "state_bytes": len(state.encode()) if isinstance(state, str) else len(state),
             "db_mb": round(db.stat().st_size / 2**20, 1), "build_seconds": round(build, 1)}
    copied = [c for c in c_cols if c not in GEN_CASE_COLS]
    return url, db, sizes, copied


def _backfill_counts(url: str) -> None:
    """case_counts for the inserted cases, as migration 0005 backfills them (metrics reads them)."""
    from engine import measure, store
    eng = store.make_engine(url)
    try:
        with eng.begin() as conn:
            measure.rebuild_counts(conn, measure.load_calendar(conn))
    finally:
        eng.dispose()


def _baseline(db) -> float:
    conn = sqlite3.connect(db)
    try:
        t0 = time.perf_counter()
        rows = conn.execute(BASELINE_SQL).fetchall()
        dt = time.perf_counter() - t0
    finally:
        conn.close()
    if not rows:
        raise RuntimeError("baseline query returned nothing")
    return dt


def _subject(url):
    from engine.clock import FixedClock
    from engine.config import Settings
    from engine.service import Service
    svc = Service(Settings(db_url=url, user=None, clock=FixedClock(NOW)))
    try:
        t0 = time.perf_counter()
        from engine.context import Context
        result = svc.metrics(Context(None, svc.settings.clock))
        return time.perf_counter() - t0, result
    finally:
        svc.dispose()


def bench_metrics(ctx) -> Result:
    name = "metrics-1m"
    n_cases, n_events = (10_000, 100_000) if ctx.quick else (100_000, 1_000_000)
    reps = 3 if ctx.quick else 5
    budget = 20.0 if ctx.quick else 90.0     # stop after 3 reps once the subject has used this many seconds
    ctx.say(f"{name}: building {n_cases:,} cases / {n_events:,} events")
    url, db, sizes, copied = build_database(ctx, n_cases, n_events)
    ctx.say(f"{name}: built in {sizes['build_seconds']} s ({sizes['db_mb']} MB); timing up to {reps} "
            f"alternating reps")
    first, result = _subject(url)          # materialises calendar_days (once per database)
    total = sum(r["cases"] for r in result["matters"])
    if total != sizes["cases"]:
        raise AssertionError(f"metrics counted {total} cases, the database has {sizes['cases']}")
    base, subj = alternate(lambda: _baseline(db), lambda: _subject(url)[0], reps, budget)
    cli, cli_error = [], None
    env = subprocess_env()
    for _ in range(0 if ctx.quick else 1 if median(subj) > 10 else 2):      # quick: in-process only
        t0 = time.perf_counter()
        p = subprocess.run([str(ctx.onetrip), "--db", url, "--now", NOW.isoformat(timespec="minutes"),
                            "metrics", "--format", "json"], cwd=db.parent, env=env, capture_output=True,
                           timeout=600)
        if p.returncode != 0:      # e.g. the code on disk changed since this process imported the engine
            cli_error = f"onetrip metrics exited {p.returncode}: {p.stderr.decode('utf-8', 'replace')[-300:]}"
            break
        cli.append(time.perf_counter() - t0)
    v, b = median(subj), median(base)
    res = Result(name, v, "s", b, v / b, target={"value": 2.0, "ratio": 3.0}, sizes=sizes,
                 notes=["value: Service.metrics() in-process (median of warm calls; calendar_days already "
                        "materialised); baseline: plain SQL GROUP BY over task_events joined to cases "
                        "(sqlite3, median); runs alternate",
                        "build_seconds (template case + schema + uploads + bulk inserts) is not part of any timing",
                        f"case columns copied from a real completed case: {', '.join(copied) or 'none'}"])
    if cli_error:
        res.notes.append(f"CLI timing unavailable: {cli_error.strip()}")
    res.stats = {"first_call_s(builds calendar_days)": first, "subject_min_s": min(subj),
                 "baseline_min_s": min(base), "cli_metrics_s": median(cli) if cli else None, "rows": len(result["matters"]),
                 "reps": len(subj), "cli_runs": len(cli)}
    return res

"""metrics-10m: ``Service.metrics()`` on PostgreSQL over 1,000,000 cases and 10,000,000 task events.

The database (a throw-away one) is built by SQL on the server, never timed: the schema by
``Service.init()``, four real catalog versions by ``Service.upload()``, the working-day
calendar materialised, then ``INSERT … SELECT … FROM generate_series`` for the cases and ten
events per case (FK triggers off while loading), and ``case_counts`` grouped from the cases
by SQL (what the steps that ended them would have added).  Acceptance days are working days
of 2025-01-02 .. 2026-11-20; ~7 % of cases are open (all accepted after 2026-10-20, plus 5 %),
1 % cancelled, 15 % returned once with paused days; every case copies the workflow state of a
real completed case (the residence-permit sample run through ``Service``).

Before timing, the figures are checked equal to the full scan of the cases
(``measure.matter_metrics_scan``, the implementation ``metrics`` had before the counts).

* **value**: median wall time of ``Service.metrics()`` (all matters, no filter), warm.
* **baseline**: the full scan (``matter_metrics_scan``) in the same session set-up, alternating.

Size: ``--pg-metrics-cases N`` (events = 10 per case); quick: 20,000 cases.
"""
from __future__ import annotations

import json
import time
from datetime import date, datetime

from harness import REPO, Result, alternate, median, new_service, upload
from bench_metrics import MODELS, NOW, _template_rows
from onetrip_testing import throwaway_postgres

FULL_CASES = 1_000_000


def _sql(conn, text: str, params=None):
    from sqlalchemy import text as sql_text
    return conn.execute(sql_text(text), params or {})


def build(ctx, url: str, n_cases: int) -> dict:
    from engine import measure, store
    from engine.clock import FixedClock
    t0 = time.perf_counter()
    case_tpl, _ = _template_rows(ctx)
    svc = new_service(url, FixedClock(datetime(2025, 1, 1, 9, 0)))
    try:
        versions = [upload(svc, REPO / "bpmn" / f"{code}.{label}.bpmn", label)["id"] for code, label in MODELS]
    finally:
        svc.dispose()
    eng = store.make_engine(url)
    try:
        with eng.begin() as conn:
            measure.ensure_calendar(conn, measure.load_calendar(conn), date(2025, 1, 1), date(2026, 12, 31))
            promised = {}
            for vid, metrics in _sql(conn, "SELECT id, metrics FROM process_versions"):
                m = metrics if isinstance(metrics, dict) else json.loads(metrics or "{}")
                promised[vid] = m.get("promised_workdays")
            clerk = _sql(conn, "SELECT min(id) FROM users").scalar()
            v1, v2, v3, v4 = versions
            p = {v: ("NULL" if promised.get(v) is None else str(int(promised[v]))) for v in versions}
            _sql(conn, "SET LOCAL session_replication_role = replica")      # no FK triggers while loading
            _sql(conn, "SELECT setseed(0.15)")
            _sql(conn, """CREATE TEMP TABLE wd AS SELECT row_number() OVER (ORDER BY day) AS i, day FROM calendar_days
                          WHERE workday AND day BETWEEN DATE '2025-01-02' AND DATE '2026-11-20'""")
            n_wd = _sql(conn, "SELECT count(*) FROM wd").scalar()
            _sql(conn, f"""
                CREATE TEMP TABLE gen AS
                SELECT g, wd.day + TIME '09:00' + floor(b.rs * 480) * INTERVAL '1 minute' AS accepted_at,
                       CASE WHEN b.rv < 0.15 THEN {v1} WHEN b.rv < 0.5 THEN {v2} WHEN b.rv < 0.65 THEN {v3}
                            ELSE {v4} END AS version_id,
                       CASE WHEN wd.day >= DATE '2026-10-20' OR b.ro < 0.05 THEN 'open'
                            WHEN b.ro < 0.06 THEN 'cancelled' ELSE 'completed' END AS status,
                       b.rr < 0.15 AS returned, 1 + floor(b.rd * 25)::int AS days, b.rt < 0.5 AS last_onsite,
                       2 + floor(b.rm * 5)::int AS materials
                FROM (SELECT g, random() rv, random() ra, random() ro, random() rr, random() rd, random() rs,
                             random() rt, random() rm FROM generate_series(1, :n) g) b
                JOIN wd ON wd.i = 1 + floor(b.ra * {n_wd})::int""", {"n": n_cases})
            _sql(conn, f"""
                INSERT INTO cases (id, version_id, status, applicant, state, state_format, revision, task_seq,
                                   event_seq, last_hash, steps_done, trips, returns, materials_submitted,
                                   paused_workdays, started_by, accepted_at, updated_at, completed_at,
                                   promised_workdays, due_date)
                SELECT g, version_id, status, CAST('{{"applicant": "申请人"}}' AS JSON), :state, :fmt, 10, 9, 10,
                       md5(g::text), 8 + returned::int, 1 + last_onsite::int, returned::int, materials,
                       CASE WHEN returned THEN days / 5 ELSE 0 END, :clerk, accepted_at,
                       accepted_at + days * INTERVAL '1 day',
                       CASE WHEN status = 'completed' THEN accepted_at + days * INTERVAL '1 day' END,
                       CASE version_id WHEN {v1} THEN {p[v1]} WHEN {v2} THEN {p[v2]} WHEN {v3} THEN {p[v3]}
                                       ELSE {p[v4]} END,
                       CAST(accepted_at AS DATE) + 14
                FROM gen""", {"state": case_tpl.get("state") or "", "fmt": case_tpl.get("state_format") or "",
                              "clerk": clerk})
            _sql(conn, "SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))")
            _sql(conn, """
                INSERT INTO task_events (case_id, seq, task_ref, task_uuid, task_name, name, lane, actor, action,
                                         onsite, step, clock_stop, materials, data, ready_at, at, prev_hash, hash)
                SELECT g.g, s, CASE WHEN s BETWEEN 2 AND 9 THEN g.g || '.' || (s - 1) END,
                       CASE WHEN s BETWEEN 2 AND 9 THEN md5(g.g || ':' || s)::uuid::text END,
                       CASE WHEN s BETWEEN 2 AND 9 THEN 'Task_' || (s - 1) END,
                       CASE WHEN s BETWEEN 2 AND 9 THEN '环节' || (s - 1) END,
                       CASE WHEN s BETWEEN 2 AND 9 THEN '公安局' END,
                       CASE WHEN s = 10 AND g.status = 'completed' THEN 'system' ELSE 'clerk' END,
                       CASE WHEN s = 1 THEN 'start' WHEN s = 10 AND g.status = 'completed' THEN 'finish'
                            WHEN s = 4 AND g.returned THEN 'return' ELSE 'complete' END,
                       s = 2 OR (s = 9 AND g.last_onsite), s BETWEEN 2 AND 9, s = 5 AND g.returned,
                       CASE WHEN s = 2 THEN g.materials ELSE 0 END,
                       CAST('{"returned": false}' AS JSON),
                       CASE WHEN s > 1 THEN g.accepted_at + (s - 2) * g.days * INTERVAL '1 day' / 9 END,
                       g.accepted_at + (s - 1) * g.days * INTERVAL '1 day' / 9,
                       CASE WHEN s > 1 THEN md5(g.g || ':' || (s - 1)) || md5('x') END,
                       md5(g.g || ':' || s) || md5('x')
                FROM gen g CROSS JOIN generate_series(1, 10) s""")
            # What the steps that ended these cases would have counted (engine.measure.ended_counts, in SQL).
            _sql(conn, """
                INSERT INTO case_counts (version_id, day, metric, value, n)
                SELECT version_id, day, metric, value, count(*) FROM (
                    SELECT c.version_id, CAST(c.accepted_at AS DATE) AS day, m.metric, m.value
                    FROM cases c
                    JOIN calendar_days a ON a.day = CAST(c.accepted_at AS DATE)
                    LEFT JOIN calendar_days e ON e.day = CAST(c.completed_at AS DATE)
                    CROSS JOIN LATERAL (VALUES
                        ('returns', c.returns), ('promised', c.promised_workdays),
                        ('elapsed', CASE WHEN c.status = 'completed' THEN e.seq - a.seq - c.paused_workdays END),
                        ('trips', CASE WHEN c.status = 'completed' THEN c.trips END),
                        ('steps', CASE WHEN c.status = 'completed' THEN c.steps_done END),
                        ('materials', CASE WHEN c.status = 'completed' THEN c.materials_submitted END),
                        ('slack', CASE WHEN c.status = 'completed'
                                       THEN c.promised_workdays - (e.seq - a.seq - c.paused_workdays) END),
                        ('cancelled', CASE WHEN c.status = 'cancelled'
                                           THEN COALESCE(c.due_date - DATE '0001-01-01' + 1, 0) END)
                    ) AS m(metric, value)
                    WHERE c.status IN ('completed', 'cancelled') AND m.value IS NOT NULL) x
                GROUP BY version_id, day, metric, value""")
        with eng.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            _sql(conn, "VACUUM ANALYZE")
            sizes = {"cases": _sql(conn, "SELECT count(*) FROM cases").scalar(),
                     "task_events": _sql(conn, "SELECT count(*) FROM task_events").scalar(),
                     "case_counts_rows": _sql(conn, "SELECT count(*) FROM case_counts").scalar(),
                     "db_mb": round(_sql(conn, "SELECT pg_database_size(current_database())").scalar() / 2**20)}
    finally:
        eng.dispose()
    sizes["build_seconds"] = round(time.perf_counter() - t0, 1)
    return sizes


def _service(url):
    from engine.clock import FixedClock
    from engine.config import Settings
    from engine.service import Service
    return Service(Settings(db_url=url, user=None, clock=FixedClock(NOW)))


def _subject(svc):
    try:                       # operations take a Context first where engine.context exists
        from engine.context import Context
        args = (Context(None, svc.settings.clock),)
    except ImportError:
        args = ()
    t0 = time.perf_counter()
    result = svc.metrics(*args)
    return time.perf_counter() - t0, result


def _scan(url):
    from sqlalchemy.orm import Session
    from engine import measure, store
    eng = store.make_engine(url)
    try:
        t0 = time.perf_counter()
        with Session(eng) as s:
            rows = measure.matter_metrics_scan(s, NOW.date())
        return time.perf_counter() - t0, rows
    finally:
        eng.dispose()


def bench_metrics_10m(ctx) -> Result:
    name = "metrics-10m"
    n_cases = 20_000 if ctx.quick else (getattr(ctx, "pg_metrics_cases", None) or FULL_CASES)
    try:
        db = throwaway_postgres(ctx.pg_admin_url, "onetrip_bench")
        url = db.__enter__()
    except Exception as exc:   # noqa: BLE001 - no server: skipped, not failed
        return Result(name, None, "s", skipped=True, notes=[f"no PostgreSQL: {exc}"])
    try:
        ctx.say(f"{name}: building {n_cases:,} cases / {n_cases * 10:,} events on PostgreSQL")
        sizes = build(ctx, url, n_cases)
        ctx.say(f"{name}: built in {sizes['build_seconds']} s ({sizes['db_mb']} MB)")
        svc = _service(url)
        try:
            first, result = _subject(svc)
            _, scanned = _scan(url)
            if result["matters"] != scanned:
                raise AssertionError("metrics from case_counts differ from the full scan of cases")
            total = sum(r["cases"] for r in result["matters"])
            if total != sizes["cases"]:
                raise AssertionError(f"metrics counted {total} cases, the database has {sizes['cases']}")
            base, subj = alternate(lambda: _scan(url)[0], lambda: _subject(svc)[0], 3 if ctx.quick else 5, 120.0)
        finally:
            svc.dispose()
    finally:
        db.__exit__(None, None, None)
    v, b = median(subj), median(base)
    full = n_cases >= FULL_CASES
    res = Result(name, v, "s", b, v / b, target={"value": 1.0}, sizes=sizes,
                 notes=["value: Service.metrics() in-process on PostgreSQL (median of warm calls; reads case_counts "
                        "and the running cases); baseline: the full scan of cases (measure.matter_metrics_scan, "
                        "what metrics did before); runs alternate; figures checked equal first",
                        "build (template case, schema, uploads, generate_series inserts, counts, VACUUM ANALYZE) "
                        "is not timed"] + ([] if full else [f"size reduced to {n_cases:,} cases (--pg-metrics-cases)"]))
    res.stats = {"first_call_s": first, "subject_min_s": min(subj), "baseline_min_s": min(base),
                 "rows": len(result["matters"]), "reps": len(subj)}
    return res

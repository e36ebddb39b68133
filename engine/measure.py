"""Measured metrics from executed cases, computed in SQL.

Per case, from its task events: steps executed, trips (onsite completions),
materials submitted, returns for correction, elapsed working days (the
acceptance day is day 0; working days while the case waited on the applicant
— steps annotated ``clock=stop`` — do not count), on time or overdue.
Per matter and label: cases, mean/median/90th percentile elapsed working
days, on-time rate, mean trips, steps, materials and returns.

Working days come from the ``calendar_days`` table (China's official
calendar materialised by :func:`ensure_calendar`), so elapsed days are a
difference of two ``seq`` values: no Python loop over rows.
Percentiles are nearest-rank (the smallest value with at least p% of cases at
or below it), computed with window functions that SQLite and PostgreSQL share.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import (JSON, Date, DateTime, Float, Integer, String, and_, case, cast, column, delete, func,
                        insert, literal, or_, select, table, tuple_)

from .tables import CALENDAR, CASES, CONFORMANCE, CONFORMANCE_COUNTS, EVENTS, MATTERS, VERSIONS

if TYPE_CHECKING:       # the working-day calendar (chinese_calendar) loads when a calendar is built
    from .workdays import WorkCalendar

# Core table clauses, so the local CLI's ``metrics`` (engine.reads) runs these queries without importing
# the ORM: every function takes a Session or a Connection.
Case, TaskEvent, Matter, ProcessVersion, CalendarDay = CASES.c, EVENTS.c, MATTERS.c, VERSIONS.c, CALENDAR.c

HUMAN_ACTIONS = ("complete", "return")


def ensure_calendar(session, calendar: WorkCalendar, first: date, last: date) -> None:
    """Make ``calendar_days`` cover [first, last] (rebuilt whole, so ``seq`` stays continuous)."""
    lo, hi = calendar_bounds(session)
    if lo is not None and lo <= first and hi >= last:
        return
    first = min(first, lo) if lo else first
    last = max(last, hi) if hi else last
    session.execute(delete(CALENDAR))
    rows = [{"day": d, "workday": w, "seq": s} for d, w, s in calendar.day_rows(first, last)]
    for i in range(0, len(rows), 5000):
        session.execute(insert(CALENDAR), rows[i:i + 5000])


def calendar_bounds(session) -> tuple[date | None, date | None]:
    """The first and last day ``calendar_days`` holds (None, None when empty)."""
    lo, hi = session.execute(select(func.min(CalendarDay.day), func.max(CalendarDay.day))).one()
    if isinstance(lo, str):  # pragma: no cover - driver without date parsing
        lo, hi = date.fromisoformat(lo), date.fromisoformat(hi)
    return lo, hi


def reset_calendar(session) -> None:
    """Forget the materialised calendar (after a holiday file import), and recount the ended cases'
    elapsed working days under the calendar as it now is."""
    session.execute(delete(CALENDAR))
    calendar = load_calendar(session)
    rebuild_counts(session, calendar)
    relate_conformance(session, calendar)


def calendar_span(session, today: date) -> tuple[date, date]:
    """The days metrics may touch: from the first acceptance to today or the last event, whole years."""
    first = session.scalar(select(func.min(Case.accepted_at)))
    last_event = session.scalar(select(func.max(TaskEvent.at)))
    first = first.date() if isinstance(first, datetime) else (first or today)
    last = max(today, last_event.date() if isinstance(last_event, datetime) else today)
    return date(first.year, 1, 1), date(last.year, 12, 31)


def _day(col):
    return func.date(col)


@dataclass
class Filters:
    matter_code: str | None = None
    since: date | None = None
    until: date | None = None
    case_ids: list[int] | None = None


def _filtered(stmt, f: Filters):
    if f.matter_code:
        stmt = stmt.where(Matter.code == f.matter_code)
    if f.since:
        stmt = stmt.where(Case.accepted_at >= datetime.combine(f.since, datetime.min.time()))
    if f.until:
        stmt = stmt.where(Case.accepted_at < datetime.combine(f.until + timedelta(days=1), datetime.min.time()))
    if f.case_ids is not None:
        stmt = stmt.where(Case.id.in_(f.case_ids))
    return stmt


def case_metrics_query(today: date, filters: Filters | None = None):
    """One row per case with its measured figures (a selectable).

    Steps, trips, returns, materials and paused working days are the case's
    counters, which every step updates in the same transaction as its events
    (and ``audit verify`` recounts from the events); elapsed working days are
    a difference of calendar ``seq`` values.
    """
    c_start, c_end = CALENDAR.alias("c_start"), CALENDAR.alias("c_end")
    end_day = func.coalesce(_day(Case.completed_at), literal(today, Date))
    elapsed = (c_end.c.seq - c_start.c.seq - Case.paused_workdays).label("elapsed")
    stmt = (select(Case.id.label("case_id"), Matter.code.label("matter_code"), Matter.name.label("matter_name"),
                   ProcessVersion.label.label("label"), Case.version_id, Case.status, Case.accepted_at,
                   Case.completed_at, Case.promised_workdays, Case.due_date,
                   Case.steps_done.label("steps"), Case.trips.label("trips"), Case.returns.label("returns"),
                   Case.materials_submitted.label("materials"), Case.paused_workdays.label("paused"), elapsed)
            .join(VERSIONS, Case.version_id == ProcessVersion.id)
            .join(MATTERS, ProcessVersion.matter_id == Matter.id)
            .join(c_start, c_start.c.day == _day(Case.accepted_at))
            .join(c_end, c_end.c.day == end_day))
    return _filtered(stmt, filters or Filters())


def recount_from_events(session, case_ids: list[int] | None = None) -> dict[int, dict]:
    """The same per-case figures recounted from the task events alone (the audit trail)."""
    ev = TaskEvent
    human = ev.action.in_(HUMAN_ACTIONS)
    p_start, p_end = CALENDAR.alias("p_start"), CALENDAR.alias("p_end")
    paused = func.sum(case((ev.clock_stop, p_end.c.seq - p_start.c.seq), else_=0))
    stmt = (select(ev.case_id, func.sum(case((ev.step, 1), else_=0)), func.sum(case((ev.onsite, 1), else_=0)),
                   func.sum(case((ev.action == "return", 1), else_=0)), func.sum(ev.materials), paused)
            .join(p_start, p_start.c.day == _day(ev.ready_at))
            .join(p_end, p_end.c.day == _day(ev.at))
            .where(human).group_by(ev.case_id))
    if case_ids is not None:
        stmt = stmt.where(ev.case_id.in_(case_ids))
    return {row[0]: dict(zip(("steps_done", "trips", "returns", "materials_submitted", "paused_workdays"),
                             (int(v or 0) for v in row[1:])))
            for row in session.execute(stmt)}


def matter_metrics_scan(session, today: date, filters: Filters | None = None) -> list[dict]:
    """Per matter and label: measured figures over the cases that match ``filters``, from every case
    (what :func:`matter_metrics` gives from the counts; kept for ``case_ids`` filters and to check them).

    Two grouped passes over the per-case rows (a materialized CTE): the
    aggregates, and the nearest-rank percentiles by window functions; the
    two small grouped results are then joined.
    """
    per_case = case_metrics_query(today, filters).cte("per_case").prefix_with("MATERIALIZED")
    completed = per_case.c.status == "completed"
    on_time = and_(completed, per_case.c.promised_workdays.isnot(None),
                   per_case.c.elapsed <= per_case.c.promised_workdays)
    late = or_(and_(completed, per_case.c.elapsed > per_case.c.promised_workdays),
               and_(~completed, per_case.c.due_date.isnot(None), per_case.c.due_date < today))
    group = (per_case.c.matter_code, per_case.c.label)
    as_float = lambda col: cast(col, Float)  # noqa: E731
    agg = (select(per_case.c.matter_code, func.max(per_case.c.matter_name).label("name"), per_case.c.label,
                  func.count().label("cases"),
                  func.sum(case((completed, 1), else_=0)).label("completed"),
                  func.avg(case((completed, as_float(per_case.c.elapsed)))).label("mean_workdays"),
                  func.sum(case((on_time, 1), else_=0)).label("on_time"),
                  func.sum(case((late, 1), else_=0)).label("overdue"),
                  func.avg(case((completed, as_float(per_case.c.trips)))).label("mean_trips"),
                  func.avg(case((completed, as_float(per_case.c.steps)))).label("mean_steps"),
                  func.avg(case((completed, as_float(per_case.c.materials)))).label("mean_materials"),
                  func.avg(as_float(per_case.c.returns)).label("mean_returns"),
                  func.max(per_case.c.promised_workdays).label("promised_workdays"))
           .group_by(*group).subquery("agg"))
    # Nearest-rank percentiles over completed cases: rank = ceil(p * n / 100) in integer arithmetic.
    ranked = (select(per_case.c.matter_code, per_case.c.label, per_case.c.elapsed,
                     func.row_number().over(partition_by=group, order_by=per_case.c.elapsed).label("rn"),
                     func.count().over(partition_by=group).label("n"))
              .where(completed).subquery("ranked"))
    pct = (select(ranked.c.matter_code, ranked.c.label,
                  *[func.max(case((ranked.c.rn == (ranked.c.n * p + 99) // 100, ranked.c.elapsed))).label(f"p{p}")
                    for p in (50, 90)])
           .group_by(ranked.c.matter_code, ranked.c.label).subquery("pct"))
    stmt = (select(agg, pct.c.p50.label("median_workdays"), pct.c.p90.label("p90_workdays"))
            .outerjoin(pct, and_(pct.c.matter_code == agg.c.matter_code, pct.c.label == agg.c.label))
            .order_by(agg.c.matter_code, agg.c.label.desc()))
    return [_record(r) for r in session.execute(stmt).mappings()]


def _record(r) -> dict:
    done = r["completed"] or 0
    return {
            "matter_code": r["matter_code"], "name": r["name"], "label": r["label"],
            "cases": r["cases"], "completed": done, "open": r["cases"] - done,
            "mean_workdays": _round(r["mean_workdays"]), "median_workdays": r["median_workdays"],
            "p90_workdays": r["p90_workdays"], "promised_workdays": r["promised_workdays"],
            "on_time_rate": _round(r["on_time"] / done, 3) if done else None,
            "overdue": r["overdue"] or 0,
            "mean_trips": _round(r["mean_trips"]), "mean_steps": _round(r["mean_steps"]),
            "mean_materials": _round(r["mean_materials"]), "mean_returns": _round(r["mean_returns"]),
    }


def _round(value, digits: int = 2):
    return None if value is None else round(float(value), digits)


# ------------------------------------------------------------------ counts
#
# Elapsed times are whole working days, so a case that has ended (completed or cancelled) adds 1 to a
# few counters keyed by (version, acceptance day, metric, value) in the step that ends it, in the same
# transaction; ``metrics`` adds those counters up (exact means and nearest-rank percentiles) and reads
# only the cases still running from ``cases``.  Its cost grows with versions x days x distinct values,
# not with cases.

#: metric -> what its value is, for a case that ended
COUNT_METRICS = {
    "elapsed": "working days from acceptance to completion, paused days not counted (completed)",
    "slack": "promised minus elapsed working days (completed, with a promise)",
    "trips": "onsite completions (completed)", "steps": "steps executed (completed)",
    "materials": "applicant materials submitted (completed)",
    "returns": "returns for correction (completed or cancelled)",
    "promised": "promised working days (ended, with a promise)",
    "cancelled": "the due date's proleptic ordinal, 0 when none (cancelled)",
}
ENDED = ("completed", "cancelled")
#: The other statuses: cases still running (read from ``cases``: the status index finds them).
RUNNING = ("open", "quarantine")


def ended_counts(status: str, accepted_at: datetime, completed_at: datetime | None, paused: int,
                 promised: int | None, due_date: date | None, steps: int, trips: int, returns: int,
                 materials: int, calendar: WorkCalendar | None) -> list[tuple[str, int]]:
    """The (metric, value) pairs a case adds when it ends (``calendar`` needed for completed cases)."""
    out = [("returns", returns)]
    if promised is not None:
        out.append(("promised", promised))
    if status == "completed":
        elapsed = calendar.workdays_between(accepted_at.date(), completed_at.date()) - paused
        out += [("elapsed", elapsed), ("trips", trips), ("steps", steps), ("materials", materials)]
        if promised is not None:
            out.append(("slack", promised - elapsed))
    else:
        out.append(("cancelled", due_date.toordinal() if due_date is not None else 0))
    return out


def count_rows(version_id: int, day: date, pairs) -> list[dict]:
    return [{"version_id": version_id, "day": day, "metric": m, "value": v, "n": 1} for m, v in pairs]




# The columns the backfill reads, typed (so a migration can use it whatever the models become).
_ENDED_CASES = table("cases", column("version_id", Integer), column("status", String), column("accepted_at", DateTime),
                     column("completed_at", DateTime), column("paused_workdays", Integer),
                     column("promised_workdays", Integer), column("due_date", Date), column("steps_done", Integer),
                     column("trips", Integer), column("returns", Integer), column("materials_submitted", Integer))
_YEARS = table("calendar_years", column("year", Integer), column("holidays", JSON), column("workdays", JSON),
               column("source", String))
_COUNT_ROWS = table("case_counts", column("version_id", Integer), column("day", Date), column("metric", String),
                    column("value", Integer), column("n", Integer))


def rebuild_counts(conn, calendar: WorkCalendar, batch: int = 20000) -> int:
    """Recount every ended case into ``case_counts`` (the migration's backfill, and after a holiday
    import changed what elapsed working days are); returns the number of cases counted."""
    from collections import Counter
    conn.execute(delete(_COUNT_ROWS))
    counts: Counter = Counter()
    n = 0
    c = _ENDED_CASES.c
    stmt = select(_ENDED_CASES).where(c.status.in_(ENDED)).execution_options(yield_per=batch)
    for r in conn.execute(stmt):
        accepted = r.accepted_at
        for pair in ended_counts(r.status, accepted, r.completed_at, r.paused_workdays or 0, r.promised_workdays,
                                 r.due_date, r.steps_done, r.trips, r.returns, r.materials_submitted, calendar):
            counts[(r.version_id, accepted.date(), *pair)] += 1
        n += 1
    rows = [{"version_id": v, "day": d, "metric": m, "value": val, "n": k} for (v, d, m, val), k in counts.items()]
    for i in range(0, len(rows), 5000):
        conn.execute(insert(_COUNT_ROWS), rows[i:i + 5000])
    return n


def load_calendar(conn) -> WorkCalendar:
    """The working-day calendar with every imported year (a new object: its warnings are the caller's)."""
    y = _YEARS.c
    return calendar_of(conn.execute(select(y.year, y.holidays, y.workdays, y.source)).all())


def calendar_of(rows) -> WorkCalendar:
    """A calendar from ``calendar_years`` rows (year, holidays, workdays, source)."""
    from .workdays import HolidayYear, WorkCalendar

    def dates(values):
        return frozenset(date.fromisoformat(v) for v in values or ())
    return WorkCalendar([HolidayYear(year, dates(h), dates(w), source or "") for year, h, w, source in rows])


def matter_metrics(session, today: date, filters: Filters | None = None) -> list[dict]:
    """Per matter and label: measured figures over the cases that match ``filters``.

    Ended cases come from ``case_counts`` (grouped counts), running ones from ``cases`` (the open and
    quarantined cases: few, whatever the history); same figures as :func:`matter_metrics_scan`.
    """
    f = filters or Filters()
    if f.case_ids is not None:
        return matter_metrics_scan(session, today, f)
    from collections import defaultdict
    groups: dict[tuple[str, str], dict] = defaultdict(lambda: {"dist": defaultdict(int), "sums": defaultdict(int),
                                                               "n": defaultdict(int), "slack_ok": 0, "late": 0,
                                                               "promised": None, "name": None, "open": 0,
                                                               "open_returns": 0, "cancelled_due": []})
    cnt = _COUNT_ROWS
    stmt = (select(Matter.code, Matter.name, ProcessVersion.label, cnt.c.metric, cnt.c.value,
                   func.sum(cnt.c.n))
            .join(VERSIONS, cnt.c.version_id == ProcessVersion.id)
            .join(MATTERS, ProcessVersion.matter_id == Matter.id)
            .group_by(Matter.code, Matter.name, ProcessVersion.label, cnt.c.metric, cnt.c.value))
    if f.matter_code:
        stmt = stmt.where(Matter.code == f.matter_code)
    if f.since:
        stmt = stmt.where(cnt.c.day >= f.since)
    if f.until:
        stmt = stmt.where(cnt.c.day <= f.until)
    today_ordinal = today.toordinal()
    for code, name, label, metric, value, n in session.execute(stmt):
        g = groups[(code, label)]
        g["name"] = max(g["name"] or name, name)
        n = int(n)
        g["n"][metric] += n
        g["sums"][metric] += value * n
        if metric == "elapsed":
            g["dist"][value] += n
        elif metric == "slack":
            if value >= 0:
                g["slack_ok"] += n
            else:
                g["late"] += n
        elif metric == "promised":
            g["promised"] = value if g["promised"] is None else max(g["promised"], value)
        elif metric == "cancelled" and 0 < value < today_ordinal:
            g["late"] += n
    running = (select(Matter.code, Matter.name, ProcessVersion.label, func.count(), func.sum(Case.returns),
                      func.sum(case((and_(Case.due_date.isnot(None), Case.due_date < today), 1), else_=0)),
                      func.max(Case.promised_workdays))
               .join(VERSIONS, Case.version_id == ProcessVersion.id)
               .join(MATTERS, ProcessVersion.matter_id == Matter.id)
               .where(Case.status.in_(RUNNING))
               .group_by(Matter.code, Matter.name, ProcessVersion.label))
    running = _filtered(running, Filters(f.matter_code, f.since, f.until))
    for code, name, label, n, returns, overdue, promised in session.execute(running):
        g = groups[(code, label)]
        g["name"] = max(g["name"] or name, name)
        g["open"] += n
        g["open_returns"] += int(returns or 0)
        g["late"] += int(overdue or 0)
        if promised is not None:
            g["promised"] = promised if g["promised"] is None else max(g["promised"], promised)
    out = []
    for (code, label) in sorted(sorted(groups, key=lambda k: k[1], reverse=True), key=lambda k: k[0]):
        g = groups[(code, label)]
        done = g["n"]["elapsed"]
        cases = done + g["n"]["cancelled"] + g["open"]

        def mean(metric, over):
            return g["sums"][metric] / over if over else None
        p50, p90 = _percentiles(g["dist"], done, (50, 90))
        out.append(_record({
            "matter_code": code, "name": g["name"], "label": label, "cases": cases, "completed": done,
            "mean_workdays": mean("elapsed", done), "median_workdays": p50, "p90_workdays": p90,
            "promised_workdays": g["promised"], "on_time": g["slack_ok"], "overdue": g["late"],
            "mean_trips": mean("trips", done), "mean_steps": mean("steps", done),
            "mean_materials": mean("materials", done),
            "mean_returns": (g["sums"]["returns"] + g["open_returns"]) / cases if cases else None,
        }))
    return out


def _percentiles(dist: dict[int, int], n: int, ps) -> list:
    """Nearest-rank percentiles (the value at rank ceil(p n / 100)) of a value -> count distribution."""
    if not n:
        return [None for _ in ps]
    ranks = {p: (n * p + 99) // 100 for p in ps}
    out, seen = {}, 0
    for value in sorted(dist):
        seen += dist[value]
        for p, rank in ranks.items():
            if p not in out and seen >= rank:
                out[p] = value
    return [out.get(p) for p in ps]


# ------------------------------------------------------------------ conformance
#
# A case's conformance (its steps replayed on the deployed model with SpiffWorkflow, and the reform's
# promises: engine.mining.conformance) is checked once and stored in ``case_conformance``, current while
# the case's status and event_seq are the ones stored; the worker's pass, or the first report that finds
# a case without a current result, checks it (engine.service.mining), never the step that ends a case.
# Ended cases are also counted in ``conformance_counts`` per version, acceptance day and outcome, so
# ``compare --stored`` adds up grouped counts (as ``matter_metrics`` adds up ``case_counts``) and reads
# the running cases' rows: tables only, no replay.  What depends on today — an open or cancelled case
# past its due date is late — is decided when the figures are read; what depends on the calendar — a
# completed case took more working days than promised — is recounted by :func:`reset_calendar`.

#: A whole-catalog view (``compare --stored``, the report) replays every case up to this many cases;
#: beyond, it checks the promises only (``onetrip conformance`` replays).
REPLAY_LIMIT = 20_000
#: ``sync``/``moves`` of a case whose steps were not replayed (the promises only).
NOT_REPLAYED = -1
#: ``late_after``: late whatever the day / never late; otherwise late on the days after that ordinal.
LATE, NEVER_LATE = 0, -1
CONFORMANCE_CHECKS = {True: "replay and promises", False: "promises only"}


def late_after(status: str, accepted_at: datetime, completed_at: datetime | None, paused: int | None,
               promised: int | None, due_date: date | None, calendar: WorkCalendar) -> int:
    """When a case breaks the promised working days (the ``late`` check of
    :func:`engine.mining.conformance.check_case`, with today left open): a completed case that took
    longer is late whatever the day; any other with a due date is late on the days after it."""
    if promised is None:
        return NEVER_LATE
    if status == "completed" and completed_at is not None:
        elapsed = calendar.workdays_between(accepted_at.date(), completed_at.date()) - (paused or 0)
        return LATE if elapsed > promised else NEVER_LATE
    return due_date.toordinal() if due_date is not None else NEVER_LATE


def _late(after: int, today_ordinal: int) -> bool:
    return 0 <= after < today_ordinal


@dataclass
class ConformanceFigures:
    """Per (matter code, label): cases, conforming cases and the sum of their fitness."""
    groups: dict
    replay: bool            # every case's steps replayed (at most REPLAY_LIMIT cases), else the promises only
    complete: bool          # every case of an executable version has a current stored result

    def figures(self, code: str, label: str) -> dict | None:
        g = self.groups.get((code, label))
        if not g or not g["cases"]:
            return None
        n = g["cases"]
        return {"conforming_share": round(g["conforming"] / n, 3),
                "mean_fitness": round(float(g["fitness"] / n), 3) if self.replay else None,
                "conformance_checks": CONFORMANCE_CHECKS[self.replay]}


def conformance_figures(conn, today: date, limit: int | None = None) -> ConformanceFigures:
    """Per matter and label, what :func:`engine.mining.conformance.summarize` gives of every case
    (conforming share, mean fitness), from the stored results: grouped counts of the ended cases and the
    running ones grouped in SQL, so the cost grows with versions x outcomes, not with cases.
    ``complete`` is False when some case has no current result (the ended ones counted are compared
    with ``case_counts``, which counts every ended case once, per version)."""
    from collections import defaultdict
    from fractions import Fraction
    limit = REPLAY_LIMIT if limit is None else limit
    cnt, cc, conf = _COUNT_ROWS.c, CONFORMANCE_COUNTS.c, CONFORMANCE.c
    names = {v: (code, label) for v, code, label in conn.execute(
        select(ProcessVersion.id, Matter.code, ProcessVersion.label)
        .join(MATTERS, ProcessVersion.matter_id == Matter.id))}
    ended = {v: int(n) for v, n in conn.execute(select(cnt.version_id, func.sum(cnt.n))
                                                .where(cnt.metric == "returns").group_by(cnt.version_id))}
    outcome = (cc.sync, cc.moves, cc.replay_ok, cc.promises_ok, cc.late_after)
    stored = conn.execute(select(cc.version_id, *outcome, func.sum(cc.n)).group_by(cc.version_id, *outcome)).all()
    stale = or_(conf.case_id.is_(None), conf.status != Case.status, conf.event_seq != Case.event_seq)
    late = and_(Case.promised_workdays.isnot(None), Case.due_date.isnot(None), Case.due_date < today)
    flags = (case((stale, 1), else_=0).label("stale"), conf.sync, conf.moves, conf.replay_ok, conf.promises_ok,
             case((late, 1), else_=0).label("late"))
    running = conn.execute(select(Case.version_id, *flags, func.count())
                           .select_from(CASES).outerjoin(CONFORMANCE, conf.case_id == Case.id)
                           .where(Case.status.in_(RUNNING))
                           .group_by(Case.version_id, *flags)).all()
    replay = sum(ended.values()) + sum(r[-1] for r in running) <= limit
    counted: dict = defaultdict(int)
    groups: dict = defaultdict(lambda: {"cases": 0, "conforming": 0, "fitness": Fraction(0)})
    complete = True

    def add(version_id, n, sync, moves, replay_ok, promises_ok, late) -> None:
        nonlocal complete
        if replay and sync == NOT_REPLAYED:
            complete = False
        g = groups[names[version_id]]
        g["cases"] += n
        if promises_ok and not late and (replay_ok or not replay):
            g["conforming"] += n
        if sync != NOT_REPLAYED:
            g["fitness"] += Fraction(n * sync, moves) if moves else n     # exact: the same in any order
    today_ordinal = today.toordinal()
    for version_id, sync, moves, replay_ok, promises_ok, after, n in stored:
        counted[version_id] += int(n)
        add(version_id, int(n), sync, moves, replay_ok, promises_ok, _late(after, today_ordinal))
    for version_id, is_stale, sync, moves, replay_ok, promises_ok, is_late, n in running:
        if is_stale:
            complete = False
        else:
            add(version_id, int(n), sync, moves, replay_ok, promises_ok, bool(is_late))
    if {k: v for k, v in ended.items() if v} != {k: v for k, v in counted.items() if v}:
        complete = False
    return ConformanceFigures(dict(groups), replay, complete)


def add_conformance(matters, figures: ConformanceFigures) -> None:
    """Beside each matter's measured figures (``compare --stored``): its conformance, per label."""
    for row in matters:
        for label, measured in (row.measured or {}).items():
            m = figures.figures(row.matter_code, label)
            if m is not None:
                measured.update(m)


def stale_conformance(conn, replay: bool, limit: int | None = None) -> list:
    """The cases whose stored conformance is missing or not current (or not replayed, with ``replay``),
    oldest first, with what :func:`late_after` needs: the running cases (found by their status), and
    the ended ones of the versions and acceptance days whose counts fall short of ``case_counts`` —
    so a pass after a few cases ended reads those days' cases, not every case."""
    conf, cnt, cc = CONFORMANCE.c, _COUNT_ROWS.c, CONFORMANCE_COUNTS.c
    current = [conf.case_id.is_(None), conf.status != Case.status, conf.event_seq != Case.event_seq]
    if replay:
        current.append(conf.sync == NOT_REPLAYED)
    base = (select(Case.id, Case.version_id, Case.status, Case.event_seq, Case.accepted_at, Case.completed_at,
                   Case.paused_workdays, Case.promised_workdays, Case.due_date)
            .select_from(CASES).outerjoin(CONFORMANCE, conf.case_id == Case.id).where(or_(*current)))
    out = list(conn.execute(base.where(Case.status.in_(RUNNING))))
    ended = {(v, d): int(n) for v, d, n in conn.execute(
        select(cnt.version_id, cnt.day, func.sum(cnt.n)).where(cnt.metric == "returns")
        .group_by(cnt.version_id, cnt.day))}
    counted = {(v, d): int(n) for v, d, n in conn.execute(
        select(cc.version_id, cc.day, func.sum(cc.n)).group_by(cc.version_id, cc.day))}
    groups = {k for k in ended.keys() | counted.keys() if ended.get(k, 0) != counted.get(k, 0)}
    if replay:
        groups |= {(v, d) for v, d in conn.execute(select(cc.version_id, cc.day).distinct()
                                                   .where(cc.sync == NOT_REPLAYED))}
    groups = sorted(groups)
    for i in range(0, len(groups), 200):
        days = or_(*[and_(Case.version_id == v, Case.accepted_at >= datetime.combine(d, datetime.min.time()),
                          Case.accepted_at < datetime.combine(d + timedelta(days=1), datetime.min.time()))
                     for v, d in groups[i:i + 200]])
        out += conn.execute(base.where(Case.status.in_(ENDED), days)).all()
    out.sort(key=lambda r: r.id)
    return out[:limit] if limit is not None else out


def store_conformance(conn, rows: list[dict], batch: int = 2000) -> None:
    """Store cases' results (rows of ``case_conformance``) and recount the groups of the ended ones."""
    for i in range(0, len(rows), batch):
        part = rows[i:i + batch]
        _upsert(conn, CONFORMANCE, part, ("case_id",))
        _recount_conformance(conn, {(r["version_id"], r["day"]) for r in part if r["status"] in ENDED})


_CONFORMANCE_KEY = ("version_id", "day", "sync", "moves", "replay_ok", "promises_ok", "late_after")


def _recount_conformance(conn, groups: set | None) -> None:
    """``conformance_counts`` of the (version, acceptance day) ``groups`` (None: all) from the stored
    results."""
    conf, cc = CONFORMANCE.c, CONFORMANCE_COUNTS.c
    keys = [conf[k] for k in _CONFORMANCE_KEY]
    if groups is None:
        conn.execute(delete(CONFORMANCE_COUNTS))
        batches = [None]
    else:
        groups = sorted(groups)
        batches = [groups[i:i + 500] for i in range(0, len(groups), 500)]
    for part in batches:
        stmt = select(*keys, func.count()).where(conf.status.in_(ENDED)).group_by(*keys)
        if part is not None:
            if not part:
                continue
            stmt = stmt.where(tuple_(conf.version_id, conf.day).in_(part))
            conn.execute(delete(CONFORMANCE_COUNTS).where(tuple_(cc.version_id, cc.day).in_(part)))
        rows = [dict(zip(_CONFORMANCE_KEY + ("n",), r)) for r in conn.execute(stmt)]
        if rows:
            _upsert(conn, CONFORMANCE_COUNTS, rows, _CONFORMANCE_KEY)


def relate_conformance(conn, calendar: WorkCalendar) -> None:
    """After the calendar changed: which completed cases took longer than promised, and the counts."""
    conf = CONFORMANCE.c
    rows = conn.execute(select(conf.case_id, conf.late_after, Case.status, Case.accepted_at, Case.completed_at,
                               Case.paused_workdays, Case.promised_workdays, Case.due_date)
                        .join(CASES, Case.id == conf.case_id).where(conf.status == "completed"))
    from sqlalchemy import bindparam, update
    moved = [{"b_id": r.case_id, "late": now}
             for r in rows
             if (now := late_after(r.status, r.accepted_at, r.completed_at, r.paused_workdays, r.promised_workdays,
                                   r.due_date, calendar)) != r.late_after]
    if moved:
        conn.execute(update(CONFORMANCE).where(conf.case_id == bindparam("b_id")).values(late_after=bindparam("late")),
                     moved)
    _recount_conformance(conn, None)


def _upsert(conn, clause, rows: list[dict], keys) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE (SQLite and PostgreSQL): a report and the worker may store
    the same case's result at once."""
    bind = conn if hasattr(conn, "dialect") else conn.get_bind()
    if bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = dialect_insert(clause)
    stmt = stmt.on_conflict_do_update(index_elements=list(keys),
                                      set_={c.name: stmt.excluded[c.name] for c in clause.columns
                                            if c.name not in keys})
    conn.execute(stmt, rows)

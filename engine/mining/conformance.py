"""Conformance: are the cases run the way the model — and the reform's promise — says?

Per case, two kinds of check:

* **Fitness against the deployed model.**  The case's steps are replayed, in
  order and with the data each clerk entered, on the very model the case ran
  on (its stored SpiffWorkflow spec, conditions in the sandbox), starting from
  the applicant data the case was accepted with.  A step that is ready when
  the log says it happened is a synchronous move.  A step the model does not
  offer is looked for at most :data:`LOOKAHEAD` forced steps ahead (each
  ready step completed without a return, every order tried breadth first):
  if found, the forced steps were *skipped* (model-only moves), otherwise the
  logged step was *added* (a log-only move, not replayed).  A completed case
  whose replay still expects steps skipped those too.  ``fitness = sync /
  (sync + log-only + model-only)``, the unit-cost alignment fitness; 1.0 is a
  perfectly fitting case.
* **The reform's promises**, from the case's measured figures: more trips
  than the model's most on-site visits (``visits``, e.g. 最多跑一次 = 1);
  more returns for correction than allowed (one: 一次性告知, all
  corrections asked at once) or a return at a step that
  cannot send the file back; the promised working days exceeded (completed
  late, or still open past its due date).

A case conforms when it fits perfectly and keeps every promise.  Per matter
and label: the share of conforming cases, the mean fitness and the most
frequent deviations.

Why not PM4Py's replay as the engine: PM4Py reads onetrip's BPMN and
converts it to a Petri net, but that net labels transitions by step *name*
(two steps called 补正材料 become one label), ignores the gateway conditions
and the data, and PM4Py is AGPL and heavy; replaying the stored spec on
SpiffWorkflow checks against exactly what ran.  With the ``mining`` extra,
``conformance --pm4py`` adds PM4Py's token-based replay fitness per case
beside ours, as a second opinion (see :func:`pm4py_fitness`).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import runtime
from ..clock import FixedClock, current_clock, using
from ..errors import ModelError, OnetripError
from ..store import TaskEvent
from . import log as evlog

LOOKAHEAD = 3
DEFAULT_MAX_RETURNS = 1
HUMAN = ("complete", "return")
TOP = 5


@dataclass
class Deviation:
    kind: str            # skipped_step | added_step | extra_trip | extra_return | return_not_allowed | late
    step: str | None     # step id, where there is one
    name: str | None
    detail: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "step": self.step, "name": self.name, "detail": self.detail}


@dataclass
class CaseResult:
    case_id: int
    matter_code: str
    label: str
    status: str
    fitness: float | None
    deviations: list[Deviation] = field(default_factory=list)
    moves: dict = field(default_factory=dict)
    pm4py_fitness: float | None = None

    @property
    def conforming(self) -> bool:
        return not self.deviations

    def to_dict(self) -> dict:
        d = {"case": self.case_id, "matter_code": self.matter_code, "label": self.label, "status": self.status,
             "fitness": round(self.fitness, 3) if self.fitness is not None else None, "conforming": self.conforming, "moves": self.moves,
             "deviations": [x.to_dict() for x in self.deviations]}
        if self.pm4py_fitness is not None:
            d["pm4py_fitness"] = round(self.pm4py_fitness, 3)
        return d


# -------------------------------------------------------------------- replay

def _ready(wf) -> dict[str, object]:
    out = {}
    for t in wf.get_tasks(state=runtime.TaskState.READY, manual=True):
        out.setdefault(t.task_spec.bpmn_id or t.task_spec.name, t)
    return out


def _complete(wf, task, data: dict) -> None:
    runtime.complete(wf, task.id, data)


def _search(wf, model, target: str) -> tuple[object, list[str]] | None:
    """Forced steps (breadth first, at most LOOKAHEAD) after which ``target`` is ready."""
    frontier = [(wf, [])]                   # workflows only read here; each trial runs on a copy
    for _depth in range(LOOKAHEAD):
        nxt = []
        for base, forced in frontier:
            for name in list(_ready(base)):
                trial = runtime.copy_workflow(base, model)
                try:
                    _complete(trial, _ready(trial)[name], {"returned": False})
                except OnetripError:
                    continue
                if target in _ready(trial):
                    return trial, forced + [name]
                nxt.append((trial, forced + [name]))
        frontier = nxt
        if not frontier:
            break
    return None


def replay(model, applicant: dict, events: list, names: dict[str, str]):
    """Replay logged steps ``(step id, name, action, data, at)`` on ``model``.

    Returns ``(sync, log_only, model_only, workflow, deviations)``.
    """
    deviations: list[Deviation] = []
    sync = log_only = model_only = 0
    clock = FixedClock(events[0][4] if events else current_clock().now())
    with using(clock):          # each logged step replays at the instant it happened
        wf = runtime.start(model, applicant or {})
        for step, name, action, data, at in events:
            clock.instant = at
            data = dict(data or {})
            data.setdefault("returned", action == "return")
            ready = _ready(wf)
            if step not in ready:
                runtime.run_engine(wf)       # timers due by now
                ready = _ready(wf)
            if step not in ready:
                found = _search(wf, model, step)
                if found is None:
                    log_only += 1
                    deviations.append(Deviation("added_step", step, name, f"step {name} ({step}) is not "
                                                f"offered by the model at that point"))
                    continue
                wf, forced = found
                model_only += len(forced)
                deviations += [Deviation("skipped_step", f, names.get(f, f), f"step {names.get(f, f)} ({f}) "
                                         f"was skipped") for f in forced]
                ready = _ready(wf)
            _complete(wf, ready[step], data)
            sync += 1
        return sync, log_only, model_only, wf, deviations


# --------------------------------------------------------------------- checks

@dataclass
class VersionFacts:
    model: object
    names: dict[str, str]
    visits: int | None
    returnable: set[str]
    max_returns: int


def version_facts(v) -> VersionFacts | None:
    if not v.executable or not v.spec_json:
        return None
    m = v.metrics or {}
    model = runtime.spec_from_json(v.spec_json)
    names = {}
    for sp in [model.spec, *model.subprocess_specs.values()]:
        for t in sp.task_specs.values():
            if getattr(t, "bpmn_id", None):
                names[t.bpmn_id] = t.bpmn_name or t.bpmn_id
    try:
        max_returns = int(m.get("max_returns", DEFAULT_MAX_RETURNS))
    except (TypeError, ValueError):
        max_returns = DEFAULT_MAX_RETURNS
    visits = m.get("visits")
    return VersionFacts(model, names, int(visits) if visits is not None else None,
                        set(m.get("returnable_tasks") or ()), max_returns)


def check_case(case, events: list, facts: VersionFacts, calendar, today: date, replay_steps: bool = True) -> CaseResult:
    """All checks of one case (a row of :func:`engine.mining.log.case_rows`).

    Without ``replay_steps`` only the promises are checked (no replay: fitness is None).
    """
    devs: list[Deviation] = []
    fitness, moves = None, {}
    if replay_steps:
        human = [(e.task_name, e.name, e.action, e.data, e.at) for e in events if e.action in HUMAN]
        sync, log_only, model_only, wf, devs = replay(facts.model, case.applicant, human, facts.names)
        if case.status == "completed" and not wf.completed:
            left = list(_ready(wf))
            model_only += max(1, len(left))
            devs += [Deviation("skipped_step", s, facts.names.get(s, s), f"the case closed before step "
                               f"{facts.names.get(s, s)} ({s})") for s in left] or [
                Deviation("skipped_step", None, None, "the case closed before the model reached its end")]
        total = sync + log_only + model_only
        fitness = sync / total if total else 1.0
        moves = {"sync": sync, "log_only": log_only, "model_only": model_only}
    if facts.visits is not None and case.trips > facts.visits:
        devs.append(Deviation("extra_trip", None, None, f"{case.trips} trips; the model promises at most "
                              f"{facts.visits}"))
    returns = [e for e in events if e.action == "return"]
    for e in returns if replay_steps else ():
        if e.task_name not in facts.returnable:
            devs.append(Deviation("return_not_allowed", e.task_name, e.name,
                                  f"returned at {e.name} ({e.task_name}), a step that cannot send the file back"))
    if len(returns) > facts.max_returns:
        devs.append(Deviation("extra_return", None, None, f"{len(returns)} returns for correction; at most "
                              f"{facts.max_returns} allowed (一次性告知)"))
    if case.promised_workdays is not None:
        if case.status == "completed" and case.completed_at is not None:
            elapsed = (calendar.workdays_between(case.accepted_at.date(), case.completed_at.date())
                       - (case.paused_workdays or 0))
            if elapsed > case.promised_workdays:
                devs.append(Deviation("late", None, None, f"{elapsed} working days; {case.promised_workdays} "
                                      f"promised"))
        elif case.due_date is not None and case.due_date < today:
            devs.append(Deviation("late", None, None, f"open past its due date {case.due_date}"))
    return CaseResult(case.id, case.code, case.label, case.status, fitness, devs, moves)


def _events_by_case(session: Session, ids: list[int]):
    stmt = (select(TaskEvent.case_id, TaskEvent.task_name, TaskEvent.name, TaskEvent.action, TaskEvent.data,
                   TaskEvent.at)
            .where(TaskEvent.case_id.in_(ids), TaskEvent.action.in_(HUMAN))
            .order_by(TaskEvent.case_id, TaskEvent.seq))
    out = defaultdict(list)
    for row in session.execute(stmt):
        out[row.case_id].append(row)
    return out


def check_cases(session: Session, flt: evlog.LogFilter, calendar, today: date, chunk: int = 500,
                replay_steps: bool = True, facts: dict | None = None) -> list[CaseResult]:
    """Every check of the chosen cases; ``facts``: a version id -> :class:`VersionFacts` cache to reuse."""
    facts = {} if facts is None else facts
    versions = evlog.versions_of(session, flt, skip=facts.keys())
    facts.update({vid: version_facts(v) for vid, v in versions.items()})
    results = []
    rows = evlog.case_rows(session, flt)
    for i in range(0, len(rows), chunk):
        part = [r for r in rows[i:i + chunk] if facts.get(r.version_id) is not None]   # descriptive: no cases
        events = _events_by_case(session, [r.id for r in part]) if replay_steps else {}
        if not replay_steps:       # the promise checks still need the returns
            events = _events_by_case(session, [r.id for r in part if r.returns])
        for r in part:
            results.append(check_case(r, events.get(r.id, []), facts[r.version_id], calendar, today, replay_steps))
    return results


#: The deviations the replay finds; the promises' (``late`` aside, which depends on today).
REPLAY_DEVIATIONS = frozenset({"skipped_step", "added_step", "return_not_allowed"})
PROMISE_DEVIATIONS = frozenset({"extra_trip", "extra_return"})


def stored_results(session: Session, stale: list, calendar, today: date, replay_steps: bool, now,
                   facts: dict | None = None) -> list[dict]:
    """Check the ``stale`` cases (rows of :func:`engine.measure.stale_conformance`, read before their
    events) and return their ``case_conformance`` rows, which give back what :func:`summarize` gives
    (:func:`engine.measure.conformance_figures`).  A case whose status moved meanwhile is left for later;
    one of a descriptive version has no result."""
    from .. import measure
    if not stale:
        return []
    flt = evlog.LogFilter(case_ids=tuple(c.id for c in stale))
    results = {r.case_id: r for r in check_cases(session, flt, calendar, today, replay_steps=replay_steps,
                                                 facts=facts)}
    out = []
    for c in stale:
        r = results.get(c.id)
        if r is None or r.status != c.status:
            continue
        kinds = {d.kind for d in r.deviations}
        moves = r.moves if replay_steps else {}
        out.append({"case_id": c.id, "version_id": c.version_id, "day": c.accepted_at.date(), "status": c.status,
                    "event_seq": c.event_seq,
                    "sync": moves["sync"] if moves else measure.NOT_REPLAYED,
                    "moves": sum(moves.values()) if moves else measure.NOT_REPLAYED,
                    "replay_ok": not kinds & REPLAY_DEVIATIONS, "promises_ok": not kinds & PROMISE_DEVIATIONS,
                    "late_after": measure.late_after(c.status, c.accepted_at, c.completed_at, c.paused_workdays,
                                                     c.promised_workdays, c.due_date, calendar),
                    "checked_at": now})
    return out


def summarize(results: list[CaseResult], names: dict[str, str] | None = None) -> list[dict]:
    """Per matter and label: cases, share conforming, mean fitness, top deviations."""
    groups: dict[tuple[str, str], list[CaseResult]] = defaultdict(list)
    for r in results:
        groups[(r.matter_code, r.label)].append(r)
    out = []
    for (code, label), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] != "before")):
        counts = Counter()
        for r in rs:
            for key in {(d.kind, d.step, d.name) for d in r.deviations}:
                counts[key] += 1
        conforming = sum(r.conforming for r in rs)
        row = {"matter_code": code, "name": (names or {}).get(code, code), "label": label, "cases": len(rs),
               "conforming": conforming, "conforming_share": round(conforming / len(rs), 3),
               "mean_fitness": round(sum(r.fitness for r in rs) / len(rs), 3) if rs[0].fitness is not None else None,
               "top_deviations": [{"kind": k, "step": s, "name": n, "cases": c}
                                  for (k, s, n), c in counts.most_common(TOP)]}
        pm = [r.pm4py_fitness for r in rs if r.pm4py_fitness is not None]
        if pm:
            row["pm4py_mean_fitness"] = round(sum(pm) / len(pm), 3)
        out.append(row)
    return out


# ----------------------------------------------------------------- PM4Py

def pm4py_fitness(session: Session, flt: evlog.LogFilter, results: list[CaseResult]) -> None:
    """PM4Py's token-based replay fitness per case, on the stored BPMN converted to a Petri net."""
    import os
    import tempfile

    from . import require_pm4py
    pm4py = require_pm4py("conformance --pm4py")
    import pandas as pd
    versions = evlog.versions_of(session, flt)
    by_case = {r.case_id: r for r in results}
    rows = defaultdict(list)
    for row in evlog.stream_events(session, flt):
        if row.action in HUMAN and row.case_id in by_case:
            rows[row.version_id].append({"case:concept:name": str(row.case_id),
                                         "concept:name": row.name or row.task_name, "time:timestamp": row.at})
    for vid, evs in rows.items():
        fd, tmp = tempfile.mkstemp(suffix=".bpmn")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(versions[vid].bpmn_xml)
            net, im, fm = pm4py.convert_to_petri_net(pm4py.read_bpmn(tmp))
        except Exception as exc:      # PM4Py's own reader: any failure is one line naming the version
            raise ModelError(f"PM4Py could not convert the model to a Petri net ({type(exc).__name__}: {exc})",
                             file=versions[vid].filename, element=versions[vid].process_id) from None
        finally:
            os.unlink(tmp)
        frame = pd.DataFrame(evs)
        frame["time:timestamp"] = pd.to_datetime(frame["time:timestamp"])
        diag = pm4py.conformance_diagnostics_token_based_replay(frame, net, im, fm)
        log = pm4py.convert_to_event_log(frame)
        for trace, d in zip(log, diag):
            r = by_case.get(int(trace.attributes["concept:name"]))
            if r is not None:
                r.pm4py_fitness = float(d["trace_fitness"])

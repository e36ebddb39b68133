"""What-if simulation: the deployed model, run on SpiffWorkflow, with parameters measured.

``onetrip simulate MATTER --label after --calibrate-from before`` answers
"what will the redesign do to our caseload?": it runs the *deployed* model of
the chosen label (its stored SpiffWorkflow spec, with its gateways,
conditions and sandbox — the same code path that runs real cases) for N
simulated cases on a simulated clock over China's real working days
(:mod:`engine.workdays`: 调休 Saturdays work, holidays do not), with every
parameter fitted from the measured cases of the calibration version:

* **step durations**, as the empirical distribution of each step's measured
  duration in working days (a step done the same day keeps its measured
  hours; a step done d working days later lands d working days after it
  became ready, at a measured time of day).  Steps of the simulated model are
  matched to measured ones by id, then by name, then by the step's
  ``same_as`` property (an id or name of the calibration model).  An
  unmatched step with a promise takes the pooled measured ratio of duration
  to promise, times its own promise; one without takes the pooled durations
  of unpromised steps;
* **returns for correction**: at each step that can send the file back, the
  measured probability that its k-th attempt is returned (k = 1, 2, 3+);
* **applicant supplement delays** (``clock=stop`` steps): measured calendar
  durations (the clock stops meanwhile, as in a real case);
* **arrivals**: a Poisson number of new cases per working day at the
  measured rate (``--arrivals`` overrides), at measured times of day;
* **clerks**: per department (lane), the clerks seen working in the
  calibration period and the most steps one clerk completed in one day
  (over every matter).  A step that would finish on a day its department has
  no capacity left waits for the next working day with room: that wait is the
  department's queue.  At the measured rate there is no queue; more arrivals
  show where one forms.  The capacity is assumed to serve this matter alone.

The result is reported beside the measured figures of the calibration
version: elapsed working days (p50, p90, nearest rank as in ``metrics``),
on-time rate against the simulated model's promise, trips, returns and the
queue waits per department.  The same seed gives the same figures.

Chosen over Prosimos and PM4Py: Prosimos interprets BPMN itself (branching
by probabilities, no conditions, no sandboxed scripts) with weekly
calendars only; PM4Py plays out Petri nets without data, resources or
calendars.  Neither would run the model that is deployed, and neither knows
China's working days, which is what decides the promised limits here.
"""
from __future__ import annotations

import math
import random
import time as _time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import runtime
from ..annotations import counts_as_step, is_clock_stop, is_onsite
from ..clock import SimulatedClock, using
from ..errors import InvalidInput, NotExecutable, NotFound
from ..store import Case, ProcessVersion, TaskEvent, latest_version

HUMAN = ("complete", "return")
MAX_ATTEMPT = 3
MAX_CASES = 1_000_000
SAME_DAY_FALLBACK = timedelta(hours=1)


# ----------------------------------------------------------------- samples

@dataclass(frozen=True)
class Duration:
    """One measured duration: ``workdays`` later at ``at`` (time of day), or ``delta`` the same day."""
    workdays: int
    at: time | None
    delta: timedelta | None


def measure_duration(calendar, ready: datetime, done: datetime, clock_stop: bool) -> Duration:
    if clock_stop:                     # the applicant's own time: calendar time
        return Duration(0, None, max(done - ready, timedelta(0)))
    days = calendar.workdays_between(ready.date(), done.date())
    if days == 0:
        return Duration(0, None, max(done - ready, timedelta(0)))
    return Duration(days, done.time(), None)


def apply_duration(calendar, ready: datetime, d: Duration) -> datetime:
    if d.delta is not None:
        return ready + d.delta
    end = datetime.combine(calendar.add_workdays(ready.date(), d.workdays), d.at)
    return end if end > ready else ready + SAME_DAY_FALLBACK


@dataclass
class StepStats:
    step: str
    name: str
    lane: str | None
    clock_stop: bool
    promised: float | None
    durations: list[Duration] = field(default_factory=list)
    attempts: Counter = field(default_factory=Counter)     # attempt index -> attempts
    returns: Counter = field(default_factory=Counter)      # attempt index -> returned

    def return_probability(self, attempt: int) -> float:
        k = min(attempt, MAX_ATTEMPT)
        n = self.attempts.get(k, 0)
        return self.returns.get(k, 0) / n if n else 0.0


@dataclass
class Calibration:
    matter_code: str
    label: str
    version_id: int
    cases: int
    steps: dict[str, StepStats]
    arrivals_per_workday: float
    arrival_times: list[time]
    first_day: object
    clerks: dict[str, int]
    clerk_capacity: dict[str, int]          # steps one clerk completes in a day at most (per department)
    measured: dict

    def by_name(self) -> dict[str, StepStats]:
        out = {}
        for s in self.steps.values():
            out.setdefault(s.name, s)
        return out


def _promise(props: dict) -> float | None:
    try:
        value = float(props.get("workdays"))
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


def calibrate(session: Session, calendar, version: ProcessVersion, measured: dict) -> Calibration:
    """Fit the parameters from the completed cases of ``version``."""
    model = runtime.spec_from_json(version.spec_json)
    specs = {t.bpmn_id: t for sp in [model.spec, *model.subprocess_specs.values()]
             for t in sp.task_specs.values() if getattr(t, "manual", False) and t.bpmn_id}
    cases = session.execute(select(Case.id, Case.accepted_at).where(
        Case.version_id == version.id, Case.status == "completed").order_by(Case.accepted_at)).all()
    if not cases:
        raise InvalidInput(f"no completed cases of {version.matter.code} {version.label} to calibrate from: "
                           f"run (or import) cases first, or choose --calibrate-from")
    ids = [c.id for c in cases]
    steps: dict[str, StepStats] = {}
    actors: dict[str, set] = defaultdict(set)
    attempt_no: Counter = Counter()
    for i in range(0, len(ids), 500):
        stmt = (select(TaskEvent.case_id, TaskEvent.task_name, TaskEvent.name, TaskEvent.lane, TaskEvent.actor,
                       TaskEvent.action, TaskEvent.clock_stop, TaskEvent.ready_at, TaskEvent.at)
                .where(TaskEvent.case_id.in_(ids[i:i + 500]), TaskEvent.action.in_(HUMAN))
                .order_by(TaskEvent.case_id, TaskEvent.seq))
        for e in session.execute(stmt):
            spec = specs.get(e.task_name)
            props = dict(getattr(spec, "extensions", None) or {}) if spec is not None else {}
            st = steps.get(e.task_name)
            if st is None:
                st = steps[e.task_name] = StepStats(e.task_name, e.name or e.task_name, e.lane, bool(e.clock_stop),
                                                    _promise(props))
            if e.ready_at is not None:
                st.durations.append(measure_duration(calendar, e.ready_at, e.at, bool(e.clock_stop)))
            attempt_no[(e.case_id, e.task_name)] += 1
            k = min(attempt_no[(e.case_id, e.task_name)], MAX_ATTEMPT)
            st.attempts[k] += 1
            st.returns[k] += e.action == "return"
            if e.lane and e.actor and not e.clock_stop:
                actors[e.lane].add(e.actor)
    first, last = cases[0].accepted_at.date(), cases[-1].accepted_at.date()
    span = calendar.workdays_between(first, last) + (1 if calendar.is_workday(first) else 0)
    clerks = {lane: len(names) for lane, names in actors.items()}
    capacity = {}
    for lane, names in actors.items():     # the busiest day of one clerk, over every matter they handled
        day = func.date(TaskEvent.at)
        per_day = (select(TaskEvent.actor, day, func.count().label("n"))
                   .where(TaskEvent.actor.in_(sorted(names)), TaskEvent.action.in_(HUMAN))
                   .group_by(TaskEvent.actor, day).subquery())
        capacity[lane] = int(session.scalar(select(func.max(per_day.c.n))) or 1)
    return Calibration(version.matter.code, version.label, version.id, len(cases), steps,
                       len(cases) / max(span, 1), [c.accepted_at.time() for c in cases], first,
                       clerks, capacity, measured)


# ---------------------------------------------------------------- matching

@dataclass
class StepPlan:
    step: str
    name: str
    lane: str | None
    onsite: bool
    clock_stop: bool
    returnable: bool
    source: StepStats | None
    how: str                       # id | name | same_as | promise ratio | pooled | none
    durations: list[Duration]
    counts_as_step: bool = True    # a human step in the step count (not step=false)
    scale: float | None = None     # for "promise ratio": duration = ratio sample x promise
    ratios: list = field(default_factory=list)

    def return_probability(self, attempt: int) -> float:
        if not self.returnable or self.source is None:
            return 0.0
        return self.source.return_probability(attempt)


def plan_steps(model, metrics: dict, cal: Calibration, calendar) -> dict[str, StepPlan]:
    """Match every human step of the simulated model to measured steps (id, name, same_as)."""
    returnable = set(metrics.get("returnable_tasks") or ())
    names = cal.by_name()
    ratios, unpromised = [], []
    for st in cal.steps.values():
        if st.clock_stop:
            continue
        if st.promised:
            ratios += [_as_workdays(d) / st.promised for d in st.durations]
        else:
            unpromised += st.durations
    pooled_returns = None
    plans = {}
    for sp in [model.spec, *model.subprocess_specs.values()]:
        for t in sp.task_specs.values():
            if not getattr(t, "manual", False) or not t.bpmn_id:
                continue
            props = dict(getattr(t, "extensions", None) or {})
            name = t.bpmn_name or t.bpmn_id
            clock_stop = is_clock_stop(props)
            same_as = (props.get("same_as") or "").strip()
            source, how = None, "none"
            if same_as:                      # the designer said which measured step this one is
                source, how = cal.steps.get(same_as) or names.get(same_as), "same_as"
            if source is None and t.bpmn_id in cal.steps:
                source, how = cal.steps[t.bpmn_id], "id"
            if source is None and name in names and names[name].clock_stop == clock_stop:
                source, how = names[name], "name"
            plan = StepPlan(t.bpmn_id, name, t.lane, is_onsite(props), clock_stop,
                            t.bpmn_id in returnable, source, how, list(source.durations) if source else [],
                            counts_as_step(props))
            if source is None:
                promised = _promise(props)
                if clock_stop:
                    plan.durations = [d for st in cal.steps.values() if st.clock_stop for d in st.durations]
                    plan.how = "pooled supplement delays"
                elif promised and ratios:
                    plan.durations, plan.scale, plan.how = [], promised, "promise × measured ratio"
                    plan.ratios = ratios
                elif unpromised:
                    plan.durations, plan.how = unpromised, "pooled unpromised steps"
                else:
                    plan.how = "none measured: same day"
                if plan.returnable:          # a new returnable step: the measured rate of returnable steps
                    if pooled_returns is None:
                        pooled_returns = _pooled_returns(cal)
                    plan.source = pooled_returns
            plans[t.bpmn_id] = plan
    return plans


def _as_workdays(d: Duration) -> float:
    return float(d.workdays) if d.delta is None else 0.0


def _pooled_returns(cal: Calibration) -> StepStats:
    pooled = StepStats("*", "*", None, False, None)
    for st in cal.steps.values():
        if st.returns:
            pooled.attempts.update(st.attempts)
            pooled.returns.update(st.returns)
    return pooled


# --------------------------------------------------------------- the run

@dataclass
class SimCase:
    id: int
    wf: object
    accepted: datetime
    ready_at: dict = field(default_factory=dict)      # task uuid -> (ready time, plan)
    attempts: Counter = field(default_factory=Counter)
    trips: int = 0
    returns: int = 0
    steps: int = 0
    paused: int = 0
    completed: datetime | None = None
    timer_at: datetime | None = None


class Simulator:
    def __init__(self, model, metrics: dict, cal: Calibration, calendar, plans: dict[str, StepPlan],
                 seed: int, arrivals: float | None):
        self.model, self.metrics, self.cal, self.calendar = model, metrics, cal, calendar
        self.plans = plans
        self.rng = random.Random(seed)
        self.rate = arrivals if arrivals is not None else cal.arrivals_per_workday
        promised = metrics.get("promised_workdays")
        self.promised = int(promised) if promised is not None else None
        self.capacity = {lane: cal.clerks.get(lane, 0) * cal.clerk_capacity.get(lane, 0) for lane in cal.clerks}
        self.booked: dict[tuple[str, object], int] = Counter()
        self.waits: dict[str, list[int]] = defaultdict(list)
        self.heap: list = []
        self.seq = 0
        self.clock = SimulatedClock(datetime.combine(cal.first_day, time(9, 0)))

    def _push(self, at: datetime, kind: str, payload) -> None:
        import heapq
        self.seq += 1
        heapq.heappush(self.heap, (at, self.seq, kind, payload))

    def _arrivals(self, n: int):
        day = self.cal.first_day
        if not self.calendar.is_workday(day):
            day = self.calendar.add_workdays(day, 1)
        times = sorted(self.cal.arrival_times) or [time(9, 0)]
        made = 0
        while made < n:
            k = _poisson(self.rng, self.rate)
            for _ in range(min(k, n - made)):
                made += 1
                yield datetime.combine(day, self.rng.choice(times))
            day = self.calendar.add_workdays(day, 1)

    def _end(self, plan: StepPlan, ready: datetime) -> datetime:
        if plan.scale is not None:
            ratio = self.rng.choice(plan.ratios)
            days = max(0, round(ratio * plan.scale))
            d = Duration(days, time(self.rng.randrange(9, 17), self.rng.randrange(60)), None) if days else \
                Duration(0, None, SAME_DAY_FALLBACK)
        elif plan.durations:
            d = self.rng.choice(plan.durations)
        else:
            d = Duration(0, None, SAME_DAY_FALLBACK)
        return apply_duration(self.calendar, ready, d)

    def _book(self, plan: StepPlan, end: datetime) -> datetime:
        """Reserve a clerk of the step's department on the day it would finish, or the next with room."""
        cap = self.capacity.get(plan.lane) if plan.lane and not plan.clock_stop else None
        if not cap:
            return end
        day, waited = end.date(), 0
        while self.booked[(plan.lane, day)] >= cap:
            day = self.calendar.add_workdays(day, 1)
            waited += 1
        self.booked[(plan.lane, day)] += 1
        self.waits[plan.lane].append(waited)
        return end if waited == 0 else datetime.combine(day, end.time())

    def _schedule(self, case: SimCase, now: datetime) -> None:
        for t in case.wf.get_tasks(state=runtime.TaskState.READY, manual=True):
            if t.id in case.ready_at:
                continue
            plan = self.plans.get(t.task_spec.bpmn_id)
            if plan is None:
                continue
            case.ready_at[t.id] = (now, plan)
            self._push(self._book(plan, self._end(plan, now)), "done", (case, t.id))

    def run(self, n: int) -> list[SimCase]:
        import heapq
        done: list[SimCase] = []
        with using(self.clock):
            for i, at in enumerate(self._arrivals(n)):
                self._push(at, "arrive", i + 1)
            while self.heap:
                at, _, kind, payload = heapq.heappop(self.heap)
                self.clock.set(at)
                if kind == "arrive":
                    case = SimCase(payload, runtime.start(self.model, {"applicant": f"模拟申请人{payload}"}), at)
                elif kind == "timer":
                    case = payload
                    if case.completed is not None:
                        continue
                    if case.timer_at == at:
                        case.timer_at = None
                    runtime.run_engine(case.wf)
                else:
                    case, task_id = payload
                    ready, plan = case.ready_at.pop(task_id)
                    if case.completed is not None:
                        continue
                    task = _task(case.wf, task_id)
                    if task is None or task.state != runtime.TaskState.READY:
                        self._schedule(case, at)      # e.g. cancelled by a boundary timer meanwhile
                        continue
                    case.attempts[plan.step] += 1
                    returned = self.rng.random() < plan.return_probability(case.attempts[plan.step])
                    runtime.complete(case.wf, task_id, {"returned": returned})
                    case.steps += plan.counts_as_step
                    case.trips += plan.onsite
                    case.returns += returned
                    if plan.clock_stop:
                        case.paused += self.calendar.workdays_between(ready.date(), at.date())
                if case.wf.completed:
                    case.completed = at
                    done.append(case)
                    continue
                self._schedule(case, at)
                if self.model.has_timers:      # SpiffWorkflow fires a timer once its instant has passed
                    nxt = runtime.next_timer_at(case.wf)
                    due = max(nxt, at) + timedelta(seconds=1) if nxt is not None else None
                    if due is not None and due != case.timer_at:
                        case.timer_at = due
                        self._push(due, "timer", case)
        return done

    def results(self, done: list[SimCase], n: int) -> dict:
        elapsed = sorted(self.calendar.workdays_between(c.accepted.date(), c.completed.date()) - c.paused
                         for c in done)
        on_time = (sum(e <= self.promised for e in elapsed) / len(elapsed)) if elapsed and \
            self.promised is not None else None
        queues = {}
        for lane, waits in sorted(self.waits.items()):
            delayed = [w for w in waits if w]
            queues[lane] = {"clerks": self.cal.clerks.get(lane), "per_clerk_day": self.cal.clerk_capacity.get(lane),
                            "steps": len(waits), "delayed": len(delayed),
                            "mean_wait_workdays": round(sum(waits) / len(waits), 2) if waits else 0.0,
                            "max_wait_workdays": max(waits) if waits else 0}
        return {"cases": n, "completed": len(done),
                "mean_workdays": round(sum(elapsed) / len(elapsed), 2) if elapsed else None,
                "median_workdays": nearest_rank(elapsed, 50), "p90_workdays": nearest_rank(elapsed, 90),
                "promised_workdays": self.promised,
                "on_time_rate": round(on_time, 3) if on_time is not None else None,
                "mean_trips": round(sum(c.trips for c in done) / len(done), 2) if done else None,
                "mean_steps": round(sum(c.steps for c in done) / len(done), 2) if done else None,
                "mean_returns": round(sum(c.returns for c in done) / len(done), 2) if done else None,
                "queues": queues}


def _task(wf, task_id):
    try:
        return wf.get_task_from_id(task_id)
    except Exception:          # SpiffWorkflow raises TaskNotFoundException for a task that is gone
        return None


def nearest_rank(sorted_values: list, p: int):
    """The smallest value with at least p% of values at or below it (as ``metrics`` computes it)."""
    if not sorted_values:
        return None
    return sorted_values[(len(sorted_values) * p + 99) // 100 - 1]


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:                      # normal approximation, fine at this size
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


# ----------------------------------------------------------- entry point

def executable_version(session: Session, code: str, label: str, what: str) -> ProcessVersion:
    from ..store import get_matter
    matter = get_matter(session, code)
    version = latest_version(session, matter, label)
    if version is None:
        raise NotFound("process version", f"of matter {code} labelled {label} ({what})")
    if not version.executable or not version.spec_json:
        raise NotExecutable(f"version {version.id} of {code} ({label}) is stored for analysis only and "
                            f"cannot be {what}")
    return version


def simulate(session: Session, calendar, matter_code: str, label: str = "after", calibrate_from: str | None = None,
             cases: int = 1000, seed: int = 1, arrivals: float | None = None, measured_rows=None) -> dict:
    """Calibrate from the measured cases of ``calibrate_from`` and simulate the deployed ``label`` model."""
    from ..store import LABELS
    calibrate_from = calibrate_from or label
    for option, value in (("--label", label), ("--calibrate-from", calibrate_from)):
        if value not in LABELS:
            raise InvalidInput(f"{option} {value!r}: use before or after")
    if not 1 <= cases <= MAX_CASES:
        raise InvalidInput(f"--cases {cases}: between 1 and {MAX_CASES:,}")
    if arrivals is not None and not (0 < arrivals <= 100_000):
        raise InvalidInput(f"--arrivals {arrivals}: a positive number of cases per working day")
    started = _time.perf_counter()
    target = executable_version(session, matter_code, label, "simulated")
    source = executable_version(session, matter_code, calibrate_from, "calibrated from")
    measured = next((r for r in (measured_rows or []) if r["label"] == calibrate_from), {})
    cal = calibrate(session, calendar, source, measured)
    model = runtime.spec_from_json(target.spec_json)
    metrics = target.metrics or {}
    plans = plan_steps(model, metrics, cal, calendar)
    sim = Simulator(model, metrics, cal, calendar, plans, seed, arrivals)
    done = sim.run(cases)
    predicted = sim.results(done, cases)
    keys = ("cases", "completed", "mean_workdays", "median_workdays", "p90_workdays", "promised_workdays",
            "on_time_rate", "mean_trips", "mean_steps", "mean_returns")
    return {
        "matter_code": matter_code, "name": target.matter.name, "label": label, "version": target.id,
        "calibrated_from": {"label": calibrate_from, "version": source.id, "cases": cal.cases},
        "seed": seed, "arrivals_per_workday": round(sim.rate, 3),
        "measured_arrivals_per_workday": round(cal.arrivals_per_workday, 3),
        "start": cal.first_day.isoformat(),
        "predicted": predicted,
        "measured": {k: measured.get(k) for k in keys},
        "steps": [{"step": p.step, "name": p.name, "lane": p.lane, "matched": p.source.step if p.source
                   and p.source.step != "*" else None, "how": p.how, "samples": len(p.durations),
                   "return_probability": round(p.return_probability(1), 3) if p.returnable else None}
                  for p in plans.values()],
        "seconds": round(_time.perf_counter() - started, 2),
    }


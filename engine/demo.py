"""``onetrip demo``: load the catalog, simulate cases through both versions of
every matter with a simulated clock, compare, and write the HTML report.

The simulation drives the real service (real store, real SpiffWorkflow), one
clerk per department, in time order:

* arrivals spread over eight weeks from Monday 2 March 2026, on China's real
  working days (the calendar skips Qingming, Labour Day and weekends);
* each step takes a share of its annotated ``workdays`` (0.4–1.0 of it: a
  promise is a ceiling), and about one step in eight overruns (1.3–2× the
  promise); back-office steps (``step=false``, e.g. card production) take
  their share like any other; steps with no
  limit take a few working hours;
* a step that can send the file back does so with probability 25% (before)
  or 10% (after); the applicant then takes 1–5 calendar days to supplement
  (the clock stops meanwhile);
* the same ``--seed`` gives the same cases, times and figures.
"""
from __future__ import annotations

import heapq
import os
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, time as dtime, timedelta
from pathlib import Path

from . import roles
from .annotations import is_clock_stop
from .clock import SimulatedClock
from .context import Context
from .errors import InvalidInput
from .workdays import calendar_from_record

DEMO_START = datetime(2026, 3, 2, 9, 0)
ARRIVAL_WORKDAYS = 40
RETURN_RATE = {"before": 0.25, "after": 0.10}
OVERRUN_RATE = 0.12
ADMIN, DESIGNER = "管理员", "流程设计员"


def clerk_name(department: str) -> str:
    return f"{department}经办人"


@dataclass
class DemoResult:
    comparison: dict
    report: Path | None
    cases: int
    completions: int
    seconds: float
    warnings: list[str] = field(default_factory=list)


class Simulation:
    def __init__(self, service, cases_per_version: int, seed: int):
        self.svc = service
        self.n = cases_per_version
        self.rng = random.Random(seed)
        self.clock = SimulatedClock(DEMO_START)
        self.queue: list = []
        self.counter = 0
        self.returned: set[tuple[int, str]] = set()
        self.completions = 0
        self.cases = 0
        self.finished = 0

    def _as(self, user: str) -> Context:
        return Context(user, self.clock)

    def _push(self, at: datetime, kind: str, payload) -> None:
        self.counter += 1
        heapq.heappush(self.queue, (at, self.counter, kind, payload))

    def _during_hours(self, day, lo=9, hi=17) -> datetime:
        minutes = self.rng.randrange(lo * 60, hi * 60)
        return datetime.combine(day, dtime(minutes // 60, minutes % 60))

    def setup(self, calendar, versions: list[dict]) -> None:
        self.calendar = calendar
        self.versions = versions
        first = DEMO_START.date()
        for v in versions:
            for _ in range(self.n):
                offset = self.rng.randrange(ARRIVAL_WORKDAYS)
                day = calendar.add_workdays(first, offset) if offset else first
                self._push(self._during_hours(day, 9, 16), "arrive", v)

    def _duration(self, task: dict, now: datetime) -> datetime:
        props = task.get("props") or {}
        if is_clock_stop(props):          # the applicant's own time
            return now + timedelta(days=self.rng.randint(1, 5), hours=self.rng.randint(0, 6))
        try:
            promised = float(props.get("workdays") or 0)
        except ValueError:
            promised = 0
        if promised <= 0:
            return now + timedelta(minutes=self.rng.randint(20, 240))
        share = self.rng.uniform(1.3, 2.0) if self.rng.random() < OVERRUN_RATE else self.rng.uniform(0.4, 1.0)
        days = max(0, round(promised * share))
        day = self.calendar.add_workdays(now.date(), days) if days else now.date()
        at = self._during_hours(day)
        return at if at > now else now + timedelta(minutes=30)

    def _schedule(self, record: dict, version: dict, now: datetime) -> None:
        for t in record["ready"]:
            if t["id"] not in self.scheduled:
                self.scheduled.add(t["id"])
                self._push(self._duration(t, now), "work", (t, version))

    def run(self, progress=None) -> None:
        self.scheduled: set[str] = set()
        while self.queue:
            at, _, kind, payload = heapq.heappop(self.queue)
            self.clock.set(at)
            if kind == "arrive":
                version = payload
                record = self.svc.start_case(self._as(version["front_desk"]), version["matter_code"],
                                             version["label"], {"applicant": f"申请人{self.cases + 1:04d}"})
                self.cases += 1
            else:
                task, version = payload
                record = self._work(task, version)
                self.completions += 1
            if record["status"] == "completed":
                self.finished += 1
            if progress and record["status"] == "completed":
                progress()          # the bar counts cases, as the summary line does
            self._schedule(record, version, at)

    def _work(self, task: dict, version: dict) -> dict:
        ctx = self._as(clerk_name(task["lane"]) if task["lane"] else version["front_desk"])
        key = (task["case"], task["task"])
        if task["task"] in version["returnable"] and key not in self.returned \
                and self.rng.random() < RETURN_RATE[version["label"]]:
            self.returned.add(key)
            return self.svc.return_task(ctx, task["id"], "请补正材料", {"opinion": "材料不全"}, None)
        return self.svc.complete_task(ctx, task["id"], {"opinion": "同意"}, None)


def run_demo(service, cases_per_version: int = 8, seed: int = 2026, report: str | Path | None = None,
             catalog_dir: str | None = None, progress_factory=None) -> DemoResult:
    """Run the whole demo on ``service`` (a fresh database is the caller's choice)."""
    started = time.perf_counter()
    if report:      # refuse before simulating, not after
        folder = Path(report).resolve().parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise InvalidInput(f"{report}: cannot write the report there (no such writable folder)")
    sim = Simulation(service, cases_per_version, seed)
    admin, designer = sim._as(ADMIN), sim._as(DESIGNER)
    service.init(admin, simulation=True)
    from . import catalog as catalog_mod
    manifests = catalog_mod.load_catalog(catalog_dir)
    users = {u["name"]: u["role"] for u in service.list_users(admin)}
    if users.get(ADMIN, roles.ADMIN) != roles.ADMIN or (ADMIN not in users and roles.ADMIN in users.values()):
        raise InvalidInput(f"this database already has users but no admin named {ADMIN}, whom the demo "
                           f"acts as: run `onetrip demo` without --db/ONETRIP_DB (a fresh onetrip-demo.db), "
                           f"or add {ADMIN} as an admin first")
    if ADMIN not in users:
        service.add_user(admin, ADMIN, None, roles.ADMIN)
    if DESIGNER not in users:
        service.add_user(admin, DESIGNER, None, roles.DESIGNER)
    service.load_catalog(designer, catalog_dir)
    versions = service.demo_versions(admin)
    departments = sorted({d for v in versions for d in v["lanes"]} | {m.data["department"] for m in manifests})
    existing = {u["name"] for u in service.list_users(admin)}
    for dept in departments:
        if clerk_name(dept) not in existing:
            service.add_user(admin, clerk_name(dept), dept, roles.CLERK)
    front = {m.code: clerk_name(m.data["department"]) for m in manifests}
    for v in versions:
        v["front_desk"] = front.get(v["matter_code"], clerk_name(departments[0]))
    sim.setup(calendar_from_record(service.calendar(admin)), versions)
    total_cases = len(versions) * cases_per_version
    advance = progress_factory(total_cases) if progress_factory else None
    sim.run(advance)
    for _ in range(total_cases - sim.finished if advance else 0):
        advance()           # cases still open (e.g. waiting on a timer): the simulation itself is done
    sim.clock.set(sim.clock.now() + timedelta(days=1))
    comparison = service.compare_stored(admin)
    warnings = comparison.pop("warnings", [])
    out = None
    if report:
        out = Path(report)
        simulations = service.demo_simulations(admin)      # predicted vs measured, per matter
        page = service.report_html(admin, comparison, simulations=simulations,
                                   subtitle=f"onetrip demo: {sim.cases} simulated cases, seed {seed}, "
                                            f"{DEMO_START:%Y-%m-%d} onward", simulated=True)
        warnings += page.pop("warnings", [])
        write_report(out, page["html"])
    return DemoResult(comparison, out, sim.cases, sim.completions, time.perf_counter() - started,
                      list(dict.fromkeys(warnings)))


def write_report(path: Path, html: str) -> Path:
    """Write an HTML report; a folder that cannot take it is one line, not a traceback."""
    try:
        path.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot write the report: {exc.strerror}") from None
    return path

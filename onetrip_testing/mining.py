"""Cases with known parameters for the mining tests and benchmarks: the demo's simulator, one matter."""
from __future__ import annotations

from engine import demo
from engine.config import Settings
from engine.service import Service
from engine.workdays import calendar_from_record


def generate_cases(db_url: str, matters: list[str], cases: int, seed: int,
                   labels: tuple[str, ...] = ("before", "after")) -> Service:
    """Run ``cases`` demo cases per chosen matter and label (arrivals over eight weeks, 12% overruns,
    returns 25% before / 10% after, supplements 1–5 days) through the real service; return it (its
    ``settings.clock`` is the simulation's, where the last case left it)."""
    svc = Service(Settings.from_env(db=db_url, env={}))
    sim = demo.Simulation(svc, cases, seed)
    svc.settings.clock = sim.clock
    admin = sim._as(demo.ADMIN)
    svc.init(admin, simulation=True)         # the simulated clock is pinned: only a simulation allows it
    svc.add_user(admin, demo.ADMIN, None, "admin")
    svc.add_user(admin, demo.DESIGNER, None, "designer")
    svc.load_catalog(sim._as(demo.DESIGNER))
    versions = [v for v in svc.demo_versions(admin) if v["matter_code"] in matters and v["label"] in labels]
    for dept in sorted({d for v in versions for d in v["lanes"]}):
        svc.add_user(admin, demo.clerk_name(dept), dept, "clerk")
    for v in versions:
        v["front_desk"] = demo.clerk_name(v["lanes"][0])
    sim.setup(calendar_from_record(svc.calendar(admin)), versions)
    sim.run()
    return svc

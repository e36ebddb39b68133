"""Cases with known parameters for the mining tests and benchmarks: the demo's simulator, one matter."""
from __future__ import annotations

from engine import demo, runtime
from engine.config import Settings
from engine.service import Service


def generate_cases(db_url: str, matters: list[str], cases: int, seed: int,
                   labels: tuple[str, ...] = ("before", "after")) -> Service:
    """Run ``cases`` demo cases per chosen matter and label (arrivals over eight weeks, 12% overruns,
    returns 25% before / 10% after, supplements 1–5 days) through the real service; return it."""
    svc = Service(Settings.from_env(db=db_url, env={}))
    sim = demo.Simulation(svc, cases, seed)
    svc.settings.clock = sim.clock
    runtime.set_clock(sim.clock)
    svc.init(simulation=True)         # the simulated clock is pinned: only a simulation allows it
    svc.settings.user = demo.ADMIN
    svc.add_user(demo.ADMIN, None, "admin")
    svc.add_user(demo.DESIGNER, None, "designer")
    svc.settings.user = demo.DESIGNER
    svc.load_catalog()
    versions = [v for v in svc.demo_versions() if v["matter_code"] in matters and v["label"] in labels]
    svc.settings.user = demo.ADMIN
    for dept in sorted({d for v in versions for d in v["lanes"]}):
        svc.add_user(demo.clerk_name(dept), dept, "clerk")
    for v in versions:
        v["front_desk"] = demo.clerk_name(v["lanes"][0])
    sim.setup(svc.calendar(), versions)
    sim.run()
    runtime.set_clock(svc.settings.clock)
    return svc

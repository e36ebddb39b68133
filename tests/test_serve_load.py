"""Load: two `onetrip serve` processes on one PostgreSQL, 50 concurrent clients starting cases and
completing tasks for a bounded time; afterwards no step is lost or doubled and `audit verify` is clean.

Bounded (ONETRIP_LOAD_SECONDS, default 15 s) so it runs in CI; the benchmark runs the same for 60 s.
"""
from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter

import httpx
import pytest
from sqlalchemy import create_engine, text

from onetrip_testing import CliHarness
from onetrip_testing.bpmn_factory import Step, linear_model
from onetrip_testing.serve import PASSWORD, serve, set_passwords

pytestmark = [pytest.mark.load, pytest.mark.postgres]

LANE = "综合窗口"
CLERKS = [f"窗口{i}" for i in range(5)]


def setup_office(db_url: str, tmp) -> CliHarness:
    cli = CliHarness(db_url, simulation=False)      # a real office: the clock is the machine's
    cli.ok("init")
    cli.ok("user add admin --role admin")
    cli.ok("user add 设计 --role designer", user="admin")
    for name in CLERKS:
        cli.ok(f"user add {name} --role clerk --department {LANE}", user="admin")
    set_passwords(db_url, CLERKS)
    model = tmp / "LOAD.bpmn"
    model.write_text(linear_model("LOAD", "压力测试事项", [Step(f"环节{i + 1}", lane=LANE) for i in range(3)]),
                     encoding="utf-8")
    cli.ok(f"process upload {model} --label after", user="设计")
    return cli


class Client(threading.Thread):
    """One clerk at a window for ``seconds``: take one of the first tasks of the list and complete it;
    start a case when there is nothing to do."""

    def __init__(self, n: int, urls: list[str], seconds: float, tally):
        super().__init__(daemon=True)
        self.n, self.url, self.seconds, self.tally = n, urls[n % len(urls)], seconds, tally
        self.rng = random.Random(n)

    def run(self):
        try:
            with httpx.Client(base_url=self.url, timeout=60) as http:
                token = http.post("/api/token", data={"username": CLERKS[self.n % len(CLERKS)],
                                                      "password": PASSWORD}).json()["access_token"]
                http.headers["Authorization"] = f"Bearer {token}"
                deadline = time.monotonic() + self.seconds
                while time.monotonic() < deadline:
                    self.step(http)
        except Exception as exc:        # noqa: BLE001 — reported by the test, not lost in a thread
            self.tally("crash", f"{type(exc).__name__}: {exc}")

    def step(self, http: httpx.Client) -> None:
        tasks = http.get("/api/tasks")
        self.tally(f"list {tasks.status_code}")
        ready = tasks.json() if tasks.status_code == 200 else []
        if len(ready) < 20:
            r = http.post("/api/cases", json={"matter_code": "LOAD", "data": {"client": str(self.n)}})
            self.tally(f"start {r.status_code}", r.json().get("id") if r.status_code == 200 else r.text)
            return
        ref = self.rng.choice(ready[:10])["id"]       # several clients often want the same task
        r = http.post(f"/api/tasks/{ref}/complete", json={"data": {"by": str(self.n)}})
        self.tally(f"complete {r.status_code}", ref if r.status_code == 200 else r.json()["error"])


def test_two_servers_fifty_clients_no_lost_or_doubled_step(pg_url, tmp_path):
    seconds = float(os.environ.get("ONETRIP_LOAD_SECONDS", "15"))
    cli = setup_office(pg_url, tmp_path)
    counts: Counter = Counter()
    completed: list[str] = []
    problems: list[str] = []
    lock = threading.Lock()

    def tally(kind: str, detail=None):
        with lock:
            counts[kind] += 1
            if kind == "complete 200":
                completed.append(detail)
            elif kind == "crash" or kind.endswith(" 500") or kind.endswith(" 503"):
                problems.append(f"{kind}: {detail}")

    with serve(pg_url, tmp_path, name="a") as a, serve(pg_url, tmp_path, name="b") as b:
        clients = [Client(n, [a.url, b.url], seconds, tally) for n in range(50)]
        for c in clients:
            c.start()
        for c in clients:
            c.join(seconds + 120)
        assert not any(c.is_alive() for c in clients), "a client hung"
        logs = a.output() + b.output()
    assert not problems, problems[:5]
    assert "Traceback" not in logs, logs[-3000:]
    statuses = {k for k in counts if k.startswith("complete")}
    assert statuses <= {"complete 200", "complete 409"}, counts       # 409: another clerk was first
    assert counts["complete 200"] >= 20, counts

    engine = create_engine(pg_url)
    with engine.connect() as conn:
        events = Counter(row[0] for row in conn.execute(text(
            "SELECT task_ref FROM task_events WHERE action = 'complete'")))
        started = conn.execute(text("SELECT count(*) FROM cases")).scalar()
    engine.dispose()
    doubled = [ref for ref, n in events.items() if n > 1]
    assert not doubled, f"steps recorded twice: {doubled[:5]}"
    assert Counter(completed) == events, "every 200 is exactly one recorded step, and nothing else was"
    assert started == counts["start 200"]
    verified = cli.json("audit verify", user="admin")
    assert verified["ok"], verified["findings"][:5]
    print(f"\nload: {seconds:.0f} s, 2 servers, 50 clients: {dict(counts)}; {len(events)} steps recorded")

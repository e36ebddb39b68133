"""Reformer scenarios for process mining: export, conformance, calibrated what-if simulation."""
import json

import pytest
from pytest_bdd import given, parsers, scenarios, then, when
from sqlalchemy import create_engine, func, select

from conftest import model_path
from engine.store import TaskEvent
from onetrip_testing.mining import generate_cases

scenarios("mining.feature")

WINDOW, POLICE = "政务服务中心综合窗口", "公安局"


def _events(world) -> tuple[int, int]:
    eng = create_engine(world.cli.db_url)
    with eng.connect() as conn:
        activity = TaskEvent.action.in_(("complete", "return", "timer"))
        cases = conn.scalar(select(func.count(func.distinct(TaskEvent.case_id))).where(activity))
        events = conn.scalar(select(func.count()).select_from(TaskEvent).where(activity))
    eng.dispose()
    return cases, events


@given(parsers.parse("食品经营许可 has {n:d} handled cases of each version"))
def handled_both(world, n):
    generate_cases(world.cli.db_url, ["SPJYXK"], n, seed=21).dispose()


@given(parsers.parse("食品经营许可 has {n:d} handled cases of the before version"))
def handled_before(world, n):
    generate_cases(world.cli.db_url, ["SPJYXK"], n, seed=22, labels=("before",)).dispose()


@when(parsers.parse('"{user}" exports the event log as {fmt} to "{name}"'))
def export(world, user, fmt, name):
    world.run(["export", fmt.lower(), "-o", str(world.tmp / name)], user=user)


@then(parsers.parse('the file "{name}" opens in PM4Py with every handled case and step'))
def xes_in_pm4py(world, name):
    pm4py = pytest.importorskip("pm4py", reason="the mining extra is not installed")
    log = pm4py.read_xes(str(world.tmp / name), return_legacy_log_object=True)
    assert (len(log), sum(len(t) for t in log)) == _events(world)


@then(parsers.parse('the file "{name}" holds cases, materials and departments as objects'))
def ocel_objects(world, name):
    data = json.loads((world.tmp / name).read_text(encoding="utf-8"))
    types = {o["type"] for o in data["objects"]}
    assert types == {"case", "material", "department"}
    assert len(data["events"]) == _events(world)[1]


@given("the residence permit matter is in use")
def in_use(world):
    world.cli.ok("user add admin --role admin")
    world.admin = "admin"
    world.cli.ok("user add 李设计 --role designer", user="admin")
    world.cli.ok(["user", "add", "王窗口", "--role", "clerk", "--department", WINDOW], user="admin")
    world.cli.ok(["user", "add", "赵警官", "--role", "clerk", "--department", POLICE], user="admin")
    world.cli.ok(["process", "upload", str(model_path("residence_permit.bpmn")), "--label", "before"], user="李设计")


def _handle(world, onsite_review: bool):
    clerk = {"Accept": "王窗口", "Deliver": "王窗口", "Review": "赵警官", "Issue": "赵警官"}
    case = world.cli.json("case start JZZSAMPLE --label before", user="王窗口", now=world.now())["id"]
    while tasks := world.cli.json(["task", "list", "--all", "--case", str(case)]):
        t = tasks[0]
        extra = ["--onsite"] if (onsite_review and t["task"] == "Review") else []
        world.cli.ok(["task", "complete", t["id"], *extra], user=clerk[t["task"]], now=world.now())
    assert world.cli.json(["case", "show", str(case)])["status"] == "completed"


@given("one case went as the model says")
def clean_case(world):
    _handle(world, onsite_review=False)


@given("in one case the applicant had to come in for the review too")
def extra_trip(world):
    _handle(world, onsite_review=True)


@when(parsers.parse('"{user}" checks conformance'))
def check(world, user):
    world.run(["conformance"], user=user)


@when(parsers.parse('"{user}" compares the stored versions with their measured figures, twice'))
def compare_stored_twice(world, user):
    world.run(["compare", "--stored", "--json"], user=user)
    world.first = world.result
    world.run(["compare", "--stored", "--json"], user=user)


@then("both answers give 50.0% of the before cases as conforming, the second from stored results")
def conforming_half(world):
    answers = [json.loads(r.stdout) for r in (world.first, world.result)]
    assert answers[0] == answers[1]
    [row] = answers[1]["matters"]
    assert row["measured"]["before"]["conforming_share"] == 0.5
    assert row["measured"]["before"]["conformance_checks"] == "replay and promises"
    eng = create_engine(world.cli.db_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with eng.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM case_conformance").scalar() == 2
    finally:
        eng.dispose()


@when(parsers.parse('"{user}" simulates the after model of "{code}" calibrated from the before cases'))
def simulate(world, user, code):
    world.run(["simulate", code, "--label", "after", "--calibrate-from", "before", "--cases", "200"], user=user)
    world.simulated = code


@then("the predicted median working days are below the measured ones")
def predicted_below(world):
    data = world.cli.json(["simulate", world.simulated, "--label", "after", "--calibrate-from", "before",
                           "--cases", "200"])
    assert data["predicted"]["median_workdays"] < data["measured"]["median_workdays"]

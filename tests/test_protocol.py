"""The protocol table (engine/protocol.py) against the in-process Service; and one Service object
serving two threads as different users on different clocks without mixing them up."""
from __future__ import annotations

import inspect
import threading
import typing
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from engine import store
from engine.clock import FixedClock
from engine.config import Settings
from engine.context import Context
from engine.errors import ConcurrentUpdate
from engine.protocol import OPERATIONS, warnings_of
from engine.service import Service

TIMERS = Path(__file__).parent / "data" / "timers.bpmn"
CAPABILITIES = {"cases", "models", "reports", "admin", "mining"}


def _public_methods():
    return {n for n, v in inspect.getmembers(Service, inspect.isfunction) if not n.startswith("_")} - {"dispose"}


def test_every_public_service_method_is_declared_and_every_declared_operation_exists():
    assert _public_methods() == set(OPERATIONS)


def test_declared_params_are_the_methods_arguments_after_the_context():
    for name, op in OPERATIONS.items():
        sig = inspect.signature(getattr(Service, name))
        params = list(sig.parameters.values())
        assert [p.name for p in params[:2]] == ["self", "ctx"], name
        declared = typing.get_type_hints(op.params)
        assert list(declared) == [p.name for p in params[2:]], name
        optional = op.params.__optional_keys__
        for p in params[2:]:
            assert (p.name in optional) == (p.default is not inspect.Parameter.empty), (name, p.name)


def test_operations_are_well_formed():
    routes = set()
    for name, op in OPERATIONS.items():
        assert op.name == name and op.capability in CAPABILITIES and op.summary
        assert set(op.roles) <= set(store.ROLES), name
        assert not op.lane or op.roles == ("clerk",), name
        if op.roles:
            assert op.denied != "do this", name        # a refusal says what was refused
        if op.http is not None:
            method, path = op.http
            assert method in ("GET", "POST") and path.startswith("/api/"), name
            assert (method, path) not in routes, name
            routes.add((method, path))
            for part in path.split("/"):
                if part.startswith("{"):
                    assert part[1:-1] in op.params.__required_keys__, (name, part)
            assert op.writes is False or method == "POST", name


def test_the_table_drives_the_role_check(tmp_path):
    """The refusal's roles and wording come from the table (complete_task: clerks, "complete tasks")."""
    svc = Service(Settings.from_env(db=str(tmp_path / "p.db"), env={}))
    admin = Context("管理员")
    svc.init(admin)
    svc.add_user(admin, "管理员", None, "admin")
    try:
        svc.complete_task(admin, "1.1")
    except Exception as exc:  # noqa: BLE001
        assert str(exc) == "管理员 is an admin; only clerks may complete tasks"
    else:
        raise AssertionError("an admin completed a task")
    finally:
        svc.dispose()


def test_two_threads_two_users_two_clocks_one_service(tmp_path):
    """Each case's timer (PT1H, computed by SpiffWorkflow from "now") and events carry its own thread's
    clock and user; 乙's warning never shows up in 甲's results."""
    svc = Service(Settings.from_env(db=str(tmp_path / "t.db"), env={}))
    admin = Context("管理员")
    svc.init(admin, simulation=True)       # pinned clocks: a simulation database
    svc.add_user(admin, "管理员", None, "admin")
    svc.add_user(admin, "李设计", None, "designer")
    svc.add_user(admin, "甲", "综合窗口", "clerk")
    svc.add_user(admin, "乙", "档案室", "clerk")          # no model has this lane: 乙's task list warns
    svc.upload(Context("李设计"), str(TIMERS), "after")
    code = "TIMERS"
    runs = {"甲": Context("甲", FixedClock(datetime(2026, 3, 2, 9, 30))),
            "乙": Context("乙", FixedClock(datetime(2026, 5, 11, 14, 0)))}
    started: dict[str, list[int]] = {n: [] for n in runs}
    problems: list = []
    barrier = threading.Barrier(len(runs))

    def clerk(name):
        ctx = runs[name]
        barrier.wait()
        try:
            while len(started[name]) < 15:
                try:
                    case = svc.start_case(ctx, code, data={"applicant": name})
                except ConcurrentUpdate:        # SQLite busy: the clerk runs the command again
                    continue
                if "warnings" in case:
                    problems.append((name, case["warnings"]))
                assert case["accepted_at"] == ctx.now().isoformat(timespec="seconds")
                started[name].append(case["id"])
                tasks = svc.list_tasks(ctx)
                expected = [] if name == "甲" else [f"warning: no uploaded model has a lane named '档案室', "
                                                   f"so 乙 sees no tasks; lanes: 督查室、综合窗口"]
                if warnings_of(tasks) != expected or (name == "乙" and tasks != []):
                    problems.append((name, warnings_of(tasks), len(tasks)))
        except Exception as exc:  # noqa: BLE001 - reported below with the thread's name
            problems.append((name, repr(exc)))

    threads = [threading.Thread(target=clerk, args=(n,)) for n in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert problems == []
    engine = store.open_database(svc.settings.db_url)
    with store.session_factory(engine)() as s:
        for name, ids in started.items():
            assert len(ids) == 15
            events = s.scalars(select(store.TaskEvent).where(store.TaskEvent.case_id.in_(ids))).all()
            starts = [e for e in events if e.action == "start"]
            assert len(starts) == 15
            assert {(e.actor, e.at) for e in events if e.actor in runs} == {(name, runs[name].now())}
            rows = s.execute(select(store.Case.accepted_at, store.Case.next_timer_at)
                             .where(store.Case.id.in_(ids))).all()
            assert set(rows) == {(runs[name].now(), runs[name].now() + timedelta(hours=1))}
    engine.dispose()
    svc.dispose()

"""The step path's shortcuts keep the stored state exact.

* A warm workflow (kept in the process between steps) writes only what its marks say changed:
  after every step, the rows restore to exactly what SpiffWorkflow would serialize.
* The acting user is cached per process, but a change to the user in another process is seen
  by the next step (the guarded write re-checks it, and the retry looks the user up again).
"""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from test_state_roundtrip import MODELS, drive_every_step


@pytest.mark.parametrize("path", MODELS, ids=[p.name for p in MODELS])
@pytest.mark.parametrize("correction", [False, True], ids=["main", "correction"])
def test_warm_workflow_writes_exactly_what_changed(path, correction):
    drive_every_step(path, correction, warm=True)


def _acting(svc, user):
    """Call the service's operations as ``user`` (with a Context where the engine has one)."""
    try:
        from engine.context import Context
    except ImportError:
        def call(name, *args, **kwargs):
            svc.settings.user = user
            return getattr(svc, name)(*args, **kwargs)
        return call
    ctx = Context(user, svc.settings.clock)
    return lambda name, *args, **kwargs: getattr(svc, name)(ctx, *args, **kwargs)


def test_a_user_moved_to_another_department_is_seen_by_the_next_step(cli, sample_bpmn):
    """One long-lived service caches the clerk at the first completion; an admin then moves the
    clerk to another department by SQL (as another process would): the clerk's next completion in
    the old department is refused, and nothing is written."""
    from datetime import datetime
    from engine.clock import FixedClock
    from engine.config import Settings
    from engine.errors import PermissionDenied
    from engine.service import Service
    from onetrip_testing import POLICE, setup_people

    setup_people(cli)
    code = cli.json(f"process upload {sample_bpmn} --label after", user="李设计")["matter_code"]
    svc = Service(Settings(db_url=cli.db_url, user=None, clock=FixedClock(datetime(2026, 3, 2, 9, 0))))
    clerk = _acting(svc, "王窗口")
    a, b = clerk("start_case", code), clerk("start_case", code)
    clerk("complete_task", a["ready"][0]["id"], {})               # the clerk is cached now
    eng = create_engine(cli.db_url)
    with eng.begin() as conn:
        conn.execute(text("UPDATE users SET department_id = (SELECT department_id FROM users WHERE name = '赵警官') "
                          "WHERE name = '王窗口'"))
    eng.dispose()
    before = cli.json(f"case show {b['id']}")
    with pytest.raises(PermissionDenied, match=POLICE):
        clerk("complete_task", b["ready"][0]["id"], {})
    assert cli.json(f"case show {b['id']}") == before
    svc.dispose()


def test_a_case_changed_by_another_process_is_not_taken_from_the_warm_cache(cli, sample_bpmn):
    """Service A wrote the case last and keeps it warm (its next step reads nothing first, on
    PostgreSQL one round trip); service B, another process, completes the ready task meanwhile.
    A's attempt at the same task finds out at its guarded write, writes nothing, and its retry
    reads the case afresh: the task was already completed.  A's next step goes through."""
    from datetime import datetime
    from engine.clock import FixedClock
    from engine.config import Settings
    from engine.errors import TaskStateError
    from engine.service import Service
    from onetrip_testing import setup_people

    setup_people(cli)
    code = cli.json(f"process upload {sample_bpmn} --label after", user="李设计")["matter_code"]
    clock = FixedClock(datetime(2026, 3, 2, 9, 0))
    a = Service(Settings(db_url=cli.db_url, user=None, clock=clock))
    b = Service(Settings(db_url=cli.db_url, user=None, clock=clock))
    users = {"政务服务中心综合窗口": "王窗口", "公安局": "赵警官"}

    def complete(svc, ref, lane):
        return _acting(svc, users[lane])("complete_task", ref, {})

    case = _acting(a, "王窗口")("start_case", code)
    r = complete(a, case["ready"][0]["id"], case["ready"][0]["lane"])      # A keeps the case warm
    [t] = r["ready"]
    after_b = complete(b, t["id"], t["lane"])                               # B moves it on
    shown = cli.json(f"case show {case['id']}")
    with pytest.raises(TaskStateError, match="already completed"):
        complete(a, t["id"], t["lane"])
    assert cli.json(f"case show {case['id']}") == shown
    [nxt] = after_b["ready"]
    assert complete(a, nxt["id"], nxt["lane"])["revision"] == shown["revision"] + 1
    assert cli.json("audit verify", user="admin")["ok"]
    a.dispose()
    b.dispose()

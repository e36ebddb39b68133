"""Conformance: seeded deviations are flagged, clean cases are not (SQLite and PostgreSQL)."""
from __future__ import annotations

import sys

import pytest
from sqlalchemy import create_engine, delete, insert, select

from engine.store import TaskEvent
from onetrip_testing import CliHarness, setup_people

WINDOW_CLERK, POLICE_CLERK = "王窗口", "赵警官"
CLERK = {"Accept": WINDOW_CLERK, "Supplement": WINDOW_CLERK, "Deliver": WINDOW_CLERK,
         "Review": POLICE_CLERK, "Issue": POLICE_CLERK}


def _run_case(cli, day: int, *, onsite_review=False, returns=0, deliver_on: int | None = None) -> int:
    """One case of the sample model (受理 → 审核 [→ 补正 → 审核] → 制证 → 领证) from 2026-03-0{day}."""
    at = lambda d, h: f"2026-03-{d:02d}T{h:02d}:00"  # noqa: E731
    case = cli.json("case start JZZSAMPLE --label before", user=WINDOW_CLERK, now=at(day, 9))["id"]
    hour, returned = 10, 0
    while True:
        tasks = cli.json(["task", "list", "--all", "--case", str(case)])
        if not tasks:
            return case
        t = tasks[0]
        d = deliver_on if (t["task"] == "Deliver" and deliver_on) else day
        args = ["task", "complete", t["id"]]
        if t["task"] == "Review" and returned < returns:
            args = ["task", "return", t["id"], "--reason", "缺少照片"]
            returned += 1
        elif t["task"] == "Review" and onsite_review:
            args.append("--onsite")
        cli.ok(args, user=CLERK[t["task"]], now=at(d, hour))
        hour += 1


@pytest.fixture
def seeded(cli, sample_bpmn):
    setup_people(cli)
    cli.ok(["process", "upload", str(sample_bpmn), "--label", "before"], user="李设计")
    ids = {
        "clean": _run_case(cli, 2),
        "clean2": _run_case(cli, 3),
        "extra_trip": _run_case(cli, 4, onsite_review=True),
        "late": _run_case(cli, 5, deliver_on=25),
        "skipped": _run_case(cli, 6),
        "added": _run_case(cli, 9),
        "returned_twice": _run_case(cli, 10, returns=2),
    }
    eng = create_engine(cli.db_url.replace("postgresql://", "postgresql+psycopg://"))
    with eng.begin() as conn:      # seeded deviations in the log: a lost 制证 record, a duplicated 审核
        conn.execute(delete(TaskEvent).where(TaskEvent.case_id == ids["skipped"], TaskEvent.task_name == "Issue"))
        row = conn.execute(select(TaskEvent).where(TaskEvent.case_id == ids["added"],
                                                   TaskEvent.task_name == "Review")).mappings().one()
        extra = {k: v for k, v in row.items() if k != "id"} | {"seq": 99}
        conn.execute(insert(TaskEvent), extra)
    eng.dispose()
    return ids


def test_seeded_deviations_are_flagged_and_clean_cases_are_not(cli, seeded):
    result = cli.json("conformance JZZSAMPLE", now="2026-04-30T09:00")
    by_case = {c["case"]: c for c in result["cases"]}
    kinds = {name: sorted({d["kind"] for d in by_case[cid]["deviations"]}) for name, cid in seeded.items()}
    assert kinds == {
        "clean": [], "clean2": [],
        "extra_trip": ["extra_trip"],
        "late": ["late"],
        "skipped": ["skipped_step"],
        "added": ["added_step"],
        "returned_twice": ["extra_return", "extra_trip"],     # two 补正 visits on top of the two promised
    }
    fitness = {name: by_case[cid]["fitness"] for name, cid in seeded.items()}
    assert fitness["clean"] == fitness["late"] == fitness["extra_trip"] == fitness["returned_twice"] == 1.0
    assert fitness["skipped"] == pytest.approx(3 / 4, abs=1e-3)      # 3 synchronous moves, 1 model-only
    assert fitness["added"] == pytest.approx(4 / 5, abs=1e-3)        # 4 synchronous moves, 1 log-only
    skipped = by_case[seeded["skipped"]]["deviations"][0]
    assert (skipped["step"], skipped["name"]) == ("Issue", "制证")
    [matter] = result["matters"]
    assert (matter["cases"], matter["conforming"]) == (7, 2)
    assert matter["conforming_share"] == round(2 / 7, 3)
    assert {d["kind"] for d in matter["top_deviations"]} == {"extra_trip", "late", "skipped_step", "added_step",
                                                            "extra_return"}


def test_conformance_table_and_compare_stored(cli, seeded):
    r = cli.ok("conformance", now="2026-04-30T09:00")
    assert "JZZSAMPLE" in r.stdout and "28.6%" in r.stdout
    assert f"case {seeded['skipped']} (JZZSAMPLE before, fitness 0.75): step 制证 (Issue) was skipped" in r.stdout
    data = cli.json("compare --stored", now="2026-04-30T09:00")
    [row] = data["matters"]
    assert row["measured"]["before"]["conforming_share"] == round(2 / 7, 3)


def test_pm4py_agrees_on_the_clean_and_the_skipped_case(cli, seeded):
    pytest.importorskip("pm4py", reason="the mining extra is not installed")
    result = cli.json("conformance --pm4py", now="2026-04-30T09:00")
    by_case = {c["case"]: c for c in result["cases"]}
    assert by_case[seeded["clean"]]["pm4py_fitness"] == 1.0
    assert by_case[seeded["returned_twice"]]["pm4py_fitness"] == 1.0
    assert by_case[seeded["skipped"]]["pm4py_fitness"] < 1.0
    assert by_case[seeded["added"]]["pm4py_fitness"] < 1.0


def test_conformance_errors_are_one_line(sqlite_cli, monkeypatch):
    setup_people(sqlite_cli)
    r = sqlite_cli("conformance NOPE")
    assert (r.exit_code, r.stderr.strip()) == (1, "Error: no matter NOPE")
    empty = sqlite_cli.json("conformance")
    assert empty == {"matters": [], "cases": []}
    monkeypatch.setitem(sys.modules, "pm4py", None)       # as if the mining extra were not installed
    r = sqlite_cli("conformance --pm4py")
    assert r.exit_code == 1
    assert r.stderr.strip() == ("Error: conformance --pm4py needs PM4Py, which is not installed: "
                                "pip install -e '.[mining]'")


def test_a_descriptive_version_is_left_out(tmp_path):
    from engine.mining.conformance import version_facts
    from types import SimpleNamespace
    assert version_facts(SimpleNamespace(executable=False, spec_json=None, metrics={})) is None


def test_cli_harness_is_real(sqlite_url):
    # The conformance command is registered on the real CLI and documented with an example.
    r = CliHarness(sqlite_url)("conformance --help")
    assert r.exit_code == 0 and "Example" in r.stdout


def test_compare_beyond_the_replay_limit_checks_promises_only(cli, seeded, monkeypatch):
    import engine.service.mining as mining_service
    monkeypatch.setattr(mining_service, "REPLAY_LIMIT", 3)
    [row] = cli.json("compare --stored", now="2026-04-30T09:00")["matters"]
    measured = row["measured"]["before"]
    assert measured["conformance_checks"] == "promises only"
    assert measured["mean_fitness"] is None
    # skipped and added steps need the replay; the extra trip, the late case and the double return do not
    assert measured["conforming_share"] == round(4 / 7, 3)

"""Measured metrics from real cases, in China's working days, computed in SQL."""
from __future__ import annotations

import json

import pytest

from onetrip_testing import POLICE, WINDOW, setup_people

LANE_USER = {WINDOW: "王窗口", POLICE: "赵警官"}


def run_case(cli, start: str, steps: list[tuple[str, str]]) -> int:
    """Start a case at `start`; then for each (time, action) complete the one ready task
    ('c' complete, 'r' return for correction)."""
    case = cli.json("case start JZZSAMPLE", user="王窗口", now=start)["id"]
    for at, action in steps:
        [task] = cli.json(["task", "list", "--all", "--case", str(case)])
        verb = ["task", "complete", task["id"]] if action == "c" else ["task", "return", task["id"], "--reason", "缺件"]
        cli.ok(verb, user=LANE_USER[task["lane"]], now=at)
    return case


@pytest.fixture
def four_cases(cli, sample_bpmn):
    setup_people(cli)
    cli.ok(f"process upload {sample_bpmn} --label after", user="李设计")
    # 1: accepted Mon 2 March 2026, completed Wed 4 March: 2 working days.
    run_case(cli, "2026-03-02T09:00", [("2026-03-02T10:00", "c"), ("2026-03-03T10:00", "c"),
                                       ("2026-03-03T11:00", "c"), ("2026-03-04T09:00", "c")])
    # 2: returned on 3 March, applicant supplemented on Fri 6 March (clock stopped 3 working days:
    #    4, 5, 6 March), completed Mon 16 March: 10 working days elapsed - 3 paused = 7 (on time).
    run_case(cli, "2026-03-02T09:00", [("2026-03-02T10:00", "c"), ("2026-03-03T10:00", "r"),
                                       ("2026-03-06T10:00", "c"), ("2026-03-09T10:00", "c"),
                                       ("2026-03-12T10:00", "c"), ("2026-03-16T10:00", "c")])
    # 3: completed Fri 20 March: 14 working days > 7 promised: overdue.
    run_case(cli, "2026-03-02T09:00", [("2026-03-02T10:00", "c"), ("2026-03-10T10:00", "c"),
                                       ("2026-03-18T11:00", "c"), ("2026-03-20T09:00", "c")])
    # 4: still open; due 11 March (7 working days after 2 March), today is 20 March: overdue.
    run_case(cli, "2026-03-02T09:00", [("2026-03-02T10:00", "c")])
    return cli


def test_matter_metrics(four_cases):
    r = four_cases.ok("metrics --format json", now="2026-03-20T18:00")
    [m] = json.loads(r.stdout)["matters"]
    assert (m["matter_code"], m["label"], m["cases"], m["completed"], m["open"]) == ("JZZSAMPLE", "after", 4, 3, 1)
    assert m["mean_workdays"] == pytest.approx(7.67, abs=0.01)       # (2 + 7 + 14) / 3
    assert (m["median_workdays"], m["p90_workdays"]) == (7, 14)     # nearest rank
    assert m["on_time_rate"] == pytest.approx(0.667, abs=0.001)      # cases 1 and 2
    assert m["overdue"] == 2                                         # case 3 late, case 4 past due
    assert m["mean_trips"] == pytest.approx(2.33, abs=0.01)         # 2, 3 (supplement onsite), 2
    assert m["mean_steps"] == pytest.approx(4.67, abs=0.01)         # 4, 6, 4
    assert m["mean_returns"] == 0.25
    assert m["mean_materials"] == 3                                  # id_card, residence_proof, photo


def test_case_list_sorts_by_due_date_and_flags_overdue(four_cases):
    cases = four_cases.json("case list --status open", now="2026-03-20T18:00")
    assert [(c["due_date"], c["overdue"]) for c in cases] == [("2026-03-11", True)]
    all_cases = four_cases.json("case list", now="2026-03-20T18:00")
    dues = [c["due_date"] for c in all_cases]
    assert dues == sorted(dues)
    # case 2's due date moved by the 3 paused working days: 11 March -> 16 March
    assert {c["id"]: c["due_date"] for c in all_cases}[2] == "2026-03-16"
    assert {c["id"]: c["overdue"] for c in all_cases} == {1: False, 2: False, 3: True, 4: True}


def test_metrics_filters_and_formats(four_cases):
    r = four_cases.ok("metrics --since 2026-03-03 --format json", now="2026-03-20T18:00")
    assert '"matters": []' in r.stdout
    csv_out = four_cases.ok("metrics --format csv", now="2026-03-20T18:00").stdout
    assert csv_out.startswith("\ufeff事项编码,") and "JZZSAMPLE,居住证办理,after,4,3" in csv_out
    table = four_cases.ok("metrics", now="2026-03-20T18:00").stdout
    assert "JZZSAMPLE" in table and "66.7%" in table
    bad = four_cases("metrics --matter NOPE")
    assert bad.exit_code == 1 and bad.stderr.strip() == "Error: no matter NOPE"
    bad = four_cases("metrics --since 2026-13-01")
    assert bad.exit_code == 1 and "bad date '2026-13-01'" in bad.stderr


def test_deadline_in_2027_warns_and_does_not_crash(cli, sample_bpmn, tmp_path):
    setup_people(cli)
    cli.ok(f"process upload {sample_bpmn} --label after", user="李设计")
    case = cli.json("case start JZZSAMPLE", user="王窗口", now="2026-12-28T09:00")
    # 7 working days, Mon-Fri fallback for 2027 (1 Jan is a weekday Friday, counted as working day)
    assert case["due_date"] == "2027-01-06"
    r = cli.ok("metrics --format json", now="2027-01-04T09:00")
    assert "no official holiday calendar for 2027" in r.stderr
    notice = tmp_path / "2027.toml"
    notice.write_text('year = 2027\nholidays = ["2027-01-01"]\nworkdays = []\n', encoding="utf-8")
    cli.ok(["calendar", "import", str(notice)], user="admin")
    r = cli.ok("metrics --format json", now="2027-01-04T09:00")
    assert "no official holiday calendar for 2027" not in r.stderr
    case2 = cli.json("case start JZZSAMPLE", user="王窗口", now="2026-12-28T09:00")
    assert case2["due_date"] == "2027-01-07"      # 1 Jan 2027 is now a holiday

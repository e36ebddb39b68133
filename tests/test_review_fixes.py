"""Rules a code review asked for: corrections only through `task return`, re-uploading an older
model makes it current, a holiday notice moves open cases' due dates, the worker is an admin's."""
from __future__ import annotations

import pytest

from onetrip_testing import setup_people


@pytest.fixture
def office(sqlite_cli, sample_bpmn):
    setup_people(sqlite_cli)
    sqlite_cli.ok(f"process upload {sample_bpmn} --label after", user="李设计")
    return sqlite_cli


def test_returned_is_set_only_by_task_return(office):
    case = office.json("case start JZZSAMPLE", user="王窗口")
    r = office(["task", "complete", case["ready"][0]["id"], "--data", "returned=true"], user="王窗口")
    assert r.exit_code == 1
    assert "--data returned is set by onetrip" in r.stderr and "task return" in r.stderr
    assert office.json(f"case show {case['id']}")["ready"] == case["ready"]      # nothing happened


def test_reuploading_an_older_model_makes_it_current_again(office, sample_bpmn, tmp_path):
    v2 = tmp_path / "v2.bpmn"
    v2.write_text(sample_bpmn.read_text(encoding="utf-8").replace('name="审核"', 'name="审核（新）"'),
                  encoding="utf-8")
    first = office.json("process list --matter JZZSAMPLE")[0]
    office.ok(f"process upload {v2} --label after", user="李设计")
    assert office.json("case start JZZSAMPLE", user="王窗口")["version"] != first["id"]
    again = office.json(f"process upload {sample_bpmn} --label after", user="李设计")
    assert again["id"] == first["id"] and again["created"] is False and again["reactivated"] is True
    assert office.json("case start JZZSAMPLE", user="王窗口")["version"] == first["id"]
    assert "made current again: version" in office.ok(f"process upload {v2} --label after", user="李设计").stdout


def test_holiday_notice_moves_open_due_dates(office, tmp_path):
    case = office.json("case start JZZSAMPLE", user="王窗口", now="2026-12-28T09:00")
    assert case["due_date"] == "2027-01-06"                      # Monday-Friday fallback for 2027
    notice = tmp_path / "2027.toml"
    notice.write_text('year = 2027\nholidays = ["2027-01-01", "2027-01-04..2027-01-05"]\n', encoding="utf-8")
    r = office.json(["calendar", "import", str(notice)], user="admin")
    assert r["due_dates_moved"] == 1
    assert office.json(f"case show {case['id']}")["due_date"] == "2027-01-11"


def test_case_start_warns_about_a_year_without_official_calendar(office):
    r = office("case start JZZSAMPLE", user="王窗口", now="2026-12-28T09:00")
    assert r.exit_code == 0 and "no official holiday calendar for 2027" in r.stderr
    quiet = office("case start JZZSAMPLE", user="王窗口", now="2026-03-02T09:00")
    assert quiet.stderr == ""


@pytest.mark.parametrize("user, message", [(None, "no acting user"),
                                           ("王窗口", "王窗口 is a clerk; only admins may run the worker")])
def test_worker_is_run_by_an_admin(office, user, message):
    r = office("worker --once", user=user)
    assert r.exit_code == 1 and message in r.stderr


def test_compare_and_metrics_take_json(office):
    assert office.json("metrics") == {"matters": []}
    assert office.json("compare --stored")["totals"]["matters"] == 0


def test_analyzing_a_stored_version_gives_the_file_figures(office, sample_bpmn):
    [from_file] = office.json(["process", "analyze", str(sample_bpmn)])
    [stored] = office.json("process analyze 1")
    assert stored["version"] == 1 and stored["label"] == "after"
    for key in ("steps", "materials", "visits", "promised_workdays", "applicant_materials", "findings"):
        assert stored[key] == from_file[key], key

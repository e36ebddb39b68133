"""Due dates follow the official holiday calendar: a notice imported later moves open cases'
due dates, and a case due in a year without one says so."""
from __future__ import annotations


def test_holiday_notice_moves_open_due_dates(sample_office, tmp_path):
    case = sample_office.json("case start JZZSAMPLE", user="王窗口", now="2026-12-28T09:00")
    assert case["due_date"] == "2027-01-06"                      # Monday-Friday fallback for 2027
    notice = tmp_path / "2027.toml"
    notice.write_text('year = 2027\nholidays = ["2027-01-01", "2027-01-04..2027-01-05"]\n', encoding="utf-8")
    r = sample_office.json(["calendar", "import", str(notice)], user="admin")
    assert r["due_dates_moved"] == 1
    assert sample_office.json(f"case show {case['id']}")["due_date"] == "2027-01-11"


def test_case_start_warns_about_a_year_without_official_calendar(sample_office):
    r = sample_office("case start JZZSAMPLE", user="王窗口", now="2026-12-28T09:00")
    assert r.exit_code == 0 and "no official holiday calendar for 2027" in r.stderr
    quiet = sample_office("case start JZZSAMPLE", user="王窗口", now="2026-03-02T09:00")
    assert quiet.stderr == ""

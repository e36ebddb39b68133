"""Tests for engine.workdays against the real chinese_calendar data (no mocks).

Facts used below, read from chinese_calendar 1.11.0's tables:

* 2026 Spring Festival: days off Sun 02-15 .. Mon 02-23; make-up working days Sat 02-14, Sat 02-28.
* 2026 Mid-autumn: days off Fri 09-25 .. Sun 09-27.
* 2026 National Day: days off Thu 10-01 .. Wed 10-07; make-up working days Sun 09-20, Sat 10-10.
* 2025 Spring Festival: make-up working days Sun 01-26, Sat 02-08.
* March 2026 has no holidays or make-up days.
"""
from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import CalendarError
from engine.workdays import HolidayYear, WorkCalendar, parse_holiday_file, parse_holiday_text

D = date

HOLIDAYS_2027 = """\
# 国务院办公厅关于2027年部分节假日安排的通知
year = 2027
holidays = ["2027-01-01", "2027-02-06..2027-02-12", "2027-10-01..2027-10-07"]
workdays = ["2027-02-14", "2027-10-09"]
"""


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(n) for n in range((last - first).days + 1)]


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar()


# --------------------------------------------------------------------------- official data


def test_matches_chinese_calendar_for_every_supported_day(cal):
    for day in days(D(2004, 1, 1), D(2026, 12, 31)):
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
    assert cal.fallback_years == frozenset()
    assert cal.warnings() == []


@pytest.mark.parametrize("day", [D(2026, 2, 14), D(2026, 2, 28), D(2026, 10, 10), D(2025, 2, 8)])
def test_make_up_saturday_is_a_workday(cal, day):
    assert day.weekday() == 5 and day in chinese_calendar.workdays
    assert cal.is_workday(day)
    assert cal.is_workday(datetime.combine(day, datetime.min.time().replace(hour=9)))


def test_make_up_sunday_is_a_workday(cal):
    assert D(2026, 9, 20).weekday() == 6 and cal.is_workday(D(2026, 9, 20))
    assert not cal.is_workday(D(2026, 9, 13))  # an ordinary Sunday


def test_spring_festival_2026_is_off(cal):
    festival = days(D(2026, 2, 15), D(2026, 2, 23))
    assert all(day in chinese_calendar.holidays for day in festival)
    assert not any(cal.is_workday(day) for day in festival)
    assert cal.is_workday(D(2026, 2, 13)) and cal.is_workday(D(2026, 2, 24))


def test_deadline_across_spring_festival_2026(cal):
    # Accepted Fri 02-13 (day 0): 1 = Sat 02-14 (make-up day), 02-15..02-23 off,
    # 2 = Tue 02-24, 3 = Wed 02-25.
    assert cal.add_workdays(D(2026, 2, 13), 3) == D(2026, 2, 25)
    # Accepted Thu 02-12: 1 = Fri 02-13, 2 = Sat 02-14, 3 = Tue 02-24, 4 = Wed 02-25, 5 = Thu 02-26.
    assert cal.add_workdays(D(2026, 2, 12), 5) == D(2026, 2, 26)
    # 20 working days from Fri 02-13: 02-14, then 02-24..02-27 (4) = 5, Sat 02-28 = 6,
    # 03-02..06 = 11, 03-09..13 = 16, 03-16..19 = 20 -> Thu 03-19.
    assert cal.add_workdays(D(2026, 2, 13), 20) == D(2026, 3, 19)
    assert cal.workdays_between(D(2026, 2, 13), D(2026, 3, 19)) == 20


def test_national_day_2026(cal):
    assert not any(cal.is_workday(day) for day in days(D(2026, 10, 1), D(2026, 10, 7)))
    # Accepted Wed 09-30: 10-01..10-07 off -> 1 = Thu 10-08, 2 = Fri 10-09, 3 = Sat 10-10 (make-up).
    assert cal.add_workdays(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert cal.add_workdays(D(2026, 9, 30), 3) == D(2026, 10, 10)
    # Accepted Thu 09-24: Fri 09-25 is Mid-autumn, then the weekend -> Mon 09-28.
    assert cal.add_workdays(D(2026, 9, 24), 1) == D(2026, 9, 28)
    # Accepted Fri 09-18: Sat 09-19 off, Sun 09-20 is a make-up working day.
    assert cal.add_workdays(D(2026, 9, 18), 1) == D(2026, 9, 20)


def test_day_zero(cal):
    assert cal.add_workdays(D(2026, 3, 4), 0) == D(2026, 3, 4)
    assert cal.add_workdays(D(2026, 2, 16), 0) == D(2026, 2, 16)  # even on a holiday (即办件)
    friday, monday = D(2026, 3, 6), D(2026, 3, 9)
    assert friday.weekday() == 4 and cal.is_workday(monday)
    assert cal.add_workdays(friday, 1) == monday
    assert cal.workdays_between(friday, friday) == 0
    assert cal.workdays_between(friday, monday) == 1


def test_negative_limit_is_an_error(cal):
    with pytest.raises(CalendarError, match="negative"):
        cal.add_workdays(D(2026, 3, 4), -1)


def test_workdays_between_backwards_is_zero(cal):
    assert cal.workdays_between(D(2026, 3, 9), D(2026, 3, 2)) == 0


# --------------------------------------------------------------------------- fallback and imports


def test_deadline_into_2027_falls_back_to_monday_to_friday(cal):
    # Accepted Thu 2026-12-24: 1 = Fri 12-25, 2..5 = Mon 12-28..Thu 12-31, then Mon–Fri in 2027:
    # 6 = Fri 01-01 (no holiday known!), 7..10 = Mon 01-04..Thu 01-07.
    assert cal.add_workdays(D(2026, 12, 24), 10) == D(2027, 1, 7)
    assert cal.add_workdays(D(2026, 12, 24), 12) == D(2027, 1, 11)
    assert cal.is_workday(D(2027, 1, 1))
    assert cal.fallback_years == {2027}
    [warning] = cal.warnings()
    assert warning.startswith("warning: no official holiday calendar for 2027;")
    assert "onetrip calendar import FILE" in warning


def test_no_warning_when_fallback_not_used(cal):
    assert cal.add_workdays(D(2026, 12, 24), 5) == D(2026, 12, 31)
    assert cal.add_workdays(D(2027, 3, 1), 0) == D(2027, 3, 1)
    assert cal.warnings() == []


def test_imported_2027_changes_result_and_removes_warning():
    cal = WorkCalendar([parse_holiday_text(HOLIDAYS_2027, "2027.toml")])
    # As above but Fri 2027-01-01 is now New Year's Day: 6 = Mon 01-04, ..., 10 = Fri 01-08.
    assert cal.add_workdays(D(2026, 12, 24), 10) == D(2027, 1, 8)
    assert not cal.is_workday(D(2027, 2, 8)) and cal.is_workday(D(2027, 2, 14))  # a Sunday
    assert cal.fallback_years == frozenset()
    assert cal.warnings() == []
    assert cal.covers(2027)


def test_imported_year_replaces_package_year():
    cal = WorkCalendar([HolidayYear(2026, frozenset(), frozenset())])
    assert cal.is_workday(D(2026, 2, 16))  # was Spring Festival
    assert not cal.is_workday(D(2026, 2, 14))  # was a make-up Saturday
    assert not cal.is_workday(D(2025, 2, 3)) and cal.is_workday(D(2025, 2, 8))  # 2025 untouched


def test_later_import_of_same_year_wins():
    off = HolidayYear(2027, frozenset({D(2027, 1, 1)}), frozenset())
    on = HolidayYear(2027, frozenset(), frozenset())
    assert WorkCalendar([on, off]).is_workday(D(2027, 1, 1)) is False
    assert WorkCalendar([off, on]).is_workday(D(2027, 1, 1)) is True


def test_covers():
    cal = WorkCalendar([HolidayYear(2030, frozenset(), frozenset())])
    assert all(cal.covers(year) for year in range(2004, 2027))
    assert cal.covers(2030)
    assert not cal.covers(2003) and not cal.covers(2027) and not cal.covers(2029)
    assert cal.fallback_years == frozenset()


def test_fallback_before_2004(cal):
    assert cal.workdays_between(D(2003, 12, 26), D(2004, 1, 2)) == 4  # 12-29..12-31, then 01-02
    assert cal.fallback_years == {2003}


def test_extreme_dates_never_crash(cal):
    assert cal.is_workday(date.min) is True  # 0001-01-01 was a Monday
    assert cal.is_workday(date.max) is True  # 9999-12-31 is a Friday
    assert cal.workdays_between(date.min, date.max) > 0
    assert cal.add_workdays(date.min, 1) == D(1, 1, 2)
    assert cal.add_workdays(date.max - timedelta(10), 3) == D(9999, 12, 24)
    assert cal.day_rows(date.max, date.max) == [(date.max, True, 1)]
    with pytest.raises(CalendarError, match="9999-12-31"):
        cal.add_workdays(date.max - timedelta(3), 10)
    with pytest.raises(CalendarError):
        cal.add_workdays(D(2026, 1, 5), 10**12)


# --------------------------------------------------------------------------- clock stops


def test_elapsed_with_a_pause(cal):
    accepted, now = datetime(2026, 3, 2, 9, 0), datetime(2026, 3, 20, 17, 0)
    # (Mon 03-02, Fri 03-20]: 03-03..06 (4) + 03-09..13 (5) + 03-16..20 (5) = 14.
    assert cal.elapsed_workdays(accepted, now) == 14
    # Waiting on the applicant (Wed 03-04 10:00, Tue 03-10 15:00]: Thu 05, Fri 06, Mon 09, Tue 10.
    pause = (datetime(2026, 3, 4, 10), datetime(2026, 3, 10, 15))
    assert cal.elapsed_workdays(accepted, now, [pause]) == 14 - 4


def test_elapsed_with_overlapping_pauses(cal):
    accepted, now = D(2026, 3, 2), D(2026, 3, 20)
    pauses = [(D(2026, 3, 9), D(2026, 3, 12)), (D(2026, 3, 4), D(2026, 3, 10)),
              (D(2026, 3, 5), D(2026, 3, 6))]
    # Union (03-04, 03-12]: 05, 06, 09, 10, 11, 12 -> 6 days, each once.
    assert cal.elapsed_workdays(accepted, now, pauses) == 14 - 6
    # Adjacent pauses (03-04, 03-06] and (03-06, 03-10] also make 4.
    adjacent = [(D(2026, 3, 6), D(2026, 3, 10)), (D(2026, 3, 4), D(2026, 3, 6))]
    assert cal.elapsed_workdays(accepted, now, adjacent) == 14 - 4


def test_elapsed_with_open_and_clipped_pauses(cal):
    accepted, now = D(2026, 3, 2), D(2026, 3, 20)
    assert cal.elapsed_workdays(accepted, now, [(D(2026, 3, 16), None)]) == 14 - 4
    # Starting before acceptance / ending after now: clipped to (accepted, now].
    assert cal.elapsed_workdays(accepted, now, [(D(2026, 2, 1), D(2026, 3, 3))]) == 14 - 1
    assert cal.elapsed_workdays(accepted, now, [(D(2026, 3, 19), D(2026, 4, 30))]) == 14 - 1
    assert cal.elapsed_workdays(accepted, now, [(D(2026, 1, 1), D(2026, 1, 31))]) == 14
    assert cal.elapsed_workdays(accepted, now, [(accepted, now)]) == 0
    # An open pause that starts after `now` has no effect yet.
    assert cal.elapsed_workdays(accepted, now, [(D(2026, 3, 25), None)]) == 14


def test_elapsed_pause_over_spring_festival_only_stops_working_days(cal):
    # (02-13, 02-27] has working days 02-14, 02-24..27 = 5; pause (02-13, 02-24] covers 2 of them.
    assert cal.elapsed_workdays(D(2026, 2, 13), D(2026, 2, 27),
                                [(D(2026, 2, 13), D(2026, 2, 24))]) == 3


def test_backwards_pause_is_an_error(cal):
    with pytest.raises(CalendarError, match="pause"):
        cal.elapsed_workdays(D(2026, 3, 2), D(2026, 3, 20), [(D(2026, 3, 10), D(2026, 3, 4))])


# --------------------------------------------------------------------------- calendar table


def test_day_rows_seq_matches_workdays_between(cal):
    rows = cal.day_rows(D(2025, 1, 1), D(2027, 12, 31))
    assert [row[0] for row in rows] == days(D(2025, 1, 1), D(2027, 12, 31))
    assert rows[0] == (D(2025, 1, 1), False, 0)  # New Year's Day
    assert all(working == cal.is_workday(day) for day, working, _ in rows)
    seq = {day: s for day, _, s in rows}
    rng = random.Random(20260216)
    for _ in range(500):
        a, b = sorted(rng.sample(list(seq), 2))
        assert seq[b] - seq[a] == cal.workdays_between(a, b), (a, b)
    assert cal.fallback_years == {2027}


def test_day_rows_empty_when_reversed(cal):
    assert cal.day_rows(D(2026, 3, 2), D(2026, 3, 1)) == []


# --------------------------------------------------------------------------- holiday files


def test_parse_example_file(tmp_path):
    path = tmp_path / "2027.toml"
    path.write_text(HOLIDAYS_2027, encoding="utf-8")
    hy = parse_holiday_file(path)
    assert hy.year == 2027 and hy.source == str(path)
    assert hy.holidays == {D(2027, 1, 1), *days(D(2027, 2, 6), D(2027, 2, 12)),
                           *days(D(2027, 10, 1), D(2027, 10, 7))}
    assert hy.workdays == {D(2027, 2, 14), D(2027, 10, 9)}


def test_parse_accepts_bom_bare_dates_and_missing_lists(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes("\ufeffyear = 2027\nholidays = [2027-01-01]\n".encode())
    hy = parse_holiday_file(path)
    assert hy.holidays == {D(2027, 1, 1)} and hy.workdays == frozenset()


BAD_FILES = [
    # (case, text, line or None, fragment of the message)
    ("toml syntax", 'year = 2027\nholidays = ["2027-01-01"\nworkdays = []\n', 3, "invalid TOML"),
    ("toml value", 'year = 2027\nholidays = []\nworkdays = [,]\n', 3, "invalid TOML"),
    ("missing year", '# 2027\nholidays = ["2027-01-01"]\n', None, "missing `year`"),
    ("year as string", '# the year\nyear = "2027"\n', 2, "`year` must be an integer"),
    ("year out of range", "year = 0\n", 1, "`year` must be an integer"),
    ("impossible date", 'year = 2027\nholidays = [\n  "2027-01-01",\n  "2027-02-30",\n]\n', 4,
     "bad date '2027-02-30'"),
    ("wrong format", 'year = 2027\nholidays = ["2027-01-01"]\nworkdays = ["2027/02/14"]\n', 3,
     "bad date"),
    ("half range", 'year = 2027\n\nholidays = ["2027-01-01.."]\n', 3, "bad date"),
    ("not a date", 'year = 2027\nholidays = [\n  5,\n]\n', 2, "bad entry 5"),
    ("other year", '# 2027 notice\nyear = 2027\nholidays = ["2026-12-31"]\n', 3,
     "2026-12-31 is not in 2027"),
    ("range across years", 'year = 2027\nholidays = ["2027-12-31..2028-01-01"]\n', 2,
     "is not in 2027"),
    ("reversed range", 'year = 2027\nholidays = ["2027-02-12..2027-02-06"]\n', 2,
     "ends before it starts"),
    ("both", 'year = 2027\nholidays = ["2027-02-06..2027-02-14"]\nworkdays = ["2027-02-14"]\n', 3,
     "2027-02-14 is listed as both a holiday and a workday"),
    ("not a list", 'year = 2027\nworkdays = "2027-02-14"\n', 2, "`workdays` must be a list"),
    ("unknown key", 'year = 2027\n\nholiday = ["2027-01-01"]\n', 3, "unknown key `holiday`"),
    ("unknown table", "year = 2027\n[notice]\ntitle = 'x'\n", 2, "unknown key `notice`"),
]


@pytest.mark.parametrize(("text", "line", "message"), [case[1:] for case in BAD_FILES],
                         ids=[case[0] for case in BAD_FILES])
def test_bad_holiday_file(tmp_path, text, line, message):
    path = tmp_path / "notice-2027.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalendarError) as raised:
        parse_holiday_file(path)
    error = raised.value
    assert message in str(error)
    assert "notice-2027.toml" in str(error)
    assert error.line == line
    if line is not None:
        assert f"notice-2027.toml:{line}: " in str(error)
    else:
        assert not re.search(r"notice-2027\.toml:\d", str(error))


def test_unreadable_holiday_file(tmp_path):
    with pytest.raises(CalendarError, match="missing.toml"):
        parse_holiday_file(tmp_path / "missing.toml")
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"year = 2027 # \xe9\n")
    with pytest.raises(CalendarError, match="latin1.toml"):
        parse_holiday_file(path)


def test_holiday_year_checks_its_dates():
    with pytest.raises(CalendarError, match="not in 2027"):
        HolidayYear(2027, frozenset({D(2026, 12, 31)}), frozenset())
    with pytest.raises(CalendarError, match="both"):
        HolidayYear(2027, frozenset({D(2027, 2, 14)}), frozenset({D(2027, 2, 14)}))


# --------------------------------------------------------------------------- property

PROPERTY_CALENDAR = WorkCalendar()


@settings(max_examples=500, deadline=None)
@given(start=st.dates(min_value=D(2004, 1, 1), max_value=D(2030, 12, 31)),
       n=st.integers(min_value=0, max_value=60))
def test_add_then_count_round_trips(start, n):
    due = PROPERTY_CALENDAR.add_workdays(start, n)
    assert PROPERTY_CALENDAR.workdays_between(start, due) == n
    if n > 0:
        assert due > start
        assert PROPERTY_CALENDAR.is_workday(due)
    else:
        assert due == start


def test_add_workdays_matches_a_day_by_day_walk():
    # An odd imported year too: a whole holiday month, weekend make-up days in a row.
    odd = parse_holiday_text('year = 2027\nholidays = ["2027-01-01..2027-01-31"]\n'
                             'workdays = ["2027-02-06", "2027-02-07", "2027-02-13"]\n')
    cal = WorkCalendar([odd])
    rng = random.Random(7)
    for _ in range(2000):
        start = D(2025, 6, 1) + timedelta(rng.randrange(0, 3 * 365))
        n = rng.randrange(0, 45)
        due, counted = start, 0
        while counted < n:
            due += timedelta(1)
            counted += cal.is_workday(due)
        assert cal.add_workdays(start, n) == due, (start, n)
    assert cal.fallback_years == {2028}

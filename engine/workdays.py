"""China's official working-day calendar (法定工作日) for time limits.

Time limits in the Administrative Licensing Law are counted in *working days*:
Monday–Friday, except the public holidays the State Council announces each
year, plus the make-up working days (调休上班) – usually Saturdays or Sundays –
that the same notice moves into the weekend.

Sources, in order of precedence for a given year:

1. an imported holiday file (see below) for that year – it replaces everything
   else for that year, including the packaged data;
2. the data tables of the ``chinese_calendar`` package (2004–2026 for 1.11.0);
3. otherwise Monday–Friday.  This never fails, but the year is recorded in
   :attr:`WorkCalendar.fallback_years` and :meth:`WorkCalendar.warnings`
   returns a line for the caller to print.

Counting rules (see :class:`WorkCalendar`): the acceptance day is day 0; a limit
of *n* working days ends at the end of the *n*-th working day after it, and the
working days elapsed between two dates are those *d* with ``start < d <= end``.

Holiday file format
-------------------
One TOML file (UTF-8, a BOM is tolerated) per year, transcribing the State
Council notice (国务院办公厅关于XXXX年部分节假日安排的通知)::

    # 国务院办公厅关于2027年部分节假日安排的通知
    year = 2027
    holidays = ["2027-01-01", "2027-02-06..2027-02-12", "2027-10-01..2027-10-07"]
    workdays = ["2027-02-14", "2027-10-09"]

``year``
    required, an integer.
``holidays``
    days off.  Each entry is a date ``YYYY-MM-DD`` or an inclusive range
    ``YYYY-MM-DD..YYYY-MM-DD`` (bare TOML dates are accepted too).  Weekend
    days inside a range are harmless.  Optional, default empty.
``workdays``
    make-up working days (调休上班), same syntax.  Optional, default empty.

Every date must lie in ``year``, no day may be both a holiday and a workday,
and no other keys are allowed.  Violations raise
:class:`~engine.errors.CalendarError` carrying the file name and, where it can
be found, the line number.
"""
from __future__ import annotations

import functools
import os
import re
import tomllib
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate

import chinese_calendar

from engine.errors import CalendarError

__all__ = ["HolidayYear", "WorkCalendar", "parse_holiday_file", "parse_holiday_text"]

_MAX_ORDINAL = date.max.toordinal()
_ALLOWED_KEYS = ("year", "holidays", "workdays")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EXPECTED = 'expected "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD"'
_TOML_LOCATION = re.compile(r"\s*\(at line (\d+), column \d+\)\s*$")

_Fail = Callable[[str, int | None], CalendarError]  # builds an error located in the file

_WARNING = ("warning: no official holiday calendar for {years}; counting Monday–Friday as working "
            "days (import the State Council notice with `onetrip calendar import FILE`)")


# --------------------------------------------------------------------------- imported years


@dataclass(frozen=True)
class HolidayYear:
    """One year's holiday arrangement, as imported from a State Council notice.

    ``holidays`` are days off (weekend days among them are harmless);
    ``workdays`` are make-up working days (调休上班).  Sets passed in are
    frozen; every day must lie in ``year`` and the two sets must be disjoint.
    """

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str = ""

    def __post_init__(self) -> None:
        """Freeze the day sets and check them; raises CalendarError."""
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        stray = sorted(d for d in self.holidays | self.workdays if d.year != self.year)
        if stray:
            raise CalendarError(f"{stray[0]} is not in {self.year}", file=self.source or None)
        both = self.holidays & self.workdays
        if both:
            raise CalendarError(f"{min(both)} is listed as both a holiday and a workday",
                                file=self.source or None)


def parse_holiday_file(path: str | os.PathLike[str]) -> HolidayYear:
    """Read a holiday file (format in the module docstring); ``source`` is the path."""
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8-sig") as f:
            text = f.read()
    except OSError as e:
        raise CalendarError(f"cannot read holiday file: {e.strerror or e}", file=source) from e
    except UnicodeDecodeError as e:
        raise CalendarError(f"holiday file is not UTF-8 text: {e.reason}", file=source) from e
    return parse_holiday_text(text, source)


def parse_holiday_text(text: str, source: str = "<string>") -> HolidayYear:
    """Parse the text of a holiday file; errors name ``source`` and the line where known."""
    text = text.removeprefix("\ufeff")

    def fail(message: str, line: int | None = None) -> CalendarError:
        return CalendarError(message, file=source, line=line)

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        message = str(e)
        where = _TOML_LOCATION.search(message)
        raise fail(f"invalid TOML: {_TOML_LOCATION.sub('', message)}",
                   int(where.group(1)) if where else None) from e

    for key in doc:
        if key not in _ALLOWED_KEYS:
            raise fail(f"unknown key `{key}` (expected {', '.join(_ALLOWED_KEYS)})",
                       _key_line(text, key))

    if "year" not in doc:
        raise fail("missing `year`")
    year = doc["year"]
    if type(year) is not int or not date.min.year <= year <= date.max.year:
        raise fail(f"`year` must be an integer between {date.min.year} and {date.max.year}, "
                   f"not {year!r}", _key_line(text, "year"))

    days = {key: _parse_days(doc.get(key, []), key, year, text, fail)
            for key in ("holidays", "workdays")}
    both = days["holidays"].keys() & days["workdays"].keys()
    if both:
        day = min(both)
        raise fail(f"{day} is listed as both a holiday and a workday",
                   _line_of(text, days["workdays"][day], _key_line(text, "workdays")))
    return HolidayYear(year, frozenset(days["holidays"]), frozenset(days["workdays"]), source)


def _parse_days(value: object, key: str, year: int, text: str, fail: _Fail) -> dict[date, str]:
    """Expand the entries of ``holidays`` or ``workdays``: each day -> the entry naming it."""
    if not isinstance(value, list):
        raise fail(f"`{key}` must be a list of dates or date ranges", _key_line(text, key))
    days: dict[date, str] = {}
    for item in value:
        raw = item.isoformat() if isinstance(item, date) else str(item)
        try:
            first, last = _parse_entry(item, year)
        except ValueError as e:
            key_line = _key_line(text, key)
            line = _line_of(text, raw, key_line) if isinstance(item, (str, date)) else None
            raise fail(f"`{key}`: {e}", line or key_line) from None
        for offset in range((last - first).days + 1):
            days.setdefault(first + timedelta(days=offset), raw)
    return days


def _parse_entry(item: object, year: int) -> tuple[date, date]:
    """First and last day of one entry (a date or an ``A..B`` range); ValueError if bad."""
    if isinstance(item, date) and not isinstance(item, datetime):
        first = last = item
    elif isinstance(item, str):
        head, dots, tail = item.partition("..")
        first = _parse_date(head, item)
        last = _parse_date(tail, item) if dots else first
    else:
        raise ValueError(f"bad entry {item!r} ({_EXPECTED})")
    if last < first:
        raise ValueError(f"range {item!r} ends before it starts")
    for day in (first, last):
        if day.year != year:
            raise ValueError(f"{day} is not in {year}")
    return first, last


def _parse_date(s: str, item: str) -> date:
    """A strict ``YYYY-MM-DD`` date from part ``s`` of entry ``item``; ValueError if bad."""
    if _ISO_DATE.fullmatch(s.strip()):
        try:
            return date.fromisoformat(s.strip())
        except ValueError:
            pass
    raise ValueError(f"bad date {item!r} ({_EXPECTED})")


def _line_of(text: str, needle: str, start: int | None = None) -> int | None:
    """1-based number of the first non-comment line from ``start`` on containing ``needle``."""
    for number, line in enumerate(text.splitlines(), 1):
        if number >= (start or 1) and needle in line and not line.lstrip().startswith("#"):
            return number
    return None


def _key_line(text: str, key: str) -> int | None:
    """1-based line where top-level ``key`` is defined (``key =``, ``"key" =``, ``[key]``)."""
    quoted = rf"(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')"
    match = re.search(rf"^[ \t]*\[*[ \t]*{quoted}[ \t]*[=.\]]", text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else None


# --------------------------------------------------------------------------- the calendar


def _exceptions(holidays: Iterable[date], workdays: Iterable[date]) -> dict[int, bool]:
    """Days whose status differs from Monday–Friday, by ordinal -> is a working day.

    Workdays win over holidays, as in ``chinese_calendar.is_workday``.
    """
    special = {d.toordinal(): False for d in holidays if d.weekday() < 5}
    special.update((d.toordinal(), True) for d in workdays if d.weekday() >= 5)
    return special


@functools.cache
def _package_years() -> tuple[range, dict[int, dict[int, bool]]]:
    """Years ``chinese_calendar`` supports and its exceptions grouped by year."""
    holidays, workdays = chinese_calendar.holidays, chinese_calendar.workdays
    years = range(min(holidays).year, max(holidays).year + 1)
    by_year: dict[int, dict[int, bool]] = {}
    for year in years:
        by_year[year] = _exceptions((d for d in holidays if d.year == year),
                                    (d for d in workdays if d.year == year))
    return years, by_year


def _weekdays_through(ordinal: int) -> int:
    """Number of Mondays–Fridays among ordinals 1..ordinal (ordinal 1 is a Monday)."""
    weeks, rest = divmod(ordinal, 7)
    return 5 * weeks + min(rest, 5)


def _weekday_reaching(count: int) -> int:
    """Smallest ordinal ``o`` with ``_weekdays_through(o) >= count`` (for ``count >= 1``)."""
    weeks, rest = divmod(count, 5)
    return 7 * weeks - 2 if rest == 0 else 7 * weeks + rest


class WorkCalendar:
    """Official working days: packaged data, overridden per year by imported files.

    Internally every day is an ordinal and a working day is a Monday–Friday
    unless listed in a sparse table of exceptions (weekday holidays, weekend
    make-up days).  ``seq(o)``, the number of working days among ordinals
    ``1..o``, is then arithmetic plus a running sum over the exceptions up to
    ``o``; both counting and adding working days are a bisection and some
    arithmetic, never a walk over days.

    Years neither packaged nor imported fall back to Monday–Friday; each such
    year touched by a computation is recorded (see :meth:`warnings`).
    """

    def __init__(self, imported: Iterable[HolidayYear] = ()) -> None:
        """Build the calendar; for a year imported more than once the last file wins."""
        package_years, package_exceptions = _package_years()
        by_year: dict[int, Mapping[int, bool]] = dict(package_exceptions)
        for hy in imported:
            by_year[hy.year] = _exceptions(hy.holidays, hy.workdays)
        self._covered: frozenset[int] = frozenset(package_years).union(by_year)
        self._special: dict[int, bool] = {o: w for table in by_year.values()
                                          for o, w in table.items()}
        self._special_ordinals: list[int] = sorted(self._special)
        # _special_sums[i] = net effect of the first i exceptions (+1 make-up day, -1 holiday)
        self._special_sums: list[int] = [0, *accumulate(
            1 if self._special[o] else -1 for o in self._special_ordinals)]
        # _special_seqs[i] = seq() of the i-th exception; non-decreasing, like seq()
        self._special_seqs: list[int] = [
            _weekdays_through(o) + total
            for o, total in zip(self._special_ordinals, self._special_sums[1:])]
        self._fallback: set[int] = set()

    def fresh(self) -> "WorkCalendar":
        """The same calendar with no fallback years noted yet (a cached calendar lends its tables, which
        never change, to each use; the years a use touched are that use's own)."""
        copy = object.__new__(WorkCalendar)
        copy.__dict__.update(self.__dict__)
        copy._fallback = set()
        return copy

    # ---- queries

    def is_workday(self, d: date) -> bool:
        """Whether ``d`` is an official working day (a datetime counts as its date)."""
        ordinal = d.toordinal()
        special = self._special.get(ordinal)
        if special is not None:
            return special
        if d.year not in self._covered:
            self._fallback.add(d.year)
        return d.weekday() < 5

    def add_workdays(self, start: date, n: int) -> date:
        """Due date of a limit of ``n`` working days for a case accepted on ``start``.

        ``start`` is day 0; the limit ends at the end of the ``n``-th working
        day after it.  ``n == 0`` returns ``start`` (即办件).  Raises
        CalendarError for ``n < 0`` or a due date after 9999-12-31.
        """
        if n < 0:
            raise CalendarError(f"a time limit cannot be negative ({n} working days)")
        origin = start.toordinal()
        if n == 0:
            return date.fromordinal(origin)
        target = self._seq(origin) + n
        # The due date is the first day whose seq() reaches `target`.  Between the
        # exceptions k-1 and k around it, seq() is Monday–Friday counting shifted by
        # _special_sums[k]; if that lands on or after exception k, k itself (a make-up
        # working day) is the one.
        k = bisect_left(self._special_seqs, target)
        due = _weekday_reaching(target - self._special_sums[k])
        if k < len(self._special_ordinals):
            due = min(due, self._special_ordinals[k])
        if due > _MAX_ORDINAL:
            raise CalendarError(f"{n} working days after {start} fall after {date.max}")
        self._note_span(origin, due)
        return date.fromordinal(due)

    def workdays_between(self, start: date, end: date) -> int:
        """Working days ``d`` with ``start < d <= end``; 0 when ``end <= start``."""
        return self._count(start.toordinal(), end.toordinal())

    def elapsed_workdays(self, start: date | datetime, end: date | datetime,
                         pauses: Iterable[tuple[date | datetime, date | datetime | None]] = ()
                         ) -> int:
        """Working days elapsed on a case, with the clock stopped during ``pauses``.

        Counts like :meth:`workdays_between` on the dates, minus the working
        days ``d`` with ``pause_start < d <= pause_end`` for some pause (补正材料
        and other waits on the applicant, which the Administrative Licensing
        Law excludes from the limit).  Pauses may overlap (each day is
        subtracted once), extend outside ``start..end`` (they are clipped) and
        be open (``pause_end is None`` -> until ``end``).  A pause ending
        before it starts raises CalendarError.
        """
        first, last = start.toordinal(), end.toordinal()
        elapsed = self._count(first, last)
        stopped = 0
        frontier = first  # days up to here are already accounted for
        for pause_start, pause_end in sorted(self._clip_pauses(pauses, first, last)):
            lo = max(pause_start, frontier)
            if pause_end > lo:
                stopped += self._seq(pause_end) - self._seq(lo)
                frontier = pause_end
        return elapsed - stopped

    def day_rows(self, first: date, last: date) -> list[tuple[date, bool, int]]:
        """Rows ``(day, is_workday, seq)`` for each day from ``first`` to ``last`` inclusive.

        ``seq`` counts working days from ``first`` through ``day``, so the
        working days elapsed between rows ``a < b`` are ``seq(b) - seq(a)``.
        Meant for materialising a calendar table in SQL.
        """
        rows: list[tuple[date, bool, int]] = []
        seq = 0
        for ordinal in range(first.toordinal(), last.toordinal() + 1):
            day = date.fromordinal(ordinal)
            working = self.is_workday(day)
            seq += working
            rows.append((day, working, seq))
        return rows

    def covers(self, year: int) -> bool:
        """Whether official (packaged or imported) data exists for ``year``."""
        return year in self._covered

    @property
    def fallback_years(self) -> frozenset[int]:
        """Years for which the Monday–Friday fallback has been used so far."""
        return frozenset(self._fallback)

    def warnings(self) -> list[str]:
        """One printable line naming every fallback year so far (runs of years as ``2027–2030``)."""
        if not self._fallback:
            return []
        years = sorted(self._fallback)
        runs, start = [], years[0]
        for prev, nxt in zip(years, years[1:] + [None]):
            if nxt != prev + 1:
                runs.append(str(start) if start == prev else f"{start}–{prev}")
                start = nxt
        return [_WARNING.format(years=", ".join(runs))]

    # ---- internals

    def _seq(self, ordinal: int) -> int:
        """Working days among ordinals 1..ordinal (global running count; records nothing)."""
        return (_weekdays_through(ordinal)
                + self._special_sums[bisect_right(self._special_ordinals, ordinal)])

    def _count(self, after: int, through: int) -> int:
        """Working days among ordinals ``after < o <= through``, recording fallback years."""
        if through <= after:
            return 0
        self._note_span(after, through)
        return self._seq(through) - self._seq(after)

    def _note_span(self, after: int, through: int) -> None:
        """Record the uncovered years of ordinals ``after < o <= through``."""
        years = range(date.fromordinal(after + 1).year, date.fromordinal(through).year + 1)
        if not self._covered.issuperset(years):
            self._fallback.update(set(years) - self._covered)

    @staticmethod
    def _clip_pauses(pauses: Iterable[tuple[date | datetime, date | datetime | None]],
                     first: int, last: int) -> Iterator[tuple[int, int]]:
        """Pauses as ordinal intervals ``(lo, hi]`` clipped to ``(first, last]``."""
        for pause_start, pause_end in pauses:
            lo = pause_start.toordinal()
            hi = last if pause_end is None else pause_end.toordinal()
            if pause_end is not None and hi < lo:
                raise CalendarError(f"a pause cannot end ({pause_end}) before it starts "
                                    f"({pause_start})")
            yield max(lo, first), min(hi, last)


def calendar_from_record(record: dict) -> WorkCalendar:
    """The calendar a ``Service.calendar`` record describes (years as imported)."""
    return WorkCalendar([HolidayYear(y["year"], frozenset(date.fromisoformat(d) for d in y["holidays"]),
                                     frozenset(date.fromisoformat(d) for d in y["workdays"]), y.get("source") or "")
                         for y in record["years"]])

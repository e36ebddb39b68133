"""The one clock the whole engine reads "now" from.

Production uses the system clock (local time, naive, as the service counter
sees it).  Tests and simulations pin or advance it: ``ONETRIP_NOW`` /
``--now`` give a fixed instant, :class:`SimulatedClock` can be moved forward.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from .errors import InvalidInput


class Clock:
    """System time, second precision."""

    def now(self) -> datetime:
        return datetime.now().replace(microsecond=0)

    def today(self) -> date:
        return self.now().date()


class FixedClock(Clock):
    """A clock that always says the same instant (``--now``)."""

    def __init__(self, instant: datetime):
        self.instant = instant

    def now(self) -> datetime:
        return self.instant


class SimulatedClock(FixedClock):
    """A clock a simulation moves forward explicitly."""

    def advance(self, delta: timedelta) -> datetime:
        self.instant = self.instant + delta
        return self.instant

    def set(self, instant: datetime) -> None:
        self.instant = instant


def parse_instant(text: str) -> datetime:
    """Parse ``2026-11-28`` or ``2026-11-28T09:30[:00]`` (also with a space)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"bad date/time {text!r}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    return value.replace(tzinfo=None)


def parse_date(text: str) -> date:
    """Parse ``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"bad date {text!r}: use YYYY-MM-DD") from None

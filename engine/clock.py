"""The one clock the whole engine reads "now" from.

Production uses the system clock (local time, naive, as the service counter
sees it).  Tests and simulations pin or advance it: ``ONETRIP_NOW`` /
``--now`` give a fixed instant, :class:`SimulatedClock` can be moved forward.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
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


# SpiffWorkflow's timer module and the sandbox's ``today()`` have no way to be handed a clock: they read
# the one of the step they run in.  A ContextVar (not a module global) keeps two requests on two threads
# of one process on their own clocks.
_current: ContextVar[Clock] = ContextVar("onetrip_clock")
_SYSTEM = Clock()


def current_clock() -> Clock:
    """The clock of the running step (the system clock outside any)."""
    return _current.get(_SYSTEM)


@contextmanager
def using(clock: Clock):
    """Make the engine's scripts and timers read ``clock`` for the duration of the block."""
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)

"""Who acts, and when: handed to every service operation as its first argument.

The engine never reads the acting user from settings or the environment, nor "now" from a module
global: a request carries both, so two requests served by one process at once cannot mix them up.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from .clock import Clock


@dataclass(frozen=True)
class Context:
    actor: str | None               # the user name as given (--as, a token's user); None: nobody
    clock: Clock = field(default_factory=Clock)

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self.clock.today()

    @classmethod
    def system(cls, clock: Clock | None = None) -> "Context":
        """The worker's and the administrator's local paths, acting as no user."""
        return cls(None, clock or Clock())

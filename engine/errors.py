"""One exception hierarchy for the whole engine.

Every error a user can cause is an :class:`OnetripError` (or subclass) whose
``str()`` is a single line fit for a terminal: ``FILE:LINE: ELEMENT: message``
where those are known.  ``cli.py`` converts them to ``click.ClickException``
in one place; nothing else in the engine prints.
"""
from __future__ import annotations

# Exit statuses: the one list (sysexits.h where one fits).  cli.py exits only with these names;
# each error class below carries its own as ``exit_code``.
EXIT_OK = 0
EXIT_ERROR = 1              # an OnetripError: bad input, unknown name, refused, failed check
EXIT_USAGE = 2              # click's usage errors (unknown option, missing argument)
EXIT_SOFTWARE = 70          # EX_SOFTWARE: an internal error (a bug), reported in one line, no traceback
EXIT_TEMPFAIL = 75          # EX_TEMPFAIL: retryable (another clerk changed the case first, too many logins)
EXIT_NOPERM = 77            # EX_NOPERM: a login or token that identifies nobody
EXIT_BROKEN_PIPE = 141      # 128 + SIGPIPE: the reader closed the pipe (``| head``), no failure


class OnetripError(Exception):
    """Base class: a user-facing error with optional location fields."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 element: str | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.element = element

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.element:
            parts.append(self.element)
        parts.append(self.message)
        return one_line(": ".join(str(p) for p in parts))


def one_line(text: str) -> str:
    """Show line breaks and other control characters escaped, so an error stays one line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class ConfigError(OnetripError):
    """Bad settings: database URL, clock, limits."""


class ModelError(OnetripError):
    """A BPMN file that cannot be read or would not run as drawn."""


class ModelValidationError(ModelError):
    """A BPMN file with one or more problems; ``problems`` holds each one."""

    def __init__(self, problems: list[ModelError]):
        self.problems = problems
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first.message + more, file=first.file, line=first.line,
                         element=first.element)


class NotExecutable(ModelError):
    """A model stored for analysis only: it cannot be run."""


class NotFound(OnetripError):
    """An unknown matter, version, case, task, user or file."""

    def __init__(self, kind: str, key: object):
        super().__init__(f"no {kind} {key!s}")
        self.kind = kind
        self.key = key


class PermissionDenied(OnetripError):
    """The acting user may not do this (role or department)."""


class AuthenticationFailed(OnetripError):
    """A login or token that does not identify anyone (HTTP 401); never says which half was wrong."""

    exit_code = EXIT_NOPERM


class RateLimited(OnetripError):
    """Too many failed logins for this user name or client lately (HTTP 429); ``retry_after`` seconds."""

    exit_code = EXIT_TEMPFAIL    # try again later

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class InvalidInput(OnetripError):
    """A bad argument value: --data, dates, labels."""


class TaskStateError(OnetripError):
    """The task is not ready (already completed, cancelled, or not yet reached)."""


class ConcurrentUpdate(OnetripError):
    """Another clerk changed the case first; reload and retry."""

    exit_code = EXIT_TEMPFAIL


class ScriptError(OnetripError):
    """A condition or script in a model failed, was refused by the sandbox or hit a limit."""


class CalendarError(OnetripError):
    """A bad holiday file or an impossible date computation."""


class StoreError(OnetripError):
    """The database cannot be opened, is of a newer schema, or failed."""


class CatalogError(OnetripError):
    """A bad manifest in processes/."""

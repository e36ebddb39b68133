"""Engine errors as HTTP answers, in one place: ``{"error": "one line"}`` and its status."""
from __future__ import annotations

from engine import errors

#: First match wins: subclasses before their bases.
STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (errors.AuthenticationFailed, 401),
    (errors.PermissionDenied, 403),
    (errors.NotFound, 404),
    (errors.ConcurrentUpdate, 409),     # retryable: another step landed first
    (errors.TaskStateError, 409),       # already completed, cancelled, not yet reached
    (errors.RateLimited, 429),
    (errors.ModelError, 422),           # a model that cannot be read or run (validation problems included)
    (errors.InvalidInput, 422),
    (errors.CalendarError, 422),
    (errors.ScriptError, 422),
    (errors.CatalogError, 422),
    (errors.StoreError, 503),           # the database is unreachable or failed: nothing was saved
    (errors.ConfigError, 500),
    (errors.OnetripError, 400),
)


class HTTPProblem(errors.OnetripError):
    """An error the web layer itself finds (a missing form field, a too large upload, a bad CSRF token)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def status_of(exc: BaseException) -> int:
    if isinstance(exc, HTTPProblem):
        return exc.status
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def body_of(exc: BaseException) -> dict:
    """The JSON body: the one-line message, and each problem of a model that failed validation."""
    if not isinstance(exc, errors.OnetripError):
        return {"error": "internal error; the server's log has the details"}
    body = {"error": str(exc)}
    problems = getattr(exc, "problems", None)
    if problems:
        body["problems"] = [str(p) for p in problems]
    return body


def headers_of(exc: BaseException) -> dict[str, str]:
    if isinstance(exc, errors.AuthenticationFailed):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, errors.RateLimited):
        return {"Retry-After": str(int(exc.retry_after))}
    return {}

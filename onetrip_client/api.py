"""The service over HTTP, generated from ``engine.protocol.OPERATIONS``.

``Client(url, token).call("complete_task", ref="1.2", data={...})`` sends the operation to its route
(path parameters into the path; the rest as the query string of a GET, a JSON body otherwise, or a
multipart form when the operation takes files) and returns the record the in-process Service would
have returned.  An error answer becomes the engine's exception of the same kind, so the CLI prints
the same one line with the same exit status in both modes.  ``client.complete_task(ref, data)``
is the same call with the arguments in the params' order (a drop-in for the CLI's bound Service).

Imports neither SQLAlchemy nor SpiffWorkflow: only the standard library, httpx and engine base modules.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote

import httpx

from engine import errors
from engine.protocol import FILE_PARAMS, LOCAL_PARAMS, OPERATIONS, Operation, RecordList, take_warnings

from . import logins

#: Answers that are not JSON errors of the server, and what the caller sees (status -> kind).
STATUS_ERRORS: dict[int, type[errors.OnetripError]] = {
    400: errors.OnetripError, 401: errors.AuthenticationFailed, 403: errors.PermissionDenied,
    404: errors.NotFound, 409: errors.TaskStateError, 422: errors.InvalidInput, 429: errors.RateLimited,
    503: errors.StoreError,
}
TIMEOUT = httpx.Timeout(120.0, connect=10.0)       # an upload or a comparison of a catalog takes a while


class ServerUnreachable(errors.OnetripError):
    """No answer from the server (down, wrong address, TLS failure)."""

    exit_code = 69  # EX_UNAVAILABLE


class NotAServer(errors.OnetripError):
    """Something answered that is not an onetrip server (a wrong URL)."""

    exit_code = 69


class LocalOnly(errors.OnetripError):
    """An operation that runs only with direct database access (no HTTP route)."""


def error_from(status: int, message: str, retry_after: str | None = None) -> errors.OnetripError:
    """The engine's exception for an error answer, built around the server's own line."""
    kind = STATUS_ERRORS.get(status, errors.OnetripError)
    if kind is errors.TaskStateError and "nothing was saved" in message:
        # both answer 409; a conflict (retry) and a task that is no longer ready (don't) keep their exit codes
        kind = errors.ConcurrentUpdate
    exc = kind.__new__(kind)
    errors.OnetripError.__init__(exc, message)
    if kind is errors.RateLimited:
        exc.retry_after = int(retry_after) if (retry_after or "").isdigit() else 60
    return exc


def _plain(value):
    """A value as JSON or a query string carries it (dates as ISO text)."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _form_text(value) -> str:
    value = _plain(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _files(value) -> list[str]:
    """The files a file parameter names; a folder stands for the .bpmn files in it (as locally)."""
    out = []
    for item in value if isinstance(value, (list, tuple)) else [value]:
        p = Path(item)
        out += [str(q) for q in sorted(p.glob("*.bpmn"))] if p.is_dir() else [str(item)]
    return out


#: Where ``onetrip serve`` keeps an upload while the operation runs: ``…/onetrip-upload-XXXX/KEY/N/NAME``
#: (web/api.py's save_files).  Results name the files there; the caller reads its own paths instead.
SERVER_UPLOAD = re.compile(r"/[^\s'\"]*?onetrip-upload-[^/\s]+/(\w+)/(\d+)/[^\s:'\"/]+")


def _local_names(value, sent: dict[tuple[str, int], str]):
    """``value`` with every server-side upload path replaced by the caller's path of that file."""
    if isinstance(value, str):
        return SERVER_UPLOAD.sub(lambda m: sent.get((m.group(1), int(m.group(2))), m.group(0)), value)
    if isinstance(value, list):
        return type(value)(_local_names(v, sent) for v in value) if type(value) is list else \
            RecordList([_local_names(v, sent) for v in value], getattr(value, "warnings", None))
    if isinstance(value, dict):
        return {k: _local_names(v, sent) for k, v in value.items()}
    return value


class StdlibTransport(httpx.BaseTransport):
    """httpx's requests sent with the standard library's ``http.client``.

    A command makes one or two requests and exits: httpx's default transport would import httpcore,
    which imports anyio and, where it is installed, trio (together 80–150 ms, more than the request).
    One kept-alive connection per server; redirects are not followed (as httpx's default)."""

    def __init__(self, verify: bool = True):
        self.verify = verify
        self.connections: dict[tuple, object] = {}

    def _connection(self, url: httpx.URL, timeout: float | None):
        import http.client
        key = (url.scheme, url.host, url.port)
        if key not in self.connections:
            if url.scheme == "https":
                import ssl
                context = ssl.create_default_context() if self.verify else ssl._create_unverified_context()
                self.connections[key] = http.client.HTTPSConnection(url.host, url.port, timeout=timeout,
                                                                    context=context)
            else:
                self.connections[key] = http.client.HTTPConnection(url.host, url.port, timeout=timeout)
        return self.connections[key]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        import http.client
        import socket
        timeout = (request.extensions.get("timeout") or {}).get("read")
        conn = self._connection(request.url, timeout)
        target = request.url.raw_path.decode("ascii")
        try:
            conn.request(request.method, target, body=request.read() or None,
                         headers={k.decode("latin-1"): v.decode("latin-1") for k, v in request.headers.raw})
            answer = conn.getresponse()
            content = answer.read()
        except (socket.timeout, TimeoutError) as exc:
            conn.close()
            raise httpx.TimeoutException(str(exc) or "timed out", request=request) from None
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from None
        return httpx.Response(answer.status, headers=answer.getheaders(), content=content, request=request)

    def close(self) -> None:
        for conn in self.connections.values():
            conn.close()
        self.connections.clear()


class Client:
    """One server, one login.  Use as ``client.call(op_name, **params)`` or ``client.<op_name>(*args)``."""

    def __init__(self, url: str, token: str | None = None, *, transport=None):
        self.url = logins.normalize(url)
        if not self.url.lower().startswith(("http://", "https://")):
            raise NotAServer(f"not a server address: {url!r} (give http://HOST:PORT or https://HOST)")
        self.bearer = token
        self.warnings: list[str] = []
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            self.http = httpx.Client(base_url=self.url, headers=headers, timeout=TIMEOUT,
                                     transport=transport or StdlibTransport())
        except (ValueError, httpx.InvalidURL) as exc:
            raise ServerUnreachable(f"not a server address: {url!r} ({exc})") from None

    def close(self) -> None:
        self.http.close()

    # -- the generated operations

    def __getattr__(self, name: str):
        if name not in OPERATIONS:
            raise AttributeError(name)
        keys = list(OPERATIONS[name].params.__annotations__)

        def bound(*args, **kwargs):
            if len(args) > len(keys):
                raise TypeError(f"{name}() takes {len(keys)} arguments")
            result = self.call(name, **dict(zip(keys, args)), **kwargs)
            self.warnings += take_warnings(result)
            return result
        bound.__name__ = name
        return bound

    def call(self, op_name: str, /, **params):
        op = OPERATIONS[op_name]
        if op.http is None:
            raise LocalOnly(f"{op_name.replace('_', ' ')} needs direct database access: run it where the database "
                            f"is, with --db (not through a server)")
        given = {k: v for k, v in params.items() if v is not None}
        for key in given.keys() & LOCAL_PARAMS:
            raise LocalOnly(f"{key} names a file of the database's machine: give it with direct database "
                            f"access (--db), not through a server")
        method, template = op.http
        path = template
        for key in [k for k in given if "{" + k + "}" in template]:
            path = path.replace("{" + key + "}", quote(str(given.pop(key)), safe=""))
        request = self._request(op, method, path, given)
        result = self._answer(op, method, path, request)
        sent = request.pop("sent", None)
        return _local_names(result, sent) if sent else result

    def _request(self, op: Operation, method: str, path: str, params: dict) -> dict:
        files = [k for k in FILE_PARAMS if k in op.params.__annotations__]
        if method == "GET":
            return {"params": {k: _form_text(v) for k, v in params.items()}}
        if files:
            uploads, sent = [], {}
            for key in files:
                for n, name in enumerate(_files(params.pop(key, []))):
                    try:
                        uploads.append((key, (Path(name).name, Path(name).read_bytes(), "application/xml")))
                    except OSError as exc:
                        raise errors.NotFound("file", f"{name} ({exc.strerror})") from None
                    sent[(key, n)] = name
            return {"files": uploads, "data": {k: _form_text(v) for k, v in params.items()}, "sent": sent}
        return {"json": _plain(params)} if params else {}

    def _send(self, method: str, path: str, **request):
        """The response and its JSON body (None when it has none): the one place a request goes out."""
        try:
            r = self.http.request(method, path, **request)
        except httpx.TransportError as exc:
            raise ServerUnreachable(f"cannot reach the server at {self.url}: {errors.one_line(str(exc)) or type(exc).__name__}") from None
        try:
            return r, r.json()
        except ValueError:
            return r, None

    def _answer(self, op: Operation, method: str, path: str, request: dict):
        r, body = self._send(method, path, **{k: v for k, v in request.items() if k != "sent"})
        if r.is_success:
            if body is None and r.status_code != 204:
                raise NotAServer(f"{self.url} is not an onetrip server (HTTP {r.status_code} for {method} {path})")
            if isinstance(body, list):
                header = r.headers.get("Onetrip-Warnings")
                return RecordList(body, json.loads(header) if header else None)
            return body
        if not isinstance(body, dict) or not isinstance(body.get("error"), str):
            raise NotAServer(f"{self.url} is not an onetrip server (HTTP {r.status_code} for {method} {path})")
        message = _local_names(body["error"], request.get("sent") or {})
        if r.status_code == 401 and op.name not in ("login", "logout"):
            message += f" — log in again: onetrip login {self.url} NAME"
        raise error_from(r.status_code, message, r.headers.get("Retry-After"))

    # -- logins (the OAuth2 form route)

    def token(self, username: str, password: str) -> dict:
        r, body = self._send("POST", "/api/token", data={"username": username, "password": password})
        if r.is_success and isinstance(body, dict) and body.get("access_token"):
            return body
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            raise error_from(r.status_code, body["error"], r.headers.get("Retry-After"))
        raise NotAServer(f"{self.url} is not an onetrip server (HTTP {r.status_code} for POST /api/token)")

"""``create_app(settings)``: the ASGI application of ``onetrip serve`` (nothing connects at import time).

FastAPI on Starlette: the API routes are generated from the protocol table and FastAPI turns the
params' TypedDicts into request validation and ``/openapi.json`` for free; the pages are plain
Starlette routes rendering Jinja2 templates.  Every engine error becomes its status and
``{"error": "one line"}`` (an HTML page for the pages) in one handler.
"""
from __future__ import annotations

import dataclasses
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from sqlalchemy.orm import sessionmaker
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.datastructures import MutableHeaders
from starlette.responses import Response

from engine.config import Settings
from engine.errors import OnetripError, one_line

from . import api, errors, pages
from .state import MAX_BODY_BYTES, WebState, server_clock

log = logging.getLogger("onetrip.web")

SECURITY_HEADERS = {
    # The pages load nothing from elsewhere; the report's bars are sized by inline style attributes.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def create_app(settings: Settings | None = None, *, service=None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.web = open_state(settings, service)
        try:
            yield
        finally:
            close_state(app.state.web)

    app = FastAPI(title="onetrip", version=_version(), lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="最多跑一次: the office's API over the onetrip service (the CLI's records as JSON).")
    api.add_routes(app)
    pages.add_routes(app)
    _add_handlers(app)
    return app


def open_state(settings: Settings, service=None) -> WebState:
    from engine import store
    from engine.service import Service
    _refuse_new_sqlite(settings.db_url)
    # A server process never forks a child per case (the worker's isolation): should a timer pass ever be
    # reached from a request, it steps in-process.  `onetrip worker` runs apart and keeps its children.
    settings = dataclasses.replace(settings, worker_inprocess=True)
    engine = store.open_database(settings.db_url)
    sessions = store.session_factory(engine)
    with sessions() as s, s.begin():
        clock, simulation = server_clock(settings, s)
    # Every request's token check only reads: no write lock on SQLite, and on PostgreSQL no BEGIN and
    # COMMIT round trips around its two SELECTs.
    reader = engine.execution_options(readonly=True) if engine.dialect.name == "sqlite" else \
        engine.execution_options(readonly=True, isolation_level="AUTOCOMMIT")
    return WebState(settings=settings, service=service or Service(settings), clock=clock, sessions=sessions,
                    readers=sessionmaker(reader, expire_on_commit=False), engine=engine, simulation=simulation)


def _refuse_new_sqlite(url: str) -> None:
    """A server never creates its database (a mistyped path would serve an empty office)."""
    from pathlib import Path
    from sqlalchemy.engine import make_url
    from engine.errors import StoreError
    parsed = make_url(url)
    path = parsed.database
    if parsed.get_backend_name() == "sqlite" and path and path != ":memory:" and not path.startswith("file:") \
            and not Path(path).exists():
        raise StoreError(f"no database at {path}: run `onetrip --db {path} init` first, or check --db / ONETRIP_DB")


def close_state(state: WebState) -> None:
    state.engine.dispose()
    dispose = getattr(state.service, "dispose", None)
    if dispose:
        dispose()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("onetrip")
    except PackageNotFoundError:
        return "0"


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and request.url.path != "/openapi.json"


def error_response(request: Request, exc: BaseException) -> Response:
    """The one place an error becomes an answer."""
    status = errors.status_of(exc)
    if status >= 500 and not isinstance(exc, OnetripError):
        log.exception("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    if wants_html(request):
        return pages.error_page(request, exc, status)
    return api.JSON(errors.body_of(exc), status_code=status, headers=errors.headers_of(exc))


def _add_handlers(app: FastAPI) -> None:
    @app.exception_handler(OnetripError)
    async def engine_error(request: Request, exc: OnetripError):
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        return error_response(request, errors.HTTPProblem(422, _validation_line(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        text = {404: "not found", 405: "method not allowed"}.get(exc.status_code, str(exc.detail))
        return error_response(request, errors.HTTPProblem(exc.status_code, one_line(text)))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception):
        return error_response(request, exc)

    app.add_middleware(Guard)


class Guard:
    """Before a request is read: its size, then (API) who it is and whether they may; after: the
    security headers.  A plain ASGI middleware (Starlette's BaseHTTPMiddleware costs a task per request)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope, receive)
        problem = _body_problem(request)
        if problem is not None:
            return await error_response(request, problem)(scope, receive, send)
        path = scope["path"]
        if path.startswith("/api/") and path not in api.public_paths():
            # No token, no answer but 401; the operation's roles and lane in the same short transaction (403).
            state: WebState = request.app.state.web
            op, path_params = api.operation_of(request)
            try:
                request.state.actor = await run_in_threadpool(state.authenticate, api.bearer_of(request), op,
                                                              path_params)
            except OnetripError as exc:
                return await error_response(request, exc)(scope, receive, send)
        no_store = wants_html(request) or path in api.public_paths()

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in SECURITY_HEADERS.items():
                    if key not in headers:
                        headers[key] = value
                if no_store and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _body_problem(request: Request) -> errors.HTTPProblem | None:
    """Refuse a too large body before it is read (uploads get the model limit, everything else 1 MB)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    state: WebState = request.app.state.web
    multipart = request.headers.get("content-type", "").startswith("multipart/")
    limit = state.upload_limit if multipart else MAX_BODY_BYTES
    length = request.headers.get("content-length")
    if length is None:
        if request.headers.get("transfer-encoding"):
            return errors.HTTPProblem(411, "send the request with a Content-Length")
        return None
    try:
        size = int(length)
    except ValueError:
        return errors.HTTPProblem(400, "bad Content-Length")
    if size > limit:
        return errors.HTTPProblem(413, f"request too large ({size:,} bytes; at most {limit:,})")
    return None


def _validation_line(exc: RequestValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
    more = len(exc.errors()) - 1
    return one_line(f"{where or 'request'}: {first.get('msg', 'invalid')}" + (f" (and {more} more)" if more else ""))


def check_settings(settings: Settings) -> None:
    """Open the database once as a server would (schema, clock), so `serve` fails with one line."""
    close_state(open_state(settings))

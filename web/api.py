"""The REST API, generated from ``engine.protocol.OPERATIONS``: one route per operation with an ``http`` entry.

Each route authenticates the bearer token, checks the operation's roles and lane, then calls
``getattr(service, op.name)(ctx, **params)`` in the threadpool (the service blocks) and answers its
record as JSON.  Path parameters are the params' keys in the path; the rest come from the query string
(GET) or a JSON body (other methods), or from a multipart form for operations that take files.
"""
from __future__ import annotations

import functools
import inspect
import json
import re
import tempfile
import typing
from pathlib import Path as FilePath

from fastapi import Body, Depends, FastAPI, Form, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel, ConfigDict, TypeAdapter, create_model
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match

from engine.protocol import FILE_PARAMS, OPERATIONS, Operation, warnings_of

from .errors import HTTPProblem
from .state import MAX_UPLOAD_FILES, WebState

#: Params that name files on the server's own disk (a key, a checkpoint, a folder): never taken over HTTP.
SERVER_PATH_PARAMS = frozenset({"checkpoint", "pubkey", "key", "directory", "progress"})
#: Params the server fills from the request itself, never from what the caller sends: the client address
#: failed logins are counted against, and the bearer token a logout ends.
SERVER_SET_PARAMS = {"client": lambda request: client_of(request), "token": lambda request: bearer_of(request)}
#: Operations that need no token (logging in).
TOKENLESS = frozenset({"login"})
#: Params a caller can never send: filled by the server, or files of the server's own.
NOT_FROM_CALLER = SERVER_PATH_PARAMS | frozenset(SERVER_SET_PARAMS)
SAFE_NAME = re.compile(r"[^\w.\-]+", re.UNICODE)

bearer = OAuth2PasswordBearer(tokenUrl="/api/token", auto_error=False)


class Error(BaseModel):
    error: str


class TokenAnswer(BaseModel):
    access_token: str
    token_type: str
    expires_in: int


class JSON(JSONResponse):
    """Records as the CLI's --json prints them: UTF-8 text, not \\u escapes."""

    def render(self, content) -> bytes:
        return json.dumps(content, ensure_ascii=False, default=str, separators=(",", ":")).encode("utf-8")


ERRORS = {status: {"model": Error} for status in (400, 401, 403, 404, 409, 422, 429)}


def path_names(path: str) -> list[str]:
    return re.findall(r"{(\w+)}", path)


def file_params(op: Operation) -> list[str]:
    keys = typing.get_type_hints(op.params)
    return [k for k in FILE_PARAMS if k in keys]


def file_param(op: Operation) -> str | None:
    keys = file_params(op)
    return keys[0] if keys else None


def warnings_header(result) -> dict[str, str]:
    """A list result's warnings (a record carries its own under "warnings"), as a JSON header."""
    if isinstance(result, list):
        found = warnings_of(result)
        if found:
            return {"Onetrip-Warnings": json.dumps(found, ensure_ascii=True)}
    return {}


def takes_many(op: Operation, key: str) -> bool:
    """Whether the operation's file parameter is a list of paths (else one path)."""
    annotation = typing.get_type_hints(op.params)[key]
    return annotation is list or typing.get_origin(annotation) is list or any(
        a is list or typing.get_origin(a) is list for a in typing.get_args(annotation))


def file_value(op: Operation, key: str, paths: list) -> list[str] | str:
    return [str(p) for p in paths] if takes_many(op, key) else str(paths[0])


def routed_operations() -> list[Operation]:
    return [op for op in OPERATIONS.values() if op.http is not None]


@functools.cache
def public_paths() -> frozenset[str]:
    """The API's paths that need no token: the OAuth2 token route and the table's login."""
    return frozenset({"/api/token"} | {op.http[1] for op in routed_operations() if op.name in TOKENLESS})


def add_routes(app: FastAPI) -> None:
    app.add_api_route("/api/token", token, methods=["POST"], response_model=TokenAnswer, tags=["auth"],
                      summary="Log in: a bearer token for a user name and password (OAuth2 password form)",
                      responses={k: v for k, v in ERRORS.items() if k in (401, 422, 429)})
    if ("POST", "/api/logout") not in {op.http for op in routed_operations()}:
        app.add_api_route("/api/logout", logout, methods=["POST"], status_code=204, tags=["auth"],
                          summary="Log out: the token stops working", response_class=Response,
                          responses={401: {"model": Error}})
    for op in routed_operations():
        method, path = op.http
        files = file_params(op)
        endpoint = _multipart_endpoint(op, files) if files else _json_endpoint(op)
        extra = _multipart_schema(op, files) if files else None
        app.add_api_route(path, endpoint, methods=[method], name=op.name, summary=op.summary,
                          tags=[op.capability], response_class=JSON, responses=_responses(op),
                          openapi_extra=extra)


def _responses(op: Operation) -> dict:
    answers = dict(ERRORS)
    try:
        TypeAdapter(op.result).json_schema()            # documented only when pydantic can describe it
        answers[200] = {"model": op.result, "description": op.summary}
    except Exception:
        answers[200] = {"description": op.summary}
    return answers


async def token(request: Request, username: str = Form(...), password: str = Form(...)):
    state: WebState = request.app.state.web
    answer = await run_in_threadpool(state.login, username, password, client_of(request))
    return JSON(answer, headers={"Cache-Control": "no-store"})


async def logout(request: Request, bearer_token: str | None = Depends(bearer)):
    state: WebState = request.app.state.web
    await run_in_threadpool(state.logout, bearer_token)      # a live token (checked on the way in)
    return Response(status_code=204)


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""


def call(state: WebState, actor, op: Operation, params: dict):
    """Run one operation for the user the request's token belongs to (in a worker thread); the
    operation's roles and lane were checked with the token (``operation_of``)."""
    if op.name == "analyze":
        for target in params.get("targets") or []:
            if not str(target).strip().isdigit():
                raise HTTPProblem(422, f"over HTTP analyze takes stored version ids, not {str(target)[:60]!r}: "
                                       f"send files to POST /api/validate")
    return getattr(state.service, op.name)(state.context(actor), **params)


def operation_of(request: Request) -> tuple[Operation | None, dict]:
    """The protocol operation a request is routed to, and its path parameters (the lane check needs
    ``ref``); (None, {}) for the API's own routes and unknown paths."""
    for route in request.app.router.routes:
        match, child = route.matches(request.scope)
        if match == Match.FULL:
            return OPERATIONS.get(getattr(route, "name", "")), child.get("path_params", {})
    return None, {}


def bearer_of(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _fields(op: Operation) -> tuple[dict, frozenset]:
    """The params' types and which are required, read from the annotations themselves: with postponed
    annotations (``from __future__ import annotations``) Python 3.11 marks NotRequired keys required."""
    extras = typing.get_type_hints(op.params, include_extras=True)
    total = getattr(op.params, "__total__", True)
    required = set()
    for key, annotation in extras.items():
        origin = typing.get_origin(annotation)
        if origin is typing.Required or (total and origin is not typing.NotRequired):
            required.add(key)
    return typing.get_type_hints(op.params), frozenset(required)


def _common_parameters(in_path, hints) -> list[inspect.Parameter]:
    """Every endpoint's first parameters: the request, the bearer token (for OpenAPI's security scheme;
    the guard checks it) and the path's own parameters."""
    parameters = [inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
                  inspect.Parameter("bearer_token", inspect.Parameter.KEYWORD_ONLY, annotation=str | None,
                                    default=Depends(bearer))]
    for name in in_path:
        parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                            annotation=hints.get(name, str), default=Path(...)))
    return parameters


def _json_endpoint(op: Operation):
    method, path = op.http
    hints, required = _fields(op)
    in_path = path_names(path)
    parameters = _common_parameters(in_path, hints)
    rest = {k: v for k, v in hints.items() if k not in in_path and k not in NOT_FROM_CALLER}
    body_model = None
    if method == "GET":
        for name, ann in rest.items():
            parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=ann,
                                                default=Query(... if name in required else None)))
    elif rest:
        body_model = create_model(f"{_camel(op.name)}Body", __config__=ConfigDict(extra="forbid"),
                                  **{k: (v, ... if k in required else None) for k, v in rest.items()})
        needed = any(k in required for k in rest)
        parameters.append(inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY,
                                            annotation=body_model if needed else body_model | None,
                                            default=Body(...) if needed else Body(None)))

    async def endpoint(**kwargs):
        request: Request = kwargs.pop("request")
        kwargs.pop("bearer_token")          # declared for the OpenAPI security scheme; checked by the guard
        body = kwargs.pop("body", None)
        params = {k: v for k, v in kwargs.items() if v is not None}
        if body is not None:
            params.update(body.model_dump(exclude_unset=True))
        params.update({k: fill(request) for k, fill in SERVER_SET_PARAMS.items() if k in hints})
        actor = None if op.name in TOKENLESS else request.state.actor
        result = await run_in_threadpool(call, request.app.state.web, actor, op, params)
        return JSON(result, headers=warnings_header(result))

    endpoint.__signature__ = inspect.Signature(parameters)
    endpoint.__name__ = op.name
    return endpoint


def _multipart_endpoint(op: Operation, files_keys: list[str]):
    method, path = op.http
    hints, _ = _fields(op)
    in_path = path_names(path)
    parameters = _common_parameters(in_path, hints)

    async def endpoint(**kwargs):
        request: Request = kwargs.pop("request")
        kwargs.pop("bearer_token")          # declared for the OpenAPI security scheme; checked by the guard
        state: WebState = request.app.state.web
        # (the roles were checked with the token: a caller who may not upload never gets here)
        with tempfile.TemporaryDirectory(prefix="onetrip-upload-") as folder:
            params = await read_upload(request, op, files_keys, FilePath(folder))
            params.update({k: v for k, v in kwargs.items() if v is not None})
            result = await run_in_threadpool(call, state, request.state.actor, op, params)
        return JSON(result, headers=warnings_header(result))

    endpoint.__signature__ = inspect.Signature(parameters)
    endpoint.__name__ = op.name
    return endpoint


async def read_upload(request: Request, op: Operation, files_keys: list[str], folder: FilePath) -> dict:
    """The form's files saved under ``folder`` (their paths under each file param), its other fields."""
    hints, required = _fields(op)
    form = await request.form(max_files=MAX_UPLOAD_FILES, max_fields=len(hints) + 4)
    try:
        params: dict = {}
        for n, key in enumerate(files_keys):
            names = (key, "file", "files") if n == 0 else (key,)
            uploads = [v for k, v in form.multi_items() if k in names and not isinstance(v, str)]
            if uploads:
                params[key] = file_value(op, key, await save_files(uploads, folder / key))
            elif key in required:
                raise HTTPProblem(422, f"no file uploaded: send the BPMN file(s) as form field "
                                       f"{'file' if n == 0 else key!r}")
        for key in hints:
            if key in files_keys or key in NOT_FROM_CALLER or key in path_names(op.http[1]):
                continue
            value = form.get(key)
            if isinstance(value, str) and value.strip() != "":
                params[key] = _form_value(value, hints[key], key)
            elif key in required:
                raise HTTPProblem(422, f"missing form field {key!r}")
        return params
    finally:
        await form.close()


async def save_files(uploads: list, folder: FilePath) -> list[FilePath]:
    """Each upload under its own base name (call activities resolve by it), never outside ``folder``."""
    saved = []
    for n, upload in enumerate(uploads):
        name = SAFE_NAME.sub("_", FilePath(upload.filename or "").name).lstrip(".") or f"model{n}.bpmn"
        target = folder / str(n) / name[:120]
        target.parent.mkdir(parents=True)
        with open(target, "wb") as out:
            while chunk := await upload.read(1 << 16):
                out.write(chunk)
        saved.append(target)
    return saved


def _form_value(text: str, annotation, key: str):
    if bool in typing.get_args(annotation) or annotation is bool:
        return text.strip().lower() in ("1", "true", "yes", "on")
    if int in typing.get_args(annotation) or annotation is int:
        try:
            return int(text)
        except ValueError:
            raise HTTPProblem(422, f"form field {key!r}: expected a whole number, got {text!r}") from None
    return text


def _multipart_schema(op: Operation, files_keys: list[str]) -> dict:
    hints, required = _fields(op)
    binary = {"type": "array", "items": {"type": "string", "format": "binary"}}
    props = {"file": binary | {"description": f"the BPMN file(s) of {files_keys[0]!r}; the first is the main model"}}
    props.update({k: binary for k in files_keys[1:]})
    for key, ann in hints.items():
        if key not in files_keys and key not in path_names(op.http[1]) and key not in NOT_FROM_CALLER:
            props[key] = {"type": "boolean" if ann is bool else "string"}
    need = [("file" if n == 0 else k) for n, k in enumerate(files_keys) if k in required]
    need += [k for k in hints if k in required and k not in files_keys and k not in path_names(op.http[1])]
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "properties": props, "required": need}}}}}


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))

"""The web pages (Chinese, server-rendered): log in, the clerk's 待办, a task, a case's history, the
reformer's 改革成效 dashboard and the designer's upload page.

The login's token lives in an HttpOnly, SameSite=Strict cookie; every form carries a CSRF token that
must equal the ``onetrip_csrf`` cookie (double submit), checked on every POST before anything else.
Templates autoescape everything; the only markup inserted unescaped is the report's, which
``engine.html_report`` escapes itself.
"""
from __future__ import annotations

import json

import secrets
import tempfile
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from engine import html_report
from engine.errors import AuthenticationFailed, OnetripError, PermissionDenied
from engine.protocol import OPERATIONS, warnings_of

from . import api, errors
from .state import WebState

SESSION_COOKIE = "onetrip_session"
CSRF_COOKIE = "onetrip_csrf"
CSRF_FIELD = "csrf"
HERE = Path(__file__).parent
ROLE_HOME = {"clerk": "/tasks", "reformer": "/dashboard", "designer": "/upload", "admin": "/dashboard"}
ROLE_ZH = {"clerk": "窗口/审批人员", "reformer": "改革办", "designer": "流程设计", "admin": "管理员"}
DATA_ROWS = 3

_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                   trim_blocks=True, lstrip_blocks=True)
_env.globals.update(ROLE_ZH=ROLE_ZH, CSRF_FIELD=CSRF_FIELD)


def _value(v) -> str:
    """A data value as a clerk reads it: text as typed, nothing as "—", anything else as JSON (true, not
    Python's True; Chinese as characters, not \\u escapes).  Autoescaping still applies."""
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False)


_env.filters["value"] = _value


def add_routes(app: FastAPI) -> None:
    get, post = "GET", "POST"
    for path, endpoint, method in (
            ("/", home, get), ("/login", login_form, get), ("/login", login, post), ("/logout", logout, post),
            ("/tasks", task_list, get), ("/tasks/{ref}", task_page, get), ("/tasks/{ref}", task_submit, post),
            ("/cases/{case_id}", case_page, get), ("/dashboard", dashboard, get),
            ("/upload", upload_form, get), ("/upload", upload, post),
            ("/static/onetrip.css", stylesheet, get), ("/static/report.js", script, get)):
        app.add_api_route(path, endpoint, methods=[method], include_in_schema=False)


# ------------------------------------------------------------------ plumbing

def render(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    user = getattr(request.state, "actor", None)
    html = _env.get_template(template).render(request=request, user=user, csrf=csrf, **context)
    response = HTMLResponse(html, status_code=status)
    if request.cookies.get(CSRF_COOKIE) != csrf:
        _cookie(request, response, CSRF_COOKIE, csrf)
    return response


def _cookie(request: Request, response: Response, name: str, value: str, max_age: int | None = None) -> None:
    # Behind a proxy that terminates HTTPS, uvicorn's proxy headers make the scheme "https" here.
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


def error_page(request: Request, exc: BaseException, status: int) -> Response:
    if isinstance(exc, AuthenticationFailed):       # a page without a live login: to the login page
        response = RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    return render(request, "error.html", status=status, status_code=status, message=errors.body_of(exc)["error"],
                  problems=errors.body_of(exc).get("problems", []))


async def _form(request: Request) -> dict:
    """The form of a POST, after its CSRF token was checked against the cookie (403 otherwise)."""
    form = await request.form(max_files=api.MAX_UPLOAD_FILES, max_fields=200)
    sent = form.get(CSRF_FIELD)
    cookie = request.cookies.get(CSRF_COOKIE)
    if not isinstance(sent, str) or not cookie or not secrets.compare_digest(sent, cookie):
        await form.close()
        raise errors.HTTPProblem(403, "the form's security token (CSRF) is missing or wrong: reload the page "
                                      "and submit it again")
    return form


async def _actor(request: Request, op_name: str | None = None, params: dict | None = None):
    state: WebState = request.app.state.web
    op = OPERATIONS.get(op_name) if op_name else None
    actor = await run_in_threadpool(state.authenticate, request.cookies.get(SESSION_COOKIE), op, params)
    request.state.actor = actor
    return actor


async def _run(request: Request, op_name: str, **params):
    """One service operation as the logged-in user (roles and lane checked as for the API)."""
    state: WebState = request.app.state.web
    op = OPERATIONS[op_name]

    def work():
        actor = state.authenticate(request.cookies.get(SESSION_COOKIE), op, params)
        request.state.actor = actor
        return api.call(state, actor, op, params)
    return await run_in_threadpool(work)


# ------------------------------------------------------------------ login

async def home(request: Request):
    actor = await _actor(request)
    return RedirectResponse(ROLE_HOME.get(actor.role, "/tasks"), status_code=303)


def _next(request: Request, value) -> str:
    """Only a path of this site (never //elsewhere) is followed after logging in."""
    value = value if isinstance(value, str) else ""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else ""


async def login_form(request: Request):
    return render(request, "login.html", next=_next(request, request.query_params.get("next")))


async def login(request: Request):
    form = await _form(request)
    state: WebState = request.app.state.web
    name, password = str(form.get("username") or ""), str(form.get("password") or "")
    target = _next(request, form.get("next"))
    try:
        answer = await run_in_threadpool(state.login, name, password, api.client_of(request))
    except OnetripError as exc:
        return render(request, "login.html", status=errors.status_of(exc), error=str(exc), username=name,
                      next=target)
    actor = await run_in_threadpool(state.authenticate, answer["access_token"])
    response = RedirectResponse(target or ROLE_HOME.get(actor.role, "/tasks"), status_code=303)
    _cookie(request, response, SESSION_COOKIE, answer["access_token"], max_age=answer["expires_in"])
    _cookie(request, response, CSRF_COOKIE, secrets.token_urlsafe(24))     # a new login, a new form token
    return response


async def logout(request: Request):
    await _form(request)
    state: WebState = request.app.state.web
    await run_in_threadpool(state.logout, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ------------------------------------------------------------------ clerks

async def task_list(request: Request):
    rows = await _run(request, "list_tasks")
    return render(request, "tasks.html", tasks=rows, done=request.query_params.get("done"),
                  warnings=warnings_of(rows))


async def task_page(request: Request, ref: str, status: int = 200, error: str | None = None, rows=None):
    task = await _run(request, "show_task", ref=ref)
    case = await _run(request, "show_case", case_id=int(task["case"]))
    version = await _run(request, "show_version", version_id=case["version"])
    return render(request, "task.html", status=status, task=task, case=case, error=error,
                  materials=_materials(task, version.get("metrics") or {}), rows=rows or [("", "")] * DATA_ROWS)


def _materials(task: dict, metrics: dict) -> list[str]:
    """The applicant materials the step asks for, named as the model's designer wrote them: the analysis's
    per-step list (what the step counts as submitted), else the step's own ``materials`` annotation."""
    names = metrics.get("material_names") or {}
    ids = (metrics.get("task_materials") or {}).get(task["task"])
    if ids is None:
        raw = (task.get("props") or {}).get("materials") or ""
        ids = [m.strip() for m in str(raw).replace("，", ",").split(",") if m.strip()]
    return [f"{names[m]} ({m})" if names.get(m) else m for m in ids]


async def task_submit(request: Request, ref: str):
    form = await _form(request)
    keys, texts = form.getlist("key"), form.getlist("value")
    rows = list(zip(keys, texts))
    data, bad = {}, []
    for key, text in rows:
        key, text = str(key).strip(), str(text)
        if key:
            data[key] = text               # the text exactly as typed, as the CLI's KEY=TEXT
        elif text.strip():
            bad.append(text)
    onsite = form.get("onsite") == "on"
    action = form.get("action")
    try:
        if bad:
            raise errors.HTTPProblem(422, f"a value without a name: {bad[0][:40]!r}; fill in 字段名 or clear it")
        if action == "return":
            reason = str(form.get("reason") or "").strip()
            if not reason:
                raise errors.HTTPProblem(422, "退回补正需要填写原因 (a reason is needed to return a task)")
            await _run(request, "return_task", ref=ref, reason=reason, data=data, onsite=onsite)
        elif action == "complete":
            await _run(request, "complete_task", ref=ref, data=data, onsite=onsite)
        else:
            raise errors.HTTPProblem(422, "unknown action: use 办结 or 退回补正")
    except OnetripError as exc:
        if isinstance(exc, (AuthenticationFailed, PermissionDenied)) or errors.status_of(exc) in (404, 409):
            raise
        return await task_page(request, ref, status=errors.status_of(exc), error=str(exc),
                               rows=rows + [("", "")])
    return RedirectResponse(f"/tasks?done={quote(ref)}", status_code=303)


async def case_page(request: Request, case_id: int):
    case = await _run(request, "show_case", case_id=case_id)
    return render(request, "case.html", case=case)


# ------------------------------------------------------------------ reformers

async def dashboard(request: Request):
    comparison = await _run(request, "compare_stored")
    state: WebState = request.app.state.web
    details = await _run(request, "report_details")
    report = Markup(html_report.report_sections(comparison, details["diagrams"], details["distributions"]))
    return render(request, "dashboard.html", report=report, simulation=state.simulation)


# ------------------------------------------------------------------ designers

async def upload_form(request: Request):
    versions = await _run(request, "list_versions")
    return render(request, "upload.html", versions=versions)


async def upload(request: Request):
    form = await _form(request)
    state: WebState = request.app.state.web
    actor = await _actor(request, "upload")
    files = [v for k, v in form.multi_items() if k == "file" and not isinstance(v, str) and v.filename]
    label = str(form.get("label") or "")
    matter_code = str(form.get("matter_code") or "").strip() or None
    result, problems, error, status = None, [], None, 200
    try:
        if not files:
            raise errors.HTTPProblem(422, "请选择 BPMN 文件 (choose a BPMN file)")
        with tempfile.TemporaryDirectory(prefix="onetrip-upload-") as folder:
            op = OPERATIONS["upload"]
            key = api.file_param(op)
            params = {key: api.file_value(op, key, await api.save_files(files, Path(folder))), "label": label,
                      "matter_code": matter_code}
            result = await run_in_threadpool(api.call, state, actor, op, params)
    except OnetripError as exc:
        if isinstance(exc, (AuthenticationFailed, PermissionDenied)):
            raise
        status, error = errors.status_of(exc), str(exc)
        problems = errors.body_of(exc).get("problems", [])
    finally:
        await form.close()
    versions = await _run(request, "list_versions")
    return render(request, "upload.html", status=status, result=result, error=error, problems=problems,
                  versions=versions, label=label, matter_code=matter_code or "")


# ------------------------------------------------------------------ static

_CSS = None


async def stylesheet(request: Request):
    global _CSS
    if _CSS is None:     # the report's own rules (charts, tables, fonts) and the pages' few more
        _CSS = html_report.CSS + (HERE / "static" / "site.css").read_text(encoding="utf-8")
    return Response(_CSS, media_type="text/css; charset=utf-8", headers={"Cache-Control": "max-age=300"})


async def script(request: Request):
    return Response(html_report.SCRIPT, media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "max-age=300"})

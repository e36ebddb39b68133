"""The REST API of `onetrip serve` over real HTTP, on a real SQLite file and a real PostgreSQL."""
from __future__ import annotations

import json
import re

import httpx
import pytest
from sqlalchemy import create_engine, text

from engine.auth import token_digest
from engine.config import Settings
from engine.protocol import OPERATIONS
from onetrip_testing.serve import PASSWORD, SAMPLE, login, served_office, set_passwords
from web.api import public_paths
from web.app import create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def office(request, tmp_path_factory):
    with served_office(request.param, tmp_path_factory.mktemp("serve")) as office:
        yield office


@pytest.fixture(scope="module")
def clerk(office):
    with login(office[0].url, "王窗口") as client:
        yield client


@pytest.fixture(scope="module")
def police(office):
    with login(office[0].url, "赵警官") as client:
        yield client


def app_routes():
    """(method, path) of every API route the application serves, read from the app itself."""
    app = create_app(Settings(db_url="sqlite:///nowhere-never-opened.db"))
    return [(m, r.path) for r in app.routes if r.path.startswith("/api/") for m in sorted(r.methods)
            if m != "HEAD"], app


def fill(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: "1.1" if m.group(1) == "ref" else "1", path)


def start_case(client, data=None) -> int:
    r = client.post("/api/cases", json={"matter_code": "JZZSAMPLE", "data": data or {"申请人": "张三"}})
    assert r.status_code == 200, r.text
    return r.json()["id"]


def test_every_operation_with_http_has_exactly_its_route():
    routes, app = app_routes()
    named = {r.name: r for r in app.routes if r.path.startswith("/api/")}
    expected = {op.http: op.name for op in OPERATIONS.values() if op.http}
    assert expected, "the protocol table routes nothing"
    for (method, path), name in expected.items():
        assert routes.count((method, path)) == 1, f"{method} {path} ({name}) is served {routes.count((method, path))} times"
        assert named[name].path == path and method in named[name].methods
    extra = set(routes) - set(expected) - {("POST", "/api/token"), ("POST", "/api/logout")}
    assert not extra, f"routes not in the protocol table: {extra}"
    assert routes.count(("POST", "/api/logout")) == 1 and routes.count(("POST", "/api/token")) == 1


def test_openapi_lists_every_route(office):
    spec = httpx.get(office[0].url + "/openapi.json").json()
    routes, _ = app_routes()
    for method, path in routes:
        assert method.lower() in spec["paths"].get(path, {}), f"{method} {path} missing from /openapi.json"
    assert spec["paths"]["/api/token"]["post"]["requestBody"]["content"].get("application/x-www-form-urlencoded")


def test_no_token_is_401_on_every_route_but_the_token_route(office):
    routes, _ = app_routes()
    assert len(routes) > 5
    assert public_paths() >= {"/api/token"}
    for method, path in routes:
        if path in public_paths():           # logging in
            continue
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic YTpi"}):
            r = httpx.request(method, office[0].url + fill(path), headers=headers,
                              json={} if method != "GET" else None)
            assert r.status_code == 401, f"{method} {path} {headers}: {r.status_code} {r.text}"
            assert set(r.json()) == {"error"} and "\n" not in r.json()["error"]
            assert r.headers["www-authenticate"] == "Bearer"


def test_upload_without_token_is_401_before_the_file_is_read(office):
    with open(SAMPLE, "rb") as f:
        r = httpx.post(office[0].url + "/api/processes", files={"file": f}, data={"label": "before"})
    assert r.status_code == 401


def test_a_login_never_says_which_half_was_wrong(office):
    url = office[0].url + "/api/token"
    wrong_password = httpx.post(url, data={"username": "钱改革", "password": "nope nope"})
    unknown_user = httpx.post(url, data={"username": "无此人", "password": PASSWORD})
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.json() == unknown_user.json()
    ok = httpx.post(url, data={"username": "钱改革", "password": PASSWORD})
    assert ok.status_code == 200
    assert set(ok.json()) == {"access_token", "token_type", "expires_in"} and ok.json()["token_type"] == "bearer"
    assert httpx.post(url, data={"username": "钱改革"}).status_code == 422
    if "/api/login" in public_paths():       # the table's login: JSON, and the client is the server's to say
        r = httpx.post(office[0].url + "/api/login", json={"username": "钱改革", "password": PASSWORD})
        assert r.status_code == 200 and r.json()["token_type"] == "bearer"
        spoofed = httpx.post(office[0].url + "/api/login",
                             json={"username": "钱改革", "password": PASSWORD, "client": "10.9.9.9"})
        assert spoofed.status_code == 422


def test_failed_logins_are_rate_limited(office):
    server, cli, db_url = office
    cli.ok("user add 孙限流 --role reformer", user="admin")
    set_passwords(db_url, ["孙限流"])
    url = server.url + "/api/token"
    codes = [httpx.post(url, data={"username": "孙限流", "password": f"guess {i}"}).status_code for i in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
    limited = httpx.post(url, data={"username": "孙限流", "password": PASSWORD})
    assert limited.status_code == 429, "the right password is not even checked while limited"
    assert int(limited.headers["retry-after"]) > 0 and "try again in" in limited.json()["error"]


def test_a_clerk_works_their_own_lane_and_not_another(office, clerk, police):
    case = start_case(clerk)
    tasks = clerk.get("/api/tasks").json()
    mine = [t for t in tasks if t["case"] == case]
    assert [t["name"] for t in mine] == ["受理"] and mine[0]["lane"] == "政务服务中心综合窗口"
    ref = mine[0]["id"]
    assert all(t["case"] != case for t in police.get("/api/tasks").json())
    for r in (police.get(f"/api/tasks/{ref}"), police.post(f"/api/tasks/{ref}/complete", json={"data": {}})):
        assert r.status_code == 403, r.text
        assert "belongs to 政务服务中心综合窗口" in r.json()["error"]
    shown = clerk.get(f"/api/tasks/{ref}").json()
    assert shown["data"]["申请人"] == "张三" and shown["id"] == ref
    done = clerk.post(f"/api/tasks/{ref}/complete", json={"data": {"核验": "通过"}, "onsite": True})
    assert done.status_code == 200, done.text
    assert [t["name"] for t in done.json()["ready"]] == ["审核"]
    again = clerk.post(f"/api/tasks/{ref}/complete", json={"data": {}})
    assert again.status_code == 409 and "already completed" in again.json()["error"]
    review = done.json()["ready"][0]["id"]
    returned = police.post(f"/api/tasks/{review}/return", json={"reason": "缺少居住证明"})
    assert returned.status_code == 200, returned.text
    events = clerk.get(f"/api/cases/{case}").json()["events"]
    assert [(e["actor"], e["action"]) for e in events if e["task"]] == [("王窗口", "complete"), ("赵警官", "return")]
    assert events[-1]["data"]["return_reason"] == "缺少居住证明"


def test_roles_are_enforced_by_the_server(office, clerk):
    with login(office[0].url, "钱改革") as reformer:
        r = reformer.post("/api/cases", json={"matter_code": "JZZSAMPLE"})
        assert r.status_code == 403 and "only clerks or admins" in r.json()["error"]
        assert reformer.get("/api/compare").status_code == 200
    with open(SAMPLE, "rb") as f:
        r = clerk.post("/api/processes", files={"file": f}, data={"label": "before"})
    assert r.status_code == 403 and "only designers or admins" in r.json()["error"]
    assert clerk.get("/api/users").status_code == 403


def test_errors_are_one_line_with_their_status(clerk):
    assert clerk.get("/api/cases/999999").status_code == 404
    assert clerk.get("/api/tasks/nonsense").status_code == 404
    bad = clerk.post("/api/cases", json={"matter_code": "JZZSAMPLE", "data": "not an object"})
    assert bad.status_code == 422 and bad.json()["error"].startswith("data:")
    extra = clerk.post("/api/cases", json={"matter_code": "JZZSAMPLE", "surprise": 1})
    assert extra.status_code == 422
    unknown = clerk.post("/api/cases", json={"matter_code": "NOSUCH"})
    assert unknown.status_code == 404 and unknown.json() == {"error": "no matter NOSUCH"}
    assert clerk.get("/api/nowhere").status_code == 404
    assert clerk.post("/api/cases", content=b"{", headers={"content-type": "application/json"}).status_code == 422


def test_expired_and_revoked_tokens_are_refused(office, clerk):
    server, _, url = office
    fresh = login(server.url, "王窗口")
    assert fresh.get("/api/tasks").status_code == 200
    assert fresh.post("/api/logout").status_code in (200, 204)
    r = fresh.get("/api/tasks")
    assert r.status_code == 401 and "expired or revoked" in r.json()["error"]
    assert fresh.post("/api/logout").status_code == 401
    old = login(server.url, "王窗口")
    engine = create_engine(url)
    digest = token_digest(old.headers["authorization"].split()[1])
    with engine.begin() as conn:       # eight hours later: this token's time is up
        conn.execute(text("UPDATE tokens SET expires_at = issued_at WHERE token_sha256 = :d"), {"d": digest})
    engine.dispose()
    r = old.get("/api/tasks")
    assert r.status_code == 401 and "expired or revoked" in r.json()["error"]


def test_upload_validates_and_stores_a_model(office):
    with login(office[0].url, "李设计") as designer:
        with open(SAMPLE, "rb") as f:
            r = designer.post("/api/processes", files={"file": ("居住证.bpmn", f)}, data={"label": "before"})
        assert r.status_code == 200, r.text
        assert r.json()["label"] == "before" and r.json()["matter_code"] == "JZZSAMPLE"
        broken = designer.post("/api/processes", files={"file": ("x.bpmn", b"<definitions>")},
                               data={"label": "before"})
        assert broken.status_code == 422 and "\n" not in broken.json()["error"]
        missing = designer.post("/api/processes", data={"label": "before"},
                                files={"other": ("x.txt", b"")})
        assert missing.status_code == 422 and "no file" in missing.json()["error"]
        big = designer.post("/api/processes", files={"file": ("big.bpmn", b"x" * (21 * 10 * 1024 * 1024))},
                            data={"label": "before"})
        assert big.status_code == 413
        versions = designer.get("/api/processes").json()
        assert [v["label"] for v in versions].count("before") == 1


def test_files_on_the_server_are_never_named_over_http(office, clerk):
    with login(office[0].url, "钱改革") as reformer:
        verified = reformer.get("/api/audit/verify", params={"key": "/etc/passwd", "checkpoint": "/etc/shadow"})
        assert verified.status_code == 200 and verified.json()["ok"] and "checkpoint" not in verified.json()
        assert clerk.get("/api/audit/verify").status_code == 403
        version = reformer.get("/api/processes").json()[0]["id"]
        stored = reformer.post("/api/analyze", json={"targets": [str(version)]})
        assert stored.status_code == 200, stored.text
        by_path = reformer.post("/api/analyze", json={"targets": [str(SAMPLE)]})
        assert by_path.status_code == 422 and "stored version ids" in by_path.json()["error"]


def test_validate_takes_uploaded_files(office):
    with login(office[0].url, "李设计") as designer:
        with open(SAMPLE, "rb") as f:
            r = designer.post("/api/validate", files={"file": ("居住证.bpmn", f)})
        assert r.status_code == 200, r.text
        assert [v["valid"] for v in r.json()] == [True] and r.json()[0]["file"].endswith("居住证.bpmn")


def test_a_lists_warnings_travel_in_a_header(office):
    server, cli, db_url = office
    cli.ok(["user", "add", "孤单", "--role", "clerk", "--department", "无此部门"], user="admin")
    set_passwords(db_url, ["孤单"])
    with login(server.url, "孤单") as lonely:
        r = lonely.get("/api/tasks")
    assert r.status_code == 200 and r.json() == []
    assert "no uploaded model has a lane named" in " ".join(json.loads(r.headers["onetrip-warnings"]))


def test_compare_files_takes_both_sides_as_uploads(office):
    with login(office[0].url, "钱改革") as reformer:
        r = reformer.post("/api/compare/files", files=[("before", ("before.bpmn", SAMPLE.read_bytes())),
                                                       ("after", ("after.bpmn", SAMPLE.read_bytes()))])
        assert r.status_code == 200, r.text
        assert r.json()["totals"]["before"]["steps"] == r.json()["totals"]["after"]["steps"] > 0
        one_side = reformer.post("/api/compare/files", files=[("before", ("b.bpmn", SAMPLE.read_bytes()))])
        assert one_side.status_code == 422 and "'after'" in one_side.json()["error"]

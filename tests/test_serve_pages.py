"""The web pages of `onetrip serve` over real HTTP: login cookie, CSRF on every form, the clerk's 待办,
a task completed and returned from its page, the case history, the dashboard, the upload page, and
everything from models and data escaped."""
from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from onetrip_testing.serve import PASSWORD, SAMPLE, served_office

HOSTILE = "<script>alert(1)</script>{{7*7}}"
HOSTILE_XML = "&lt;script&gt;alert(1)&lt;/script&gt;{{7*7}}"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;{{7*7}}"


def hostile_model(folder: Path) -> Path:
    """The sample model with a script and a template expression for its name, a step's and a material's."""
    xml = SAMPLE.read_text(encoding="utf-8")
    xml = xml.replace('name="居住证办理"', f'name="{HOSTILE_XML}"').replace('value="JZZSAMPLE"', 'value="EVIL"')
    xml = xml.replace('name="受理"', f'name="受理{HOSTILE_XML}"').replace('name="居民身份证"', f'name="{HOSTILE_XML}"')
    xml = xml.replace("Process_JZZ_sample", "Process_EVIL")
    path = folder / "evil.bpmn"
    path.write_text(xml, encoding="utf-8")
    return path


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def office(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pages")

    def models(cli):
        cli.ok(f"process upload {hostile_model(tmp)} --label after", user="李设计")
        cli.ok(f"process upload {SAMPLE} --label before", user="李设计")      # a pair: the charts have bars
    with served_office(request.param, tmp, models) as office:
        yield office


class Browser:
    """A person at a browser: cookies kept, forms posted with the page's CSRF token."""

    def __init__(self, url: str):
        self.http = httpx.Client(base_url=url, follow_redirects=False, timeout=30)

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def csrf(self) -> str:
        if "onetrip_csrf" not in self.http.cookies:
            self.get("/login")
        return self.http.cookies["onetrip_csrf"]

    def post(self, path: str, data: dict | list, files=None, csrf: str | None = "page") -> httpx.Response:
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        if csrf == "page":
            fields.append(("csrf", self.csrf()))
        elif csrf is not None:
            fields.append(("csrf", csrf))
        if files:
            return self.http.post(path, data=dict(fields), files=files)
        return self.http.post(path, content=httpx.QueryParams(fields).__str__().encode(),
                              headers={"content-type": "application/x-www-form-urlencoded"})

    def login(self, name: str, password: str = PASSWORD) -> httpx.Response:
        r = self.post("/login", {"username": name, "password": password})
        assert r.status_code == 303, r.text
        return r


def logged_in(office, name) -> Browser:
    b = Browser(office[0].url)
    b.login(name)
    return b


def start(cli, code="JZZSAMPLE", data="申请人=张三") -> int:
    return cli.json(f"case start {code} --data {data}", user="王窗口")["id"]


def task_of(cli, case_id: int, name_prefix: str) -> str:
    tasks = cli.json(f"task list --all --case {case_id}")
    return next(t["id"] for t in tasks if t["name"].startswith(name_prefix))


def test_login_sets_a_strict_httponly_cookie_and_goes_to_the_role_page(office):
    b = Browser(office[0].url)
    page = b.get("/tasks")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    r = b.login("王窗口")
    assert r.headers["location"] == "/tasks"
    cookies = r.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("onetrip_session="))
    assert "HttpOnly" in session and "SameSite=strict" in session.replace("Strict", "strict")
    assert b.get("/tasks").status_code == 200
    assert logged_in(office, "钱改革").get("/").headers["location"] == "/dashboard"
    assert logged_in(office, "李设计").get("/").headers["location"] == "/upload"


def test_a_wrong_login_says_nothing_about_which_half(office):
    b = Browser(office[0].url)
    wrong = b.post("/login", {"username": "王窗口", "password": "not it at all"})
    nobody = b.post("/login", {"username": "无此人", "password": PASSWORD})
    assert wrong.status_code == nobody.status_code == 401
    assert "wrong user name or password" in wrong.text and "wrong user name or password" in nobody.text
    assert "onetrip_session" not in b.http.cookies


def test_every_form_needs_the_csrf_token(office):
    server, cli, _ = office
    case = start(cli)
    ref = task_of(cli, case, "受理")
    b = Browser(server.url)
    assert b.post("/login", {"username": "王窗口", "password": PASSWORD}, csrf=None).status_code == 403
    assert b.post("/login", {"username": "王窗口", "password": PASSWORD}, csrf="forged").status_code == 403
    b.login("王窗口")
    form = {"key": "x", "value": "1", "action": "complete"}
    for csrf in (None, "forged", ""):
        r = b.post(f"/tasks/{ref}", form, csrf=csrf)
        assert r.status_code == 403 and "CSRF" in r.text
    assert ref in [t["id"] for t in cli.json(f"task list --all --case {case}")], "a forged form completed nothing"
    assert b.post("/logout", {}, csrf="forged").status_code == 403
    assert b.get("/tasks").status_code == 200, "still logged in"


def test_a_clerk_completes_a_task_from_its_page_and_it_leaves_the_list(office):
    server, cli, _ = office
    case = start(cli)
    ref = task_of(cli, case, "受理")
    b = logged_in(office, "王窗口")
    listing = b.get("/tasks").text
    assert f'data-ref="{ref}"' in listing and "待办" in listing
    page = b.get(f"/tasks/{ref}")
    assert page.status_code == 200
    assert "居民身份证 (id_card)" in page.text and "张三" in page.text and "申请人到现场" in page.text
    r = b.post(f"/tasks/{ref}", [("key", "核验结果"), ("value", "0101 通过"), ("key", ""), ("value", ""),
                                 ("onsite", "on"), ("action", "complete")])
    assert r.status_code == 303 and r.headers["location"] == f"/tasks?done={ref}"
    assert f'data-ref="{ref}"' not in b.get("/tasks").text
    event = [e for e in cli.json(f"case show {case}")["events"] if e["task"]][-1]
    assert event["actor"] == "王窗口" and event["data"]["核验结果"] == "0101 通过" and event["onsite"] is True
    history = b.get(f"/cases/{case}").text
    assert "核验结果=0101 通过" in history and "王窗口" in history


def test_a_police_clerk_returns_a_file_with_a_reason_and_cannot_touch_the_window(office):
    server, cli, _ = office
    case = start(cli)
    accept = task_of(cli, case, "受理")
    cli.ok(f"task complete {accept}", user="王窗口")
    review = task_of(cli, case, "审核")
    police = logged_in(office, "赵警官")
    assert police.get(f"/tasks/{accept}").status_code == 409, "already completed"
    no_reason = police.post(f"/tasks/{review}", {"action": "return", "reason": " "})
    assert no_reason.status_code == 422 and "原因" in no_reason.text
    r = police.post(f"/tasks/{review}", {"action": "return", "reason": "缺少居住证明"})
    assert r.status_code == 303
    window = logged_in(office, "王窗口")
    supplement = task_of(cli, case, "补正")
    assert police.get(f"/tasks/{supplement}").status_code == 403
    assert police.post(f"/tasks/{supplement}", {"action": "complete"}).status_code == 403
    assert window.get(f"/tasks/{supplement}").status_code == 200


def test_overdue_tasks_are_marked(office):
    server, cli, url = office
    case = start(cli)
    engine = create_engine(url)
    with engine.begin() as conn:       # a case whose promised date has passed
        conn.execute(text("UPDATE cases SET due_date = :d WHERE id = :id"), {"d": "2020-01-02", "id": case})
    engine.dispose()
    rows = re.findall(r'<tr class="([^"]*)" data-ref="([^"]+)">(.*?)</tr>',
                      logged_in(office, "王窗口").get("/tasks").text, re.S)
    mine = [r for r in rows if r[1].startswith(f"{case}.")]
    assert mine and mine[0][0] == "overdue" and "逾期" in mine[0][2]
    assert rows[0][1].startswith(f"{case}."), "the earliest due task comes first"
    assert all("逾期" not in r[2] for r in rows if r[0] != "overdue")


def test_the_reformer_sees_the_dashboard(office):
    b = logged_in(office, "钱改革")
    page = b.get("/dashboard")
    assert page.status_code == 200
    assert "改革成效" in page.text and "<svg" in page.text and 'class="bar after"' in page.text
    assert 'id="matters"' in page.text
    assert "<script src=\"/static/report.js\"></script>" in page.text
    assert b.get("/static/report.js").status_code == 200
    assert "Content-Security-Policy" in page.headers and "script-src 'self'" in page.headers["content-security-policy"]


def test_the_upload_page_shows_validation_results(office):
    b = logged_in(office, "李设计")
    assert "上传流程模型" in b.get("/upload").text
    bad = b.post("/upload", {"label": "before", "matter_code": ""}, files={"file": ("bad.bpmn", b"<bpmn/>")})
    assert bad.status_code == 422 and "校验未通过" in bad.text
    good = b.post("/upload", {"label": "before", "matter_code": ""},
                  files={"file": ("居住证.bpmn", SAMPLE.read_bytes())})
    assert good.status_code == 200 and ("已上传" in good.text or "已存在" in good.text), good.text[-2000:]
    clerk = logged_in(office, "王窗口")
    r = clerk.post("/upload", {"label": "before"}, files={"file": ("x.bpmn", SAMPLE.read_bytes())})
    assert r.status_code == 403


def test_hostile_names_and_data_are_escaped_on_every_page(office):
    server, cli, _ = office
    case = cli.json(["case", "start", "EVIL", "--data", f"备注={HOSTILE}"], user="王窗口")["id"]
    ref = task_of(cli, case, "受理")
    clerk = logged_in(office, "王窗口")
    pages = [clerk.get("/tasks"), clerk.get(f"/tasks/{ref}"), clerk.get(f"/cases/{case}")]
    failed = clerk.post(f"/tasks/{ref}", {"key": HOSTILE, "value": HOSTILE, "action": "return", "reason": ""})
    pages.append(failed)
    pages.append(logged_in(office, "钱改革").get("/dashboard"))
    pages.append(logged_in(office, "李设计").get("/upload"))
    for page in pages:
        assert page.status_code in (200, 422), page.text[-500:]
        assert "<script>alert(1)</script>" not in page.text, page.url
        assert ESCAPED in page.text, f"{page.url}: the hostile name is not shown as text"   # {{7*7}} not evaluated
    assert "alert(1)" not in str(httpx.get(server.url + "/static/report.js").text)


def test_a_revoked_login_goes_back_to_the_login_page(office):
    server, cli, _ = office
    b = logged_in(office, "王窗口")
    assert b.get("/tasks").status_code == 200
    cli.ok("user revoke 王窗口", user="admin")
    r = b.get("/tasks")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/tasks"
    assert b.post("/tasks/1.1", {"action": "complete"}).status_code == 303


def test_data_values_read_the_same_on_the_case_and_task_pages(office):
    """Nothing shows as "—", not Python's None; true as JSON's true, not True; a list with its Chinese as
    characters, not \\u escapes — in the applicant table, the case's events and the task's data alike."""
    _, cli, _ = office
    case = cli.json(["case", "start", "JZZSAMPLE", "--data", "申请人=张三", "--data", "备注:=null",
                     "--data", "加急:=true", "--data", '材料:=["身份证","照片"]'], user="王窗口")["id"]
    ref = task_of(cli, case, "受理")
    clerk = logged_in(office, "王窗口")
    for page in (clerk.get(f"/cases/{case}").text, clerk.get(f"/tasks/{ref}").text):
        assert "None" not in page and "True" not in page
        assert "—" in page and "true" in page
        assert "&#34;身份证&#34;" in page or '"身份证"' in page
        assert "\\u8eab" not in page

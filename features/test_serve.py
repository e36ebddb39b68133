"""Server scenarios: each role through the REST API of a real `onetrip serve` (subprocess, real HTTP)."""
from __future__ import annotations

import re

import httpx
import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from onetrip_testing.serve import login, make_office, serve
from web.api import public_paths

from conftest import model_path

scenarios("serve.feature")


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve-feature")
    url = f"sqlite:///{tmp / 'onetrip.db'}"
    make_office(url)
    with serve(url, tmp) as server:
        yield server


class Desk:
    def __init__(self, server):
        self.server = server
        self.clients: dict[str, httpx.Client] = {}
        self.answer: httpx.Response | None = None
        self.case: int | None = None


@pytest.fixture
def desk(office):
    d = Desk(office)
    yield d
    for c in d.clients.values():
        c.close()


def _tasks(desk, user):
    r = desk.clients[user].get("/api/tasks")
    assert r.status_code == 200, r.text
    return [t for t in r.json() if t["case"] == desk.case]


@given("the sample office is served")
def served(office):
    assert httpx.get(office.url + "/openapi.json").status_code == 200


@given(parsers.parse('"{user}" has logged in'))
def logged_in(desk, user):
    desk.clients[user] = login(desk.server.url, user)


@when(parsers.parse('"{user}" starts a case of "{code}" with "{data}"'))
def start(desk, user, code, data):
    key, _, value = data.partition("=")
    desk.answer = desk.clients[user].post("/api/cases", json={"matter_code": code, "data": {key: value}})
    if desk.answer.status_code == 200:
        desk.case = desk.answer.json()["id"]


@when(parsers.parse('"{user}" completes "{step}" with "{data}"'))
def complete(desk, user, step, data):
    key, _, value = data.partition("=")
    everyone = [t for c in desk.clients.values() for t in c.get("/api/tasks").json() if t["case"] == desk.case]
    ref = next(t["id"] for t in everyone if t["name"] == step)
    desk.answer = desk.clients[user].post(f"/api/tasks/{ref}/complete", json={"data": {key: value}})


@when(parsers.parse('"{user}" uploads "{name}" as "{label}"'))
def upload(desk, user, name, label):
    with open(model_path(name), "rb") as f:
        desk.answer = desk.clients[user].post("/api/processes", files={"file": (name, f)}, data={"label": label})


@when(parsers.parse('"{user}" uploads a file that is not BPMN'))
def upload_junk(desk, user):
    desk.answer = desk.clients[user].post("/api/processes", files={"file": ("junk.bpmn", b"not xml at all")},
                                          data={"label": "before"})


@when(parsers.parse('"{user}" reads the stored comparison'))
def compare(desk, user):
    desk.answer = desk.clients[user].get("/api/compare")


@then(parsers.parse('"{user}" sees the task "{step}" of the case'))
def sees(desk, user, step):
    assert step in [t["name"] for t in _tasks(desk, user)]


@then(parsers.parse('"{user}" no longer sees the task "{step}" of the case'))
def no_longer_sees(desk, user, step):
    assert step not in [t["name"] for t in _tasks(desk, user)]


@then(parsers.parse("the answer is {status:d}"))
def answer_is(desk, status):
    assert desk.answer.status_code == status, desk.answer.text


@then(parsers.parse('the answer is {status:d} saying "{text}"'))
def answer_says(desk, status, text):
    assert desk.answer.status_code == status, desk.answer.text
    assert text in desk.answer.json()["error"]


@then("every API route but logging in answers 401 without a token")
def all_401(desk):
    spec = httpx.get(desk.server.url + "/openapi.json").json()
    routes = [(m.upper(), p) for p, ops in spec["paths"].items() for m in ops if p not in public_paths()]
    assert len(routes) > 5
    for method, path in routes:
        r = httpx.request(method, desk.server.url + re.sub(r"{\w+}", "1", path))
        assert r.status_code == 401, f"{method} {path}: {r.status_code}"

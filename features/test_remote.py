"""Remote CLI scenarios: a real `onetrip serve` on a real SQLite file, the CLI going through it."""
import json

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

pytest.importorskip("web.app", reason="needs web/ (onetrip serve)")

from onetrip_testing.remote import Remote  # noqa: E402
from onetrip_testing.serve import make_office, serve  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
scenarios("remote.feature")


class Office:
    def __init__(self, server, direct, tmp):
        self.server, self.direct, self.tmp = server, direct, tmp
        self.people: dict[str, Remote] = {}
        self.case = None
        self.result = None

    def person(self, name: str) -> Remote:
        return self.people.setdefault(name, Remote(self.server.url, self.tmp / f"home-{name}"))


@pytest.fixture
def office(tmp_path):
    url = f"sqlite:///{tmp_path / 'onetrip.db'}"
    direct = make_office(url)
    with serve(url, tmp_path) as server:
        yield Office(server, direct, tmp_path)


@given("the sample office served by onetrip serve")
def served(office):
    return office


@when(parsers.parse('"{name}" logs in to the server'))
def logs_in(office, name):
    r = office.person(name).login(name)
    assert r.exit_code == 0, r.stderr


@when(parsers.parse('"{name}" logs out'))
def logs_out(office, name):
    office.person(name).ok("logout")


@when(parsers.parse('"{name}" starts a case of "{code}" through the server'))
def starts(office, name, code):
    office.case = json.loads(office.person(name).ok(f"case start {code} --data 申请人=张三 --json").stdout)["id"]


def _ready(office, name):
    return json.loads(office.person(name).ok("task list --json").stdout)


@then(parsers.parse('"{name}" sees the tasks "{names}" through the server'))
def sees(office, name, names):
    assert [t["name"] for t in _ready(office, name) if t["case"] == office.case] == names.split(",")


@when(parsers.parse('"{name}" completes "{step}" through the server'))
def completes(office, name, step):
    ref = next(t["id"] for t in _ready(office, name) if t["case"] == office.case and t["name"] == step)
    office.person(name).ok(f"task complete {ref} --online")


@when(parsers.parse('"{name}" runs "{command}" through the server'))
def runs(office, name, command):
    office.result = office.person(name)(command)


@then(parsers.parse('the remote command fails with "{text}"'))
def fails(office, text):
    r = office.result
    assert r.exit_code != 0 and text in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@then(parsers.parse('the case history says "{name}" completed "{step}"'))
def history(office, name, step):
    events = json.loads(office.direct.ok(f"case show {office.case} --json").stdout)["events"]
    assert [(e["name"], e["actor"], e["action"]) for e in events if e["task"]] == [(step, name, "complete")]

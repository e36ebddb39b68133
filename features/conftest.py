"""Step definitions shared by every feature: they drive the real CLI on a real database."""
from __future__ import annotations

from pathlib import Path

import pytest
from pytest_bdd import given, parsers, then, when

from onetrip_testing import CliHarness

REPO = Path(__file__).parent.parent
TEST_DATA = REPO / "tests" / "data"


def model_path(name: str) -> Path:
    for base in (TEST_DATA, REPO / "bpmn"):
        if (base / name).exists():
            return base / name
    raise FileNotFoundError(name)


class World:
    """What a scenario has done so far."""

    def __init__(self, cli: CliHarness, tmp_path: Path):
        self.cli = cli
        self.tmp = tmp_path
        self.result = None
        self.case = None
        self.last_task = None
        self.clock = 0
        self.admin = None          # once an administrator exists, users are added as them

    def now(self) -> str:
        """Each action happens a little later than the one before, on 2 March 2026."""
        self.clock += 1
        return f"2026-03-02T{8 + self.clock // 60:02d}:{self.clock % 60:02d}"

    def run(self, args, user=None):
        self.result = self.cli(args, user=user, now=self.now())
        return self.result


@pytest.fixture
def world(tmp_path) -> World:
    return World(CliHarness(f"sqlite:///{tmp_path / 'onetrip.db'}"), tmp_path)


@given("a fresh onetrip database")
def fresh_database(world):
    world.cli.ok("init")


@given(parsers.parse('a designer "{name}"'))
def a_designer(world, name):
    world.cli.ok(["user", "add", name, "--role", "designer"], user=world.admin)


@given(parsers.parse('a clerk "{name}" of "{department}"'))
def a_clerk(world, name, department):
    world.cli.ok(["user", "add", name, "--role", "clerk", "--department", department], user=world.admin)


@given(parsers.parse('a reformer "{name}"'))
def a_reformer(world, name):
    world.cli.ok(["user", "add", name, "--role", "reformer"], user=world.admin)


@when(parsers.parse('"{user}" uploads "{model}" as "{label}"'))
def upload(world, user, model, label):
    world.run(["process", "upload", str(model_path(model)), "--label", label], user=user)


@given(parsers.parse('"{user}" has uploaded "{model}" as "{label}"'))
def uploaded(world, user, model, label):
    upload(world, user, model, label)
    assert world.result.exit_code == 0, world.result.stderr


@then("the command succeeds")
def command_succeeds(world):
    assert world.result.exit_code == 0, world.result.stderr


@then(parsers.parse('the command fails with "{message}"'))
def command_fails(world, message):
    r = world.result
    assert r.exit_code != 0, r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr          # one clear line, never a traceback
    assert message in lines[0], lines[0]


@then(parsers.parse('the output says "{text}"'))
def output_says(world, text):
    assert text in world.result.stdout, world.result.stdout


@then(parsers.parse('"{user}" sees the tasks "{names}"'))
def sees_tasks(world, user, names):
    tasks = world.cli.json("task list", user=user)
    assert [t["name"] for t in tasks] == [n.strip() for n in names.split(",")]


@then(parsers.parse('"{user}" sees no tasks'))
def sees_no_tasks(world, user):
    assert world.cli.json("task list", user=user) == []

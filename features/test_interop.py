"""Interop scenarios: models from Flowable and Camunda Modeler, run through the real CLI."""
from pathlib import Path

from pytest_bdd import given, parsers, scenarios, then, when

scenarios("interop.feature")

MODELS = Path(__file__).parent.parent / "tests" / "data" / "interop"


@given(parsers.parse('"{user}" uploads the interop model "{model}" as "{label}" for the matter "{code}"'))
@when(parsers.parse('"{user}" uploads the interop model "{model}" as "{label}" for the matter "{code}"'))
def upload_interop(world, user, model, label, code):
    world.run(["process", "upload", str(MODELS / model), "--label", label, "--matter", code], user=user)
    assert world.result.exit_code == 0, world.result.stderr


@when(parsers.parse('"{user}" uploads the interop models "{models}" as "{label}" for the matter "{code}"'))
def upload_several(world, user, models, label, code):
    paths = [str(MODELS / m.strip()) for m in models.split(",")]
    world.run(["process", "upload", *paths, "--label", label, "--matter", code], user=user)
    assert world.result.exit_code == 0, world.result.stderr


@when(parsers.parse('"{user}" validates the interop model "{model}" with "{options}"'))
def validate_with(world, user, model, options):
    world.run(["process", "validate", str(MODELS / model), *options.split()], user=user)


@when(parsers.parse('"{user}" analyzes the interop model "{model}"'))
def analyze_interop(world, user, model):
    world.run(["process", "analyze", str(MODELS / model)], user=user)
    assert world.result.exit_code == 0, world.result.stderr


@when(parsers.parse('"{user}" uploads the interop model "{model}" changed from "{old}" to "{new}"'))
def upload_changed(world, user, model, old, new):
    text = (MODELS / model).read_text(encoding="utf-8")
    assert old in text
    path = world.tmp / model
    path.write_text(text.replace(old, new), encoding="utf-8")
    world.run(["process", "upload", str(path), "--label", "after", "--matter", "CHANGED"], user=user)


@when(parsers.parse('"{user}" validates the interop model "{model}"'))
def validate_interop(world, user, model):
    world.run(["process", "validate", str(MODELS / model)], user=user)


@when(parsers.parse('"{user}" shows the latest version'))
def show_latest(world, user):
    versions = world.cli.json(["process", "list"], user=user)
    world.run(["process", "show", str(versions[-1]["id"])], user=user)


@when(parsers.parse('"{user}" starts a case of "{code}" with the data "{data}"'))
def start_with_data(world, user, code, data):
    args = ["case", "start", code, "--json"]
    for item in data.split():
        args += ["--data", item]
    r = world.run(args, user=user)
    assert r.exit_code == 0, r.stderr
    world.case = r.json()["id"]


@when(parsers.parse('"{user}" completes "{step}" at "{at}"'))
def complete_at(world, user, step, at):
    tasks = world.cli.json(["task", "list", "--all", "--case", str(world.case)], now=at)
    [task] = [t for t in tasks if t["name"] == step]
    world.result = world.cli(["task", "complete", task["id"]], user=user, now=at)
    assert world.result.exit_code == 0, world.result.stderr


@given(parsers.parse('an administrator "{name}"'))
def an_admin(world, name):
    world.cli.ok(["user", "add", name, "--role", "admin"])
    world.admin = name


@when(parsers.parse('"{user}" accepts a case of "{code}" on "{at}"'))
def accept_case(world, user, code, at):
    world.result = world.cli(["case", "start", code, "--json"], user=user, now=at)
    assert world.result.exit_code == 0, world.result.stderr
    world.case = world.result.json()["id"]


@when(parsers.parse('the worker runs at "{at}"'))
def worker_runs(world, at):
    world.result = world.cli(["worker", "--once"], user=world.admin, now=at)
    assert world.result.exit_code == 0, world.result.stderr


@when(parsers.parse('"{user}" completes "{step}"'))
@when(parsers.parse('"{user}" completes "{step}" with "{data}"'))
def complete(world, user, step, data=None):
    tasks = world.cli.json(["task", "list", "--all", "--case", str(world.case)])
    [task] = [t for t in tasks if t["name"] == step]
    world.run(["task", "complete", task["id"]] + (["--data", data] if data else []), user=user)
    assert world.result.exit_code == 0, world.result.stderr


@then("the case is completed")
def case_completed(world):
    assert world.cli.json(["case", "show", str(world.case)])["status"] == "completed"

"""Clerk scenarios: start a case, own department's tasks, corrections, history."""
from pytest_bdd import given, parsers, scenarios, then, when

scenarios("clerk.feature")


def _task_named(world, name):
    tasks = world.cli.json(["task", "list", "--all", "--case", str(world.case)])
    matches = [t for t in tasks if t["name"] == name]
    assert matches, f"no ready task {name!r}; ready: {[t['name'] for t in tasks]}"
    return matches[0]["id"]


@given(parsers.parse('"{user}" has started a case of "{code}"'))
@when(parsers.parse('"{user}" starts a case of "{code}" with "{data}"'))
def start_case(world, user, code, data=None):
    args = ["case", "start", code, "--json"] + (["--data", data] if data else [])
    r = world.run(args, user=user)
    assert r.exit_code == 0, r.stderr
    world.case = r.json()["id"]


@when(parsers.parse('"{user}" completes "{step}"'))
@when(parsers.parse('"{user}" completes "{step}" with "{data}"'))
def complete(world, user, step, data=None):
    world.last_task = _task_named(world, step)
    world.run(["task", "complete", world.last_task] + (["--data", data] if data else []), user=user)


@given(parsers.parse('"{user}" has completed "{step}"'))
def completed(world, user, step):
    complete(world, user, step)
    assert world.result.exit_code == 0, world.result.stderr


@when(parsers.parse('"{user}" returns "{step}" because "{reason}"'))
def return_task(world, user, step, reason):
    world.last_task = _task_named(world, step)
    world.run(["task", "return", world.last_task, "--reason", reason], user=user)
    assert world.result.exit_code == 0, world.result.stderr


@when(parsers.parse('"{user}" completes the same task again'))
def complete_again(world, user):
    world.run(["task", "complete", world.last_task], user=user)


@then("the case is completed")
def case_completed(world):
    assert world.cli.json(["case", "show", str(world.case)])["status"] == "completed"


@then("the case history lists, with actor and time:")
def history(world, datatable):
    events = [e for e in world.cli.json(["case", "show", str(world.case)])["events"] if e["task"]]
    header, *rows = datatable
    assert [[e["name"], e["actor"], e["action"]] for e in events] == rows
    times = [e["at"] for e in events]
    assert times == sorted(times) and all(t.startswith("2026-03-02T") for t in times)


@when(parsers.parse('"{user}" tries to return "{step}" because "{reason}"'))
def try_return(world, user, step, reason):
    world.run(["task", "return", _task_named(world, step), "--reason", reason], user=user)


@when(parsers.parse('"{user}" tries to start a case of "{code}"'))
def try_start(world, user, code):
    world.run(["case", "start", code], user=user)


@when(parsers.parse('a clerk "{name}" of "{department}" is added'))
def add_clerk(world, name, department):
    world.run(["user", "add", name, "--role", "clerk", "--department", department], user=world.admin)


@when(parsers.parse('"{user}" completes "{step}" online, though the model expects the applicant in person'))
def complete_online(world, user, step):
    world.run(["task", "complete", _task_named(world, step), "--online"], user=user)
    assert world.result.exit_code == 0, world.result.stderr


@then(parsers.parse('it warns "{text}"'))
def warns(world, text):
    assert text in world.result.stderr, world.result.stderr


@then("the case has no returns")
def no_returns(world):
    shown = world.cli.json(["case", "show", str(world.case)])
    assert shown["measured"]["returns"] == 0 and [e["action"] for e in shown["events"]] == ["start"]


@then(parsers.parse('the case history shows "{step}" as "{where}"'))
def history_where(world, step, where):
    out = world.cli.ok(["case", "show", str(world.case)]).stdout
    line = next(line for line in out.splitlines() if step in line and "办结" in line)
    assert where in line, out


def _last_step_data(world) -> dict:
    return world.cli.json(["case", "show", str(world.case)])["events"][-1]["data"]


@then(parsers.parse('the last step recorded "{key}" as the text "{value}"'))
def recorded_text(world, key, value):
    assert _last_step_data(world)[key] == value


@then(parsers.parse('the last step recorded "{key}" as the number {value:d}'))
def recorded_number(world, key, value):
    stored = _last_step_data(world)[key]
    assert stored == value and not isinstance(stored, str), stored

"""Administrator scenarios: users, the working-day calendar, the worker, the audit trail."""
from pytest_bdd import given, parsers, scenarios, then, when
from sqlalchemy import create_engine, text

scenarios("admin.feature")


@given(parsers.parse('an administrator "{name}"'))
def an_admin(world, name):
    world.cli.ok(["user", "add", name, "--role", "admin"])
    world.admin = name


@when(parsers.parse('"{user}" adds the clerk "{name}" of "{department}"'))
def add_clerk(world, user, name, department):
    world.run(["user", "add", name, "--role", "clerk", "--department", department], user=user)


@given(parsers.parse('"{user}" accepts a case of "{code}" on "{at}"'))
@when(parsers.parse('"{user}" accepts a case of "{code}" on "{at}"'))
def accept_case(world, user, code, at):
    world.result = world.cli(["case", "start", code, "--json"], user=user, now=at)
    assert world.result.exit_code == 0, world.result.stderr
    world.case = world.result.json()


@then(parsers.parse('the case is due on "{day}"'))
def due_on(world, day):
    assert world.case["due_date"] == day


@when(parsers.parse('"{user}" imports the 2027 notice with 1 January as a holiday'))
def import_notice(world, user):
    notice = world.tmp / "2027.toml"
    notice.write_text('year = 2027\nholidays = ["2027-01-01"]\nworkdays = []\n', encoding="utf-8")
    world.run(["calendar", "import", str(notice)], user=user)
    assert world.result.exit_code == 0, world.result.stderr


@when(parsers.parse('the worker runs at "{at}"'))
def worker_runs(world, at):
    world.result = world.cli(["worker", "--once"], user=world.admin, now=at)
    assert world.result.exit_code == 0, world.result.stderr


@when("someone changes the actor of the case's first event in the database")
def tamper(world):
    eng = create_engine(world.cli.db_url)
    with eng.begin() as conn:
        conn.execute(text("UPDATE task_events SET actor = '冒名顶替' WHERE case_id = 1 AND seq = 1"))
    eng.dispose()


@given("an audit signing key kept away from the database")
def signing_key(world):
    world.key = str(world.tmp / "keys" / "audit.key")
    (world.tmp / "keys").mkdir()
    world.cli.ok(["audit", "keygen", world.key])


@when(parsers.parse('"{user}" takes an audit checkpoint'))
def take_checkpoint(world, user):
    world.checkpoint = str(world.tmp / "checkpoint.json")
    world.run(["audit", "checkpoint", world.checkpoint, "--key", world.key], user=user)


@when("someone changes who accepted the case and recomputes the audit trail's hashes in the database")
def rewrite_history(world):
    from engine import audit
    from engine.store import TaskEvent
    events = TaskEvent.__table__
    eng = create_engine(world.cli.db_url)
    with eng.begin() as conn:
        conn.execute(text("UPDATE task_events SET actor = '冒名顶替' WHERE case_id = 1 AND seq = 1"))
        prev = None
        for row in conn.execute(events.select().where(events.c.case_id == 1).order_by(events.c.seq)).all():
            prev_hash, prev = prev, audit.event_hash(prev, dict(row._mapping))
            conn.execute(events.update().where(events.c.id == row.id).values(prev_hash=prev_hash, hash=prev))
        conn.execute(text("UPDATE cases SET last_hash = :h WHERE id = 1"), {"h": prev})
    eng.dispose()


@when(parsers.parse('someone moves the case\'s ready task to "{lane}" in the database'))
def move_task(world, lane):
    eng = create_engine(world.cli.db_url)
    with eng.begin() as conn:
        conn.execute(text("UPDATE work_items SET lane = :lane WHERE case_id = 1"), {"lane": lane})
    eng.dispose()


@when(parsers.parse('"{user}" verifies the audit trail against the checkpoint'))
def verify_against_checkpoint(world, user):
    world.run(["audit", "verify", "--checkpoint", world.checkpoint, "--pubkey", world.key + ".pub"], user=user)


@when(parsers.parse('"{user}" verifies the audit trail'))
def verify(world, user):
    world.run(["audit", "verify"], user=user)


@then(parsers.parse('the worker reports "{text}"'))
def worker_reports(world, text):
    assert text in world.result.stderr + world.result.stdout, world.result.stderr


@then(parsers.parse('case {case_id:d} is listed as "{status}"'))
def listed_as(world, case_id, status):
    rows = world.cli.json(["case", "list", "--status", status])
    assert case_id in [r["id"] for r in rows], rows


@then(parsers.parse('case {case_id:d} shows "{first}" and "{second}"'))
def case_shows(world, case_id, first, second):
    out = world.cli(["case", "show", str(case_id)]).stdout
    assert first in out and second in out, out


@when(parsers.parse('"{user}" releases case {case_id:d} at "{at}"'))
def release(world, user, case_id, at):
    world.result = world.cli(["case", "release", str(case_id)], user=user, now=at)


@when(parsers.parse('"{user}" cancels case {case_id:d} because "{reason}" at "{at}"'))
def cancel(world, user, case_id, reason, at):
    world.result = world.cli(["case", "cancel", str(case_id), "--reason", reason], user=user, now=at)


@when(parsers.parse('"{user}" sets the password of "{name}" to "{password}"'))
def set_password(world, user, name, password):
    world.result = world.cli(["user", "password", name], user=user, now=world.now(), input=password + "\n")


def _login(world, name, password):
    from engine import auth, store
    from engine.clock import parse_instant
    from engine.errors import AuthenticationFailed
    eng = store.open_database(world.cli.db_url)
    try:
        with store.session_factory(eng)() as s, s.begin():
            try:
                return auth.issue_token(s, name, password, parse_instant(world.now()), "127.0.0.1")
            except AuthenticationFailed as exc:
                return exc
    finally:
        eng.dispose()


@then(parsers.parse('"{name}" logs in with "{password}"'))
def logs_in(world, name, password):
    token = _login(world, name, password)
    assert isinstance(token, dict) and token["token_type"] == "bearer", token


@then(parsers.parse('"{name}" cannot log in with "{password}"'))
def cannot_log_in(world, name, password):
    assert str(_login(world, name, password)) == "wrong user name or password"

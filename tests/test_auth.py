"""Logins (engine.auth) on a real SQLite file and a real PostgreSQL: passwords, tokens, rate limits,
`onetrip user password`/`revoke` through the CLI, and the rule that only a simulation's clock is pinned."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from engine import auth, store
from engine.clock import FixedClock
from engine.config import Settings
from engine.errors import AuthenticationFailed, NotFound, RateLimited
from engine.context import Context
from engine.service import Service
from onetrip_testing import CliHarness, WINDOW, setup_people

T0 = datetime(2026, 3, 2, 9, 0)
PASSWORD = "正确的马电池订书钉"
ROOT = Path(__file__).parent.parent


@pytest.fixture
def office(db_url):
    """A database with an admin, a designer and two clerks (no passwords yet); a session factory on it."""
    cli = CliHarness(db_url)
    setup_people(cli)
    eng = store.open_database(db_url)
    yield cli, store.session_factory(eng)
    eng.dispose()


def _run(sessions, fn, *args, **kwargs):
    """One committed transaction, like a server's request; a raised error still commits what was flushed."""
    with sessions() as s, s.begin():
        try:
            return fn(s, *args, **kwargs), None
        except (AuthenticationFailed, RateLimited) as exc:
            return None, exc


def _login(sessions, name, password, now, client="10.0.0.1"):
    return _run(sessions, auth.issue_token, name, password, now, client)


def test_password_token_resolve_expire_revoke(office):
    cli, sessions = office
    _run(sessions, auth.set_password, "王窗口", PASSWORD, T0)
    with sessions() as s:
        stored = s.scalar(select(store.User.password_hash).where(store.User.name == "王窗口"))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored

    issued, error = _login(sessions, "王窗口", PASSWORD, T0)
    assert error is None and issued["token_type"] == "bearer" and issued["expires_in"] == 8 * 3600
    token = issued["access_token"]
    with sessions() as s:
        kept = s.scalars(select(store.Token.token_sha256)).all()
    assert kept == [hashlib.sha256(token.encode()).hexdigest()]      # the token itself is nowhere stored

    with sessions() as s:
        assert auth.resolve_token(s, token, T0 + timedelta(hours=7, minutes=59)) == "王窗口"
        for when in (T0 + timedelta(hours=8), T0 + timedelta(days=3)):          # expired
            with pytest.raises(AuthenticationFailed, match="token expired or revoked"):
                auth.resolve_token(s, token, when)
        for bad in ("", None, token + "x", token.upper()):
            with pytest.raises(AuthenticationFailed, match="not logged in"):
                auth.resolve_token(s, bad, T0)

    second, _ = _login(sessions, "王窗口", PASSWORD, T0 + timedelta(minutes=1))
    third, _ = _login(sessions, "王窗口", PASSWORD, T0 + timedelta(minutes=2), client="10.0.0.2")
    assert len({token, second["access_token"], third["access_token"]}) == 3
    _run(sessions, auth.revoke_token, second["access_token"], T0 + timedelta(minutes=3))
    _run(sessions, auth.revoke_token, "no such token", T0 + timedelta(minutes=3))        # no error: logged out
    with sessions() as s:
        with pytest.raises(AuthenticationFailed, match="token expired or revoked"):
            auth.resolve_token(s, second["access_token"], T0 + timedelta(minutes=4))
        assert auth.resolve_token(s, token, T0 + timedelta(minutes=4)) == "王窗口"
    count, _ = _run(sessions, auth.revoke_user_tokens, "王窗口", T0 + timedelta(minutes=5))
    assert count == 2                  # the two still live; the one already revoked is not counted again
    with sessions() as s:
        for t in (token, third["access_token"]):
            with pytest.raises(AuthenticationFailed, match="token expired or revoked"):
                auth.resolve_token(s, t, T0 + timedelta(minutes=6))
        with pytest.raises(NotFound):
            auth.revoke_user_tokens(s, "无此人", T0)

    # A new password ends the logins made with the old one.
    fourth, _ = _login(sessions, "王窗口", PASSWORD, T0 + timedelta(minutes=7))
    _run(sessions, auth.set_password, "王窗口", "另一个足够长的口令", T0 + timedelta(minutes=8))
    with sessions() as s:
        with pytest.raises(AuthenticationFailed, match="token expired or revoked"):
            auth.resolve_token(s, fourth["access_token"], T0 + timedelta(minutes=9))


def test_a_failed_login_never_says_which_half_was_wrong(office):
    cli, sessions = office
    _run(sessions, auth.set_password, "王窗口", PASSWORD, T0)
    messages = set()
    for i, (name, password) in enumerate([("王窗口", "wrong password"), ("无此人", PASSWORD),
                                          ("赵警官", PASSWORD),            # exists, has no password
                                          ("", PASSWORD), ("王窗口", ""), ("王窗口", PASSWORD * 200)]):
        result, error = _login(sessions, name, password, T0, client=f"10.0.1.{i}")
        assert result is None and isinstance(error, AuthenticationFailed), (name, password)
        assert error.exit_code == 77
        messages.add(str(error))
    assert messages == {"wrong user name or password"}


def test_failed_logins_are_rate_limited_per_user_name_and_expire(office):
    cli, sessions = office
    _run(sessions, auth.set_password, "王窗口", PASSWORD, T0)
    for i in range(auth.MAX_FAILURES_PER_USER):          # from five different clients
        _, error = _login(sessions, "王窗口", f"guess {i}", T0 + timedelta(seconds=10 * i), client=f"10.9.0.{i}")
        assert isinstance(error, AuthenticationFailed)
    # Now even the right password from a fresh client is not checked.
    _, error = _login(sessions, "王窗口", PASSWORD, T0 + timedelta(seconds=60), client="10.9.9.9")
    assert isinstance(error, RateLimited) and error.exit_code == 75
    assert error.retry_after == 300 - 60 and "try again in 240 seconds" in str(error)
    # Another user is not affected.
    _run(sessions, auth.set_password, "赵警官", PASSWORD, T0)
    ok, error = _login(sessions, "赵警官", PASSWORD, T0 + timedelta(seconds=61), client="10.9.9.9")
    assert error is None and ok["access_token"]
    # Once the first failure leaves the window, one more attempt is allowed.
    _, error = _login(sessions, "王窗口", PASSWORD, T0 + timedelta(seconds=299), client="10.9.9.9")
    assert isinstance(error, RateLimited) and error.retry_after == 1
    ok, error = _login(sessions, "王窗口", PASSWORD, T0 + timedelta(seconds=300), client="10.9.9.9")
    assert error is None and ok["access_token"]


def test_failed_logins_are_rate_limited_per_client_and_a_success_does_not_reset_others(office):
    cli, sessions = office
    _run(sessions, auth.set_password, "王窗口", PASSWORD, T0)
    attacker = "203.0.113.7"
    _login(sessions, "王窗口", "wrong", T0, client=attacker)
    for i in range(auth.MAX_FAILURES_PER_CLIENT - 2):        # a different name each time: no per-user limit
        _, error = _login(sessions, f"猜测{i}", "wrong", T0 + timedelta(seconds=i), client=attacker)
        assert isinstance(error, AuthenticationFailed)
    # The right password for 王窗口 from the same client succeeds and forgives 王窗口's own failure only.
    ok, error = _login(sessions, "王窗口", PASSWORD, T0 + timedelta(seconds=30), client=attacker)
    assert error is None
    with sessions() as s:
        left = s.scalars(select(store.LoginFailure.username).where(store.LoginFailure.client == attacker)).all()
    assert len(left) == auth.MAX_FAILURES_PER_CLIENT - 2 and "王窗口" not in left
    for i in range(2):
        _, error = _login(sessions, f"又猜{i}", "wrong", T0 + timedelta(seconds=40 + i), client=attacker)
        assert isinstance(error, AuthenticationFailed)
    _, error = _login(sessions, "王窗口", PASSWORD, T0 + timedelta(seconds=50), client=attacker)
    assert isinstance(error, RateLimited) and error.retry_after == 300 - 50
    ok, error = _login(sessions, "王窗口", PASSWORD, T0 + timedelta(seconds=50), client="198.51.100.1")
    assert error is None                                            # another client is not limited
    ok, error = _login(sessions, "王窗口", PASSWORD, T0 + timedelta(seconds=301), client=attacker)
    assert error is None                                            # the window has passed


def test_the_service_counts_a_failed_login_although_it_raises(office):
    """Service.login commits the recorded failure (another process sees it), then raises."""
    cli, sessions = office
    settings = Settings(db_url=cli.db_url, clock=FixedClock(T0))
    first, second = Service(settings), Service(Settings(db_url=cli.db_url, clock=FixedClock(T0)))
    ctx = Context("王窗口", settings.clock)
    try:
        assert first.set_password(ctx, "王窗口", PASSWORD) == {"name": "王窗口", "password": "set"}
        for i in range(auth.MAX_FAILURES_PER_USER):
            with pytest.raises(AuthenticationFailed, match="^wrong user name or password$"):
                (first if i % 2 else second).login(ctx, "王窗口", "wrong", f"c{i}")
        with pytest.raises(RateLimited):
            second.login(ctx, "王窗口", PASSWORD, "c9")
        ctx = Context("王窗口", FixedClock(T0 + timedelta(minutes=5)))
        token = first.login(ctx, "王窗口", PASSWORD, "c9")["access_token"]
        assert first.token_user(ctx, token) == "王窗口"
        first.logout(ctx, token)
        with pytest.raises(AuthenticationFailed, match="token expired or revoked"):
            first.token_user(ctx, token)
    finally:
        first.dispose()
        second.dispose()


def test_user_password_and_revoke_through_the_cli(office):
    cli, sessions = office
    # A user sets their own (stdin is not a terminal: one line is read).
    r = cli.ok(["user", "password", "王窗口"], user="王窗口", input=PASSWORD + "\n")
    assert r.stdout == "password set for 王窗口\n" and PASSWORD not in r.stdout + r.stderr
    ok, error = _login(sessions, "王窗口", PASSWORD, datetime.now())
    assert error is None
    # Not someone else's.
    r = cli(["user", "password", "赵警官"], user="王窗口", input=PASSWORD + "\n")
    assert r.exit_code == 1 and r.stderr.strip().splitlines() == [
        "Error: 王窗口 may set only their own password; an admin sets others'"]
    # An admin sets anyone's.
    cli.ok(["user", "password", "赵警官"], user="admin", input="警官的口令12345\n")
    assert _login(sessions, "赵警官", "警官的口令12345", datetime.now())[1] is None
    for password, why in [("", "empty password"), ("short", "password too short: use at least 8 characters")]:
        r = cli(["user", "password", "王窗口"], user="王窗口", input=password + "\n")
        assert r.exit_code == 1 and r.stderr.strip().splitlines() == [f"Error: {why}" + (
            ": nothing was changed" if not password else "")], r.stderr
    r = cli(["user", "password", "无此人"], user="admin", input=PASSWORD + "\n")
    assert r.exit_code == 1 and r.stderr.strip() == "Error: no user 无此人"
    r = cli(["user", "password", "王窗口"], input=PASSWORD + "\n")
    assert r.exit_code == 1 and "no acting user" in r.stderr
    # The old password still works after the refusals: nothing was changed.
    assert _login(sessions, "王窗口", PASSWORD, datetime.now())[1] is None

    r = cli(["user", "revoke", "王窗口"], user="王窗口")
    assert r.exit_code == 1 and r.stderr.strip() == "Error: 王窗口 is a clerk; only admins may revoke logins"
    assert cli.json(["user", "revoke", "王窗口"], user="admin") == {"name": "王窗口", "revoked": 2}
    assert cli.ok(["user", "revoke", "王窗口"], user="admin").stdout == "revoked 0 token(s) of 王窗口\n"


def test_user_password_at_a_terminal_is_typed_twice_unseen(tmp_path):
    """Through a real pseudo-terminal: the prompt hides the typing and asks again to confirm."""
    import pty
    url = f"sqlite:///{tmp_path / 'o.db'}"
    cli = CliHarness(url, simulation=False)
    cli.ok("init")
    cli.ok("user add admin --role admin")
    pid, fd = pty.fork()
    if pid == 0:                                      # the child: onetrip with the pty as its terminal
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, "-c", "import cli; cli.main()", "--db", url, "--as", "admin",
                                   "user", "password", "admin"],
                  {k: v for k, v in os.environ.items() if not k.startswith("ONETRIP_")})
    seen = b""

    def read_until(marker: bytes):
        nonlocal seen
        while marker not in seen:
            chunk = os.read(fd, 1024)
            if not chunk:
                break
            seen += chunk
    read_until(b"password:")
    os.write(fd, (PASSWORD + "\n").encode())
    read_until(b"confirmation:")
    os.write(fd, (PASSWORD + "\n").encode())
    read_until(b"password set for admin")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, seen.decode(errors="replace")
    assert PASSWORD.encode() not in seen                     # never echoed
    eng = store.open_database(url)
    try:
        assert _login(store.session_factory(eng), "admin", PASSWORD, datetime.now())[1] is None
    finally:
        eng.dispose()


def test_only_a_simulation_database_lets_the_clock_be_pinned(db_url, monkeypatch):
    real = CliHarness(db_url, simulation=False)
    assert real.json("init")["simulation"] is False
    real.ok("user add admin --role admin")
    refused = ("Error: this database is not a simulation: its clock is the machine's; --now and ONETRIP_NOW "
               "work only on a database made by `onetrip demo` or `onetrip init --simulation`")
    r = real("user list", now="2026-03-02T09:00")
    assert r.exit_code == 1 and r.stderr.strip().splitlines() == [refused]
    pinned_by_env = CliHarness(db_url, simulation=False, env={"ONETRIP_NOW": "2026-03-02T09:00"})
    r = pinned_by_env("user list")
    assert r.exit_code == 1 and r.stderr.strip().splitlines() == [refused]
    # `init` on it again (an upgrade) does not make it a simulation; a pinned clock is still refused.
    r = real("init", now="2026-03-02T09:00")
    assert r.exit_code == 1 and r.stderr.strip().splitlines() == [refused]
    svc = Service(Settings(db_url=db_url))
    with pytest.raises(Exception, match="this database is not a simulation"):
        svc.list_users(Context("admin", FixedClock(T0)))
    svc.dispose()
    assert real.json("user list")[0]["name"] == "admin"         # the machine's clock: fine
    # `init --simulation` marks it; then the clock may be pinned.
    assert real.json("init --simulation")["simulation"] is True
    assert real.ok("user list", now="2026-03-02T09:00").exit_code == 0
    assert pinned_by_env.ok("user list").exit_code == 0


def test_a_step_dated_before_the_cases_last_event_is_refused_on_a_real_database(db_url, sample_bpmn):
    """No pinned clock at all: a case whose last event lies ahead of this machine's clock (another
    server's clock ran fast) takes no step dated earlier."""
    cli = CliHarness(db_url, simulation=False)
    setup_people(cli)
    cli.ok(["process", "upload", str(sample_bpmn), "--label", "after"], user="李设计")
    case = cli.json("case start JZZSAMPLE", user="王窗口")
    ahead = datetime.now().replace(microsecond=0) + timedelta(days=1)
    eng = store.make_engine(db_url)
    with eng.begin() as conn:
        conn.execute(update(store.Case).where(store.Case.id == case["id"]).values(updated_at=ahead))
    eng.dispose()
    task = cli.json(["task", "list"], user="王窗口")[0]
    assert task["lane"] == WINDOW
    r = cli(["task", "complete", task["id"]], user="王窗口")
    assert r.exit_code == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "is earlier than the case's last event" in r.stderr and "time only moves forward" in r.stderr
    assert cli.json(["task", "list"], user="王窗口")[0]["id"] == task["id"]        # nothing was saved
    # Nor can the office's database be turned into a simulation afterwards to pin its clock.
    r = cli("init --simulation")
    assert r.exit_code == 1 and r.stderr.strip().splitlines() == [
        "Error: this database holds 1 case(s) worked on the machine's clock, so it cannot become a simulation: "
        "give the simulation a database of its own (a new file or PostgreSQL database)"]
    assert cli.json("init")["simulation"] is False


def test_migration_0004_upgrades_an_0003_database(tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect
    url = f"sqlite:///{tmp_path / 'old.db'}"
    eng = store.make_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(store.__file__).parent / "migrations"))
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
    cli = CliHarness(url, simulation=False)
    r = cli("user list")
    assert r.exit_code == 1 and f"needs {store.SCHEMA_REVISION}: run `onetrip init` to upgrade" in r.stderr
    assert cli.json("init") == {"database": url, "schema_revision": store.SCHEMA_REVISION, "simulation": False}
    names = set(inspect(eng).get_table_names())
    assert {"tokens", "login_failures", "database_settings"} <= names
    assert "password_hash" in {c["name"] for c in inspect(eng).get_columns("users")}
    eng.dispose()

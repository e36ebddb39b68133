"""The remote CLI: `onetrip login`, then every clerk, designer and reformer command through a real
`onetrip serve` over HTTP, printing what the same command prints with direct database access."""
from __future__ import annotations

import json
import os
import shlex
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("web.app", reason="needs web/ (onetrip serve)")

from onetrip_testing.remote import Remote  # noqa: E402
from onetrip_testing.serve import PASSWORD, SAMPLE, make_office, serve, served_office  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def office(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("remote")
    with served_office(request.param, tmp) as (server, cli, _):
        yield server, cli, tmp


def person(office, name: str) -> Remote:
    server, _, tmp = office
    remote = Remote(server.url, tmp / f"home-{name}")
    if not (remote.home / "logins.json").exists():
        r = remote.login(name)
        assert r.exit_code == 0, r.stderr
    return remote


def as_json(result) -> object:
    return json.loads(result.stdout)


def test_login_keeps_the_token_in_a_file_only_the_user_reads_and_logout_revokes_it(office, tmp_path):
    server = office[0]
    me = Remote(server.url, tmp_path / "me")
    r = me.login("王窗口")
    assert r.exit_code == 0, r.stderr
    assert "logged in to" in r.stdout and "王窗口" in r.stdout and PASSWORD not in r.stdout
    saved = me.home / "logins.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    token = json.loads(saved.read_text())["servers"][server.url]["access_token"]
    assert PASSWORD not in saved.read_text()
    import httpx
    assert httpx.get(server.url + "/api/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    # a saved login alone makes commands go through the server
    assert me(["task", "list", "--json"], server=False).exit_code == 0

    r = me(["logout"], server=False)
    assert r.exit_code == 0 and "logged out" in r.stdout, r.stderr
    assert not saved.exists()
    assert httpx.get(server.url + "/api/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    r = me(["task", "list"])
    assert r.exit_code == 77 and "not logged in" in r.stderr and "onetrip login" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_wrong_password_is_one_line_and_saves_nothing(office, tmp_path):
    me = Remote(office[0].url, tmp_path / "me")
    r = me.login("王窗口", "not the password")
    assert r.exit_code == 77 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not (me.home / "logins.json").exists()


def test_clerk_reads_equal_direct_reads(office):
    _, direct, _ = office
    clerk = person(office, "王窗口")
    started = as_json(clerk.ok("case start JZZSAMPLE --data 申请人=张三 --data age:=30 --json"))
    case_id = started["id"]
    assert as_json(clerk.ok(f"case show {case_id} --json")) == as_json(direct.ok(f"case show {case_id} --json"))
    assert as_json(clerk.ok("task list --json")) == as_json(direct.ok("task list --json", user="王窗口"))
    assert as_json(clerk.ok("task list --all --json")) == as_json(direct.ok("task list --all --json"))
    ref = started["ready"][0]["id"]
    assert as_json(clerk.ok(f"task show {ref} --json")) == as_json(direct.ok(f"task show {ref} --json"))
    assert as_json(clerk.ok("case list --json")) == as_json(direct.ok("case list --json"))
    # the tables are the same text too
    assert clerk.ok(f"case show {case_id}").stdout == direct.ok(f"case show {case_id}").stdout
    assert clerk.ok("task list").stdout == direct.ok("task list", user="王窗口").stdout


def test_clerk_completes_and_returns_through_the_server(office):
    _, direct, _ = office
    clerk = person(office, "王窗口")
    started = as_json(clerk.ok("case start JZZSAMPLE --data 申请人=李四 --json"))
    ref = started["ready"][0]["id"]
    done = as_json(clerk.ok(f"task complete {ref} --data 意见=同意 --online --json"))
    shown = as_json(direct.ok(f"case show {done['id']} --json"))
    assert done["revision"] == shown["revision"] and done["ready"] == shown["ready"]
    assert shown["events"][-1]["actor"] == "王窗口" and shown["events"][-1]["task"] == ref

    # another department's task: refused by the server, as locally
    police_ref = done["ready"][0]["id"]
    r = clerk(f"task complete {police_ref}")
    local = direct(f"task complete {police_ref}", user="王窗口")
    assert r.exit_code == local.exit_code != 0
    assert len(r.stderr.strip().splitlines()) == 1
    police = person(office, "赵警官")
    assert as_json(police.ok(f"task show {police_ref} --json")) == as_json(direct.ok(f"task show {police_ref} --json"))
    returnable = as_json(police.ok(f"task show {police_ref} --json")).get("returnable")
    r = police(f"task return {police_ref} --reason 缺少居住证明 --json")
    if returnable:
        assert r.exit_code == 0, r.stderr
        assert as_json(r)["revision"] == as_json(direct.ok(f"case show {done['id']} --json"))["revision"]
    else:       # the same refusal as with direct access
        local = direct(f"task return {police_ref} --reason 缺少居住证明", user="赵警官")
        assert (r.exit_code, r.stderr) == (local.exit_code, local.stderr) and r.exit_code != 0


def test_designer_and_reformer_commands_equal_direct_ones(office):
    _, direct, _ = office
    designer = person(office, "李设计")
    reformer = person(office, "钱改革")
    r = designer.ok(f"process upload {SAMPLE} --label after --json")
    assert as_json(r)["created"] is False          # the office's own upload: same content, same version
    for args in ("process list --json", "process show 1 --json", "catalog list --json"):
        assert as_json(designer.ok(args)) == as_json(direct.ok(args)), args
    assert as_json(designer.ok(f"process validate {SAMPLE} --json")) == as_json(direct.ok(f"process validate {SAMPLE} --json"))
    assert as_json(designer.ok("process analyze 1 --json")) == as_json(direct.ok("process analyze 1 --json"))
    broken = office[2] / "broken.bpmn"
    broken.write_text(SAMPLE.read_text(encoding="utf-8").replace("</bpmn:process>", "", 1), encoding="utf-8")
    remote_error, local_error = designer(f"process upload {broken} --label after"), direct(
        f"process upload {broken} --label after", user="李设计")
    assert (remote_error.exit_code, remote_error.stderr) == (local_error.exit_code, local_error.stderr)
    assert str(broken) in remote_error.stderr and remote_error.exit_code != 0
    pair = f"{ROOT / 'bpmn' / 'CJRZSL.before.bpmn'} {ROOT / 'bpmn' / 'CJRZSL.after.bpmn'}"
    assert as_json(reformer.ok(f"compare {pair} --json")) == as_json(direct.ok(f"compare {pair} --json"))
    for args in ("metrics --json", "compare --stored --json", "conformance --json"):
        assert as_json(reformer.ok(args)) == as_json(direct.ok(args)), args
    assert reformer.ok("metrics").stdout == direct.ok("metrics").stdout


def test_admin_reads_through_the_server(office):
    _, direct, _ = office
    admin = person(office, "admin")
    assert as_json(admin.ok("user list --json")) == as_json(direct.ok("user list --json"))
    assert as_json(admin.ok("audit verify --json")) == as_json(direct.ok("audit verify --json", user="admin"))
    case = as_json(person(office, "王窗口").ok("case start JZZSAMPLE --json"))["id"]
    cancelled = as_json(admin.ok(f"case cancel {case} --reason 申请人撤回 --json"))
    assert cancelled["status"] == "cancelled"
    assert as_json(admin.ok(f"case show {case} --json")) == as_json(direct.ok(f"case show {case} --json"))
    r = admin("export csv -o cases.csv")
    assert r.exit_code == 1 and "needs direct database access" in r.stderr
    clerk = person(office, "王窗口")
    r = clerk("user list")
    assert r.exit_code == 1 and "only admins" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("option", [["--as", "admin"], ["--db", "other.db"], ["--now", "2026-03-02T09:00"]])
def test_identity_database_and_clock_options_are_refused(office, option):
    clerk = person(office, "王窗口")
    r = clerk(option + ["task", "list"])
    assert r.exit_code == 2 and "refused through a server" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_an_identity_from_the_environment_is_refused_by_its_variable_name(office):
    from click.testing import CliRunner
    from cli import main
    clerk = person(office, "王窗口")
    r = CliRunner().invoke(main, ["task", "list"], env={"ONETRIP_USER": "admin", "ONETRIP_DB": None,
                                                        "ONETRIP_NOW": None, "ONETRIP_SERVER": office[0].url,
                                                        "ONETRIP_CONFIG_DIR": str(clerk.home)})
    assert r.exit_code == 2 and "Error: ONETRIP_USER is refused through a server" in r.stderr, r.stderr


def test_logging_in_with_an_identity_from_the_environment_names_the_variable(office, tmp_path):
    from click.testing import CliRunner
    from cli import main
    r = CliRunner().invoke(main, ["login", office[0].url, "王窗口", "--password-stdin"], input=PASSWORD + "\n",
                           env={"ONETRIP_USER": "admin", "ONETRIP_DB": None, "ONETRIP_NOW": None,
                                "ONETRIP_SERVER": None, "ONETRIP_CONFIG_DIR": str(tmp_path / "me")})
    assert r.exit_code == 2 and "Error: ONETRIP_USER is refused when logging in" in r.stderr, r.stderr
    assert not (tmp_path / "me" / "logins.json").exists()


@pytest.mark.parametrize("command", ["init", "serve --check", "worker --once", "demo --cases 1", "audit keygen k.key",
                                     "user add 某人 --role clerk", "catalog load"])
def test_local_only_commands_say_they_need_the_database(office, command):
    admin = person(office, "admin")
    r = admin(command)
    assert r.exit_code == 1 and "needs direct database access" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_server_that_is_down_or_not_onetrip_is_one_line(office, tmp_path):
    down = Remote(f"http://127.0.0.1:{_free_port()}", tmp_path / "a")
    r = down.login("王窗口")
    assert r.exit_code == 69 and "cannot reach the server" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    # logged in, then the server goes away
    clerk = person(office, "王窗口")
    saved = json.loads((clerk.home / "logins.json").read_text())["servers"][office[0].url]
    away = Remote(down.url, tmp_path / "b")
    away.home.mkdir()
    (away.home / "logins.json").write_text(json.dumps({"servers": {down.url: saved}, "current": down.url}))
    r = away("task list")
    assert r.exit_code == 69 and "cannot reach the server" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = away("logout")
    assert r.exit_code == 69 and "stays valid on the server" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (away.home / "logins.json").exists()
    # something answers, but it is not an onetrip server (a wrong path in the URL)
    wrong = Remote(office[0].url + "/nothing", tmp_path / "c")
    r = wrong.login("王窗口")
    assert r.exit_code == 69 and "not an onetrip server" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = Remote("not a url at all", tmp_path / "d").login("王窗口")
    assert r.exit_code == 69 and "not a server address" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_an_expired_token_says_to_log_in_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'onetrip.db'}"
    make_office(url, sample=False)
    with serve(url, tmp_path, env={"ONETRIP_TOKEN_TTL": "1"}) as server:
        clerk = Remote(server.url, tmp_path / "home")
        assert clerk.login("王窗口").exit_code == 0
        time.sleep(1.5)
        r = clerk("task list")
        assert r.exit_code == 77, r.stderr
        assert "log in again" in r.stderr and f"onetrip login {server.url}" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


def test_remote_task_list_imports_neither_sqlalchemy_nor_spiffworkflow(office, tmp_path):
    clerk = person(office, "王窗口")
    code = ("import sys, cli\n"
            "try:\n    cli.main(['task', 'list', '--json'])\nexcept SystemExit as e:\n    code = e.code\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'SpiffWorkflow'))\n"
            "print('EXIT:%s HEAVY:%s' % (code, ','.join(heavy)))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONETRIP_")}
    env.update(ONETRIP_CONFIG_DIR=str(clerk.home), ONETRIP_SERVER=clerk.url)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)
    assert out.stdout.strip().splitlines()[-1] == "EXIT:0 HEAVY:", out.stdout + out.stderr


def test_login_and_logout_help_examples_run(office, tmp_path):
    from test_help_examples import THROUGH_A_SERVER, commands, examples
    me = Remote(office[0].url, tmp_path / "me")
    ran = []
    for path, cmd in commands():
        if path not in THROUGH_A_SERVER:
            continue
        for line in examples(cmd):
            args = [office[0].url if a.startswith("http://") else a for a in shlex.split(line)[1:]]
            r = me(args, input=PASSWORD + "\n", server=False)
            assert r.exit_code == 0, f"`{line}` failed: {r.stderr}"
            ran.append(path)
    assert ran == ["login", "logout"]


def test_the_client_and_the_server_agree_on_what_never_travels():
    from engine.protocol import LOCAL_PARAMS
    from web.api import NOT_FROM_CALLER
    assert NOT_FROM_CALLER == LOCAL_PARAMS

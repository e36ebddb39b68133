"""`onetrip serve` refuses what a server must not take, in one line, before it listens."""
from __future__ import annotations

from onetrip_testing import CliHarness


def test_serve_check_opens_the_database_and_exits(sqlite_cli):
    sqlite_cli.ok("init")
    r = sqlite_cli.ok("serve --check --port 8411")
    assert r.stdout.startswith("ok: would serve") and ":8411" in r.stdout


def test_serve_acts_as_no_one(sqlite_cli):
    sqlite_cli.ok("init")
    r = sqlite_cli("serve --check", user="admin")
    assert r.exit_code == 2 and "serve acts as no one" in r.stderr and len(r.stderr.splitlines()) == 1


def test_serve_refuses_a_pinned_clock_on_a_real_database(sqlite_url):
    office = CliHarness(sqlite_url, simulation=False)
    office.ok("init")
    r = office("serve --check", now="2026-03-02T09:00")
    assert r.exit_code != 0 and "not a simulation" in r.stderr and "Traceback" not in r.stderr


def test_a_simulation_keeps_its_pinned_clock(sqlite_cli):
    sqlite_cli.ok("init")          # the harness makes simulation databases
    assert sqlite_cli.ok("serve --check", now="2026-03-02T09:00").stdout.startswith("ok: would serve")


def test_serve_on_a_missing_database_is_one_line(tmp_path):
    r = CliHarness(str(tmp_path / "nowhere.db"))("serve --check")
    assert r.exit_code == 1 and "no database at" in r.stderr and len(r.stderr.splitlines()) == 1

"""Every example in every `--help` runs: in a story order, on one fresh database, from a
folder that is not the repository (the shipped bpmn/ and processes/ are found anyway)."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from cli import main
from onetrip_testing import CliHarness

#: The order a new user meets the commands in; commands not listed run afterwards, in help order.
STORY = ["", "init", "process validate", "process upload", "process list", "process show", "process analyze",
         "catalog load", "catalog list", "user add", "user list", "case start", "case list", "case show",
         "task list", "task show", "task complete", "task return", "compare", "metrics", "audit keygen",
         "audit checkpoint", "audit verify",
         "calendar import", "worker", "demo"]


#: Commands that go through a server: their examples run against a real `onetrip serve` in
#: tests/test_remote_cli.py (test_login_and_logout_help_examples_run), not on a database.
THROUGH_A_SERVER = ("login", "logout")


def commands():
    def walk(cmd, path):
        yield " ".join(path), cmd
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(None):
                yield from walk(cmd.commands[name], [*path, name])
    found = dict(walk(main, []))
    return [(p, found[p]) for p in STORY if p in found] + [(p, c) for p, c in found.items() if p not in STORY]


def examples(cmd) -> list[str]:
    return [line.split("  #")[0].strip() for line in (cmd.help or "").splitlines()
            if re.match(r"\s+onetrip ", line)]


def toml_block(cmd) -> str | None:
    text = cmd.help or ""
    if "File format (TOML)" not in text:
        return None
    lines = text.split("File format (TOML)", 1)[1].splitlines()[1:]
    return "\n".join(line.strip() for line in lines if line.strip())


def test_every_command_has_an_example():
    missing = [p for p, c in commands() if not isinstance(c, click.Group) and not examples(c)]
    assert not missing, f"commands without an example in --help: {missing}"


@pytest.fixture()
def elsewhere(tmp_path, monkeypatch):
    folder = tmp_path / "一个新文件夹"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_every_help_example_runs_in_order_on_a_fresh_database(elsewhere):
    cli = CliHarness(str(elsewhere / "onetrip.db"), input="一个足够长的口令\n")      # `user password` reads stdin
    ran = []
    for path, cmd in commands():
        if path in THROUGH_A_SERVER:
            continue
        block = toml_block(cmd)
        for line in examples(cmd):
            args = shlex.split(line)[1:]
            if block:
                target = next(a for a in args if a.endswith(".toml"))
                (elsewhere / target).write_text(block + "\n", encoding="utf-8")
            r = cli(args)
            assert r.exit_code == 0, f"`{line}` (from `onetrip {path} --help`) failed: {r.stderr}{r.stdout}"
            assert "warning" not in r.stderr, f"`{line}`: {r.stderr}"
            ran.append(line)
    assert len(ran) >= 30
    assert (elsewhere / "对比.csv").exists() and (elsewhere / "报告.html").exists()
    assert not (elsewhere / "bpmn").exists()

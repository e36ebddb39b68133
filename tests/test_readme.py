"""The README's walkthrough is true: every command in it runs, in order, on a fresh database."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

from onetrip_testing import CliHarness

ROOT = Path(__file__).parent.parent


def walkthrough() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"A session, start to finish.*?```sh\n(.*?)```", text, re.S).group(1)
    commands = []
    for line in block.splitlines():
        line = line.split("  #")[0].strip()
        if line:
            args = shlex.split(line)
            assert args[0] == "onetrip"
            commands.append(args[1:])
    return commands


def test_readme_walkthrough_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    cli = CliHarness(f"sqlite:///{tmp_path / 'readme.db'}")
    commands = walkthrough()
    assert len(commands) >= 15
    for args in commands:
        cli.ok(args)
    shown = cli.json(["case", "show", "1"])
    assert shown["status"] == "completed"
    assert [e["action"] for e in shown["events"]].count("return") == 1

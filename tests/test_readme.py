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
    """From a fresh folder, not the repository: bpmn/ is the shipped catalog's (said on stderr)."""
    fresh = tmp_path / "新文件夹"
    fresh.mkdir()
    monkeypatch.chdir(fresh)
    cli = CliHarness("onetrip.db")                     # as `onetrip init` makes it: in the current folder
    commands = walkthrough()
    assert len(commands) >= 15
    for args in commands:
        r = cli.ok(args)
        assert "warning: no uploaded model" not in r.stderr, (args, r.stderr)
    assert (fresh / "onetrip.db").exists() and not (fresh / "bpmn").exists()
    shown = cli.json(["case", "show", "1"])
    assert shown["status"] == "completed"
    assert [e["action"] for e in shown["events"]].count("return") == 1


def test_readme_onsite_marks_match_case_show(tmp_path, monkeypatch):
    """The walkthrough marks three steps --onsite; the other steps take the model's default,
    and case show says which is which."""
    monkeypatch.chdir(tmp_path)
    cli = CliHarness("onetrip.db")
    commands = walkthrough()
    for args in commands:
        cli.ok(args)
    flagged = {args[args.index("complete") + 1] for args in commands
               if "complete" in args and "--onsite" in args}
    assert len(flagged) == 3
    out = cli.ok("case show 1").stdout
    rows = {line.split()[4]: line for line in out.splitlines() if re.match(r"\d+ ", line) and len(line.split()) > 5}
    assert flagged <= set(rows) and len(rows) >= 7
    for ref, line in rows.items():
        if ref in flagged:
            assert "现场 (经办人标记)" in line, line
        elif "办结" in line or "退回补正" in line:
            assert "(模型默认)" in line, line

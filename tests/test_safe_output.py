"""Names from models, users and data are shown as typed and harm no reader: never read as Rich
markup, no control or bidi characters on a terminal, no formulas in CSV, no HTML in Markdown or HTML."""
from __future__ import annotations

import csv
import io

import pytest

from onetrip_testing import CliHarness
from onetrip_testing.bpmn_factory import Step, linear_model

MARKUP = "[/]受理"
STYLED = "[bold red]红色[/bold red]"
LINK = "[link=http://evil.example]点我[/link]"
FORMULA = '=HYPERLINK("http://evil.example","点我")'
SCRIPT = "<script>alert(1)</script>"
BIDI = "\u202eevil\u202c"
C1 = "\x9b31m"                      # CSI as one C1 character: recolours an xterm
LANE = "[/]公安局"


@pytest.fixture()
def hostile(tmp_path):
    name = f"{FORMULA}{SCRIPT}[/]{BIDI}{C1}"
    steps = [Step(MARKUP + BIDI, lane=LANE, onsite=True, workdays=1), Step(STYLED, lane=LANE, workdays=1),
             Step(LINK, lane=LANE, workdays=1)]
    before, after = tmp_path / "before", tmp_path / "after"
    before.mkdir()
    after.mkdir()
    (before / "EVIL.bpmn").write_text(linear_model("EVIL", name, steps, statutory=10, promised=5, label="b"),
                                      encoding="utf-8")
    (after / "EVIL.bpmn").write_text(linear_model("EVIL", name, steps[:2], statutory=10, promised=3, label="a"),
                                     encoding="utf-8")
    cli = CliHarness(f"sqlite:///{tmp_path / 'h.db'}", now="2026-03-02T09:00")
    cli.ok("init")
    cli.ok("user add admin --role admin")
    cli.ok("user add 设计 --role designer", user="admin")
    cli.ok(["user", "add", "警官", "--role", "clerk", "--department", LANE], user="admin")
    cli.ok(["process", "upload", str(before / "EVIL.bpmn"), "--label", "before"], user="设计")
    cli.ok(["process", "upload", str(after / "EVIL.bpmn"), "--label", "after"], user="设计")
    cli.ok("case start EVIL --label before", user="警官")
    cli.ok("case start EVIL --label after", user="警官")
    for ref in ("2.1", "2.2"):
        cli.ok(["task", "complete", ref], user="警官")
    return cli, before, after


def visible(text: str) -> None:
    assert "\x9b" not in text and "\u202e" not in text and "\u202c" not in text and "\x1b" not in text


@pytest.mark.parametrize("args", ["case list", "case show 1", "task list", "task list --all", "process list",
                                  "catalog list", "metrics", "compare --stored", "task show 1.1",
                                  "process show 1", "process analyze 1", "user list"])
def test_terminal_output_shows_names_as_typed(hostile, args):
    cli, _, _ = hostile
    r = cli(args, user="警官")
    assert r.exit_code == 0, r.stderr
    visible(r.stdout + r.stderr)
    if args in ("case show 1", "task list", "task show 1.1", "process analyze 1"):
        assert MARKUP in r.stdout                    # printed as typed, not swallowed as a closing tag
    if args == "case show 1":
        assert LANE in r.stdout


def test_folder_comparison_table_shows_names_as_typed(hostile):
    cli, before, after = hostile
    r = cli(["compare", str(before), str(after)])
    assert r.exit_code == 0, r.stderr
    visible(r.stdout)
    assert "=HYPERLINK" in r.stdout


def test_csv_cannot_run_a_formula_in_excel(hostile, tmp_path):
    cli, before, after = hostile
    for args in (["compare", str(before), str(after), "--format", "csv"], ["compare", "--stored", "--format", "csv"],
                 ["metrics", "--format", "csv"]):
        out = cli.ok(args, user="警官").stdout
        rows = list(csv.reader(io.StringIO(out.lstrip("\ufeff"))))
        cells = [c for row in rows for c in row]
        assert not any(c[:1] in ("=", "+", "@") for c in cells), args
        assert any(c.startswith("'=HYPERLINK") for c in cells), args
        visible(out)


def test_markdown_and_html_carry_no_markup(hostile):
    cli, before, after = hostile
    for args in (["compare", str(before), str(after), "--format", "markdown"],
                 ["compare", "--stored", "--format", "markdown"], ["metrics", "--format", "markdown"],
                 ["compare", str(before), str(after), "--format", "html"], ["metrics", "--format", "html"]):
        out = cli.ok(args, user="警官").stdout
        assert SCRIPT not in out and "&lt;script&gt;" in out, args
        visible(out)


def test_the_escaping_layer():
    from engine.safetext import clean, csv_cell, md_cell
    assert clean("a\x1b[31mb\x9bc\u202ed\u2066e\u200bf\tg\nh") == "a[31mbcdef g h"
    assert csv_cell("=1+1") == "'=1+1" and csv_cell("+1x") == "'+1x" and csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("-2+3") == "'-2+3" and csv_cell("\t=1") == "'\t=1" and csv_cell("\r=1") == "'=1"
    assert csv_cell("-5") == "-5" and csv_cell(-5) == "-5" and csv_cell("59.8%") == "59.8%"
    assert md_cell("a|b <i>*x*</i> [l](u)") == r"a\|b &lt;i&gt;\*x\*&lt;/i&gt; \[l\](u)"

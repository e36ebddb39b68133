"""What a clerk and a reformer meet in their first hour (issue 13): each surprise found by
trying onetrip as a new user, pinned by a test."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

from onetrip_testing import CliHarness

ROOT = Path(__file__).parent.parent
BPMN = ROOT / "bpmn"
ONETRIP = Path(sys.executable).parent / "onetrip"


def catalog_kinds() -> dict[str, list[str]]:
    """The shipped catalog's matter and bundle codes, read from its manifests."""
    import tomllib
    kinds: dict[str, list[str]] = {"matter": [], "bundle": []}
    for toml in sorted((ROOT / "processes").glob("*.toml")):
        data = tomllib.loads(toml.read_text(encoding="utf-8"))
        kinds[data["kind"]].append(data["code"])
    return kinds


@pytest.fixture()
def office(tmp_path):
    """The README's people and the 残疾人证申领 models, one case started before re-engineering."""
    cli = CliHarness(f"sqlite:///{tmp_path / 'o.db'}", now="2026-03-02T09:00")
    cli.ok("init")
    cli.ok("user add 管理员 --role admin")
    cli.ok("user add 李设计 --role designer", user="管理员")
    cli.ok("user add 周残联 --role clerk --department 残疾人联合会", user="管理员")
    cli.ok("user add 吴医生 --role clerk --department 卫生健康委员会", user="管理员")
    cli.ok(["process", "upload", str(BPMN / "CJRZSL.before.bpmn"), "--label", "before"], user="李设计")
    cli.ok(["process", "upload", str(BPMN / "CJRZSL.after.bpmn"), "--label", "after"], user="李设计")
    cli.ok("case start CJRZSL --label before --data applicant=张三", user="周残联")
    return cli


# ------------------------------------------------------------------ clerks

def test_a_step_without_a_correction_loop_cannot_be_returned(office):
    office.ok("task complete 1.1 --onsite", user="周残联")
    office.ok("task complete 1.2", user="吴医生")
    office.ok("task complete 1.3", user="周残联")                  # 提交评定表并审核 → 审批决定
    before = office.json("case show 1")
    r = office("task return 1.4 --reason 不同意", user="周残联")        # 审批决定: nothing to send back to
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr.strip() == ("Error: task 1.4 (审批决定) cannot be returned for correction: the model has no "
                                "correction loop after this step; use `onetrip task complete 1.4`")
    after = office.json("case show 1")
    assert after == before and after["measured"]["returns"] == 0    # nothing counted, nothing moved
    assert "cannot be returned" in office.ok("task show 1.4").stdout


def test_task_show_says_which_steps_can_be_returned(office):
    assert "can be returned for correction (task return)" in office.ok("task show 1.1").stdout


def test_case_show_says_who_decided_onsite(office):
    office.ok("task complete 1.1", user="周残联")                  # the model's default: 现场
    office.ok("task complete 1.2 --online", user="吴医生")          # the model says 现场; the clerk says no
    lines = office.ok("case show 1").stdout.splitlines()
    first = next(line for line in lines if " 1.1 " in line)
    second = next(line for line in lines if " 1.2 " in line)
    assert "现场 (模型默认)" in first and "网上 (经办人标记)" in second
    assert "measured: 2 steps, 1 trip (现场), 0 returns, " in "\n".join(lines)
    events = office.json("case show 1")["events"]
    assert [e["onsite_default"] for e in events if e["action"] == "complete"] == [True, True]


def test_onsite_and_online_are_explained_in_help(office):
    for command in ("complete", "return"):
        text = office.ok(["task", command, "--help"]).stdout
        assert "--onsite / --online" in text and "in person" in text and "model annotation" in text


def test_task_list_marks_overdue_tasks(office):
    late = office.ok("task list", user="周残联", now="2026-06-01T09:00").stdout
    assert re.search(r"1\.1 .* 超期", late)
    on_time = office.ok("task list", user="周残联").stdout
    assert "超期" not in on_time
    assert office.json("task list", user="周残联", now="2026-06-01T09:00")[0]["overdue"] is True


def test_a_department_no_model_has_gets_a_warning(office):
    r = office.ok("user add 王残联 --role clerk --department 残联", user="管理员")
    assert r.stderr.count("\n") == 1 and "warning: no uploaded model has a lane named '残联'" in r.stderr
    assert "残疾人联合会" in r.stderr and "卫生健康委员会" in r.stderr
    assert office.ok("user add 赵残联 --role clerk --department 残疾人联合会", user="管理员").stderr == ""
    later = office.ok("task list", user="王残联")                 # and again wherever the clerk looks
    assert later.stdout.strip() == "(none)" and "no uploaded model has a lane named '残联'" in later.stderr
    assert office.ok("task list", user="赵残联").stderr == ""


@pytest.mark.parametrize("typed, suggestion", [("cjrzsl", "CJRZSL"), ("CJRZS", "CJRZSL"), ("CJRZSI", "CJRZSL")])
def test_did_you_mean_for_matter_codes(office, typed, suggestion):
    r = office(f"case start {typed}", user="周残联")
    assert r.exit_code == 1 and r.stderr.strip() == f"Error: no matter {typed}: did you mean {suggestion}?"
    r = office(f"metrics --matter {typed}")
    assert r.stderr.strip() == f"Error: no matter {typed}: did you mean {suggestion}?"


def test_a_mistyped_database_path_is_not_created(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli = CliHarness(str(tmp_path / "onetrip.db"))
    cli.ok("init")
    typo = CliHarness(str(tmp_path / "onetirp.db"))
    for args in ("case list", "user add 张三 --role admin", "task list --all"):
        r = typo(args)
        assert r.exit_code == 1 and r.stderr.count("\n") == 1
        assert f"no database at {tmp_path / 'onetirp.db'}: run `onetrip --db" in r.stderr
    assert not (tmp_path / "onetirp.db").exists()


@pytest.mark.parametrize("args, message", [
    ("task return 1.1", "Error: missing option '--reason'. (see: onetrip task return --help)"),
    ("case start", "Error: missing argument 'MATTER_CODE'. (see: onetrip case start --help)"),
    ("case list --status later", "Error: invalid value for '--status': 'later' is not one of 'open', 'completed', 'quarantine', 'cancelled'. "
                                 "(see: onetrip case list --help)"),
    ("case lst", "Error: no such command 'lst'. Did you mean 'list'? (see: onetrip case --help)"),
    ("--bogus", "Error: no such option '--bogus'. (see: onetrip --help)"),
    ("process upload x.bpmn", "Error: missing option '--label' (before or after): the file name does not end in "
                              ".before.bpmn or .after.bpmn (see: onetrip process upload --help)"),
])
def test_usage_errors_are_one_line(office, args, message):
    r = office(args, user="周残联")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.replace("main", "onetrip").strip() == message


def test_label_is_inferred_from_the_file_name(tmp_path):
    cli = CliHarness(f"sqlite:///{tmp_path / 'l.db'}")
    cli.ok("init")
    cli.ok("user add 李设计 --role designer")
    for name in ("JZZBL.after.bpmn", "JZZBL.before.bpmn"):
        cli.ok(["process", "upload", str(BPMN / name)], user="李设计")
    versions = cli.json("process list")
    assert [(v["matter_code"], v["label"]) for v in versions] == [("JZZBL", "after"), ("JZZBL", "before")]


# ------------------------------------------------------------------ output

def table_commands():
    return ["case list", "case show 1", "task list --all", "process list", "user list", "catalog list",
            "metrics", "compare --stored"]


def test_tables_fit_80_columns_and_never_cut_ids_or_dates(office):
    office.ok("task complete 1.1 --onsite", user="周残联")
    office.ok("case start CJRZSL --data applicant=李四", user="周残联")
    for args in table_commands():
        out = office.ok(args, user="周残联").stdout
        widths = [cell_len(line) for line in out.splitlines()]
        assert max(widths) <= 80, f"{args}: {max(widths)} columns\n{out}"
        assert "…" not in out, f"{args} cut a cell:\n{out}"
    listing = office.ok("case list").stdout
    for c in office.json("case list"):
        assert re.search(rf"^{c['id']} .*{c['due_date']}", listing, re.M)
    history = office.ok("case show 1").stdout
    assert "2026-03-02 09:00" in history and "1.1" in history


def test_wide_terminals_get_every_column(office):
    office.env = {"COLUMNS": "200"}
    out = office.ok("compare --stored").stdout
    assert "statutory" in out and "中位(前)" in out
    office.env = {"COLUMNS": "80"}
    narrow = office.ok("compare --stored").stdout
    assert "statutory" not in narrow and "steps" in narrow          # dropped by priority, not garbled


def broken_pipe(args, db, cwd):
    """Start onetrip with its stdout a pipe whose reader has already gone (like `| head -1`)."""
    env = {**os.environ, "ONETRIP_DB": str(db), "ONETRIP_USER": "管理员", "ONETRIP_NOW": "2026-03-02T09:00"}
    proc = subprocess.Popen([str(ONETRIP), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=env)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    return proc.wait(timeout=60), err


@pytest.mark.parametrize("args", ["case show 1", "case list", "process analyze 1", "compare --stored",
                                  "compare --stored --format csv", "catalog list", "metrics", "--help",
                                  "process list", "audit verify", "task show 1.1"])
def test_a_closed_pipe_ends_quietly(office, tmp_path, args):
    status, err = broken_pipe(args.split(), tmp_path / "o.db", tmp_path)
    assert err == "" and status in (0, 141), (status, err)


def test_the_closed_pipe_case_of_the_issue(office, tmp_path):
    """`onetrip case show 1 | head -3` through a real shell."""
    env = {**os.environ, "ONETRIP_DB": str(tmp_path / "o.db")}
    r = subprocess.run(["bash", "-c", f"'{ONETRIP}' case show 1 | head -3 >/dev/null; echo $"
                        "{PIPESTATUS[0]}"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert r.stderr == "" and r.stdout.strip() in ("0", "141")


def test_audit_verify_counts_in_words(office):
    assert office.ok("audit verify", user="管理员").stdout.strip() == "ok: 1 event of 1 case verified"


def test_process_show_prints_whole_days(office):
    out = office.ok("process show 1").stdout
    assert re.search(r"promised \d+  statutory (\d+|—) working days", out) and ".0" not in out.split("steps")[1]


def test_analyze_names_materials(tmp_path):
    cli = CliHarness(f"sqlite:///{tmp_path / 'unused.db'}")
    out = cli.ok(["process", "analyze", str(BPMN / "BDCDYDJ.before.bpmn")]).stdout
    assert "DataRef_" not in out and "居民身份证" in out


# ------------------------------------------------------------------ reformers

def test_folder_and_stored_comparisons_have_the_same_totals(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli = CliHarness(f"sqlite:///{tmp_path / 'c.db'}")
    cli.ok("init")
    cli.ok("user add a --role admin")
    cli.ok(["catalog", "load", str(ROOT / "processes")], user="a")
    stored = cli.json("compare --stored", user="a")["totals"]
    for args in (["compare", str(BPMN), str(BPMN)], ["compare", str(BPMN)], ["compare", "bpmn/"]):
        files = cli.json(args)["totals"]
        for key in ("matters", "bundles", "before", "after", "reduction", "time_compression", "online_rate"):
            assert files[key] == stored[key], (args, key)
    kinds = catalog_kinds()
    assert stored["matters"] == len(kinds["matter"]) and stored["bundles"] == sorted(kinds["bundle"])
    t = stored
    text = cli.ok(["compare", str(BPMN)]).stdout
    assert f"环节 {t['before']['steps']} → {t['after']['steps']} (精简 {t['reduction']['steps'] * 100:.1f}%)" in text
    assert f"({t['matters']} 个事项)" in text


def test_compare_needs_two_sides(tmp_path):
    cli = CliHarness(f"sqlite:///{tmp_path / 'c.db'}")
    r = cli(["compare", str(BPMN / "CJRZSL.after.bpmn")])
    assert r.exit_code == 2 and "one argument must be a folder" in r.stderr


def test_csv_for_excel_and_json_for_machines(tmp_path):
    cli = CliHarness(f"sqlite:///{tmp_path / 'c.db'}")
    out = cli.ok(["compare", str(BPMN), "--format", "csv"]).stdout
    rows = list(csv.reader(io.StringIO(out.lstrip("\ufeff"))))
    header = rows[0]
    assert header[:5] == ["事项编码", "事项名称", "类型", "环节(改革前)", "环节(改革后)"]
    assert "环节精简率" in header and "承诺时限压缩率" in header and "跑动减少率" in header
    total = rows[-1]
    data = json.loads(cli.ok(["compare", str(BPMN), "--format", "json"]).stdout)
    assert total[0] == "合计" and total[header.index("环节精简率")] == f"{data['totals']['reduction']['steps'] * 100:.1f}%"
    cjrzsl = next(r for r in rows if r[0] == "CJRZSL")
    assert cjrzsl[header.index("承诺时限(工作日)(改革前)")] == "24"            # whole days, not 24.0
    assert not any(re.fullmatch(r"0\.\d+", c) for r in rows for c in r)   # no bare fractions
    assert 0 < data["totals"]["reduction"]["steps"] < 1 and "steps" in data["totals"]["before"]   # a fraction


def test_metrics_in_every_format(office):
    office.ok("task complete 1.1 --onsite", user="周残联")
    csv_out = office.ok("metrics --format csv").stdout
    header = next(csv.reader(io.StringIO(csv_out.lstrip("\ufeff"))))
    assert header[:4] == ["事项编码", "事项名称", "版本", "案件数"] and "按时率" in header
    md = office.ok("metrics --format markdown").stdout
    assert md.startswith("| 事项编码 | 事项名称 |") and "| CJRZSL | 残疾人证申领 | before | 1 |" in md
    page = office.ok("metrics --format html").stdout
    assert page.startswith("<!DOCTYPE html>") and "CJRZSL" in page and 'class="sortable"' in page
    assert json.loads(office.ok("metrics --format json").stdout)["matters"][0]["matter_code"] == "CJRZSL"


# ------------------------------------------------------------------ the demo

def test_demo_on_an_existing_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli = CliHarness(f"sqlite:///{tmp_path / 'o.db'}")
    cli.ok("init")
    cli.ok("user add 管理员 --role admin")                           # as in the README's walkthrough
    r = cli(["demo", "--cases", "1", "--report", str(tmp_path / "r.html")])
    assert r.exit_code == 0, r.stderr
    versions = 2 * sum(map(len, catalog_kinds().values()))
    assert f"{versions} cases" in r.stdout
    other = CliHarness(f"sqlite:///{tmp_path / 'p.db'}")
    other.ok("init")
    other.ok("user add boss --role admin")
    r = other(["demo", "--cases", "1", "--report", str(tmp_path / "r2.html")])
    assert r.exit_code == 1 and r.stderr.strip().count("\n") == 0
    assert "no admin named 管理员" in r.stderr and "onetrip demo" in r.stderr


def test_demo_progress_counts_cases_to_the_end(tmp_path):
    from engine.config import Settings
    from engine.demo import run_demo
    from engine.service import Service
    seen = {}

    def factory(total):
        seen["total"], seen["done"] = total, 0

        def advance():
            seen["done"] += 1
        return advance
    svc = Service(Settings.from_env(db=str(tmp_path / "d.db")))
    try:
        result = run_demo(svc, 1, 3, None, progress_factory=factory)
    finally:
        svc.dispose()
    assert seen["total"] == result.cases == 2 * sum(map(len, catalog_kinds().values()))
    assert seen["done"] == seen["total"]


def test_colours_on_a_terminal_follow_the_conventions(office):
    """On a terminal (FORCE_COLOR stands in for one) overdue rows are red, headers bold; in a pipe, no colour."""
    office.env = {"FORCE_COLOR": "1", "COLUMNS": "100"}
    late = office.ok("task list", user="周残联", now="2026-06-01T09:00").stdout
    row = next(line for line in late.splitlines() if "1.1" in line)
    assert "\x1b[31m" in row and "超期" in row                      # red, and marked in words too
    assert "\x1b[1m" in late.splitlines()[0]                       # bold header
    assert "\x1b[31m" not in office.ok("task list", user="周残联").stdout
    office.env = {}
    assert "\x1b" not in office.ok("task list", user="周残联", now="2026-06-01T09:00").stdout

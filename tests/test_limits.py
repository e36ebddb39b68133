"""Limits that hold for a whole step and for the worker, and data that cannot break a case.

Each test is one attack of issue 11 through the real paths (CLI on a real SQLite file,
SpiffWorkflow really running): it ends in one clear line (or works correctly), the case stays
as it was and usable, and ``audit verify`` agrees with the data.
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from engine import runtime, sandbox, values
from engine.errors import InvalidInput, ScriptError
from onetrip_testing import CliHarness
from onetrip_testing.limits_models import LANE, chain, node, script, timer, user

ROOT = Path(__file__).parent.parent
NOW = "2026-03-02T09:00"
ADMIN, DESIGNER, CLERK = "管理员", "李设计", "王窗口"
FAST = 5.0              # seconds any refused command may take, everything included


def one_error_line(r) -> str:
    assert r.exit_code not in (0, 70), (r.exit_code, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("Error: "), lines[0]
    return lines[0][len("Error: "):]


def timed(func, limit: float = FAST):
    started = time.monotonic()
    result = func()
    elapsed = time.monotonic() - started
    assert elapsed < limit, f"took {elapsed:.2f} s"
    return result


@pytest.fixture
def office(tmp_path) -> CliHarness:
    cli = CliHarness(f"sqlite:///{tmp_path / 'onetrip.db'}", now=NOW)
    cli.ok("init")
    cli.ok(["user", "add", ADMIN, "--role", "admin"])
    cli.ok(["user", "add", DESIGNER, "--role", "designer"], user=ADMIN)
    cli.ok(["user", "add", CLERK, "--role", "clerk", "--department", LANE], user=ADMIN)
    return cli


@pytest.fixture
def any_office(db_url) -> CliHarness:
    """The office on SQLite and on PostgreSQL."""
    cli = CliHarness(db_url, now=NOW)
    cli.ok("init")
    cli.ok(["user", "add", ADMIN, "--role", "admin"])
    cli.ok(["user", "add", DESIGNER, "--role", "designer"], user=ADMIN)
    cli.ok(["user", "add", CLERK, "--role", "clerk", "--department", LANE], user=ADMIN)
    return cli


def upload(cli: CliHarness, tmp_path: Path, code: str, steps, **kw) -> Path:
    path = tmp_path / f"{code}.bpmn"
    path.write_text(chain(code, steps, **kw), encoding="utf-8")
    cli.ok(["process", "upload", str(path), "--label", "after"], user=DESIGNER)
    return path


def start(cli: CliHarness, code: str, *data: str, now: str | None = None) -> dict:
    args = ["case", "start", code]
    for item in data:
        args += ["--data", item]
    return cli.json(args, user=CLERK, now=now)


def show(cli: CliHarness, case_id) -> dict:
    return cli.json(["case", "show", str(case_id)])


def audit_ok(cli: CliHarness) -> None:
    r = cli.json(["audit", "verify"], user=ADMIN)
    assert r["ok"], r["findings"]


ACCEPT = user("Accept", "受理")
REVIEW = user("Review", "审核")


# ================================================================ data that cannot brick a case

DEEP = "[" * 600 + "]" * 600


def test_deep_data_from_a_clerk_is_refused_and_the_case_stays_usable(any_office, tmp_path):
    upload(any_office, tmp_path, "DEEP", [ACCEPT, REVIEW])
    refused = any_office(["case", "start", "DEEP", "--data", f"x:={DEEP}"], user=CLERK)
    assert "nested deeper than 32 levels" in one_error_line(refused)
    assert any_office.json(["case", "list"]) == []
    case = start(any_office, "DEEP")
    before = show(any_office, case["id"])
    r = timed(lambda: any_office(["task", "complete", case["ready"][0]["id"], "--data", f"x:={DEEP}"], user=CLERK))
    assert one_error_line(r) == "--data x: nested deeper than 32 levels"
    assert show(any_office, case["id"]) == before
    any_office.ok(["task", "show", case["ready"][0]["id"]])
    any_office.ok(["task", "complete", case["ready"][0]["id"], "--data", "x:=[[1]]"], user=CLERK)
    audit_ok(any_office)


def test_deep_data_from_a_script_is_refused_naming_the_step(office, tmp_path):
    upload(office, tmp_path, "DEEPS", [ACCEPT, script("Build", "x = []\nfor i in range(600):\n    x = [x]"),
                                       REVIEW])
    case = start(office, "DEEPS")
    before = show(office, case["id"])
    r = timed(lambda: office(["task", "complete", case["ready"][0]["id"]], user=CLERK))
    line = one_error_line(r)
    assert line.startswith("Build: ") and "nested deeper than 32 levels" in line, line
    assert show(office, case["id"]) == before
    audit_ok(office)


def test_nan_and_infinity_are_refused(office, tmp_path):
    upload(office, tmp_path, "NAN", [ACCEPT, script("Calc", "x = float('nan')"), REVIEW])
    case = start(office, "NAN")
    before = show(office, case["id"])
    line = one_error_line(office(["task", "complete", case["ready"][0]["id"]], user=CLERK))
    assert line.startswith("Calc: ") and "nan is not a number JSON can hold" in line, line
    assert show(office, case["id"]) == before
    for item, message in [("x:=[1e400]", "inf is not a number JSON can hold"),
                          ("x:=NaN", "NaN is not a number JSON allows"),
                          ("x:=-Infinity", "-Infinity is not a number JSON allows")]:
        assert message in one_error_line(office(["task", "complete", case["ready"][0]["id"], "--data", item],
                                                user=CLERK))
    r = office.json(["task", "show", case["ready"][0]["id"], "--json"])      # strict JSON still
    json.loads(json.dumps(r), parse_constant=lambda c: pytest.fail(f"{c} in the output"))


def _smash_case(db_url: str, case_id: int) -> None:
    """Put 600-deep data into a stored task, as cases saved before these limits could hold."""
    path = db_url.split("///", 1)[1]
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT task_id, body FROM case_tasks WHERE case_id = ?", (case_id,)).fetchall()
        for task_id, body in rows:
            dct = json.loads(body)
            if dct.get("data") is not None and not dct.get("delta"):
                dct["data"]["deep"] = json.loads(DEEP)
                conn.execute("UPDATE case_tasks SET body = ? WHERE case_id = ? AND task_id = ?",
                             (json.dumps(dct), case_id, task_id))
        conn.commit()
    finally:
        conn.close()


def test_an_unloadable_case_is_shown_and_cancelled_by_an_admin(office, tmp_path):
    upload(office, tmp_path, "BRICK", [ACCEPT, REVIEW])
    case = start(office, "BRICK")
    other = start(office, "BRICK")
    _smash_case(office.db_url, case["id"])
    ref = case["ready"][0]["id"]
    fresh = CliHarness(office.db_url, now=NOW)                   # a new process: no warm workflow
    for args, user_ in [(["task", "show", ref], None), (["task", "complete", ref], CLERK)]:
        line = one_error_line(fresh(args, user=user_))
        assert line.startswith(f"case {case['id']} cannot be loaded: its data is nested too deeply to load; ")
        assert f"case cancel {case['id']}" in line
    shown = fresh.json(["case", "show", str(case["id"])])         # the history is still there
    assert [e["action"] for e in shown["events"]] == ["start"]
    assert "only admins may cancel cases" in one_error_line(fresh(["case", "cancel", str(case["id"]), "--reason",
                                                                   "损坏"], user=CLERK))
    cancelled = fresh.json(["case", "cancel", str(case["id"]), "--reason", "数据损坏，已作废"], user=ADMIN)
    assert cancelled["status"] == "cancelled" and cancelled["ready"] == []
    assert cancelled["events"][-1]["action"] == "cancel" and cancelled["events"][-1]["actor"] == ADMIN
    assert [t["case"] for t in fresh.json(["task", "list"], user=CLERK)] == [other["id"]]
    assert [c["id"] for c in fresh.json(["case", "list", "--status", "cancelled"])] == [case["id"]]
    fresh.ok(["task", "complete", other["ready"][0]["id"]], user=CLERK)   # the others go on
    # The smashed rows were written behind the application's back: the audit trail says so, for that case only.
    findings = fresh(["audit", "verify", "--json"], user=ADMIN).json()["findings"]
    assert findings and all(f.startswith(f"case {case['id']}: case_tasks row ") for f in findings), findings


# ================================================================ typed data

def test_data_keeps_its_type(any_office, tmp_path):
    upload(any_office, tmp_path, "TYPED", [ACCEPT, REVIEW])
    items = ["电话=013800138000", "邮编=010010", "ver=1.10", "身份证号=110101199003071234", 'quoted="0012"',
             'id:="0012"', "age:=30", "ok:=true", "none:=null", 'items:=["a", 1]', "empty=", "eq=a=b"]
    case = start(any_office, "TYPED", *items)
    data = show(any_office, case["id"])["applicant"]
    assert data == {"电话": "013800138000", "邮编": "010010", "ver": "1.10", "身份证号": "110101199003071234",
                    "quoted": '"0012"', "id": "0012", "age": 30, "ok": True, "none": None, "items": ["a", 1],
                    "empty": "", "eq": "a=b"}
    task = any_office.json(["task", "show", case["ready"][0]["id"], "--json"])
    assert task["data"]["电话"] == "013800138000" and task["data"]["age"] == 30


def test_data_may_not_shadow_helpers_or_engine_keys(office, tmp_path):
    upload(office, tmp_path, "SHADOW", [ACCEPT, REVIEW])
    case = start(office, "SHADOW")
    ref = case["ready"][0]["id"]
    assert one_error_line(office(["task", "complete", ref, "--data", "len=0"], user=CLERK)) == (
        "--data key 'len' is the name of a helper conditions and scripts use; choose another name")
    for key in ("today", "sum", "add_workdays", "return_reason", "returned"):
        assert key in one_error_line(office(["task", "complete", ref, "--data", f"{key}:=0"], user=CLERK))
    assert "--data returned is set by onetrip" in one_error_line(office(["case", "start", "SHADOW", "--data",
                                                                          "returned:=true"], user=CLERK))


def test_data_stored_under_a_helper_name_cannot_break_a_condition():
    """Defence in depth: data already holding ``len`` (before these rules) is hidden from expressions."""
    assert sandbox.evaluate("len(missing) > 0", {"len": 0, "missing": ["照片"]}) is True
    assert sandbox.evaluate("today() == today()", {"today": "x"}) is True
    data = {"len": 0, "n": 1}
    sandbox.execute("m = n + 1", data)
    assert data == {"n": 1, "m": 2}                       # the shadowing key is dropped by the next script


def test_a_script_may_not_set_a_helper_name(office, tmp_path):
    upload(office, tmp_path, "SHADOWS", [ACCEPT, script("Set", "len = 0"), REVIEW])
    case = start(office, "SHADOWS")
    line = one_error_line(office(["task", "complete", case["ready"][0]["id"]], user=CLERK))
    assert line == ("Set: script: 'len' is the name of a helper conditions and scripts use; "
                    "store the value under another name")


def test_sandbox_names_are_the_ones_values_refuses():
    assert values.SANDBOX_NAMES == (set(sandbox._BUILTINS) | set(sandbox.HELPERS))


@pytest.mark.parametrize("arg", ["--data", "--as"])
def test_undecodable_bytes_in_arguments_are_one_line(office, tmp_path, arg):
    upload(office, tmp_path, "UTF", [ACCEPT, REVIEW])
    bad = "x\udcff"          # what Python makes of the byte 0xFF in argv
    args = ["case", "start", "UTF"] + (["--data", f"name={bad}"] if arg == "--data" else [])
    r = office(args, user=bad if arg == "--as" else CLERK)
    assert "not valid UTF-8" in one_error_line(r)
    assert office.json(["case", "list"]) == []


# ================================================================ a budget for the whole step

@pytest.mark.parametrize("expression, message", [
    ('"P99999999Y"', "more than 10 years ahead"),
    ("5", "gave 5, not a text"),
    ("None", "gave None, not a text"),
    ('"garbage"', "expected an ISO 8601 duration"),
    ('"-P1D"', "expected an ISO 8601 duration"),
    ('"PT"', "expected an ISO 8601 duration"),
])
def test_timer_values_at_run_time_are_checked(office, tmp_path, expression, message):
    # The value comes from task data: a constant like these is already refused at upload.
    upload(office, tmp_path, "TMR", [ACCEPT, timer("Wait", "timeDuration", "t"), REVIEW])
    case = start(office, "TMR", "t:=" + ("null" if expression == "None" else expression))
    before = show(office, case["id"])
    r = timed(lambda: office(["task", "complete", case["ready"][0]["id"]], user=CLERK), 3.0)
    line = one_error_line(r)
    assert line.startswith("Wait: timer expression ") and message in line, line
    assert show(office, case["id"]) == before
    audit_ok(office)


@pytest.mark.parametrize("kind, expression, message", [
    ("timeDate", '"9999-12-31T00:00"', "more than 10 years from now"),
    ("timeDate", '"P1D"', "expected an ISO 8601 date and time"),
    ("timeCycle", '"R/PT0S"', "an interval shorter than 1 s"),
    ("timeCycle", '"R5/P99999Y"', "an interval of more than 10 years"),
    ("timeCycle", '"every day"', "expected an ISO 8601 cycle"),
])
def test_timer_dates_and_cycles_at_run_time_are_checked(office, tmp_path, kind, expression, message):
    upload(office, tmp_path, "TMD", [ACCEPT, timer("Wait", kind, "t"), REVIEW])
    case = start(office, "TMD", "t:=" + expression)
    line = one_error_line(office(["task", "complete", case["ready"][0]["id"]], user=CLERK))
    assert line.startswith("Wait: timer expression ") and message in line, line


def test_a_sane_timer_still_works(office, tmp_path):
    upload(office, tmp_path, "TOK", [ACCEPT, timer("Wait", "timeDuration", '"PT1H"'), REVIEW])
    case = start(office, "TOK")
    office.ok(["task", "complete", case["ready"][0]["id"]], user=CLERK, now="2026-03-02T09:10")
    assert show(office, case["id"])["ready"] == []
    office.ok(["worker", "--once"], user=ADMIN, now="2026-03-02T10:30")
    assert [t["name"] for t in show(office, case["id"])["ready"]] == ["审核"]


MI_CARDINALITY = ('<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality xsi:type="bpmn:tFormalExpression">'
                  'n</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>')
MI_COLLECTION = ('<bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>'
                 '<bpmn:inputDataItem id="item" name="item" /></bpmn:multiInstanceLoopCharacteristics>')


def test_data_driven_multi_instance_is_capped(any_office, tmp_path):
    upload(any_office, tmp_path, "MIN", [node("scriptTask", "Each", "逐项", MI_CARDINALITY
                                          + "<bpmn:script>y = 1</bpmn:script>"), REVIEW])
    r = timed(lambda: any_office(["case", "start", "MIN", "--data", "n:=100000000"], user=CLERK))
    line = one_error_line(r)
    assert line.startswith("Each: ") and "cardinality 100,000,000 is outside 0..1,000" in line, line
    assert any_office.json(["case", "list"]) == []
    assert "expected a whole number" in one_error_line(any_office(["case", "start", "MIN", "--data", "n=3"],
                                                              user=CLERK))
    case = start(any_office, "MIN", "n:=3")
    assert [t["name"] for t in case["ready"]] == ["审核"]


def test_multi_instance_over_a_huge_collection_is_capped(office, tmp_path):
    upload(office, tmp_path, "MIC", [ACCEPT, script("Fill", "items = list(range(20000))"),
                                     node("scriptTask", "Each", "逐项", MI_COLLECTION
                                          + "<bpmn:script>y = item</bpmn:script>"), REVIEW])
    case = start(office, "MIC")
    before = show(office, case["id"])
    line = one_error_line(timed(lambda: office(["task", "complete", case["ready"][0]["id"]], user=CLERK)))
    assert line.startswith("Each: ") and "multi-instance over 20,000 items of 'items'" in line, line
    assert show(office, case["id"]) == before


def test_the_step_deadline_caps_every_script(office, tmp_path, monkeypatch):
    """Scripts that each stay under their own 2 s still cannot make one step last longer than the step's
    limit (here lowered to 1 s): the sandbox caps each run by what is left of the step."""
    monkeypatch.setattr(runtime, "STEP_SECONDS", 1.0)
    monkeypatch.setattr(runtime.StepBudget.__init__, "__defaults__", (1.0, runtime.STEP_MEMORY_BYTES))
    upload(office, tmp_path, "SLOW", [ACCEPT, script("Spin", "while True:\n    pass"), REVIEW])
    case = start(office, "SLOW")
    before = show(office, case["id"])
    line = one_error_line(timed(lambda: office(["task", "complete", case["ready"][0]["id"]], user=CLERK), 3.0))
    assert line == "Spin: stopped: the step ran longer than 1 s (the limit for one step); nothing was saved"
    assert show(office, case["id"]) == before


def test_the_step_budget_stops_spiffworkflows_own_loops():
    """The alarm reaches code outside the sandbox (SpiffWorkflow's own loops)."""
    wf = object.__new__(runtime.BpmnWorkflow)
    started = time.monotonic()
    with pytest.raises(ScriptError, match=r"stopped: the step ran longer than 0.3 s"):
        with runtime.StepBudget(wf, seconds=0.3):
            while True:
                pass
    assert time.monotonic() - started < 1.5


def test_the_step_budget_caps_memory():
    wf = object.__new__(runtime.BpmnWorkflow)
    with pytest.raises(ScriptError, match=r"tried to use more than 64 MB of memory"):
        with runtime.StepBudget(wf, memory=64 * 1024 * 1024):
            blob = bytearray(512 * 1024 * 1024)
            del blob


def test_the_step_budget_works_in_a_thread_too():
    wf = object.__new__(runtime.BpmnWorkflow)
    budget = runtime.StepBudget(wf, seconds=0.2)
    errors = []

    def body():
        try:
            with budget:
                time.sleep(0.3)
                budget(_FakeTask())
        except ScriptError as exc:
            errors.append(str(exc))
    thread = threading.Thread(target=body)
    thread.start()
    thread.join(5)
    assert errors and "stopped: the step ran longer than 0.2 s" in errors[0]


class _FakeSpec:
    bpmn_id = name = "X"


class _FakeTask:
    task_spec = _FakeSpec()
    workflow = None


def _recursive_model():
    """A process that calls itself (refused at upload; run here directly, as defence in depth)."""
    from engine import bpmn_model
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
    xml = chain("REC", [node("callActivity", "Again", "再来", attrs=' calledElement="Process_REC"')])
    parser = BpmnParser()
    doc = bpmn_model.load_bytes(xml.encode("utf-8"), "rec.bpmn")
    parser.add_bpmn_xml(doc.tree if hasattr(doc, "tree") else _etree(xml), filename="rec.bpmn")
    return runtime.CompiledModel("Process_REC", parser.get_spec("Process_REC"),
                                 parser.get_subprocess_specs("Process_REC"))


def _etree(xml: str):
    from lxml import etree
    return etree.fromstring(xml.encode("utf-8"))


def test_recursion_through_call_activities_is_stopped_at_run_time():
    model = _recursive_model()
    started = time.monotonic()
    with pytest.raises(ScriptError, match=r"sub-processes nested more than 16 deep"):
        runtime.start(model, {})
    assert time.monotonic() - started < FAST


# ================================================================ not blocking others

def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see the other process run")
def test_a_slow_step_does_not_block_other_clerks(office, tmp_path):
    """While one clerk's step spins in a script (stopped after 2 s), another clerk's step on another case
    goes through at once: the step runs before the write lock is taken."""
    upload(office, tmp_path, "SPIN", [ACCEPT, script("Spin", "while True:\n    pass"), REVIEW])
    upload(office, tmp_path, "PLAIN", [ACCEPT, REVIEW])
    slow = start(office, "SPIN")
    quick = start(office, "PLAIN")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONETRIP_")}
    proc = subprocess.Popen([sys.executable, "-c", "import cli; cli.main()", "--db", office.db_url, "--as", CLERK,
                             "--now", NOW, "task", "complete", slow["ready"][0]["id"]], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while _cpu_seconds(proc.pid) < 1.2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)           # interpreter start-up and loading: the script is running after that
        assert proc.poll() is None, proc.communicate()
        started = time.monotonic()
        office.ok(["task", "complete", quick["ready"][0]["id"]], user=CLERK)
        elapsed = time.monotonic() - started
        still_running = proc.poll() is None
    finally:
        out, err = proc.communicate(timeout=30)
    assert still_running, "the slow step ended before the quick one; the test proved nothing"
    assert elapsed < 1.0, f"the other clerk waited {elapsed:.2f} s"
    assert proc.returncode == 1 and "Spin: stopped after 2 s" in err, err
    audit_ok(office)


# ================================================================ locks

def _hold_write_lock(db_url: str):
    conn = sqlite3.connect(db_url.split("///", 1)[1], timeout=0.1, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def test_reading_commands_never_wait_on_a_writer(office, tmp_path):
    upload(office, tmp_path, "LOCK", [ACCEPT, REVIEW])
    start(office, "LOCK")
    fresh = CliHarness(office.db_url, now=NOW)              # a new process: schema check included
    lock = _hold_write_lock(office.db_url)
    try:
        for args in (["case", "list", "--json"], ["case", "show", "1", "--json"], ["task", "list", "--all",
                                                                                   "--json"],
                     ["process", "list", "--json"], ["user", "list", "--json"], ["task", "show", "1.1"]):
            r = timed(lambda: fresh(args), 2.0)
            assert r.exit_code == 0, (args, r.stderr)
    finally:
        lock.rollback()
        lock.close()


def test_every_lock_condition_exits_75_with_one_line(office, tmp_path, monkeypatch):
    from engine import database
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 200)
    upload(office, tmp_path, "BUSY", [ACCEPT, REVIEW])
    case = start(office, "BUSY")
    lock = _hold_write_lock(office.db_url)
    try:
        fresh = CliHarness(office.db_url, now=NOW)
        for args, who in [(["task", "complete", case["ready"][0]["id"]], CLERK), (["case", "start", "BUSY"], CLERK),
                          (["user", "add", "新人", "--role", "reformer"], ADMIN)]:
            r = timed(lambda: fresh(args, user=who), 3.0)
            assert r.exit_code == 75, (args, r.exit_code, r.stderr)
            line = one_error_line(r)
            assert "busy" in line and "run the command again" in line, line
    finally:
        lock.rollback()
        lock.close()
    office.ok(["task", "complete", case["ready"][0]["id"]], user=CLERK)
    audit_ok(office)


def test_a_read_only_database_can_be_read(office, tmp_path):
    upload(office, tmp_path, "RO", [ACCEPT, REVIEW])
    start(office, "RO")
    path = office.db_url.split("///", 1)[1]
    ro = CliHarness(f"sqlite:///file:{path}?mode=ro&uri=true", now=NOW)
    assert [c["id"] for c in ro.json(["case", "list", "--json"])] == [1]
    assert ro.json(["case", "show", "1", "--json"])["status"] == "open"
    line = one_error_line(ro(["task", "complete", "1.1"], user=CLERK))
    assert "readonly" in line or "read-only" in line, line


def _make_read_only(path: Path):
    """chmod 444, or (as root, who writes to such files anyway) the immutable attribute; None if neither."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        return lambda: path.chmod(0o644)
    try:
        subprocess.run(["chattr", "+i", str(path)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return lambda: subprocess.run(["chattr", "-i", str(path)], check=True, capture_output=True)


def test_a_read_only_database_file_can_be_read(office, tmp_path):
    upload(office, tmp_path, "ROF", [ACCEPT, REVIEW])
    start(office, "ROF")
    path = Path(office.db_url.split("///", 1)[1])
    undo = _make_read_only(path)
    if undo is None:
        pytest.skip("cannot make a file read-only here (root without chattr)")
    try:
        fresh = CliHarness(office.db_url, now=NOW)
        assert [c["id"] for c in fresh.json(["case", "list", "--json"])] == [1]
        assert fresh.json(["task", "show", "1.1", "--json"])["name"] == "受理"
        line = one_error_line(fresh(["task", "complete", "1.1"], user=CLERK))
        assert "read-only" in line or "readonly" in line, line
    finally:
        undo()


@pytest.mark.parametrize("content", [b"this is not a database at all" * 100,
                                     b"SQLite format 3\x00" + b"\xff" * 4000])
def test_a_file_that_is_not_a_database_is_one_line(tmp_path, content):
    path = tmp_path / "junk.db"
    path.write_bytes(content)
    for args in (["case", "list"], ["init"]):
        r = CliHarness(f"sqlite:///{path}")(args)
        assert r.exit_code == 1
        assert "is not a onetrip database" in one_error_line(r) or "cannot open database" in one_error_line(r)


def test_a_schema_from_the_future_is_one_line(office):
    conn = sqlite3.connect(office.db_url.split("///", 1)[1])
    conn.execute("UPDATE alembic_version SET version_num = '0099'")
    conn.commit()
    conn.close()
    for args in (["init"], ["case", "list"]):
        line = one_error_line(CliHarness(office.db_url)(args))
        assert "schema is at revision 0099, newer than this onetrip" in line, line


@pytest.mark.parametrize("url", ["postgresql://clerk:s3cret-pw@127.0.0.1:1/onetrip",
                                 "nosuchdb://clerk:s3cret-pw@host/onetrip"])
def test_a_database_password_is_never_echoed(url):
    r = CliHarness(url)(["case", "list"])
    line = one_error_line(r)
    assert "s3cret-pw" not in r.stderr + r.stdout and "***" in line, line


# ================================================================ names

def test_look_alike_user_names_are_refused(office):
    for name, message in [("ａｄｍｉｎ", None), ("管理员", "user '管理员' already exists"),
                          ("王窗口\u200b", "invisible or control character (U+200B)"),
                          ("王\u202e窗口", "invisible or control character (U+202E)"),
                          ("王\x1b[31m", "invisible or control character (U+001B)")]:
        r = office(["user", "add", name, "--role", "reformer"], user=ADMIN)
        if message is None:
            assert r.exit_code == 0, r.stderr
            continue
        assert message in one_error_line(r)
    assert "already exists (as 'admin'" in one_error_line(office(["user", "add", "ADMIN", "--role", "reformer"],
                                                                  user=ADMIN))
    assert "user 'admin' already exists" in one_error_line(office(["user", "add", "ａｄｍｉｎ", "--role",
                                                                   "reformer"], user=ADMIN))
    office.ok(["user", "add", "张", "--role", "clerk", "--department", "Window Desk"], user=ADMIN)
    assert "reads the same as the existing 'Window Desk'" in one_error_line(
        office(["user", "add", "李", "--role", "clerk", "--department", "ＷＩＮＤＯＷ ＤＥＳＫ"], user=ADMIN))
    r = office(["user", "add", "赵", "--role", "clerk", "--department", "综合窗口\u200b"], user=ADMIN)
    assert "U+200B" in one_error_line(r)
    names = [u["name"] for u in office.json(["user", "list", "--json"])]
    assert sorted(names) == sorted([ADMIN, DESIGNER, CLERK, "admin", "张"])


def test_a_full_width_name_acts_as_the_same_user(office, tmp_path):
    upload(office, tmp_path, "NAMES", [ACCEPT, REVIEW])
    office.ok(["user", "add", "Clerk1", "--role", "clerk", "--department", LANE], user=ADMIN)
    case = office.json(["case", "start", "NAMES"], user="Ｃｌｅｒｋ１")
    assert show(office, case["id"])["events"][0]["actor"] == "Clerk1"


# ================================================================ time moves forward

def test_a_step_before_the_last_event_is_refused(any_office, tmp_path):
    upload(any_office, tmp_path, "TIME", [ACCEPT, REVIEW])
    case = start(any_office, "TIME", now="2026-03-02T09:00")
    before = show(any_office, case["id"])
    r = any_office(["task", "complete", case["ready"][0]["id"]], user=CLERK, now="2026-03-01T09:00")
    assert one_error_line(r) == (f"case {case['id']}: the time of this step (2026-03-01 09:00:00) is earlier than "
                                 "the case's last event (2026-03-02 09:00:00); time only moves forward — check "
                                 "--now or the clock")
    assert show(any_office, case["id"]) == before
    any_office.ok(["task", "complete", case["ready"][0]["id"]], user=CLERK, now="2026-03-03T09:00")
    review = show(any_office, case["id"])["ready"][0]["id"]
    assert "time only moves forward" in one_error_line(any_office(["task", "complete", review], user=CLERK,
                                                              now="2026-03-02T12:00"))
    assert "time only moves forward" in one_error_line(any_office(["case", "cancel", str(case["id"]), "--reason", "x"],
                                                              user=ADMIN, now="2026-03-02T12:00"))
    any_office.ok(["task", "complete", review], user=CLERK, now="2026-03-04T09:00")
    assert show(any_office, case["id"])["status"] == "completed"
    audit_ok(any_office)


# ================================================================ the worker survives poison

COLLIDING_SET = "P = 2**61 - 1\nkeys = [i * P for i in range(200000)]\nn = len(set(keys))"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the worker isolates cases with fork")
def test_a_case_that_kills_its_process_is_quarantined_and_the_others_go_on(office, tmp_path):
    """A post-timer script that only the CPU backstop can end (SIGXCPU) used to kill the whole worker on
    every pass; now it costs its own step, three failures quarantine it, and other cases' timers fire."""
    upload(office, tmp_path, "POISON", [timer("Wait", "timeDuration", '"PT1H"'), script("Crash", COLLIDING_SET),
                                        REVIEW])
    upload(office, tmp_path, "HEALTHY", [timer("Wait", "timeDuration", '"PT2H"'), REVIEW])
    poison = start(office, "POISON", now="2026-03-02T08:00")
    healthy = [start(office, "HEALTHY", now="2026-03-02T08:00") for _ in range(2)]
    for n, at in enumerate(["2026-03-02T10:30", "2026-03-02T11:00", "2026-03-02T11:30"], 1):
        r = office(["worker", "--once"], user=ADMIN, now=at)
        assert r.exit_code == 0, r.stderr
        assert f"worker: case {poison['id']} failed" in r.stderr and "SIGXCPU" in r.stderr, r.stderr
        assert ("quarantined" if n == 3 else "will retry") in r.stderr
        if n == 1:
            assert "2 timers fired in 2 cases" in r.stdout, r.stdout
    for case in healthy:
        assert [t["name"] for t in show(office, case["id"])["ready"]] == ["审核"]
    shown = show(office, poison["id"])
    assert shown["status"] == "quarantine"
    assert [e["action"] for e in shown["events"]] == ["start", "error", "error", "error", "quarantine"]
    assert "SIGXCPU" in shown["quarantine"]["reason"]
    assert shown["quarantine"]["release"] == f"onetrip --as ADMIN case release {poison['id']}"
    text = office(["case", "show", str(poison["id"])]).stdout
    assert "QUARANTINED" in text and f"case release {poison['id']}" in text
    assert [c["id"] for c in office.json(["case", "list", "--status", "quarantine"])] == [poison["id"]]
    r = office(["worker", "--once"], user=ADMIN, now="2026-03-02T12:00")
    assert "0 timers fired in 0 cases" in r.stdout and r.stderr == "", r.stderr   # out of the queue
    audit_ok(office)
    released = office.json(["case", "release", str(poison["id"])], user=ADMIN, now="2026-03-02T12:30")
    assert released["status"] == "open" and released["events"][-1]["action"] == "release"
    r = office(["worker", "--once"], user=ADMIN, now="2026-03-02T13:00")
    assert "will retry" in r.stderr                                                # tried again
    audit_ok(office)


def test_a_failing_timer_case_is_quarantined_in_process_too(any_office, tmp_path, monkeypatch):
    """Without fork (ONETRIP_WORKER_INPROCESS) a failing case is recorded the same way."""
    monkeypatch.setenv("ONETRIP_WORKER_INPROCESS", "1")
    upload(any_office, tmp_path, "FAILS", [timer("Wait", "timeDuration", '"PT1H"'), script("Boom", "x = 1 / 0"), REVIEW])
    case = start(any_office, "FAILS", now="2026-03-02T08:00")
    for at in ("2026-03-02T10:00", "2026-03-02T10:01", "2026-03-02T10:02"):
        r = any_office(["worker", "--once"], user=ADMIN, now=at)
        assert r.exit_code == 0 and "Boom: script: ZeroDivisionError" in r.stderr, r.stderr
    assert show(any_office, case["id"])["status"] == "quarantine"
    audit_ok(any_office)


CYCLE = ('<bpmn:boundaryEvent id="Tick" name="每秒提醒" attachedToRef="Review" cancelActivity="false">'
         '<bpmn:outgoing>Flow_Tick</bpmn:outgoing><bpmn:timerEventDefinition id="Tick_Def">'
         '<bpmn:timeCycle xsi:type="bpmn:tFormalExpression">cycle</bpmn:timeCycle></bpmn:timerEventDefinition>'
         '</bpmn:boundaryEvent>\n'
         '<bpmn:endEvent id="End_Tick"><bpmn:incoming>Flow_Tick</bpmn:incoming></bpmn:endEvent>\n'
         '<bpmn:sequenceFlow id="Flow_Tick" sourceRef="Tick" targetRef="End_Tick" />\n')


def test_a_cycle_far_behind_fires_once_per_pass_and_every_firing_is_audited(any_office, tmp_path):
    upload(any_office, tmp_path, "CYCLE", [REVIEW], extra=CYCLE, extra_nodes=("Tick", "End_Tick"))
    case = start(any_office, "CYCLE", "cycle=R/PT1S", now="2026-03-02T09:00:00")   # from data: upload refuses it
    r = timed(lambda: any_office(["worker", "--once"], user=ADMIN, now="2026-03-02T10:00"))
    assert "1 timers fired in 1 cases" in r.stdout, r.stdout
    events = show(any_office, case["id"])["events"]
    assert [e["action"] for e in events] == ["start", "timer"] and events[1]["task_id"] == "Tick"
    r = any_office(["worker", "--once"], user=ADMIN, now="2026-03-02T10:00:05")
    assert "1 timers fired in 1 cases" in r.stdout
    assert [e["action"] for e in show(any_office, case["id"])["events"]] == ["start", "timer", "timer"]
    audit_ok(any_office)


def test_a_worker_pass_has_a_time_budget(office, tmp_path, monkeypatch):
    """A pass takes no new case once its time is up; what is left is due in the next pass."""
    from engine.service import admin as service
    upload(office, tmp_path, "PASS", [timer("Wait", "timeDuration", '"PT1H"'), REVIEW])
    case = start(office, "PASS", now="2026-03-02T08:00")
    monkeypatch.setattr(service, "WORKER_PASS_SECONDS", 0.0)
    assert "0 timers fired in 0 cases" in office.ok(["worker", "--once"], user=ADMIN, now="2026-03-02T10:00").stdout
    monkeypatch.setattr(service, "WORKER_PASS_SECONDS", 60.0)
    assert "1 timers fired in 1 cases" in office.ok(["worker", "--once"], user=ADMIN, now="2026-03-02T10:01").stdout
    assert [t["name"] for t in show(office, case["id"])["ready"]] == ["审核"]


def test_a_timer_that_fires_in_the_step_that_reaches_it_is_audited(any_office, tmp_path):
    """A date already past fires as soon as the case reaches it: that firing is an audited event too."""
    upload(any_office, tmp_path, "PAST", [ACCEPT, timer("Wait", "timeDate", '"2026-03-01T00:00"'), REVIEW])
    case = start(any_office, "PAST")
    done = any_office.json(["task", "complete", case["ready"][0]["id"], "--json"], user=CLERK)
    assert [t["name"] for t in done["ready"]] == ["审核"]
    events = show(any_office, case["id"])["events"]
    assert [(e["action"], e["task_id"]) for e in events] == [("start", None), ("complete", "Accept"),
                                                             ("timer", "Wait")]
    audit_ok(any_office)

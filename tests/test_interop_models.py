"""Models as other engines and modelers write them (issue 9).

Each test writes the construct as Flowable, jBPM, Camunda Modeler or
SpiffWorkflow's own test models do, and checks onetrip reads it the way the
BPMN specification and SpiffWorkflow do: validate, analyze (hand-counted
steps), upload and case start through the real CLI on a real SQLite file.
"""
from __future__ import annotations

import pytest

from engine import bpmn_model, compiler, juel, runtime
from engine.analysis import analyze_document
from onetrip_testing import CliHarness

NS = 'xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def definitions(body: str, extra: str = "") -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<definitions {NS} targetNamespace="t">{extra}\n{body}\n</definitions>\n'


def process(pid: str, body: str, attrs: str = "") -> str:
    return f'<process id="{pid}"{attrs}>\n{body}\n</process>'


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path, process_id=None, library=()) -> list[str]:
    _, doc = bpmn_model.load_document(path)
    doc.library = [bpmn_model.load_document(p)[1] for p in library]
    _, compiled, found = compiler.compile_model(doc, process_id)
    assert (compiled is None) == bool(found)
    return [str(p) for p in found]


def steps(path, process_id=None) -> list[int]:
    _, doc = bpmn_model.load_document(path)
    return [m.steps for m in analyze_document(doc, process_id)]


def _office(url):
    cli = CliHarness(url)
    cli.ok("init")
    cli.ok("user add admin --role admin")
    cli.ok("user add 李设计 --role designer", user="admin")
    cli.ok("user add 王窗口 --role clerk --department 窗口", user="admin")
    return cli


@pytest.fixture
def any_office(db_url):
    """The same office on SQLite and on PostgreSQL (the version's files and bindings are JSON columns)."""
    return _office(db_url)


@pytest.fixture
def office(tmp_path):
    return _office(f"sqlite:///{tmp_path / 'onetrip.db'}")


# ------------------------------------------------------------ id-less sequence flows

# Flowable test-resource style: no ids on flows, no isExecutable.
IDLESS = process("idless", """
  <startEvent id="start"/>
  <sequenceFlow sourceRef="start" targetRef="accept"/>
  <userTask id="accept" name="受理"/>
  <sequenceFlow sourceRef="accept" targetRef="fork"/>
  <parallelGateway id="fork"/>
  <sequenceFlow sourceRef="fork" targetRef="checkA"/>
  <sequenceFlow sourceRef="fork" targetRef="checkB"/>
  <userTask id="checkA" name="核查甲"/>
  <userTask id="checkB" name="核查乙"/>
  <sequenceFlow sourceRef="checkA" targetRef="join"/>
  <sequenceFlow sourceRef="checkB" targetRef="join"/>
  <parallelGateway id="join"/>
  <sequenceFlow sourceRef="join" targetRef="decide"/>
  <exclusiveGateway id="decide" default="toIssue"/>
  <sequenceFlow id="toIssue" sourceRef="decide" targetRef="issue"/>
  <sequenceFlow sourceRef="decide" targetRef="refuse">
    <conditionExpression xsi:type="tFormalExpression">${!approved}</conditionExpression>
  </sequenceFlow>
  <userTask id="issue" name="发证"/>
  <userTask id="refuse" name="告知"/>
  <sequenceFlow sourceRef="issue" targetRef="end"/>
  <sequenceFlow sourceRef="refuse" targetRef="end"/>
  <endEvent id="end"/>
""")


def test_id_less_flows_are_read_and_counted_by_hand(tmp_path):
    path = write(tmp_path, "idless.bpmn20.xml", definitions(IDLESS))
    assert problems(path) == []
    # accept (1) + parallel checkA + checkB (2) + worst of issue / refuse (1) = 4
    assert steps(path) == [4]


def test_synthetic_flow_ids_are_stable_and_distinct(tmp_path):
    twice = IDLESS.replace('<sequenceFlow sourceRef="checkA" targetRef="join"/>',
                           '<sequenceFlow sourceRef="checkA" targetRef="join"/>'
                           '<sequenceFlow sourceRef="checkA" targetRef="join"/>')
    path = write(tmp_path, "twice.bpmn", definitions(twice))
    ids = [sorted(bpmn_model.load_document(path)[1].processes[0].flows) for _ in range(2)]
    assert ids[0] == ids[1]
    assert "Flow__checkA__join" in ids[0] and "Flow__checkA__join__2" in ids[0]
    assert len(ids[0]) == 12


def test_plain_start_task_end_without_flow_ids_runs(tmp_path):
    path = write(tmp_path, "plain.bpmn", definitions(process("plain", """
      <startEvent id="s"/><userTask id="t" name="办理"/><endEvent id="e"/>
      <sequenceFlow sourceRef="s" targetRef="t"/><sequenceFlow sourceRef="t" targetRef="e"/>""")))
    assert problems(path) == [] and steps(path) == [1]
    _, doc = bpmn_model.load_document(path)
    _, compiled, _ = compiler.compile_model(doc)
    model = runtime.spec_from_json(runtime.spec_to_json(compiled))
    wf = runtime.copy_workflow(runtime.start(model), model)
    [task] = runtime.ready_tasks(wf)
    runtime.complete(wf, task.id, {})
    assert wf.completed


def test_missing_is_executable_means_executable_and_false_is_refused(tmp_path):
    path = write(tmp_path, "x.bpmn", definitions(IDLESS))
    assert bpmn_model.load_document(path)[1].processes[0].executable
    off = write(tmp_path, "off.bpmn", definitions(IDLESS.replace('id="idless"', 'id="idless" isExecutable="false"')))
    assert any('process is not executable (isExecutable="false")' in p for p in problems(off))


# ------------------------------------------------------ event sub-processes, compensation

def test_event_subprocess_and_compensation_handler_are_entry_points_not_steps(tmp_path):
    path = write(tmp_path, "esp.bpmn", definitions(process("esp", """
      <startEvent id="s"/><userTask id="work" name="办理"/><endEvent id="e"/>
      <sequenceFlow id="f1" sourceRef="s" targetRef="work"/><sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
      <subProcess id="onCancel" triggeredByEvent="true">
        <startEvent id="cs"><messageEventDefinition messageRef="cancel"/></startEvent>
        <userTask id="undo" name="撤回"/><endEvent id="ce"/>
        <sequenceFlow id="c1" sourceRef="cs" targetRef="undo"/><sequenceFlow id="c2" sourceRef="undo" targetRef="ce"/>
      </subProcess>
      <serviceTask id="compensate" isForCompensation="true"/>"""),
        extra='<message id="cancel" name="cancel"/>'))
    assert problems(path) == []
    assert steps(path) == [1]          # only 办理: the event sub-process is exceptional


# -------------------------------------------------------------- several processes

def _pools(a_exec: str, b_exec: str) -> str:
    return definitions(
        '<collaboration id="c"><participant id="pa" processRef="A"/><participant id="pb" processRef="B"/></collaboration>'
        + process("A", '<startEvent id="a0"/><userTask id="a1"/><endEvent id="a2"/>'
                       '<sequenceFlow id="fa1" sourceRef="a0" targetRef="a1"/><sequenceFlow id="fa2" sourceRef="a1" targetRef="a2"/>',
                  a_exec)
        + process("B", '<startEvent id="b0"/><userTask id="b1"/><userTask id="b2"/><endEvent id="b3"/>'
                       '<sequenceFlow id="fb1" sourceRef="b0" targetRef="b1"/><sequenceFlow id="fb2" sourceRef="b1" targetRef="b2"/>'
                       '<sequenceFlow id="fb3" sourceRef="b2" targetRef="b3"/>', b_exec))


def test_a_collaboration_with_one_executable_pool_runs_that_one(tmp_path):
    path = write(tmp_path, "collab.bpmn", _pools(' isExecutable="false"', ' isExecutable="true"'))
    _, doc = bpmn_model.load_document(path)
    assert compiler.compile_model(doc)[0].id == "B" and problems(path) == []


def test_several_executable_pools_need_process_and_never_block_analysis(tmp_path, office):
    path = write(tmp_path, "pools.bpmn", _pools("", ""))
    [reason] = problems(path)
    assert reason == (f"{path}: several processes (A, B): choose the one to run with --process ID "
                      f"(or give it the property matter_code)")
    assert problems(path, "A") == []
    assert sorted(steps(path)) == [1, 2] and steps(path, "B") == [2]       # each pool analysed
    r = office(["process", "validate", str(path), "--process", "B"])
    assert r.exit_code == 0 and "ok (B)" in r.stdout
    r = office(["process", "upload", str(path), "--label", "after", "--matter", "POOLS"], user="李设计")
    assert r.exit_code == 1 and "--process ID" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    desc = office.json(["process", "upload", str(path), "--label", "before", "--matter", "POOLS", "--descriptive"],
                       user="李设计")
    assert not desc["executable"]
    run = office.json(["process", "upload", str(path), "--label", "after", "--matter", "POOLS", "--process", "B"],
                      user="李设计")
    assert run["executable"] and run["process_id"] == "B"
    assert office.json(["process", "analyze", str(path), "--process", "A"])[0]["steps"] == 1
    r = office(["process", "validate", str(path), "--process", "Nope"])
    assert r.exit_code == 1 and "no process 'Nope' in this file (it has A, B)" in r.stderr


# ---------------------------------------------------------- several files, one model

MAIN = definitions(process("Main", """
  <startEvent id="s"/><userTask id="accept" name="受理"/><callActivity id="callCheck" name="核查" calledElement="Check"/>
  <endEvent id="e"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="accept"/><sequenceFlow id="f2" sourceRef="accept" targetRef="callCheck"/>
  <sequenceFlow id="f3" sourceRef="callCheck" targetRef="e"/>"""))
CALLED = definitions(process("Check", """
  <startEvent id="cs"/><userTask id="check1" name="核查一"/><userTask id="check2" name="核查二"/><endEvent id="ce"/>
  <sequenceFlow id="c1" sourceRef="cs" targetRef="check1"/><sequenceFlow id="c2" sourceRef="check1" targetRef="check2"/>
  <sequenceFlow id="c3" sourceRef="check2" targetRef="ce"/>"""))


def test_a_call_to_another_file_resolves_when_the_file_is_given(tmp_path, any_office):
    office = any_office
    main, called = write(tmp_path, "main.bpmn", MAIN), write(tmp_path, "called.bpmn", CALLED)
    [alone] = problems(main)
    assert "called process 'Check' is not in this file: give its file too" in alone
    assert problems(main, library=[called]) == []
    r = office(["process", "validate", str(main), str(called)])
    assert r.exit_code == 0, r.stderr
    rows = office.json(["process", "analyze", str(main), str(called)])
    assert [m["steps"] for m in rows] == [3, 2]                 # 受理 + 核查一 + 核查二; Check alone
    v = office.json(["process", "upload", str(main), str(called), "--label", "after", "--matter", "MAIN"],
                    user="李设计")
    assert v["executable"] and v["process_id"] == "Main"
    shown = office.json(["process", "show", str(v["id"])])
    assert shown["files"] == ["main.bpmn", "called.bpmn"] and shown["metrics"]["steps"] == 3
    assert shown["bindings"] == [{"process_id": "Check", "version": None, "file": "called.bpmn"}]
    assert "calls Check: bound to called.bpmn of this upload" in office.ok(["process", "show", str(v["id"])]).stdout
    case = office.json(["case", "start", "MAIN"], user="王窗口")
    for name in ("受理", "核查一", "核查二"):
        [task] = office.json(["task", "list", "--case", str(case["id"])], user="王窗口")
        assert task["name"] == name
        office.ok(["task", "complete", task["id"]], user="王窗口")
    assert office.json(["case", "show", str(case["id"])])["status"] == "completed"


def test_a_call_binds_to_the_current_stored_version_of_the_called_process(tmp_path, any_office):
    office = any_office
    main, called = write(tmp_path, "main.bpmn", MAIN), write(tmp_path, "called.bpmn", CALLED)
    r = office(["process", "upload", str(main), "--label", "after", "--matter", "MAIN"], user="李设计")
    assert r.exit_code == 1 and "called process 'Check' is not in this file" in r.stderr
    first = office.json(["process", "upload", str(called), "--label", "after", "--matter", "CHECK"], user="李设计")
    second = office.json(["process", "upload", str(called).replace("called", "called"), "--label", "before",
                          "--matter", "CHECK2"], user="李设计")
    v = office.json(["process", "upload", str(main), "--label", "after", "--matter", "MAIN"], user="李设计")
    shown = office.json(["process", "show", str(v["id"])])
    assert shown["bindings"] == [{"process_id": "Check", "version": second["id"], "file": "called.bpmn",
                                  "matter_code": "CHECK2", "label": "before"}] and first["id"] != second["id"]
    assert shown["metrics"]["steps"] == 3
    out = office.ok(["process", "show", str(v["id"])]).stdout
    assert f"calls Check: bound to stored version {second['id']} (CHECK2 before, called.bpmn)" in out
    case = office.json(["case", "start", "MAIN"], user="王窗口")
    [task] = office.json(["task", "list", "--case", str(case["id"])], user="王窗口")
    office.ok(["task", "complete", task["id"]], user="王窗口")
    [task] = office.json(["task", "list", "--case", str(case["id"])], user="王窗口")
    assert task["name"] == "核查一"


# ------------------------------------------------------------------------ JUEL

@pytest.mark.parametrize("el, python", [
    ("${approved}", "str(approved).lower() == 'true'"),
    ("${!approved}", "str(approved).lower() != 'true'"),
    ("#{not approved}", "str(approved).lower() != 'true'"),
    ("${approved == true}", "str(approved).lower() == 'true'"),
    ("${approved eq false}", "str(approved).lower() != 'true'"),
    ("${amount > 1000 && level == 'A'}", "(float(amount) > 1000) and (level == 'A')"),
    ("${x eq 'y' or x ne \"z\"}", "(x == 'y') or (x != 'z')"),
    ("${a lt 1 || a gt 2 || a le 3 || a ge 4}",
     "(float(a) < 1) or (float(a) > 2) or (float(a) <= 3) or (float(a) >= 4)"),
    ("${a < b}", "a < b"),
    ("${a.b.c == 1}", "float(a['b']['c']) == 1"),
    ("${items[0] != null}", "items[0] != None"),
    ("${order['total'] >= 1.5e3}", "float(order['total']) >= 1.5e3"),
    ("${empty list}", "list is None or list == '' or list == [] or list == {}"),
    ("${not empty(x)}", "not (x is None or x == '' or x == [] or x == {})"),
    ("${a < b < c}", "(a < b) < c"),
    ("${x == '}'}", "x == '}'"),
    ("${(n > 1) == false}", "not (float(n) > 1)"),
    ("${ok == true && (n == -1 || done == false)}",
     "(str(ok).lower() == 'true') and ((float(n) == -1) or (str(done).lower() != 'true'))"),
    ("  ${approved}  ", "str(approved).lower() == 'true'"),
])
def test_juel_translation(el, python):
    assert juel.translate(el) == python


def test_a_long_chain_of_alternatives_stays_flat_python():
    assert juel.translate("${" + " || ".join(f"a{i} == 1" for i in range(500)) + "}").count("(") == 1000


def test_juel_values_stay_values():
    assert juel.translate("${duration}", value=True) == "duration"
    assert juel.translate("${5}", value=True) == "5"
    assert juel.translate("${order.due}", value=True) == "order['due']"


def test_juel_cardinality_and_timer_are_translated_as_values(tmp_path):
    body = """<startEvent id="s"/><userTask id="sign"><multiInstanceLoopCharacteristics>
      <loopCardinality>${3}</loopCardinality></multiInstanceLoopCharacteristics></userTask>
      <intermediateCatchEvent id="wait"><timerEventDefinition><timeDate>${due}</timeDate></timerEventDefinition>
      </intermediateCatchEvent><endEvent id="e"/>
      <sequenceFlow id="f1" sourceRef="s" targetRef="sign"/><sequenceFlow id="f2" sourceRef="sign" targetRef="wait"/>
      <sequenceFlow id="f3" sourceRef="wait" targetRef="e"/>"""
    path = write(tmp_path, "v.bpmn", definitions(process("v", body)))
    assert problems(path) == []
    _, doc = bpmn_model.load_document(path)
    assert [(t["what"], t["python"]) for t in doc.translations] == [("loopCardinality", "3"), ("timeDate", "due")]


@pytest.mark.parametrize("el, why", [
    ("${execution.getVariable('x')}", "a method call (.getVariable(...)) is outside the JUEL subset"),
    ("${amount + 1 > 2}", "arithmetic ('+') is outside the JUEL subset"),
    ("${a ? b : c}", "the conditional operator (a ? b : c) is outside"),
    ("approved ${x}", "text around ${...} (a composite expression) is outside"),
    ("${x} and ${y}", "text after the closing '}' (a composite expression) is outside"),
    ("${size(list) > 0}", "a method or function call (size(...)) is outside"),
    ("${a[b]}", "a computed index (a[expr]) is outside"),
    ("${x == 'open", "unterminated string"),
    ("${x", "expression is not closed"),
    ("${}", "empty expression"),
    ("${class == 1}", "variable name 'class' cannot be used"),
    ("${_secret}", "variable name '_secret' cannot be used"),
    ("${a ==}", "expected a value at the end"),
    ("${5}", "5 is not a truth value"),
    ("${" + "(" * 3000 + "a" + ")" * 3000 + "}", "expression nested deeper than 50 levels"),
    ("${" + "!" * 3000 + "a}", "expression nested deeper than 50 levels"),
    ("${" + "a || " * 2500 + "b}", "expression is 12,504 characters long, over the limit of 10,000"),
    ("${a instanceof b}", "instanceof is outside the JUEL subset"),
])
def test_juel_outside_the_subset_says_how_to_write_it(el, why):
    with pytest.raises(juel.JuelError) as err:
        juel.translate(el)
    assert why in str(err.value)
    if "outside" in why:
        assert "write the condition as a Python expression over the task data" in str(err.value)


@pytest.mark.parametrize("data, branch", [
    ({"amount": 5000, "level": "A"}, "director"), ({"amount": "5000", "level": "A"}, "director"),
    ({"amount": "800", "level": "A"}, "section"), ({"amount": 5000, "level": "B"}, "section"),
])
def test_juel_conditions_coerce_text_data_like_el(tmp_path, data, branch):
    body = """<startEvent id="s"/><exclusiveGateway id="g"/><userTask id="director"/><userTask id="section"/>
      <endEvent id="e1"/><endEvent id="e2"/>
      <sequenceFlow id="f0" sourceRef="s" targetRef="g"/>
      <sequenceFlow id="big" sourceRef="g" targetRef="director"><conditionExpression>${amount > 1000 &amp;&amp; level == 'A'}</conditionExpression></sequenceFlow>
      <sequenceFlow id="small" sourceRef="g" targetRef="section"><conditionExpression>${!(amount gt 1000 and level eq 'A')}</conditionExpression></sequenceFlow>
      <sequenceFlow id="f3" sourceRef="director" targetRef="e1"/><sequenceFlow id="f4" sourceRef="section" targetRef="e2"/>"""
    _, doc = bpmn_model.load_document(write(tmp_path, "el.bpmn", definitions(process("el", body))))
    _, compiled, found = compiler.compile_model(doc)
    assert found == []
    model = runtime.spec_from_json(runtime.spec_to_json(compiled))
    [task] = runtime.ready_tasks(runtime.copy_workflow(runtime.start(model, data), model))
    assert task.spec_name == branch


def test_translated_conditions_choose_the_branch_and_the_original_stays_stored(tmp_path, office):
    path = write(tmp_path, "idless.bpmn20.xml", definitions(IDLESS))
    v = office.json(["process", "upload", str(path), "--label", "after", "--matter", "IDL"], user="李设计")
    shown = office.json(["process", "show", str(v["id"])])
    assert shown["translations"] == [{"element": "Flow__decide__refuse", "what": "conditionExpression",
                                      "original": "${!approved}", "python": "str(approved).lower() != 'true'", "line": 20,
                                      "file": "idless.bpmn20.xml"}]
    from engine.store import ProcessVersion, make_engine
    from sqlalchemy.orm import Session
    with Session(make_engine(office.db_url)) as s:
        assert "${!approved}" in s.get(ProcessVersion, v["id"]).bpmn_xml
    case = office.json(["case", "start", "IDL"], user="王窗口")

    def ready():
        return sorted(t["name"] for t in office.json(["task", "list", "--case", str(case["id"])], user="王窗口"))

    def complete(name, *data):
        [task] = [t for t in office.json(["task", "list", "--case", str(case["id"])], user="王窗口") if t["name"] == name]
        office.ok(["task", "complete", task["id"], *[x for d in data for x in ("--data", d)]], user="王窗口")

    complete("受理")
    assert ready() == ["核查乙", "核查甲"]
    complete("核查甲")
    complete("核查乙", "approved=false")          # typed or text, EL reads "false" as false
    assert ready() == ["告知"]


# ----------------------------------------------------------------------- timers

def _timer(kind: str, value: str) -> str:
    return definitions(process("timed", f"""
      <startEvent id="s"/><intermediateCatchEvent id="wait"><timerEventDefinition>
      <{kind} xsi:type="tFormalExpression">{value}</{kind}></timerEventDefinition></intermediateCatchEvent>
      <userTask id="t" name="办理"/><endEvent id="e"/>
      <sequenceFlow id="f1" sourceRef="s" targetRef="wait"/><sequenceFlow id="f2" sourceRef="wait" targetRef="t"/>
      <sequenceFlow id="f3" sourceRef="t" targetRef="e"/>"""))


@pytest.mark.parametrize("kind, value", [
    ("timeDuration", "PT10M"), ("timeDuration", "P3D"), ("timeDuration", "P1Y2M3DT4H5M6S"),
    ("timeDuration", '"PT1H"'), ("timeDuration", "${wait}"), ("timeDuration", "wait_for"),
    ("timeCycle", "R3/PT1H"), ("timeDate", "2026-05-01T09:00:00"), ("timeDate", "2026-05-01T09:00:00+08:00"),
])
def test_literal_and_computed_iso_timers_are_accepted(tmp_path, kind, value):
    assert problems(write(tmp_path, "t.bpmn", _timer(kind, value))) == []


@pytest.mark.parametrize("kind, value, why", [
    ("timeDuration", "5", "timer value 5 is not ISO 8601 text (a duration)"),
    ("timeDuration", "'soon'", "timer value 'soon' is not ISO 8601 duration"),
    ("timeDuration", "P20Y", "timer value 'P20Y' is more than 10 years away"),
    ("timeDate", "2099-01-01T00:00:00", "is more than 10 years away"),
    ("timeDate", "PT1H", "timer value 'PT1H' is not ISO 8601 date-time"),
    ("timeCycle", "PT1H", "timer value 'PT1H' is not ISO 8601 cycle"),
    ("timeCycle", "0 0/5 * * * ?", "timer '0 0/5 * * * ?' is neither ISO 8601 nor a Python expression"),
])
def test_timers_that_would_fail_are_refused_at_validate(tmp_path, kind, value, why):
    [problem] = problems(write(tmp_path, "t.bpmn", _timer(kind, value)))
    assert why in problem and ": wait: " in problem and "PT10M" in problem


# --------------------------------------------------- validate is the whole truth

def test_a_process_calling_itself_is_refused(tmp_path):
    path = write(tmp_path, "self.bpmn", definitions(process("Loop", """
      <startEvent id="s"/><callActivity id="again" calledElement="Loop"/><endEvent id="e"/>
      <sequenceFlow id="f1" sourceRef="s" targetRef="again"/><sequenceFlow id="f2" sourceRef="again" targetRef="e"/>""")))
    [problem] = problems(path)
    assert problem == (f"{path}:5: again: call activity 'again' makes process 'Loop' call itself (Loop → Loop): "
                       f"the engine would start copies without end; break the recursion")


def test_mutual_recursion_across_files_is_refused(tmp_path):
    a = write(tmp_path, "a.bpmn", definitions(process("A", """
      <startEvent id="s"/><callActivity id="toB" calledElement="B"/><endEvent id="e"/>
      <sequenceFlow id="f1" sourceRef="s" targetRef="toB"/><sequenceFlow id="f2" sourceRef="toB" targetRef="e"/>""")))
    b = write(tmp_path, "b.bpmn", definitions(process("B", """
      <startEvent id="s"/><userTask id="t"/><callActivity id="toA" calledElement="A"/><endEvent id="e"/>
      <sequenceFlow id="f1" sourceRef="s" targetRef="t"/><sequenceFlow id="f2" sourceRef="t" targetRef="toA"/>
      <sequenceFlow id="f3" sourceRef="toA" targetRef="e"/>""")))
    [problem] = problems(a, library=[b])
    assert "toB: call activity 'toB' makes process 'A' call itself (A → B → A)" in problem


def test_unset_data_input_is_refused_and_a_script_variable_is_fine(tmp_path):
    io = """<ioSpecification><dataInput id="TaskName"/><inputSet><dataInputRefs>TaskName</dataInputRefs></inputSet>
            <outputSet/></ioSpecification>"""
    body = f"""<startEvent id="s"/>{{pre}}<userTask id="t" name="审批">{io}
      <dataInputAssociation><targetRef>TaskName</targetRef><assignment><from>审批</from><to>TaskName</to></assignment>
      </dataInputAssociation></userTask><endEvent id="e"/>
      <sequenceFlow id="f1" sourceRef="s" targetRef="{{first}}"/>{{link}}<sequenceFlow id="f3" sourceRef="t" targetRef="e"/>"""
    path = write(tmp_path, "jbpm.bpmn", definitions(process("io", body.format(pre="", first="t", link=""))))
    [problem] = problems(path)
    assert ("t: data input 'TaskName' of '审批' is never set, so the task could not start (the engine ignores "
            "<assignment>)") in problem and "remove it from the ioSpecification" in problem
    ok = body.format(pre='<scriptTask id="set"><script>TaskName = "审批"</script></scriptTask>', first="set",
                     link='<sequenceFlow id="f2" sourceRef="set" targetRef="t"/>')
    assert problems(write(tmp_path, "ok.bpmn", definitions(process("io", ok)))) == []


def test_multi_instance_without_collection_or_cardinality_is_refused(tmp_path):
    mi = """<startEvent id="s"/><userTask id="sign" name="会签"><multiInstanceLoopCharacteristics isSequential="false"
      xmlns:camunda="http://camunda.org/schema/1.0/bpmn" camunda:elementVariable="signer"/></userTask><endEvent id="e"/>
      <sequenceFlow id="f1" sourceRef="s" targetRef="sign"/><sequenceFlow id="f2" sourceRef="sign" targetRef="e"/>"""
    [problem] = problems(write(tmp_path, "mi.bpmn", definitions(process("mi", mi))))
    assert "sign: multi-instance '会签' has neither a loopCardinality nor an input collection" in problem
    fixed = mi.replace("/></userTask>", "><loopCardinality>3</loopCardinality></multiInstanceLoopCharacteristics></userTask>")
    assert problems(write(tmp_path, "mi3.bpmn", definitions(process("mi", fixed)))) == []
    camunda = mi.replace('camunda:elementVariable="signer"', 'camunda:collection="${signers}" camunda:elementVariable="signer"')
    assert problems(write(tmp_path, "mic.bpmn", definitions(process("mi", camunda)))) == []
    bad = mi.replace('camunda:elementVariable="signer"', 'camunda:collection="${a.b}"')
    [problem] = problems(write(tmp_path, "mib.bpmn", definitions(process("mi", bad))))
    assert "collection '${a.b}' must name one variable holding the list" in problem


@pytest.mark.parametrize("definition, kind", [
    ('<errorEventDefinition errorRef="Err_missing"/>', "error"),
    ('<messageEventDefinition messageRef="Msg_missing"/>', "message"),
    ('<signalEventDefinition signalRef="Sig_missing"/>', "signal"),
])
def test_dangling_event_references_name_the_missing_id(tmp_path, definition, kind):
    body = f"""<startEvent id="s"/><userTask id="t"/><boundaryEvent id="b" attachedToRef="t">{definition}</boundaryEvent>
      <endEvent id="e"/><endEvent id="e2"/><sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
      <sequenceFlow id="f2" sourceRef="t" targetRef="e"/><sequenceFlow id="f3" sourceRef="b" targetRef="e2"/>"""
    [problem] = problems(write(tmp_path, "ref.bpmn", definitions(process("refs", body))))
    ref = definition.split('"')[1]
    assert f": b: {kind}Ref '{ref}' names no <bpmn:{kind}> of this file: add <bpmn:{kind} id=\"{ref}\"/>" in problem


def test_a_signal_without_a_name_is_refused(tmp_path):
    body = """<startEvent id="s"/><intermediateCatchEvent id="wait"><signalEventDefinition signalRef="sig"/>
      </intermediateCatchEvent><endEvent id="e"/>
      <sequenceFlow id="f1" sourceRef="s" targetRef="wait"/><sequenceFlow id="f2" sourceRef="wait" targetRef="e"/>"""
    [problem] = problems(write(tmp_path, "sig.bpmn", definitions(process("signals", body), extra='<signal id="sig"/>')))
    assert 'wait: <bpmn:signal id="sig"> has no name, and the engine matches signals by name' in problem


def test_event_based_gateway_to_a_task_is_refused(tmp_path):
    body = """<startEvent id="s"/><eventBasedGateway id="g"/><serviceTask id="t"/><endEvent id="e"/>
      <sequenceFlow id="f1" sourceRef="s" targetRef="g"/><sequenceFlow id="f2" sourceRef="g" targetRef="t"/>
      <sequenceFlow id="f3" sourceRef="t" targetRef="e"/>"""
    [problem] = problems(write(tmp_path, "ebg.bpmn", definitions(process("ebg", body))))
    assert "g: event-based gateway 'g' leads to 't', which is not a catch event or receive task" in problem


# ------------------------------------------------------------------- migration

def test_a_database_at_revision_0001_is_upgraded_and_its_versions_still_show(tmp_path, sample_bpmn):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.migration import MigrationContext
    from pathlib import Path as _Path

    from engine import store
    url = f"sqlite:///{tmp_path / 'old.db'}"
    eng = store.make_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(_Path(store.__file__).parent / "migrations"))
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    eng.dispose()
    cli = CliHarness(url)
    r = cli("process list")
    assert r.exit_code != 0 and f"needs {store.SCHEMA_REVISION}: run `onetrip init` to upgrade" in r.stderr
    cli.ok("init")
    with store.make_engine(url).connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), store.Base.metadata) == []
    cli.ok("user add admin --role admin")
    v = cli.json(["process", "upload", str(sample_bpmn), "--label", "after"], user="admin")
    shown = cli.json(["process", "show", str(v["id"])])
    assert shown["files"] == [sample_bpmn.name] and shown["bindings"] == [] and shown["translations"] == []


def test_a_flowable_test_model_with_id_less_flows_is_counted_by_hand():
    from pathlib import Path
    path = (Path(__file__).parent / "interop" / "flowable" /
            "test_bpmn_event_message_MessageNonInterruptingBoundaryEventTest."
            "testSingleNonInterruptingBoundaryMessageEvent.bpmn20.xml")
    # task (1), then a non-interrupting message boundary: taskAfterTask and taskAfterMessage both run (2)
    assert steps(path) == [3]
    assert problems(path) == []


@pytest.mark.parametrize("kind, value, why", [
    ("timeDuration", "P99999999Y", "is more than 10 years away"),       # SpiffWorkflow would loop ~10⁹ times
    ("timeCycle", "R/P99999999Y", "is more than 10 years away"),
    ("timeDuration", "-P1D", "timer value '-P1D' is not ISO 8601 duration"),
    ("timeDuration", "None", "timer value None is not ISO 8601 text"),
    ("timeCycle", "R/PT1S", "repeats more often than once a minute"),
    ("timeCycle", "R100000/PT1H", "repeats more than 10,000 times"),
])
def test_upload_time_bounds_on_timers(tmp_path, kind, value, why):
    import time
    t0 = time.perf_counter()
    [problem] = problems(write(tmp_path, "t.bpmn", _timer(kind, value)))
    assert why in problem and time.perf_counter() - t0 < 5


@pytest.mark.parametrize("cardinality, why", [
    ("5000", "loop cardinality 5000 is over the limit of 1000 instances"),
    ("-1", "loop cardinality -1 is not a whole number of instances"),
    ("'many'", "loop cardinality 'many' is not a whole number of instances"),
])
def test_upload_time_bounds_on_multi_instance(tmp_path, cardinality, why):
    mi = f"""<startEvent id="s"/><userTask id="sign" name="会签"><multiInstanceLoopCharacteristics>
      <loopCardinality>{cardinality}</loopCardinality></multiInstanceLoopCharacteristics></userTask><endEvent id="e"/>
      <sequenceFlow id="f1" sourceRef="s" targetRef="sign"/><sequenceFlow id="f2" sourceRef="sign" targetRef="e"/>"""
    [problem] = problems(write(tmp_path, "mi.bpmn", definitions(process("mi", mi))))
    assert f"sign: multi-instance '会签': {why}" in problem


def test_link_catch_events_and_ad_hoc_children_need_no_incoming_flow(tmp_path):
    body = """<startEvent id="s"/><userTask id="a" name="甲"/><intermediateThrowEvent id="go">
      <linkEventDefinition name="L"/></intermediateThrowEvent>
      <intermediateCatchEvent id="land"><linkEventDefinition name="L"/></intermediateCatchEvent>
      <userTask id="b" name="乙"/><endEvent id="e"/>
      <sequenceFlow id="f1" sourceRef="s" targetRef="a"/><sequenceFlow id="f2" sourceRef="a" targetRef="go"/>
      <sequenceFlow id="f3" sourceRef="land" targetRef="b"/><sequenceFlow id="f4" sourceRef="b" targetRef="e"/>"""
    path = write(tmp_path, "link.bpmn", definitions(process("link", body)))
    assert problems(path) == [] and steps(path) == [2]
    adhoc = """<startEvent id="s"/><adHocSubProcess id="free"><userTask id="x" name="任选一"/>
      <userTask id="y" name="任选二"/></adHocSubProcess><endEvent id="e"/>
      <sequenceFlow id="f1" sourceRef="s" targetRef="free"/><sequenceFlow id="f2" sourceRef="free" targetRef="e"/>"""
    found = problems(write(tmp_path, "adhoc.bpmn", definitions(process("adhoc", adhoc))))
    assert not any("has no incoming flow" in p for p in found), found


def test_a_called_process_data_input_must_be_set_by_the_caller(tmp_path):
    main = write(tmp_path, "main.bpmn", MAIN)
    called = write(tmp_path, "called.bpmn", CALLED.replace(
        '<startEvent id="cs"/>', '<ioSpecification><dataInput id="applicant"/><inputSet><dataInputRefs>applicant'
                                 '</dataInputRefs></inputSet><outputSet/></ioSpecification><startEvent id="cs"/>'))
    [problem] = problems(main, library=[called])
    assert ("callCheck: data input 'applicant' of '核查' (process 'Check' requires it) is never set" in problem)
    fixed = write(tmp_path, "fixed.bpmn", MAIN.replace(
        '<userTask id="accept" name="受理"/>',
        '<scriptTask id="accept" name="受理"><script>applicant = "张三"</script></scriptTask>'))
    assert problems(fixed, library=[called]) == []


def test_the_throw_away_start_at_validate_is_bounded_in_time(tmp_path):
    import time
    flows = "".join(f'<sequenceFlow id="f{i}" sourceRef="s" targetRef="e"/>' for i in range(1500))
    path = write(tmp_path, "wide.bpmn", definitions(process("wide", '<startEvent id="s"/><endEvent id="e"/>' + flows)))
    t0 = time.perf_counter()
    assert problems(path) == []             # slow to start is not wrong: the real start has its own budget
    assert time.perf_counter() - t0 < compiler.DRY_RUN_SECONDS + 3


def test_spiffworkflows_own_event_subprocess_model_is_accepted_and_runs(tmp_path, office):
    from pathlib import Path
    path = Path(__file__).parent / "interop" / "spiff" / "tests_SpiffWorkflow_bpmn_data_event-subprocess.bpmn"
    assert problems(path) == []
    v = office.json(["process", "upload", str(path), "--label", "after", "--matter", "ESP"], user="李设计")
    assert v["executable"]
    case = office.json(["case", "start", "ESP"], user="王窗口")
    assert case["status"] == "open"


def test_a_timer_without_a_value_is_refused_in_our_words(tmp_path):
    body = """<startEvent id="s"/><intermediateCatchEvent id="wait" name="等待"><timerEventDefinition/>
      </intermediateCatchEvent><endEvent id="e"/>
      <sequenceFlow id="f1" sourceRef="s" targetRef="wait"/><sequenceFlow id="f2" sourceRef="wait" targetRef="e"/>"""
    [problem] = problems(write(tmp_path, "empty.bpmn", definitions(process("empty", body))))
    assert "wait: timer '等待' says neither when nor how long: give it a timeDuration (PT10M)" in problem


def test_a_flowable_countersign_collection_runs_one_instance_per_assignee(tmp_path):
    body = """<startEvent id="s"/>
      <userTask id="sign" name="会签" xmlns:flowable="http://flowable.org/bpmn" flowable:assignee="${assignee}">
        <multiInstanceLoopCharacteristics isSequential="false" flowable:collection="${assigneeList}"
                                          flowable:elementVariable="assignee"/></userTask>
      <endEvent id="e"/>
      <sequenceFlow id="f1" sourceRef="s" targetRef="sign"/><sequenceFlow id="f2" sourceRef="sign" targetRef="e"/>"""
    path = write(tmp_path, "countersign.bpmn20.xml", definitions(process("countersign", body)))
    assert problems(path) == []
    _, doc = bpmn_model.load_document(path)
    assert doc.translations[0]["python"] == "assigneeList (each item as assignee)"
    _, compiled, _ = compiler.compile_model(doc)
    model = runtime.spec_from_json(runtime.spec_to_json(compiled))
    wf = runtime.start(model, {"assigneeList": ["张科长", "李处长", "王局长"]})
    for _ in range(3):
        wf = runtime.copy_workflow(wf, model)
        ready = runtime.ready_tasks(wf)
        assert len(ready) == 3 - _
        runtime.complete(wf, ready[0].id, {"agree": True})
    assert wf.completed

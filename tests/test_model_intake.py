"""Bad models are refused with one clear line; models run exactly as drawn."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine import bpmn_model, compiler, runtime
from engine.errors import ModelError

SAMPLE = Path(__file__).parent / "data" / "residence_permit.bpmn"


def variant(tmp_path, old: str, new: str, name="variant.bpmn", count=1) -> Path:
    text = SAMPLE.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / name
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return path


def problems_of(path) -> list[str]:
    _, doc = bpmn_model.load_document(path)
    _, compiled, problems = compiler.compile_model(doc)
    assert (compiled is None) == bool(problems)
    return [str(p) for p in problems]


def test_sample_is_valid():
    assert problems_of(SAMPLE) == []


@pytest.mark.parametrize("content, expected", [
    (b"<bpmn:definitions", "not well-formed XML"),
    (b"", "file is empty"),
    (b"<html><body>hello</body></html>", "not a BPMN 2.0 file: root element is <html>"),
    (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><d>&x;</d>', "DOCTYPE and entity declarations"),
])
def test_unreadable_files_give_one_line_with_file_and_line(tmp_path, content, expected):
    path = tmp_path / "bad.bpmn"
    path.write_bytes(content)
    with pytest.raises(ModelError) as err:
        bpmn_model.load_document(path)
    line = str(err.value)
    assert line.startswith(str(path)) and expected in line and "\n" not in line


def test_missing_file():
    with pytest.raises(ModelError, match="no such file"):
        bpmn_model.load_document("/nonexistent/x.bpmn")


def test_not_executable(tmp_path):
    path = variant(tmp_path, 'isExecutable="true"', 'isExecutable="false"')
    [problem, *_] = problems_of(path)
    assert problem.startswith(f"{path}:6: Process_JZZ_sample: process is not executable")


def test_flow_without_condition_out_of_gateway(tmp_path):
    path = variant(tmp_path, ' default="Flow_OK"', "")
    [problem] = problems_of(path)
    assert problem == (f"{path}:103: Flow_OK: flow out of gateway 'Gateway_Review' has no condition and is "
                       f"not its default flow: the engine could not choose it")


def test_camunda_juel_condition_outside_the_subset_is_refused_with_the_fix(tmp_path):
    path = variant(tmp_path, ">returned<", ">${execution.getVariable('returned')}<")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:104: Flow_Return: conditionExpression \"${{execution.getVariable('returned')}}\": "
                              f"a method call (.getVariable(...)) is outside the JUEL subset")
    assert "write the condition as a Python expression over the task data" in problem


def test_reserved_element_id(tmp_path):
    path = variant(tmp_path, "StartEvent_1", "Start", count=-1)
    problems = problems_of(path)
    assert any("element id 'Start' is reserved by the engine" in p for p in problems)


def test_disconnected_task(tmp_path):
    path = variant(tmp_path, '<bpmn:endEvent id="EndEvent_1"',
                   '<bpmn:userTask id="Orphan" name="孤立环节" />\n    <bpmn:endEvent id="EndEvent_1"')
    assert any("Orphan: '孤立环节' has no incoming flow: it would never run" in p for p in problems_of(path))


def test_condition_on_flow_out_of_a_task(tmp_path):
    path = variant(tmp_path, '<bpmn:sequenceFlow id="Flow_4" sourceRef="Issue" targetRef="Deliver" />',
                   '<bpmn:sequenceFlow id="Flow_4" sourceRef="Issue" targetRef="Deliver">'
                   '<bpmn:conditionExpression>ok</bpmn:conditionExpression></bpmn:sequenceFlow>')
    assert any("conditional flow out of an activity is not supported" in p for p in problems_of(path))


def test_run_round_trips_through_the_serializer_at_every_step():
    """Like SpiffWorkflow's own save_restore: every step goes through dump/load."""
    _, doc = bpmn_model.load_document(SAMPLE)
    _, compiled, _ = compiler.compile_model(doc)
    model = runtime.spec_from_json(runtime.spec_to_json(compiled))
    wf = runtime.start(model, {"applicant": "张三"})
    done, returned = [], False
    while not wf.completed:
        wf = runtime.copy_workflow(wf, model)
        [task] = runtime.ready_tasks(wf)
        send_back = task.spec_name == "Review" and not returned
        returned = returned or send_back
        runtime.complete(wf, task.id, {"returned": send_back})
        done.append(task.spec_name)
    assert done == ["Accept", "Review", "Supplement", "Review", "Issue", "Deliver"]
    assert wf.last_task.data["applicant"] == "张三"


def test_loop_of_automated_steps_is_refused(tmp_path):
    # the correction loop made automatic: a service task instead of the applicant's supplement step
    path = variant(tmp_path, '<bpmn:userTask id="Supplement" name="补正材料">', '<bpmn:serviceTask id="Supplement" name="补正材料">')
    path.write_text(path.read_text(encoding="utf-8").replace(
        '</bpmn:userTask>\n    <bpmn:userTask id="Issue"', '</bpmn:serviceTask>\n    <bpmn:userTask id="Issue"'),
        encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    # Review → gateway → Supplement → Review has a human step (Review): allowed.
    assert not any("loop of automated steps" in p for p in problems_of(path))
    path.write_text(text.replace('<bpmn:userTask id="Review" name="审核">', '<bpmn:scriptTask id="Review" name="审核">')
                    .replace('</bpmn:userTask>\n    <bpmn:exclusiveGateway', '</bpmn:scriptTask>\n    <bpmn:exclusiveGateway'),
                    encoding="utf-8")
    assert any("loop of automated steps with no human task or timer" in p for p in problems_of(path))


def test_timer_expression_is_checked_at_upload(tmp_path):
    path = variant(tmp_path, '<bpmn:userTask id="Issue" name="制证">',
                   '<bpmn:intermediateCatchEvent id="Wait" name="等待"><bpmn:incoming>Flow_OK</bpmn:incoming>'
                   '<bpmn:outgoing>Flow_W</bpmn:outgoing><bpmn:timerEventDefinition><bpmn:timeDuration>'
                   '().__class__</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
                   '<bpmn:sequenceFlow id="Flow_W" sourceRef="Wait" targetRef="Issue" />'
                   '<bpmn:userTask id="Issue" name="制证">')
    path.write_text(path.read_text(encoding="utf-8").replace('targetRef="Issue" />\n    <bpmn:sequenceFlow id="Flow_Return"',
                                                             'targetRef="Wait" />\n    <bpmn:sequenceFlow id="Flow_Return"'),
                    encoding="utf-8")
    problems = problems_of(path)
    assert any("Wait: timer '().__class__' is neither ISO 8601 nor a Python expression" in p for p in problems), problems


def test_bad_limits_in_environment():
    from engine.config import Settings
    from engine.errors import ConfigError
    with pytest.raises(ConfigError, match="ONETRIP_MAX_BPMN_BYTES='ten': expected a positive whole number"):
        Settings.from_env(env={"ONETRIP_MAX_BPMN_BYTES": "ten"})
    assert Settings.from_env(env={"ONETRIP_MAX_XML_DEPTH": "64"}).max_xml_depth == 64

"""The domain rules that have one home (engine/annotations.py, casework.is_overdue, engine/writers.py)
read alike wherever they are applied."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

import pytest

from engine import annotations, casework, writers
from engine.bpmn_model import load_bytes
from engine.catalog import onsite_steps


@pytest.mark.parametrize("props, onsite, step, stop", [
    ({}, False, True, False),
    ({"onsite": "true", "clock": "stop"}, True, True, True),
    ({"onsite": "是", "step": "否", "clock": " Stop "}, True, False, True),
    ({"onsite": "maybe", "step": "maybe", "clock": "go"}, False, True, False),
])
def test_annotation_rules(props, onsite, step, stop):
    assert (annotations.is_onsite(props), annotations.counts_as_step(props),
            annotations.is_clock_stop(props)) == (onsite, step, stop)


def test_the_catalog_counts_onsite_steps_as_the_model_does():
    xml = b"""<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
      xmlns:camunda="http://camunda.org/schema/1.0/bpmn" targetNamespace="t"><process id="p">
      <userTask id="a"><extensionElements><camunda:properties>
        <camunda:property name="onsite" value="\xe6\x98\xaf"/></camunda:properties></extensionElements></userTask>
      <userTask id="b"><extensionElements><camunda:properties><camunda:property name="onsite" value="true"/>
        <camunda:property name="step" value="false"/></camunda:properties></extensionElements></userTask>
      <userTask id="c"/></process></definitions>"""
    [process] = load_bytes(xml, "t.bpmn").processes
    assert onsite_steps(process) == [n.id for n in process.walk() if n.onsite and n.counts_as_step] == ["a"]


@pytest.mark.parametrize("due, today, completed, overdue", [
    (None, date(2026, 3, 9), None, False),
    (date(2026, 3, 6), date(2026, 3, 6), None, False),          # due today: not yet
    (date(2026, 3, 6), date(2026, 3, 9), None, True),
    (date(2026, 3, 6), date(2026, 3, 9), datetime(2026, 3, 5, 17), False),   # finished in time
    (date(2026, 3, 6), date(2026, 3, 6), datetime(2026, 3, 9, 9), True),    # finished late
])
def test_overdue_rule(due, today, completed, overdue):
    assert casework.is_overdue(due, today, completed) is overdue


def test_writers():
    assert json.loads(writers.json_text({"名": date(2026, 3, 2)})) == {"名": "2026-03-02"}
    assert "名" in writers.json_text({"名": 1})
    text = writers.csv_text([["事项", "a,b"], ["1", "x"]])
    assert text.startswith("\ufeff") and text.endswith("\r\n")
    assert list(csv.reader(io.StringIO(text[1:]))) == [["事项", "a,b"], ["1", "x"]]

"""Small BPMN models for the limit tests: a chain of steps in one lane, written as text."""
from __future__ import annotations

from xml.sax.saxutils import escape

LANE = "综合窗口"

_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
         '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
         'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
         'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs_{code}" '
         'targetNamespace="http://onetrip.test">\n')


def user(id_: str, name: str) -> tuple[str, str, str]:
    return ("userTask", id_, f' name="{escape(name)}"'), ""


def node(tag: str, id_: str, name: str = "", inner: str = "", attrs: str = "") -> tuple:
    head = f' name="{escape(name)}"' if name else ""
    return (tag, id_, head + attrs), inner


def script(id_: str, source: str, attrs: str = "", inner: str = "") -> tuple:
    return node("scriptTask", id_, "脚本", inner + f"<bpmn:script>{escape(source)}</bpmn:script>", attrs)


def timer(id_: str, kind: str, expression: str) -> tuple:
    return node("intermediateCatchEvent", id_, "等待",
                f'<bpmn:timerEventDefinition id="{id_}_Def"><bpmn:{kind} xsi:type="bpmn:tFormalExpression">'
                f'{escape(expression)}</bpmn:{kind}></bpmn:timerEventDefinition>')


def chain(code: str, steps: list[tuple], extra: str = "", extra_nodes: tuple[str, ...] = (),
          promised: int = 5) -> str:
    """start → steps... → end, every node in the lane :data:`LANE`; ``extra`` is more process XML
    (boundary events and what follows them, with their flows), ``extra_nodes`` the ids of its nodes."""
    ids = ["Start_1"] + [s[0][1] for s in steps] + ["End_1"]
    flows = [(f"Flow_{i}", a, b) for i, (a, b) in enumerate(zip(ids, ids[1:]), 1)]
    out = [_HEAD.format(code=code),
           f'  <bpmn:process id="Process_{code}" name="限额{code}" isExecutable="true">\n'
           '    <bpmn:extensionElements><camunda:properties>'
           f'<camunda:property name="matter_code" value="{code}" />'
           f'<camunda:property name="promised_workdays" value="{promised}" />'
           '</camunda:properties></bpmn:extensionElements>\n']
    out.append('    <bpmn:laneSet id="LaneSet_1"><bpmn:lane id="Lane_1" name="' + LANE + '">'
               + "".join(f"<bpmn:flowNodeRef>{i}</bpmn:flowNodeRef>" for i in ids + list(extra_nodes))
               + "</bpmn:lane></bpmn:laneSet>\n")
    out.append('    <bpmn:startEvent id="Start_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>\n')
    for i, ((tag, id_, attrs), inner) in enumerate(steps, 1):
        out.append(f'    <bpmn:{tag} id="{id_}"{attrs}><bpmn:incoming>Flow_{i}</bpmn:incoming>'
                   f'<bpmn:outgoing>Flow_{i + 1}</bpmn:outgoing>{inner}</bpmn:{tag}>\n')
    out.append(f'    <bpmn:endEvent id="End_1"><bpmn:incoming>Flow_{len(ids) - 1}</bpmn:incoming></bpmn:endEvent>\n')
    for fid, a, b in flows:
        out.append(f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{a}" targetRef="{b}" />\n')
    out.append(extra)
    out.append("  </bpmn:process>\n</bpmn:definitions>\n")
    return "".join(out)

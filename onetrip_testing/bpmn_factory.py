"""Build small BPMN documents for tests (camunda properties, lanes, a linear flow)."""
from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n'
          '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
          'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
          'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs" '
          'targetNamespace="http://onetrip.test">\n')


def _props(props: dict) -> str:
    if not props:
        return ""
    inner = "".join(f'<camunda:property name={quoteattr(k)} value={quoteattr(str(v))}/>' for k, v in props.items())
    return f"<bpmn:extensionElements><camunda:properties>{inner}</camunda:properties></bpmn:extensionElements>"


@dataclass
class Step:
    name: str
    lane: str = "综合窗口"
    onsite: bool = False
    workdays: int | None = None
    materials: list[str] = field(default_factory=list)
    step: bool = True

    def props(self) -> dict:
        p = {} if self.step else {"step": "false"}
        if self.onsite:
            p["onsite"] = "true"
        if self.workdays is not None:
            p["workdays"] = self.workdays
        if self.materials:
            p["materials"] = ",".join(self.materials)
        return p


def linear_model(code: str, name: str, steps: list[Step], *, statutory: int | None = None,
                 promised: int | None = None, label: str = "v") -> str:
    """A start → steps → end process of user tasks, in lanes by department."""
    pid = f"Process_{code}_{label}"
    process_props = {"matter_code": code}
    if statutory is not None:
        process_props["statutory_workdays"] = statutory
    if promised is not None:
        process_props["promised_workdays"] = promised
    ids = ["StartEvent_1"] + [f"Task_{i}" for i in range(len(steps))] + ["EndEvent_1"]
    lanes: dict[str, list[str]] = {}
    for task_id, step in zip(ids[1:-1], steps):
        lanes.setdefault(step.lane, []).append(task_id)
    first_lane = steps[0].lane if steps else "综合窗口"
    lanes.setdefault(first_lane, [])
    lanes[first_lane] = ["StartEvent_1", *lanes[first_lane], "EndEvent_1"]
    parts = [HEADER, f'<bpmn:process id="{pid}" name={quoteattr(name)} isExecutable="true">',
             _props(process_props), '<bpmn:laneSet id="LaneSet_1">']
    for i, (lane, members) in enumerate(lanes.items()):
        refs = "".join(f"<bpmn:flowNodeRef>{m}</bpmn:flowNodeRef>" for m in members)
        parts.append(f'<bpmn:lane id="Lane_{i}" name={quoteattr(lane)}>{refs}</bpmn:lane>')
    parts.append("</bpmn:laneSet>")
    parts.append('<bpmn:startEvent id="StartEvent_1"/>')
    for task_id, step in zip(ids[1:-1], steps):
        parts.append(f'<bpmn:userTask id="{task_id}" name={quoteattr(step.name)}>{_props(step.props())}</bpmn:userTask>')
    parts.append('<bpmn:endEvent id="EndEvent_1"/>')
    for i, (a, b) in enumerate(zip(ids, ids[1:])):
        parts.append(f'<bpmn:sequenceFlow id="Flow_{i}" sourceRef="{a}" targetRef="{b}"/>')
    parts.append("</bpmn:process></bpmn:definitions>\n")
    return "\n".join(parts)


def matter_steps(n_steps: int, visits: int, materials: int, prefix: str = "m") -> list[Step]:
    """n steps, the first `visits` onsite, all materials asked at the first step."""
    return [Step(name=f"环节{i + 1}", lane="综合窗口" if i == 0 else "审批科室", onsite=i < visits,
                 materials=[f"{prefix}{k}" for k in range(materials)] if i == 0 else [])
            for i in range(n_steps)]

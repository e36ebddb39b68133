"""Tests for engine.analysis: static 四减一优 metrics and findings of BPMN models.

Models are written in a small shorthand (see :func:`process_xml`) and rendered
to real BPMN XML, then read by engine.bpmn_model exactly like an upload:

* flows ``"S>A>X1; X1>B>E"``: chains separated by ``;``; ``>~B`` marks the
  default flow of its source;
* node kinds by id: ``S``/``S1`` start event, ``E``/``E2`` end event, ``X1``
  exclusive, ``P1`` parallel, ``O1`` inclusive, ``V1`` event-based gateway;
  any other id is a userTask unless ``tags`` says otherwise.

Expected figures are computed by hand in the comments: ``A(1)`` means task A
with 1 working day; ``*`` marks an onsite task.
"""
from __future__ import annotations

import json
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.analysis import (Finding, ProcessMetrics, analyze_document, analyze_path, analyze_process,
                             bundle_materials, version_metrics)
from engine.bpmn_model import CAMUNDA_NS, SPIFF_NS, ZEEBE_NS, load_bytes

DATA = Path(__file__).parent / "data"
FIXTURES = DATA / "analysis"
NAMESPACES = {"camunda": CAMUNDA_NS, "zeebe": ZEEBE_NS, "spiffworkflow": SPIFF_NS}
PREFIX_TAGS = {"S": "startEvent", "E": "endEvent", "X": "exclusiveGateway", "P": "parallelGateway",
               "O": "inclusiveGateway", "V": "eventBasedGateway"}
NODE_ID = re.compile(r"^([SE])\d*$|^([XPOV])\d+$")


# ------------------------------------------------------------------ shorthand

@dataclass
class Spec:
    """One process in shorthand; every dict is keyed by node (or data) id."""
    flows: str
    props: dict[str, dict] = field(default_factory=dict)       # node id -> annotation properties
    tags: dict[str, str] = field(default_factory=dict)         # node id -> BPMN tag
    attrs: dict[str, dict] = field(default_factory=dict)       # node id -> extra XML attributes
    inner: dict[str, str] = field(default_factory=dict)        # sub-process id -> its flows
    inputs: dict[str, str] = field(default_factory=dict)       # node id -> "data ids" it reads
    outputs: dict[str, str] = field(default_factory=dict)      # node id -> "data ids" it writes
    children: dict[str, str] = field(default_factory=dict)     # node id -> raw child XML (event definitions)
    data: dict[str, dict] = field(default_factory=dict)        # data id -> {source, name, ref, tag}
    lanes: dict[str, str] = field(default_factory=dict)        # lane name -> "node ids"
    pprops: dict[str, object] = field(default_factory=dict)    # process properties
    pid: str = "P"
    ns: str = "camunda"
    executable: bool = False


def _props_xml(props: dict, ns: str) -> str:
    if not props:
        return ""
    body = "".join(f'<{ns}:property name="{k}" value="{v}"/>' for k, v in props.items())
    return f"<bpmn:extensionElements><{ns}:properties>{body}</{ns}:properties></bpmn:extensionElements>"


def _edges(flows: str) -> tuple[list[tuple[str, str, bool]], list[str]]:
    """Flows (source, target, is_default) and every node id, in order (a lone id is a node without flows)."""
    edges, ids = [], []
    for chain in filter(None, (c.strip() for c in flows.split(";"))):
        chain_ids = [i.strip() for i in chain.split(">")]
        edges += [(a.lstrip("~"), b.lstrip("~"), b.startswith("~")) for a, b in zip(chain_ids, chain_ids[1:])]
        ids += [i.lstrip("~") for i in chain_ids]
    return edges, list(dict.fromkeys(ids))


def _tag(nid: str, spec: Spec) -> str:
    if nid in spec.tags:
        return spec.tags[nid]
    if nid in spec.inner:
        return "subProcess"
    m = NODE_ID.match(nid)
    return PREFIX_TAGS[(m.group(1) or m.group(2))[0]] if m else "userTask"


def _graph_xml(flows: str, spec: Spec, prefix: str) -> str:
    edges, ids = _edges(flows)
    ids += [n for n, a in spec.attrs.items() if "attachedToRef" in a and a["attachedToRef"] in ids
            and n not in ids]
    defaults = {a: f"{prefix}{a}_{b}" for a, b, is_default in edges if is_default}
    out = []
    for nid in ids:
        tag = _tag(nid, spec)
        attrs = dict(spec.attrs.get(nid, {}))
        if nid in defaults:
            attrs["default"] = defaults[nid]
        attr_xml = "".join(f' {k}="{v}"' for k, v in attrs.items())
        body = _props_xml(spec.props.get(nid, {}), spec.ns) + spec.children.get(nid, "")
        body += "".join(f"<bpmn:dataInputAssociation><bpmn:sourceRef>{d}</bpmn:sourceRef>"
                        f"</bpmn:dataInputAssociation>" for d in spec.inputs.get(nid, "").split())
        body += "".join(f"<bpmn:dataOutputAssociation><bpmn:targetRef>{d}</bpmn:targetRef>"
                        f"</bpmn:dataOutputAssociation>" for d in spec.outputs.get(nid, "").split())
        if nid in spec.inner:
            body += _graph_xml(spec.inner[nid], spec, f"{prefix}{nid}_")
        out.append(f'<bpmn:{tag} id="{nid}" name="{nid}名"{attr_xml}>{body}</bpmn:{tag}>')
    out += [f'<bpmn:sequenceFlow id="{prefix}{a}_{b}" sourceRef="{a}" targetRef="{b}"/>' for a, b, _ in edges]
    return "".join(out)


def _data_xml(spec: Spec) -> str:
    out = []
    for did, d in spec.data.items():
        tag = d.get("tag") or ("dataObjectReference" if "ref" in d else "dataObject")
        ref = f' dataObjectRef="{d["ref"]}"' if "ref" in d else ""
        name = f' name="{d["name"]}"' if "name" in d else ""
        props = _props_xml({"source": d["source"]} if "source" in d else {}, spec.ns)
        out.append(f'<bpmn:{tag} id="{did}"{name}{ref}>{props}</bpmn:{tag}>')
    return "".join(out)


def process_xml(spec: Spec) -> str:
    lanes = "".join(f'<bpmn:lane id="Lane_{i}" name="{name}">'
                    + "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in members.split())
                    + "</bpmn:lane>" for i, (name, members) in enumerate(spec.lanes.items()))
    lanes = f'<bpmn:laneSet id="LS_{spec.pid}">{lanes}</bpmn:laneSet>' if lanes else ""
    return (f'<bpmn:process id="{spec.pid}" name="{spec.pid}名" isExecutable="{str(spec.executable).lower()}">'
            f"{_props_xml(spec.pprops, spec.ns)}{lanes}{_data_xml(spec)}{_graph_xml(spec.flows, spec, '')}"
            f"</bpmn:process>")


def document(*specs: Spec, head: str = "") -> bytes:
    ns_decl = " ".join(f'xmlns:{k}="{v}"' for k, v in NAMESPACES.items())
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
            f'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {ns_decl} id="D" '
            f'targetNamespace="http://example.org">{head}{"".join(process_xml(s) for s in specs)}'
            f"</bpmn:definitions>").encode()


def analyze(spec: Spec, *others: Spec) -> ProcessMetrics:
    doc = load_bytes(document(spec, *others), "test.bpmn")
    return analyze_process(doc, doc.process(spec.pid))


def kinds(metrics: ProcessMetrics) -> list[tuple[str, str | None]]:
    return [(f.kind, f.element) for f in metrics.findings]


def figures(m: ProcessMetrics) -> tuple:
    return m.steps, m.visits, m.promised_workdays


def wd(days: str, onsite: str = "") -> dict[str, dict]:
    """``wd("A=1 B=5", "B")``: workdays per task, and the onsite tasks."""
    props = {task: {"workdays": n} for task, n in (item.split("=") for item in days.split())}
    for task in onsite.split():
        props.setdefault(task, {})["onsite"] = "true"
    return props


# ------------------------------------------------------------------ shapes

SHAPES = {
    # A*(1) > B(2) > C*(3): steps 1+1+1 = 3, visits A,C = 2, days 1+2+3 = 6
    "linear": (Spec("S>A>B>C>E", wd("A=1 B=2 C=3", "A C")), (3, 2, 6.0)),
    # A(1) > [B*(5) || C*(2) > D(2)] > F(1): steps 1+(1+2)+1 = 5; visits B+C = 2;
    # days 1 + max(5, 2+2) + 1 = 7
    "parallel": (Spec("S>A>P1; P1>B>P2; P1>C>D>P2; P2>F>E", wd("A=1 B=5 C=2 D=2 F=1", "B C")), (5, 2, 7.0)),
    # A(1) > [B*(5) | C*(2) > D*(2)] > F(1): steps 1+max(1, 2)+1 = 4; visits max(1, 2) = 2;
    # days 1 + max(5, 4) + 1 = 7
    "exclusive": (Spec("S>A>X1; X1>B>X2; X1>C>D>X2; X2>F>E", wd("A=1 B=5 C=2 D=2 F=1", "B C D")), (4, 2, 7.0)),
    # inclusive: all branches may run, like parallel: 1+(1+2)+1 = 5; days 1+max(5,4)+1 = 7
    "inclusive": (Spec("S>A>O1; O1>B>O2; O1>C>D>O2; O2>F>E", wd("A=1 B=5 C=2 D=2 F=1", "B C")), (5, 2, 7.0)),
    # inclusive with default B: B only when neither C nor D branch runs:
    # steps A + max(C + D, B) + F = 1 + max(2, 1) + 1 = 4; visits max(C*+D*, B*) = 2;
    # days 1 + max(5, 2, 2) + 1 = 7
    "inclusive_default": (Spec("S>A>O1; O1>~B>O2; O1>C>O2; O1>D>O2; O2>F>E", wd("A=1 B=5 C=2 D=2 F=1", "B C D")),
                          (4, 2, 7.0)),
    # A(1) > [B*(10) | (C*(2) || D*(1) > F(1))] > G(1)
    # steps 1 + max(1, 1+2) + 1 = 5; visits max(1, 2) = 2; days 1 + max(10, max(2, 2)) + 1 = 12
    "parallel_in_exclusive": (Spec("S>A>X1; X1>B>X2; X1>P1; P1>C>P2; P1>D>F>P2; P2>X2; X2>G>E",
                                   wd("A=1 B=10 C=2 D=1 F=1 G=1", "B C D")), (5, 2, 12.0)),
    # [A(5) || (B*(1) | C*(2) > D*(2))] > F(1)
    # steps 1 + max(1, 2) + 1 = 4; visits 0 + max(1, 2) = 2; days max(5, max(1, 4)) + 1 = 6
    "exclusive_in_parallel": (Spec("S>P1; P1>A>P2; P1>X1; X1>B>X2; X1>C>D>X2; X2>P2; P2>F>E",
                                   wd("A=5 B=1 C=2 D=2 F=1", "B C D")), (4, 2, 6.0)),
    # two parallel branches that never join (each to its own end): 1 + (1 + 1) = 3; days 1+max(2,3) = 4
    "parallel_no_join": (Spec("S>A>P1; P1>B>E1; P1>C>E2", wd("A=1 B=2 C=3")), (3, 0, 4.0)),
    # implicit parallel split: a task with two unconditioned outgoing flows runs both: A + B + C = 3
    "implicit_split": (Spec("S>A>B>P1; A>C>P1; P1>E", wd("A=1 B=2 C=3")), (3, 0, 4.0)),
    # two start events are alternative channels: max(A*(1), B(2) > C(3)) = 2 steps, 1 visit, 5 days
    "two_starts": (Spec("S1>A>X1; S2>B>C>X1; X1>E", wd("A=1 B=2 C=3", "A")), (2, 1, 5.0)),
    # no start event (descriptive model): A and B have no incoming flow, both run: 2 steps + C = 3
    "implicit_start": (Spec("A>C>E; B>C", wd("A=1 B=2 C=3")), (3, 0, 5.0)),
    # event-based gateway: alternatives. A + max(B, C + D) = 3; days 1 + max(2, 2) = 3
    "event_based": (Spec("S>A>V1; V1>B>E; V1>T1>C>D>E", wd("A=1 B=2 C=1 D=1"), tags={"T1": "intermediateCatchEvent"}),
                    (3, 0, 3.0)),
    # correction loop: A(1) > B(2) > X1 > C(1) > E, X1 > R*(10) > A (back edge). R is a dead end once the
    # loop is cut, so it is on no start-to-end path: steps 3, visits 0, days 4
    "loop": (Spec("S>A>B>X1; X1>C>E; X1>R>A", wd("A=1 B=2 C=1 R=10", "R")), (3, 0, 4.0)),
    # loop back into a merge gateway before the review, correction drawn as a forward path:
    # A > X0 > B > X1 > C > E; X1 > R > X0 (back edge): same figures
    "loop_to_merge": (Spec("S>A>X0; X0>B>X1; X1>C>E; X1>R>X0", wd("A=1 B=2 C=1 R=10", "R"),
                           tags={"X0": "exclusiveGateway"}), (3, 0, 4.0)),
    # embedded sub-process: A(1) > Sub[C(1) > (D*(2) || F(3))] > B(1); the sub-process is no step:
    # steps 1 + (1 + 1 + 1) + 1 = 5; visits 1; days 1 + (1 + max(2, 3)) + 1 = 6
    "subprocess": (Spec("S>A>Sub>B>E", wd("A=1 B=1 C=1 D=2 F=3", "D"), inner={"Sub": "S9>C>P1; P1>D>P2; P1>F>P2; P2>E9"}),
                   (5, 1, 6.0)),
    # sub-process inside a parallel branch: [A(4) || Sub[B(1) > C(2)]] > D(1): steps 4, days max(4, 3) + 1 = 5
    "subprocess_in_parallel": (Spec("S>P1; P1>A>P2; P1>Sub>P2; P2>D>E", wd("A=4 B=1 C=2 D=1"),
                                    inner={"Sub": "S9>B>C>E9"}), (4, 0, 5.0)),
    # interrupting boundary timer on A: after A either B(2) or (R1*(1) > R2*(1)):
    # steps 1 + max(1, 2) = 3; visits max(0, 2) = 2; days 1 + max(2, 2) = 3
    "boundary": (Spec("S>A>B>E; T>R1>R2>E2", wd("A=1 B=2 R1=1 R2=1", "R1 R2"),
                      tags={"T": "boundaryEvent"}, attrs={"T": {"attachedToRef": "A"}}), (3, 2, 3.0)),
    # non-interrupting boundary: both happen: steps 1 + 1 + 2 = 4; visits 2; days 1 + max(2, 2) = 3
    "boundary_non_interrupting": (Spec("S>A>B>E; T>R1>R2>E2", wd("A=1 B=2 R1=1 R2=1", "R1 R2"), tags={"T": "boundaryEvent"},
                                       attrs={"T": {"attachedToRef": "A", "cancelActivity": "false"}}), (4, 2, 3.0)),
    # link events: A > throw "L" ... catch "L" > B: one path, 2 steps, 3 days
    "link_events": (Spec("S>A>L1; L2>B>E", wd("A=1 B=2"),
                         tags={"L1": "intermediateThrowEvent", "L2": "intermediateCatchEvent"},
                         children=dict.fromkeys(("L1", "L2"), '<bpmn:linkEventDefinition name="L"/>')),
                    (2, 0, 3.0)),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_shape_metrics(shape):
    spec, expected = SHAPES[shape]
    m = analyze(spec)
    assert figures(m) == expected
    assert m.promised_derived is True
    assert m.online is (expected[1] == 0)
    assert not [f for f in m.findings if f.kind in ("unreachable", "no_complete_path", "unresolved_call")]


def test_unstructured_parallel_counts_shared_tail_per_branch():
    # P1 > A > J (parallel join) and P1 > B > X1, where X1 either joins J or ends at E2: the branches
    # have no common join (J does not post-dominate P1), so the tail C after J is counted for each
    # branch reaching it: A + C + B + max(C, 0) = 4 steps, an upper bound (documented fallback).
    # Days are a longest path: A(1) + C(1) = B(1) + C(1) = 2.
    m = analyze(Spec("S>P1; P1>A>J; P1>B>X1; X1>J; X1>E2; J>C>E", wd("A=1 B=1 C=1"),
                     tags={"J": "parallelGateway"}))
    assert (m.steps, m.promised_workdays) == (4, 2.0)


def test_unreadable_file_is_a_model_error(tmp_path):
    from engine.errors import ModelError
    with pytest.raises(ModelError, match="no such file"):
        analyze_path(tmp_path / "missing.bpmn")
    (tmp_path / "empty.bpmn").write_bytes(document())
    with pytest.raises(ModelError, match="no bpmn:process"):
        analyze_path(tmp_path / "empty.bpmn")


def test_loop_dead_end_is_not_counted_but_is_a_task():
    m = analyze(SHAPES["loop"][0])
    assert m.tasks_total == 4          # A, B, C and the correction step R
    assert "unreachable" not in {f.kind for f in m.findings}   # a correction loop is normal


def test_residence_permit_sample():
    # Accept*(1) > Review(5) > X > Issue(1) > Deliver*; X > Supplement* > Review is the correction loop:
    # the back edge is Supplement > Review, so Supplement is a dead end and not on a start-to-end path.
    # steps Accept, Review, Issue, Deliver = 4; visits Accept, Deliver = 2; promised 7 annotated.
    (m,) = analyze_path(DATA / "residence_permit.bpmn")
    assert (m.process_id, m.name, m.matter_code) == ("Process_JZZ_sample", "居住证办理", "JZZSAMPLE")
    assert (m.steps, m.visits, m.materials, m.tasks_total) == (4, 2, 3, 5)
    assert (m.promised_workdays, m.promised_derived, m.statutory_workdays, m.online) == (7.0, False, 15.0, False)
    assert m.lanes == ["公安局", "政务服务中心综合窗口"]
    # id_card is the reference the step cites (its data object DataObject_id_card is the same material)
    assert m.applicant_materials == ["id_card", "photo", "residence_proof"]
    assert m.material_names == {"id_card": "居民身份证"}
    assert m.task_materials == {"Accept": ["id_card", "photo", "residence_proof"]}
    # Accept is an intake step (Review depends on its file); Issue > Deliver has no declared dependency.
    assert kinds(m) == [("onsite_could_be_online", "Supplement"), ("onsite_could_be_online", "Deliver"),
                        ("could_parallelize", "Deliver")]
    assert "领证 (Deliver)" in m.findings[1].message


def test_multiple_pools_analyze_the_matter_and_ignore_message_flows():
    # Gov: Accept*(1) > Register(4) > Notify (sendTask, no step): steps 2, visits 1, days 5 derived.
    (m,) = analyze_path(FIXTURES / "collaboration.bpmn")
    assert (m.process_id, m.name, m.matter_code) == ("Gov", "不动产登记", "BDC001")
    assert (m.steps, m.visits, m.tasks_total) == (2, 1, 3)
    assert (m.promised_workdays, m.promised_derived, m.statutory_workdays) == (5.0, True, 30.0)
    assert m.applicant_materials == ["contract", "id_card"]     # the applicant pool's "deed" is not the matter's
    assert m.findings == []


def test_call_activity_expands_processes_of_the_same_file():
    # Accept(1) > JointReview > JointReview > Seal (calls a process of another file: 0, finding)
    # JointReview = Quick(1) | Full1(2) > Full2(1): steps max(1, 2) = 2, days max(1, 3) = 3
    # steps 1 + 2 + 2 = 5; days 1 + 3 + 3 = 7; tasks Accept, Quick, Full1, Full2 = 4 (each once)
    (m,) = analyze_path(FIXTURES / "call_activity.bpmn")
    assert (m.process_id, m.steps, m.visits, m.tasks_total) == ("Main", 5, 0, 4)
    assert (m.promised_workdays, m.promised_derived) == (7.0, True)
    assert kinds(m) == [("unresolved_call", "Seal")]
    assert "'SealProcess'" in m.findings[0].message


def test_recursive_call_is_cut():
    # Main: A(1) > Call(Child); Child: B(1) > Call(Main) -> recursion cut: steps A + B = 2
    main = Spec("S>A>C1>E", wd("A=1"), tags={"C1": "callActivity"}, attrs={"C1": {"calledElement": "Child"}},
                pprops={"matter_code": "M1"}, pid="Main")
    child = Spec("S2>B>C2>E2", wd("B=1"), tags={"C2": "callActivity"}, attrs={"C2": {"calledElement": "Main"}},
                 pid="Child")
    m = analyze(main, child)
    assert (m.steps, m.tasks_total, m.promised_workdays) == (2, 2, 2.0)
    assert kinds(m) == [("recursive_call", "C2")]


# ------------------------------------------------------------------ namespaces

NAMESPACE_SPEC = dict(
    flows="S>A>P1; P1>B>P2; P1>C>P2; P2>D>E",
    props={"A": {"onsite": "true", "workdays": 1, "materials": "id_card,form"},
           "B": {"workdays": 3, "step": "false"}, "C": {"workdays": 2, "materials": "form"},
           "D": {"onsite": "是", "workdays": "0.5", "clock": "stop"}},
    inputs={"C": "hukou"}, data={"hukou": {"source": "shared", "name": "户口簿"}},
    lanes={"窗口": "A D", "公安": "B C"},
    pprops={"matter_code": "NS1", "statutory_workdays": 20, "promised_workdays": 5})


def test_property_namespaces_give_identical_metrics():
    results = {ns: version_metrics(*_doc_and_process(Spec(**NAMESPACE_SPEC, ns=ns))) for ns in NAMESPACES}
    # steps A, C, D = 3 (B is step=false); visits A, D = 2; materials id_card, form = 2 (hukou shared)
    first = results["camunda"]
    assert (first["steps"], first["visits"], first["materials"]) == (3, 2, 2)
    assert (first["matter_code"], first["statutory_workdays"], first["promised_workdays"]) == ("NS1", 20.0, 5.0)
    assert first["shared_materials"] == ["hukou"]
    assert results["zeebe"] == first and results["spiffworkflow"] == first


def _doc_and_process(spec: Spec):
    doc = load_bytes(document(spec), "ns.bpmn")
    return doc, doc.process(spec.pid)


def test_version_metrics_is_json_ready():
    d = version_metrics(*_doc_and_process(Spec(**NAMESPACE_SPEC)))
    assert json.loads(json.dumps(d, ensure_ascii=False)) == d
    assert {"steps", "materials", "visits", "promised_workdays", "findings"} <= set(d)
    assert all(set(f) == {"kind", "element", "message"} for f in d["findings"])
    assert Finding("no_lane", "A", "m").to_dict() == {"kind": "no_lane", "element": "A", "message": "m"}


# ------------------------------------------------------------------ steps, days

def test_step_false_and_automated_tasks():
    # A(1) > Svc(service, 2 days) > Script > B(step=false, onsite, 1) > C(1)
    # steps A, C = 2; visits B (a trip even when not an administrative step) = 1; days 1+2+1+1 = 5
    spec = Spec("S>A>Svc>Scr>B>C>E", {"A": {"workdays": 1}, "Svc": {"workdays": 2},
                                       "B": {"step": "false", "onsite": "true", "workdays": 1}, "C": {"workdays": 1}},
                tags={"Svc": "serviceTask", "Scr": "scriptTask"})
    m = analyze(spec)
    assert (m.steps, m.visits, m.promised_workdays, m.tasks_total) == (2, 1, 5.0, 5)


@pytest.mark.parametrize("pprops, props, expected", [
    # annotated promised wins over the critical path 1 + 2 = 3
    ({"promised_workdays": 2}, wd("A=1 B=2"), (2.0, False)),
    # derived: critical path 1 + 2 = 3
    ({}, wd("A=1 B=2"), (3.0, True)),
    # clock=stop (waiting on the applicant) adds nothing: 1 + 0 = 1
    ({}, {"A": {"workdays": 1}, "B": {"workdays": 2, "clock": "stop"}}, (1.0, True)),
    # 即办: annotated 0
    ({"promised_workdays": 0}, {}, (0.0, False)),
    # nothing annotated anywhere: unknown
    ({}, {}, (None, False)),
])
def test_promised_workdays(pprops, props, expected):
    m = analyze(Spec("S>A>B>E", props, pprops=pprops))
    assert (m.promised_workdays, m.promised_derived) == expected


def test_subprocess_own_workdays_override_content():
    # Sub annotated 10 days; its content would be 1 + 2 = 3; A(1) > Sub: 11
    m = analyze(Spec("S>A>Sub>E", {"A": {"workdays": 1}, "Sub": {"workdays": 10}, **wd("B=1 C=2")},
                     inner={"Sub": "S9>B>C>E9"}))
    assert (m.steps, m.promised_workdays) == (3, 11.0)


# ------------------------------------------------------------------ materials

MATERIALS_SPEC = Spec(
    "S>A>B>C>E",
    props={"A": {"materials": "id_card,photo"}, "B": {"materials": "photo,hukou"}},
    inputs={"A": "form_ref", "C": "credit"}, outputs={"C": "license"},
    data={"DO_form": {"name": "申请表"}, "form_ref": {"ref": "DO_form", "source": "applicant"},
          "id_card": {"source": "applicant", "name": "身份证"}, "hukou": {"source": "shared", "name": "户口簿"},
          "credit": {"source": "shared", "tag": "dataStoreReference"}, "license": {"source": "issued"},
          "scratch": {}},
    pprops={"promised_workdays": 1})


def test_materials_from_data_objects_and_lists():
    # applicant: form_ref (data input; DO_form is the same material), id_card (listed; a data object
    # says applicant), photo (listed, no data object: applicant) = 3
    # hukou is listed by B but its data object says shared: listed, not counted; credit (a shared data
    # store read by C); license issued; scratch has no source: not a material
    m = analyze(MATERIALS_SPEC)
    assert m.materials == 3
    assert m.applicant_materials == ["form_ref", "id_card", "photo"]
    assert m.shared_materials == ["credit", "hukou"]
    assert m.issued_materials == ["license"]
    assert m.material_names == {"form_ref": "申请表", "hukou": "户口簿", "id_card": "身份证"}
    assert m.task_materials == {"A": ["form_ref", "id_card", "photo"], "B": ["photo"]}
    assert kinds(m) == [("repeated_material", "photo")]


def test_data_object_cited_by_id_and_by_reference_is_one_material():
    # A reads the reference, B lists the data object id: one material, named by the cited reference
    m = analyze(Spec("S>A>B>E", props={"B": {"materials": "DO"}}, inputs={"A": "ref"},
                     data={"DO": {"source": "applicant"}, "ref": {"ref": "DO"}}))
    assert (m.materials, m.applicant_materials) == (1, ["ref"])
    assert m.task_materials == {"A": ["ref"], "B": ["ref"]}


def test_unconnected_and_unknown_source_materials_still_count():
    # "deed" is drawn with source=applicant but no step reads it: counted (a requirement cannot be hidden
    # by deleting an arrow) with a finding; "cert" has an unknown source: counted as applicant
    m = analyze(Spec("S>A>E", inputs={"A": "cert"},
                     data={"deed": {"source": "applicant"}, "cert": {"source": "纸质"}},
                     pprops={"promised_workdays": 1}))
    assert m.applicant_materials == ["cert", "deed"]
    assert kinds(m) == [("unknown_source", "cert"), ("unconnected_material", "deed")]


def test_materials_in_subprocess_and_called_process_count():
    main = Spec("S>A>Sub>C1>E", props={"A": {"materials": "x"}, "B": {"materials": "y"}},
                inner={"Sub": "S9>B>E9"}, tags={"C1": "callActivity"}, attrs={"C1": {"calledElement": "Q"}},
                pprops={"matter_code": "M", "promised_workdays": 1})
    other = Spec("S2>D>E2", props={"D": {"materials": "x,z"}}, pid="Q")
    m = analyze(main, other)
    assert m.applicant_materials == ["x", "y", "z"]
    assert kinds(m) == [("repeated_material", "x")]


def test_bundle_counts_common_materials_once():
    a = analyze(Spec("S>A>E", props={"A": {"materials": "id_card,birth_cert"}}))
    b = analyze(Spec("S>A>E", props={"A": {"materials": "id_card,hukou"}}))
    assert (a.materials + b.materials, bundle_materials([a, b])) == (4, ["birth_cert", "hukou", "id_card"])
    assert bundle_materials([]) == []


# ------------------------------------------------------------------ findings

LANES = {"窗口": "A D", "公安": "B C", "消防": "F"}


@pytest.mark.parametrize("spec, expected", [
    # B (公安) > F (消防): different departments, no data dependency; A > B: A takes in applicant material
    (Spec("S>A>B>F>E", {"A": {"materials": "m"}}, lanes=LANES), [("could_parallelize", "F")]),
    # B writes "opinion" that F reads: a dependency, no finding
    (Spec("S>A>B>F>E", {"A": {"materials": "m"}}, lanes=LANES, outputs={"B": "opinion"}, inputs={"F": "opinion"},
          data={"opinion": {}}), []),
    # B > C both 公安 back office: merge; A > B not flagged (intake)
    (Spec("S>A>B>C>E", {"A": {"materials": "m"}}, lanes=LANES), [("mergeable_approvals", "C")]),
    # an onsite step is not back office: no merge suggestion
    (Spec("S>A>B>C>E", {"A": {"materials": "m"}, "C": {"onsite": "true", "materials": "m2"}}, lanes=LANES), []),
    # a gateway between the steps: not "directly consecutive"
    (Spec("S>A>B>X1>C>E; X1>E", {"A": {"materials": "m"}}, lanes=LANES), []),
    # G has no lane while the process has lanes
    (Spec("S>A>G>E", {"A": {"materials": "m"}}, lanes=LANES), [("no_lane", "G")]),
    # onsite steps: B's only material is shared, D needs none, A needs an applicant material
    (Spec("S>A>B>D>E", {"A": {"onsite": "true", "materials": "m"}, "B": {"onsite": "true"},
                        "D": {"onsite": "true"}}, inputs={"B": "h"}, data={"h": {"source": "shared"}}),
     [("onsite_could_be_online", "B"), ("onsite_could_be_online", "D")]),
])
def test_step_findings(spec, expected):
    spec.pprops.setdefault("promised_workdays", 1)
    assert kinds(analyze(spec)) == expected


@pytest.mark.parametrize("pprops, props, expected", [
    # no promised_workdays: each step without workdays (B), but not a clock=stop step (C)
    ({}, {"A": {"workdays": 1}, "C": {"clock": "stop"}}, [("no_time_limit", "B")]),
    # no promised_workdays and no workdays anywhere: one finding on the process
    ({}, {}, [("no_time_limit", "P")]),
    # annotated promised: steps may leave their own limit out
    ({"promised_workdays": 3}, {}, []),
    # promised above statutory
    ({"promised_workdays": 30, "statutory_workdays": 20}, {}, [("exceeds_statutory", "P")]),
    ({"statutory_workdays": 1}, wd("A=1 B=1 C=1"), [("exceeds_statutory", "P")]),
])
def test_time_findings(pprops, props, expected):
    assert kinds(analyze(Spec("S>A>B>C>E", props, pprops=pprops))) == expected


def test_unreachable_and_broken_subprocess():
    # Orphan has no incoming flow while a start event exists: unreachable, not counted in steps,
    # counted in tasks_total.  Sub's content has no end (loop only): counted as 0.
    m = analyze(Spec("S>A>Sub>E; Orphan>E", wd("A=1"), inner={"Sub": "S9>B>C>B"}, pprops={"promised_workdays": 1}))
    assert (m.steps, m.tasks_total) == (1, 4)
    assert sorted(kinds(m)) == [("no_complete_path", "Sub"), ("unreachable", "Orphan")]


def test_event_subprocess_is_out_of_paths_but_counted_as_tasks():
    m = analyze(Spec("S>A>E; Evt", wd("A=1 B=1"), inner={"Evt": "S9>B>E9"}, attrs={"Evt": {"triggeredByEvent": "true"}}))
    assert (m.steps, m.tasks_total, m.findings) == (1, 2, [])


# ------------------------------------------------------------------ documents

def test_analyze_document_picks_the_main_process():
    doc = load_bytes(document(Spec("S>A>E", pprops={"matter_code": "M"}, pid="Main"), Spec("S>B>C>E", pid="Side")),
                     "two.bpmn")
    assert [m.process_id for m in analyze_document(doc)] == ["Main"]


def test_analyze_document_without_a_main_process_lists_every_root():
    doc = load_bytes(document(Spec("S>A>E", pid="One"), Spec("S>B>E", pid="Two")), "pools.bpmn")
    assert [m.process_id for m in analyze_document(doc)] == ["One", "Two"]


# ------------------------------------------------------------------ random structured models

@dataclass
class Tree:
    """A block-structured model: a task, or a sequence/parallel/inclusive/exclusive block of children."""
    kind: str                    # task | seq | and | or | xor
    children: list["Tree"] = field(default_factory=list)
    days: int = 0
    onsite: bool = False
    human: bool = True

    def expected(self) -> tuple[int, int, int]:
        if self.kind == "task":
            return int(self.human), int(self.onsite), self.days
        parts = [c.expected() for c in self.children]
        if self.kind == "xor":
            return tuple(max(p[i] for p in parts) for i in range(3))
        total = tuple(sum(p[i] for p in parts) for i in range(3))
        return total if self.kind == "seq" else (total[0], total[1], max(p[2] for p in parts))


class Renderer:
    GATEWAY = {"and": "P", "or": "O", "xor": "X"}

    def __init__(self):
        self.flows: list[str] = []
        self.props: dict[str, dict] = {}
        self.tags: dict[str, str] = {}
        self.count = 0

    def render(self, tree: Tree) -> tuple[str, str]:
        self.count += 1
        n = self.count
        if tree.kind == "task":
            tid = f"T{n}"
            self.props[tid] = {"workdays": tree.days, **({"onsite": "true"} if tree.onsite else {})}
            if not tree.human:
                self.tags[tid] = "serviceTask"
            return tid, tid
        ends = [self.render(c) for c in tree.children]
        if tree.kind == "seq":
            self.flows += [f"{a[1]}>{b[0]}" for a, b in zip(ends, ends[1:])]
            return ends[0][0], ends[-1][1]
        split, join = f"{self.GATEWAY[tree.kind]}{n}0", f"{self.GATEWAY[tree.kind]}{n}1"
        self.flows += [f"{split}>{first}; {last}>{join}" for first, last in ends]
        return split, join

    def spec(self, tree: Tree) -> Spec:
        first, last = self.render(tree)
        self.flows.append(f"S>{first}; {last}>E")
        return Spec("; ".join(self.flows), self.props, self.tags)


def trees():
    task = st.builds(Tree, st.just("task"), st.just([]), st.integers(0, 5), st.booleans(),
                     st.sampled_from([True, True, False]))
    return st.recursive(task, lambda kids: st.builds(
        Tree, st.sampled_from(["seq", "and", "or", "xor"]), st.lists(kids, min_size=2, max_size=3)),
        max_leaves=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees())
def test_random_structured_models_match_block_evaluation(tree):
    spec = Renderer().spec(tree)
    m = analyze(spec)
    steps, visits, days = tree.expected()
    assert (m.steps, m.visits, m.promised_workdays) == (steps, visits, float(days))


def nested_model(levels: int = 30, tasks: int = 200, seed: int = 7) -> Tree:
    """``levels`` nested gateway blocks (and/or/xor in turn) holding ``tasks`` tasks in all."""
    rnd = random.Random(seed)
    per_level = [tasks // (levels + 1)] * (levels + 1)
    per_level[-1] += tasks - sum(per_level)

    def chain(count: int) -> Tree:
        return Tree("seq", [Tree("task", days=rnd.randint(0, 3), onsite=rnd.random() < 0.2,
                                 human=rnd.random() < 0.8) for _ in range(count)])

    inner: Tree = chain(per_level[-1])
    for level in range(levels - 1, -1, -1):
        kind = ("and", "xor", "or")[level % 3]
        half = per_level[level] // 2
        inner = Tree(kind, [Tree("seq", [chain(half), inner]), chain(per_level[level] - half)])
    return inner


def test_performance_200_tasks_30_nested_gateways():
    tree = nested_model()
    spec = Renderer().spec(tree)
    doc = load_bytes(document(spec), "big.bpmn")
    started = time.perf_counter()
    m = analyze_process(doc, doc.process("P"))
    elapsed = time.perf_counter() - started
    steps, visits, days = tree.expected()
    assert (m.tasks_total, m.steps, m.visits, m.promised_workdays) == (200, steps, visits, float(days))
    print(f"200 tasks, 30 nested gateway blocks: analysed in {elapsed * 1000:.1f} ms")


def test_performance_many_alternative_paths():
    # 40 exclusive diamonds in a row: 2**40 paths, which enumeration could not visit.
    # Each diamond: T(i,a)(1 day) | T(i,b) > T(i,c) (2 days each): steps 2, days 4 per diamond.
    tree = Tree("seq", [Tree("xor", [Tree("task", days=1), Tree("seq", [Tree("task", days=2), Tree("task", days=2)])])
                        for _ in range(40)])
    m = analyze(Renderer().spec(tree))
    assert (m.steps, m.promised_workdays) == (80, 160.0)

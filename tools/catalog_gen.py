#!/usr/bin/env python3
"""Generate the onetrip catalog from ``tools/catalog_spec.py``.

Writes, deterministically (byte-identical on every run):

* ``bpmn/<CODE>.before.bpmn`` and ``bpmn/<CODE>.after.bpmn`` for every matter and
  every 一件事 bundle: executable BPMN 2.0 with lanes, annotations (DESIGN.md) and
  full diagram interchange, laid out automatically;
* ``processes/<CODE>.toml``: one manifest per matter and per bundle;
* ``processes/README.md``: the manifest fields and the catalog index.

Usage (from the repository root)::

    /work/venv/bin/python tools/catalog_gen.py           # (re)write the files
    /work/venv/bin/python tools/catalog_gen.py --check   # exit 1 when a file is stale

Layout: the pool is one participant; lanes are horizontal bands in order of first
use; flow nodes sit in left-to-right columns by longest-path rank, in rows inside
their lane (a gateway's extra branches and 补正 steps drop to the next free row);
materials sit in a strip at the top of the lane of their first consumer.  Every
edge gets orthogonal waypoints; return-for-correction edges run back along the
row boundary below the step they return to.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))
sys.dont_write_bytecode = True      # leave no __pycache__ in tools/
import catalog_spec as spec  # noqa: E402  (a sibling module, not a package)
from engine import catalog  # noqa: E402  (the manifest rules the generator must meet)

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
    "zeebe": "http://camunda.org/schema/zeebe/1.0",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
VARIANTS = {"before": "改革前", "after": "改革后"}
HUMAN_TAGS = ("userTask", "manualTask", "task")


def q(prefix: str, tag: str) -> str:
    return f"{{{NS[prefix]}}}{tag}"


def flag(value: bool) -> str:
    return "true" if value else "false"


# =================================================================== the graph
@dataclass
class Node:
    """A flow node: event, task or gateway, in one lane."""
    id: str
    tag: str
    name: str
    lane: str
    props: dict = field(default_factory=dict)
    needs: tuple = ()
    issues: tuple = ()
    uses: tuple = ()
    days: int = 0
    default: str | None = None
    why: str = ""

    @property
    def human(self) -> bool:
        return self.tag in HUMAN_TAGS

    @property
    def inputs(self) -> tuple:
        """Materials wired to this node by dataInputAssociation."""
        return tuple(dict.fromkeys(self.needs + self.issues + self.uses))


@dataclass
class Flow:
    """A sequence flow; ``back`` marks the return to a step (补正 loop)."""
    id: str
    source: str
    target: str
    name: str | None = None
    condition: str | None = None
    back: bool = False


@dataclass
class Tail:
    """The open end of what has been built so far, and how to leave it."""
    node: str
    name: str | None = None
    condition: str | None = None
    default: bool = False


@dataclass
class Material:
    """A material of one model, with its derived ``source``."""
    id: str
    name: str
    source: str
    consumers: list


@dataclass
class Graph:
    """Flow nodes and sequence flows of one process."""
    nodes: dict = field(default_factory=dict)
    flows: list = field(default_factory=list)

    def forward(self) -> list:
        return [f for f in self.flows if not f.back]

    def topo_order(self) -> list:
        """Node ids in topological order of the forward flows, stable by creation."""
        indegree = {n: 0 for n in self.nodes}
        for f in self.forward():
            indegree[f.target] += 1
        order, ready = [], [n for n, d in indegree.items() if d == 0]
        while ready:
            current = ready.pop(0)
            order.append(current)
            for f in self.forward():
                if f.source == current:
                    indegree[f.target] -= 1
                    if indegree[f.target] == 0:
                        ready.append(f.target)
        return order

    def critical_days(self) -> int:
        """Longest path of step ``days`` (back flows ignored)."""
        total = {}
        for nid in self.topo_order():
            before = [total[f.source] for f in self.forward() if f.target == nid]
            total[nid] = self.nodes[nid].days + max(before, default=0)
        return max(total.values())

    def tally(self) -> dict:
        """DESIGN.md's static metrics for the shapes the DSL builds (a return
        loop is the only exclusive choice and its 补正 step is ``step=false``)."""
        steps = [n for n in self.nodes.values() if n.human and n.props.get("step") != "false"]
        return {"steps": len(steps),
                "visits": sum(n.props.get("onsite") == "true" for n in steps),
                "materials": sum(m.source == "applicant" for m in self.materials()),
                "workdays": self.critical_days()}

    def trips(self) -> list:
        """Ids of the counted onsite steps (each is a trip: the DSL's only
        exclusive choice is a return loop, whose 补正 step is not counted)."""
        return [n.id for n in self.nodes.values() if n.human and n.props.get("step") != "false"
                and n.props.get("onsite") == "true"]

    def applicant_materials(self) -> list:
        return [m.id for m in self.materials() if m.source == "applicant"]

    def materials(self) -> list:
        """Materials in order of first use, with their derived source."""
        found: dict = {}
        for node in self.nodes.values():
            for mid in node.inputs:
                if mid not in spec.MATERIALS:
                    raise ValueError(f"{node.id}: unknown material {mid!r}")
                found.setdefault(mid, []).append(node)
        result = []
        for mid, users in found.items():
            if any(n.human and mid in n.needs for n in users):
                source = "applicant"
            elif any(mid in n.issues for n in users):
                source = "issued"
            else:
                source = "shared"
            result.append(Material(mid, spec.MATERIALS[mid], source, [n.id for n in users]))
        return result


class Builder:
    """Turns the spec's item lists into a graph; ``prefix`` namespaces member ids."""

    def __init__(self) -> None:
        self.graph = Graph()
        self.prefix = ""

    def add(self, node: Node) -> str:
        if node.lane not in spec.LANE_IDS:
            raise ValueError(f"{node.id}: unknown department {node.lane!r}")
        if node.id in self.graph.nodes:
            raise ValueError(f"duplicate element id {node.id}")
        self.graph.nodes[node.id] = node
        return node.id

    def link(self, tail: Tail, target: str, back: bool = False) -> None:
        flow = Flow(f"Flow_{len(self.graph.flows) + 1:02d}", tail.node, target,
                    tail.name, tail.condition, back)
        self.graph.flows.append(flow)
        if tail.default:
            self.graph.nodes[tail.node].default = flow.id

    def run(self, items, tail: Tail) -> Tail:
        for item in items:
            tail = self.parallel(item, tail) if item["kind"] == "par" else self.step(item, tail)
        return tail

    def step(self, item: dict, tail: Tail) -> Tail:
        key, lane = self.prefix + item["key"], item["lane"]
        props = {}
        if item["tag"] in HUMAN_TAGS:
            props["onsite"] = flag(item["onsite"])
            if not item["counted"]:
                props["step"] = "false"
        if item["tag"] in HUMAN_TAGS or item["days"]:
            props["workdays"] = str(item["days"])
        if item["needs"]:
            props["materials"] = ",".join(item["needs"])
        task = self.add(Node(f"Task_{key}", item["tag"], item["name"], lane, props,
                             item["needs"], item["issues"], item["uses"], item["days"],
                             why=item["why"]))
        self.link(tail, task)
        if not item["returns"]:
            return Tail(task)
        gate = self.add(Node(f"Gateway_{key}_Check", "exclusiveGateway", item["returns"], lane))
        self.link(Tail(task), gate)
        fix_props = {"onsite": flag(item["fix_onsite"]), "clock": "stop", "step": "false"}
        fix = self.add(Node(f"Task_{key}_Supplement", "userTask", "补正材料", lane, fix_props))
        self.link(Tail(gate, "退回补正", "returned"), fix)
        self.link(Tail(fix), task, back=True)
        return Tail(gate, "通过", default=True)

    def parallel(self, item: dict, tail: Tail) -> Tail:
        key, lane = self.prefix + item["key"], self.graph.nodes[tail.node].lane
        split = self.add(Node(f"Gateway_{key}_Split", "parallelGateway", "", lane))
        self.link(tail, split)
        ends = [self.run(branch, Tail(split)) for branch in item["branches"]]
        join = self.add(Node(f"Gateway_{key}_Join", "parallelGateway", "", lane))
        for end in ends:
            self.link(end, join)
        return Tail(join)


def first_lane(items) -> str:
    item = items[0]
    while item["kind"] == "par":
        item = item["branches"][0][0]
    return item["lane"]


def build_graph(parts) -> Graph:
    """``parts``: (id prefix, items) pairs run one after another between one
    start event and one end event."""
    builder = Builder()
    start = builder.add(Node("StartEvent_Apply", "startEvent", "提出申请", first_lane(parts[0][1])))
    tail = Tail(start)
    for prefix, items in parts:
        builder.prefix = prefix
        tail = builder.run(items, tail)
    lane = builder.graph.nodes[tail.node].lane
    builder.link(tail, builder.add(Node("EndEvent_Done", "endEvent", "办结", lane)))
    return builder.graph


# ================================================================== the layout
SIZES = {"startEvent": (36, 36), "endEvent": (36, 36),
         "exclusiveGateway": (50, 50), "parallelGateway": (50, 50)}
TASK_SIZE = (100, 80)
DATA_SIZE = (36, 50)
POOL_X, POOL_Y = 160, 80
POOL_HEADER = LANE_HEADER = 30
MARGIN = 30
COL_W = 150
ROW_H = 110
LANE_PAD_TOP, LANE_PAD_BOTTOM = 10, 20
DATA_TIER = 100         # a data object (50) under its label (up to 3 lines) plus gaps
DATA_PITCH = 55         # horizontal distance of neighbouring materials (tiers alternate)
LABEL_W, LABEL_H = 90, 40
BACK_OFFSET = 20        # back edges leave / enter off-centre so chained loops stay apart


@dataclass
class Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def cx(self) -> int:
        return self.x + self.w // 2

    @property
    def cy(self) -> int:
        return self.y + self.h // 2

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h


@dataclass
class Diagram:
    pool: Box
    lanes: list                      # (lane name, Box)
    shapes: dict                     # element id -> Box (flow nodes and data references)
    labels: dict                     # data reference id -> label Box
    edges: dict                      # flow / association id -> [(x, y), ...]


class Layout:
    """Grid layout: column = rank, (lane, row) inside the pool."""

    def __init__(self, graph: Graph, materials: list) -> None:
        self.graph = graph
        self.materials = materials
        self.order = graph.topo_order()
        self.rank = self._ranks()
        self.lane_order = list(dict.fromkeys(graph.nodes[n].lane for n in self.order))
        self.row = self._rows()
        self.data_cell = {m.id: self._cell(graph.nodes[m.consumers[0]]) for m in materials}
        self.col_x = self._columns()
        self.lane_box, self.row_top = self._lanes()
        self.shapes = {nid: self._node_box(graph.nodes[nid]) for nid in self.order}
        self.labels: dict = {}
        self._place_data()

    # ------------------------------------------------------------------ grid
    def _ranks(self) -> dict:
        rank = {}
        for nid in self.order:
            preds = [rank[f.source] for f in self.graph.forward() if f.target == nid]
            rank[nid] = max(preds, default=-1) + 1
        return rank

    def _branch_index(self, flow: Flow) -> int:
        """Position of ``flow`` among its source's same-lane exits, default first
        (a default flow into another lane still keeps the source's own row)."""
        source = self.graph.nodes[flow.source]
        exits = [f for f in self.graph.forward() if f.source == flow.source and (
            f.id == source.default or self.graph.nodes[f.target].lane == source.lane)]
        exits.sort(key=lambda f: f.id != source.default)
        return exits.index(flow)

    def _rows(self) -> dict:
        row, taken = {}, set()
        for nid in self.order:
            node = self.graph.nodes[nid]
            incoming = [f for f in self.graph.forward() if f.target == nid]
            wanted = 0
            if incoming and self.graph.nodes[incoming[0].source].lane == node.lane:
                wanted = row[incoming[0].source] + self._branch_index(incoming[0])
            while (node.lane, self.rank[nid], wanted) in taken:
                wanted += 1
            taken.add((node.lane, self.rank[nid], wanted))
            row[nid] = wanted
        return row

    def _cell(self, node: Node) -> tuple:
        return node.lane, self.rank[node.id]

    def _cell_materials(self, cell: tuple) -> list:
        return [m for m in self.materials if self.data_cell[m.id] == cell]

    def _columns(self) -> list:
        x = POOL_X + POOL_HEADER + LANE_HEADER + MARGIN
        col_x = []
        for rank in range(max(self.rank.values()) + 1):
            crowd = max(len(self._cell_materials((lane, rank))) for lane in self.lane_order)
            col_x.append(x)
            x += max(COL_W, (crowd - 1) * DATA_PITCH + 2 * LABEL_W)
        col_x.append(x)
        return col_x

    def _tiers(self, lane: str) -> int:
        crowd = max(len(self._cell_materials((lane, rank))) for rank in range(len(self.col_x)))
        return min(crowd, 2)

    def _lanes(self) -> tuple:
        boxes, row_top, y = {}, {}, POOL_Y
        width = self.col_x[-1] + MARGIN - POOL_X - POOL_HEADER
        for lane in self.lane_order:
            rows = 1 + max(self.row[n] for n in self.order if self.graph.nodes[n].lane == lane)
            row_top[lane] = y + LANE_PAD_TOP + self._tiers(lane) * DATA_TIER
            height = row_top[lane] - y + rows * ROW_H + LANE_PAD_BOTTOM
            boxes[lane] = Box(POOL_X + POOL_HEADER, y, width, height)
            y += height
        return boxes, row_top

    def _node_box(self, node: Node) -> Box:
        w, h = SIZES.get(node.tag, TASK_SIZE)
        rank = self.rank[node.id]
        cx = (self.col_x[rank] + self.col_x[rank + 1]) // 2
        cy = self.row_top[node.lane] + self.row[node.id] * ROW_H + ROW_H // 2
        return Box(cx - w // 2, cy - h // 2, w, h)

    def _place_data(self) -> None:
        placed: dict = {}
        for m in self.materials:
            lane, rank = self.data_cell[m.id]
            crowd = self._cell_materials((lane, rank))
            index = placed[(lane, rank)] = placed.get((lane, rank), -1) + 1
            centre = (self.col_x[rank] + self.col_x[rank + 1]) // 2
            cx = centre - (len(crowd) - 1) * DATA_PITCH // 2 + index * DATA_PITCH
            tier_top = self.lane_box[lane].y + LANE_PAD_TOP + (index % 2) * DATA_TIER
            self.labels[ref_id(m.id)] = Box(cx - LABEL_W // 2, tier_top, LABEL_W, LABEL_H)
            self.shapes[ref_id(m.id)] = Box(cx - DATA_SIZE[0] // 2, tier_top + LABEL_H + 3,
                                            *DATA_SIZE)

    # ---------------------------------------------------------------- edges
    def _is_gateway(self, nid: str) -> bool:
        return self.graph.nodes[nid].tag.endswith("Gateway")

    def _clear(self, points: list, ends: tuple) -> bool:
        """True when no segment of ``points`` runs through a shape other than ``ends``."""
        for sid, b in self.shapes.items():
            if sid in ends:
                continue
            for (x1, y1), (x2, y2) in zip(points, points[1:]):
                if b.x < max(x1, x2) and min(x1, x2) < b.right \
                        and b.y < max(y1, y2) and min(y1, y2) < b.bottom:
                    return False
        return True

    def _forward_edge(self, flow: Flow) -> list:
        """The first clear one of: straight, out of a gateway's top/bottom (not for
        a default flow: that leaves to the right, apart from the 补正 branch), into
        a gateway's top/bottom, or turning on the target column's left boundary."""
        s, t = self.shapes[flow.source], self.shapes[flow.target]
        candidates = []
        if s.cy == t.cy:
            candidates.append([(s.right, s.cy), (t.x, t.cy)])
        if self._is_gateway(flow.source) and self.graph.nodes[flow.source].default != flow.id:
            candidates.append([(s.cx, s.bottom if t.cy > s.cy else s.y), (s.cx, t.cy), (t.x, t.cy)])
        if self._is_gateway(flow.target):
            candidates.append([(s.right, s.cy), (t.cx, s.cy),
                               (t.cx, t.y if t.cy > s.cy else t.bottom)])
        turn = self.col_x[self.rank[flow.target]]
        candidates.append([(s.right, s.cy), (turn, s.cy), (turn, t.cy), (t.x, t.cy)])
        ends = (flow.source, flow.target)
        return next((c for c in candidates if self._clear(c, ends)), candidates[0])

    def _back_edge(self, flow: Flow) -> list:
        """From the 补正 step back to the step it returns to, below that step."""
        s, t = self.shapes[flow.source], self.shapes[flow.target]
        if self.row[flow.source] > self.row[flow.target]:
            channel = self.row_top[self.graph.nodes[flow.source].lane] \
                + self.row[flow.source] * ROW_H
            leave, enter = s.cx - BACK_OFFSET, t.cx + BACK_OFFSET
            return [(leave, s.y), (leave, channel), (enter, channel), (enter, t.bottom)]
        lanes = {self.graph.nodes[flow.source].lane, self.graph.nodes[flow.target].lane}
        span = [self.shapes[n] for n in self.order if self.graph.nodes[n].lane in lanes
                and self.rank[flow.target] <= self.rank[n] <= self.rank[flow.source]]
        channel = max(b.bottom for b in span) + MARGIN // 2
        leave, enter = s.cx - BACK_OFFSET, t.cx + BACK_OFFSET
        return [(leave, s.bottom), (leave, channel), (enter, channel), (enter, t.bottom)]

    def _data_edges(self) -> dict:
        edges = {}
        for node in self.graph.nodes.values():
            t = self.shapes[node.id]
            inputs = node.inputs
            for i, mid in enumerate(inputs):
                d = self.shapes[ref_id(mid)]
                lane = self.data_cell[mid][0]
                bus = self.row_top[lane] - 3
                points = [(d.cx, d.bottom)]
                if node.lane == lane and self.row[node.id] == 0:
                    x = t.x + t.w * (i + 1) // (len(inputs) + 1)
                    points += [(d.cx, bus), (x, bus), (x, t.y)]
                else:
                    gap, y = self.col_x[self.rank[node.id]] + MARGIN // 2, t.cy - t.h // 4
                    points += [(d.cx, bus), (gap, bus), (gap, y), (t.x, y)]
                edges[association_id(node.id, mid)] = dedupe(points)
        return edges

    def diagram(self) -> Diagram:
        edges = {f.id: dedupe(self._back_edge(f) if f.back else self._forward_edge(f))
                 for f in self.graph.flows}
        edges.update(self._data_edges())
        last = list(self.lane_box.values())[-1]
        first = self.lane_box[self.lane_order[0]]
        pool = Box(POOL_X, POOL_Y, first.w + POOL_HEADER, last.bottom - POOL_Y)
        lanes = [(lane, self.lane_box[lane]) for lane in self.lane_order]
        return Diagram(pool, lanes, self.shapes, self.labels, edges)


def dedupe(points: list) -> list:
    """Drop repeated points and middle points of straight runs."""
    out = [points[0]]
    for p in points[1:]:
        if p == out[-1]:
            continue
        if len(out) > 1 and (out[-2][0] == out[-1][0] == p[0] or out[-2][1] == out[-1][1] == p[1]):
            out[-1] = p
        else:
            out.append(p)
    return out


def ref_id(material: str) -> str:
    return f"DataRef_{material}"


def association_id(node_id: str, material: str) -> str:
    return f"Association_{node_id.removeprefix('Task_')}_{material}"


# ================================================================= the XML
class Writer:
    """Serialises one model (graph + diagram) as a BPMN 2.0 document."""

    def __init__(self, model: "Model") -> None:
        self.m = model
        self.tag = f"{model.code}_{model.variant}"

    def el(self, parent, tag: str, text: str | None = None, **attrib):
        prefix, local = tag.split(":")
        attrib = {k: str(v) for k, v in attrib.items() if v not in (None, "")}
        child = etree.SubElement(parent, q(prefix, local), attrib)
        child.text = text
        return child

    def properties(self, parent, props: dict) -> None:
        if props:
            box = self.el(self.el(parent, "bpmn:extensionElements"), f"{self.m.dialect}:properties")
            for name, value in props.items():
                self.el(box, f"{self.m.dialect}:property", name=name, value=value)

    def document(self) -> bytes:
        """The whole file: collaboration, process, diagram."""
        root = etree.Element(q("bpmn", "definitions"), nsmap=NS)
        for key, value in (("id", f"Definitions_{self.tag}"),
                           ("targetNamespace", "http://bpmn.io/schema/bpmn"),
                           ("exporter", "onetrip tools/catalog_gen.py"), ("exporterVersion", "1")):
            root.set(key, value)
        collab = self.el(root, "bpmn:collaboration", id=f"Collaboration_{self.tag}")
        self.el(collab, "bpmn:participant", id=f"Participant_{self.tag}", name=self.m.name,
                processRef=self.m.process_id)
        self.process(root)
        self.diagram(root, collab.get("id"))
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    def process(self, root) -> None:
        m, g = self.m, self.m.graph
        proc = self.el(root, "bpmn:process", id=m.process_id,
                       name=f"{m.name}（{VARIANTS[m.variant]}）", isExecutable="true")
        if m.documentation:
            self.el(proc, "bpmn:documentation", m.documentation)
        props = {"matter_code": m.code}
        if m.statutory is not None:
            props["statutory_workdays"] = str(m.statutory)
        self.properties(proc, props | {"promised_workdays": str(m.promised)})
        lane_set = self.el(proc, "bpmn:laneSet", id=f"LaneSet_{self.tag}")
        for lane, _box in m.diagram.lanes:
            lane_el = self.el(lane_set, "bpmn:lane", id=f"Lane_{spec.LANE_IDS[lane]}", name=lane)
            for nid in g.nodes:
                if g.nodes[nid].lane == lane:
                    self.el(lane_el, "bpmn:flowNodeRef", nid)
        for mat in m.materials:
            data = self.el(proc, "bpmn:dataObject", id=mat.id, name=mat.name)
            self.properties(data, {"source": mat.source})
            ref = self.el(proc, "bpmn:dataObjectReference", id=ref_id(mat.id), name=mat.name,
                          dataObjectRef=mat.id)
            self.properties(ref, {"source": mat.source})
        for node in g.nodes.values():
            self.node(proc, node)
        for flow in g.flows:
            seq = self.el(proc, "bpmn:sequenceFlow", id=flow.id, name=flow.name,
                          sourceRef=flow.source, targetRef=flow.target)
            if flow.condition:
                cond = self.el(seq, "bpmn:conditionExpression", flow.condition)
                cond.set(q("xsi", "type"), "bpmn:tFormalExpression")

    def node(self, proc, node: Node) -> None:
        el = self.el(proc, f"bpmn:{node.tag}", id=node.id, name=node.name, default=node.default)
        if node.why:
            self.el(el, "bpmn:documentation", f"仍需到场：{node.why}")
        self.properties(el, node.props)
        for flow in self.m.graph.flows:
            if flow.target == node.id:
                self.el(el, "bpmn:incoming", flow.id)
        for flow in self.m.graph.flows:
            if flow.source == node.id:
                self.el(el, "bpmn:outgoing", flow.id)
        if node.inputs:
            placeholder = f"Property_{node.id}"
            self.el(el, "bpmn:property", id=placeholder, name="__targetRef_placeholder")
            for mid in node.inputs:
                assoc = self.el(el, "bpmn:dataInputAssociation", id=association_id(node.id, mid))
                self.el(assoc, "bpmn:sourceRef", ref_id(mid))
                self.el(assoc, "bpmn:targetRef", placeholder)

    def bounds(self, parent, box: Box) -> None:
        self.el(parent, "dc:Bounds", x=box.x, y=box.y, width=box.w, height=box.h)

    def shape(self, plane, element: str, box: Box, **attrib):
        shape = self.el(plane, "bpmndi:BPMNShape", id=f"{element}_di", bpmnElement=element,
                        **attrib)
        self.bounds(shape, box)
        return shape

    def diagram(self, root, collaboration: str) -> None:
        d, g = self.m.diagram, self.m.graph
        dia = self.el(root, "bpmndi:BPMNDiagram", id=f"Diagram_{self.tag}")
        plane = self.el(dia, "bpmndi:BPMNPlane", id=f"Plane_{self.tag}", bpmnElement=collaboration)
        self.shape(plane, f"Participant_{self.tag}", d.pool, isHorizontal="true")
        for lane, box in d.lanes:
            self.shape(plane, f"Lane_{spec.LANE_IDS[lane]}", box, isHorizontal="true")
        for nid in g.nodes:
            marker = "true" if g.nodes[nid].tag == "exclusiveGateway" else None
            self.shape(plane, nid, d.shapes[nid], isMarkerVisible=marker)
        for mat in self.m.materials:
            shape = self.shape(plane, ref_id(mat.id), d.shapes[ref_id(mat.id)])
            self.bounds(self.el(shape, "bpmndi:BPMNLabel"), d.labels[ref_id(mat.id)])
        for element, points in d.edges.items():
            edge = self.el(plane, "bpmndi:BPMNEdge", id=f"{element}_di", bpmnElement=element)
            for x, y in points:
                self.el(edge, "di:waypoint", x=x, y=y)


# ============================================================== the catalog
@dataclass
class Model:
    """One BPMN document: the ``before`` or ``after`` version of a catalog entry."""
    code: str
    variant: str
    name: str
    statutory: int | None
    dialect: str
    graph: Graph
    documentation: str = ""
    materials: list = field(init=False)
    promised: int = field(init=False)
    diagram: Diagram = field(init=False)

    def __post_init__(self) -> None:
        self.materials = self.graph.materials()
        self.promised = self.graph.critical_days()
        self.diagram = Layout(self.graph, self.materials).diagram()

    @property
    def process_id(self) -> str:
        return f"Process_{self.code}_{self.variant}"

    @property
    def path(self) -> str:
        return f"bpmn/{self.code}.{self.variant}.bpmn"

    def render(self) -> bytes:
        return Writer(self).document()


class Catalog:
    """Matters and bundles from the spec, rendered to file contents by path."""

    def __init__(self, matters, bundles) -> None:
        self.matters = {m["code"]: m for m in matters}
        self.entries = list(matters) + [self._complete(b) for b in bundles]
        self.built: dict = {}            # code -> (before, after, kept, removed trips, removed materials)

    def _complete(self, entry: dict) -> dict:
        """Derive a bundle's service objects from its members."""
        members = [self.matters[code] for code in entry["members"]]
        objects = dict.fromkeys(o for m in members for o in m["service_object"])
        return {**entry, "service_object": tuple(objects)}

    def models(self, entry: dict) -> tuple:
        """The (before, after) models; a bundle's before chains its members'."""
        if entry["kind"] == "bundle":
            members = [self.matters[code] for code in entry["members"]]
            before = build_graph([(f"{m['code']}_", m["before"]) for m in members])
            names = " → ".join(m["name"] for m in members)
            notes = (f"改革前：申请人依次办理 {names}，逐个部门提交材料、往返跑动。",
                     f"改革后：一窗(一网)受理，{len(members)} 个部门并联办理。")
        else:
            before = build_graph([("", entry["before"])])
            notes = ("", "")
        after = build_graph([("", entry["after"])])
        args = (entry["name"], entry["statutory"], entry["props"])
        return (Model(entry["code"], "before", *args, before, notes[0]),
                Model(entry["code"], "after", *args, after, notes[1]))

    def removals(self, entry: dict, before: Model, after: Model) -> tuple:
        """(removed trips by before element id, removed materials by id).  A bundle
        inherits what its members' own after models removed, for the trips and
        materials the bundle's after model does not ask for either."""
        reasons = dict(entry["removed"])
        if entry["kind"] == "bundle":
            inherited = {}
            for code in entry["members"]:
                for key, why in self.matters[code]["removed"].items():
                    inherited[key if key in spec.MATERIALS else f"{code}_{key}"] = why
            reasons = inherited | reasons
        trips = {f"Task_{k}": v for k, v in reasons.items() if k not in spec.MATERIALS}
        materials = {k: v for k, v in reasons.items() if k in spec.MATERIALS}
        if entry["kind"] == "bundle":
            dropped = set(before.graph.applicant_materials()) - set(after.graph.applicant_materials())
            materials = {k: v for k, v in materials.items() if k in dropped}
        return trips, materials

    def render(self) -> dict:
        files = {}
        for entry in self.entries:
            before, after = self.models(entry)
            trips, materials = self.removals(entry, before, after)
            check_entry(entry, before, after, trips, materials)
            kept = {nid: after.graph.nodes[nid].why for nid in after.graph.trips()}
            self.built[entry["code"]] = (before, after, kept, trips, materials)
            files[before.path] = before.render()
            files[after.path] = after.render()
            files[f"processes/{entry['code']}.toml"] = manifest(entry, before, after, kept, trips,
                                                                materials)
        files["processes/README.md"] = readme(self)
        return files


def check_entry(entry: dict, before: Model, after: Model, trips: dict, materials: dict) -> None:
    """Refuse a spec whose after model contradicts its manifest, the reform or the sourcing rules."""
    code = entry["code"]
    was, now = before.graph.tally(), after.graph.tally()
    worse = [key for key in was if now[key] > was[key]]
    if worse:
        raise ValueError(f"{code}: the after model has more {', '.join(worse)} than the before model")
    if after.promised != entry["promised"]:
        raise ValueError(f"{code}: after model promises {after.promised} workdays, "
                         f"the manifest says {entry['promised']}")
    if entry["department"] not in {lane for lane, _ in after.diagram.lanes}:
        raise ValueError(f"{code}: department {entry['department']} is no lane of the after model")
    if entry["type_code"] not in spec.TYPE_NAMES:
        raise ValueError(f"{code}: unknown type code {entry['type_code']}")
    problems = [catalog.basis_problem("legal_basis", entry["legal_basis"])]
    if entry["statutory"] is not None:
        problems.append(catalog.basis_problem("statutory_basis", entry["statutory_basis"],
                                              allow_none=False))
        if entry["time_note"]:
            problems.append("time_limit_note is only for matters without a statutory limit")
    else:
        problems.append(catalog.note_problem(entry["time_note"]))
    problems += [f"kept trip {nid} in the after model has no reason (why=)"
                 for nid in after.graph.trips() if not after.graph.nodes[nid].why]
    onsite_before = before.graph.trips()
    problems += [f"removed trip {nid} is no onsite step of the before model"
                 for nid in trips if nid not in onsite_before]
    if len(trips) != len(onsite_before) - len(after.graph.trips()):
        problems.append(f"{len(onsite_before) - len(after.graph.trips())} trips removed, "
                        f"{len(trips)} removal reasons given")
    dropped = set(before.graph.applicant_materials()) - set(after.graph.applicant_materials())
    problems += [f"material {m} is no longer asked for but has no removal reason"
                 for m in sorted(dropped - set(materials))]
    problems += [f"removal reason for material {m}, which is not dropped" for m in sorted(set(materials) - dropped)]
    problems += [catalog.mechanism_problem(why) for why in (*trips.values(), *materials.values())]
    problems = [p for p in problems if p]
    if problems:
        raise ValueError(f"{code}: {problems[0]}")


# ============================================================== manifests
def toml_value(value) -> str:
    """A TOML literal for a string, an integer or a list of them."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def manifest(entry: dict, before: Model, after: Model, kept: dict, trips: dict,
             materials: dict) -> bytes:
    """``processes/<CODE>.toml``, fields in the documented order."""
    fields = {
        "code": entry["code"], "name": entry["name"], "kind": entry["kind"],
        "type_code": entry["type_code"], "type_name": spec.TYPE_NAMES[entry["type_code"]],
        "department": entry["department"], "legal_basis": entry["legal_basis"],
    }
    if entry["statutory"] is not None:
        fields["statutory_workdays"] = entry["statutory"]
        fields["statutory_basis"] = entry["statutory_basis"]
    else:
        fields["time_limit_note"] = entry["time_note"]
    fields |= {
        "promised_workdays": entry["promised"],
        "case_type": "即办件" if entry["promised"] == 0 else "承诺件",
        "service_object": entry["service_object"], "annual_volume": entry["annual_volume"],
    }
    if entry["kind"] == "bundle":
        fields["members"] = entry["members"]
    if entry["sources"]:
        fields["sources"] = entry["sources"]
    if entry["unverified"]:
        fields["unverified"] = entry["unverified"]
    lines = ["# Generated by tools/catalog_gen.py from tools/catalog_spec.py; edit those.", ""]
    lines += [f"{key} = {toml_value(value)}" for key, value in fields.items()]
    for table, rows in (("kept_trips", kept), ("removed_trips", trips),
                        ("removed_materials", materials)):
        lines += ["", f"[{table}]"] + [f"{key} = {toml_value(value)}" for key, value in rows.items()]
    lines += ["", "[models]", f"before = {toml_value(before.path)}",
              f"after = {toml_value(after.path)}", ""]
    return "\n".join(lines).encode("utf-8")
README_HEAD = """\
# processes/ — the matter catalog

<!-- Generated by tools/catalog_gen.py from tools/catalog_spec.py; edit those. -->

One TOML manifest per high-frequency government service matter (高频政务服务事项)
and per 一件事 bundle.  Each points at two BPMN models in `bpmn/`: `before` (the
procedure in a typical prefecture-level city around 2018–19) and `after` (good
2020–22 practice, not the best province of 2025).  Steps, materials, visits and
working days are *not* written here: onetrip measures them from the models (see
`shared/DESIGN.md`).

Regenerate everything (byte-identical) with `python tools/catalog_gen.py`;
`--check` exits 1 when a generated file differs from the spec.  The generator
refuses a spec that breaks the sourcing rules below, and `onetrip catalog load`
refuses such a manifest — or one whose `[kept_trips]`, `[removed_trips]` and
`[removed_materials]` disagree with its models — with one line naming the file,
line and field.

## Fields

| field | type | required | meaning |
|---|---|---|---|
| `code` | string | yes | 事项编码: short uppercase ASCII (pinyin initials) typed by clerks; equals the `matter_code` process property of both models |
| `name` | string | yes | 事项名称; also the participant name in both models |
| `kind` | string | yes | `matter` (one 事项) or `bundle` (一件事: several matters handled together) |
| `type_code` | string | yes | 事项类型 code of the 国家政务服务事项基本目录: `01` 行政许可, `05` 行政给付, `07` 行政确认, `08` 行政奖励, `10` 其他行政权力, `20` 公共服务 |
| `type_name` | string | yes | the Chinese name of `type_code` |
| `department` | string | yes | 实施主体 (for a bundle: 牵头部门); equals a lane name of the `after` model |
| `legal_basis` | string | yes | 设定依据 down to the article (`第十九条`) or a document number (`〔2016〕53号`), or an explicit `none：<why>` |
| `statutory_workdays` | integer | only with a basis | 法定办结时限, present only where a law, regulation, rule or State Council document sets one; equals the models' `statutory_workdays` process property (absent from the models otherwise) |
| `statutory_basis` | string | with `statutory_workdays` | the article that sets the limit, with its words; where the law counts 日 (calendar days) the figure is kept and read as working days |
| `time_limit_note` | string | without `statutory_workdays` | `无法定时限：…`: why there is none and where the promised limit comes from (即办, a local promise) |
| `promised_workdays` | integer | yes | 承诺办结时限 of the `after` model; equals its `promised_workdays` process property (the critical path of its step `workdays`) |
| `case_type` | string | yes | 办件类型: `即办件` when `promised_workdays` is 0, else `承诺件` |
| `service_object` | list of strings | yes | 服务对象: 自然人, 企业法人, 事业单位法人, 社会组织法人, 非法人企业, 其他组织 |
| `annual_volume` | integer | yes | cases per year in a mid-size city (for weighting reports) |
| `members` | list of strings | bundles only | codes of the member matters, in the order applicants used to visit them |
| `sources` | list of strings | no | texts the figures were checked against |
| `unverified` | string | no | what could not be checked against a source in this revision |
| `[kept_trips]` | table | when the after model has onsite steps | after-model element id → why the applicant must still come in person |
| `[removed_trips]` | table | when trips were removed | before-model element id → what removed that trip |
| `[removed_materials]` | table | when materials were removed | material id → what removed it |
| `[models].before` | string | yes | path of the before model, relative to the repository root |
| `[models].after` | string | yes | path of the after model |

A removal reason starts with one of: {mechanisms}, then says how.  The numbers
of removed trips and materials must match the models: (before visits − after
visits) trips, and every applicant material of the before model that the after
model no longer asks for.  A bundle inherits the reasons of its members' own
after models and names only what the bundle removed on top.

## Conventions used by the models

- Lanes are departments, named exactly as in `department`; every flow node is in one lane.
- Human steps are `userTask`/`manualTask`; data sharing and electronic licences are `serviceTask`s.
- A step that can send the file back is followed by an exclusive gateway: the
  `returned` flow leads to `补正材料` (`clock=stop`, `step=false`, `onsite` when
  papers must be brought) and back; the forward flow is the gateway's default.
- A material is a `bpmn:dataObject` whose id is the material id (`id_card`) with a
  `source` property (`applicant`, `shared`, `issued`), drawn by one
  `bpmn:dataObjectReference` `DataRef_<id>` (same `source`), wired to the steps by
  `dataInputAssociation`; the same ids appear in the steps' `materials` property.
  Issued documents are wired to the step that hands them out, and results of
  other steps to the steps that work on them (neither is asked from the applicant).
- An onsite step kept in an after model carries its reason as `bpmn:documentation`.
- Bundle `before` models are generated from the members' `before` models (element
  ids prefixed with the member code), so a bundle's before figures follow from its
  members by construction; a material needed by several members appears once.
- Extension properties are written as `camunda:properties`, except: {dialects}.

## Catalog

| code | name | kind | department | type | statutory | promised | members |
|---|---|---|---|---|---|---|---|
"""


def pct(before: float, after: float) -> str:
    return f"{(before - after) / before * 100:.1f}%" if before else "—"


def readme(cat: Catalog) -> bytes:
    """``processes/README.md``: field reference, index, totals, bundles, kept trips, sources."""
    entries = cat.entries
    rows = [f"| {e['code']} | {e['name']} | {e['kind']} | {e['department']} | "
            f"{e['type_code']} {spec.TYPE_NAMES[e['type_code']]} | "
            f"{'—' if e['statutory'] is None else e['statutory']} | "
            f"{e['promised']} | {', '.join(e.get('members', ()))} |" for e in entries]
    dialects = "; ".join(
        f"`{dialect}:properties` in " + ", ".join(e["code"] for e in entries if e["props"] == dialect)
        for dialect in ("zeebe", "spiffworkflow"))
    out = [README_HEAD.format(dialects=dialects, mechanisms="、".join(catalog.MECHANISMS))]
    out.append("\n".join(rows) + "\n")

    matters = [e for e in entries if e["kind"] == "matter"]
    tally = {e["code"]: (cat.built[e["code"]][0].graph.tally(), cat.built[e["code"]][1].graph.tally())
             for e in entries}
    sums = {side: {k: sum(tally[e["code"]][i][k] for e in matters)
                   for k in ("steps", "materials", "visits", "workdays")}
            for i, side in enumerate(("before", "after"))}
    timed = [e for e in matters if e["statutory"] is not None]
    statutory = sum(e["statutory"] for e in timed)
    promised = sum(e["promised"] for e in timed)
    b, a = sums["before"], sums["after"]
    out.append(f"""
## Totals over the {len(matters)} matters

The city-style lines `onetrip compare bpmn bpmn` prints over the matters (bundles
left out, their members are counted):

```
环节 {b['steps']} → {a['steps']} (精简 {pct(b['steps'], a['steps'])})
材料 {b['materials']} → {a['materials']} (精简 {pct(b['materials'], a['materials'])})
跑动 {b['visits']} → {a['visits']} (减少 {pct(b['visits'], a['visits'])})
承诺时限 {b['workdays']} → {a['workdays']} (压缩 {pct(b['workdays'], a['workdays'])})
承诺时限比法定时限压缩 {pct(statutory, promised)}（{len(timed)} 个有法定时限的事项；{len(matters) - len(timed)} 个无法定时限，未计）
```

The seed city reports, over 100 matters: steps −63.7%, materials −21.3%, visits
−54.8%, promised limits 50% inside the statutory ones.  Steps and time limits
land near it.  Materials and trips go further: the after-state is good 2020–22
practice, when 电子证照, 数据共享 (五证合一, 电子营业执照, 户籍、婚姻、参保信息)
and mailing results had become common, so most come-back-to-collect trips and
documents another department already holds are gone; the trips kept (below) are
the ones law or practice still needs, and materials only a form merge or a
commitment could replace stay counted unless the matter's manifest names what
removed them.  Matters without a statutory limit are left out of the time
compression (their promise is local, not measured against a law).
""")
    out.append("""
## 一件事: bundles against the sum of their members

A bundle's before model is generated from its members' before models, so its
steps and visits are the members' sums; a material asked by several members
counts once (the union), which is why a bundle's before materials can be fewer
than the members' sum.  The after column is the integrated design; "members
after" is what re-engineering each member alone achieved.

| bundle | members | before: steps / materials (sum) / visits | members after: steps / materials (sum) / visits | bundle after: steps / materials / visits |
|---|---|---|---|---|
""")
    for e in entries:
        if e["kind"] != "bundle":
            continue
        was, now = tally[e["code"]]
        member_before = [tally[c][0] for c in e["members"]]
        member_after = [tally[c][1] for c in e["members"]]
        out.append(f"| {e['code']} {e['name']} | {', '.join(e['members'])} | "
                   f"{was['steps']} / {was['materials']} ({sum(m['materials'] for m in member_before)}) / "
                   f"{was['visits']} | {sum(m['steps'] for m in member_after)} / "
                   f"{len(set().union(*(cat.built[c][1].graph.applicant_materials() for c in e['members'])))} "
                   f"({sum(m['materials'] for m in member_after)}) / {sum(m['visits'] for m in member_after)} | "
                   f"{now['steps']} / {now['materials']} / {now['visits']} |\n")
    out.append("""
## Trips kept in the after models

Trips that law or practice still needs; every one is in its manifest's
`[kept_trips]` and in the step's `bpmn:documentation`.

| code | step | why the applicant still comes |
|---|---|---|
""")
    for e in entries:
        after = cat.built[e["code"]][1]
        for nid, why in cat.built[e["code"]][2].items():
            out.append(f"| {e['code']} | {after.graph.nodes[nid].name} | {why} |\n")
    out.append("""
## Sources, matter by matter

Article numbers and document numbers were checked against published texts
found in this revision where the entry says so ("sources"); what could not be
checked is named under "unverified" — no figure there was invented, but it
rests on the text as remembered and should be checked against the official
text before the catalog is signed.

""")
    for e in entries:
        out.append(f"### {e['code']} {e['name']}\n\n- 设定依据: {e['legal_basis']}\n")
        if e["statutory"] is not None:
            out.append(f"- 法定时限 {e['statutory']}: {e['statutory_basis']}\n")
        else:
            out.append(f"- {e['time_note']}\n")
        out.append(f"- 承诺时限 {e['promised']}\n")
        for source in e["sources"]:
            out.append(f"- source: {source}\n")
        if e["unverified"]:
            out.append(f"- unverified: {e['unverified']}\n")
        out.append("\n")
    return "".join(out).rstrip("\n").encode("utf-8") + b"\n"


# ================================================================== main
def main(argv=None) -> int:
    """Write the stale files, or with ``--check`` only report them."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a generated file is missing or stale")
    args = parser.parse_args(argv)
    files = Catalog(spec.MATTERS, spec.BUNDLES).render()
    stale = [p for p, data in files.items()
             if not (ROOT / p).exists() or (ROOT / p).read_bytes() != data]
    if args.check:
        for path in stale:
            print(f"stale: {path}")
        return 1 if stale else 0
    for path in stale:
        (ROOT / path).parent.mkdir(parents=True, exist_ok=True)
        (ROOT / path).write_bytes(files[path])
    print(f"{len(files)} files, {len(stale)} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Render a BPMN diagram (its diagram interchange) as inline SVG.

Draws pools and lanes, tasks, gateways, events, data objects, sequence flows
and data associations with their labels, at the positions the modeler saved.
Onsite steps (the applicant must come: a trip) are drawn in orange with a
"现场" badge; steps that ask for several applicant materials carry a badge
with the count.  Models without diagram interchange get a short note instead.
"""
from __future__ import annotations

from html import escape

from .bpmn_model import BPMNDI_NS, DC_NS, DI_NS, ModelDocument, Node, _local

ONSITE_COLOR = "#e8590c"
TASK_FILL = "#ffffff"
MANY_MATERIALS = 3


def _bounds(shape) -> tuple[float, float, float, float] | None:
    b = shape.find(f"{{{DC_NS}}}Bounds")
    if b is None:
        return None
    try:
        return tuple(float(b.get(k, 0)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]
    except ValueError:
        return None


def _text(x: float, y: float, label: str | None, *, size: int = 11, anchor: str = "middle",
          width: float = 90, weight: str = "normal", fill: str = "#222") -> str:
    if not label:
        return ""
    # wrap CJK/latin text by character budget
    per_line = max(4, int(width / (size * 0.95)))
    lines = [label[i:i + per_line] for i in range(0, len(label), per_line)][:4]
    start = y - (len(lines) - 1) * size * 0.6
    spans = "".join(f'<tspan x="{x:.1f}" y="{start + i * size * 1.2:.1f}">{escape(t)}</tspan>'
                    for i, t in enumerate(lines))
    return (f'<text font-size="{size}" text-anchor="{anchor}" font-weight="{weight}" fill="{fill}" '
            f'dominant-baseline="middle">{spans}</text>')


def render_svg(doc: ModelDocument, task_materials: dict[str, list[str]] | None = None,
               max_width: int = 1100) -> str:
    """SVG markup for the first diagram of a document."""
    root = doc.tree.getroot()
    plane = root.find(f".//{{{BPMNDI_NS}}}BPMNPlane")
    if plane is None:
        return '<p class="nodi">(this model has no diagram interchange to draw)</p>'
    nodes: dict[str, Node] = {}
    for p in doc.processes:
        for n in p.walk():
            nodes[n.id] = n
    elements = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    task_materials = task_materials or {}
    shapes, edges, xs, ys = [], [], [], []
    for shape in plane.iter(f"{{{BPMNDI_NS}}}BPMNShape"):
        bounds = _bounds(shape)
        ref = shape.get("bpmnElement")
        if bounds is None or ref not in elements:
            continue
        shapes.append((ref, elements[ref], bounds))
        xs += [bounds[0], bounds[0] + bounds[2]]
        ys += [bounds[1], bounds[1] + bounds[3]]
    for edge in plane.iter(f"{{{BPMNDI_NS}}}BPMNEdge"):
        points = []
        for wp in edge.findall(f"{{{DI_NS}}}waypoint"):
            try:
                points.append((float(wp.get("x", 0)), float(wp.get("y", 0))))
            except ValueError:
                continue
        ref = edge.get("bpmnElement")
        if len(points) >= 2:
            edges.append((ref, elements.get(ref), points))
            xs += [p[0] for p in points]
            ys += [p[1] for p in points]
    if not xs:
        return '<p class="nodi">(this model has no diagram interchange to draw)</p>'
    x0, y0 = min(xs) - 20, min(ys) - 20
    w, h = max(xs) - x0 + 20, max(ys) - y0 + 20
    order = {"participant": 0, "lane": 1}
    shapes.sort(key=lambda s: order.get(_local(s[1].tag), 2))
    body = [_shape(ref, el, b, nodes.get(ref), task_materials) for ref, el, b in shapes]
    body += [_edge(el, pts) for _, el, pts in edges]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{x0:.0f} {y0:.0f} {w:.0f} {h:.0f}" '
            f'width="{min(w, max_width):.0f}" class="bpmn" role="img" '
            f'font-family="Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif">'
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>'
            + "".join(body) + "</svg>")


def _shape(ref: str, el, b, node: Node | None, task_materials: dict) -> str:
    x, y, w, h = b
    tag = _local(el.tag)
    name = el.get("name")
    cx, cy = x + w / 2, y + h / 2
    if tag == "participant":
        return (f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="#fbfbfb" stroke="#555"/>'
                f'<rect x="{x}" y="{y}" width="30" height="{h}" fill="#eef2f7" stroke="#555"/>'
                + _vertical(x + 15, cy, name))
    if tag == "lane":
        return (f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="none" stroke="#888"/>'
                + _vertical(x + 15, cy, name, size=10))
    if tag.endswith("Gateway"):
        mark = {"parallelGateway": "+", "exclusiveGateway": "×", "inclusiveGateway": "○",
                "eventBasedGateway": "◇"}.get(tag, "")
        return (f'<path d="M{cx},{y} L{x + w},{cy} L{cx},{y + h} L{x},{cy} z" fill="#fff8e1" stroke="#333"/>'
                + _text(cx, cy, mark, size=16, weight="bold") + _text(cx, y + h + 12, name, size=10, width=120))
    if tag.endswith("Event"):
        stroke = "3" if tag == "endEvent" else "1.5"
        return (f'<circle cx="{cx}" cy="{cy}" r="{w / 2}" fill="#fff" stroke="#333" stroke-width="{stroke}"/>'
                + _text(cx, y + h + 12, name, size=10, width=100))
    if tag in ("dataObjectReference", "dataObject", "dataStoreReference"):
        fold = min(10, w / 3)
        return (f'<path d="M{x},{y} L{x + w - fold},{y} L{x + w},{y + fold} L{x + w},{y + h} L{x},{y + h} z" '
                f'fill="#f1f3f5" stroke="#666"/>' + _text(cx, y + h + 11, name, size=9, width=90, fill="#555"))
    onsite = node is not None and node.onsite
    materials = len(task_materials.get(ref, []))
    stroke = ONSITE_COLOR if onsite else "#333"
    fill = "#fff4e6" if onsite else ("#f3f0ff" if tag in ("subProcess", "transaction") else TASK_FILL)
    out = [f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="10" fill="{fill}" stroke="{stroke}" '
           f'stroke-width="{2.5 if onsite else 1.5}"><title>{escape(name or ref)}</title></rect>',
           _text(cx, cy, name or ref, width=w - 8)]
    if tag in ("serviceTask", "scriptTask"):
        out.append(_text(x + 12, y + 12, "⚙", size=12))
    if onsite:
        out.append(f'<rect x="{x + w - 34}" y="{y - 9}" width="34" height="16" rx="8" fill="{ONSITE_COLOR}"/>'
                   + _text(x + w - 17, y - 1, "现场", size=10, fill="#fff", width=40))
    if materials >= MANY_MATERIALS:
        out.append(f'<circle cx="{x + 10}" cy="{y + h - 10}" r="9" fill="#1c7ed6"/>'
                   + _text(x + 10, y + h - 10, str(materials), size=10, fill="#fff", width=20)
                   + f'<title>{materials} applicant materials</title>')
    return "".join(out)


def _vertical(x: float, cy: float, label: str | None, size: int = 11) -> str:
    if not label:
        return ""
    return (f'<text transform="rotate(-90 {x:.1f} {cy:.1f})" x="{x:.1f}" y="{cy:.1f}" font-size="{size}" '
            f'text-anchor="middle" dominant-baseline="middle">{escape(label)}</text>')


def _edge(el, points) -> str:
    tag = _local(el.tag) if el is not None else "sequenceFlow"
    d = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(points))
    if tag in ("dataInputAssociation", "dataOutputAssociation", "association"):
        return f'<path d="{d}" fill="none" stroke="#999" stroke-dasharray="4 3" marker-end="url(#arrow)"/>'
    if tag == "messageFlow":
        return f'<path d="{d}" fill="none" stroke="#555" stroke-dasharray="6 4" marker-end="url(#arrow)"/>'
    label = el.get("name") if el is not None else None
    mid = points[len(points) // 2 - 1] if len(points) > 2 else points[0]
    nxt = points[len(points) // 2]
    lx, ly = (mid[0] + nxt[0]) / 2, (mid[1] + nxt[1]) / 2 - 8
    return (f'<path d="{d}" fill="none" stroke="#333" stroke-width="1.3" marker-end="url(#arrow)"/>'
            + _text(lx, ly, label, size=9, width=80, fill="#444"))


"""Render a BPMN diagram (its diagram interchange) as inline SVG.

Draws pools and lanes, tasks, gateways, events, data objects, sequence flows
and data associations with their labels, at the positions the modeler saved.
Onsite steps (the applicant must come: a trip) are drawn in orange with a
"现场" badge; steps that ask for several applicant materials carry a badge
with the count.  Models without diagram interchange get a short note instead.

Readability: the SVG is drawn at the modeler's own scale (one unit = one CSS
pixel; the report scrolls a wide diagram sideways), every text is at least
:data:`MIN_TEXT` px, flows are drawn under the shapes, labels outside shapes
carry a white halo so a crossing line does not cut through them, and a task's
name keeps clear of its badges (the lines that fit the box, the rest in its
tooltip).
"""
from __future__ import annotations

from .safetext import html as escape
from .bpmn_model import BPMNDI_NS, DC_NS, DI_NS, ModelDocument, Node, _local

ONSITE_COLOR = "#e8590c"
TASK_FILL = "#ffffff"
MANY_MATERIALS = 3
MIN_TEXT = 11
HALO = 'stroke="#fff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"'


def _bounds(shape) -> tuple[float, float, float, float] | None:
    b = shape.find(f"{{{DC_NS}}}Bounds")
    if b is None:
        return None
    try:
        return tuple(float(b.get(k, 0)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]
    except ValueError:
        return None


def _text(x: float, y: float, label: str | None, *, size: int = 12, anchor: str = "middle",
          width: float = 90, weight: str = "normal", fill: str = "#222", max_lines: int = 4,
          halo: bool = False, cls: str = "") -> str:
    if not label:
        return ""
    size = max(size, MIN_TEXT)
    # wrap CJK/latin text by character budget (a CJK character is one em wide)
    per_line = max(2, int(width / (size * 1.0)))
    lines = [label[i:i + per_line] for i in range(0, len(label), per_line)]
    if len(lines) > max(1, max_lines):
        lines = lines[:max(1, max_lines)]
        lines[-1] = lines[-1][:-1] + "…"
    start = y - (len(lines) - 1) * size * 0.6
    spans = "".join(f'<tspan x="{x:.1f}" y="{start + i * size * 1.2:.1f}">{escape(t)}</tspan>'
                    for i, t in enumerate(lines))
    return (f'<text font-size="{size}" text-anchor="{anchor}" font-weight="{weight}" fill="{fill}" '
            f'dominant-baseline="middle"{" " + HALO if halo else ""}{f" class={chr(34)}{cls}{chr(34)}" if cls else ""}>'
            f'{spans}</text>')


def render_svg(doc: ModelDocument, task_materials: dict[str, list[str]] | None = None) -> str:
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
    labels: dict[str, tuple] = {}          # where the modeler put an element's label (BPMNLabel bounds)
    for di in plane.iter(f"{{{BPMNDI_NS}}}BPMNShape", f"{{{BPMNDI_NS}}}BPMNEdge"):
        label = di.find(f"{{{BPMNDI_NS}}}BPMNLabel")
        lb = _bounds(label) if label is not None else None
        if lb is not None and lb[2] > 0 and lb[3] > 0:
            labels[di.get("bpmnElement")] = lb
            xs += [lb[0], lb[0] + lb[2]]
            ys += [lb[1], lb[1] + lb[3]]
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
    if not shapes and not edges:
        return '<p class="nodi">(this model has no diagram interchange to draw)</p>'
    x0, y0 = min(xs) - 20, min(ys) - 30
    w, h = max(xs) - x0 + 20, max(ys) - y0 + 40
    order = {"participant": 0, "lane": 1}
    shapes.sort(key=lambda s: order.get(_local(s[1].tag), 2))
    pools = [s for s in shapes if _local(s[1].tag) in order]
    others = [s for s in shapes if _local(s[1].tag) not in order]
    taken = [b for _, _, b in others] + list(labels.values())
    drawn = [_edge(el, pts, labels.get(ref), taken) for ref, el, pts in edges]
    # pools and lanes, then flows, then shapes over the flows, then the outside labels over everything
    body = [_shape(ref, el, b, nodes.get(ref), task_materials) for ref, el, b in pools]
    body += [line for line, _ in drawn]
    body += [_shape(ref, el, b, nodes.get(ref), task_materials) for ref, el, b in others]
    body += [_outside_label(el, b, labels.get(ref)) for ref, el, b in others]
    body += [label for _, label in drawn]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{x0:.0f} {y0:.0f} {w:.0f} {h:.0f}" '
            f'width="{w:.0f}" height="{h:.0f}" class="bpmn" role="img" '
            f'font-family=\'{FONT_FAMILY}\'>'
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
                + _vertical(x + 15, cy, name, h))
    if tag == "lane":
        return (f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="none" stroke="#888"/>'
                + _vertical(x + 15, cy, name, h, size=MIN_TEXT))
    if tag.endswith("Gateway"):
        mark = {"parallelGateway": "+", "exclusiveGateway": "×", "inclusiveGateway": "○",
                "eventBasedGateway": "◇"}.get(tag, "")
        return (f'<path d="M{cx},{y} L{x + w},{cy} L{cx},{y + h} L{x},{cy} z" fill="#fff8e1" stroke="#333">'
                f'<title>{escape(name or ref)}</title></path>' + _text(cx, cy, mark, size=16, weight="bold"))
    if tag.endswith("Event"):
        stroke = "3" if tag == "endEvent" else "1.5"
        return (f'<circle cx="{cx}" cy="{cy}" r="{w / 2}" fill="#fff" stroke="#333" stroke-width="{stroke}">'
                f'<title>{escape(name or ref)}</title></circle>')
    if tag in ("dataObjectReference", "dataObject", "dataStoreReference"):
        fold = min(10, w / 3)
        return (f'<path d="M{x},{y} L{x + w - fold},{y} L{x + w},{y + fold} L{x + w},{y + h} L{x},{y + h} z" '
                f'fill="#f1f3f5" stroke="#666"><title>{escape(name or ref)}</title></path>')
    onsite = node is not None and node.onsite
    materials = len(task_materials.get(ref, []))
    stroke = ONSITE_COLOR if onsite else "#333"
    fill = "#fff4e6" if onsite else ("#f3f0ff" if tag in ("subProcess", "transaction") else TASK_FILL)
    size = 12
    many = materials >= MANY_MATERIALS
    # badges sit inside the box's corners; the name is centred in the band between them
    top, bottom = y + (22 if onsite else 5), y + h - (22 if many else 5)
    lines = max(1, int((bottom - top) // (size * 1.2)))
    out = [f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="10" fill="{fill}" stroke="{stroke}" '
           f'stroke-width="{2.5 if onsite else 1.5}"><title>{escape(name or ref)}</title></rect>',
           _text(cx, (top + bottom) / 2, name or ref, size=size, width=w - 10, max_lines=lines, cls="tasklabel")]
    if tag in ("serviceTask", "scriptTask"):
        out.append(_text(x + 12, y + 12, "⚙", size=12))
    if onsite:
        out.append(f'<g class="badge"><rect x="{x + w - 39}" y="{y + 3}" width="35" height="17" rx="8" '
                   f'fill="{ONSITE_COLOR}"/>' + _text(x + w - 21.5, y + 11.5, "现场", size=MIN_TEXT, fill="#fff",
                                                     width=40) + "</g>")
    if many:
        out.append(f'<g class="badge"><circle cx="{x + w - 13}" cy="{y + h - 12}" r="9" fill="#1c7ed6"/>'
                   + _text(x + w - 13, y + h - 12, str(materials), size=MIN_TEXT, fill="#fff", width=20)
                   + f'<title>{materials} applicant materials</title></g>')
    return "".join(out)


def _in_box(label: str | None, box, fill: str = "#222") -> str:
    """A label centred in the box the modeler gave it, with a halo over any crossing line."""
    x, y, w, h = box
    return _text(x + w / 2, y + h / 2, label, size=MIN_TEXT, width=max(w, 4 * MIN_TEXT), fill=fill, halo=True,
                 max_lines=3)


def _outside_label(el, b, box=None) -> str:
    """Names of events, gateways and data objects: where the modeler put them, else under the
    shape; over any crossing flow."""
    x, y, w, h = b
    tag = _local(el.tag)
    name = el.get("name")
    if box is not None and (tag.endswith("Gateway") or tag.endswith("Event") or tag.startswith("data")):
        return _in_box(name, box, "#555" if tag.startswith("data") else "#222")
    if tag.endswith("Gateway") or tag.endswith("Event"):
        return _text(x + w / 2, y + h + 14, name, size=MIN_TEXT, width=110, halo=True, max_lines=3)
    if tag in ("dataObjectReference", "dataObject", "dataStoreReference"):
        return _text(x + w / 2, y + h + 13, name, size=MIN_TEXT, width=100, fill="#555", halo=True, max_lines=3)
    return ""


def _vertical(x: float, cy: float, label: str | None, length: float, size: int = 12) -> str:
    if not label:
        return ""
    room = max(1, int((length - 8) // size))
    text = label if len(label) <= room else label[:room - 1] + "…"
    return (f'<text transform="rotate(-90 {x:.1f} {cy:.1f})" x="{x:.1f}" y="{cy:.1f}" font-size="{size}" '
            f'text-anchor="middle" dominant-baseline="middle"><title>{escape(label)}</title>{escape(text)}</text>')


def _edge(el, points, box=None, taken: list | None = None) -> tuple[str, str]:
    """The flow's line and, separately, its label (drawn last, with a halo).  ``taken``: the
    boxes of shapes and of labels already placed, which a label without a modeler's position avoids."""
    taken = [] if taken is None else taken
    tag = _local(el.tag) if el is not None else "sequenceFlow"
    d = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(points))
    if tag in ("dataInputAssociation", "dataOutputAssociation", "association"):
        return f'<path d="{d}" fill="none" stroke="#999" stroke-dasharray="4 3" marker-end="url(#arrow)"/>', ""
    if tag == "messageFlow":
        return f'<path d="{d}" fill="none" stroke="#555" stroke-dasharray="6 4" marker-end="url(#arrow)"/>', ""
    label = el.get("name") if el is not None else None
    line = f'<path d="{d}" fill="none" stroke="#333" stroke-width="1.3" marker-end="url(#arrow)"/>'
    if box is not None:
        return line, _in_box(label, box, "#444")
    if not label:
        return line, ""
    # no position from the modeler: beside a segment, the first (from the source) where the label
    # covers no shape and no label placed before it
    per_line = 8
    w = min(len(label), per_line) * MIN_TEXT + 4
    h = -(-len(label) // per_line) * MIN_TEXT * 1.2 + 2
    candidates = []
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        mx, my = (ax + bx) / 2, (ay + by) / 2
        if abs(by - ay) < abs(bx - ax):          # horizontal: above, else below the line
            candidates += [(mx, my - 4 - h / 2, "middle"), (mx, my + 4 + h / 2, "middle")]
        else:                                    # vertical: right, else left of it
            candidates += [(mx + 6, my, "start"), (mx - 6, my, "end")]

    def area(c):
        x, y, anchor = c
        left = x - w / 2 if anchor == "middle" else x if anchor == "start" else x - w
        return left, y - h / 2, w, h

    def free(r):
        return not any(r[0] < o[0] + o[2] and o[0] < r[0] + r[2] and r[1] < o[1] + o[3] and o[1] < r[1] + r[3]
                       for o in taken)
    x, y, anchor = next((c for c in candidates if free(area(c))), candidates[0])
    taken.append(area((x, y, anchor)))
    return line, _text(x, y, label, size=MIN_TEXT, width=per_line * MIN_TEXT, fill="#444", halo=True,
                       anchor=anchor, max_lines=3)


FONT_FAMILY = ('Noto Sans CJK SC, Noto Sans SC, Source Han Sans SC, PingFang SC, Hiragino Sans GB, '
               'Microsoft YaHei, WenQuanYi Micro Hei, sans-serif')

"""Static metrics of a matter's BPMN model (四减一优) and re-engineering findings.

Everything here reads the plain dataclasses of :mod:`engine.bpmn_model`, so
descriptive models from any modeler are analysed as well as executable ones.
DESIGN.md ("Annotating a matter", "Metric definitions") is authoritative; the
rules below settle what it leaves open.

Paths
-----
* The graph is the sequence flows between the flow nodes of one process (or of
  one embedded sub-process).  A process is entered at its start events, which
  are *alternatives* (two channels of application: the worst one counts).  A
  graph without start events starts at every node without incoming flow
  (BPMN implicit start: all of them run), leaving out boundary events, link
  catch events, event sub-processes and compensation handlers.
* A path ends at an end event or at a node without outgoing sequence flow
  (implicit end).  A throw link event without outgoing flow continues at the
  catch link events of the same link name.
* Back edges (return for correction, resubmission) are ignored: a DFS from the
  start nodes marks every edge into a node still on the DFS stack.
* Only nodes on a start-to-END path of the remaining DAG count for path
  metrics.  A correction step whose only way on is the back edge (residence
  permit: 补正材料) is a dead end once the loop is cut and does not count.
  Nodes the start cannot reach get an ``unreachable`` finding; they still
  count in ``tasks_total``, ``lanes`` and ``materials``.
* Splits: exclusive and event-based gateways are alternatives; parallel,
  inclusive and complex gateways, and activities or events with several
  outgoing flows (implicit split), run all their branches.  The ``default``
  flow of an inclusive/complex gateway or activity is an alternative to the
  other branches together (it is taken only when none of them is).
* Boundary events: the path through an interrupting boundary event is an
  alternative to the normal outgoing path of the activity it is attached to;
  a non-interrupting one (``cancelActivity="false"``) runs in addition.
* ``steps`` and ``visits``: parallel branches add up, alternatives take the
  worst (largest).  Each metric takes its own worst path.  Computed by dynamic
  programming over the DAG in reverse topological order, never by enumerating
  paths: value(v) = weight(v) + max over successors for an alternative split;
  for a split that runs all branches, with j its immediate post-dominator (its
  join), value(v) = weight(v) + sum over branches of (value(branch) - value(j))
  + value(j), so what follows the join is counted once.  This is exact for
  block-structured models; when branches leave the block through different
  merges (unstructured graphs) the part after such a merge is counted once per
  branch reaching it (an upper bound, which is what a worst case wants; it is
  also what happens at an exclusive merge, which passes each token on).
* Derived working days: sequences add up, every split takes the longest branch
  (critical path).  A step annotated ``clock=stop`` (waiting on the applicant)
  adds no days.  ``workdays`` count on any activity or event, human or not
  (time is time).
* Embedded sub-processes are expanded: the content's value is the node's
  value; the node itself is not a step.  Call activities whose
  ``calledElement`` is a process of the same file, of a file uploaded or
  analysed with it, or of the stored version it was bound to at upload are
  expanded the same way
  (recursion is cut with a ``recursive_call`` finding); others count 0 with an
  ``unresolved_call`` finding.  A sub-process or call activity annotated with
  its own ``workdays`` uses that instead of its content's critical path.  A
  sub-process without a start-to-end path counts 0 (``no_complete_path``).
  Event sub-processes (``triggeredByEvent``) are exceptional and left out of
  paths.  Multi-instance and looped activities count once.
* Several processes in one file (pools of a collaboration): the main process
  is analysed (:func:`engine.bpmn_model.choose_process`); message flows are
  ignored.  Processes it calls are part of it.

Metrics
-------
* ``steps``: human tasks (userTask, manualTask, plain task) not annotated
  ``step=false``.  Service, script, business-rule, send and receive tasks never.
* ``visits``: tasks annotated ``onsite=true`` (a human task annotated
  ``step=false`` that still needs the applicant in person is still a trip).
* ``promised_workdays``: the process property when annotated (then
  ``promised_derived`` is False), else the critical path, or None when no
  node on a start-to-end path has ``workdays``.
* ``tasks_total``: every task of any kind in the process, its embedded
  sub-processes and the processes it calls, each element once, on a path or not.
* ``lanes``: sorted names of the lanes of those tasks (departments involved).

Materials
---------
* The material scope is the whole process (embedded sub-processes and called
  processes included), on a path or not: "required anywhere in the process".
* A data object, data object reference or data store reference with a
  ``source`` property is a material of that kind (applicant/shared/issued),
  whether or not a data association connects it: a requirement drawn in the
  model cannot be hidden by deleting an arrow.  An applicant one that no step
  reads gets an ``unconnected_material`` finding.  An unknown ``source`` value
  counts as applicant (``unknown_source`` finding).  Data items without
  ``source`` are internal data, not materials.
* Every id in a flow node's ``materials`` list is an applicant material unless
  a data item with that id (or the same data object) says otherwise.
* Identity is the id; a data object and its references are one material,
  named by the id the steps cite: the first cited reference id (sorted), else
  the data object id if cited, else the first reference id, else the object id.
* ``materials`` counts the distinct applicant materials; shared ones are
  listed (``shared_materials``), not counted; issued ones are listed.
* ``task_materials``: human task id -> the applicant materials it requires
  (read through a data input association or listed), tasks with none omitted.
* :func:`bundle_materials`: the applicant materials of a 一件事 bundle are the
  union over its matters (by id), so a material common to them counts once.

Findings
--------
* ``repeated_material``: an applicant material required by more than one human task.
* ``onsite_could_be_online``: an onsite human task requiring no applicant
  material (none at all, or only shared ones): could be online or by mail.
* ``could_parallelize``: a sequence flow from a step directly to a step of
  another lane, with no data dependency: neither reads a data item the other
  writes, and the first does not take in applicant materials (an intake step
  produces the case file the next one works on).  Draw a data association to
  declare a dependency.
* ``mergeable_approvals``: a sequence flow from a back-office (not onsite)
  step directly to a back-office step of the same lane.
* ``no_time_limit``: without a ``promised_workdays`` property, each step on a
  start-to-end path without ``workdays`` (``clock=stop`` steps excepted); when
  no node has ``workdays`` at all, one finding on the process instead.
* ``exceeds_statutory``: promised (annotated or derived) above statutory.
* ``no_lane``: a human task without a lane in a process that has lanes.
* ``unresolved_call``, ``recursive_call``, ``unreachable``, ``no_complete_path``,
  ``unconnected_material``, ``unknown_source``: see above.

:func:`analyze_document` returns a one-element list (the main process) when
``choose_process`` can tell it, else one entry per process that no other
process calls, so descriptive multi-pool files without ``matter_code`` are
still analysed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .bpmn_model import (AUTOMATED_TASKS, BPMN_NS, HUMAN_TASKS, MATERIAL_SOURCES, DataItem, Graph,
                         ModelDocument, Node, ProcessModel, as_number, choose_process, load_document)
from .errors import ModelError

__all__ = ["Finding", "ProcessMetrics", "analyze_process", "analyze_document", "analyze_path",
           "version_metrics", "bundle_materials"]

TASKS = HUMAN_TASKS | AUTOMATED_TASKS
_ALT, _ALL = "alt", "all"
_KIND = {"exclusiveGateway": _ALT, "eventBasedGateway": _ALT, "parallelGateway": _ALL,
         "inclusiveGateway": _ALL, "complexGateway": _ALL}
# "\x00" cannot occur in XML, so these never clash with element ids.
_ROOT, _SINK = "\x00start", "\x00end"


# ------------------------------------------------------------------ results

@dataclass
class Finding:
    kind: str
    element: str | None
    message: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "element": self.element, "message": self.message}


@dataclass
class ProcessMetrics:
    process_id: str
    name: str
    matter_code: str | None
    steps: int
    materials: int
    visits: int
    promised_workdays: float | None
    promised_derived: bool
    statutory_workdays: float | None
    tasks_total: int
    lanes: list[str]
    online: bool
    applicant_materials: list[str]
    shared_materials: list[str]
    issued_materials: list[str]
    material_names: dict[str, str]
    task_materials: dict[str, list[str]]
    returnable_tasks: list[str]             # steps that can send the file back (补正 loops)
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "findings"}
        out["lanes"] = list(self.lanes)
        for key in ("applicant_materials", "shared_materials", "issued_materials"):
            out[key] = list(out[key])
        out["material_names"] = dict(self.material_names)
        out["task_materials"] = {k: list(v) for k, v in self.task_materials.items()}
        out["findings"] = [f.to_dict() for f in self.findings]
        return out


# ------------------------------------------------------------ graph algorithms

class _Dag:
    """Successor lists with a split kind per node (and the default successor)."""

    def __init__(self):
        self.succ: dict[str, list[str]] = {}
        self.kind: dict[str, str] = {}
        self.default: dict[str, str | None] = {}

    def add(self, vid: str, succ: list[str], kind: str = _ALT, default: str | None = None) -> None:
        self.succ[vid] = list(dict.fromkeys(succ))
        self.kind[vid] = kind
        self.default[vid] = default


def _dfs(dag: _Dag) -> tuple[list[str], set[tuple[str, str]]]:
    """Postorder of the nodes reached from the root, and the back edges (iterative)."""
    on_stack, done = {_ROOT}, set()
    post: list[str] = []
    back: set[tuple[str, str]] = set()
    stack = [(_ROOT, iter(dag.succ[_ROOT]))]
    while stack:
        v, it = stack[-1]
        for w in it:
            if w in on_stack:
                back.add((v, w))
            elif w not in done:
                on_stack.add(w)
                stack.append((w, iter(dag.succ.get(w, ()))))
                break
        else:
            stack.pop()
            on_stack.discard(v)
            done.add(v)
            post.append(v)
    return post, back


@dataclass
class _Block:
    """The analysed content of one graph (a process or an embedded sub-process)."""
    graph: Graph
    owner: ProcessModel
    steps: int = 0
    visits: int = 0
    days: float = 0.0
    timed: bool = False
    kept: set[str] = field(default_factory=set)        # BPMN nodes on a start-to-end path
    order: dict[str, int] = field(default_factory=dict)  # topological index of kept nodes


def _solve(dag: _Dag, weight) -> tuple[list[int | float], set[str], list[str], set[str]]:
    """Worst-case (steps, visits, days) from the root; kept nodes; topological order; reached."""
    post, back = _dfs(dag)
    reached = set(post)
    fsucc = {v: [w for w in dag.succ[v] if (v, w) not in back] for v in post}
    pred: dict[str, list[str]] = {}
    for v, ws in fsucc.items():
        for w in ws:
            pred.setdefault(w, []).append(v)
    kept: set[str] = set()
    if _SINK in reached:
        kept.add(_SINK)
        todo = [_SINK]
        while todo:
            for u in pred.get(todo.pop(), ()):
                if u not in kept:
                    kept.add(u)
                    todo.append(u)
    if _ROOT not in kept:
        return [0, 0, 0.0], set(), [], reached
    order = [v for v in reversed(post) if v in kept]
    index = {v: i for i, v in enumerate(order)}
    ipdom: dict[str, str] = {}
    val: dict[str, list] = {_SINK: [0, 0, 0.0]}

    def meet(a: str, b: str) -> str:
        while a != b:
            if index[a] < index[b]:
                a = ipdom[a]
            else:
                b = ipdom[b]
        return a

    for v in post:                       # successors before their predecessors
        if v not in kept or v == _SINK:
            continue
        succ = [w for w in fsucc[v] if w in kept]
        join = succ[0]
        for w in succ[1:]:
            join = meet(join, w)
        ipdom[v] = join
        own = weight(v)
        days = own[2] + max(val[w][2] for w in succ)
        if dag.kind[v] == _ALT or len(succ) == 1:
            counts = [own[i] + max(val[w][i] for w in succ) for i in (0, 1)]
        else:
            base, default = val[join], dag.default[v]
            counts = []
            for i in (0, 1):
                extra = sum(val[w][i] - base[i] for w in succ if w != default)
                if default in succ:
                    extra = max(extra, val[default][i] - base[i])
                counts.append(own[i] + extra + base[i])
        val[v] = [counts[0], counts[1], days]
    return val[_ROOT], kept, order, reached


# ------------------------------------------------------------------ helpers

def _label(node: Node | DataItem | ProcessModel) -> str:
    name = (node.name or "").strip()
    return f"{name} ({node.id})" if name and name != node.id else node.id


def _graphs(graph: Graph):
    yield graph
    for node in graph.nodes.values():
        if node.graph is not None:
            yield from _graphs(node.graph)


def _index_elements(doc: ModelDocument | None) -> dict:
    tag = "{%s}" % BPMN_NS
    out: dict = {}
    for d in reversed([doc, *getattr(doc, "library", [])] if doc is not None else []):
        tree = getattr(d, "tree", None)
        if tree is not None:        # the main file's elements win over a called file's
            out.update({el.get("id"): el for el in tree.getroot().iter()
                        if isinstance(el.tag, str) and el.tag.startswith(tag) and el.get("id")})
    return out


class _Materials:
    """Material identity (data objects and their references) and kinds over a scope."""

    def __init__(self, items: dict[str, DataItem], cited: set[str]):
        self.items = items
        self.groups: dict[str, list[str]] = {}
        for iid in items:
            self.groups.setdefault(self._root(iid), []).append(iid)
        self.display: dict[str, str] = {}
        for root, members in self.groups.items():
            refs = sorted(m for m in members if m != root)
            ranked = [m for m in refs if m in cited] + ([root] if root in cited else []) + refs + [root]
            self.display[root] = ranked[0]

    def _root(self, iid: str) -> str:
        item = self.items.get(iid)
        return item.object_ref if item and item.object_ref in self.items else iid

    def canon(self, iid: str) -> str:
        """The id a material is known by (a data object and its references are one material)."""
        return self.display.get(self._root(iid), iid)

    def _members(self, iid: str) -> list[DataItem]:
        """The data items of a material, the one it is known by first."""
        root = self._root(iid)
        members = self.groups.get(root, [])
        return [self.items[m] for m in sorted(members, key=lambda m: m != self.display[root])]

    def source(self, iid: str) -> str | None:
        return next((item.source for item in self._members(iid) if item.source), None)

    def name(self, iid: str) -> str | None:
        return next((item.name for item in self._members(iid) if item.name), None)


# ------------------------------------------------------------------ analysis

class _Analyzer:
    def __init__(self, doc: ModelDocument | None, process: ProcessModel):
        self.doc, self.process = doc, process
        self.processes = {p.id: p for p in (doc.all_processes() if doc is not None else [])}
        self.processes.setdefault(process.id, process)
        self._elements: dict | None = None       # indexed on first use (sub-processes, link events)
        self.findings: list[Finding] = []
        self.blocks: dict[tuple[str, str], _Block] = {}
        self.calling: list[str] = []
        self.scope: list[tuple[Graph, ProcessModel]] = []
        self._collect_scope()

    def note(self, kind: str, element: str | None, message: str) -> None:
        self.findings.append(Finding(kind, element, message))

    # -------------------------------------------------------- scope
    def _collect_scope(self) -> None:
        todo, seen = [self.process], {self.process.id}
        while todo:
            proc = todo.pop(0)
            for graph in _graphs(proc):
                self.scope.append((graph, proc))
                for node in graph.nodes.values():
                    if node.tag != "callActivity":
                        continue
                    target = self.processes.get(node.called_element or "")
                    if target is None:
                        self.note("unresolved_call", node.id,
                                  f"call activity {_label(node)} calls "
                                  f"{node.called_element or '(nothing)'!r}, not a process of this file "
                                  f"or the files given with it: counted as 0 steps")
                    elif target.id not in seen:
                        seen.add(target.id)
                        todo.append(target)

    def scope_nodes(self):
        for graph, owner in self.scope:
            for node in graph.nodes.values():
                yield node, owner

    # -------------------------------------------------------- attributes kept only in the XML
    @property
    def elements(self) -> dict:
        if self._elements is None:
            self._elements = _index_elements(self.doc)
        return self._elements

    def _attr(self, node: Node, name: str) -> str:
        el = self.elements.get(node.id)
        return (el.get(name) or "").strip().lower() if el is not None else ""

    def _event_subprocess(self, node: Node) -> bool:
        return node.graph is not None and self._attr(node, "triggeredByEvent") == "true"

    def _link_name(self, node: Node) -> str:
        el = self.elements.get(node.id)
        if el is not None:
            for child in el:
                if isinstance(child.tag, str) and child.tag == f"{{{BPMN_NS}}}linkEventDefinition":
                    if child.get("name"):
                        return child.get("name").strip()
        return (node.name or node.id).strip()

    @staticmethod
    def _is_link(node: Node, tag: str) -> bool:
        return node.tag == tag and "link" in node.event_definitions

    # -------------------------------------------------------- graph to DAG
    def _dag(self, graph: Graph) -> _Dag:
        nodes, flows, dag = graph.nodes, graph.flows, _Dag()
        boundaries: dict[str, list[Node]] = {}
        links: dict[str, list[str]] = {}
        for n in nodes.values():
            if n.tag == "boundaryEvent" and n.attached_to in nodes:
                boundaries.setdefault(n.attached_to, []).append(n)
            if self._is_link(n, "intermediateCatchEvent"):
                links.setdefault(self._link_name(n), []).append(n.id)
        for n in nodes.values():
            out = [flows[f] for f in n.outgoing if f in flows and flows[f].target in nodes]
            targets = [f.target for f in out]
            default = flows[n.default].target if n.default in n.outgoing and n.default in flows else None
            if not targets and self._is_link(n, "intermediateThrowEvent"):
                targets = links.get(self._link_name(n), [])
            if n.tag == "endEvent" or not targets:
                targets, default = [_SINK], None
            kind = _KIND.get(n.tag, _ALL)
            if n.tag == "parallelGateway":
                default = None
            attached = boundaries.get(n.id)
            if not attached:
                dag.add(n.id, targets, kind, default)
                continue
            normal = n.id + "\x00out"
            dag.add(normal, targets, kind, default)
            extra = [b.id for b in attached if self._attr(b, "cancelActivity") == "false"]
            if extra:
                dag.add(n.id + "\x00also", [normal, *extra], _ALL)
                normal = n.id + "\x00also"
            dag.add(n.id, [normal, *(b.id for b in attached if b.id not in extra)], _ALT)
        dag.add(_SINK, [])
        starts = [n.id for n in nodes.values() if n.tag == "startEvent"]
        if starts:
            dag.add(_ROOT, starts, _ALT)
        else:
            dag.add(_ROOT, [n.id for n in nodes.values() if not n.incoming and not self._not_a_start(n)], _ALL)
        return dag

    def _not_a_start(self, n: Node) -> bool:
        return (n.tag == "boundaryEvent" or self._is_link(n, "intermediateCatchEvent")
                or self._event_subprocess(n) or self._attr(n, "isForCompensation") == "true")

    # -------------------------------------------------------- blocks
    def block(self, key: tuple[str, str], graph: Graph, owner: ProcessModel, label: str) -> _Block:
        if key in self.blocks:
            return self.blocks[key]
        blk = _Block(graph, owner)
        self.blocks[key] = blk
        weights: dict[str, tuple] = {}

        def weight(vid: str) -> tuple:
            node = graph.nodes.get(vid)
            if node is None:
                return (0, 0, 0.0, False)
            weights[vid] = self._weight(node, owner)
            return weights[vid]

        value, kept, order, reached = _solve(self._dag(graph), weight)
        blk.steps, blk.visits, blk.days = value[0], value[1], value[2]
        blk.kept = {v for v in kept if v in graph.nodes}
        blk.order = {v: i for i, v in enumerate(order) if v in graph.nodes}
        blk.timed = any(w[3] for v, w in weights.items() if v in blk.kept)
        if not blk.kept:
            self.note("no_complete_path", key[1],
                      f"{label} has no start-to-end path (empty or broken): counted as 0 steps")
        for node in graph.nodes.values():
            if node.id not in reached and not (node.tag == "boundaryEvent" or self._not_a_start(node)):
                self.note("unreachable", node.id,
                          f"{_label(node)} cannot be reached from a start event: left out of steps and visits")
        return blk

    def _weight(self, node: Node, owner: ProcessModel) -> tuple:
        steps = 1 if node.counts_as_step else 0
        visits = 1 if node.tag in TASKS and node.onsite else 0
        days = node.workdays
        timed = days is not None and not node.clock_stop
        days = days if timed else 0.0
        inner = None
        if node.graph is not None:
            inner = self.block(("sub", node.id), node.graph, owner, f"sub-process {_label(node)}")
        elif node.tag == "callActivity":
            inner = self._call(node)
        if inner is not None:
            steps, visits = steps + inner.steps, visits + inner.visits
            if not timed:
                days, timed = inner.days, inner.timed
        return steps, visits, days, timed

    def _call(self, node: Node) -> _Block | None:
        target = self.processes.get(node.called_element or "")
        if target is None:
            return None               # reported while collecting the scope
        if target.id in self.calling or target.id == self.process.id:
            self.note("recursive_call", node.id,
                      f"call activity {_label(node)} calls {_label(target)} recursively: "
                      f"the recursive call counts as 0 steps")
            return None
        self.calling.append(target.id)
        try:
            return self.block(("process", target.id), target, target, f"process {_label(target)}")
        finally:
            self.calling.pop()

    # -------------------------------------------------------- materials
    def materials(self) -> tuple[_Materials, dict[str, set[str]], dict[str, set[str]]]:
        items: dict[str, DataItem] = {}
        cited: set[str] = set()
        for graph, _ in self.scope:
            items.update(graph.data)
        for node, _ in self.scope_nodes():
            cited.update(node.inputs)
            cited.update(node.materials)
        mats = _Materials(items, cited)
        kinds: dict[str, set[str]] = {k: set() for k in MATERIAL_SOURCES}
        for iid, item in items.items():
            src = mats.source(iid)
            if src is None:
                continue
            mid = mats.canon(iid)
            if src not in MATERIAL_SOURCES:
                if mid not in kinds["applicant"]:
                    self.note("unknown_source", mid, f"material {_label(item)} has source={src!r}; "
                              f"expected applicant, shared or issued: counted as applicant")
                src = "applicant"
            kinds[src].add(mid)
        per_node: dict[str, set[str]] = {}
        for node, _ in self.scope_nodes():
            need = per_node.setdefault(node.id, set())
            for iid in node.inputs:
                if iid in items and mats.source(iid) is not None:
                    need.add(mats.canon(iid))
            for iid in node.materials:
                mid = mats.canon(iid)
                need.add(mid)
                if mats.source(iid) is None:
                    kinds["applicant"].add(mid)
        for mid in sorted(kinds["applicant"]):
            if not any(mid in need for need in per_node.values()):
                item = items.get(mid)
                self.note("unconnected_material", mid,
                          f"applicant material {_label(item) if item else mid} is required by no step "
                          f"(no data input association): still counted; connect it or delete it")
        return mats, kinds, per_node

    # -------------------------------------------------------- findings
    def step_findings(self, mats: _Materials, applicant: set[str], per_node: dict[str, set[str]]) -> None:
        human = [(n, owner) for n, owner in self.scope_nodes() if n.is_human]
        askers: dict[str, list[Node]] = {}
        for node, owner in human:
            for mid in sorted(per_node[node.id] & applicant):
                askers.setdefault(mid, []).append(node)
            if owner.lanes and not node.lane:
                self.note("no_lane", node.id, f"task {_label(node)} is in no lane, so no department "
                          f"owns it, while {_label(owner)} has lanes")
            if node.onsite and not per_node[node.id] & applicant:
                shared = sorted(per_node[node.id])
                why = (f"all its materials ({', '.join(shared)}) are shared or issued" if shared
                       else "it requires no applicant material")
                self.note("onsite_could_be_online", node.id,
                          f"onsite step {_label(node)}: {why}; could be done online or by mail")
        for mid, nodes in askers.items():
            if len(nodes) > 1:
                name = mats.name(mid)
                shown = f"{name} ({mid})" if name and name != mid else mid
                self.note("repeated_material", mid, f"material {shown} is asked at {len(nodes)} steps: "
                          f"{', '.join(_label(n) for n in nodes)}; ask it once")
        for blk in self.blocks.values():
            self._pair_findings(blk, mats, applicant, per_node)

    def _pair_findings(self, blk: _Block, mats: _Materials, applicant: set[str],
                       per_node: dict[str, set[str]]) -> None:
        nodes, order = blk.graph.nodes, blk.order
        for flow in blk.graph.flows.values():
            a, b = nodes.get(flow.source), nodes.get(flow.target)
            if (a is None or b is None or a.id not in order or b.id not in order
                    or order[a.id] >= order[b.id] or not (a.counts_as_step and b.counts_as_step)):
                continue
            if a.lane and b.lane and a.lane != b.lane and not self._depends(a, b, mats, applicant, per_node):
                self.note("could_parallelize", b.id,
                          f"{_label(a)} [{a.lane}] and {_label(b)} [{b.lane}] run one after the other "
                          f"in different departments with no data dependency: could run in parallel "
                          f"(draw a data association if {_label(b)} needs the result of {_label(a)})")
            elif a.lane and a.lane == b.lane and not (a.onsite or b.onsite):
                self.note("mergeable_approvals", b.id,
                          f"{_label(a)} and {_label(b)} are consecutive back-office steps of "
                          f"{a.lane}: could be merged into one")

    @staticmethod
    def _depends(a: Node, b: Node, mats: _Materials, applicant: set[str], per_node: dict) -> bool:
        def canon(ids):
            return {mats.canon(i) for i in ids}
        if per_node[a.id] & applicant:
            return True
        return bool(canon(a.outputs) & canon(b.inputs) or canon(b.outputs) & canon(a.inputs))

    def time_findings(self, annotated: float | None, promised: float | None,
                      statutory: float | None) -> None:
        if annotated is None:
            steps = [n for blk in self.blocks.values() for n in blk.graph.nodes.values()
                     if n.id in blk.kept and n.counts_as_step and not n.clock_stop]
            missing = [n for n in steps if n.workdays is None]
            if promised is None:
                self.note("no_time_limit", self.process.id,
                          f"{_label(self.process)} has no promised_workdays and no step has workdays: "
                          f"the promised time limit is unknown")
            else:
                for node in missing:
                    self.note("no_time_limit", node.id,
                              f"step {_label(node)} has no workdays and the process no promised_workdays: "
                              f"the derived time limit leaves it out")
        if promised is not None and statutory is not None and promised > statutory:
            self.note("exceeds_statutory", self.process.id,
                      f"promised time limit {promised:g} working days exceeds the statutory "
                      f"{statutory:g} of {_label(self.process)}")

    # -------------------------------------------------------- all together
    def run(self) -> ProcessMetrics:
        proc = self.process
        self.calling.append(proc.id)
        main = self.block(("process", proc.id), proc, proc, f"process {_label(proc)}")
        self.calling.pop()
        mats, kinds, per_node = self.materials()
        applicant = kinds["applicant"]
        self.step_findings(mats, applicant, per_node)
        annotated = as_number(proc.props.get("promised_workdays"))
        statutory = as_number(proc.props.get("statutory_workdays"))
        derived = round(main.days, 6) if main.timed else None
        promised = annotated if annotated is not None else derived
        self.time_findings(annotated, promised, statutory)
        tasks = {n.id: n for n, _ in self.scope_nodes() if n.tag in TASKS}
        names = {}
        for mid in sorted(set().union(*kinds.values())):
            name = mats.name(mid)
            if name:
                names[mid] = name
        task_materials = {}
        for node, _ in self.scope_nodes():
            need = sorted(per_node[node.id] & applicant)
            if node.is_human and need:
                task_materials[node.id] = need
        return ProcessMetrics(
            process_id=proc.id, name=proc.label, matter_code=proc.matter_code,
            steps=main.steps, materials=len(applicant), visits=main.visits,
            promised_workdays=promised, promised_derived=annotated is None and promised is not None,
            statutory_workdays=statutory, tasks_total=len(tasks),
            lanes=sorted({n.lane for n in tasks.values() if n.lane}), online=main.visits == 0,
            applicant_materials=sorted(applicant), shared_materials=sorted(kinds["shared"] - applicant),
            issued_materials=sorted(kinds["issued"] - applicant), material_names=names,
            task_materials=task_materials, returnable_tasks=sorted(returnable_tasks(proc)),
            findings=self.findings)


def returnable_tasks(process: ProcessModel) -> set[str]:
    """Human tasks followed by an exclusive gateway that branches on ``returned`` (补正 loops)."""
    out = set()
    for graph in [process] + [n.graph for n in process.walk() if n.graph is not None]:
        for node in graph.nodes.values():
            if not node.is_human:
                continue
            for fid in node.outgoing:
                gateway = graph.nodes.get(graph.flows[fid].target) if fid in graph.flows else None
                if gateway is None or gateway.tag != "exclusiveGateway":
                    continue
                if any("returned" in (graph.flows[g].condition or "") for g in gateway.outgoing
                       if g in graph.flows):
                    out.add(node.id)
    return out


# ------------------------------------------------------------------ API

def analyze_process(doc: ModelDocument | None, process: ProcessModel) -> ProcessMetrics:
    """Static metrics and findings of one process of a document (see the module rules)."""
    return _Analyzer(doc, process).run()


def analyze_document(doc: ModelDocument, process_id: str | None = None) -> list[ProcessMetrics]:
    """The main process of the file (or ``process_id``), or every uncalled process when no main one can be told."""
    if process_id:
        return [analyze_process(doc, choose_process(doc, process_id))]
    try:
        return [analyze_process(doc, choose_process(doc))]
    except ModelError:
        if not doc.processes:
            raise
    called = {n.called_element for p in doc.processes for n in p.walk() if n.tag == "callActivity"}
    return [analyze_process(doc, p) for p in doc.processes if p.id not in called] or \
        [analyze_process(doc, p) for p in doc.processes]


def analyze_path(path: str | Path) -> list[ProcessMetrics]:
    """Load a BPMN file safely and analyse it (:func:`analyze_document`)."""
    _, doc = load_document(path)
    return analyze_document(doc)


def version_metrics(doc: ModelDocument, process: ProcessModel) -> dict:
    """The JSON stored with each uploaded process version."""
    return analyze_process(doc, process).to_dict()


def bundle_materials(metrics_list: list[ProcessMetrics]) -> list[str]:
    """Distinct applicant materials of a 一件事 bundle: a material common to its matters counts once."""
    return sorted({m for metrics in metrics_list for m in metrics.applicant_materials})

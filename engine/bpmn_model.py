"""Safe loading of untrusted BPMN 2.0 XML and the government annotations.

Everything here is plain data (dataclasses), independent of SpiffWorkflow, so
that static analysis works on descriptive models from any modeler, and so the
runtime can check that a model would run as it is drawn.

Annotations are name/value extension properties, read alike from the camunda,
zeebe and spiffworkflow namespaces (see DESIGN.md, "Annotating a matter").
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from .annotations import as_bool, as_number, counts_as_step, is_clock_stop, is_onsite, split_list  # noqa: F401
from .config import DEFAULT_MAX_BPMN_BYTES, DEFAULT_MAX_XML_DEPTH
from .errors import ModelError

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"

PROPERTY_NAMESPACES = (CAMUNDA_NS, ZEEBE_NS, SPIFF_NS)
#: Namespaces of the engines whose multi-instance ``collection``/``elementVariable`` attributes are read.
VENDOR_NAMESPACES = (CAMUNDA_NS, "http://flowable.org/bpmn", "http://activiti.org/bpmn")

#: Human work: counted as steps unless annotated ``step=false``.
HUMAN_TASKS = frozenset({"userTask", "manualTask", "task"})
#: Automated work: never a step.
AUTOMATED_TASKS = frozenset({"serviceTask", "scriptTask", "businessRuleTask", "sendTask", "receiveTask"})
SUBPROCESS_TAGS = frozenset({"subProcess", "transaction", "adHocSubProcess"})
GATEWAYS = frozenset({"exclusiveGateway", "parallelGateway", "inclusiveGateway",
                      "eventBasedGateway", "complexGateway"})
EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent",
                    "intermediateThrowEvent", "boundaryEvent"})
FLOW_NODE_TAGS = HUMAN_TASKS | AUTOMATED_TASKS | SUBPROCESS_TAGS | GATEWAYS | EVENTS | {"callActivity"}
MATERIAL_SOURCES = ("applicant", "shared", "issued")


def _local(tag) -> str:
    """Local name of a Clark-notation tag (``{ns}name``); "" for comments and PIs."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _ns(tag) -> str | None:
    return tag[1:tag.index("}")] if isinstance(tag, str) and tag.startswith("{") else None


# --------------------------------------------------------------------- loading

class _NoExternalResources(etree.Resolver):
    """Answer every external DTD or entity load with nothing: no file is opened, no URL fetched."""

    def resolve(self, url, pubid, context):
        return self.resolve_string("", context)


def _safe_parser() -> etree.XMLParser:
    # No DTD loading, no entity substitution, no network, no huge trees; and since libxml2
    # still opens a local file named by an external DTD or parameter entity, a resolver
    # that answers every such load with nothing.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             dtd_validation=False, huge_tree=False, remove_pis=True,
                             collect_ids=False)
    parser.resolvers.add(_NoExternalResources())
    return parser


#: libxml2 refuses documents nested deeper than this unless XML_PARSE_HUGE is set.
_LIBXML_MAX_DEPTH = 256


_BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
         (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"), (b"<\x00?\x00", "utf-16-le"),
         (b"\x00<\x00?", "utf-16-be"))


def _no_dtd(data: bytes, filename: str) -> None:
    """Refuse a DOCTYPE in the prolog before libxml2 reads it."""
    import re
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), "latin-1")
    text = data.decode(encoding, "replace")
    root = re.search(r"<[^?!]", text)
    found = re.compile(r"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE).search(
        text, 0, root.start() if root else len(text))
    if found:
        raise ModelError("DOCTYPE and entity declarations are not allowed in BPMN files",
                         file=filename, line=text.count("\n", 0, found.start()) + 1)


def parse_xml(data: bytes, filename: str = "<bytes>", *, max_bytes: int = DEFAULT_MAX_BPMN_BYTES,
              max_depth: int = DEFAULT_MAX_XML_DEPTH) -> etree._ElementTree:
    """Parse untrusted XML bytes safely or raise :class:`ModelError` (one line).

    Refused: more than ``max_bytes`` bytes, any DOCTYPE (so no internal or
    external entities, no billion laughs, no external DTD), elements nested
    deeper than ``max_depth`` levels.  Nothing is fetched or opened.
    """
    if len(data) > max_bytes:
        raise ModelError(f"file is {len(data):,} bytes, over the limit of {max_bytes:,} bytes",
                         file=filename)
    if not data.strip():
        raise ModelError("file is empty", file=filename)
    _no_dtd(data, filename)
    try:
        tree = etree.ElementTree(etree.fromstring(data, _safe_parser()))
    except etree.XMLSyntaxError as exc:
        msg = " ".join((exc.msg or str(exc)).split())
        # lxml appends "(<string>, line N)" to some messages; the line is reported separately.
        msg = msg.split(", line ")[0] if ", line " in msg else msg
        if "Excessive depth" in msg:
            raise ModelError(f"XML nested deeper than {min(max_depth, _LIBXML_MAX_DEPTH)} levels",
                             file=filename, line=exc.lineno) from None
        raise ModelError(f"not well-formed XML: {msg}", file=filename, line=exc.lineno) from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise ModelError("DOCTYPE and entity declarations are not allowed in BPMN files",
                         file=filename, line=1)
    # libxml2 itself refuses anything deeper than 256 levels; walk only for a lower limit.
    depth, deepest = _max_depth(tree.getroot(), max_depth) if max_depth < _LIBXML_MAX_DEPTH else (0, None)
    if depth > max_depth:
        raise ModelError(f"XML nested deeper than {max_depth} levels", file=filename,
                         line=deepest.sourceline)
    root = tree.getroot()
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise ModelError(f"not a BPMN 2.0 file: root element is <{_local(root.tag) or root.tag}>, "
                         f"expected <bpmn:definitions xmlns:bpmn=\"{BPMN_NS}\">",
                         file=filename, line=root.sourceline)
    return tree


def _max_depth(root, limit: int):
    """The depth of the tree (stopping once past ``limit``) and its deepest element."""
    deepest, where, stack = 0, root, [(root, 1)]
    while stack:
        el, d = stack.pop()
        if d > deepest:
            deepest, where = d, el
            if deepest > limit:
                break
        stack.extend((child, d + 1) for child in el)
    return deepest, where


def read_file(path: str | Path, **limits) -> tuple[bytes, etree._ElementTree]:
    """Read and safely parse a BPMN file; errors name the file.

    Only regular files are read (a named pipe or device would block or never
    end), and never more than the size limit.
    """
    import os
    import stat
    path = Path(path)
    max_bytes = limits.get("max_bytes", DEFAULT_MAX_BPMN_BYTES)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ModelError("no such file", file=str(path)) from None
    except IsADirectoryError:
        raise ModelError("is a directory, not a BPMN file", file=str(path)) from None
    except PermissionError:
        raise ModelError("permission denied", file=str(path)) from None
    except OSError as exc:
        raise ModelError(f"cannot open: {exc.strerror}", file=str(path)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ModelError("is a directory, not a BPMN file", file=str(path))
        if not stat.S_ISREG(info.st_mode):
            raise ModelError("not a regular file", file=str(path))
        if info.st_size > max_bytes:
            raise ModelError(f"file is {info.st_size:,} bytes, over the limit of {max_bytes:,} bytes",
                             file=str(path))
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise ModelError(f"cannot read: {exc.strerror}", file=str(path)) from None
    finally:
        os.close(fd)
    return data, parse_xml(data, str(path), **limits)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------- annotations

def properties(el) -> dict[str, str]:
    """Extension properties of an element, from any supported namespace.

    Reads ``<extensionElements><X:properties><X:property name= value=/>`` for
    X in camunda, zeebe, spiffworkflow.  Later definitions win.
    """
    props: dict[str, str] = {}
    ext = el.find(f"{{{BPMN_NS}}}extensionElements")
    if ext is None:
        return props
    for container in ext:
        if _local(container.tag) != "properties" or _ns(container.tag) not in PROPERTY_NAMESPACES:
            continue
        for prop in container:
            if _local(prop.tag) != "property":
                continue
            name = prop.get("name")
            if name:
                value = prop.get("value")
                if value is None:
                    value = (prop.text or "").strip()
                props[name.strip()] = value.strip()
    return props


# ------------------------------------------------------------------- the model

@dataclass
class Flow:
    id: str
    source: str
    target: str
    name: str | None = None
    condition: str | None = None
    line: int | None = None


@dataclass
class DataItem:
    """A data object or data object reference (a material)."""
    id: str
    name: str | None
    props: dict[str, str]
    object_ref: str | None = None   # for a reference: the dataObject it points at
    line: int | None = None

    @property
    def source(self) -> str | None:
        s = self.props.get("source")
        return s.strip().lower() if s else None


@dataclass
class Node:
    id: str
    tag: str
    name: str | None
    line: int | None
    props: dict[str, str] = field(default_factory=dict)
    lane: str | None = None
    incoming: list[str] = field(default_factory=list)
    outgoing: list[str] = field(default_factory=list)
    default: str | None = None
    inputs: list[str] = field(default_factory=list)      # data items read (dataInputAssociation)
    outputs: list[str] = field(default_factory=list)     # data items written
    called_element: str | None = None
    attached_to: str | None = None
    event_definitions: list[str] = field(default_factory=list)
    script: str | None = None
    script_format: str | None = None
    timer: str | None = None                              # timeDuration/timeDate/timeCycle expression
    loop: str | None = None                               # standard / multiInstance
    mi_source: bool = False                               # multi-instance: has a collection or cardinality
    mi_cardinality: str | None = None                     # multi-instance: the loopCardinality expression
    timer_kind: str | None = None                         # timeDuration / timeDate / timeCycle
    triggered_by_event: bool = False                      # an event sub-process
    for_compensation: bool = False                        # a compensation handler
    event_refs: list[tuple[str, str]] = field(default_factory=list)   # (errorRef, id) and the like
    data_inputs: list[str] = field(default_factory=list)  # ioSpecification data inputs (in an inputSet)
    data_outputs: list[str] = field(default_factory=list)  # ioSpecification data outputs
    graph: "Graph | None" = None                          # embedded sub-process content

    @property
    def label(self) -> str:
        return self.name or self.id

    @property
    def is_human(self) -> bool:
        return self.tag in HUMAN_TASKS

    @property
    def counts_as_step(self) -> bool:
        return self.is_human and counts_as_step(self.props)

    @property
    def onsite(self) -> bool:
        return is_onsite(self.props)

    @property
    def workdays(self) -> float | None:
        return as_number(self.props.get("workdays"))

    @property
    def materials(self) -> list[str]:
        return split_list(self.props.get("materials"))

    @property
    def clock_stop(self) -> bool:
        return is_clock_stop(self.props)


@dataclass
class Graph:
    """The flow content of a process or an embedded sub-process."""
    nodes: dict[str, Node] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    data: dict[str, DataItem] = field(default_factory=dict)

    def walk(self):
        """Every node, descending into embedded sub-processes."""
        for node in self.nodes.values():
            yield node
            if node.graph is not None:
                yield from node.graph.walk()


@dataclass
class ProcessModel(Graph):
    id: str = ""
    name: str | None = None
    executable: bool = False
    props: dict[str, str] = field(default_factory=dict)
    line: int | None = None
    lanes: dict[str, str] = field(default_factory=dict)   # node id -> lane name
    participant_name: str | None = None
    data_inputs: list[str] = field(default_factory=list)  # process ioSpecification inputs (a caller must set them)

    @property
    def label(self) -> str:
        return self.participant_name or self.name or self.id

    @property
    def matter_code(self) -> str | None:
        return self.props.get("matter_code") or None


@dataclass
class ModelDocument:
    filename: str
    sha256: str
    processes: list[ProcessModel]
    tree: etree._ElementTree

    #: JUEL/ISO translations made at reading: {element, what, original, python}
    translations: list[dict] = field(default_factory=list)
    #: expressions that could not be translated: (line, element, message)
    untranslatable: list[tuple[int | None, str, str]] = field(default_factory=list)
    #: ids of root elements (error, message, signal, escalation, ...) -> their tag
    definitions: dict[str, str] = field(default_factory=dict)
    #: ids of root elements without a name (a signal or message is matched by its name)
    unnamed: set[str] = field(default_factory=set)
    #: other files uploaded or validated with this one (their processes may be called)
    library: list["ModelDocument"] = field(default_factory=list)

    def process(self, process_id: str) -> ProcessModel | None:
        return next((p for p in self.processes if p.id == process_id), None)

    def all_processes(self) -> list[ProcessModel]:
        """The processes of this file, then those of the files given with it."""
        seen, out = set(), []
        for doc in [self, *self.library]:
            for p in doc.processes:
                if p.id not in seen:
                    seen.add(p.id)
                    out.append(p)
        return out

    def file_of(self, process_id: str) -> "ModelDocument":
        return next((d for d in [self, *self.library] if d.process(process_id) is not None), self)


def _read_graph(container, graph: Graph, lanes: dict[str, str], inherited_lane: str | None) -> None:
    for el in container:
        tag = _local(el.tag)
        if _ns(el.tag) != BPMN_NS:
            continue
        if tag == "sequenceFlow":
            cond = el.find(f"{{{BPMN_NS}}}conditionExpression")
            text = cond.text.strip() if cond is not None and cond.text and cond.text.strip() else None
            graph.flows[el.get("id", "")] = Flow(
                id=el.get("id", ""), source=el.get("sourceRef", ""), target=el.get("targetRef", ""),
                name=el.get("name"), condition=text, line=el.sourceline)
        elif tag in ("dataObject", "dataObjectReference", "dataStoreReference"):
            graph.data[el.get("id", "")] = DataItem(
                id=el.get("id", ""), name=el.get("name"), props=properties(el),
                object_ref=el.get("dataObjectRef"), line=el.sourceline)
        elif tag in FLOW_NODE_TAGS:
            node = _read_node(el, tag, lanes, inherited_lane)
            graph.nodes[node.id] = node
    for flow in graph.flows.values():
        if flow.source in graph.nodes:
            graph.nodes[flow.source].outgoing.append(flow.id)
        if flow.target in graph.nodes:
            graph.nodes[flow.target].incoming.append(flow.id)
    # A reference without properties of its own takes those of its data object.
    for item in graph.data.values():
        if item.object_ref and item.object_ref in graph.data:
            merged = dict(graph.data[item.object_ref].props)
            merged.update(item.props)
            item.props = merged
            if not item.name:
                item.name = graph.data[item.object_ref].name


def _read_node(el, tag: str, lanes: dict[str, str], inherited_lane: str | None) -> Node:
    nid = el.get("id", "")
    node = Node(id=nid, tag=tag, name=el.get("name"), line=el.sourceline, props=properties(el),
                lane=lanes.get(nid, inherited_lane), default=el.get("default"),
                called_element=el.get("calledElement"), attached_to=el.get("attachedToRef"),
                triggered_by_event=(el.get("triggeredByEvent") or "").strip().lower() == "true",
                for_compensation=(el.get("isForCompensation") or "").strip().lower() == "true")
    for assoc in el.findall(f"{{{BPMN_NS}}}dataInputAssociation"):
        for ref in assoc.findall(f"{{{BPMN_NS}}}sourceRef"):
            if ref.text:
                node.inputs.append(ref.text.strip())
    for assoc in el.findall(f"{{{BPMN_NS}}}dataOutputAssociation"):
        ref = assoc.find(f"{{{BPMN_NS}}}targetRef")
        if ref is not None and ref.text:
            node.outputs.append(ref.text.strip())
    for child in el:
        ctag = _local(child.tag)
        if ctag.endswith("EventDefinition"):
            node.event_definitions.append(ctag[: -len("EventDefinition")])
            for attr in ("errorRef", "messageRef", "signalRef", "escalationRef"):
                if (child.get(attr) or "").strip():
                    node.event_refs.append((attr, child.get(attr).strip()))
            if ctag == "timerEventDefinition":
                for part in child:
                    if _local(part.tag) in ("timeDuration", "timeDate", "timeCycle") and (part.text or "").strip():
                        node.timer = part.text.strip()
                        node.timer_kind = _local(part.tag)
        elif ctag == "standardLoopCharacteristics":
            node.loop = "standard"
        elif ctag == "multiInstanceLoopCharacteristics":
            node.loop = "multiInstance"
            node.mi_source = any(_local(part.tag) in ("loopCardinality", "loopDataInputRef")
                                 and (part.text or "").strip() for part in child)
            node.mi_cardinality = next((part.text.strip() for part in child if _local(part.tag) == "loopCardinality"
                                        and (part.text or "").strip()), None)
        elif ctag == "ioSpecification" and _ns(child.tag) == BPMN_NS:
            node.data_inputs = _io_refs(el, "inputSet", "dataInputRefs")
            node.data_outputs = _io_refs(el, "outputSet", "dataOutputRefs")
        elif ctag == "script" and _ns(child.tag) == BPMN_NS:
            node.script = child.text or ""
    if tag == "scriptTask":
        node.script_format = el.get("scriptFormat")
    if tag in SUBPROCESS_TAGS:
        node.graph = Graph()
        _read_graph(el, node.graph, lanes, node.lane)
    return node


def _io_refs(el, group: str, ref: str) -> list[str]:
    """The data inputs (or outputs) an element's ioSpecification lists in its input (output) sets."""
    spec = el.find(f"{{{BPMN_NS}}}ioSpecification")
    if spec is None:
        return []
    return [r.text.strip() for g in spec.findall(f"{{{BPMN_NS}}}{group}")
            for r in g.findall(f"{{{BPMN_NS}}}{ref}") if r.text and r.text.strip()]


def _read_lanes(process_el) -> dict[str, str]:
    """node id -> name of the innermost lane that references it."""
    lanes: dict[str, str] = {}

    def visit(lane_set):
        for lane in lane_set.findall(f"{{{BPMN_NS}}}lane"):
            name = (lane.get("name") or lane.get("id") or "").strip()
            for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef"):
                if ref.text:
                    lanes[ref.text.strip()] = name
            child = lane.find(f"{{{BPMN_NS}}}childLaneSet")
            if child is not None:
                visit(child)       # inner lanes overwrite the outer one

    for lane_set in process_el.findall(f"{{{BPMN_NS}}}laneSet"):
        visit(lane_set)
    return lanes


def read_model(tree: etree._ElementTree, filename: str, data: bytes | None = None) -> ModelDocument:
    """Read every process of a parsed BPMN document into plain dataclasses.

    The tree is first normalised in place the way SpiffWorkflow and the BPMN
    specification read it (:func:`normalize`): sequence flows without an id
    get a stable synthetic one, and JUEL conditions and literal ISO 8601
    timers become sandboxed Python.  The caller keeps the original bytes.
    """
    root = tree.getroot()
    digest = sha256(data if data is not None else etree.tostring(tree))
    doc = ModelDocument(filename=filename, sha256=digest, processes=[], tree=tree)
    normalize(doc)
    participants = {p.get("processRef"): p.get("name")
                    for p in root.iter(f"{{{BPMN_NS}}}participant") if p.get("processRef")}
    for el in root.findall(f"{{{BPMN_NS}}}process"):
        lanes = _read_lanes(el)
        # BPMN (and SpiffWorkflow, Flowable, Camunda) read a missing isExecutable as true.
        pm = ProcessModel(id=el.get("id", ""), name=el.get("name"),
                          executable=(el.get("isExecutable") or "true").strip().lower() != "false",
                          props=properties(el), line=el.sourceline, lanes=lanes,
                          participant_name=participants.get(el.get("id")))
        _read_graph(el, pm, lanes, None)
        pm.data_inputs = _io_refs(el, "inputSet", "dataInputRefs")
        doc.processes.append(pm)
    doc.definitions = {el.get("id"): _local(el.tag) for el in root if _ns(el.tag) == BPMN_NS and el.get("id")}
    doc.unnamed = {el.get("id") for el in root if _ns(el.tag) == BPMN_NS and el.get("id")
                   and not (el.get("name") or "").strip()}
    return doc


_ISO_TIMER = re.compile(
    r"^[+-]?(R\d*/)?("
    r"P(?=\d|T\d)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
    r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?"
    r"|\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
    r")(/.+)?$", re.IGNORECASE)


_EXPRESSION_TAGS = ("conditionExpression", "timeDuration", "timeDate", "timeCycle", "loopCardinality",
                    "completionCondition")


def is_iso_timer_literal(text: str) -> bool:
    """An ISO 8601 duration, date-time or cycle written as bare text (``PT10M``, ``R3/PT1H``)."""
    return bool(_ISO_TIMER.match(text.strip()))


def _synthetic_flow_id(el, taken: set[str], counters: dict[str, int]) -> str:
    base = "Flow__{}__{}".format(re.sub(r"[^\w.-]", "_", el.get("sourceRef") or "x"),
                                 re.sub(r"[^\w.-]", "_", el.get("targetRef") or "x"))
    fid, n = base, counters.get(base, 1)
    while fid in taken:              # each base continues where it stopped: linear, even for 10⁵ copies
        n += 1
        fid = f"{base}__{n}"
    counters[base] = n
    taken.add(fid)
    return fid


def normalize(doc: ModelDocument) -> None:
    """Rewrite the tree in place the way the engine reads it; record every translation.

    * a sequence flow without ``id`` gets ``Flow__SOURCE__TARGET`` (``__2``...
      when there are several), a flow node without one ``TAG__N`` (N-th in
      document order), stable across uploads of the same file;
    * ``${...}``/``#{...}`` in a condition, timer, loop cardinality or
      completion condition becomes Python (:mod:`engine.juel`);
    * a timer written as bare ISO 8601 text (``PT10M``) becomes the string
      literal ``"PT10M"``.
    """
    from . import juel
    root = doc.tree.getroot()
    bpmn = f"{{{BPMN_NS}}}"
    idless = [el for el in root.iter(f"{bpmn}sequenceFlow", *(bpmn + t for t in FLOW_NODE_TAGS))
              if not (el.get("id") or "").strip()]
    if idless:
        taken = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
        counters: dict[str, int] = {}
        for el in idless:
            tag = _local(el.tag)
            if tag == "sequenceFlow":
                el.set("id", _synthetic_flow_id(el, taken, counters))
                continue
            while True:              # e.g. an event sub-process drawn without an id
                counters[tag] = counters.get(tag, 0) + 1
                nid = f"{tag}__{counters[tag]}"
                if nid not in taken:
                    break
            taken.add(nid)
            el.set("id", nid)

    def owner(el):
        while el is not None and not el.get("id"):
            el = el.getparent()
        return el if el is not None else root

    for el in root.iter(*(bpmn + t for t in _EXPRESSION_TAGS)):
        tag = _local(el.tag)
        text = (el.text or "").strip()
        if not text:
            continue
        where = owner(el)
        element, line = where.get("id") or "", where.sourceline
        if juel.is_el(text):
            try:
                python = juel.translate(text, value=tag not in ("conditionExpression", "completionCondition"))
            except juel.JuelError as exc:
                shown = text if len(text) <= 200 else text[:200] + "…"
                doc.untranslatable.append((line, element, f"{tag} {shown!r}: {exc}"))
                continue
        elif tag.startswith("time") and is_iso_timer_literal(text):
            python = repr(text)
        else:
            continue
        el.text = python
        doc.translations.append({"element": element, "what": tag, "original": text, "python": python,
                                 "line": line})

    for mi in root.iter(f"{bpmn}multiInstanceLoopCharacteristics"):
        _vendor_collection(doc, mi, owner(mi))


def _vendor_attr(el, name: str) -> str | None:
    return next((el.get(f"{{{ns}}}{name}").strip() for ns in VENDOR_NAMESPACES
                 if (el.get(f"{{{ns}}}{name}") or "").strip()), None)


def _vendor_collection(doc: ModelDocument, mi, where) -> None:
    """Camunda/Flowable/Activiti ``collection="${list}" elementVariable="item"`` as the BPMN
    ``loopDataInputRef``/``inputDataItem`` the engine reads (会签: one instance per assignee)."""
    from . import juel
    bpmn = f"{{{BPMN_NS}}}"
    if mi.find(f"{bpmn}loopCardinality") is not None or mi.find(f"{bpmn}loopDataInputRef") is not None:
        return
    collection = _vendor_attr(mi, "collection")
    if not collection:
        return
    element, line = where.get("id") or "", where.sourceline
    try:
        name = juel.translate(collection, value=True) if juel.is_el(collection) else collection
    except juel.JuelError as exc:
        doc.untranslatable.append((line, element, f"collection {collection[:200]!r}: {exc}"))
        return
    if not name.isidentifier() or name.startswith("_"):
        doc.untranslatable.append((line, element, f"collection {collection[:200]!r} must name one variable "
                                                  f"holding the list (e.g. ${{assignees}})"))
        return
    ref = etree.Element(f"{bpmn}loopDataInputRef")
    ref.text = name
    mi.insert(0, ref)
    variable = _vendor_attr(mi, "elementVariable")
    python = name
    if variable and variable.isidentifier() and mi.find(f"{bpmn}inputDataItem") is None:
        item = etree.Element(f"{bpmn}inputDataItem", id=variable, name=variable)
        mi.insert(1, item)
        python += f" (each item as {variable})"
    doc.translations.append({"element": element, "what": "collection", "original": collection,
                             "python": python, "line": line})


def load_document(path: str | Path, **limits) -> tuple[bytes, ModelDocument]:
    data, tree = read_file(path, **limits)
    return data, read_model(tree, str(path), data)


def load_bytes(data: bytes, filename: str, **limits) -> ModelDocument:
    return read_model(parse_xml(data, filename, **limits), filename, data)


# ------------------------------------------------------------ which process
# Pure model logic: analysis and the compiler both choose, and analysis must not import SpiffWorkflow.

def _roots(pool: list[ProcessModel]) -> list[ProcessModel]:
    called = {n.called_element for p in pool for n in p.walk() if n.tag == "callActivity"}
    return [p for p in pool if p.id not in called]


def choose_process(doc: ModelDocument, process_id: str | None = None) -> ProcessModel:
    """The process a file stands for.

    ``process_id`` when given; else the only executable process (a
    collaboration with one executable pool), the only one with ``matter_code``,
    or the only one no other process calls.
    """
    if not doc.processes:
        raise ModelError("no bpmn:process in file", file=doc.filename)
    if process_id:
        found = doc.process(process_id)
        if found is None:
            raise ModelError(f"no process {process_id!r} in this file (it has "
                             f"{', '.join(p.id for p in doc.processes)})", file=doc.filename)
        return found
    executable = [p for p in doc.processes if p.executable]
    pool = executable or doc.processes
    if len(pool) == 1:
        return pool[0]
    coded = [p for p in pool if p.matter_code]
    if len(coded) == 1:
        return coded[0]
    roots = _roots(pool)
    if len(roots) == 1:
        return roots[0]
    raise ModelError(f"several processes ({', '.join(p.id for p in pool)}): choose the one to run with "
                     f"--process ID (or give it the property matter_code)", file=doc.filename)


def choose_leniently(doc: ModelDocument, process_id: str | None = None) -> tuple[ProcessModel, ModelError | None]:
    """:func:`choose_process`, or (the first uncalled process, the reason) when the file cannot tell."""
    try:
        return choose_process(doc, process_id), None
    except ModelError as exc:
        if not doc.processes or process_id:
            raise
        pool = [p for p in doc.processes if p.executable] or doc.processes
        return (_roots(pool) or pool)[0], exc

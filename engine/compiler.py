"""Parsing a BPMN model for execution, and refusing what would not run as drawn.

* :class:`OnetripParser` reads the annotation properties of all three
  namespaces into ``task_spec.extensions`` and completes service tasks
  automatically (they stand for data sharing / electronic licences).
* :func:`compile_model` checks that a model will run as it is drawn and
  returns the parsed specs, or the list of reasons it cannot run.
"""
from __future__ import annotations

import re

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.exceptions import SpiffWorkflowException

from . import sandbox
from .bpmn_model import ModelDocument, Node, ProcessModel, as_bool, properties
from .errors import ModelError
from .runtime import AutoServiceTask, CompiledModel


# ------------------------------------------------------------------ parser

class _PropertiesMixin:
    """Read camunda/zeebe/spiffworkflow name-value properties as extensions."""

    def parse_extensions(self, node=None):
        return properties(node if node is not None else self.node)


def _with_properties(parser_classes: dict) -> dict:
    out = {}
    for tag, (parser_cls, spec_cls) in parser_classes.items():
        mixed = type(f"Onetrip{parser_cls.__name__}", (_PropertiesMixin, parser_cls), {})
        out[tag] = (mixed, AutoServiceTask if spec_cls is ServiceTask else spec_cls)
    return out


class OnetripParser(BpmnParser):
    OVERRIDE_PARSER_CLASSES = _with_properties(BpmnParser.PARSER_CLASSES)


# -------------------------------------------------------------- checking

def _problem(doc: ModelDocument, node_or_line, element: str | None, message: str) -> ModelError:
    line = node_or_line if isinstance(node_or_line, int) or node_or_line is None else node_or_line.line
    return ModelError(message, file=doc.filename, line=line, element=element)


def semantic_problems(doc: ModelDocument, process: ProcessModel) -> list[ModelError]:
    """Reasons the engine would run ``process`` differently from how it is drawn."""
    problems: list[ModelError] = []
    known = {p.id for p in doc.processes}
    data_ids = {d for p in doc.processes for g in [p, *(n.graph for n in p.walk() if n.graph)] for d in g.data}

    def check_graph(graph, top: bool):
        starts = [n for n in graph.nodes.values() if n.tag == "startEvent"]
        plain_starts = [n for n in starts if not n.event_definitions]
        if top and not starts:
            problems.append(_problem(doc, process.line, process.id, "process has no start event"))
        if len(plain_starts) > 1:
            problems.append(_problem(doc, plain_starts[1], plain_starts[1].id,
                                     "more than one plain start event: the engine would start "
                                     "every one of them at once"))
        for node in graph.nodes.values():
            problems.extend(_node_problems(doc, graph, node, known))
            for ref in node.inputs + node.outputs:
                if ref not in data_ids:
                    problems.append(_problem(doc, node, node.id, f"data association refers to {ref!r}, "
                                                                 f"which is no data object of this file"))
            if node.graph is not None:
                check_graph(node.graph, False)
        for flow in graph.flows.values():
            if flow.source not in graph.nodes or flow.target not in graph.nodes:
                missing = flow.source if flow.source not in graph.nodes else flow.target
                problems.append(_problem(doc, flow.line, flow.id,
                                         f"sequence flow refers to unknown element {missing!r}"))
            if flow.condition is not None:
                reason = sandbox.check_expression(flow.condition)
                if reason:
                    problems.append(_problem(doc, flow.line, flow.id,
                                             f"condition is not a sandboxed Python expression: {reason}"))

    check_graph(process, True)
    problems.extend(_automated_cycles(doc, process))
    reserved = {"Start", "End", f"{process.id}.EndJoin"}
    for node in process.walk():
        if node.id in reserved or node.id.endswith(".EndJoin") or node.id.endswith(".BoundaryEventSplit") \
                or node.id.endswith(".BoundaryEventJoin"):
            problems.append(_problem(doc, node, node.id, f"element id {node.id!r} is reserved by the engine "
                                                         f"(it would silently replace a built-in step); rename it"))
    return problems


def _node_problems(doc, graph, node: Node, known_processes: set[str]) -> list[ModelError]:
    out = []
    flows = graph.flows
    conditional_out = [flows[f] for f in node.outgoing if f in flows and flows[f].condition]
    if node.tag in ("exclusiveGateway", "inclusiveGateway") and len(node.outgoing) > 1:
        if node.default and node.default not in node.outgoing:
            out.append(_problem(doc, node, node.id, f"default flow {node.default!r} does not leave this gateway"))
        for fid in node.outgoing:
            flow = flows.get(fid)
            if flow and not flow.condition and fid != node.default:
                out.append(_problem(doc, flow.line, fid,
                                    f"flow out of gateway {node.id!r} has no condition and is not "
                                    f"its default flow: the engine could not choose it"))
    elif node.tag == "parallelGateway" and conditional_out:
        out.append(_problem(doc, conditional_out[0].line, conditional_out[0].id,
                            "condition on a flow out of a parallel gateway would be ignored"))
    elif node.tag not in ("exclusiveGateway", "inclusiveGateway") and conditional_out:
        out.append(_problem(doc, conditional_out[0].line, conditional_out[0].id,
                            "conditional flow out of an activity is not supported: "
                            "put an exclusive gateway after the activity"))
    if node.tag == "complexGateway":
        out.append(_problem(doc, node, node.id, "complex gateways are not supported"))
    if node.tag not in ("startEvent", "boundaryEvent") and not node.incoming and not node.attached_to:
        out.append(_problem(doc, node, node.id, f"{node.label!r} has no incoming flow: it would never run"))
    if not node.outgoing and (node.tag == "startEvent" or node.tag in ("exclusiveGateway", "parallelGateway",
                                                                        "inclusiveGateway", "eventBasedGateway")):
        out.append(_problem(doc, node, node.id, f"{node.label!r} has no outgoing flow"))
    if node.tag == "scriptTask":
        fmt = (node.script_format or "python").lower()
        if fmt not in ("python", "text/python", "text/x-python", "py"):
            out.append(_problem(doc, node, node.id, f"script format {node.script_format!r} is not supported; "
                                                    "scripts are sandboxed Python"))
        elif node.script:
            reason = sandbox.check_script(node.script)
            if reason:
                out.append(_problem(doc, node, node.id, reason))
    if node.timer is not None:
        reason = sandbox.check_expression(node.timer)
        if reason:
            out.append(_problem(doc, node, node.id, f"timer expression is not a sandboxed Python expression "
                                                    f"(write ISO 8601 text in quotes, e.g. \"P3D\"): {reason}"))
    if node.tag == "callActivity" and node.called_element not in known_processes:
        out.append(_problem(doc, node, node.id, f"called process {node.called_element!r} is not in this file"))
    for key in ("onsite", "step"):
        if key in node.props and as_bool(node.props[key]) is None:
            out.append(_problem(doc, node, node.id, f"property {key}={node.props[key]!r} is not true/false"))
    return out


WAITS = frozenset({"userTask", "manualTask", "task", "receiveTask", "intermediateCatchEvent",
                   "eventBasedGateway", "callActivity", "subProcess", "transaction", "adHocSubProcess"})


def _automated_cycles(doc: ModelDocument, process: ProcessModel) -> list[ModelError]:
    """A loop made only of automated steps and gateways would run forever without anyone acting."""
    out = []
    for graph in [process] + [n.graph for n in process.walk() if n.graph is not None]:
        auto = {nid for nid, n in graph.nodes.items() if n.tag not in WAITS}
        succ = {nid: [graph.flows[f].target for f in graph.nodes[nid].outgoing
                      if f in graph.flows and graph.flows[f].target in auto] for nid in auto}
        for cycle in _cycles(succ):
            first = graph.nodes[cycle[0]]
            names = " → ".join(graph.nodes[n].label for n in cycle)
            out.append(_problem(doc, first, first.id, f"loop of automated steps with no human task or timer "
                                                      f"({names}): it would never stop"))
    return out


def _cycles(succ: dict[str, list[str]]) -> list[list[str]]:
    """One representative cycle per strongly connected component with a cycle (Tarjan, iterative)."""
    index, low, on_stack, stack, comps, counter = {}, {}, set(), [], [], [0]
    for root in succ:
        if root in index:
            continue
        work = [(root, iter(succ[root]))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(succ[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.append(member)
                    if member == node:
                        break
                if len(comp) > 1 or node in succ[node]:
                    comps.append(sorted(comp))
    return comps


def choose_process(doc: ModelDocument) -> ProcessModel:
    """The process a file stands for: the executable one (or the one with ``matter_code``)."""
    if not doc.processes:
        raise ModelError("no bpmn:process in file", file=doc.filename)
    executable = [p for p in doc.processes if p.executable]
    pool = executable or doc.processes
    if len(pool) == 1:
        return pool[0]
    coded = [p for p in pool if p.matter_code]
    if len(coded) == 1:
        return coded[0]
    called = {n.called_element for p in pool for n in p.walk() if n.tag == "callActivity"}
    roots = [p for p in pool if p.id not in called]
    if len(roots) == 1:
        return roots[0]
    raise ModelError(f"several processes ({', '.join(p.id for p in pool)}): give the main one the "
                     f"property matter_code", file=doc.filename)


def compile_model(doc: ModelDocument) -> tuple[ProcessModel, CompiledModel | None, list[ModelError]]:
    """Parse a model for execution.  Returns (process, compiled or None, problems)."""
    process = choose_process(doc)
    problems: list[ModelError] = []
    if not process.executable:
        problems.append(ModelError("process is not executable (isExecutable=\"true\" is not set)",
                                   file=doc.filename, line=process.line, element=process.id))
    problems.extend(semantic_problems(doc, process))
    compiled = None
    parser = OnetripParser()
    try:
        parser.add_bpmn_xml(doc.tree, filename=doc.filename)
        spec = parser.get_spec(process.id)
        subs = parser.get_subprocess_specs(process.id)
        compiled = CompiledModel(process.id, spec, subs)
    except ValidationException as exc:
        line = exc.line_number if isinstance(exc.line_number, int) else None
        if exc.id and any(p.element == exc.id for p in problems):
            return process, None, problems      # already explained, in our words
        message = str(exc.args[0]) if exc.args else "invalid model"
        # SpiffWorkflow sometimes quotes lxml objects ("<Element {ns}sourceRef at 0x7f...>"): name them.
        message = re.sub(r"<Element \{[^}]*\}(\w+) at 0x[0-9a-f]+>", r"<\1>", message)
        problems.append(ModelError(message, file=doc.filename, line=line, element=exc.id or None))
    except SpiffWorkflowException as exc:
        problems.append(ModelError(str(exc), file=doc.filename))
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        problems.append(ModelError(f"the engine cannot read this model ({type(exc).__name__}: {exc})",
                                   file=doc.filename))
    return process, (compiled if not problems else None), problems

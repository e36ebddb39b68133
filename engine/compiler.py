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

from . import juel, sandbox
from .bpmn_model import ModelDocument, Node, ProcessModel, as_bool, properties
from .clock import current_clock
from .bpmn_model import choose_leniently
from .errors import ModelError
from . import runtime
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


def semantic_problems(main: ModelDocument, process: ProcessModel) -> list[ModelError]:
    """Reasons the engine would run ``process`` (and what it calls) differently from how it is drawn."""
    problems: list[ModelError] = []
    scope = called_scope(main, process)
    problems.extend(_recursion_problems(main, process))
    for proc in scope:
        problems.extend(_process_problems(main.file_of(proc.id), proc, main, scope))
    return problems


def called_scope(main: ModelDocument, process: ProcessModel) -> list[ProcessModel]:
    """``process`` and every process it calls, directly or not, found in ``main`` or its library."""
    by_id = {p.id: p for p in main.all_processes()}
    out, seen, todo = [], {process.id}, [process]
    while todo:
        proc = todo.pop(0)
        out.append(proc)
        for node in proc.walk():
            target = by_id.get(node.called_element or "") if node.tag == "callActivity" else None
            if target is not None and target.id not in seen:
                seen.add(target.id)
                todo.append(target)
    return out


def _recursion_problems(main: ModelDocument, process: ProcessModel) -> list[ModelError]:
    """A process that calls itself, directly or through others, would start copies without end."""
    by_id = {p.id: p for p in main.all_processes()}
    calls = {pid: [n for n in p.walk() if n.tag == "callActivity" and n.called_element in by_id]
             for pid, p in by_id.items()}
    succ = {pid: sorted({n.called_element for n in nodes}) for pid, nodes in calls.items()}
    reachable = {p.id for p in called_scope(main, process)}
    out = []
    for cycle in _cycles({k: v for k, v in succ.items() if k in reachable}):
        first = cycle[0]
        node = next(n for n in calls[first] if n.called_element in cycle)
        chain = " → ".join([first, *cycle[1:], first]) if len(cycle) > 1 else f"{first} → {first}"
        out.append(_problem(main.file_of(first), node, node.id,
                            f"call activity {node.label!r} makes process {first!r} call itself ({chain}): "
                            f"the engine would start copies without end; break the recursion"))
    return out


def _available_data(main: ModelDocument) -> set[str]:
    """Names a task's data can hold before it runs: data objects, data outputs, names scripts use."""
    names: set[str] = set()
    for doc in [main, *main.library]:
        for p in doc.processes:
            for g in [p, *(n.graph for n in p.walk() if n.graph)]:
                names.update(g.data)
            for n in p.walk():
                names.update(n.data_outputs)
                if n.script:
                    names.update(re.findall(r"[A-Za-z_]\w*", n.script))
    return names


def _process_problems(doc: ModelDocument, process: ProcessModel, main: ModelDocument,
                      scope: list[ProcessModel]) -> list[ModelError]:
    problems: list[ModelError] = []
    by_id = {p.id: p for p in main.all_processes()}
    known = set(by_id)
    data_ids = {d for p in doc.processes for g in [p, *(n.graph for n in p.walk() if n.graph)] for d in g.data}
    available: dict[str, set[str]] = {}

    def check_graph(graph, top: bool, adhoc: bool = False):
        starts = [n for n in graph.nodes.values() if n.tag == "startEvent"]
        plain_starts = [n for n in starts if not n.event_definitions]
        if top and not starts:
            problems.append(_problem(doc, process.line, process.id, "process has no start event"))
        if len(plain_starts) > 1:
            problems.append(_problem(doc, plain_starts[1], plain_starts[1].id,
                                     "more than one plain start event: the engine would start "
                                     "every one of them at once"))
        for node in graph.nodes.values():
            problems.extend(_node_problems(doc, graph, node, known, adhoc))
            for ref in node.inputs + node.outputs:
                if ref not in data_ids:
                    problems.append(_problem(doc, node, node.id, f"data association refers to {ref!r}, "
                                                                 f"which is no data object of this file"))
            called = by_id.get(node.called_element or "") if node.tag == "callActivity" else None
            needed = node.data_inputs + (called.data_inputs if called is not None else [])
            if needed and node.loop != "multiInstance":
                if not available:
                    available["names"] = _available_data(main)
                for name in needed:
                    if name not in available["names"]:
                        problems.append(_problem(
                            doc, node, node.id,
                            f"data input {name!r} of {node.label!r}"
                            + (f" (process {called.id!r} requires it)" if called is not None
                               and name in called.data_inputs else "")
                            + " is never set, so the task could not "
                            f"start (the engine ignores <assignment>): name a data object, a script "
                            f"variable or an earlier data output {name!r}, or remove it from the "
                            f"ioSpecification"))
            if node.graph is not None:
                check_graph(node.graph, False, node.tag == "adHocSubProcess")
        for flow in graph.flows.values():
            if flow.source not in graph.nodes or flow.target not in graph.nodes:
                missing = flow.source if flow.source not in graph.nodes else flow.target
                problems.append(_problem(doc, flow.line, flow.id,
                                         f"sequence flow refers to unknown element {missing!r}"))
            if flow.condition is not None and not juel.is_el(flow.condition):   # else refused untranslated
                reason = sandbox.check_expression(flow.condition)
                if reason:
                    problems.append(_problem(doc, flow.line, flow.id,
                                             f"condition is not a sandboxed Python expression: {reason} "
                                             f"(conditions are Python over the task data, e.g. "
                                             f"amount > 1000 and level == 'A', or JUEL ${{...}})"))

    check_graph(process, True)
    problems.extend(_automated_cycles(doc, process))
    for node in process.walk():
        for attr, ref in node.event_refs:
            kind = attr[:-3]
            if doc.definitions.get(ref) != kind:
                problems.append(_problem(doc, node, node.id,
                                         f"{attr} {ref!r} names no <bpmn:{kind}> of this file: add "
                                         f"<bpmn:{kind} id=\"{ref}\"/> under <bpmn:definitions> or fix the reference"))
            elif kind in ("signal", "message") and ref in doc.unnamed:
                problems.append(_problem(doc, node, node.id,
                                         f"<bpmn:{kind} id=\"{ref}\"> has no name, and the engine matches "
                                         f"{kind}s by name: add name=\"...\" to it"))
    reserved = {"Start", "End", f"{process.id}.EndJoin"}
    for node in process.walk():
        if node.id in reserved or node.id.endswith(".EndJoin") or node.id.endswith(".BoundaryEventSplit") \
                or node.id.endswith(".BoundaryEventJoin"):
            problems.append(_problem(doc, node, node.id, f"element id {node.id!r} is reserved by the engine "
                                                         f"(it would silently replace a built-in step); rename it"))
    return problems


def _node_problems(doc, graph, node: Node, known_processes: set[str], adhoc: bool = False) -> list[ModelError]:
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
    link_target = node.tag == "intermediateCatchEvent" and "link" in node.event_definitions
    if node.tag not in ("startEvent", "boundaryEvent") and not node.incoming and not node.attached_to \
            and not node.triggered_by_event and not node.for_compensation and not link_target and not adhoc:
        out.append(_problem(doc, node, node.id, f"{node.label!r} has no incoming flow: it would never run"))
    if not node.outgoing and node.tag in ("exclusiveGateway", "parallelGateway", "inclusiveGateway",
                                          "eventBasedGateway"):
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
    if "timer" in node.event_definitions and node.timer is None:
        out.append(_problem(doc, node, node.id, f"timer {node.label!r} says neither when nor how long: give it "
                                                f"a timeDuration (PT10M), timeDate (2026-05-01T09:00:00) or "
                                                f"timeCycle (R3/PT1H)"))
    if node.timer is not None and not juel.is_el(node.timer):
        reason = timer_problem(node.timer, node.timer_kind)
        if reason:
            out.append(_problem(doc, node, node.id, reason))
    if node.tag == "eventBasedGateway":
        for fid in node.outgoing:
            target = graph.nodes.get(flows[fid].target) if fid in flows else None
            if target is not None and target.tag not in ("intermediateCatchEvent", "receiveTask"):
                out.append(_problem(doc, node, node.id,
                                    f"event-based gateway {node.label!r} leads to {target.label!r}, which is not "
                                    f"a catch event or receive task: the gateway waits for events only"))
    if node.mi_cardinality is not None:
        reason = cardinality_problem(node.mi_cardinality)
        if reason:
            out.append(_problem(doc, node, node.id, f"multi-instance {node.label!r}: {reason}"))
    if node.loop == "multiInstance" and not node.mi_source \
            and not any(element == node.id for _, element, _ in doc.untranslatable):
        out.append(_problem(doc, node, node.id,
                            f"multi-instance {node.label!r} has neither a loopCardinality nor an input "
                            f"collection (loopDataInputRef), so the engine cannot tell how many instances "
                            f"to run: add one, or a collection=\"${{list}}\" attribute"))
    if node.tag == "callActivity" and node.called_element not in known_processes:
        out.append(_problem(doc, node, node.id,
                            f"called process {node.called_element!r} is not in this file: give its file too "
                            f"(process upload MAIN.bpmn CALLED.bpmn) or upload it first"))
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


# The run-time limits have one home (engine.runtime); upload refuses what would trip them later.
_HORIZON_DAYS = runtime.TIMER_HORIZON_DAYS     # ten years: a timer further away is a typo, not a plan
MAX_INSTANCES = runtime.MAX_INSTANCES
#: A constant cycle firing more often than this would flood the case and the worker (a reminder is
#: hourly or daily); stricter than the run-time floor, which only keeps a computed cycle from spinning.
MIN_CYCLE_SECONDS = 60
MAX_CYCLE_REPETITIONS = 10_000


_COMPUTED = object()


def _constant(expression: str) -> tuple[str | None, object]:
    """(why the expression is not sandboxed Python or None, its literal value or _COMPUTED).

    Upload checks only constants; a value computed from task data is checked when it runs.
    """
    import ast
    reason = sandbox.check_expression(expression)
    if reason:
        return reason, _COMPUTED
    try:
        return None, ast.literal_eval(expression)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None, _COMPUTED


def cardinality_problem(expression: str) -> str | None:
    """Why a constant loop cardinality would fail or flood the case (a computed one is checked when it runs)."""
    reason, value = _constant(expression)
    if reason:
        return f"loop cardinality is not a Python expression ({reason})"
    if value is _COMPUTED:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return f"loop cardinality {value!r} is not a whole number of instances"
    if value > MAX_INSTANCES:
        return f"loop cardinality {value} is over the limit of {MAX_INSTANCES} instances"
    return None


def timer_problem(expression: str, kind: str | None) -> str | None:
    """Why a timer would fail when the case reaches it, or None.

    Checked at upload: the expression is sandboxed Python (ISO literals and
    JUEL were already translated); a constant value must be ISO 8601 text of
    the right kind (a duration ``PT10M``, a date-time ``2026-05-01T09:00:00``,
    a cycle ``R3/PT1H``), at most ten years away, and a cycle repeats at most
    every minute and at most ten thousand times.  A value computed from
    task data is checked when it is computed.
    """
    from datetime import datetime, timedelta, timezone

    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition as T

    example = "write ISO 8601 text, e.g. PT10M (10 minutes), P3D, R3/PT1H (3 times hourly) or 2026-05-01T09:00:00"
    reason, value = _constant(expression)
    if reason:
        return f"timer {expression!r} is neither ISO 8601 nor a Python expression ({reason}): {example}"
    if value is _COMPUTED:
        return None
    what = {"timeDate": "a date-time", "timeCycle": "a cycle"}.get(kind or "", "a duration")
    if not isinstance(value, str):
        return f"timer value {value!r} is not ISO 8601 text ({what}): {example}"
    now = current_clock().now().astimezone(timezone.utc)
    far = f"timer value {value!r} is more than 10 years away: check the value ({example})"
    try:
        # SpiffWorkflow walks a duration month by month: bound it before letting it compute (P99999999Y).
        for part in value.upper().lstrip("R0123456789").split("/"):
            if part.startswith("P") and _approx_days(T.parse_iso_duration(part)) > _HORIZON_DAYS + 400:
                return far
        if kind == "timeDate":
            when = T.parse_time_or_duration(value)
            if not isinstance(when, datetime):
                raise ValueError
            delta = when - now
        elif kind == "timeCycle":
            cycles, start, duration = T.parse_iso_recurring_interval(value)
            if duration.total_seconds() < MIN_CYCLE_SECONDS:
                return (f"timer cycle {value!r} repeats more often than once a minute: "
                        f"use a longer interval, e.g. R/PT1H or R/P1D")
            if cycles > MAX_CYCLE_REPETITIONS:
                return f"timer cycle {value!r} repeats more than {MAX_CYCLE_REPETITIONS:,} times: use fewer"
            delta = max(start - now, duration)
        else:
            if not value.strip().upper().startswith("P"):
                raise ValueError
            delta = T.get_timedelta_from_start(T.parse_iso_duration(value), now)
    except Exception:                # SpiffWorkflow raises bare Exception, ValueError, AttributeError...
        return f"timer value {value!r} is not ISO 8601 {what.split(' ', 1)[1]}: {example}"
    if delta > timedelta(days=_HORIZON_DAYS):
        return far
    return None


def _approx_days(parsed: dict) -> float:
    """An upper bound of a parsed ISO 8601 duration, in days."""
    return (parsed.get("years", 0) * 366 + parsed.get("months", 0) * 31 + parsed.get("weeks", 0) * 7
            + parsed.get("days", 0) + parsed.get("hours", 0) / 24 + parsed.get("minutes", 0) / 1440
            + parsed.get("seconds", 0) / 86400)


def _untranslatable(doc: ModelDocument, scope: list[ProcessModel]) -> list[ModelError]:
    docs = {id(doc.file_of(p.id)): doc.file_of(p.id) for p in scope}
    docs.setdefault(id(doc), doc)
    return [ModelError(message, file=d.filename, line=line, element=element or None)
            for d in docs.values() for line, element, message in d.untranslatable]


#: A throw-away start at validate gives up (and says nothing) after this long: the real start has its own budget.
DRY_RUN_SECONDS = 2.0


class _DryRunLate(Exception):
    pass


def _dry_run(compiled: CompiledModel) -> str | None:
    """Start a throw-away case with no data: the engine failing by itself (not for want of data) is a refusal.

    Bounded by a deadline checked after every engine step (no signal: an alarm
    landing inside the sandbox's own set-up could leave its limits armed); a
    model that is merely slow to start is not refused here, its real start has
    the step budget.
    """
    import time

    from SpiffWorkflow.exceptions import SpiffWorkflowException as _SpiffError

    from .errors import OnetripError

    deadline = time.monotonic() + DRY_RUN_SECONDS

    def check(task) -> None:
        if time.monotonic() > deadline:
            raise _DryRunLate()

    try:
        wf = compiled.new_workflow()
        wf.refresh_timers()
        wf.do_engine_steps(did_complete_task=check)
    except RecursionError:
        return ("the engine recurses without end when it starts this model (its flow keeps predicting "
                "itself): simplify the loop or the events around it")
    except (_DryRunLate, OnetripError, _SpiffError, Exception):   # slow, or wanted data this empty case lacks
        return None
    return None


def compile_model(doc: ModelDocument, process_id: str | None = None
                  ) -> tuple[ProcessModel, CompiledModel | None, list[ModelError]]:
    """Parse a model for execution.  Returns (process, compiled or None, problems).

    Call activities resolve to the processes of ``doc`` and of ``doc.library``
    (the other files uploaded with it, or stored versions).  When the file
    cannot tell which process to run, the first uncalled one stands in and the
    reason is the first problem (so a descriptive upload still works).
    """
    process, ambiguity = choose_leniently(doc, process_id)
    problems: list[ModelError] = [ambiguity] if ambiguity else []
    if not process.executable:
        problems.append(ModelError("process is not executable (isExecutable=\"false\"): remove the attribute "
                                   "or set it to true", file=doc.filename, line=process.line, element=process.id))
    scope = called_scope(doc, process)
    problems.extend(_untranslatable(doc, scope))
    problems.extend(semantic_problems(doc, process))
    known = {p.id for p in doc.all_processes()}
    unresolved = any(n.tag == "callActivity" and n.called_element not in known for p in scope for n in p.walk())
    if unresolved or _recursion_problems(doc, process):
        return process, None, problems      # SpiffWorkflow would fail to find the called process, or recurse
    compiled = None
    parser = OnetripParser()
    try:
        parser.add_bpmn_xml(doc.tree, filename=doc.filename)
        needed = {p.id for p in scope} - {p.id for p in doc.processes}
        for other in doc.library:
            if needed & {p.id for p in other.processes}:
                needed -= {p.id for p in other.processes}
                parser.add_bpmn_xml(other.tree, filename=other.filename)
        spec = parser.get_spec(process.id)
        subs = parser.get_subprocess_specs(process.id)
        compiled = CompiledModel(process.id, spec, subs)
        if not problems:           # a version is stored serialized: what cannot round-trip cannot run
            runtime.spec_from_json(runtime.spec_to_json(compiled))
            reason = _dry_run(compiled)
            if reason:
                problems.append(ModelError(reason, file=doc.filename, line=process.line, element=process.id))
    except ValidationException as exc:
        line = exc.line_number if isinstance(exc.line_number, int) else None
        if exc.id and any(p.element == exc.id for p in problems):
            return process, None, problems      # already explained, in our words
        message = str(exc.args[0]) if exc.args else "invalid model"
        # SpiffWorkflow sometimes quotes lxml objects ("<Element {ns}sourceRef at 0x7f...>"): name them.
        message = re.sub(r"<Element \{[^}]*\}(\w+) at 0x[0-9a-f]+>", r"<\1>", message)
        if "Unsupported Catch Event" in message:
            message = ("this kind of boundary event (compensation, variable listener or a vendor event) is "
                       "not supported by the engine: remove it, or use a timer, error, escalation, message, "
                       "signal, conditional or cancel event")
        problems.append(ModelError(message, file=exc.file_name or doc.filename, line=line,
                                   element=exc.id or None))
    except SpiffWorkflowException as exc:
        problems.append(ModelError(str(exc), file=doc.filename))
    except (KeyError, AttributeError, TypeError, ValueError, IndexError, RecursionError) as exc:
        problems.append(ModelError(f"the engine cannot read this model ({type(exc).__name__}: {exc})",
                                   file=doc.filename))
    return process, (compiled if not problems else None), problems

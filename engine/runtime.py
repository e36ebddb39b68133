"""Running a matter's BPMN on SpiffWorkflow 3.2.

* :class:`OnetripParser` reads the annotation properties of all three
  namespaces into ``task_spec.extensions`` and completes service tasks
  automatically (they stand for data sharing / electronic licences).
* :func:`compile_model` checks that a model will run as it is drawn and
  returns the parsed specs, or the list of reasons it cannot run.
* Specs are serialized once per process version (:func:`spec_to_json`); a
  case's state is the workflow without its specs (:func:`dump_state`), so the
  store never repeats the spec inside every case.
* Conditions and scripts run in :mod:`engine.sandbox`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter, BpmnWorkflowConverter, TaskConverter,
)
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SPIFF_SERIALIZER_VERSION
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from datetime import datetime, timezone

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from . import sandbox
from .bpmn_model import ModelDocument, Node, ProcessModel, as_bool, properties
from .clock import Clock
from .errors import ModelError, NotExecutable, ScriptError, TaskStateError

#: Stored with every case: the SpiffWorkflow serializer version and our own layout.
STATE_FORMAT = f"spiff-{SPIFF_SERIALIZER_VERSION}/onetrip-1"

_clock: Clock = Clock()


def current_clock() -> Clock:
    return _clock


def set_clock(clock: Clock) -> None:
    """Make the engine (scripts' ``today()``, SpiffWorkflow's timers) read this clock."""
    global _clock
    _clock = clock


class _EngineDatetime(datetime):
    """``datetime`` whose ``now()`` is the engine's clock (naive local time, like the clock)."""

    @classmethod
    def now(cls, tz=None):
        local = _clock.now()
        return local.astimezone(tz) if tz is not None else local


# SpiffWorkflow's timers call datetime.now(timezone.utc) with no way to inject a clock;
# pointing that one module at the engine's clock makes timers testable and simulable.
_spiff_timer.datetime = _EngineDatetime


# ------------------------------------------------------------------ parser

class _PropertiesMixin:
    """Read camunda/zeebe/spiffworkflow name-value properties as extensions."""

    def parse_extensions(self, node=None):
        return properties(node if node is not None else self.node)


class AutoServiceTask(ServiceTask):
    """A service task completes by itself: data sharing, e-licence issuing."""

    def _execute(self, task):
        return True


def _with_properties(parser_classes: dict) -> dict:
    out = {}
    for tag, (parser_cls, spec_cls) in parser_classes.items():
        mixed = type(f"Onetrip{parser_cls.__name__}", (_PropertiesMixin, parser_cls), {})
        out[tag] = (mixed, AutoServiceTask if spec_cls is ServiceTask else spec_cls)
    return out


class OnetripParser(BpmnParser):
    OVERRIDE_PARSER_CLASSES = _with_properties(BpmnParser.PARSER_CLASSES)


# ------------------------------------------------------------ script engine

class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    def evaluate(self, expression, context, external_context=None):
        return sandbox.evaluate(expression, context, external_context)

    def execute(self, script, context, external_context=None):
        sandbox.execute(script, context, external_context)
        return True

    def call_service(self, context, **kwargs):
        raise ScriptError("service calls are not available to models")


class SandboxScriptEngine(PythonScriptEngine):
    """Spiff's engine API, every call through :mod:`engine.sandbox`."""

    def __init__(self):
        super().__init__(environment=SandboxEnvironment())

    def _locate(self, exc: ScriptError, task) -> ScriptError:
        spec = task.task_spec
        exc.element = exc.element or getattr(spec, "bpmn_id", None) or spec.name
        return exc

    def evaluate(self, task, expression, external_context=None):
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except ScriptError as exc:
            raise self._locate(exc, task) from None

    def execute(self, task, script, external_context=None):
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except ScriptError as exc:
            raise self._locate(exc, task) from None

    def call_service(self, task, **kwargs):
        raise self._locate(ScriptError("service calls are not available to models"), task)


SCRIPT_ENGINE = SandboxScriptEngine()


# ------------------------------------------------------------- serializer

_uuid = lru_cache(maxsize=1 << 16)(UUID)    # each task id is parsed once per process


class FastTaskConverter(TaskConverter):
    """SpiffWorkflow's task format, restored without re-parsing every UUID."""

    def from_dict(self, dct, workflow):
        spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = Task(workflow, spec, state=dct["state"], id=_uuid(dct["id"]))
        parent = dct["parent"]
        task._parent = _uuid(parent) if parent is not None else None
        task._children = [_uuid(c) for c in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        internal = dct["internal_data"]
        task.internal_data = self.registry.restore(internal) if internal else {}
        if isinstance(spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            task.workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        if delta and task._parent is not None:
            data = DeepMerge.merge({}, task.parent.data)
            updates = delta.get("updates")
            if updates:
                data.update(self.registry.restore(updates))
            for key in delta.get("deletions") or ():
                data.pop(key, None)
        else:
            data = self.registry.restore(dct["data"])
        task.data = data
        return task


class StatelessSpecWorkflowConverter(BpmnWorkflowConverter):
    """Workflow state without the process specs: those are stored once per version."""

    def to_dict(self, workflow):
        dct = super().to_dict(workflow)
        dct.pop("spec", None)
        dct.pop("subprocess_specs", None)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        dct = dict(dct)
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dict(dct["subprocesses"]), workflow)
        workflow.bpmn_events = self.registry.restore(dct.get("bpmn_events", []))
        return workflow


class FastSubWorkflowConverter(BpmnSubWorkflowConverter):
    def from_dict(self, dct, task, top_workflow):
        spec = top_workflow.subprocess_specs.get(task.task_spec.spec)
        subprocess = self.target_class(spec, task.id, top_workflow, deserializing=True)
        subprocess.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=subprocess)
        subprocess.task_tree = subprocess.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(subprocess, dct)
        return subprocess


def _registry(stateless: bool):
    config = dict(DEFAULT_CONFIG)
    config[AutoServiceTask] = BpmnTaskSpecConverter
    if stateless:
        config[BpmnWorkflow] = StatelessSpecWorkflowConverter
        config[BpmnSubWorkflow] = FastSubWorkflowConverter
        config[Task] = FastTaskConverter
    return BpmnWorkflowSerializer.configure(config)


_SPEC_SERIALIZER = BpmnWorkflowSerializer(_registry(stateless=False))
_STATE_SERIALIZER = BpmnWorkflowSerializer(_registry(stateless=True))


@dataclass
class CompiledModel:
    """The runnable form of one process version."""
    process_id: str
    spec: object
    subprocess_specs: dict

    def new_workflow(self) -> BpmnWorkflow:
        wf = BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=SCRIPT_ENGINE)
        return wf


@dataclass
class CaseState:
    """What a load saw, so that a save writes only the tasks that changed."""
    bodies: dict[str, dict]            # task id -> serialized task as stored
    positions: dict[str, int]          # task id -> creation order
    next_pos: int


@dataclass
class StateChanges:
    workflow: str                                  # workflow-level JSON (cases.state)
    upserts: list[tuple[str, str, int, str]]       # (task id, workflow key, pos, body JSON)
    deletes: list[str]
    state: CaseState


_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED | TaskState.ERROR


def _json(value) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ScriptError(f"task data must be JSON values (text, numbers, true/false, lists, objects): {exc}") \
            from None


def _workflow_fields(wf, top: bool) -> dict:
    reg = _STATE_SERIALIZER.registry
    d = {"data": reg.convert(reg.clean(wf.data)), "correlations": wf.correlations,
         "last_task": str(wf.last_task.id) if wf.last_task is not None else None,
         "success": wf.success, "completed": wf.completed, "root": str(wf.task_tree.id)}
    if top:
        d["typename"] = "BpmnWorkflow"
        d["bpmn_events"] = reg.convert(wf.bpmn_events)
        d["subprocesses"] = {str(k): _workflow_fields(sp, False) | {
            "typename": "BpmnSubWorkflow", "parent_task_id": str(sp.parent_task_id), "spec": sp.spec.name}
            for k, sp in wf.subprocesses.items()}
    return d


def _all_tasks(wf):
    for task in wf.tasks.values():
        yield "", task
    for key, sp in wf.subprocesses.items():
        for task in sp.tasks.values():
            yield str(key), task


def _unchanged(task, old: dict) -> bool:
    """Cheap test first: a finished task whose bookkeeping is as stored has not changed."""
    return (old["state"] == task._state and old["last_state_change"] == task.last_state_change
            and old["triggered"] == task.triggered and len(old["children"]) == len(task._children)
            and task._state & _FINISHED != 0
            and old["children"] == [str(c) for c in task._children])


def save_changes(wf: BpmnWorkflow, state: CaseState | None) -> StateChanges:
    """Serialize what changed since ``state`` (everything when ``state`` is None)."""
    reg = _STATE_SERIALIZER.registry
    bodies = dict(state.bodies) if state else {}
    positions = dict(state.positions) if state else {}
    next_pos = state.next_pos if state else 0
    upserts, seen = [], set()
    for wkey, task in _all_tasks(wf):
        tid = str(task.id)
        seen.add(tid)
        old = bodies.get(tid)
        if old is not None and _unchanged(task, old):
            continue
        body = reg.convert(task)
        if old is not None and body == old:
            continue
        if tid not in positions:
            positions[tid] = next_pos
            next_pos += 1
        bodies[tid] = body
        upserts.append((tid, wkey, positions[tid], _json(body)))
    deletes = [tid for tid in bodies if tid not in seen]
    for tid in deletes:
        bodies.pop(tid)
        positions.pop(tid, None)
    return StateChanges(_json(_workflow_fields(wf, True)), upserts, deletes,
                        CaseState(bodies, positions, next_pos))


def restore(workflow_json: str, rows, model: CompiledModel) -> tuple[BpmnWorkflow, CaseState]:
    """Rebuild a workflow from ``cases.state`` and its task rows (task id, workflow key, pos, body)."""
    top = json.loads(workflow_json)
    groups: dict[str, dict] = {"": {}}
    bodies, positions, next_pos = {}, {}, 0
    for tid, wkey, pos, body in sorted(rows, key=lambda r: r[2]):
        dct = json.loads(body)
        groups.setdefault(wkey, {})[tid] = dct
        bodies[tid] = dct
        positions[tid] = pos
        next_pos = max(next_pos, pos + 1)
    top["tasks"] = groups[""]
    for key, sub in top.get("subprocesses", {}).items():
        sub["tasks"] = groups.get(key, {})
    wf = _STATE_SERIALIZER.registry.restore(top, spec=model.spec, subprocess_specs=model.subprocess_specs)
    wf.script_engine = SCRIPT_ENGINE
    return wf, CaseState(bodies, positions, next_pos)


def spec_to_json(model: CompiledModel) -> str:
    reg = _SPEC_SERIALIZER.registry
    return json.dumps({
        "process_id": model.process_id,
        "spec": reg.convert(model.spec),
        "subprocess_specs": {k: reg.convert(v) for k, v in model.subprocess_specs.items()},
        "format": STATE_FORMAT,
    }, ensure_ascii=False)


@lru_cache(maxsize=256)
def spec_from_json(text: str) -> CompiledModel:
    """Restore specs; cached per content, so a process restores each version once."""
    dct = json.loads(text)
    reg = _SPEC_SERIALIZER.registry
    return CompiledModel(dct["process_id"], reg.restore(dct["spec"]),
                         {k: reg.restore(v) for k, v in dct["subprocess_specs"].items()})


def dump_state(wf: BpmnWorkflow) -> str:
    reg = _STATE_SERIALIZER.registry
    reg._encoder_mode = True
    try:
        dct = reg.convert(wf)
        return json.dumps(dct, cls=_STATE_SERIALIZER._encoder_cls, ensure_ascii=False,
                          separators=(",", ":"))
    finally:
        reg._encoder_mode = False


def load_state(text: str, model: CompiledModel) -> BpmnWorkflow:
    dct = json.loads(text)
    wf = _STATE_SERIALIZER.registry.restore(dct, spec=model.spec,
                                            subprocess_specs=model.subprocess_specs)
    wf.script_engine = SCRIPT_ENGINE
    return wf


# -------------------------------------------------------------- checking

def _problem(doc: ModelDocument, node_or_line, element: str | None, message: str) -> ModelError:
    line = node_or_line if isinstance(node_or_line, int) or node_or_line is None else node_or_line.line
    return ModelError(message, file=doc.filename, line=line, element=element)


def semantic_problems(doc: ModelDocument, process: ProcessModel) -> list[ModelError]:
    """Reasons the engine would run ``process`` differently from how it is drawn."""
    problems: list[ModelError] = []
    known = {p.id for p in doc.processes}

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
    if node.tag == "callActivity" and node.called_element not in known_processes:
        out.append(_problem(doc, node, node.id, f"called process {node.called_element!r} is not in this file"))
    for key in ("onsite", "step"):
        if key in node.props and as_bool(node.props[key]) is None:
            out.append(_problem(doc, node, node.id, f"property {key}={node.props[key]!r} is not true/false"))
    return out


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
        problems.append(ModelError(str(exc.args[0]) if exc.args else "invalid model",
                                   file=doc.filename, line=line, element=exc.id or None))
    except SpiffWorkflowException as exc:
        problems.append(ModelError(str(exc), file=doc.filename))
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        problems.append(ModelError(f"the engine cannot read this model ({type(exc).__name__}: {exc})",
                                   file=doc.filename))
    return process, (compiled if not problems else None), problems


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


# ----------------------------------------------------------------- running

@dataclass(frozen=True)
class ReadyTask:
    id: UUID
    spec_name: str
    name: str
    lane: str | None
    props: dict

    @property
    def onsite(self) -> bool:
        return bool(as_bool(self.props.get("onsite"), False))

    @property
    def clock_stop(self) -> bool:
        return (self.props.get("clock") or "").strip().lower() == "stop"


def _info(task) -> ReadyTask:
    spec = task.task_spec
    return ReadyTask(task.id, spec.bpmn_id or spec.name, spec.bpmn_name or spec.bpmn_id or spec.name,
                     spec.lane, dict(getattr(spec, "extensions", None) or {}))


def run_engine(wf: BpmnWorkflow) -> None:
    """Advance everything that needs no human: gateways, scripts, service tasks, timers."""
    try:
        wf.refresh_timers()
        wf.do_engine_steps()
    except ScriptError:
        raise
    except SpiffWorkflowException as exc:
        raise ScriptError(f"the engine stopped: {exc}") from None


def start(model: CompiledModel, data: dict | None = None) -> BpmnWorkflow:
    if model is None:
        raise NotExecutable("this process version cannot be run")
    wf = model.new_workflow()
    if data:
        wf.task_tree.data.update(data)
        for child in wf.task_tree.children:
            child.data.update(data)
    run_engine(wf)
    return wf


def ready_tasks(wf: BpmnWorkflow) -> list[ReadyTask]:
    return [_info(t) for t in wf.get_tasks(state=TaskState.READY, manual=True)]


def complete(wf: BpmnWorkflow, task_id: UUID, data: dict) -> ReadyTask:
    """Complete one ready human task with data and run the engine on."""
    task = wf.get_task_from_id(task_id)
    if task is None:
        raise TaskStateError(f"task {task_id} is not part of this case")
    if task.state != TaskState.READY or not task.task_spec.manual:
        raise TaskStateError(f"task is {TaskState.get_name(task.state).lower()}, not ready")
    info = _info(task)
    task.data.update(data)
    task.run()
    run_engine(wf)
    return info


def waiting_timers(wf: BpmnWorkflow) -> list:
    """Timer events the case is waiting on (intermediate or boundary)."""
    out = []
    for t in wf.get_tasks(state=TaskState.WAITING):
        definition = getattr(t.task_spec, "event_definition", None)
        if isinstance(t.task_spec, CatchingEvent) and isinstance(definition, TimerEventDefinition):
            out.append(t)
    return out


def next_timer_at(wf: BpmnWorkflow) -> datetime | None:
    """When the earliest waiting timer fires, as naive local time (None: no timer)."""
    due = []
    for t in waiting_timers(wf):
        value = t.internal_data.get("event_value")
        if isinstance(value, dict):          # cycle timers
            value = value.get("next")
        if not isinstance(value, str):
            continue
        try:
            when = TimerEventDefinition.get_datetime(value) if not value.upper().startswith("P") else None
        except ValueError:
            continue
        if when is not None:
            due.append(when.astimezone().replace(tzinfo=None, microsecond=0))
    return min(due) if due else None

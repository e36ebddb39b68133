"""Running a matter's BPMN on SpiffWorkflow 3.2.

* :mod:`engine.compiler` parses and checks models; this module runs them.
* Specs are serialized once per process version (:func:`spec_to_json`); a
  case's state is the workflow without its specs (:func:`dump_state`), so the
  store never repeats the spec inside every case.
* Conditions and scripts run in :mod:`engine.sandbox`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter, BpmnWorkflowConverter, TaskConverter,
)
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SPIFF_SERIALIZER_VERSION
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from .annotations import as_bool
from .clock import Clock
from .errors import NotExecutable, ScriptError, TaskStateError

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


class AutoServiceTask(ServiceTask):
    """A service task completes by itself: data sharing, e-licence issuing."""

    def _execute(self, task):
        return True


# ------------------------------------------------------------ script engine

class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    def evaluate(self, expression, context, external_context=None):
        from . import sandbox
        return sandbox.evaluate(expression, context, external_context)

    def execute(self, script, context, external_context=None):
        from . import sandbox
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
        return BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=SCRIPT_ENGINE)

    @property
    def has_timers(self) -> bool:
        """Whether any step waits on a timer (else a step need not look for timers at all)."""
        cached = self.__dict__.get("_has_timers")
        if cached is None:
            specs = [self.spec, *self.subprocess_specs.values()]
            cached = any(isinstance(getattr(t, "event_definition", None), TimerEventDefinition)
                         for sp in specs for t in sp.task_specs.values())
            self.__dict__["_has_timers"] = cached
        return cached


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


#: Automated steps one command may run before the engine gives up (a runaway model).
MAX_ENGINE_STEPS = 5000


class _Budget:
    def __init__(self, limit: int):
        self.left = limit

    def __call__(self, task) -> None:
        self.left -= 1
        if self.left < 0:
            raise ScriptError(f"the model ran more than {MAX_ENGINE_STEPS} automated steps without "
                              f"reaching a human task; nothing was saved", element=task.task_spec.bpmn_id)


def run_engine(wf: BpmnWorkflow) -> None:
    """Advance everything that needs no human: gateways, scripts, service tasks, timers."""
    try:
        wf.refresh_timers()
        wf.do_engine_steps(did_complete_task=_Budget(MAX_ENGINE_STEPS))
    except ScriptError:
        raise
    except SpiffWorkflowException as exc:
        raise ScriptError(f"the engine stopped: {exc}") from None
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError) as exc:
        # SpiffWorkflow's own hooks on data the model expected (a missing multi-instance collection...)
        raise ScriptError(f"the engine stopped: {type(exc).__name__}: {exc} (is the data the model "
                          f"expects there?); nothing was saved") from None


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

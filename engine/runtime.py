"""Running a matter's BPMN on SpiffWorkflow 3.2.

* :mod:`engine.compiler` parses and checks models; this module runs them.
* Specs are serialized once per process version (:func:`spec_to_json`); a
  case's state is the workflow without its specs, one row per task, written
  incrementally (:func:`save_changes`, :func:`restore`), so the store never
  repeats the spec inside every case nor rewrites unchanged tasks.
* Conditions and scripts run in :mod:`engine.sandbox`.
"""
from __future__ import annotations

import _signal
import json
import re
import resource
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from uuid import UUID

import orjson
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

from .annotations import is_clock_stop, is_onsite
from .clock import current_clock
from .errors import NotExecutable, ScriptError, TaskStateError
from . import steplimits
from .values import ORJSON_STRICT, DataError, check_value

#: Stored with every case: the SpiffWorkflow serializer version and our own layout.
STATE_FORMAT = f"spiff-{SPIFF_SERIALIZER_VERSION}/onetrip-1"

class _EngineDatetime(datetime):
    """``datetime`` whose ``now()`` is the engine's clock (naive local time, like the clock)."""

    @classmethod
    def now(cls, tz=None):
        local = current_clock().now()
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
            value = self.environment.evaluate(expression, task.data, external_context)
            spec = task.task_spec
            definition = getattr(spec, "event_definition", None)
            if isinstance(definition, TimerEventDefinition) and expression == definition.expression:
                return check_timer_value(definition, value)
            if expression is not None and expression == getattr(spec, "cardinality", None):
                return _check_cardinality(value)
            return value
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


# ------------------------------------------------------------ step limits

#: Limits of one step (a clerk's completion, a case start, a worker's timer pass on one case), around
#: SpiffWorkflow itself: each condition or script also has its own limits (engine.sandbox).
#: Wall-clock seconds the whole step may take (every script and condition in it included).
STEP_SECONDS = 5.0
#: Address space the whole step may allocate on top of what the process uses.
STEP_MEMORY_BYTES = 512 * 1024 * 1024
#: Automated steps one command may run before the engine gives up (a runaway model).
MAX_ENGINE_STEPS = 5000
#: Tasks a case may hold (its whole SpiffWorkflow task tree, loops and sub-processes included).
MAX_TASKS = 10_000
#: Instances of one multi-instance activity (cardinality or the size of its input collection).
MAX_INSTANCES = 1_000
#: Call activities / sub-processes nested inside each other (a process that calls itself).
MAX_SUBPROCESS_DEPTH = 16
#: Furthest a timer may point into the future (durations, dates and cycle intervals).
TIMER_HORIZON_DAYS = 3653
#: Shortest interval of a timer cycle.
MIN_CYCLE_SECONDS = 1


class _StepTimeout(BaseException):
    """The step's wall clock ran out (raised by the alarm into SpiffWorkflow's own code)."""


def _limit_error(message: str, task=None) -> ScriptError:
    element = None
    if task is not None:
        element = getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
    return ScriptError(f"{message}; nothing was saved", element=element)


class StepBudget:
    """Wall clock, engine steps, task count, nesting and memory of one step, around SpiffWorkflow.

    Used as ``with StepBudget(wf) as budget: ... wf.do_engine_steps(did_complete_task=budget)``.
    In the main thread a ``SIGALRM`` interval timer stops SpiffWorkflow's own loops (the sandbox
    saves and gives back this alarm around every condition and script, and caps each run by the
    step's deadline); elsewhere the deadline is checked after every engine step.  The address-space
    limit is ``RLIMIT_AS`` (Linux), restored afterwards.  Any limit hit is one
    :class:`~engine.errors.ScriptError` naming the element and the limit; the caller saves nothing.
    """

    def __init__(self, wf, seconds: float = STEP_SECONDS, memory: int = STEP_MEMORY_BYTES):
        self.wf, self.seconds, self.memory = wf, seconds, memory
        self.steps = 0
        self.deadline = 0.0
        self.current = None          # the task being run (for the element in a message)
        self._old_handler = self._old_timer = self._old_as = None
        self._old_deadline = None
        self._main = False
        self._armed = False

    # -- the callbacks SpiffWorkflow calls around every engine step
    def will_run(self, task) -> None:
        self.current = task

    def __call__(self, task) -> None:
        self.current = task
        self.steps += 1
        if self.steps > MAX_ENGINE_STEPS:
            raise _limit_error(f"the model ran more than {MAX_ENGINE_STEPS} automated steps without "
                               f"reaching a human task", task)
        if not self._main and time.monotonic() > self.deadline:
            raise _StepTimeout()
        depth = getattr(task.workflow, "depth", 0)
        if depth > MAX_SUBPROCESS_DEPTH:
            raise _limit_error(f"sub-processes nested more than {MAX_SUBPROCESS_DEPTH} deep (does the "
                               f"process call itself?)", task)
        if self.steps % 16 == 0:
            self.check_size(task)

    def check_size(self, task=None) -> None:
        wf = self.wf
        count = len(wf.tasks) + sum(len(sp.tasks) for sp in wf.subprocesses.values())
        if count > MAX_TASKS:
            raise _limit_error(f"the case would hold more than {MAX_TASKS:,} tasks", task)

    # -- arming
    def _on_alarm(self, signum, frame):
        if self._armed:                 # never once disarming has begun (a late alarm is ignored)
            raise _StepTimeout()

    def __enter__(self):
        self._main = threading.current_thread() is threading.main_thread()
        self.deadline = time.monotonic() + self.seconds
        with steplimits.alarms_held(self._main):    # an outer alarm must not land between a limit and its note
            base = steplimits.vm_size()
            if base:
                self._old_as = steplimits.lower_soft_limit(resource.RLIMIT_AS, base + self.memory)
            self._old_deadline = steplimits.set_step_deadline(self.deadline, self.seconds)
            if self._main:
                self._armed = True
                self._old_handler = _signal.signal(signal.SIGALRM, self._on_alarm)   # (no enum conversion)
                self._old_timer = signal.setitimer(signal.ITIMER_REAL, self.seconds)     # one shot
        return self

    def _disarm(self) -> None:
        with steplimits.alarms_held(self._main):
            self._restore()

    def _restore(self) -> None:
        if self._main:
            signal.setitimer(signal.ITIMER_REAL, 0)
            if self._old_handler is not None:
                _signal.signal(signal.SIGALRM, self._old_handler)
            if self._old_timer and self._old_timer[0] > 0:      # someone else's alarm: give it back
                elapsed = time.monotonic() - (self.deadline - self.seconds)
                signal.setitimer(signal.ITIMER_REAL, max(self._old_timer[0] - elapsed, 0.001),
                                 self._old_timer[1])
        steplimits.set_step_deadline(self._old_deadline)
        if self._old_as is not None:
            resource.setrlimit(resource.RLIMIT_AS, self._old_as)

    def __exit__(self, kind, exc, tb):
        self._armed = False             # first: from here on the alarm raises nothing
        failure = None
        if kind is not None:
            if issubclass(kind, _StepTimeout):
                failure = "time"
            elif issubclass(kind, MemoryError):
                failure = "memory"
            elif issubclass(kind, RecursionError):
                failure = "depth"
        self._disarm()
        task = self.current
        if failure == "time":
            raise _limit_error(f"stopped: the step ran longer than {self.seconds:g} s "
                               f"(the limit for one step)", task) from None
        if failure == "memory":
            raise _limit_error(f"stopped: the step tried to use more than "
                               f"{self.memory // (1024 * 1024)} MB of memory", task) from None
        if failure == "depth":
            raise _limit_error("stopped: the data or the model is nested too deeply to run", task) from None
        return False


def _check_cardinality(value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScriptError(f"multi-instance cardinality gave {_show(value)}: expected a whole number")
    if value < 0 or value > MAX_INSTANCES:
        raise ScriptError(f"multi-instance cardinality {value:,} is outside 0..{MAX_INSTANCES:,} "
                          f"(the limit of instances of one activity)")
    return value


def _brief(exc, limit: int) -> str:
    """An error's text on one line, cut to ``limit`` characters (SpiffWorkflow's can span lines)."""
    return " ".join(str(exc).split())[:limit]


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _guard_multi_instance():
    """Refuse a data-driven multi-instance over more than MAX_INSTANCES items before any is created."""
    from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask, MultiInstanceTask

    if "_update_hook" in MultiInstanceTask.__dict__:
        return
    inherited = LoopTask._update_hook

    def _update_hook(self, my_task):
        result = inherited(self, my_task)           # the task takes its data from its parent here
        data_input = self.data_input
        if data_input is not None and data_input.exists(my_task):
            collection = data_input.get(my_task)
            try:
                size = len(collection)
            except TypeError:
                size = 0
            if size > MAX_INSTANCES:
                raise ScriptError(f"multi-instance over {size:,} items of {data_input.bpmn_id!r}: at most "
                                  f"{MAX_INSTANCES:,} instances of one activity",
                                  element=getattr(self, "bpmn_id", None) or self.name)
        return result

    MultiInstanceTask._update_hook = _update_hook


_guard_multi_instance()


def _coalesce_cycle_catch_up():
    """A cycle timer far behind fires once, then waits for its next occurrence after now.

    SpiffWorkflow fires a cycle whose next occurrence is in the past again and again within one
    step (``R/PT1S`` an hour behind: 3,600 firings and paths).  Here the occurrences missed while
    nobody ran the case are coalesced into that one firing.
    """
    from datetime import timedelta, timezone
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition

    if getattr(CycleTimerEventDefinition.cycle_complete, "_onetrip", False):
        return
    original = CycleTimerEventDefinition.cycle_complete

    def cycle_complete(self, my_task):
        ready = original(self, my_task)
        value = my_task._get_internal_data("event_value")
        if ready and isinstance(value, dict) and value.get("cycles") != 0 and value.get("duration", 0) > 0:
            now = _spiff_timer.datetime.now(timezone.utc)
            following = datetime.fromisoformat(value["next"])
            if following < now:
                step = timedelta(seconds=value["duration"])
                missed = (now - following) // step + 1
                value["next"] = (following + missed * step).isoformat()
                my_task._set_internal_data(event_value=value)
        return ready

    cycle_complete._onetrip = True
    CycleTimerEventDefinition.cycle_complete = cycle_complete


_coalesce_cycle_catch_up()


_DURATION = re.compile(r"^P(?!$)(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?"
                       r"(?:(\d+(?:[.,]\d+)?)D)?(?:T(?=\d)(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?"
                       r"(?:(\d+(?:[.,]\d+)?)S)?)?$", re.IGNORECASE)
_DAYS_PER = (366, 31, 7, 1, 1 / 24, 1 / 1440, 1 / 86400)


def duration_days(text: str) -> float | None:
    """Upper bound of an ISO 8601 duration in days, or None when it is not one."""
    m = _DURATION.match(text.strip())
    if m is None or m.group(0).upper().endswith("T"):
        return None
    return sum(float(v.replace(",", ".")) * per for v, per in zip(m.groups(), _DAYS_PER) if v)


def _timer_refusal(definition, value) -> str | None:
    """Why a timer expression's value cannot be used (None: it can)."""
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
        CycleTimerEventDefinition, DurationTimerEventDefinition,
    )
    horizon = TIMER_HORIZON_DAYS
    if not isinstance(value, str):
        return f"gave {_show(value)}, not a text"
    text = value.strip()
    if isinstance(definition, DurationTimerEventDefinition):
        days = duration_days(text)
        if days is None:
            return f"gave {_show(value)}: expected an ISO 8601 duration such as 'P3D' or 'PT2H'"
        if days > horizon:
            return f"gave {_show(value)}: more than {horizon // 365} years ahead"
        return None
    if isinstance(definition, CycleTimerEventDefinition):
        parts = text.upper().split("/")
        if len(parts) not in (2, 3) or not re.fullmatch(r"R\d{0,9}", parts[0]):
            return f"gave {_show(value)}: expected an ISO 8601 cycle such as 'R3/PT1H'"
        durations = [p for p in parts[1:] if p.startswith("P")]
        instants = [p for p in parts[1:] if not p.startswith("P")]
        if len(durations) != 1:
            return f"gave {_show(value)}: a cycle needs exactly one interval such as 'PT1H'"
        days = duration_days(durations[0])
        if days is None:
            return f"gave {_show(value)}: bad interval {durations[0]!r}"
        if days > horizon:
            return f"gave {_show(value)}: an interval of more than {horizon // 365} years"
        if days * 86400 < MIN_CYCLE_SECONDS:
            return f"gave {_show(value)}: an interval shorter than {MIN_CYCLE_SECONDS} s"
        for instant in instants:
            reason = _instant_refusal(instant, value, horizon)
            if reason:
                return reason
        return None
    return _instant_refusal(text, value, horizon)


def _instant_refusal(text: str, value, horizon: int) -> str | None:
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition as _T
    try:
        when = _T.parse_iso_week(text) if "W" in text.upper() else _T.get_datetime(text)
    except (ValueError, TypeError, AttributeError, OverflowError):
        return f"gave {_show(value)}: expected an ISO 8601 date and time such as '2026-03-02T09:00'"
    now = current_clock().now()
    try:
        local = when.astimezone().replace(tzinfo=None)
    except (OverflowError, ValueError):
        return f"gave {_show(value)}: out of range"
    if abs((local - now).days) > horizon:
        return f"gave {_show(value)}: more than {horizon // 365} years from now"
    return None


def check_timer_value(definition, value):
    """A timer expression's value, checked before SpiffWorkflow parses it (ScriptError when unusable)."""
    reason = _timer_refusal(definition, value)
    if reason:
        raise ScriptError(f"timer expression {reason}")
    return value.strip()


# ------------------------------------------------------------- serializer

_uuid = lru_cache(maxsize=1 << 16)(UUID)    # each task id is parsed once per process


class FastTaskConverter(TaskConverter):
    """SpiffWorkflow's task format, restored without re-parsing every UUID, written without its
    generic helpers (the same dict as :meth:`TaskConverter.to_dict`, checked by tests/test_state_roundtrip)."""

    def to_dict(self, task):
        parent = task.workflow.tasks.get(task._parent)
        data = task.data
        if parent is None:
            delta = {}
        else:
            pdata = parent.data
            delta = {"updates": {k: v for k, v in data.items() if k not in pdata or v != pdata[k]},
                     "deletions": [k for k in pdata if k not in data]}
            data = {}
        internal = task.internal_data
        return {"id": str(task.id), "parent": str(task._parent) if parent is not None else None,
                "children": [str(c) for c in task._children], "last_state_change": task.last_state_change,
                "state": task._state, "task_spec": task.task_spec.name, "triggered": task.triggered,
                "internal_data": self.registry.convert(internal) if internal else {},
                "data": data, "delta": delta}

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


def _registry(stateless: bool, task_converter=None):
    """The serializer's registry (``task_converter``: SpiffWorkflow's own, for the tests' reference)."""
    config = dict(DEFAULT_CONFIG)
    config[AutoServiceTask] = BpmnTaskSpecConverter
    if stateless:
        config[BpmnWorkflow] = StatelessSpecWorkflowConverter
        config[BpmnSubWorkflow] = FastSubWorkflowConverter
        config[Task] = task_converter or FastTaskConverter
    return BpmnWorkflowSerializer.configure(config)


_SPEC_SERIALIZER = BpmnWorkflowSerializer(_registry(stateless=False))
_STATE_SERIALIZER = BpmnWorkflowSerializer(_registry(stateless=True))
#: A task to its stored dict, typename included (what ``registry.convert(task)`` gives, without its dispatch).
_TASK_TO_DICT = _STATE_SERIALIZER.registry.convert_to_dict[_STATE_SERIALIZER.registry.typenames[Task]]


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
    marks: dict = field(default_factory=dict)   # task UUID's int -> _mark() when its body was last seen


@dataclass
class StateChanges:
    workflow: str                                  # workflow-level JSON (cases.state)
    upserts: list[tuple[str, str, int, str]]       # (task id, workflow key, pos, body JSON)
    deletes: list[str]
    state: CaseState


_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED | TaskState.ERROR


def _json(value) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ScriptError(f"task data must be JSON values (text, finite numbers, true/false, lists, objects): "
                          f"{exc}; nothing was saved") from None
    except UnicodeEncodeError:
        raise ScriptError("task data holds text that is not valid Unicode; nothing was saved") from None


def _check_task_data(task) -> None:
    """The data a changed task would store must load again (bounded depth and size, finite numbers)."""
    try:
        check_value(task.data, "task data", typed=True)
    except DataError as exc:
        raise _limit_error(str(exc), task) from None


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


def _task_maps(wf):
    """(workflow key, its tasks by id) of the workflow and of each of its sub-processes."""
    yield "", wf.tasks
    for key, sp in wf.subprocesses.items():
        yield str(key), sp.tasks


def _all_tasks(wf):
    """(workflow key, task) of every task, sub-processes included."""
    for wkey, tasks in _task_maps(wf):
        for task in tasks.values():
            yield wkey, task


_UNKNOWN = object()


def _mark(task) -> tuple:
    """What a task's stored body depends on besides its parent: its bookkeeping, and (unfinished
    tasks only) its data.  A finished task's data does not change any more."""
    mark = (task._state, task.last_state_change, task.triggered, tuple(task._children))
    if task._state & _FINISHED == 0:
        data = task.data
        if not data:
            return mark + ("",)
        try:
            mark += (_dumps_fast(data),)
        except (ValueError, TypeError, RecursionError):
            mark += (_UNKNOWN,)
    return mark


def _dumps_fast(data) -> bytes:
    """A task's data as JSON bytes, only to notice a change (never stored)."""
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:
        return json.dumps(data, ensure_ascii=False, default=repr).encode()


def _body_json(body: dict) -> str:
    """A task's stored body (orjson: 5-10 times json.dumps; the same JSON values; anything it would
    write differently from json.dumps goes to json.dumps)."""
    try:
        return orjson.dumps(body, option=ORJSON_STRICT).decode()
    except orjson.JSONEncodeError:
        return _json(body)          # json's own message (or the one-line refusal)


def save_changes(wf: BpmnWorkflow, state: CaseState | None) -> StateChanges:
    """Serialize what changed since ``state`` (everything when ``state`` is None).

    A task is serialized again when its mark changed or its parent's body changed (SpiffWorkflow
    stores a task's data as a delta to its parent's); tasks come parents first (creation order).
    Marks are kept by the integer of the task id (hashing a UUID object runs Python code).
    """
    to_dict = _TASK_TO_DICT
    bodies = dict(state.bodies) if state else {}
    positions = dict(state.positions) if state else {}
    marks = dict(state.marks) if state else {}
    next_pos = state.next_pos if state else 0
    upserts, changed, known, count = [], set(), 0, 0
    for wkey, tasks in _task_maps(wf):
        count += len(tasks)
        for uid, task in tasks.items():
            key = uid.int
            mark = _mark(task)
            if marks.get(key) == mark and (not changed or task._parent is None or task._parent.int not in changed):
                known += 1
                continue
            tid = str(uid)
            old = bodies.get(tid)
            if old is not None:
                known += 1
            body = to_dict(task)
            marks[key] = mark
            if old is not None and body == old:
                continue
            changed.add(key)
            _check_task_data(task)
            if tid not in positions:
                positions[tid] = next_pos
                next_pos += 1
            bodies[tid] = body
            upserts.append((tid, wkey, positions[tid], _body_json(body)))
    deletes = []
    if known != len(bodies) or count != len(bodies):      # tasks left the tree (rare): find which
        seen = {str(task.id) for _, task in _all_tasks(wf)}
        deletes = [tid for tid in bodies if tid not in seen]
        for tid in deletes:
            bodies.pop(tid)
            positions.pop(tid, None)
            marks.pop(_uuid(tid).int, None)
    return StateChanges(_body_json(_workflow_fields(wf, True)), upserts, deletes,
                        CaseState(bodies, positions, next_pos, marks))


class Unloadable(Exception):
    """A stored case state that cannot be rebuilt (the reason is the message)."""


def restore(workflow_json: str, rows, model: CompiledModel) -> tuple[BpmnWorkflow, CaseState]:
    """Rebuild a workflow from ``cases.state`` and its task rows; :class:`Unloadable` if it cannot be."""
    try:
        return _restore(workflow_json, rows, model)
    except RecursionError:
        raise Unloadable("its data is nested too deeply to load") from None
    except MemoryError:
        raise Unloadable("it is too large to load") from None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise Unloadable(f"its stored state is damaged ({type(exc).__name__}: "
                         f"{_brief(exc, 120)})") from None


def _restore(workflow_json: str, rows, model: CompiledModel) -> tuple[BpmnWorkflow, CaseState]:
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


def copy_workflow(wf: BpmnWorkflow, model: CompiledModel) -> BpmnWorkflow:
    """An independent copy of a running workflow, made by the case store's own round trip
    (:func:`save_changes` then :func:`restore`), so a copy is exactly what a reload would give."""
    changes = save_changes(wf, None)
    return restore(changes.workflow, changes.upserts, model)[0]


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
        return is_onsite(self.props)

    @property
    def clock_stop(self) -> bool:
        return is_clock_stop(self.props)


def _info(task) -> ReadyTask:
    spec = task.task_spec
    return ReadyTask(task.id, spec.bpmn_id or spec.name, spec.bpmn_name or spec.bpmn_id or spec.name,
                     spec.lane, dict(getattr(spec, "extensions", None) or {}))


def _run_engine(wf: BpmnWorkflow, budget: StepBudget) -> None:
    try:
        wf.refresh_timers()
        wf.do_engine_steps(will_complete_task=budget.will_run, did_complete_task=budget)
        budget.check_size()
    except ScriptError:
        raise
    except SpiffWorkflowException as exc:
        task = getattr(exc, "task", None) or budget.current
        raise _limit_error(f"the engine stopped: {_brief(exc, 300)}", task) from None
    except (MemoryError, RecursionError, _StepTimeout):
        raise
    except Exception as exc:  # SpiffWorkflow's own errors on odd models or data: one line
        raise _limit_error(f"the engine stopped: {type(exc).__name__}: {_brief(exc, 200)}",
                           budget.current) from None


def run_engine(wf: BpmnWorkflow) -> None:
    """Advance everything that needs no human (gateways, scripts, service tasks, timers), within a step's
    budget."""
    with StepBudget(wf) as budget:
        _run_engine(wf, budget)


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
    """The ready human tasks, in the order of SpiffWorkflow's ``get_tasks`` (the task tree's).

    Found by a scan of the task maps: walking the tree costs a third of a whole step on a case of
    a hundred tasks.  Only when more than one is ready (parallel branches) is the tree walked, for
    its order."""
    ready = TaskState.READY
    found = [t for t in wf.tasks.values() if t._state == ready and t.task_spec.manual]
    for sp in wf.subprocesses.values():
        found += [t for t in sp.tasks.values() if t._state == ready and t.task_spec.manual]
    if len(found) > 1:
        found = wf.get_tasks(state=ready, manual=True)
    return [_info(t) for t in found]


def complete(wf: BpmnWorkflow, task_id: UUID, data: dict) -> ReadyTask:
    """Complete one ready human task with data and run the engine on."""
    task = wf.get_task_from_id(task_id)
    if task is None:
        raise TaskStateError(f"task {task_id} is not part of this case")
    if task.state != TaskState.READY or not task.task_spec.manual:
        raise TaskStateError(f"task is {TaskState.get_name(task.state).lower()}, not ready")
    info = _info(task)
    with StepBudget(wf) as budget:
        budget.current = task
        task.data.update(data)
        try:
            task.run()
        except ScriptError:
            raise
        except SpiffWorkflowException as exc:
            raise _limit_error(f"the engine stopped: {_brief(exc, 300)}", task) from None
        _run_engine(wf, budget)
    return info


def _is_timer(spec) -> bool:
    return isinstance(spec, CatchingEvent) and isinstance(getattr(spec, "event_definition", None),
                                                          TimerEventDefinition)


def timer_tasks(wf: BpmnWorkflow):
    """Every timer event task of the case (any state), sub-processes included."""
    for _, task in _all_tasks(wf):
        if _is_timer(task.task_spec):
            yield task


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

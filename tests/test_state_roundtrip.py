"""Every model, every step: the incremental case state restores to exactly the workflow
SpiffWorkflow would serialize (like SpiffWorkflow's own save_restore tests)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter

from engine import analysis, bpmn_model, compiler, runtime

ROOT = Path(__file__).parent.parent
MODELS = sorted((ROOT / "bpmn").glob("*.bpmn")) + [ROOT / "tests" / "data" / "residence_permit.bpmn"]


def compiled(path):
    _, doc = bpmn_model.load_document(path)
    process, model, problems = compiler.compile_model(doc)
    assert not problems, problems
    return process, runtime.spec_from_json(runtime.spec_to_json(model))


class RowStore:
    """The case_tasks table in miniature: applies upserts and deletes."""

    def __init__(self):
        self.rows: dict[str, tuple] = {}
        self.workflow = ""

    def apply(self, changes: runtime.StateChanges):
        for tid, wkey, pos, body in changes.upserts:
            self.rows[tid] = (tid, wkey, pos, body)
        for tid in changes.deletes:
            del self.rows[tid]
        self.workflow = changes.workflow

    def load(self, model):
        return runtime.restore(self.workflow, list(self.rows.values()), model)


#: SpiffWorkflow's own task converter (runtime's writes the same dict faster: checked here).
SPIFF = runtime.BpmnWorkflowSerializer(runtime._registry(True, TaskConverter))


def full(wf) -> dict:
    """SpiffWorkflow's own serialization of the whole workflow at once (specs left out, as the store keeps
    them apart): the reference the incremental rows must restore to."""
    serializer = SPIFF
    registry = serializer.registry
    registry._encoder_mode = True
    try:
        return json.loads(json.dumps(registry.convert(wf), cls=serializer._encoder_cls))
    finally:
        registry._encoder_mode = False


def drive_every_step(path, correction: bool, warm: bool) -> None:
    """Run a model to its end, one human step at a time, saving incrementally after each step: the rows
    written so far must always restore to exactly what SpiffWorkflow would serialize.  ``warm``: go on
    with the same live workflow (as a process keeps it between steps), else with the one reloaded from
    the rows."""
    process, model = compiled(path)
    returnable = analysis.returnable_tasks(process)
    rows = RowStore()
    wf = runtime.start(model, {"applicant": "张三"})
    changes = runtime.save_changes(wf, None)
    rows.apply(changes)
    state = changes.state
    returned = False
    for _ in range(500):
        reloaded, reloaded_state = rows.load(model)
        assert full(reloaded) == full(wf)
        if not warm:
            wf, state = reloaded, reloaded_state
        ready = runtime.ready_tasks(wf)
        assert [t.id for t in ready] == [t.id for t in wf.get_tasks(state=runtime.TaskState.READY, manual=True)]
        if not ready:
            break
        task = ready[0]
        send_back = correction and not returned and task.spec_name in returnable
        returned = returned or send_back
        runtime.complete(wf, task.id, {"returned": send_back, "step_note": task.name})
        for _, t in runtime._all_tasks(wf):        # the fast task dict is SpiffWorkflow's, task by task
            assert runtime._TASK_TO_DICT(t) == SPIFF.registry.convert(t)
        changes = runtime.save_changes(wf, state)
        assert len(changes.upserts) < 40       # a step rewrites a handful of tasks, not the case
        rows.apply(changes)
        state = changes.state
    assert wf.completed
    if correction and returnable:
        assert returned


@pytest.mark.parametrize("path", MODELS, ids=[p.name for p in MODELS])
@pytest.mark.parametrize("correction", [False, True], ids=["main", "correction"])
def test_incremental_state_round_trips_at_every_step(path, correction):
    drive_every_step(path, correction, warm=False)

"""advance-*: one task completion through the real persistence path vs SpiffWorkflow in memory.

Persisted: ``Service.complete_task(ref, data)`` — one transaction that loads the
case, restores the workflow, completes the task, runs the engine, records the
audit event, saves the state and the ready work items, commits, and returns
the case record (what ``onetrip task complete`` prints).

In memory (baseline): a ``BpmnWorkflow`` built from the same process spec:
get the ready task, ``task.data.update(data)``, ``task.run()``,
``do_engine_steps()``.

The two are interleaved task by task (the order alternates every task), so
noise on the shared machine hits both alike.  ratio = mean persisted / mean
in-memory over every measured completion.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from harness import (REPO, Result, add_clerk, collected, mean, median, new_service, quantile,
                     upload)
from onetrip_testing import NoPostgres, throwaway_postgres     # harness put the checkout on sys.path

LANE = "综合窗口"
SAMPLE = REPO / "tests" / "data" / "residence_permit.bpmn"
WINDOW = "政务服务中心综合窗口"
POLICE = "公安局"
DATA = {"opinion": "同意", "checked": True}


# ------------------------------------------------------------- in memory

def _memory_spec(db_url: str, version_id: int, bpmn_path: Path, process_id: str):
    """The spec the service runs (restored from the stored spec_json), else a plain Spiff parse."""
    from sqlalchemy import create_engine, text
    eng = create_engine(db_url)
    try:
        with eng.connect() as conn:
            spec_json = conn.execute(text("SELECT spec_json FROM process_versions WHERE id = :i"),
                                     {"i": version_id}).scalar()
    finally:
        eng.dispose()
    try:
        from engine import runtime
        model = runtime.spec_from_json(spec_json)
        return model.spec, model.subprocess_specs, "stored spec_json (engine.runtime.spec_from_json)"
    except Exception as exc:   # the engine changed under us: fall back to Spiff's own parser
        from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
        parser = BpmnParser()
        parser.add_bpmn_file(str(bpmn_path))
        return (parser.get_spec(process_id), parser.get_subprocess_specs(process_id),
                f"plain BpmnParser (spec_from_json failed: {type(exc).__name__})")


def _new_workflow(spec, subs):
    from SpiffWorkflow.bpmn import BpmnWorkflow
    wf = BpmnWorkflow(spec, subs)
    wf.do_engine_steps()
    return wf


def _memory_step(wf, data: dict):
    """Baseline: the same task completion in plain SpiffWorkflow; returns (seconds, task id)."""
    from SpiffWorkflow.util.task import TaskState
    t0 = time.perf_counter()
    task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
    task.data.update(data)
    task.run()
    wf.do_engine_steps()
    dt = time.perf_counter() - t0
    return dt, task.task_spec.bpmn_id


def _persisted_step(svc, ref: str, data: dict, returned: bool = False, reason: str | None = None):
    t0 = time.perf_counter()
    if returned:
        r = svc.complete_task(ref, dict(data), returned=True, reason=reason)
    else:
        r = svc.complete_task(ref, dict(data))
    return time.perf_counter() - t0, r


def _memory_data(data: dict, returned: bool = False, reason: str | None = None) -> dict:
    """What complete_task hands the engine for ``data`` (returned/return_reason added)."""
    d = dict(data)
    if returned:
        d["returned"], d["return_reason"] = True, reason or ""
    else:
        d.setdefault("returned", False)
    return d


class _Pair:
    """Interleaved persisted/in-memory completions and their statistics."""

    def __init__(self):
        self.persisted: list[float] = []
        self.memory: list[float] = []
        self.flip = False

    def step(self, svc, wf, ref: str, ready_task: str, data: dict, record: bool,
             returned: bool = False, reason: str | None = None):
        mdata = _memory_data(data, returned, reason)
        self.flip = not self.flip
        if self.flip:
            tp, r = _persisted_step(svc, ref, data, returned, reason)
            tm, mem_task = _memory_step(wf, mdata)
        else:
            tm, mem_task = _memory_step(wf, mdata)
            tp, r = _persisted_step(svc, ref, data, returned, reason)
        if mem_task != ready_task:
            raise AssertionError(f"persisted and in-memory runs diverged: {ready_task} vs {mem_task}")
        if record:
            self.persisted.append(tp)
            self.memory.append(tm)
        return r

    def result(self, name: str, target: float, sizes: dict, notes: list[str]) -> Result:
        p, m = self.persisted, self.memory
        ratios = [a / b for a, b in zip(p, m) if b > 0]
        res = Result(name, mean(p) * 1000, "ms/task", mean(m) * 1000, mean(p) / mean(m),
                     target={"ratio": target}, sizes=sizes, notes=notes)
        res.stats = {"completions": len(p), "persisted_median_ms": median(p) * 1000,
                     "persisted_p90_ms": quantile(p, 0.9) * 1000, "memory_median_ms": median(m) * 1000,
                     "ratio_of_medians": median(p) / median(m), "median_of_per_task_ratios": median(ratios)}
        return res


# ----------------------------------------------------------------- linear

def _linear_model_file(directory: Path, n_tasks: int) -> tuple[Path, str, str]:
    from onetrip_testing.bpmn_factory import Step, linear_model
    code = f"ADV{n_tasks}"
    path = directory / f"{code}.bpmn"
    path.write_text(linear_model(code, f"线性事项{n_tasks}", [Step(f"环节{i + 1}", lane=LANE)
                                                          for i in range(n_tasks)]), encoding="utf-8")
    return path, code, f"Process_{code}_v"


def advance_linear(ctx, name: str, db_url: str, n_tasks: int, n_cases: int, target: float,
                   backend: str) -> Result:
    from engine.clock import SimulatedClock
    d = ctx.workdir(name)
    path, code, process_id = _linear_model_file(d, n_tasks)
    clock = SimulatedClock(datetime(2026, 3, 2, 9, 0))
    svc = new_service(db_url, clock)
    try:
        add_clerk(svc, "clerk", LANE)
        version = upload(svc, path)
        spec, subs, spec_source = _memory_spec(db_url, version["id"], path, process_id)
        svc.settings.user = "clerk"
        pair = _Pair()
        warmup = 1
        t_start = time.perf_counter()
        for c in range(warmup + n_cases):
            record = c >= warmup
            r = svc.start_case(code, data={"applicant": f"申请人{c}"})
            wf = _new_workflow(spec, subs)
            with collected():
                for _ in range(n_tasks):
                    [ready] = r["ready"]
                    r = pair.step(svc, wf, ready["id"], ready["task"], DATA, record)
                    clock.advance(timedelta(minutes=10))
            if r["status"] != "completed" or not wf.completed:
                raise AssertionError(f"case {r['id']} did not complete ({r['status']}, memory {wf.completed})")
        elapsed = time.perf_counter() - t_start
    finally:
        svc.dispose()
    notes = [f"{backend}; per completed task over whole case runs; 1 warm-up case not counted",
             f"in-memory spec: {spec_source}"]
    res = pair.result(name, target, {"tasks_per_case": n_tasks, "cases": n_cases,
                                     "completions": len(pair.persisted)}, notes)
    p = pair.persisted
    k = max(1, len(p) // n_cases // 10)
    firsts = [x for i, x in enumerate(p) if i % n_tasks < k]
    lasts = [x for i, x in enumerate(p) if i % n_tasks >= n_tasks - k]
    res.stats["persisted_first_tasks_ms"] = mean(firsts) * 1000
    res.stats["persisted_last_tasks_ms"] = mean(lasts) * 1000
    res.stats["run_seconds"] = elapsed
    return res


SIZES = ((10, 5, 30), (100, 1, 6))      # tasks per case, cases (quick), cases (full)


@contextmanager
def _sqlite(ctx, name):
    yield f"sqlite:///{ctx.workdir(name + '-db') / 'onetrip.db'}"


def _advance_on(ctx, suffix: str, database, targets: dict[int, float], where: str) -> list[Result]:
    """``targets``: the ratio each case size must reach (issue 15's table)."""
    out = []
    for n_tasks, quick, full in SIZES:
        target = targets[n_tasks]
        name, cases = f"advance-{n_tasks}{suffix}", quick if ctx.quick else full
        ctx.say(f"{name}: {cases} cases of {n_tasks} tasks on {where}")
        try:
            with database(ctx, name) as url:
                out.append(_guard(name, lambda: advance_linear(ctx, name, url, n_tasks, cases, target, where)))
        except NoPostgres as exc:
            out.append(Result(name, None, "ms/task", target={"ratio": target}, skipped=True,
                              notes=[f"skipped: {exc}"]))
    return out


def bench_advance_sqlite(ctx) -> list[Result]:
    return _advance_on(ctx, "", _sqlite, {10: 3.0, 100: 2.5}, "SQLite file in a temp dir")


def bench_advance_pg(ctx) -> list[Result]:
    return _advance_on(ctx, "-pg", lambda ctx, name: throwaway_postgres(ctx.pg_admin_url, "onetrip_bench"),
                       {10: 4.0, 100: 3.0}, "PostgreSQL 127.0.0.1 (psycopg 3)")


@contextmanager
def _pg_async(ctx, name):
    """A throw-away database on which the DBA chose ``synchronous_commit = off`` (README, "Durability")."""
    from sqlalchemy import create_engine, text
    with throwaway_postgres(ctx.pg_admin_url, "onetrip_bench") as url:
        admin = create_engine(ctx.pg_admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{url.rsplit("/", 1)[1]}" SET synchronous_commit = off'))
        finally:
            admin.dispose()
        yield url


def bench_advance_pg_async(ctx) -> list[Result]:
    """For information: the same on a database whose DBA turned synchronous_commit off (a step's COMMIT
    does not wait for the WAL flush; a server crash may lose the last fraction of a second of steps)."""
    return _advance_on(ctx, "-pg-async", _pg_async, {10: 4.0, 100: 3.0},
                       "PostgreSQL 127.0.0.1 (psycopg 3), ALTER DATABASE ... SET synchronous_commit = off")


def _guard(name, fn) -> Result:
    """Keep one failing size from hiding the other."""
    try:
        return fn()
    except Exception as exc:   # reported, never raised
        import traceback
        return Result(name, None, "ms/task", error=f"{type(exc).__name__}: {exc}",
                      notes=[traceback.format_exc(limit=-3)])


# ------------------------------------------------------------------ loop

def bench_advance_loop50(ctx) -> Result:
    """The residence-permit sample: Review returned 50 times, Supplement each time."""
    from engine.clock import SimulatedClock
    name = "advance-loop50"
    loops, measured = 50, 20
    n_cases = 1 if ctx.quick else 3
    ctx.say(f"{name}: {n_cases} case(s) x {loops} return-for-correction round trips")
    d = ctx.workdir(name)
    db_url = f"sqlite:///{d / 'onetrip.db'}"
    clock = SimulatedClock(datetime(2026, 3, 2, 9, 0))
    svc = new_service(db_url, clock)
    users = {WINDOW: "window_clerk", POLICE: "police_clerk"}
    try:
        for dept, user in users.items():
            add_clerk(svc, user, dept)
        version = upload(svc, SAMPLE)
        spec, subs, spec_source = _memory_spec(db_url, version["id"], SAMPLE, version["process_id"])
        late, early = _Pair(), _Pair()
        for c in range(n_cases):
            svc.settings.user = users[WINDOW]
            r = svc.start_case(version["matter_code"], data={"applicant": f"申请人{c}"})
            wf = _new_workflow(spec, subs)

            def step(expect: str, pair: _Pair | None, returned: bool = False):
                nonlocal r
                [ready] = r["ready"]
                if ready["task"] != expect:
                    raise AssertionError(f"expected {expect} to be ready, got {ready['task']}")
                svc.settings.user = users[ready["lane"]]
                r = (pair or _Pair()).step(svc, wf, ready["id"], ready["task"], DATA, pair is not None,
                                           returned=returned, reason="缺少居住证明" if returned else None)
                clock.advance(timedelta(hours=2))

            step("Accept", None)
            with collected():
                for i in range(loops):
                    pair = late if i >= loops - measured else (early if i < 10 else None)
                    step("Review", pair, returned=True)
                    step("Supplement", pair)
            for task in ("Review", "Issue", "Deliver"):
                step(task, None)
            if r["status"] != "completed" or not wf.completed:
                raise AssertionError("loop case did not complete")
    finally:
        svc.dispose()
    res = late.result(name, 2.0, {"round_trips": loops, "measured_round_trips": f"last {measured}",
                                  "cases": n_cases, "completions": len(late.persisted)},
                      ["SQLite file; value = mean over the completions (Review returned + Supplement) "
                       f"of round trips {loops - measured + 1}..{loops}; the in-memory workflow is "
                       "driven through the same history, so it is at the same depth",
                       f"in-memory spec: {spec_source}; baseline uses Spiff's default script engine "
                       "(the service evaluates the gateway condition in engine.sandbox)"])
    res.stats["early_persisted_ms(round trips 1-10)"] = mean(early.persisted) * 1000
    res.stats["early_memory_ms(round trips 1-10)"] = mean(early.memory) * 1000
    res.stats["early_ratio(round trips 1-10)"] = mean(early.persisted) / mean(early.memory)
    return res

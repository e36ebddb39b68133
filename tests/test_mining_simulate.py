"""Simulation: calibrated from cases with known parameters, it recovers their figures (±15%)."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

from engine.mining.simulate import Duration, apply_duration, measure_duration, nearest_rank
from engine.workdays import WorkCalendar
from onetrip_testing import CliHarness
from onetrip_testing.mining import generate_cases

MATTER = "SPJYXK"          # 食品经营许可, before: 7 steps, two of them can return (补正), promised 15 days
FIGURES = ("median_workdays", "p90_workdays", "on_time_rate")


def _within(predicted: dict, measured: dict, tolerance: float = 0.15) -> dict:
    return {k: (predicted[k], measured[k]) for k in FIGURES
            if abs(predicted[k] - measured[k]) > tolerance * measured[k]}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """300 before-cases of the demo's simulator (known parameters) in each of two databases."""
    folder = tmp_path_factory.mktemp("calibration")
    urls = {}
    for seed in (11, 12):
        urls[seed] = f"sqlite:///{folder / f'seed{seed}.db'}"
        generate_cases(urls[seed], [MATTER], 300, seed, labels=("before",)).dispose()
    return urls


def test_calibration_recovers_p50_p90_and_on_time_rate(generated):
    cli = CliHarness(generated[11])
    measured = cli.json(f"metrics --matter {MATTER}")["matters"][0]
    result = cli.json(f"simulate {MATTER} --label before --cases 2000 --seed 5")
    assert result["measured"]["median_workdays"] == measured["median_workdays"]
    assert result["calibrated_from"] == {"label": "before", "version": result["version"], "cases": 300}
    predicted = result["predicted"]
    assert predicted["completed"] == 2000
    assert _within(predicted, measured) == {}
    assert abs(predicted["mean_returns"] - measured["mean_returns"]) <= 0.15 * measured["mean_returns"]
    assert predicted["mean_trips"] == pytest.approx(measured["mean_trips"], rel=0.15)
    assert predicted["mean_steps"] == pytest.approx(measured["mean_steps"], rel=0.15)
    # every step of the model was matched to its measured counterpart, and 补正 returns were seen
    assert {s["how"] for s in result["steps"]} == {"id"}
    assert all(0.15 < s["return_probability"] < 0.35 for s in result["steps"] if s["return_probability"] is not None)
    # at the measured arrival rate the departments keep up
    for q in predicted["queues"].values():
        assert q["delayed"] <= 0.05 * q["steps"]


def test_held_out_seed(generated):
    """Calibrated on one seed's cases, the prediction matches cases generated with another seed."""
    prediction = CliHarness(generated[11]).json(f"simulate {MATTER} --label before --cases 2000 --seed 9")
    held_out = CliHarness(generated[12]).json(f"metrics --matter {MATTER}")["matters"][0]
    assert _within(prediction["predicted"], held_out) == {}


def test_same_seed_same_figures_and_arrivals_make_queues(generated):
    cli = CliHarness(generated[11])
    a = cli.json(f"simulate {MATTER} --label before --cases 200 --seed 3")
    b = cli.json(f"simulate {MATTER} --label before --cases 200 --seed 3")
    assert a["predicted"] == b["predicted"]
    busy = cli.json(f"simulate {MATTER} --label before --cases 600 --seed 3 --arrivals 60")
    assert busy["arrivals_per_workday"] == 60
    [queue] = busy["predicted"]["queues"].values()
    assert queue["delayed"] > 0 and queue["mean_wait_workdays"] > 0
    assert busy["predicted"]["median_workdays"] > a["predicted"]["median_workdays"]


def test_what_if_after_calibrated_from_before(generated):
    """The after model runs (it has steps the before model lacks: they are reported, not guessed silently)."""
    r = CliHarness(generated[11])(f"simulate {MATTER} --label after --calibrate-from before --cases 300")
    assert r.exit_code == 0, r.stderr
    assert "calibrated from 300 measured before cases" in r.stdout
    assert "预测" in r.stdout and "实测" in r.stdout and "办结工作日 p50" in r.stdout
    data = CliHarness(generated[11]).json(f"simulate {MATTER} --label after --calibrate-from before --cases 300")
    assert data["predicted"]["completed"] == 300
    assert data["predicted"]["promised_workdays"] < data["measured"]["promised_workdays"]
    hows = {s["how"] for s in data["steps"]}
    assert hows & {"id", "name"}


def test_simulate_errors_are_one_line(generated, sqlite_cli):
    cli = CliHarness(generated[11])
    for args, line in [
        ("simulate NOPE", "Error: no matter NOPE"),
        (f"simulate {MATTER} --label after",
         f"Error: no completed cases of {MATTER} after to calibrate from: run (or import) cases first, "
         f"or choose --calibrate-from"),
    ]:
        r = cli(args)
        assert (r.exit_code, r.stderr.strip()) == (1, line)
    for args in (f"simulate {MATTER} --cases 0", f"simulate {MATTER} --arrivals 0", f"simulate {MATTER} --seed x"):
        r = cli(args)
        assert r.exit_code == 2 and "Traceback" not in r.stderr
    sqlite_cli.ok("init")
    r = sqlite_cli("simulate JZZSAMPLE")
    assert (r.exit_code, r.stderr.strip()) == (1, "Error: no matter JZZSAMPLE")


def test_durations_in_working_days_follow_chinas_calendar():
    cal = WorkCalendar()
    # Ready on Thursday 2 April 2026; 清明 closes 4–6 April: done on Tuesday 7 April is 2 working days later.
    ready = datetime(2026, 4, 2, 10, 0)
    done = datetime(2026, 4, 7, 15, 30)
    d = measure_duration(cal, ready, done, clock_stop=False)
    assert d == Duration(2, time(15, 30), None)
    assert apply_duration(cal, ready, d) == done
    # 调休: Sunday 4 January 2026 is a working day; a one-day step ready on New Year's Day ends that Sunday.
    assert apply_duration(cal, datetime(2026, 1, 1, 9), Duration(1, time(11), None)) == datetime(2026, 1, 4, 11)
    same_day = measure_duration(cal, ready, ready + timedelta(hours=3), clock_stop=False)
    assert same_day == Duration(0, None, timedelta(hours=3))
    stop = measure_duration(cal, ready, ready + timedelta(days=3), clock_stop=True)
    assert stop.delta == timedelta(days=3)
    assert nearest_rank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50) == 5
    assert nearest_rank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9
    assert nearest_rank([], 50) is None


def test_html_report_shows_conformance_and_predicted_vs_measured(generated, tmp_path):
    from engine.config import Settings
    from engine.service import Service
    from engine.context import Context
    from engine.demo import write_report
    svc = Service(Settings.from_env(db=generated[11], env={}))
    ctx = Context(None)
    sim = svc.simulate(ctx, MATTER, "before", "before", cases=300, seed=2)
    out = write_report(tmp_path / "report.html",
                       svc.report_html(ctx, svc.compare_stored(ctx), simulations=[sim])["html"])
    svc.dispose()
    html = out.read_text(encoding="utf-8")
    assert "合规检查 Conformance" in html and "预测与实测 Predicted vs measured" in html
    p, m = sim["predicted"], sim["measured"]
    assert f"<td>{p['median_workdays']} / {m['median_workdays']}</td>" in html
    assert f"<td>{p['p90_workdays']} / {m['p90_workdays']}</td>" in html


def test_a_model_with_timers_runs_its_timers_in_simulated_time(sqlite_cli, tmp_path):
    """公示期 (a one-hour waiting timer) and a one-day escalation: the simulator fires them on its clock."""
    from onetrip_testing import setup_people
    cli = sqlite_cli
    setup_people(cli)
    cli.ok("user add 窗口员 --role clerk --department 综合窗口", user="admin")
    cli.ok("user add 督查员 --role clerk --department 督查室", user="admin")
    timers = Path(__file__).parent / "data" / "timers.bpmn"
    cli.ok(["process", "upload", str(timers), "--label", "after"], user="李设计")
    for day in (2, 3, 4, 5):
        case = cli.json("case start TIMERS --label after", user="窗口员", now=f"2026-03-{day:02d}T09:00")["id"]
        cli.ok("worker --once", user="admin", now=f"2026-03-{day:02d}T10:30")
        while tasks := cli.json(["task", "list", "--all", "--case", str(case)]):
            t = tasks[0]
            cli.ok(["task", "complete", t["id"]], user="窗口员" if t["lane"] == "综合窗口" else "督查员",
                   now=f"2026-03-{day:02d}T11:00" if t["task"] == "Review" else f"2026-03-{day:02d}T16:00")
    r = cli.json("simulate TIMERS --label after --cases 50 --seed 2")
    assert r["predicted"]["completed"] == 50          # each case once, after its 公示期 timer fired
    assert r["predicted"]["mean_steps"] == 1.0        # 审核 was reached in every case

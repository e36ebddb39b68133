"""End to end through the real CLI: designer uploads, two departments' clerks carry a case."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


from onetrip_testing import POLICE, WINDOW, setup_people


def test_case_runs_to_completion_with_a_correction_round(cli, sample_bpmn):
    setup_people(cli)
    version = cli.json(f"process upload {sample_bpmn} --label after", user="李设计")
    assert version["matter_code"] == "JZZSAMPLE" and version["label"] == "after" and version["created"]
    case = cli.json("case start JZZSAMPLE --data applicant=张三 --data age=30", user="王窗口",
                    now="2026-03-02T09:00")
    assert case["status"] == "open" and case["label"] == "after"
    assert [t["name"] for t in case["ready"]] == ["受理"]

    # The police clerk sees nothing yet; the window clerk sees the acceptance step.
    assert cli.json("task list", user="赵警官") == []
    [accept] = cli.json("task list", user="王窗口")
    assert (accept["case"], accept["name"], accept["lane"]) == (case["id"], "受理", WINDOW)

    cli.ok(f"task complete {accept['id']} --data checked=true", user="王窗口", now="2026-03-02T10:00")
    [review] = cli.json("task list", user="赵警官")
    assert review["name"] == "审核"
    refused = cli(f"task complete {review['id']}", user="王窗口")
    assert refused.exit_code == 1
    assert refused.stderr.strip() == (f"Error: task {review['id']} (审核) belongs to {POLICE}; "
                                      f"王窗口 works for {WINDOW}")

    cli.ok(f"task return {review['id']} --reason 缺少居住证明", user="赵警官", now="2026-03-03T09:00")
    [supplement] = cli.json("task list", user="王窗口")
    assert supplement["name"] == "补正材料" and supplement["onsite"] is True
    cli.ok(f"task complete {supplement['id']} --onsite", user="王窗口", now="2026-03-05T09:00")
    [review2] = cli.json("task list", user="赵警官")
    assert review2["name"] == "审核" and review2["id"] != review["id"]
    cli.ok(f"task complete {review2['id']} --data opinion=同意", user="赵警官", now="2026-03-06T09:00")
    [issue] = cli.json("task list", user="赵警官")
    cli.ok(f"task complete {issue['id']}", user="赵警官", now="2026-03-06T10:00")
    [deliver] = cli.json("task list", user="王窗口")
    done = cli.json(f"task complete {deliver['id']} --onsite", user="王窗口", now="2026-03-09T09:00")
    assert done["status"] == "completed" and done["ready"] == []

    shown = cli.json(f"case show {case['id']}")
    steps = [(e["name"], e["actor"], e["action"], e["onsite"], e["at"]) for e in shown["events"]
             if e["task"]]
    assert steps == [
        ("受理", "王窗口", "complete", True, "2026-03-02T10:00:00"),
        ("审核", "赵警官", "return", False, "2026-03-03T09:00:00"),
        ("补正材料", "王窗口", "complete", True, "2026-03-05T09:00:00"),
        ("审核", "赵警官", "complete", False, "2026-03-06T09:00:00"),
        ("制证", "赵警官", "complete", False, "2026-03-06T10:00:00"),
        ("领证", "王窗口", "complete", True, "2026-03-09T09:00:00"),
    ]
    assert shown["events"][0]["action"] == "start" and shown["events"][-1]["action"] == "finish"
    assert shown["events"][2]["data"]["return_reason"] == "缺少居住证明"
    assert cli.json("case list --status completed")[0]["id"] == case["id"]
    assert cli.json("case list --status open") == []

    again = cli(f"task complete {deliver['id']}", user="王窗口")
    assert again.exit_code == 1
    assert again.stderr.startswith(f"Error: task {deliver['id']} (领证) was already completed by 王窗口")


def _onetrip(db_url, *args, user=None):
    cmd = [sys.executable, "-c", "import cli; cli.main()", "--db", db_url]
    if user:
        cmd += ["--as", user]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONETRIP_")}
    return subprocess.run(cmd + list(args), capture_output=True, text=True, env=env, timeout=120,
                          cwd=Path(__file__).parent.parent)


def test_separate_processes_carry_a_case(db_url, sample_bpmn):
    """Each command is its own `onetrip` process, as at a real service counter."""
    def ok(*args, user=None):
        r = _onetrip(db_url, *args, user=user)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout) if "--json" in args else r.stdout

    ok("init")
    ok("user", "add", "设计", "--role", "designer")
    ok("user", "add", "窗口", "--role", "clerk", "--department", WINDOW)
    ok("user", "add", "警官", "--role", "clerk", "--department", POLICE)
    ok("process", "upload", str(sample_bpmn), "--label", "before", user="设计")
    case = ok("case", "start", "JZZSAMPLE", "--json", user="窗口")
    assert case["label"] == "before"
    for _ in range(10):
        mine = ok("task", "list", "--json", user="窗口") + ok("task", "list", "--json", user="警官")
        if not mine:
            break
        t = mine[0]
        ok("task", "complete", t["id"], user="窗口" if t["lane"] == WINDOW else "警官")
    shown = ok("case", "show", str(case["id"]), "--json")
    assert shown["status"] == "completed"
    assert [e["name"] for e in shown["events"] if e["task"]] == ["受理", "审核", "制证", "领证"]


def test_returned_is_set_only_by_task_return(sample_office):
    case = sample_office.json("case start JZZSAMPLE", user="王窗口")
    r = sample_office(["task", "complete", case["ready"][0]["id"], "--data", "returned=true"], user="王窗口")
    assert r.exit_code == 1
    assert "--data returned is set by onetrip" in r.stderr and "task return" in r.stderr
    assert sample_office.json(f"case show {case['id']}")["ready"] == case["ready"]      # nothing happened

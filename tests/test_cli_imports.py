"""`onetrip --help` stays fast: it imports neither SQLAlchemy nor SpiffWorkflow."""
import os
import subprocess
import sys
from pathlib import Path

from onetrip_testing import setup_people


def test_help_imports_no_heavy_library():
    code = ("import sys, cli\n"
            "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'SpiffWorkflow', 'lxml', 'rich', 'RestrictedPython'))\n"
            "print('HEAVY:' + ','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).parent.parent)
    assert out.returncode == 0, out.stderr
    assert "Usage: " in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "HEAVY:"


def test_completing_a_review_step_loads_the_sandbox_but_no_xml_parser(cli, sample_bpmn):
    """A real `onetrip task complete` of a 审核 step, in a fresh process: the condition after it runs in
    the sandbox (RestrictedPython loads), while running a case never needs the BPMN parser stack."""
    setup_people(cli)
    cli.ok(f"process upload {sample_bpmn} --label after", user="李设计")
    case = cli.json("case start JZZSAMPLE --data applicant=张三 --data age=30", user="王窗口",
                    now="2026-03-02T09:00")
    [accept] = case["ready"]
    cli.ok(f"task complete {accept['id']} --data checked=true", user="王窗口", now="2026-03-02T10:00")
    [review] = cli.json("task list", user="赵警官")
    assert review["name"] == "审核"
    code = ("import sys, cli\n"
            "try:\n    cli.main(sys.argv[1:])\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "print('LOADED:' + ','.join(sorted({m.split('.')[0] if m.startswith('RestrictedPython') else m "
            "for m in sys.modules if m.startswith(('RestrictedPython', 'engine.compiler', "
            "'engine.bpmn_model', 'SpiffWorkflow.bpmn.parser'))})))")
    out = subprocess.run([sys.executable, "-c", code, "--db", cli.db_url, "--as", "赵警官", "--now",
                          "2026-03-03T09:00", "task", "complete", review["id"], "--data", "opinion=同意"],
                         capture_output=True, text=True, timeout=120, cwd=Path(__file__).parent.parent,
                         env={k: v for k, v in os.environ.items() if not k.startswith("ONETRIP_")})
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().splitlines()[-1] == "LOADED:RestrictedPython"
    [issue] = cli.json("task list", user="赵警官")
    assert issue["name"] == "制证"            # the step really completed, and the case moved on

"""`onetrip --help` stays fast: it imports neither SQLAlchemy nor SpiffWorkflow."""
import subprocess
import sys
from pathlib import Path


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


def test_completing_a_task_loads_no_xml_parser_or_sandbox(tmp_path):
    """Running a case step needs neither the BPMN parser stack nor RestrictedPython."""
    code = ("import sys\nfrom engine import service, casework\n"
            "print(','.join(sorted(m for m in sys.modules if m.startswith(('RestrictedPython', "
            "'engine.compiler', 'engine.bpmn_model', 'SpiffWorkflow.bpmn.parser')))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).parent.parent)
    assert out.returncode == 0 and out.stdout.strip() == "", out.stdout + out.stderr

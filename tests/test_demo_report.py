"""`onetrip demo`: loads the catalog, simulates cases, compares, writes the HTML report —
and the report works in a real browser."""
from __future__ import annotations

import re
import shutil
import subprocess

from pathlib import Path

import pytest

from engine import catalog
from onetrip_testing import CliHarness

ENTRIES = len(catalog.load_catalog(Path(__file__).parent.parent / "processes"))   # matters and bundles

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def run_demo(tmp_path, name, seed=7):
    cli = CliHarness(f"sqlite:///{tmp_path / name}.db")
    report = tmp_path / f"{name}.html"
    r = cli.ok(["demo", "--cases", "2", "--seed", str(seed), "--report", str(report)])
    return r, report


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    return tmp, *run_demo(tmp, "first")


def figures(stdout: str) -> str:
    """Everything but the wall-time line."""
    return "\n".join(line for line in stdout.splitlines() if "simulated in" not in line
                     and not line.startswith("report written"))


def test_demo_prints_the_city_totals(demo):
    _, r, report = demo
    out = r.stdout
    for label in ("环节", "材料", "跑动", "承诺时限"):
        assert re.search(rf"^{label} \d+ → \d+ \((精简|减少|压缩) \d+\.\d%\)$", out, re.M), label
    assert "承诺时限比法定时限压缩" in out and "网上可办率" in out
    assert "企业开办一件事" in out and "出生一件事" in out
    assert re.search(rf"{ENTRIES * 2 * 2} cases, \d+ task completions simulated", out)   # 2 versions, --cases 2
    assert report.exists() and report.stat().st_size > 50_000


def test_same_seed_same_figures(demo):
    tmp, r, _ = demo
    again, _ = run_demo(tmp, "second")
    assert figures(again.stdout) == figures(r.stdout)
    other, _ = run_demo(tmp, "third", seed=8)
    assert figures(other.stdout) != figures(r.stdout)   # measured columns depend on the seed


def test_report_is_self_contained(demo):
    _, _, report = demo
    html = report.read_text(encoding="utf-8")
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html and "<link" not in html and "src=" not in html
    assert html.count('class="chart"') == 4 and html.count('class="chart hist"') >= 20
    assert html.count('class="bpmn"') == ENTRIES * 2
    assert "现场" in html                                    # onsite steps are marked


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package chromium)")
def test_report_renders_in_headless_chromium(demo, tmp_path):
    _, _, report = demo
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=3000", "--dump-dom", report.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert 'data-ready="1"' in dom                          # the report's script ran to the end
    assert not re.search(r"Uncaught|SyntaxError|ReferenceError|TypeError", proc.stderr), proc.stderr[-2000:]
    assert dom.count('class="chart"') == 4 and dom.count("<svg") > 50
    shot = tmp_path / "report.png"
    subprocess.run(cmd[:-2] + [f"--screenshot={shot}", "--window-size=1300,2400", report.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000


def test_unwritable_report_is_refused_before_simulating(tmp_path):
    cli = CliHarness(f"sqlite:///{tmp_path / 'd.db'}")
    r = cli(["demo", "--cases", "1", "--report", str(tmp_path / "missing" / "r.html")])
    assert r.exit_code == 1 and "cannot write the report there" in r.stderr
    assert not (tmp_path / "d.db").exists()                 # nothing was simulated or stored

"""`onetrip demo`: loads the catalog, simulates cases, compares, writes the HTML report —
and the report works in a real browser."""
from __future__ import annotations

import json
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
    cli = CliHarness(f"sqlite:///{tmp_path / name}.db", env={"COLUMNS": "200"})     # every column
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
    assert r.stderr == ""                       # no progress bar (or its blank line) when stderr is a pipe
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
    assert html.count('<figure class="chart"') == 4 and html.count('class="chart hist"') >= 20
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
    assert dom.count('<figure class="chart"') == 4 and dom.count("<svg") > 50
    shot = tmp_path / "report.png"
    subprocess.run(cmd[:-2] + [f"--screenshot={shot}", "--window-size=1300,2400", report.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000


def test_unwritable_report_is_refused_before_simulating(tmp_path):
    cli = CliHarness(f"sqlite:///{tmp_path / 'd.db'}")
    r = cli(["demo", "--cases", "1", "--report", str(tmp_path / "missing" / "r.html")])
    assert r.exit_code == 1 and "cannot write the report there" in r.stderr
    assert not (tmp_path / "d.db").exists()                 # nothing was simulated or stored


# ---------------------------------------------------------------- the report as a reader sees it

#: Run inside the page (a test copy of the report): opens every diagram and measures what a reader gets.
PROBE = r"""
<script>
(function(){
  document.querySelectorAll('details').forEach(function(d){d.open=true;});
  function shot(text, font){var c=document.createElement('canvas');c.width=120;c.height=40;
    var g=c.getContext('2d');g.font='28px '+font;g.fillStyle='#000';g.fillText(text,4,32);return c.toDataURL();}
  var stack=getComputedStyle(document.body).fontFamily;
  // with no CJK font every character is the same empty box (tofu): distinct characters must differ
  var glyphs=['国','字','事','项'].map(function(t){return shot(t,stack);});
  var cjk=new Set(glyphs).size===glyphs.length && glyphs[0]!==shot('\u0378',stack);
  var smallest=1e9, crossed=[];
  document.querySelectorAll('svg.bpmn').forEach(function(svg){
    var scale=svg.getBoundingClientRect().width/svg.viewBox.baseVal.width;
    svg.querySelectorAll('text').forEach(function(t){
      smallest=Math.min(smallest, parseFloat(t.getAttribute('font-size'))*scale);});
    var badges=Array.prototype.map.call(svg.querySelectorAll('.badge'),function(b){return b.getBoundingClientRect();});
    function hit(r,b){return r.left<b.right-1&&b.left<r.right-1&&r.top<b.bottom-1&&b.top<r.bottom-1;}
    svg.querySelectorAll('text.tasklabel').forEach(function(t){var r=t.getBoundingClientRect();
      badges.forEach(function(b){if(hit(r,b))crossed.push(t.textContent);});});
    // names outside shapes (events, gateways, data, flows) lie on no task box and no other name
    var boxes=Array.prototype.map.call(svg.querySelectorAll('rect[rx="10"]'),function(b){
      return b.getBoundingClientRect();});
    var outside=Array.prototype.map.call(svg.querySelectorAll('text[paint-order]'),function(t){
      return [t.textContent, t.getBoundingClientRect()];});
    outside.forEach(function(o,i){boxes.forEach(function(b){if(hit(o[1],b))crossed.push(o[0]);});
      outside.slice(i+1).forEach(function(p){if(hit(o[1],p[1]))crossed.push(o[0]+'/'+p[0]);});});
  });
  // click the last numeric header (按时率): the rows follow its numbers, not their text
  var ths=document.querySelectorAll('#matters th.n');var th=ths[ths.length-1];th.click();
  var col=Array.prototype.indexOf.call(th.parentNode.children,th);
  var sorted=Array.prototype.map.call(document.querySelectorAll('#matters tbody tr'),function(r){
    return r.cells[col].getAttribute('data-v');}).filter(function(v){return v!=='';}).map(parseFloat);
  document.body.setAttribute('data-probe', JSON.stringify({cjk:cjk, font:stack, smallest:smallest, sorted:sorted,
    crossed:crossed, overflow:document.documentElement.scrollWidth-window.innerWidth,
    charts:Array.prototype.map.call(document.querySelectorAll('figure.chart'),function(f){
      return f.getBoundingClientRect().right-window.innerWidth;})}));
})();
</script>
"""


def probe(report, tmp_path, width, env=None):
    import html as html_mod
    import json
    import os
    page = tmp_path / f"probe-{width}.html"
    page.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
           "--disable-background-networking", "--disable-component-update", "--hide-scrollbars",
           f"--user-data-dir={tmp_path / f'profile-{width}'}", f"--window-size={width},900",
           "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env={**os.environ, **(env or {})})
    found = re.search(r'data-probe="([^"]*)"', proc.stdout)
    assert found, proc.stderr[-2000:]
    return json.loads(html_mod.unescape(found.group(1)))


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package chromium)")
@pytest.mark.parametrize("width", [1400, 390])
def test_report_reads_well_on_a_desktop_and_a_phone(demo, tmp_path, width):
    _, _, report = demo
    seen = probe(report, tmp_path, width)
    assert seen["cjk"], f"Chinese characters render as empty boxes (fonts: {seen['font']}); " \
                        "install a CJK font (Debian: fonts-noto-cjk)"
    assert "Noto Sans CJK SC" in seen["font"] and "Microsoft YaHei" in seen["font"]
    assert seen["smallest"] >= 11, f"diagram text {seen['smallest']:.1f} px"
    assert seen["crossed"] == [], f"names under a badge, a box or another name: {seen['crossed'][:5]}"
    assert seen["overflow"] <= 0, "the page scrolls sideways"          # wide diagrams scroll in their own box
    assert max(seen["charts"]) <= 0, "a chart runs off the screen"
    assert seen["sorted"] == sorted(seen["sorted"]) and len(set(seen["sorted"])) > 1


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package chromium)")
def test_the_glyph_check_fails_without_a_cjk_font(demo, tmp_path):
    """The check above is real: with fontconfig limited to DejaVu (no CJK), it sees tofu."""
    _, _, report = demo
    conf = tmp_path / "fonts.conf"
    cache = tmp_path / "fc-cache"
    conf.write_text(f"""<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>/usr/share/fonts/truetype/dejavu</dir><cachedir>{cache}</cachedir></fontconfig>""")
    seen = probe(report, tmp_path, 1400, env={"FONTCONFIG_FILE": str(conf)})
    assert seen["cjk"] is False


def test_report_layout_rules(demo):
    """Without a browser: diagrams at natural size with text >= 11 px, charts without bundles,
    numeric columns sortable as numbers, the simulated-data banner and CJK fonts in the stack."""
    _, r, report = demo
    page = report.read_text(encoding="utf-8")
    assert '<div class="banner" role="note"><b>模拟数据</b>' in page
    assert '"Noto Sans CJK SC"' in page and '"Microsoft YaHei"' in page and '"PingFang SC"' in page
    sizes = [float(x) for x in re.findall(r'<text[^>]*font-size="([\d.]+)"', page)]
    assert sizes and min(sizes) >= 11
    for svg in re.findall(r'<svg[^>]*class="bpmn"[^>]*>', page):
        view_w = float(re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+)', svg).group(1))
        assert float(re.search(r' width="([\d.]+)"', svg).group(1)) == view_w     # one unit = one pixel
    charts = [c.split('</figure>')[0] for c in page.split('<figure class="chart"')[1:5]]
    assert all("出生一件事" not in c and "企业开办一件事" not in c for c in charts)
    matters = json.loads(re.search(r"\((\d+) 个事项\)", page).group(1))
    assert all(c.count('class="name"') == matters for c in charts)          # the matters of the totals
    assert re.search(r'<th class=n[^>]*>按时率\(后\)</th>', page)
    assert 'data-v="100.0">100.0%</td>' in page
    hist = page.split('class="chart hist"')[1]
    assert 'class="yaxis"' in hist and "改革前 before:" in hist and "改革后 after:" in hist

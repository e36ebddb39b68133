"""The self-contained HTML report: totals in the city's form, per-matter table,
before/after charts, each matter's before and after diagram, and measured
working-day distributions.  No network access is needed to view it.

Layout rules (what a reader on a desktop or a phone gets):

* charts are HTML/CSS (bars are percentages of their row), so they follow the
  page's width and their text stays at the page's font size; they cover the
  matters the totals cover (一件事 bundles are left out, as in the totals);
* diagrams are drawn at their natural size (one SVG unit = one CSS pixel, text
  at least 11 px) inside a box that scrolls sideways when a diagram is wider
  than the screen, rather than being shrunk until it cannot be read;
* numeric columns sort as numbers (``data-v``), text columns as Chinese text;
* simulated data carry a banner (模拟数据) at the top;
* the font stack names the common CJK fonts of Linux, Windows and macOS.
"""
from __future__ import annotations

from .report import CITY_METRICS, METRIC_COLUMNS, city_lines, comparison_rows, metric_cell, num, pct
from .safetext import html as escape

BEFORE_COLOR = "#868e96"
AFTER_COLOR = "#2b8a3e"
FONT_STACK = ('"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","PingFang SC","Hiragino Sans GB",'
              '"Microsoft YaHei","WenQuanYi Micro Hei","WenQuanYi Zen Hei",sans-serif')

CSS = """
*{box-sizing:border-box}
body{font-family:%(font)s;margin:24px auto;max-width:1200px;color:#212529;padding:0 16px;line-height:1.45}
h1{font-size:26px;margin-bottom:4px}h2{border-bottom:2px solid #dee2e6;padding-bottom:4px;margin-top:36px}
.banner{background:#fff3bf;border:2px solid #f08c00;border-radius:8px;padding:10px 14px;margin:12px 0;
font-size:17px}.banner b{font-size:20px;color:#d9480f;margin-right:8px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}.card{flex:1 1 140px;border:1px solid #dee2e6;
border-radius:8px;padding:12px 16px;background:#f8f9fa}.card .big{font-size:24px;font-weight:bold;color:%(after)s}
.card .label{color:#495057}.card .from{font-size:14px;color:#495057}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%%}
table{border-collapse:collapse;width:100%%;font-size:13px}
th,td{border:1px solid #dee2e6;padding:4px 8px;text-align:left}
td.n,th.n{text-align:right;white-space:nowrap}
th{background:#f1f3f5;cursor:pointer;white-space:nowrap}th[aria-sort=ascending]::after{content:" ▲"}
th[aria-sort=descending]::after{content:" ▼"}tr:nth-child(even){background:#fcfcfc}
.legend{font-size:14px}.legend i{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:-1px}
.before{background:%(before)s}.after{background:%(after)s}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(420px,100%%),1fr));gap:16px 28px}
figure{margin:0}figcaption{font-weight:bold;margin:8px 0}
.bars{display:grid;grid-template-columns:minmax(5em,9em) 1fr;gap:3px 8px;font-size:13px;align-items:center}
.bars .name{text-align:right;overflow-wrap:anywhere;line-height:1.2}
.track{display:flex;flex-direction:column;gap:2px}.row{display:flex;align-items:center;gap:4px;height:12px}
.bar{height:10px;min-width:1px;border-radius:2px}.v{font-size:12px;color:#495057;white-space:nowrap}
.axis{display:flex;justify-content:space-between;width:80%%;font-size:12px;color:#868e96;
border-top:1px solid #ced4da}
details{border:1px solid #dee2e6;border-radius:8px;margin:10px 0;padding:8px 12px}
summary{font-weight:bold;cursor:pointer}
.pair h4{margin:10px 0 4px}.diagram{overflow-x:auto;-webkit-overflow-scrolling:touch;border:1px solid #f1f3f5}
.bpmn{display:block;max-width:none}
.hist{max-width:640px;margin-top:12px}.hwrap{display:flex;height:150px;gap:6px}
.yaxis{position:relative;width:2.5em;font-size:12px;color:#495057;border-right:1px solid #adb5bd}
.yaxis span{position:absolute;right:4px;transform:translateY(50%%)}
.hplot{flex:1;display:flex;align-items:flex-end;gap:1px;border-bottom:1px solid #adb5bd;position:relative}
.bin{flex:1;display:flex;align-items:flex-end;height:100%%;gap:1px;position:relative}
.hb{flex:1;min-height:0}.xl{position:absolute;top:100%%;left:50%%;transform:translateX(-50%%);font-size:12px;
color:#495057;padding-top:2px}.xt{font-size:12px;color:#495057;text-align:center;margin-top:20px}
.note{color:#495057;font-size:13px}#filter{margin:8px 0;padding:4px 8px;width:280px;max-width:100%%}
""" % {"font": FONT_STACK, "before": BEFORE_COLOR, "after": AFTER_COLOR}

SCRIPT = """
(function(){
  var box=document.getElementById('filter');var rows=document.querySelectorAll('#matters tbody tr');
  if(box){box.addEventListener('input',function(){var q=box.value.trim();
    rows.forEach(function(r){r.style.display=(!q||r.textContent.indexOf(q)>=0)?'':'none';});});}
  document.querySelectorAll('table.sortable th').forEach(function(th,i){th.addEventListener('click',function(){
    var table=th.closest('table');var body=table.tBodies[0];var list=Array.prototype.slice.call(body.rows);
    var dir=th.getAttribute('aria-sort')==='ascending'?-1:1;
    table.querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort');});
    th.setAttribute('aria-sort',dir>0?'ascending':'descending');
    function key(r){var c=r.cells[i];var v=c.getAttribute('data-v');return v===null?c.textContent:v;}
    list.sort(function(a,b){var x=key(a),y=key(b);
      if(x===''&&y==='')return 0;if(x==='')return 1;if(y==='')return -1;
      var nx=parseFloat(x),ny=parseFloat(y);
      if(!isNaN(nx)&&!isNaN(ny)&&th.classList.contains('n'))return dir*(nx-ny);
      return dir*String(x).localeCompare(String(y),'zh');});
    list.forEach(function(r){body.appendChild(r);});});});
  document.body.setAttribute('data-ready','1');
})();
"""


def _legend() -> str:
    return ('<p class="legend"><i class="before"></i>改革前 before<i class="after"></i>改革后 after</p>')


def bar_chart(title: str, labels: list[str], before: list[float | None], after: list[float | None],
              unit: str = "") -> str:
    """Grouped horizontal bars, before (grey) over after (green), one pair per label (HTML/CSS)."""
    values = [v for v in before + after if v is not None]
    vmax = max(values) if values else 1
    vmax = vmax or 1
    out = [f'<figure class="chart" aria-label="{escape(title)}"><figcaption>{escape(title)}</figcaption>'
           '<div class="bars">']
    for lab, b, a in zip(labels, before, after):
        out.append(f'<div class="name">{escape(lab)}</div><div class="track">')
        for v, side, zh in ((b, "before", "改革前"), (a, "after", "改革后")):
            if v is None:
                out.append('<div class="row"></div>')
                continue
            tip = f"{lab} {zh} {side}: {num(v)}{unit}"
            out.append(f'<div class="row" title="{escape(tip)}"><div class="bar {side}" '
                       f'style="width:{80 * v / vmax:.2f}%"></div><span class="v">{num(v)}</span></div>')
        out.append("</div>")
    out.append(f'<div></div><div class="axis"><span>0</span><span>{num(vmax)}{escape(unit)}</span></div>'
               '</div></figure>')
    return "".join(out)


def _ticks(cmax: int) -> list[int]:
    if cmax <= 4:
        return list(range(cmax + 1))
    step = -(-cmax // 4)
    return sorted({*range(0, cmax + 1, step), cmax})


def histogram(title: str, before: list[int], after: list[int]) -> str:
    """How many cases finished in how many working days, before vs after (HTML/CSS, with axes)."""
    if not before and not after:
        return ""
    hi = max(before + after + [1])
    bins = list(range(0, hi + 1))
    counts_b = [before.count(d) for d in bins]
    counts_a = [after.count(d) for d in bins]
    cmax = max(counts_b + counts_a + [1])
    every = 1 if len(bins) <= 16 else 5 if len(bins) <= 80 else 10
    out = [f'<figure class="chart hist" aria-label="{escape(title)}"><figcaption>{escape(title)}</figcaption>'
           + _legend() + '<div class="hwrap"><div class="yaxis" title="案件数 cases">']
    out += [f'<span style="bottom:{100 * t / cmax:.1f}%">{t}</span>' for t in _ticks(cmax)]
    out.append('</div><div class="hplot">')
    for d, cb, ca in zip(bins, counts_b, counts_a):
        out.append('<div class="bin">')
        for c, side, zh in ((cb, "before", "改革前"), (ca, "after", "改革后")):
            tip = f"{zh} {side}: {c} 件在 {d} 个工作日办结 ({c} cases in {d} working days)"
            out.append(f'<div class="hb {side}" style="height:{100 * c / cmax:.1f}%" title="{escape(tip)}"></div>')
        if d % every == 0:
            out.append(f'<span class="xl">{d}</span>')
        out.append("</div>")
    out.append('</div></div><div class="xt">办结用时（工作日） working days to completion · 纵轴：案件数 cases'
               '</div></figure>')
    return "".join(out)


def _sort_value(cell: str) -> str | None:
    """The number a cell sorts by: ``62.5%`` → 62.5, ``5 → 3`` → 3 (the after value), ``—`` → empty."""
    text = cell.split("→")[-1].strip().rstrip("%")
    if text in ("", "—"):
        return ""
    try:
        return str(float(text))
    except ValueError:
        return None


def sortable_table(header: list[str], rows: list[list[str]], table_id: str) -> str:
    numeric = [i for i in range(len(header)) if rows and all(_sort_value(r[i]) is not None for r in rows)]
    out = [f'<div class="scroll"><table id="{table_id}" class="sortable"><thead><tr>']
    out += [f'<th{" class=n" if i in numeric else ""} title="点击排序 click to sort">{escape(h)}</th>'
            for i, h in enumerate(header)]
    out.append("</tr></thead><tbody>")
    for r in rows:
        out.append("<tr>" + "".join(
            f'<td class="n" data-v="{_sort_value(c)}">{escape(c)}</td>' if i in numeric else f"<td>{escape(c)}</td>"
            for i, c in enumerate(r)) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _head(title: str) -> str:
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{CSS}</style></head><body>'
            f"<h1>{escape(title)}</h1>")


def render_html(data: dict, details: dict | None = None, distributions: dict | None = None,
                title: str = "最多跑一次 · 流程再造对比报告", subtitle: str = "", simulated: bool = False,
                mining: dict | None = None) -> str:
    """The whole report as one HTML string."""
    out = [_head(title)]
    if simulated:
        out.append('<div class="banner" role="note"><b>模拟数据</b>本报告的实测数字来自模拟的案件，不是真实办件 '
                   f'(simulated cases, not real ones). {escape(subtitle)}</div>')
    elif subtitle:
        out.append(f'<p class="note">{escape(subtitle)}</p>')
    out.append(report_sections(data, details, distributions))
    if mining:          # conformance and predicted vs measured (engine/mining/html.py)
        from .mining.html import conformance_section, simulation_section
        out.append(conformance_section(mining.get("conformance") or []))
        out.append(simulation_section(mining.get("simulations") or []))
    out.append(f"<script>{SCRIPT}</script></body></html>")
    return "".join(out)


def report_sections(data: dict, details: dict | None = None, distributions: dict | None = None) -> str:
    """The report's body: totals, charts, the matters table, diagrams and measured distributions
    (also the server's 改革成效 page, inside its own layout)."""
    totals = data["totals"]
    matters = data["matters"]
    details = details or {}
    distributions = distributions or {}
    out = []
    out.append('<h2>总体成效 Totals</h2><div class="cards">')
    for key, label, verb in CITY_METRICS:
        out.append(f'<div class="card"><div class="label">{label}</div><div class="big">{verb} '
                   f'{pct(totals["reduction"][key])}</div><div class="from">{num(totals["before"][key])} → '
                   f'{num(totals["after"][key])}</div></div>')
    statutory = (totals.get("time_compression_basis") or {}).get("statutory", totals["after"]["statutory_workdays"])
    out.append(f'<div class="card"><div class="label">承诺时限比法定时限</div><div class="big">压缩 '
               f'{pct(totals["time_compression"])}</div><div class="from">法定 {num(statutory)}'
               f' 个工作日</div></div></div>')
    out.append("<ul>" + "".join(f"<li>{escape(line)}</li>" for line in city_lines(totals)) + "</ul>")
    if totals.get("unpaired"):
        out.append(f'<p class="note">仅一侧有模型，未计入合计 (only on one side, not in the totals): '
                   f'{escape(", ".join(totals["unpaired"]))}</p>')

    # the charts cover what the totals cover: paired matters, bundles left out
    charted = [m for m in matters if m.get("before") and m.get("after") and m.get("kind") != "bundle"]
    labels = [m["name"] for m in charted]
    out.append(f'<h2>前后对比图 Charts</h2>{_legend()}<p class="note">{len(charted)} 个事项，与合计相同'
               f'（一件事不重复计入） — the {len(charted)} matters of the totals.</p><div class="charts">')
    for key, label, _ in CITY_METRICS:
        unit = " 个工作日" if key == "promised_workdays" else ""
        out.append(bar_chart(f"{label} ({key.replace('_', ' ')})", labels, [m["before"].get(key) for m in charted],
                             [m["after"].get(key) for m in charted], unit))
    out.append("</div>")

    header, rows = comparison_rows(data)
    out.append('<h2>事项明细 Matters</h2><input id="filter" placeholder="筛选 filter…" aria-label="filter">')
    out.append(sortable_table(header, rows, "matters"))

    if details or distributions:
        out.append('<h2>流程图与实测分布 Diagrams and measured working days</h2>'
                   '<p class="note">橙色 = 申请人需到现场 (a trip); 蓝色数字 = 该环节需申请人提交的材料数; '
                   '图较宽时可左右滑动 (scroll sideways).</p>')
    for m in matters:
        code = m["matter_code"]
        d = details.get(code) or {}
        dist = distributions.get(code) or {}
        if not d and not dist:
            continue
        out.append(f'<details><summary>{escape(code)} {escape(m["name"])}</summary><div class="pair">')
        for side, label in (("before", "改革前 before"), ("after", "改革后 after")):
            if d.get(side):
                out.append(f'<h4>{label}</h4><div class="diagram">{d[side]}</div>')
        if dist:
            out.append(histogram(f"{m['name']} 实测办结用时", dist.get("before", []), dist.get("after", [])))
        out.append("</div></details>")
    return "".join(out)


def render_metrics_html(rows: list[dict], title: str = "实测办理情况 · measured cases") -> str:
    """``onetrip metrics --format html``: the measured figures as one sortable page."""
    out = [_head(title)]
    if not rows:
        out.append('<p class="note">(no cases)</p>')
    else:
        out.append(sortable_table([h for _, h in METRIC_COLUMNS],
                                  [[metric_cell(r, k) for k, _ in METRIC_COLUMNS] for r in rows], "metrics"))
    out.append(f"<script>{SCRIPT}</script></body></html>")
    return "".join(out)

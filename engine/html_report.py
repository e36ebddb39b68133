"""The self-contained HTML report: totals in the city's form, per-matter table,
before/after charts (inline SVG), each matter's before and after diagram, and
measured working-day distributions.  No network access is needed to view it.
"""
from __future__ import annotations

from html import escape

from .report import CITY_METRICS, city_lines, comparison_rows, num, pct

BEFORE_COLOR = "#adb5bd"
AFTER_COLOR = "#2b8a3e"

CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;margin:24px auto;max-width:1200px;
color:#212529;padding:0 16px}
h1{font-size:26px;margin-bottom:4px}h2{border-bottom:2px solid #dee2e6;padding-bottom:4px;margin-top:36px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}.card{flex:1 1 200px;border:1px solid #dee2e6;
border-radius:8px;padding:12px 16px;background:#f8f9fa}.card .big{font-size:24px;font-weight:bold;color:#2b8a3e}
.card .label{color:#495057}.card .from{font-size:14px;color:#495057}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #dee2e6;padding:4px 8px;text-align:left}
th{background:#f1f3f5;cursor:pointer}tr:nth-child(even){background:#fcfcfc}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
details{border:1px solid #dee2e6;border-radius:8px;margin:10px 0;padding:8px 12px}summary{font-weight:bold;cursor:pointer}
.pair{display:grid;grid-template-columns:1fr;gap:8px}.pair h4{margin:8px 0 2px}.bpmn{max-width:100%;height:auto}
.note{color:#868e96;font-size:12px}#filter{margin:8px 0;padding:4px 8px;width:280px}
"""

SCRIPT = """
(function(){
  var box=document.getElementById('filter');var rows=document.querySelectorAll('#matters tbody tr');
  box.addEventListener('input',function(){var q=box.value.trim();
    rows.forEach(function(r){r.style.display=(!q||r.textContent.indexOf(q)>=0)?'':'none';});});
  document.querySelectorAll('#matters th').forEach(function(th,i){th.addEventListener('click',function(){
    var body=th.closest('table').tBodies[0];var list=Array.prototype.slice.call(body.rows);
    list.sort(function(a,b){return a.cells[i].textContent.localeCompare(b.cells[i].textContent,'zh');});
    list.forEach(function(r){body.appendChild(r);});});});
  document.body.setAttribute('data-ready','1');
})();
"""


def bar_chart(title: str, labels: list[str], before: list[float | None], after: list[float | None],
              unit: str = "") -> str:
    """Horizontal grouped bars, before (grey) and after (green), one pair per label."""
    row_h, label_w, chart_w = 26, 150, 420
    top = 28
    values = [v for v in before + after if v is not None]
    vmax = max(values) if values else 1
    vmax = vmax or 1
    h = top + row_h * len(labels) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{label_w + chart_w + 80}" height="{h}" '
             f'role="img" aria-label="{escape(title)}"><text x="0" y="16" font-size="14" font-weight="bold">'
             f'{escape(title)}</text>']
    for i, (lab, b, a) in enumerate(zip(labels, before, after)):
        y = top + i * row_h
        parts.append(f'<text x="{label_w - 6}" y="{y + 12}" font-size="11" text-anchor="end">{escape(lab[:12])}</text>')
        for j, (v, color) in enumerate(((b, BEFORE_COLOR), (a, AFTER_COLOR))):
            if v is None:
                continue
            width = chart_w * v / vmax
            parts.append(f'<rect x="{label_w}" y="{y + j * 11}" width="{width:.1f}" height="10" fill="{color}">'
                         f'<title>{escape(lab)} {"before" if j == 0 else "after"}: {num(v)}{unit}</title></rect>'
                         f'<text x="{label_w + width + 4:.1f}" y="{y + j * 11 + 9}" font-size="9">{num(v)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def histogram(title: str, before: list[int], after: list[int]) -> str:
    """Distribution of measured elapsed working days, before vs after (counts per day)."""
    if not before and not after:
        return ""
    hi = max(before + after + [1])
    bins = list(range(0, hi + 1))
    counts_b = [before.count(d) for d in bins]
    counts_a = [after.count(d) for d in bins]
    cmax = max(counts_b + counts_a + [1])
    w, h, left, bottom = 520, 150, 30, 24
    bw = (w - left) / len(bins)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart hist" width="{w}" height="{h + 20}" role="img" '
             f'aria-label="{escape(title)}"><text x="0" y="12" font-size="12" font-weight="bold">{escape(title)}</text>']
    for i, (cb, ca) in enumerate(zip(counts_b, counts_a)):
        x = left + i * bw
        for j, (c, color) in enumerate(((cb, BEFORE_COLOR), (ca, AFTER_COLOR))):
            bh = (h - bottom - 20) * c / cmax
            parts.append(f'<rect x="{x + j * bw / 2:.1f}" y="{h - bottom - bh:.1f}" width="{bw / 2 - 1:.1f}" '
                         f'height="{bh:.1f}" fill="{color}"><title>{bins[i]} 工作日: {c}</title></rect>')
        if len(bins) <= 25 or i % 5 == 0:
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{h - 8}" font-size="9" text-anchor="middle">{bins[i]}</text>')
    parts.append(f'<text x="{w / 2}" y="{h + 12}" font-size="10" text-anchor="middle">办结用时(工作日)</text></svg>')
    return "".join(parts)


def render_html(data: dict, details: dict | None = None, distributions: dict | None = None,
                title: str = "最多跑一次 · 流程再造对比报告", subtitle: str = "") -> str:
    """The whole report as one HTML string."""
    totals = data["totals"]
    matters = data["matters"]
    details = details or {}
    distributions = distributions or {}
    out = [f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>'
           f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{CSS}</style></head><body>',
           f"<h1>{escape(title)}</h1>"]
    if subtitle:
        out.append(f'<p class="note">{escape(subtitle)}</p>')
    out.append('<h2>总体成效 Totals</h2><div class="cards">')
    for key, label, verb in CITY_METRICS:
        out.append(f'<div class="card"><div class="label">{label}</div><div class="big">{verb} '
                   f'{pct(totals["reduction"][key])}</div><div class="from">{num(totals["before"][key])} → '
                   f'{num(totals["after"][key])}</div></div>')
    out.append(f'<div class="card"><div class="label">承诺时限比法定时限</div><div class="big">压缩 '
               f'{pct(totals["time_compression"])}</div><div class="from">法定 '
               f'{num((totals.get("time_compression_basis") or {}).get("statutory", totals["after"]["statutory_workdays"]))}'
               f' 个工作日</div></div></div>')
    out.append("<ul>" + "".join(f"<li>{escape(line)}</li>" for line in city_lines(totals)) + "</ul>")
    if totals.get("unpaired"):
        out.append(f'<p class="note">Only on one side, not in the totals: {escape(", ".join(totals["unpaired"]))}</p>')

    paired = [m for m in matters if m.get("before") and m.get("after")]
    labels = [m["name"] for m in paired]
    out.append('<h2>前后对比图 Charts</h2><p class="legend"><span style="background:%s"></span>改革前 before'
               '<span style="background:%s"></span>改革后 after</p>' % (BEFORE_COLOR, AFTER_COLOR))
    for key, label, _ in CITY_METRICS:
        out.append(bar_chart(f"{label} ({key})", labels, [m["before"].get(key) for m in paired],
                             [m["after"].get(key) for m in paired]))

    header, rows = comparison_rows(data)
    out.append('<h2>事项明细 Matters</h2><input id="filter" placeholder="筛选 filter…" aria-label="filter">')
    out.append('<table id="matters"><thead><tr>' + "".join(f"<th>{escape(h)}</th>" for h in header)
               + "</tr></thead><tbody>")
    out += ["<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows]
    out.append("</tbody></table>")

    if details or distributions:
        out.append('<h2>流程图与实测分布 Diagrams and measured working days</h2>'
                   '<p class="note">橙色 = 申请人需到现场 (a trip); 蓝色数字 = 该环节需申请人提交的材料数.</p>')
    for m in matters:
        code = m["matter_code"]
        d = details.get(code) or {}
        dist = distributions.get(code) or {}
        if not d and not dist:
            continue
        out.append(f'<details><summary>{escape(code)} {escape(m["name"])}</summary><div class="pair">')
        for side, label in (("before", "改革前 before"), ("after", "改革后 after")):
            if d.get(side):
                out.append(f"<h4>{label}</h4>{d[side]}")
        if dist:
            out.append(histogram(f"{m['name']} 实测办结用时", dist.get("before", []), dist.get("after", [])))
        out.append("</div></details>")
    out.append(f"<script>{SCRIPT}</script></body></html>")
    return "".join(out)

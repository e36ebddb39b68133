"""Renderers for comparisons and measured metrics: table, JSON, CSV, Markdown, HTML.

All renderers take the plain dicts of :meth:`Comparison.to_dict` (and of
``measure.matter_metrics``), so a stored comparison and a folder comparison
print alike.  CSV is UTF-8 with a BOM so that Excel opens Chinese text
correctly.
"""
from __future__ import annotations

import csv
import io
import json

FORMATS = ("table", "json", "csv", "markdown", "html")

CITY_METRICS = (("steps", "环节", "精简"), ("materials", "材料", "精简"), ("visits", "跑动", "减少"),
                ("promised_workdays", "承诺时限", "压缩"))


def pct(x) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def num(x) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.1f}".rstrip("0").rstrip(".") if not x.is_integer() else str(int(x))
    return str(x)


def city_lines(totals: dict) -> list[str]:
    """The totals in the city's own form: ``环节 292 → 106 (精简 63.7%)``."""
    b, a, r = totals["before"], totals["after"], totals["reduction"]
    lines = [f"{label} {num(b[key])} → {num(a[key])} ({verb} {pct(r[key])})" for key, label, verb in CITY_METRICS]
    basis = totals.get("time_compression_basis")
    scope = f"（{basis['matters']} 个有法定时限的事项；{len(basis['left_out'])} 个无法定时限，未计）" \
        if basis and basis["left_out"] else ""
    lines.append(f"承诺时限比法定时限压缩 {pct(totals['time_compression'])}{scope}")
    lines.append(f"网上可办率 {pct(totals['online_rate'])}  最多跑一次率 {pct(totals['one_trip_rate'])}  "
                 f"即办率 {pct(totals['immediate_rate'])}  ({totals['matters']} 个事项)")
    if totals.get("bundles"):
        lines.append(f"另有一件事 {len(totals['bundles'])} 项（{'、'.join(totals['bundles'])}），"
                     f"其成员事项已计入以上合计")
    return lines


def _arrow(m: dict, key: str) -> str:
    b = (m.get("before") or {}).get(key)
    a = (m.get("after") or {}).get(key)
    if m.get("before") is None:
        return f"— → {num(a)}"
    if m.get("after") is None:
        return f"{num(b)} → —"
    return f"{num(b)} → {num(a)}"


def _measured(m: dict, label: str, key: str):
    return ((m.get("measured") or {}).get(label) or {}).get(key)


def comparison_rows(data: dict) -> tuple[list[str], list[list[str]]]:
    measured = any(m.get("measured") for m in data["matters"])
    header = ["事项编码", "事项名称", "环节", "材料", "跑动", "承诺时限", "法定时限"]
    if measured:
        header += ["实测办结(中位,前)", "实测办结(中位,后)", "按时率(后)"]
    rows = []
    for m in data["matters"]:
        name = f"{m['name']}（一件事）" if m.get("kind") == "bundle" else m["name"]
        row = [m["matter_code"], name, _arrow(m, "steps"), _arrow(m, "materials"), _arrow(m, "visits"),
               _arrow(m, "promised_workdays"), _arrow(m, "statutory_workdays")]
        if measured:
            row += [num(_measured(m, "before", "median_workdays")), num(_measured(m, "after", "median_workdays")),
                    pct(_measured(m, "after", "on_time_rate"))]
        rows.append(row)
    return header, rows


def render_comparison(data: dict, fmt: str) -> str:
    data = {k: v for k, v in data.items() if k != "diagrams"} if fmt != "html" else data
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2, default=str)
    if fmt == "csv":
        return _csv_comparison(data)
    if fmt == "markdown":
        header, rows = comparison_rows(data)
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        out += ["", *[f"- {line}" for line in city_lines(data["totals"])]]
        return "\n".join(out) + "\n"
    if fmt == "html":
        from .html_report import render_html
        data = dict(data)
        return render_html(data, data.pop("diagrams", None))
    return _rich_text(data)


def _rich_text(data: dict) -> str:
    from rich.console import Console
    from rich.table import Table
    header, rows = comparison_rows(data)
    table = Table(title="四减一优 before → after", header_style="bold")
    for h in header:
        table.add_column(h)
    for r in rows:
        table.add_row(*r)
    console = Console(file=io.StringIO(), width=160, force_terminal=False, soft_wrap=True)
    console.print(table)
    for line in city_lines(data["totals"]):
        console.print(line, highlight=False)
    if data["totals"]["unpaired"]:
        console.print(f"only on one side (not in the totals): {', '.join(data['totals']['unpaired'])}",
                      highlight=False)
    return console.file.getvalue()


def _csv_comparison(data: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    keys = ("steps", "materials", "visits", "promised_workdays", "statutory_workdays")
    w.writerow(["matter_code", "name", "kind"] + [f"{k}_{side}" for k in keys for side in ("before", "after")]
               + [f"{k}_reduction" for k in keys[:4]]
               + ["median_workdays_before", "median_workdays_after", "on_time_rate_after"])
    for m in data["matters"]:
        change = m.get("change") or {}
        w.writerow([m["matter_code"], m["name"], m.get("kind", "matter")]
                   + [_csv_val((m.get(side) or {}).get(k)) for k in keys for side in ("before", "after")]
                   + [_csv_val((change.get(k) or {}).get("reduction")) for k in keys[:4]]
                   + [_csv_val(_measured(m, "before", "median_workdays")),
                      _csv_val(_measured(m, "after", "median_workdays")),
                      _csv_val(_measured(m, "after", "on_time_rate"))])
    t = data["totals"]
    w.writerow(["TOTAL", f"{t['matters']} matters", ""]
               + [_csv_val(t[side][k]) for k in keys for side in ("before", "after")]
               + [_csv_val(t["reduction"][k]) for k in keys[:4]] + ["", "", ""])
    return "\ufeff" + buf.getvalue()


def _csv_val(v) -> str:
    return "" if v is None else str(v)


METRIC_COLUMNS = (("matter_code", "事项编码"), ("name", "事项名称"), ("label", "版本"), ("cases", "案件数"),
                  ("completed", "办结"), ("mean_workdays", "平均工作日"), ("median_workdays", "中位数"),
                  ("p90_workdays", "P90"), ("promised_workdays", "承诺时限"), ("on_time_rate", "按时率"),
                  ("overdue", "超期"), ("mean_trips", "平均跑动"), ("mean_steps", "平均环节"),
                  ("mean_materials", "平均材料"), ("mean_returns", "平均补正"))


def render_metrics(rows: list[dict], fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"matters": rows}, ensure_ascii=False, indent=2, default=str)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow([k for k, _ in METRIC_COLUMNS])
        for r in rows:
            w.writerow([_csv_val(r.get(k)) for k, _ in METRIC_COLUMNS])
        return "\ufeff" + buf.getvalue()
    from rich.console import Console
    from rich.table import Table
    table = Table(title="实测办理情况 measured cases", header_style="bold")
    for _, h in METRIC_COLUMNS:
        table.add_column(h)
    for r in rows:
        cells = [pct(r[k]) if k == "on_time_rate" else num(r.get(k)) if not isinstance(r.get(k), str)
                 else r[k] for k, _ in METRIC_COLUMNS]
        table.add_row(*cells, style="red" if r.get("overdue") else None)
    console = Console(file=io.StringIO(), width=200, force_terminal=False)
    console.print(table)
    return console.file.getvalue()

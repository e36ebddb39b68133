"""Renderers for comparisons and measured metrics: table, JSON, CSV, Markdown (HTML is
:mod:`engine.html_report`, which builds on this module; this one never imports it).

All renderers take the plain dicts of :meth:`Comparison.to_dict` (and of
``measure.matter_metrics``), so a stored comparison and a folder comparison
print alike.  CSV is UTF-8 with a BOM so that Excel opens Chinese text
correctly.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass

from .safetext import clean, csv_cell, md_cell, rich_text
from .writers import csv_text, json_text

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


# ------------------------------------------------------------------ terminal tables

@dataclass(frozen=True)
class Col:
    """A table column: ``kind`` id/date/num/flag never wrap (never cut), text wraps;
    when a table cannot fit, the columns with the highest ``drop`` go first (0: never)."""
    key: str
    header: str
    kind: str = "text"
    drop: int = 0


def terminal_width(stream=None) -> int:
    """The terminal's width; 80 (or ``COLUMNS``) when the output is a pipe or a file."""
    import shutil
    import sys
    stream = stream or sys.stdout
    try:
        if stream.isatty():
            return max(20, shutil.get_terminal_size((80, 24)).columns)
    except (AttributeError, ValueError, OSError):
        pass
    try:
        return max(20, int(os.environ.get("COLUMNS", "")))
    except ValueError:
        return 80


def build_table(rows: list[dict], cols: list[Col], width: int, title: str | None = None,
                row_style=None):
    """A rich ``Table`` that fits ``width``: text columns wrap, low-priority columns are dropped.

    Every cell is a :func:`~engine.safetext.rich_text` (no markup, no control characters)."""
    from rich import box
    from rich.cells import cell_len
    from rich.table import Table

    def make(columns, squeeze=False):
        table = Table(title=rich_text(title) if title else None, box=box.SIMPLE_HEAD, show_edge=False,
                      header_style="bold", pad_edge=False, title_justify="left")
        for c in columns:
            fixed = c.kind in ("id", "date", "num", "flag") and not squeeze
            table.add_column(_stack(c.header), no_wrap=fixed, overflow="fold",
                             justify="right" if c.kind == "num" else "left",
                             min_width=None if fixed or squeeze else least(c))
        for r in rows:
            style = row_style(r) if row_style else None
            table.add_row(*[rich_text(_cell(r.get(c.key))) for c in columns], style=style)
        return table

    def least(c: Col) -> int:
        """A column's narrowest width: fixed columns whole, text wrapped to 8 cells (or its header word)."""
        head = max(cell_len(part) for part in _stack(c.header).plain.split("\n"))
        cells = max([cell_len(_cell(r.get(c.key))) for r in rows] or [0])
        return max(head, cells) if c.kind in ("id", "date", "num", "flag") else max(head, min(8, cells), 1)

    def need(columns) -> int:
        return 3 * (len(columns) - 1) + sum(least(c) for c in columns)

    columns = list(cols)
    while need(columns) > width:
        droppable = [c for c in columns if c.drop]
        if not droppable:       # a very narrow terminal: ids and dates wrap onto a second line, never cut
            return make(columns, squeeze=True)
        columns.remove(max(droppable, key=lambda c: (c.drop, columns.index(c))))
    return make(columns)


def _stack(header: str):
    """``事项 matter`` → two header lines, so a bilingual header is no wider than its words."""
    from rich.text import Text
    head, _, tail = header.partition(" ")
    return Text(clean(head) + ("\n" + clean(tail) if tail else ""))


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return num(value)
    return str(value)


def render_table(rows: list[dict], cols: list[Col], width: int = 80, title: str | None = None,
                 row_style=None) -> str:
    """The table as plain text (no colours) of at most ``width`` columns."""
    from rich.console import Console
    console = Console(file=io.StringIO(), width=width, force_terminal=False, no_color=True,
                      highlight=False, emoji=False)
    console.print(build_table(rows, cols, width, title, row_style))
    return console.file.getvalue()


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
    conformance = any(_measured(m, "after", "conforming_share") is not None for m in data["matters"])
    if conformance:         # onetrip conformance: cases that kept the model and the reform's promises
        header.append("合规率(后)")
    rows = []
    for m in data["matters"]:
        name = f"{m['name']}（一件事）" if m.get("kind") == "bundle" else m["name"]
        row = [m["matter_code"], name, _arrow(m, "steps"), _arrow(m, "materials"), _arrow(m, "visits"),
               _arrow(m, "promised_workdays"), _arrow(m, "statutory_workdays")]
        if measured:
            row += [num(_measured(m, "before", "median_workdays")), num(_measured(m, "after", "median_workdays")),
                    pct(_measured(m, "after", "on_time_rate"))]
        if conformance:
            row.append(pct(_measured(m, "after", "conforming_share")))
        rows.append(row)
    return header, rows


#: In a narrow terminal the measured columns go first, then statutory limits; the four 四减一优
#: figures (steps, materials, visits, promised days) stay longest.
COMPARISON_COLS = [Col("0", "事项编码 code", "id"), Col("1", "事项名称 name"), Col("2", "环节 steps", "flag"),
                   Col("3", "材料 materials", "flag", 2), Col("4", "跑动 visits", "flag"),
                   Col("5", "承诺时限 promised", "flag", 1), Col("6", "法定时限 statutory", "flag", 4),
                   Col("7", "中位(前) median before", "num", 6), Col("8", "中位(后) median after", "num", 5),
                   Col("9", "按时率(后) on time", "num", 3)]


def render_comparison(data: dict, fmt: str, width: int = 80) -> str:
    """The comparison as ``fmt``; ``table`` fits ``width`` columns."""
    data = {k: v for k, v in data.items() if k != "diagrams"} if fmt != "html" else data
    if fmt == "json":
        return json_text(data)
    if fmt == "csv":
        return _csv_comparison(data)
    if fmt == "markdown":
        header, rows = comparison_rows(data)
        out = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(md_cell(c) for c in r) + " |" for r in rows]
        out += ["", *[f"- {md_cell(line)}" for line in city_lines(data["totals"])]]
        if data["totals"]["unpaired"]:
            out.append(f"- 仅一侧有模型、未计入合计 only on one side: {md_cell(', '.join(data['totals']['unpaired']))}")
        return "\n".join(out) + "\n"
    if fmt == "html":
        raise ValueError("HTML is rendered by engine.html_report.render_html")
    return _rich_text(data, width)


def _rich_text(data: dict, width: int = 80) -> str:
    header, rows = comparison_rows(data)
    table = render_table([dict(zip(map(str, range(len(r))), r)) for r in rows],
                         COMPARISON_COLS[:len(header)], width, title="四减一优 before → after")
    lines = [table] + [clean(line) + "\n" for line in city_lines(data["totals"])]
    if data["totals"]["unpaired"]:
        lines.append(clean(f"only on one side (not in the totals): {', '.join(data['totals']['unpaired'])}") + "\n")
    return "".join(lines)


#: CSV columns for Excel: Chinese headers; JSON keeps the machine names.
_CSV_KEYS = (("steps", "环节"), ("materials", "材料"), ("visits", "跑动"), ("promised_workdays", "承诺时限(工作日)"),
             ("statutory_workdays", "法定时限(工作日)"))


def _csv_comparison(data: dict) -> str:
    rows = []
    keys = [k for k, _ in _CSV_KEYS]
    rows.append(["事项编码", "事项名称", "类型"]
                + [f"{label}({side})" for _, label in _CSV_KEYS for side in ("改革前", "改革后")]
                + [f"{label.split('(')[0]}{'压缩率' if k == 'promised_workdays' else '减少率' if k == 'visits' else '精简率'}"
                   for k, label in _CSV_KEYS[:4]]
                + ["实测办结中位数(改革前,工作日)", "实测办结中位数(改革后,工作日)", "按时办结率(改革后)"])
    for m in data["matters"]:
        change = m.get("change") or {}
        rows.append([csv_cell(m["matter_code"]), csv_cell(m["name"]),
                     "一件事" if m.get("kind") == "bundle" else "事项"]
                    + [_csv_num((m.get(side) or {}).get(k)) for k in keys for side in ("before", "after")]
                    + [_csv_pct((change.get(k) or {}).get("reduction")) for k in keys[:4]]
                    + [_csv_num(_measured(m, "before", "median_workdays")),
                       _csv_num(_measured(m, "after", "median_workdays")),
                       _csv_pct(_measured(m, "after", "on_time_rate"))])
    t = data["totals"]
    rows.append(["合计", f"{t['matters']} 个事项（不含一件事）", ""]
                + [_csv_num(t[side][k]) for k in keys for side in ("before", "after")]
                + [_csv_pct(t["reduction"][k]) for k in keys[:4]] + ["", "", ""])
    return csv_text(rows)


def _csv_num(v) -> str:
    return "" if v is None else csv_cell(num(v) if isinstance(v, (int, float)) else v)


def _csv_pct(v) -> str:
    return "" if v is None else pct(v)


METRIC_COLUMNS = (("matter_code", "事项编码"), ("name", "事项名称"), ("label", "版本"), ("cases", "案件数"),
                  ("completed", "办结"), ("mean_workdays", "平均工作日"), ("median_workdays", "中位数"),
                  ("p90_workdays", "P90"), ("promised_workdays", "承诺时限"), ("on_time_rate", "按时率"),
                  ("overdue", "超期"), ("mean_trips", "平均跑动"), ("mean_steps", "平均环节"),
                  ("mean_materials", "平均材料"), ("mean_returns", "平均补正"))
#: Which metric columns leave a narrow table first (higher: sooner; 0: never).
_METRIC_DROP = {"matter_code": 0, "name": 0, "label": 0, "cases": 0, "completed": 9, "mean_workdays": 7,
                "median_workdays": 0, "p90_workdays": 5, "promised_workdays": 6, "on_time_rate": 0, "overdue": 3,
                "mean_trips": 4, "mean_steps": 8, "mean_materials": 10, "mean_returns": 11}
_METRIC_EN = {"matter_code": "code", "name": "name", "label": "version", "cases": "cases", "completed": "done",
              "mean_workdays": "mean", "median_workdays": "median", "p90_workdays": "p90",
              "promised_workdays": "promised", "on_time_rate": "on time", "overdue": "overdue",
              "mean_trips": "trips", "mean_steps": "steps", "mean_materials": "materials", "mean_returns": "returns"}


def metric_cell(r: dict, k: str) -> str:
    v = r.get(k)
    if k == "on_time_rate":
        return pct(v)
    return v if isinstance(v, str) else num(v)


def render_metrics(rows: list[dict], fmt: str, width: int = 80) -> str:
    if fmt == "json":
        return json_text({"matters": rows})
    if fmt == "csv":
        return csv_text([[h if k != "median_workdays" else "中位工作日" for k, h in METRIC_COLUMNS]]
                        + [[csv_cell(metric_cell(r, k)) if r.get(k) is not None else "" for k, _ in METRIC_COLUMNS]
                           for r in rows])
    if fmt == "markdown":
        out = ["| " + " | ".join(md_cell(h) for _, h in METRIC_COLUMNS) + " |", "|" + "---|" * len(METRIC_COLUMNS)]
        out += ["| " + " | ".join(md_cell(metric_cell(r, k)) for k, _ in METRIC_COLUMNS) + " |" for r in rows]
        return "\n".join(out) + "\n"
    if fmt == "html":
        raise ValueError("HTML is rendered by engine.html_report.render_metrics_html")
    cols = [Col(k, f"{h} {_METRIC_EN[k]}", "id" if k == "matter_code" else "text" if k == "name" else
                "flag" if k == "label" else "num", _METRIC_DROP[k]) for k, h in METRIC_COLUMNS]
    cells = [{k: metric_cell(r, k) for k, _ in METRIC_COLUMNS} | {"_overdue": r.get("overdue")} for r in rows]
    if not rows:
        return "(no cases)\n"
    return render_table(cells, cols, width, title="实测办理情况 measured cases")

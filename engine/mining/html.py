"""The HTML report's mining sections: conformance per matter, and predicted vs measured."""
from __future__ import annotations

from html import escape

from ..report import num, pct

KIND_NAMES = {"skipped_step": "跳过环节 skipped", "added_step": "多出环节 added", "extra_trip": "多跑 extra trip",
              "extra_return": "多次补正 extra return", "return_not_allowed": "不应退回 return not allowed",
              "late": "超期 late"}


def _table(header: list[str], rows: list[list[str]], table_id: str) -> str:
    return (f'<div class="scroll"><table id="{table_id}"><thead><tr>'         # scrolls inside, not the page
            + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
            + "</tbody></table></div>")


def conformance_section(matters: list[dict]) -> str:
    """Share of conforming cases, fitness and the top deviations, per matter and version."""
    if not matters:
        return ""
    rows = []
    for m in matters:
        top = "；".join(f"{KIND_NAMES.get(d['kind'], d['kind'])}{' ' + d['name'] if d['name'] else ''} ×{d['cases']}"
                       for d in m["top_deviations"][:3])
        rows.append([m["matter_code"], m.get("name") or "", m["label"], str(m["cases"]), pct(m["conforming_share"]),
                     num(m["mean_fitness"]), top])
    return ('<h2>合规检查 Conformance</h2><p class="note">每个案件在其实际运行的模型上重放（拟合度 1 = 完全按模型办理），'
            '并检查改革承诺：跑动不超过模型、一次性告知补正、不超承诺时限。</p>'
            + _table(["事项编码", "事项名称", "版本", "案件数", "合规率", "拟合度", "主要偏差"], rows, "conformance"))


def simulation_section(simulations: list[dict]) -> str:
    """Predicted (simulated, calibrated from measured cases) vs measured, per simulated matter."""
    if not simulations:
        return ""
    rows = []
    for s in simulations:
        p, m = s["predicted"], s["measured"]
        rows.append([s["matter_code"], s.get("name") or "", f"{s['label']} ← {s['calibrated_from']['label']}",
                     f"{num(p['median_workdays'])} / {num(m.get('median_workdays'))}",
                     f"{num(p['p90_workdays'])} / {num(m.get('p90_workdays'))}",
                     f"{pct(p['on_time_rate'])} / {pct(m.get('on_time_rate'))}",
                     f"{num(p['mean_trips'])} / {num(m.get('mean_trips'))}",
                     f"{num(p['mean_returns'])} / {num(m.get('mean_returns'))}",
                     str(s["calibrated_from"]["cases"])])
    return ('<h2>预测与实测 Predicted vs measured</h2><p class="note">预测 = 在实际部署的模型上模拟（中国法定工作日，'
            '参数取自实测案件：环节用时、补正概率、申请人补正用时、到件量、各部门人员）；每格为 预测 / 实测。'
            '“after ← before” 为以改革前实测案件预测改革后模型。</p>'
            + _table(["事项编码", "事项名称", "模型 ← 校准", "办结中位数", "办结P90", "按时率", "平均跑动", "平均补正",
                      "校准案件"], rows, "simulations"))

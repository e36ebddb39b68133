"""Before/after comparison: the city's own figures, from BPMN models, never typed in."""
from __future__ import annotations

import csv
import io
import json

import pytest

from onetrip_testing.bpmn_factory import linear_model, matter_steps
from onetrip_testing import CliHarness


def city_catalog(root):
    """100 matter pairs whose totals are the published ones:
    steps 292 → 106, materials 581 → 457, visits 186 → 84, promised(after) = half of statutory.

    steps before: 92×3 + 8×2 = 292; after: 94×1 + 6×2 = 106
    visits before: 86×2 + 14×1 = 186; after: 84×1 + 16×0 = 84
    materials before: 81×6 + 19×5 = 581; after: 57×5 + 43×4 = 457
    statutory 20 each (2000); promised after 10 each (1000) → compression 50.0%
    """
    before, after = root / "before", root / "after"
    before.mkdir()
    after.mkdir()
    for i in range(100):
        code = f"M{i:03d}"
        b = matter_steps(3 if i < 92 else 2, 2 if i < 86 else 1, 6 if i < 81 else 5)
        a = matter_steps(1 if i < 94 else 2, 1 if i < 84 else 0, 5 if i < 57 else 4)
        (before / f"{code}.bpmn").write_text(linear_model(code, f"事项{i}", b, statutory=20, promised=20,
                                                          label="before"), encoding="utf-8")
        (after / f"{code}.bpmn").write_text(linear_model(code, f"事项{i}", a, statutory=20, promised=10,
                                                         label="after"), encoding="utf-8")
    return before, after


@pytest.fixture
def catalog(tmp_path):
    return city_catalog(tmp_path)


def test_city_totals_table(tmp_path, catalog):
    cli = CliHarness(f"sqlite:///{tmp_path / 'unused.db'}")
    out = cli.ok(["compare", str(catalog[0]), str(catalog[1])]).stdout
    assert "环节 292 → 106 (精简 63.7%)" in out
    assert "材料 581 → 457 (精简 21.3%)" in out
    assert "跑动 186 → 84 (减少 54.8%)" in out
    assert "承诺时限比法定时限压缩 50.0%" in out
    assert "M099" in out and "事项99" in out
    assert not (tmp_path / "unused.db").exists()     # no database needed


def test_city_totals_json(tmp_path, catalog):
    cli = CliHarness(f"sqlite:///{tmp_path / 'unused.db'}")
    data = json.loads(cli.ok(["compare", str(catalog[0]), str(catalog[1]), "--format", "json"]).stdout)
    t = data["totals"]
    assert t["before"]["steps"] == 292 and t["after"]["steps"] == 106
    assert t["before"]["materials"] == 581 and t["after"]["materials"] == 457
    assert t["before"]["visits"] == 186 and t["after"]["visits"] == 84
    assert t["reduction"] == {"steps": 0.637, "materials": 0.2134, "visits": 0.5484, "promised_workdays": 0.5}
    assert t["time_compression"] == 0.5
    assert t["online_rate"] == 0.16 and t["one_trip_rate"] == 1.0 and t["immediate_rate"] == 0.0
    m0 = data["matters"][0]
    assert m0["matter_code"] == "M000" and m0["before"]["steps"] == 3 and m0["after"]["steps"] == 1
    assert m0["change"]["steps"] == {"before": 3, "after": 1, "delta": -2, "reduction": 0.6667}


def test_csv_opens_in_excel_with_chinese(tmp_path, catalog):
    cli = CliHarness(f"sqlite:///{tmp_path / 'unused.db'}")
    out = tmp_path / "对比.csv"
    cli.ok(["compare", str(catalog[0]), str(catalog[1]), "--format", "csv", "-o", str(out)])
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["事项编码", "事项名称", "类型"] and rows[1][1] == "事项0"
    assert rows[-1][0] == "合计" and len(rows) == 102
    assert rows[-1][rows[0].index("环节精简率")] == "63.7%"


def test_matters_on_one_side_are_listed_not_dropped(tmp_path, catalog):
    (catalog[1] / "M050.bpmn").unlink()
    cli = CliHarness(f"sqlite:///{tmp_path / 'unused.db'}")
    data = json.loads(cli.ok(["compare", str(catalog[0]), str(catalog[1]), "--format", "json"]).stdout)
    m050 = next(m for m in data["matters"] if m["matter_code"] == "M050")
    assert m050["after"] is None and m050["before"]["steps"] == 3
    assert data["totals"]["unpaired"] == ["M050"] and data["totals"]["matters"] == 99
    text = cli.ok(["compare", str(catalog[0]), str(catalog[1])]).stdout
    assert "only on one side (not in the totals): M050" in text


@pytest.mark.parametrize("fmt, marker", [("markdown", "| 事项编码 |"), ("html", "<!DOCTYPE html>")])
def test_other_formats(tmp_path, catalog, fmt, marker):
    cli = CliHarness(f"sqlite:///{tmp_path / 'unused.db'}")
    out = cli.ok(["compare", str(catalog[0]), str(catalog[1]), "--format", fmt]).stdout
    assert marker in out and "63.7%" in out


def test_compare_errors(tmp_path):
    cli = CliHarness(f"sqlite:///{tmp_path / 'unused.db'}")
    r = cli(["compare", str(tmp_path / "nope"), str(tmp_path)])
    assert r.exit_code == 1 and r.stderr.strip() == f"Error: {tmp_path / 'nope'}: no such file or directory"
    r = cli(["compare", "--stored", str(tmp_path)])
    assert r.exit_code == 2 and "not both" in r.stderr

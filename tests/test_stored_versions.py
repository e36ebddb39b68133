"""Stored process versions: re-uploading an older model makes it current again, a stored version
analyses like its file, and the stored comparison and metrics answer in JSON on an empty store."""
from __future__ import annotations


def test_reuploading_an_older_model_makes_it_current_again(sample_office, sample_bpmn, tmp_path):
    v2 = tmp_path / "v2.bpmn"
    v2.write_text(sample_bpmn.read_text(encoding="utf-8").replace('name="审核"', 'name="审核（新）"'),
                  encoding="utf-8")
    first = sample_office.json("process list --matter JZZSAMPLE")[0]
    sample_office.ok(f"process upload {v2} --label after", user="李设计")
    assert sample_office.json("case start JZZSAMPLE", user="王窗口")["version"] != first["id"]
    again = sample_office.json(f"process upload {sample_bpmn} --label after", user="李设计")
    assert again["id"] == first["id"] and again["created"] is False and again["reactivated"] is True
    assert sample_office.json("case start JZZSAMPLE", user="王窗口")["version"] == first["id"]
    assert "made current again: version" in sample_office.ok(f"process upload {v2} --label after", user="李设计").stdout


def test_analyzing_a_stored_version_gives_the_file_figures(sample_office, sample_bpmn):
    [from_file] = sample_office.json(["process", "analyze", str(sample_bpmn)])
    [stored] = sample_office.json("process analyze 1")
    assert stored["version"] == 1 and stored["label"] == "after"
    for key in ("steps", "materials", "visits", "promised_workdays", "applicant_materials", "findings"):
        assert stored[key] == from_file[key], key


def test_compare_and_metrics_take_json(sample_office):
    assert sample_office.json("metrics") == {"matters": []}
    assert sample_office.json("compare --stored")["totals"]["matters"] == 0

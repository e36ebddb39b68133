"""The catalog: manifests agree with their models, every model validates, totals move the
way the manifests say, and loading is idempotent."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine import analysis, bpmn_model, catalog, compiler
from engine.errors import CatalogError
from onetrip_testing import CliHarness

ROOT = Path(__file__).parent.parent
MANIFESTS = catalog.load_catalog(ROOT / "processes")


def metrics(path) -> dict:
    _, doc = bpmn_model.load_document(path)
    return analysis.version_metrics(doc, compiler.choose_process(doc))


def test_catalog_size():
    kinds = [m.kind for m in MANIFESTS]
    assert kinds.count("matter") >= 15 and kinds.count("bundle") >= 3
    departments = {m.data["department"] for m in MANIFESTS}
    assert len(departments) >= 6


@pytest.mark.parametrize("m", MANIFESTS, ids=lambda m: m.code)
def test_manifest_matches_its_models(m):
    before, after = metrics(m.models["before"]), metrics(m.models["after"])
    assert before["matter_code"] == after["matter_code"] == m.code
    for key in ("steps", "materials", "visits", "promised_workdays"):
        assert after[key] <= before[key], key
    assert after["promised_workdays"] == m.data["promised_workdays"]
    assert after["statutory_workdays"] == m.data["statutory_workdays"]
    assert m.data["department"] in after["lanes"]
    assert (m.data["case_type"] == "即办件") == (m.data["promised_workdays"] == 0)
    for path in m.models.values():
        _, doc = bpmn_model.load_document(path)
        assert compiler.compile_model(doc)[2] == []
        assert doc.tree.getroot().find(f".//{{{bpmn_model.BPMNDI_NS}}}BPMNPlane") is not None


@pytest.mark.parametrize("m", [m for m in MANIFESTS if m.kind == "bundle"], ids=lambda m: m.code)
def test_bundles_count_shared_materials_once(m):
    members = [analysis.analyze_path(p)[0] for code in m.members
               for p in [next(x for x in MANIFESTS if x.code == code).models["before"]]]
    union = analysis.bundle_materials(members)
    assert metrics(m.models["before"])["materials"] == len(union)
    assert sum(x.materials for x in members) > len(union)          # some materials were shared
    assert metrics(m.models["after"])["materials"] < len(union)


def test_load_is_idempotent_and_list_has_every_matter(tmp_path):
    cli = CliHarness(f"sqlite:///{tmp_path / 'c.db'}")
    cli.ok("init")
    cli.ok("user add 设计 --role designer")
    first = cli.json("catalog load processes", user="设计")
    again = cli.json("catalog load processes", user="设计")
    assert len(first) == len(again) == 2 * len(MANIFESTS)
    assert all(r["created"] for r in first) and not any(r["created"] for r in again)
    assert [r["id"] for r in first] == [r["id"] for r in again]
    listed = cli.json("catalog list")
    assert {r["code"] for r in listed} == {m.code for m in MANIFESTS}
    row = next(r for r in listed if r["code"] == "CSYJS")
    assert row["kind"] == "bundle" and row["department"] and [v["label"] for v in row["versions"]] == ["before", "after"]
    assert set(row) >= {"code", "name", "kind", "department", "versions"}


@pytest.mark.parametrize("text, message", [
    ("code = 1", "field 'code' must be a str"),
    ('code = "X"\nname = "n"', "missing field 'kind'"),
    ("code = [", "bad TOML"),
])
def test_bad_manifest(tmp_path, text, message):
    (tmp_path / "processes").mkdir()
    (tmp_path / "processes" / "X.toml").write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match=message) as err:
        catalog.load_catalog(tmp_path / "processes")
    assert str(err.value).startswith(str(tmp_path / "processes" / "X.toml"))

"""The catalog: manifests agree with their models, every figure is sourced, bundles follow from their
members, the generator is byte-identical, every model validates, and loading is idempotent."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine import analysis, bpmn_model, catalog, compare, compiler, report
from engine.errors import CatalogError
from onetrip_testing import CliHarness

ROOT = Path(__file__).parent.parent
MANIFESTS = catalog.load_catalog(ROOT / "processes")
BY_CODE = {m.code: m for m in MANIFESTS}
MATTERS = [m for m in MANIFESTS if m.kind == "matter"]
BUNDLES = [m for m in MANIFESTS if m.kind == "bundle"]
HUMAN = ("userTask", "manualTask", "task")


def metrics(path) -> dict:
    _, doc = bpmn_model.load_document(path)
    return analysis.version_metrics(doc, bpmn_model.choose_process(doc))


def ids(materials) -> set[str]:
    """Material ids (the analysis names a material by its data object reference, DataRef_<id>)."""
    return {m.removeprefix("DataRef_") for m in materials}


def onsite_steps(path) -> list[str]:
    """Ids of the counted onsite steps, read from the BPMN itself."""
    _, doc = bpmn_model.load_document(path)
    process = bpmn_model.choose_process(doc)
    return [n.id for n in process.walk() if n.tag in HUMAN and n.props.get("onsite") == "true"
            and n.props.get("step") != "false"]


def test_catalog_size():
    assert len(MATTERS) >= 35 and len(BUNDLES) >= 4
    departments = {m.data["department"] for m in MANIFESTS}
    assert len(departments) >= 12


@pytest.mark.parametrize("m", MANIFESTS, ids=lambda m: m.code)
def test_manifest_matches_its_models(m):
    before, after = metrics(m.models["before"]), metrics(m.models["after"])
    assert before["matter_code"] == after["matter_code"] == m.code
    for key in ("steps", "materials", "visits", "promised_workdays"):
        assert after[key] <= before[key], key
    assert after["promised_workdays"] == m.data["promised_workdays"]
    assert after["statutory_workdays"] == before["statutory_workdays"] == m.data.get("statutory_workdays")
    assert m.data["department"] in after["lanes"]
    assert (m.data["case_type"] == "即办件") == (m.data["promised_workdays"] == 0)
    for path in m.models.values():
        _, doc = bpmn_model.load_document(path)
        assert compiler.compile_model(doc)[2] == []
        assert doc.tree.getroot().find(f".//{{{bpmn_model.BPMNDI_NS}}}BPMNPlane") is not None


@pytest.mark.parametrize("m", MANIFESTS, ids=lambda m: m.code)
def test_every_manifest_is_sourced(m):
    """Legal basis down to an article (or an explicit none), a statutory limit only with its basis,
    a reason for every trip kept, and what removed every trip and material that went."""
    d = m.data
    basis = d["legal_basis"]
    assert catalog.cites(basis) or basis.startswith("none："), basis
    if "statutory_workdays" in d:
        assert catalog.cites(d["statutory_basis"]) and "time_limit_note" not in d
    else:
        assert "statutory_basis" not in d and d["time_limit_note"].startswith("无法定时限：")
    kept = onsite_steps(m.models["after"])
    assert sorted(d.get("kept_trips", {})) == sorted(kept)
    assert all(reason.strip() for reason in d.get("kept_trips", {}).values())
    gone = onsite_steps(m.models["before"])
    removed = d.get("removed_trips", {})
    assert set(removed) <= set(gone) and len(removed) == len(gone) - len(kept)
    before, after = metrics(m.models["before"]), metrics(m.models["after"])
    assert set(d.get("removed_materials", {})) == \
        ids(before["applicant_materials"]) - ids(after["applicant_materials"])
    for reason in (*removed.values(), *d.get("removed_materials", {}).values()):
        assert reason.startswith(catalog.MECHANISMS), reason


def test_the_six_reviewed_errors_are_fixed():
    """issue 10: limits from the 2022 regulation, the seal 备案, 五证合一, the medical-insurance basis,
    and the 出生医学证明 issued by the 助产机构."""
    for code in ("QYSLDJ", "GTGSHDJ"):
        assert BY_CODE[code].data["statutory_workdays"] == 3
        assert "第十九条" in BY_CODE[code].data["statutory_basis"]
    seal = BY_CODE["GZKZBA"]
    assert "国发〔2017〕7号" in seal.data["legal_basis"] and "412" not in seal.data["legal_basis"]
    assert "statutory_workdays" not in seal.data
    for label in ("before", "after"):                  # the applicant deals with the shop, not the police
        _, doc = bpmn_model.load_document(seal.models[label])
        process = bpmn_model.choose_process(doc)
        human = [n.id for n in process.walk() if n.tag in HUMAN and n.props.get("step") != "false"]
        assert human and all(process.lanes[n] == "印章刻制企业" for n in human)
    for label in ("before", "after"):
        assert "social_insurance_certificate" not in metrics(BY_CODE["QYSBDJ"].models[label])["issued_materials"]
        assert "人力资源和社会保障局" in metrics(BY_CODE["QYSLDJ"].models[label])["lanes"]   # 五证合一
    assert "第二十五条" in BY_CODE["YBCBDJ"].data["legal_basis"]
    assert "医疗保障基金" not in BY_CODE["YBCBDJ"].data["legal_basis"]
    assert BY_CODE["CSYXZM"].data["department"] == "助产机构(医院)"


def test_trips_the_law_still_needs_are_kept():
    for code in ("BDCZYDJ", "CJRZSL", "SBKSL", "JZZBL", "CSYXZM", "JHDJ", "SFZHL", "PTHZ"):
        assert metrics(BY_CODE[code].models["after"])["visits"] >= 1, code
    # the bundles keep them too: 出生医学证明 signed for, the paper personnel file handed over
    assert metrics(BY_CODE["CSYJS"].models["after"])["visits"] == 1
    assert metrics(BY_CODE["TXYJS"].models["after"])["visits"] == 1


@pytest.mark.parametrize("m", BUNDLES, ids=lambda m: m.code)
def test_bundle_before_follows_from_its_members(m):
    members = [BY_CODE[code] for code in m.members]
    assert all(x.kind == "matter" for x in members)
    bundle = metrics(m.models["before"])
    parts = [metrics(x.models["before"]) for x in members]
    for key in ("steps", "visits", "promised_workdays"):
        assert bundle[key] == sum(p[key] for p in parts), key
    union = set().union(*(p["applicant_materials"] for p in parts))
    assert sorted(bundle["applicant_materials"]) == sorted(union)
    assert bundle["materials"] == len(union) < sum(p["materials"] for p in parts)   # shared ones once
    after = metrics(m.models["after"])
    assert after["materials"] < len(union) and after["visits"] < bundle["visits"]


def test_a_material_shared_by_members_counts_once():
    """企业开办: 营业执照 and 身份证 are asked by several members before; the bundle counts each once."""
    m = BY_CODE["QYKBYJS"]
    parts = [analysis.analyze_path(BY_CODE[c].models["before"])[0] for c in m.members]
    askers = [p for p in parts if "business_license" in ids(p.applicant_materials)]
    assert len(askers) >= 3
    union = [m.removeprefix("DataRef_") for m in analysis.bundle_materials(parts)]
    assert union.count("business_license") == 1 and union.count("id_card") == 1
    assert metrics(m.models["before"])["materials"] == len(union)


def test_bundles_may_name_only_existing_members(tmp_path):
    (tmp_path / "processes").mkdir()
    text = (ROOT / "processes" / "CSYJS.toml").read_text(encoding="utf-8")
    text = text.replace('members = ["CSYXZM"', 'members = ["NOPE"')
    (tmp_path / "processes" / "CSYJS.toml").write_text(text, encoding="utf-8")
    (tmp_path / "bpmn").mkdir()
    for label in ("before", "after"):
        (tmp_path / "bpmn" / f"CSYJS.{label}.bpmn").write_bytes((ROOT / "bpmn" / f"CSYJS.{label}.bpmn").read_bytes())
    with pytest.raises(CatalogError, match="bundle member.s. NOPE, XSELH, YBCBDJ, SBKSL not in the catalog"):
        catalog.load_catalog(tmp_path / "processes")


def test_generator_is_byte_identical_and_up_to_date():
    """Every generated file equals what tools/catalog_gen.py writes (regenerating changes nothing)."""
    done = subprocess.run([sys.executable, "tools/catalog_gen.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_readme_totals_are_what_compare_computes():
    """processes/README.md's totals line over the matters equals compare's own totals."""
    before = {m.code: metrics(m.models["before"]) for m in MATTERS}
    after = {m.code: metrics(m.models["after"]) for m in MATTERS}
    totals = compare.pair(before, after).to_dict()["totals"]
    lines = report.city_lines(totals)
    for readme in ("processes/README.md", "README.md"):
        text = (ROOT / readme).read_text(encoding="utf-8")
        for line in lines[:5]:
            assert line in text, (readme, line)
    basis = totals["time_compression_basis"]
    assert basis["matters"] == sum("statutory_workdays" in m.data for m in MATTERS)
    assert sorted(basis["left_out"]) == sorted(m.code for m in MATTERS if "statutory_workdays" not in m.data)
    # the whole catalog lands near the seed city's 63.7 / 21.3 / 54.8 / 50 rather than far beyond it
    r = totals["reduction"]
    assert 0.45 <= r["steps"] <= 0.75 and 0.15 <= r["materials"] <= 0.45
    assert 0.45 <= r["visits"] <= 0.85 and 0.35 <= totals["time_compression"] <= 0.70


def test_time_compression_leaves_out_matters_without_a_statutory_limit(tmp_path):
    """compare computes the compression over matters with a statutory limit and says how many it left out."""
    cli = CliHarness(f"sqlite:///{tmp_path / 'c.db'}")
    folder_b, folder_a = tmp_path / "b", tmp_path / "a"
    folder_b.mkdir(), folder_a.mkdir()
    for code in ("QYSLDJ", "XSELH", "BDCZYDJ"):
        (folder_b / f"{code}.before.bpmn").write_bytes((ROOT / "bpmn" / f"{code}.before.bpmn").read_bytes())
        (folder_a / f"{code}.after.bpmn").write_bytes((ROOT / "bpmn" / f"{code}.after.bpmn").read_bytes())
    data = cli.ok(["compare", str(folder_b), str(folder_a), "--format", "json"]).json()
    totals = data["totals"]
    assert totals["time_compression_basis"] == {"matters": 2, "left_out": ["XSELH"], "promised": 6,
                                                "statutory": 33}
    assert totals["time_compression"] == round(1 - 6 / 33, 4)
    assert "incomplete" not in totals                      # no statutory limit is not a missing figure
    table = cli.ok(["compare", str(folder_b), str(folder_a)]).stdout
    assert "承诺时限比法定时限压缩 81.8%（2 个有法定时限的事项；1 个无法定时限，未计）" in table


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


GOOD = (ROOT / "processes" / "QYSLDJ.toml").read_text(encoding="utf-8")
NO_LIMIT = (ROOT / "processes" / "XSELH.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("text, message", [
    ("code = 1", "field 'code' must be a str"),
    ('code = "X"\nname = "n"', "missing field 'kind'"),
    ("code = [", "bad TOML"),
    (GOOD.replace("第十九条；五证合一", "；五证合一").replace("(国务院令第746号)", "")
     .replace("(国办发〔2016〕53号)", ""), r"legal_basis must cite an article \(第N条\)"),
    (GOOD.replace('statutory_basis = "《中华人民共和国市场主体登记管理条例》第十九条',
                  'statutory_basis = "《条例》'), "statutory_workdays needs a statutory_basis"),
    (NO_LIMIT.replace("time_limit_note", "remark"), "no statutory_workdays: time_limit_note must say"),
    (NO_LIMIT.replace('time_limit_note = "无法定时限：', 'time_limit_note = "'), "time_limit_note must say"),
    (GOOD.replace('Task_Collect = "电子证照：', 'Task_Collect = "更方便：'),
     "Task_Collect: removal reason '更方便：.*' must start with one of 电子证照"),
    (GOOD.replace("statutory_workdays = 3\n", ""), "statutory_basis without statutory_workdays"),
])
def test_bad_manifest(tmp_path, text, message):
    (tmp_path / "processes").mkdir()
    (tmp_path / "processes" / "X.toml").write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match=message) as err:
        catalog.load_catalog(tmp_path / "processes")
    assert str(err.value).startswith(str(tmp_path / "processes" / "X.toml"))
    assert "\n" not in str(err.value)


def test_bad_manifest_is_one_line_from_the_cli(tmp_path):
    (tmp_path / "processes").mkdir()
    (tmp_path / "processes" / "X.toml").write_text(GOOD.replace("第十九条", "第N条"), encoding="utf-8")
    cli = CliHarness(f"sqlite:///{tmp_path / 'c.db'}")
    cli.ok("init")
    cli.ok("user add 设计 --role designer")
    r = cli(["catalog", "load", str(tmp_path / "processes")], user="设计")
    assert r.exit_code != 0 and r.stderr.strip().count("\n") == 0 and "statutory_basis" in r.stderr and "X.toml:" in r.stderr


@pytest.mark.parametrize("code, old, new, message", [
    ("QYSLDJ", 'Task_Collect = "电子证照：电子营业执照即时签发，纸质执照免费邮寄"\n', "",
     "the after model removes 3 of 3 trips: [removed_trips] must say what removed each (2 given)"),
    ("XSELH", 'Task_Collect = "新生儿户口页须打印在户口簿原件上并核验原件"\n', "",
     "onsite step Task_Collect of the after model needs a reason in [kept_trips]"),
    ("QYSLDJ", 'id_card = "数据共享：实名认证(人脸识别)核验公安身份信息"\n', "",
     "material id_card is no longer asked for: [removed_materials] must say what removed it"),
    ("XSELH", "[removed_materials]\n", '[removed_materials]\nid_card = "数据共享：x"\n',
     "[removed_materials] id_card is not a material the after model stopped asking for"),
])
def test_load_refuses_an_account_the_models_contradict(tmp_path, code, old, new, message):
    """catalog load checks each manifest's kept and removed trips and materials against its models."""
    (tmp_path / "processes").mkdir()
    (tmp_path / "bpmn").mkdir()
    text = (ROOT / "processes" / f"{code}.toml").read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "processes" / f"{code}.toml").write_text(text.replace(old, new), encoding="utf-8")
    for label in ("before", "after"):
        name = f"{code}.{label}.bpmn"
        (tmp_path / "bpmn" / name).write_bytes((ROOT / "bpmn" / name).read_bytes())
    cli = CliHarness(f"sqlite:///{tmp_path / 'c.db'}")
    cli.ok("init")
    cli.ok("user add 设计 --role designer")
    r = cli(["catalog", "load", str(tmp_path / "processes")], user="设计")
    assert r.exit_code != 0 and r.stderr.strip().count("\n") == 0, r.stderr
    assert f"{code}.toml:" in r.stderr and message in r.stderr, r.stderr
    assert cli.json("catalog list") == []                        # nothing half-loaded


def test_generator_check_reports_a_stale_file(tmp_path):
    """--check is not vacuous: a hand-edited model is reported stale, and regenerating restores it."""
    import shutil
    for folder in ("tools", "engine", "processes", "bpmn"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    model = tmp_path / "bpmn" / "JHDJ.after.bpmn"
    original = model.read_bytes()
    model.write_bytes(original.replace(b'value="true"', b'value="false"', 1))
    run = [sys.executable, "tools/catalog_gen.py"]
    check = subprocess.run(run + ["--check"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert check.returncode == 1 and check.stdout == "stale: bpmn/JHDJ.after.bpmn\n"
    subprocess.run(run, cwd=tmp_path, check=True, capture_output=True, timeout=300)
    assert model.read_bytes() == original

"""Roles and departments: every refusal is one clear line and a non-zero exit."""
from __future__ import annotations

import pytest

from onetrip_testing import setup_people


@pytest.fixture
def people(sqlite_cli, sample_bpmn):
    setup_people(sqlite_cli)
    sqlite_cli.ok("user add 陈改革 --role reformer", user="admin")
    sqlite_cli.ok(f"process upload {sample_bpmn} --label after", user="李设计")
    return sqlite_cli


@pytest.mark.parametrize("args, user, message", [
    ("process upload {sample} --label before", "陈改革", "陈改革 is a reformer; only designers or admins may upload"),
    ("process upload {sample} --label before", "王窗口", "王窗口 is a clerk; only designers or admins may upload"),
    ("user add 新人 --role clerk --department 公安局", "王窗口", "王窗口 is a clerk; only admins may add users"),
    ("user add 新人 --role clerk --department 公安局", None, "no acting user: pass --as NAME or set ONETRIP_USER"),
    ("case start JZZSAMPLE", "陈改革", "陈改革 is a reformer; only clerks or admins may start cases"),
    ("case start JZZSAMPLE", "李设计", "李设计 is a designer; only clerks or admins may start cases"),
    ("task list", "陈改革", "陈改革 is not a clerk; only clerks have tasks"),
    ("task complete 1.1", "admin", "admin is an admin; only clerks may complete tasks"),
    ("task list", "无名", "unknown user '无名': an admin adds users with `onetrip user add`"),
    ("calendar import {sample}", "王窗口", "only admins may import holiday calendars"),
    ("audit verify", "李设计", "only admins or reformers may verify the audit trail"),
])
def test_refusals(people, sample_bpmn, args, user, message):
    people.ok("case start JZZSAMPLE", user="王窗口")
    r = people(args.format(sample=sample_bpmn), user=user)
    assert r.exit_code == 1, r.stdout
    assert r.stderr.count("\n") == 1 and message in r.stderr


def test_user_add_is_open_until_an_admin_exists(sqlite_cli):
    sqlite_cli.ok("init")
    sqlite_cli.ok("user add 设计 --role designer")               # no admin yet: open
    sqlite_cli.ok("user add 管理 --role admin")
    r = sqlite_cli("user add 另一个 --role designer")
    assert r.exit_code == 1 and "no acting user" in r.stderr
    sqlite_cli.ok("user add 另一个 --role designer", user="管理")
    r = sqlite_cli("user add 另一个 --role designer", user="管理")
    assert r.exit_code == 1 and "user '另一个' already exists" in r.stderr
    r = sqlite_cli("user add 窗口 --role clerk", user="管理")
    assert r.exit_code == 1 and "a clerk needs --department" in r.stderr


def test_reformer_reads(people):
    people.ok("case start JZZSAMPLE", user="王窗口")
    assert people.json("case list", user="陈改革")[0]["matter_code"] == "JZZSAMPLE"
    assert people.ok("compare --stored", user="陈改革").stdout
    assert people.json("task list --all", user="陈改革")[0]["name"] == "受理"


def test_descriptive_model_is_stored_for_analysis_only(people, sample_bpmn, tmp_path):
    text = sample_bpmn.read_text(encoding="utf-8").replace(' default="Flow_OK"', "") \
        .replace("JZZSAMPLE", "DESCR")
    path = tmp_path / "descriptive.bpmn"
    path.write_text(text, encoding="utf-8")
    refused = people(f"process upload {path} --label before", user="李设计")
    assert refused.exit_code == 1 and "Flow_OK: flow out of gateway" in refused.stderr
    stored = people.json(f"process upload {path} --label before --descriptive", user="李设计")
    assert stored["executable"] is False
    shown = people.json(f"process show {stored['id']}")
    assert shown["metrics"]["steps"] == 4 and "Flow_OK" in shown["problems"][0]
    r = people("case start DESCR", user="王窗口")
    assert r.exit_code == 1
    assert f"version {stored['id']} of DESCR is stored for analysis only and cannot run" in r.stderr
    assert "Flow_OK" in r.stderr


@pytest.mark.parametrize("user, message", [(None, "no acting user"),
                                           ("王窗口", "王窗口 is a clerk; only admins may run the worker")])
def test_worker_is_run_by_an_admin(sample_office, user, message):
    r = sample_office("worker --once", user=user)
    assert r.exit_code == 1 and message in r.stderr

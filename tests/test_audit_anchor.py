"""The audit trail anchored outside the database: state digests in the chain, signed checkpoints.

Each test plays a database writer who knows the hashing scheme (it recomputes the chain with
engine.audit's own functions) but does not hold the signing key.  Every rewrite listed in issue 12
is made on SQLite and on PostgreSQL and must be found against a checkpoint taken before it, and,
where the state digests allow, by a plain `audit verify` too.
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, select, update

from engine import audit
from engine.store import Case, CaseTask, TaskEvent, WorkItem
from onetrip_testing import CLERKS, POLICE, WINDOW, finish_case, setup_people

EVENTS = TaskEvent.__table__


@pytest.fixture
def office(cli, sample_bpmn, tmp_path):
    """Case 1 completed (a reviewer's 意见 不同意 on the way), case 2 open with a police task ready; a key."""
    setup_people(cli)
    cli.ok("user add 审计 --role reformer", user="admin")
    cli.ok(f"process upload {sample_bpmn} --label after", user="李设计")
    first = cli.json("case start JZZSAMPLE", user="王窗口")["id"]
    finish_case(cli, first, lambda step: ["--data", "意见=不同意"] if step == 1 else [])
    second = cli.json("case start JZZSAMPLE", user="王窗口")["id"]
    for _ in range(6):
        tasks = cli.json(["task", "list", "--all", "--case", str(second)])
        if tasks[0]["lane"] == POLICE:
            break
        cli.ok(["task", "complete", tasks[0]["id"]], user="王窗口")
    key = str(tmp_path / "audit.key")
    cli.ok(["audit", "keygen", key])
    return cli, first, second, key


def _engine(cli):
    return create_engine(cli.db_url)


def _rechain(conn, case_id):
    """What a writer who knows the scheme does: recompute the case's chain and its recorded head."""
    prev = None
    rows = conn.execute(select(EVENTS).where(EVENTS.c.case_id == case_id).order_by(EVENTS.c.seq)).all()
    for row in rows:
        ev = dict(row._mapping)
        h = audit.event_hash(prev, ev)
        conn.execute(update(EVENTS).where(EVENTS.c.id == ev["id"]).values(prev_hash=prev, hash=h))
        prev = h
    conn.execute(update(Case.__table__).where(Case.__table__.c.id == case_id)
                 .values(event_seq=len(rows), last_hash=prev))


def edit_event(conn, first, second):
    """Edit an event's data and actor, recompute the chain."""
    conn.execute(update(EVENTS).where(EVENTS.c.case_id == first, EVENTS.c.seq == 3)
                 .values(actor="冒名", data={"意见": "同意"}))
    _rechain(conn, first)
    return first


def delete_last_event(conn, first, second):
    """Delete the open case's last event and fix the counters."""
    last = conn.execute(select(EVENTS).where(EVENTS.c.case_id == second).order_by(EVENTS.c.seq.desc())).first()
    conn.execute(delete(EVENTS).where(EVENTS.c.id == last.id))
    cases = Case.__table__
    conn.execute(update(cases).where(cases.c.id == second)
                 .values(steps_done=cases.c.steps_done - int(last.step),
                         trips=cases.c.trips - int(last.onsite)))
    _rechain(conn, second)
    return second


def delete_all_events(conn, first, second):
    conn.execute(delete(EVENTS).where(EVENTS.c.case_id == first))
    conn.execute(update(Case.__table__).where(Case.__table__.c.id == first)
                 .values(event_seq=0, last_hash=None, steps_done=0, trips=0, returns=0, materials_submitted=0))
    return first


def delete_case(conn, first, second):
    for table in (EVENTS, CaseTask.__table__, WorkItem.__table__):
        conn.execute(delete(table).where(table.c.case_id == first))
    conn.execute(delete(Case.__table__).where(Case.__table__.c.id == first))
    return first


def forge_completion(conn, first, second):
    """Append a completion of the open case's police task, chained and counted like a real one."""
    item = conn.execute(select(WorkItem.__table__).where(WorkItem.__table__.c.case_id == second)).first()
    last = conn.execute(select(EVENTS).where(EVENTS.c.case_id == second).order_by(EVENTS.c.seq.desc())).first()
    ev = {"case_id": second, "seq": last.seq + 1, "task_ref": f"{second}.{item.seq}", "task_uuid": item.task_uuid,
          "task_name": item.spec_name, "name": item.name, "lane": item.lane, "actor": "赵警官",
          "action": "complete", "onsite": False, "step": True, "clock_stop": False, "materials": 0,
          "data": {"意见": "同意"}, "ready_at": item.ready_at, "at": last.at, "writes": None}
    ev["prev_hash"] = last.hash
    ev["hash"] = audit.event_hash(last.hash, ev)
    conn.execute(EVENTS.insert().values(**ev))
    cases = Case.__table__
    conn.execute(update(cases).where(cases.c.id == second)
                 .values(event_seq=ev["seq"], last_hash=ev["hash"], steps_done=cases.c.steps_done + 1))
    return second


def rewrite_opinion(conn, first, second):
    """case_tasks: the reviewer's 意见 不同意 becomes 同意."""
    tasks = CaseTask.__table__
    rows = conn.execute(select(tasks.c.task_id, tasks.c.body).where(tasks.c.case_id == first)).all()
    changed = [r for r in rows if "不同意" in r.body]
    assert changed, "the fixture's opinion is stored in case_tasks"
    for r in changed:
        conn.execute(update(tasks).where(tasks.c.case_id == first, tasks.c.task_id == r.task_id)
                     .values(body=r.body.replace("不同意", "同意")))
    return first


def rewrite_lane(conn, first, second):
    """work_items: the police task handed to the window clerk's lane."""
    items = WorkItem.__table__
    assert conn.execute(update(items).where(items.c.case_id == second, items.c.lane == POLICE)
                        .values(lane=WINDOW)).rowcount == 1
    return second


# (rewrite, what verify says against a checkpoint, what plain verify says or None where it cannot know)
REWRITES = [
    (edit_event, "event 3: rewritten since the checkpoint", None),
    (delete_last_event, "deleted since the checkpoint", "behind the application's back"),
    (delete_all_events, "event 1: deleted since the checkpoint", "has no events"),
    (delete_case, "deleted since the checkpoint of", None),
    (forge_completion, "a complete that wrote no task state", "a complete that wrote no task state"),
    (rewrite_opinion, "were rewritten behind the application's back", "case_tasks row"),
    (rewrite_lane, f"lane {WINDOW}) was changed after event", f"lane {WINDOW}) was changed after event"),
]


def _tamper(cli, first, second, rewrite):
    eng = _engine(cli)
    with eng.begin() as conn:
        case = rewrite(conn, first, second)
    eng.dispose()
    return case


def test_clean_database_verifies_clean_with_and_without_checkpoint(office, tmp_path):
    cli, first, second, key = office
    assert cli.ok("audit verify", user="审计").stdout.startswith("ok: ")
    cp = str(tmp_path / "cp.json")
    r = cli.ok(["audit", "checkpoint", cp, "--key", key], user="admin")
    assert "of 2 cases, signed by key" in r.stdout
    r = cli.ok(["audit", "verify", "--checkpoint", cp, "--pubkey", key + ".pub"], user="审计")
    assert "matches the checkpoint" in r.stdout and "0 events appended since" in r.stdout
    # The office keeps working after the checkpoint: new steps are appended, not findings.
    task = cli.json(["task", "list", "--all", "--case", str(second)])[0]
    cli.ok(["task", "complete", task["id"]], user=CLERKS[task["lane"]])
    third = cli.json("case start JZZSAMPLE", user="王窗口")["id"]
    r = cli.json(["audit", "verify", "--checkpoint", cp, "--pubkey", key + ".pub"], user="审计")
    assert r["ok"] is True and r["findings"] == [] and r["checkpoint"]["appended_events"] >= 1
    assert r["cases"] == 3 and third == 3
    # Cancelling removes the case's ready tasks: recorded, so still clean; one case checked alone too.
    cli.ok(["case", "cancel", str(third), "--reason", "申请人撤回"], user="admin")
    r = cli.json(["audit", "verify", str(second), "--checkpoint", cp, "--pubkey", key + ".pub"], user="审计")
    assert r["ok"] is True and r["cases"] == 1
    assert cli.ok("audit verify", user="审计").stdout.startswith("ok: ")
    cp2 = str(tmp_path / "cp2.json")
    cli.ok(["audit", "checkpoint", cp2, "--key", key], user="admin")
    eng = _engine(cli)
    with eng.begin() as conn:
        conn.execute(WorkItem.__table__.insert().values(
            case_id=third, seq=99, task_uuid="00000000-0000-0000-0000-000000000099", spec_name="Review",
            name="审核", lane=WINDOW, props={}, ready_at=conn.execute(select(Case.accepted_at)).scalar()))
    eng.dispose()
    r = cli("audit verify", user="审计")
    assert r.exit_code == 1 and f"case {third}: work item {third}.99 (审核, lane {WINDOW}) was written by no event" \
        in r.stderr
    # Every step's first event carries what it wrote.
    eng = _engine(cli)
    with eng.connect() as conn:
        actions = conn.execute(select(EVENTS.c.action, EVENTS.c.writes).order_by(EVENTS.c.id)).all()
    eng.dispose()
    assert all(w and "t" in w for a, w in actions if a in ("start", "complete"))


@pytest.mark.parametrize("rewrite, against_checkpoint, plain", REWRITES, ids=[r[0].__name__ for r in REWRITES])
def test_rewrite_is_found(office, tmp_path, rewrite, against_checkpoint, plain):
    cli, first, second, key = office
    cp = str(tmp_path / "cp.json")
    cli.ok(["audit", "checkpoint", cp, "--key", key], user="admin")
    case = _tamper(cli, first, second, rewrite)

    r = cli(["audit", "verify", "--checkpoint", cp, "--pubkey", key + ".pub"], user="审计")
    assert r.exit_code == 1, r.stdout
    lines = r.stderr.strip().splitlines()
    assert any(line.startswith(f"case {case}") and against_checkpoint in line for line in lines), lines
    assert all(line.startswith("case ") for line in lines), lines         # one line per finding
    found = cli(["audit", "verify", "--checkpoint", cp, "--key", key, "--json"], user="审计").json()
    assert found["ok"] is False and any(against_checkpoint in f for f in found["findings"])

    r = cli("audit verify", user="审计")
    if plain is None:        # a writer who recomputes the chain fools a verify with nothing to compare to
        return
    assert r.exit_code == 1
    assert any(line.startswith(f"case {case}") and plain in line for line in r.stderr.splitlines()), r.stderr


def test_appending_to_a_completed_case_is_found_against_the_checkpoint(office, tmp_path):
    cli, first, second, key = office
    cp = str(tmp_path / "cp.json")
    cli.ok(["audit", "checkpoint", cp, "--key", key], user="admin")
    eng = _engine(cli)
    with eng.begin() as conn:
        last = conn.execute(select(EVENTS).where(EVENTS.c.case_id == first).order_by(EVENTS.c.seq.desc())).first()
        ev = {k: v for k, v in last._mapping.items() if k != "id"}
        ev.update(seq=last.seq + 1, action="remind", actor="worker", data={"伪造": True}, prev_hash=last.hash)
        ev["hash"] = audit.event_hash(last.hash, ev)
        conn.execute(EVENTS.insert().values(**ev))
        conn.execute(update(Case.__table__).where(Case.__table__.c.id == first)
                     .values(event_seq=ev["seq"], last_hash=ev["hash"]))
    eng.dispose()
    r = cli(["audit", "verify", "--checkpoint", cp, "--pubkey", key + ".pub"], user="审计")
    assert r.exit_code == 1
    assert f"case {first} event {last.seq + 1}: appended after the case was completed" in r.stderr


def test_state_changed_without_event_is_found_against_checkpoint_even_for_old_events(office, tmp_path):
    """Events from before state digests (writes NULL) verify as before; a checkpoint still anchors
    their state."""
    cli, first, second, key = office
    eng = _engine(cli)
    with eng.begin() as conn:
        conn.execute(update(EVENTS).where(EVENTS.c.case_id == first).values(writes=None))
        _rechain(conn, first)
    eng.dispose()
    assert cli.ok("audit verify", user="审计").stdout.startswith("ok: ")    # old-style events verify
    cp = str(tmp_path / "cp.json")
    cli.ok(["audit", "checkpoint", cp, "--key", key], user="admin")
    _tamper(cli, first, second, rewrite_opinion)
    r = cli(["audit", "verify", "--checkpoint", cp, "--pubkey", key + ".pub"], user="审计")
    assert r.exit_code == 1
    assert f"case {first}: its task states or work items changed since the checkpoint" in r.stderr


# ---------------------------------------------------------------- keys, checkpoints: error paths

def _one_line_error(r, text):
    assert r.exit_code != 0
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and text in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites(sqlite_cli, tmp_path):
    key = tmp_path / "k"
    r = sqlite_cli.json(["audit", "keygen", str(key)])
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert (tmp_path / "k.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert len(r["key_id"]) == 16
    before = key.read_bytes()
    _one_line_error(sqlite_cli(["audit", "keygen", str(key)]), "already exists; refusing to overwrite")
    assert key.read_bytes() == before


def test_checkpoint_and_verify_error_paths(office, tmp_path):
    cli, first, second, key = office
    cp = str(tmp_path / "cp.json")
    _one_line_error(cli(["audit", "checkpoint", cp], user="admin"), "no audit key: give --key FILE")
    assert not os.path.exists(cp)
    _one_line_error(cli(["audit", "checkpoint", cp, "--key", str(tmp_path / "nope")], user="admin"),
                    "no such key file")
    _one_line_error(cli(["audit", "checkpoint", cp, "--key", key + ".pub"], user="admin"),
                    "not an unencrypted Ed25519 private key")
    os.chmod(key, 0o644)
    _one_line_error(cli(["audit", "checkpoint", cp, "--key", key], user="admin"), "readable by other users")
    os.chmod(key, 0o600)
    _one_line_error(cli(["audit", "checkpoint", cp, "--key", key], user="审计"),
                    "only admins may take audit checkpoints")
    cli.env["ONETRIP_AUDIT_KEY"] = key                   # the key's path from the settings
    cli.ok(["audit", "checkpoint", cp], user="admin")
    _one_line_error(cli(["audit", "checkpoint", cp], user="admin"), "refusing to overwrite a checkpoint")
    del cli.env["ONETRIP_AUDIT_KEY"]

    # Verifying needs the key that signed it; another key is refused in one line.
    other = str(tmp_path / "other.key")
    cli.ok(["audit", "keygen", other])
    _one_line_error(cli(["audit", "verify", "--checkpoint", cp, "--pubkey", other + ".pub"], user="审计"),
                    "signature does not verify with key")
    _one_line_error(cli(["audit", "verify", "--checkpoint", cp], user="审计"), "no audit key")

    # A writer without the key cannot make a checkpoint that verifies: change a head, or re-sign with
    # their own key.
    body = json.loads(open(cp, encoding="utf-8").read())
    body["cases"][0]["events"] -= 1
    body["cases"][0]["contents"].pop()
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    _one_line_error(cli(["audit", "verify", "--checkpoint", str(forged), "--pubkey", key + ".pub"], user="审计"),
                    "signature does not verify")
    resigned = str(tmp_path / "resigned.json")
    audit.write_checkpoint(resigned, audit.load_private_key(other), body["cases"], body["created_at"])
    _one_line_error(cli(["audit", "verify", "--checkpoint", resigned, "--pubkey", key + ".pub"], user="审计"),
                    "signature does not verify")

    # A damaged or foreign file, a missing file.
    damaged = tmp_path / "damaged.json"
    damaged.write_bytes(open(cp, "rb").read()[:-40])
    for path, text in ((damaged, "not an onetrip audit checkpoint"), (tmp_path / "none.json", "no such checkpoint"),
                       (tmp_path / "k.pub", None)):
        if text is None:
            path.write_text('{"format": "something else"}')
            text = "not an onetrip audit checkpoint"
        _one_line_error(cli(["audit", "verify", "--checkpoint", str(path), "--key", key], user="审计"), text)


def test_a_database_from_before_state_digests_is_upgraded_by_init(db_url):
    """Schema 0001 (no task_events.writes): refused with one line until `onetrip init` upgrades it."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect
    from engine import store
    from onetrip_testing import CliHarness

    cli = CliHarness(db_url)
    cli.ok("init")
    eng = store.make_engine(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(store.__file__).parent / "migrations"))
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    assert "writes" not in {c["name"] for c in inspect(eng).get_columns("task_events")}
    _one_line_error(cli("user list"), f"this onetrip needs {store.SCHEMA_REVISION}: run `onetrip init` to upgrade")
    cli.ok("init")
    assert "writes" in {c["name"] for c in inspect(eng).get_columns("task_events")}
    eng.dispose()
    cli.ok("user add admin --role admin")
    assert cli.ok("audit verify", user="admin").stdout.startswith("ok: 0 events of 0 cases")


def test_a_trail_with_findings_is_checkpointed_only_when_accepted(office, tmp_path):
    cli, first, second, key = office
    _tamper(cli, first, second, rewrite_lane)
    cp = str(tmp_path / "cp.json")
    _one_line_error(cli(["audit", "checkpoint", cp, "--key", key], user="admin"), "no checkpoint was written")
    assert not os.path.exists(cp)
    r = cli.ok(["audit", "checkpoint", cp, "--key", key, "--accept-findings"], user="admin")
    assert r.stderr.startswith(f"accepted: case {second}: work item")
    assert json.loads(open(cp, encoding="utf-8").read())["accepted_findings"]
    r = cli(["audit", "verify", "--checkpoint", cp, "--pubkey", key + ".pub"], user="审计")
    assert r.exit_code == 1 and f"case {second}: work item" in r.stderr      # still a finding, not forgotten

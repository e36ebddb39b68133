"""Tamper-evident audit trail: the task events of a case form a hash chain.

Each event's hash covers the previous event's hash and the event's own
content (canonical JSON), so changing, inserting or deleting a row breaks
the chain from that row on.  Events are only ever inserted.

The first event of every step also carries ``writes``: a digest of the state
the step wrote (a hash of each ``case_tasks`` row it upserted, the ids it
deleted, a hash of each work item it made ready — lane included — and the
items it removed).  Replaying the writes of a case's events gives what its
rows must hold, so a rewrite of ``case_tasks`` or of ``work_items.lane``
breaks verification.  Events recorded before digests existed carry none and
verify as before.

A database writer can still recompute every hash.  What anchors the chain is a
**checkpoint**: the heads of every case (event count, chain head, a digest of
its state, a hash of each event's content) signed with an Ed25519 key that is
kept outside the database.  Verifying against a checkpoint finds every event
rewritten, deleted or appended to a closed case since, every case deleted, and
every state changed with no event recording it.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import ConfigError, InvalidInput

if TYPE_CHECKING:       # annotations only: the ORM's model classes load when a method needs them
    from .store import TaskEvent

HASHED_FIELDS = ("case_id", "seq", "task_ref", "task_uuid", "task_name", "name", "lane", "actor",
                 "action", "onsite", "step", "clock_stop", "materials", "data", "ready_at", "at")

#: The writes of an event that removed every work item of its case (a cancelled case).
CLEARED_ITEMS = {"c": True}
CHECKPOINT_FORMAT = "onetrip-audit-checkpoint"
CHECKPOINT_VERSION = 1
CLOSED = ("completed", "cancelled")
#: Actions that always come with written task state (a step's first event).
STEP_ACTIONS = ("start", "complete", "return")


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _canonical(event) -> str:
    """The hashed content of an event (a TaskEvent row, an event dict or any object with its fields)."""
    get = event.get if isinstance(event, dict) else (lambda name: getattr(event, name, None))
    content = {}
    for name in HASHED_FIELDS:
        value = get(name)
        if hasattr(value, "isoformat"):
            value = value.isoformat(timespec="seconds")
        content[name] = value
    writes = get("writes")
    if writes is not None:                       # events from before state digests hash as they did
        content["writes"] = writes
    return _dumps(content)


def _chain(prev_hash: str | None, canonical: str) -> str:
    h = hashlib.sha256()
    h.update((prev_hash or "").encode())
    h.update(b"\n")
    h.update(canonical.encode("utf-8"))
    return h.hexdigest()


def event_hash(prev_hash: str | None, event) -> str:
    return _chain(prev_hash, _canonical(event))


def content_hash(canonical: str) -> str:
    """An event's own content, independent of the chain (a checkpoint keeps one per event)."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def seal(event, prev_hash: str | None) -> None:
    event.prev_hash = prev_hash
    event.hash = event_hash(prev_hash, event)


# ---------------------------------------------------------------- what a step wrote

def task_row_hash(workflow: str, pos: int, body: str) -> str:
    h = hashlib.sha256(f"{workflow}\x1f{pos}\x1f".encode())
    h.update(body.encode("utf-8"))
    return h.hexdigest()[:32]


def item_row_hash(item) -> str:
    """A work item as stored: its reference, task, name, lane (the department that may act), annotations."""
    get = item.get if isinstance(item, dict) else (lambda name: getattr(item, name))
    ready = get("ready_at")
    text = _dumps([get("seq"), get("spec_name"), get("name"), get("lane"), get("props") or {},
                   ready.isoformat(timespec="seconds") if hasattr(ready, "isoformat") else ready])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def step_writes(upserts, deletes, new_items, gone) -> dict | None:
    """The digest of what one step writes (None when it writes no task row and no work item)."""
    if not (upserts or deletes or new_items or gone):
        return None
    writes = {}
    if upserts:
        writes["t"] = {tid: task_row_hash(wkey, pos, body) for tid, wkey, pos, body in upserts}
    if deletes:
        writes["x"] = list(deletes)
    if new_items:
        writes["i"] = {item["task_uuid"]: item_row_hash(item) for item in new_items}
    if gone:
        writes["g"] = list(gone)
    return writes


def seal_events(events: list[dict], prev_hash: str | None, writes: dict | None) -> str | None:
    """Seal a step's events (not yet stored) after ``prev_hash``, the first carrying the step's
    ``writes``; return the new chain head."""
    if writes is not None:
        events[0]["writes"] = writes
    prev = prev_hash
    for ev in events:
        ev["prev_hash"] = prev
        ev["hash"] = prev = event_hash(prev, ev)
    return prev


# ---------------------------------------------------------------- verification

@dataclass
class AuditFinding:
    case_id: int
    seq: int | None
    message: str

    def __str__(self) -> str:
        where = f"case {self.case_id}" + (f" event {self.seq}" if self.seq is not None else "")
        return f"{where}: {self.message}"


def load_events(session: Session, case_id: int) -> list[TaskEvent]:
    from .store import TaskEvent
    return session.scalars(select(TaskEvent).where(TaskEvent.case_id == case_id).order_by(TaskEvent.seq)).all()


def check_chain(case_id: int, events, expected_count: int | None = None, expected_head: str | None = None,
                contents: dict | None = None) -> list[AuditFinding]:
    """Check one case's chain against the case's own event counter and recorded chain head.

    ``contents``, when given, receives each event's content hash by seq (for checkpoints)."""
    findings: list[AuditFinding] = []
    prev = None
    expected_seq = 1
    for ev in events:
        if ev.seq != expected_seq:
            findings.append(AuditFinding(case_id, ev.seq, f"expected event {expected_seq}: "
                                                          f"an event was deleted or inserted"))
            expected_seq = ev.seq
        if ev.prev_hash != prev:
            findings.append(AuditFinding(case_id, ev.seq, "chain broken: previous hash does not match "
                                                          "(an earlier event was changed, inserted or deleted)"))
        canonical = _canonical(ev)
        if ev.hash != _chain(ev.prev_hash, canonical):
            findings.append(AuditFinding(case_id, ev.seq, "content changed after it was recorded"))
        if contents is not None:
            contents[ev.seq] = content_hash(canonical)
        prev = ev.hash
        expected_seq += 1
    if expected_count is not None and len(events) and events[-1].seq != expected_count:
        findings.append(AuditFinding(case_id, None, f"case recorded {expected_count} events, "
                                                    f"the trail ends at {events[-1].seq}: events were deleted"))
    elif expected_count and not events:
        findings.append(AuditFinding(case_id, None, f"case recorded {expected_count} events, none are left"))
    elif not events:                    # every case begins with its start event
        findings.append(AuditFinding(case_id, None, "has no events: its trail was deleted"))
    if not findings and expected_head is not None and prev != expected_head:
        findings.append(AuditFinding(case_id, None, "the last event does not match the case's recorded "
                                                    "chain head: events were removed"))
    return findings


def verify_case(session: Session, case_id: int, expected_count: int | None = None,
                expected_head: str | None = None) -> list[AuditFinding]:
    """Check one case's chain and the state its events say it wrote."""
    events = load_events(session, case_id)
    findings = check_chain(case_id, events, expected_count, expected_head)
    findings += check_state(session, case_id, events)[0]
    return findings


def _replay(case_id: int, events, findings: list) -> tuple[dict, dict, bool, bool]:
    """What the case's rows must hold after its events: id -> (row hash or None if removed, seq)."""
    tasks: dict[str, tuple] = {}
    items: dict[str, tuple] = {}
    tasks_full = items_full = bool(events) and events[0].seq == 1 and events[0].writes is not None
    for ev in events:
        w = ev.writes
        if w is None:
            if tasks_full and ev.action in STEP_ACTIONS:
                findings.append(AuditFinding(case_id, ev.seq, f"a {ev.action} that wrote no task state: "
                                                              f"no step recorded it"))
            continue
        try:
            for tid, h in (w.get("t") or {}).items():
                tasks[tid] = (h, ev.seq)
            for tid in w.get("x") or ():
                tasks[tid] = (None, ev.seq)
            if w.get("c"):
                items = {uuid: (None, ev.seq) for uuid in items}
                items_full = True
            for uuid, h in (w.get("i") or {}).items():
                items[uuid] = (h, ev.seq)
            for uuid in w.get("g") or ():
                items[uuid] = (None, ev.seq)
        except (AttributeError, TypeError, ValueError):
            findings.append(AuditFinding(case_id, ev.seq, "its record of the state it wrote is malformed"))
    return tasks, items, tasks_full, items_full


def _compare(case_id: int, what: str, expected: dict, rows: dict, full: bool, label, findings: list) -> None:
    for key, (h, name) in sorted(rows.items()):
        want = expected.get(key)
        if want is None:
            if full:
                findings.append(AuditFinding(case_id, None, f"{label(key, name)} was written by no event: "
                                                            f"{what} were changed behind the application's back"))
        elif want[0] is None:
            findings.append(AuditFinding(case_id, None, f"{label(key, name)} is present, but event {want[1]} "
                                                        f"removed it: {what} were changed behind the "
                                                        f"application's back"))
        elif want[0] != h:
            findings.append(AuditFinding(case_id, None, f"{label(key, name)} was changed after event {want[1]} "
                                                        f"wrote it: {what} were rewritten behind the "
                                                        f"application's back"))
    for key, (h, seq) in sorted(expected.items()):
        if h is not None and key not in rows:
            findings.append(AuditFinding(case_id, None, f"{label(key, None)} written by event {seq} is missing: "
                                                        f"{what} were deleted behind the application's back"))


def check_state(session: Session, case_id: int, events) -> tuple[list[AuditFinding], str]:
    """Compare the case's ``case_tasks`` and ``work_items`` with what its events say they wrote;
    return the findings and the digest of the state as stored."""
    from .store import CaseTask, WorkItem
    findings: list[AuditFinding] = []
    conn = session.connection()
    tasks = {tid: (task_row_hash(wkey, pos, body), None) for tid, wkey, pos, body in conn.execute(
        select(CaseTask.task_id, CaseTask.workflow, CaseTask.pos, CaseTask.body).where(CaseTask.case_id == case_id))}
    items = {}
    for row in conn.execute(select(WorkItem.task_uuid, WorkItem.seq, WorkItem.spec_name, WorkItem.name,
                                   WorkItem.lane, WorkItem.props, WorkItem.ready_at)
                            .where(WorkItem.case_id == case_id)):
        items[row.task_uuid] = (item_row_hash(row._mapping), (row.seq, row.name, row.lane))
    digest = hashlib.sha256()
    for tid, (h, _) in sorted(tasks.items()):
        digest.update(f"t {tid} {h}\n".encode())
    for uuid, (h, _) in sorted(items.items()):
        digest.update(f"i {uuid} {h}\n".encode())
    want_tasks, want_items, tasks_full, items_full = _replay(case_id, events, findings)

    def task_label(tid, _):
        return f"case_tasks row {tid}"

    def item_label(uuid, found):
        if found is None:
            return f"work item of task {uuid}"
        seq, name, lane = found
        return f"work item {case_id}.{seq} ({name}, lane {lane or '-'})"

    _compare(case_id, "the case's task states", want_tasks, tasks, tasks_full, task_label, findings)
    _compare(case_id, "the case's work items", want_items, items, items_full, item_label, findings)
    return findings, digest.hexdigest()


def case_summary(case_id: int, status: str, events, contents: dict, state_digest: str) -> dict:
    """A case's head as a checkpoint keeps it."""
    return {"case": case_id, "status": status, "events": len(events),
            "head": events[-1].hash if events else None, "state": state_digest,
            "contents": [contents[ev.seq] for ev in events]}


# ---------------------------------------------------------------- keys and checkpoints

def _crypto():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    return serialization, ed25519


def key_id(public_key) -> str:
    serialization, _ = _crypto()
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def keygen(path: str) -> dict:
    """Write a new Ed25519 private key (PEM, mode 0600) to ``path`` and its public key to ``path.pub``."""
    serialization, ed25519 = _crypto()
    pub_path = path + ".pub"
    for p in (path, pub_path):
        if os.path.lexists(p):
            raise ConfigError(f"{p} already exists; refusing to overwrite a key (choose another file name)")
    key = ed25519.Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    written = []
    try:
        for p, data, mode in ((path, private_pem, 0o600), (pub_path, public_pem, 0o644)):
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            written.append(p)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
    except OSError as exc:
        for p in written:
            os.unlink(p)
        raise ConfigError(f"{exc.filename or path}: cannot write the key: {exc.strerror}") from None
    return {"key": path, "public_key": pub_path, "key_id": key_id(key.public_key())}


def _read_key_file(path: str | None, what: str) -> bytes:
    if not path:
        raise ConfigError(f"no audit key: give {what} FILE or set ONETRIP_AUDIT_KEY "
                          f"(create one with `onetrip audit keygen FILE`)")
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such key file (create one with `onetrip audit keygen FILE`)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the key: {exc.strerror}") from None


def load_private_key(path: str | None):
    serialization, ed25519 = _crypto()
    data = _read_key_file(path, "--key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ConfigError(f"{path}: not an unencrypted Ed25519 private key in PEM form") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ConfigError(f"{path}: not an Ed25519 private key")
    if os.name == "posix" and os.stat(path).st_mode & 0o077:
        raise ConfigError(f"{path}: the private key is readable by other users; `chmod 600 {path}` first")
    return key


def load_public_key(pubkey: str | None = None, key: str | None = None):
    """The public key to check a checkpoint with: from ``pubkey`` (PEM public key) or a private ``key``."""
    if not pubkey:
        return load_private_key(key).public_key()
    serialization, ed25519 = _crypto()
    data = _read_key_file(pubkey, "--pubkey")
    try:
        public = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        try:
            public = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError):
            raise ConfigError(f"{pubkey}: not an Ed25519 public key in PEM form") from None
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise ConfigError(f"{pubkey}: not an Ed25519 public key")
    return public


def _signed_bytes(body: dict) -> bytes:
    return _dumps({k: v for k, v in body.items() if k != "signature"}).encode("utf-8")


def write_checkpoint(path: str, private_key, cases: list[dict], created_at: str,
                     findings: list[str] | None = None) -> dict:
    """Sign the heads of ``cases`` (and the findings accepted with them) and write them to ``path``
    (never overwriting a file)."""
    body = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "created_at": created_at,
            "key_id": key_id(private_key.public_key()), "cases": cases, "accepted_findings": findings or []}
    body["signature"] = private_key.sign(_signed_bytes(body)).hex()
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise ConfigError(f"{path} already exists; refusing to overwrite a checkpoint "
                          f"(choose a new file name, e.g. with the date)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the checkpoint: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        os.unlink(path)
        raise ConfigError(f"{path}: cannot write the checkpoint: {exc.strerror}; nothing was written") from None
    return body


def read_checkpoint(path: str, public_key) -> dict:
    """A checkpoint file whose signature verifies with ``public_key``; one-line errors otherwise."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such checkpoint file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the checkpoint: {exc.strerror}") from None
    try:
        body = json.loads(raw)
        if not isinstance(body, dict) or body.get("format") != CHECKPOINT_FORMAT:
            raise ValueError("not a checkpoint")
        if body.get("version") != CHECKPOINT_VERSION:
            raise InvalidInput(f"{path}: checkpoint version {body.get('version')!r} is not known to this "
                               f"onetrip")
        signature = bytes.fromhex(body["signature"])
        for entry in body["cases"]:
            if not (isinstance(entry["case"], int) and isinstance(entry["events"], int)
                    and isinstance(entry["contents"], list) and len(entry["contents"]) == entry["events"]):
                raise ValueError("bad case entry")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InvalidInput(f"{path}: not an onetrip audit checkpoint (damaged or another kind of file); "
                           f"nothing was compared") from None
    from cryptography.exceptions import InvalidSignature
    try:
        public_key.verify(signature, _signed_bytes(body))
    except InvalidSignature:
        raise InvalidInput(f"{path}: the checkpoint's signature does not verify with key {key_id(public_key)} "
                           f"(it was altered, or signed with another key); nothing was compared") from None
    return body


def compare_checkpoint(checkpoint: dict, current: dict[int, dict], only: int | None = None
                       ) -> tuple[list[AuditFinding], int]:
    """Findings of the database's cases (``current``: case id -> its summary, ``by_seq`` its content hashes)
    against a verified checkpoint; and how many events were appended since, on open cases."""
    findings: list[AuditFinding] = []
    appended = 0
    known = set()
    for entry in checkpoint["cases"]:
        cid, count = entry["case"], entry["events"]
        if only is not None and cid != only:
            continue
        known.add(cid)
        cur = current.get(cid)
        if cur is None:
            findings.append(AuditFinding(cid, None, f"deleted since the checkpoint of {checkpoint['created_at']} "
                                                    f"(it had {count} events)"))
            continue
        contents, before = cur["by_seq"], len(findings)
        for seq, expected in enumerate(entry["contents"], start=1):
            if seq not in contents:
                findings.append(AuditFinding(cid, seq, "deleted since the checkpoint"))
            elif contents[seq] != expected:
                findings.append(AuditFinding(cid, seq, "rewritten since the checkpoint"))
        if len(findings) == before and count and cur["heads"].get(count) != entry["head"]:
            findings.append(AuditFinding(cid, None, f"its chain up to event {count} no longer ends in the "
                                                    f"checkpoint's head: the trail was rewritten"))
        later = sorted(seq for seq in contents if seq > count)
        if later and entry["status"] in CLOSED:
            findings.append(AuditFinding(cid, later[0], f"appended after the case was {entry['status']} "
                                                        f"at the checkpoint ({len(later)} events)"))
        elif later:
            appended += len(later)
        if len(findings) == before and not later and cur["state"] != entry["state"]:
            findings.append(AuditFinding(cid, None, "its task states or work items changed since the "
                                                    "checkpoint with no event recording it"))
    newest = max(known, default=0)
    for cid in sorted(current):
        if cid not in known and cid < newest and only is None:
            findings.append(AuditFinding(cid, None, "is older than the checkpoint's newest case but not in "
                                                    "the checkpoint: inserted behind the application's back"))
    return findings, appended

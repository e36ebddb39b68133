"""Tamper-evident audit trail: the task events of a case form a hash chain.

Each event's hash covers the previous event's hash and the event's own
content (canonical JSON), so changing, inserting or deleting a row breaks
the chain from that row on.  Events are only ever inserted.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .store import TaskEvent

HASHED_FIELDS = ("case_id", "seq", "task_ref", "task_uuid", "task_name", "name", "lane", "actor",
                 "action", "onsite", "step", "clock_stop", "materials", "data", "ready_at", "at")


def _canonical(event) -> str:
    """The hashed content of an event (a TaskEvent row or any object with its fields)."""
    content = {}
    for name in HASHED_FIELDS:
        value = getattr(event, name)
        if hasattr(value, "isoformat"):
            value = value.isoformat(timespec="seconds")
        content[name] = value
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def event_hash(prev_hash: str | None, event) -> str:
    h = hashlib.sha256()
    h.update((prev_hash or "").encode())
    h.update(b"\n")
    h.update(_canonical(event).encode("utf-8"))
    return h.hexdigest()


def seal(event, prev_hash: str | None) -> None:
    event.prev_hash = prev_hash
    event.hash = event_hash(prev_hash, event)


@dataclass
class AuditFinding:
    case_id: int
    seq: int | None
    message: str

    def __str__(self) -> str:
        where = f"case {self.case_id}" + (f" event {self.seq}" if self.seq is not None else "")
        return f"{where}: {self.message}"


def verify_case(session: Session, case_id: int, expected_count: int | None = None,
                expected_head: str | None = None) -> list[AuditFinding]:
    """Check one case's chain against the case's own event counter and recorded chain head."""
    findings: list[AuditFinding] = []
    prev = None
    expected_seq = 1
    events = session.scalars(select(TaskEvent).where(TaskEvent.case_id == case_id)
                             .order_by(TaskEvent.seq)).all()
    for ev in events:
        if ev.seq != expected_seq:
            findings.append(AuditFinding(case_id, ev.seq, f"expected event {expected_seq}: "
                                                          f"an event was deleted or inserted"))
            expected_seq = ev.seq
        if ev.prev_hash != prev:
            findings.append(AuditFinding(case_id, ev.seq, "chain broken: previous hash does not match "
                                                          "(an earlier event was changed, inserted or deleted)"))
        if ev.hash != event_hash(ev.prev_hash, ev):
            findings.append(AuditFinding(case_id, ev.seq, "content changed after it was recorded"))
        prev = ev.hash
        expected_seq += 1
    if expected_count is not None and len(events) and events[-1].seq != expected_count:
        findings.append(AuditFinding(case_id, None, f"case recorded {expected_count} events, "
                                                    f"the trail ends at {events[-1].seq}: events were deleted"))
    elif expected_count and not events:
        findings.append(AuditFinding(case_id, None, f"case recorded {expected_count} events, none are left"))
    if not findings and expected_head is not None and prev != expected_head:
        findings.append(AuditFinding(case_id, None, "the last event does not match the case's recorded "
                                                    "chain head: events were removed"))
    return findings

"""The columns the Core-only reads and writes use (``engine.reads``, ``engine.measure``, a step's
``engine.casework``), as lightweight table clauses: names and types only, no ORM;
``tests/test_fast_reads.py`` and ``tests/test_cli_startup.py`` check them against ``engine.store``'s tables."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, String, Text, column, table

USERS = table("users", column("id", Integer), column("name", String), column("role", String),
              column("department_id", Integer))
DEPARTMENTS = table("departments", column("id", Integer), column("name", String))
MATTERS = table("matters", column("id", Integer), column("code", String), column("name", String),
                column("kind", String))
VERSIONS = table("process_versions", column("id", Integer), column("matter_id", Integer), column("label", String),
                 column("process_id", String), column("name", String), column("sha256", String),
                 column("executable", Boolean), column("uploaded_by", Integer), column("uploaded_at", DateTime),
                 column("spec_json", Text), column("activation", Integer), column("metrics", JSON))
CASES = table("cases", column("id", Integer), column("version_id", Integer), column("status", String),
              column("revision", Integer), column("accepted_at", DateTime), column("completed_at", DateTime),
              column("due_date", Date), column("applicant", JSON), column("steps_done", Integer),
              column("trips", Integer), column("returns", Integer), column("materials_submitted", Integer),
              column("paused_workdays", Integer), column("promised_workdays", Integer), column("event_seq", Integer),
              column("task_seq", Integer), column("last_hash", String), column("next_timer_at", DateTime),
              column("reminded_at", DateTime), column("updated_at", DateTime), column("started_by", Integer),
              column("state", Text), column("state_format", String))
EVENTS = table("task_events", column("case_id", Integer), column("seq", Integer), column("task_ref", String),
               column("task_name", String), column("name", String), column("lane", String), column("actor", String),
               column("action", String), column("onsite", Boolean), column("data", JSON), column("at", DateTime),
               column("step", Boolean), column("clock_stop", Boolean), column("materials", Integer),
               column("ready_at", DateTime))
ITEMS = table("work_items", column("case_id", Integer), column("seq", Integer), column("spec_name", String),
              column("name", String), column("lane", String), column("props", JSON), column("ready_at", DateTime),
              column("id", Integer), column("task_uuid", String))
#: every column an event is written with (``EVENTS`` is what the reads select)
EVENT_ROWS = table("task_events", *[column(c.name, c.type) for c in EVENTS.columns], column("task_uuid", String),
                   column("prev_hash", String), column("hash", String), column("writes", JSON))
CALENDAR = table("calendar_days", column("day", Date), column("workday", Boolean), column("seq", Integer))
CONFORMANCE = table("case_conformance", column("case_id", Integer), column("version_id", Integer), column("day", Date),
                    column("status", String), column("event_seq", Integer), column("sync", Integer),
                    column("moves", Integer), column("replay_ok", Boolean), column("promises_ok", Boolean),
                    column("late_after", Integer), column("checked_at", DateTime))
CONFORMANCE_COUNTS = table("conformance_counts", column("version_id", Integer), column("day", Date),
                           column("sync", Integer), column("moves", Integer), column("replay_ok", Boolean),
                           column("promises_ok", Boolean), column("late_after", Integer), column("n", Integer))

"""Who may call what over HTTP, beyond the protocol table (which leaves some reads open to any local user)."""
from __future__ import annotations

from engine.protocol import Operation

#: Roles the server requires beyond the table's.
HTTP_ROLES = {"list_users": ("admin",), "verify_audit": ("admin", "reformer"),
              "simulate": ("reformer", "admin"), "conformance": ("reformer", "admin")}
#: Operations whose task must be in the acting clerk's lane over HTTP although the table has no ``lane``
#: for them (a task's data is the applicant's: another department's clerk does not read it).  The table's
#: ``lane`` operations are refused by the service itself, where it finds the task (no second query here).
HTTP_LANE = frozenset({"show_task"})


def roles_over_http(op: Operation) -> tuple[str, ...]:
    return HTTP_ROLES.get(op.name, op.roles)


def lane_checked_here(op: Operation) -> bool:
    return op.name in HTTP_LANE and not op.lane

"""Who may do what: the four roles and, for each action, the roles allowed to take it.

The one home of the role names and of the role → actions rule; the service checks
against these tuples, the CLI offers :data:`ROLES` as the choices of ``user add --role``,
and the store's ``users.role`` column holds one of them.  A clerk acts further only on
the tasks of its own department's lane (checked where the task is read).
"""
from __future__ import annotations

DESIGNER, CLERK, REFORMER, ADMIN = "designer", "clerk", "reformer", "admin"
ROLES = (DESIGNER, CLERK, REFORMER, ADMIN)

UPLOAD_ROLES = (DESIGNER, ADMIN)        # upload process models, load the catalog
CASE_ROLES = (CLERK, ADMIN)             # start cases
TASK_ROLES = (CLERK,)                   # complete and return tasks (in their own lane)
ADMIN_ROLES = (ADMIN,)                  # users, worker, checkpoints, calendars, cancel, release
AUDIT_ROLES = (ADMIN, REFORMER)         # verify the audit trail

#: action → the roles that may take it (what the service's permission checks say).
ACTIONS: dict[str, tuple[str, ...]] = {
    "add users": ADMIN_ROLES,
    "upload process models": UPLOAD_ROLES,
    "load the catalog": UPLOAD_ROLES,
    "start cases": CASE_ROLES,
    "complete tasks": TASK_ROLES,
    "run the worker": ADMIN_ROLES,
    "verify the audit trail": AUDIT_ROLES,
    "take audit checkpoints": ADMIN_ROLES,
    "import holiday calendars": ADMIN_ROLES,
    "cancel cases": ADMIN_ROLES,
    "release quarantined cases": ADMIN_ROLES,
}


"""Who may do what: the four roles and the groups of them that operations allow.

The one home of the role names and role groups; engine/protocol.py's table gives each
operation one of these groups (the service checks the table), the CLI offers
:data:`ROLES` as the choices of ``user add --role``, and the store's ``users.role`` column holds one of them.  A clerk acts further only on
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

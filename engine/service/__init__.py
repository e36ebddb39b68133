"""The facade: one method per use case, one transaction per method.

Every public operation takes a :class:`~engine.context.Context` (who acts, and the clock) first and
is declared in :data:`engine.protocol.OPERATIONS`.  ``cli.py`` (and ``onetrip serve``) call exactly
one of these per command and print what comes back: JSON-ready records, with the call's one-line
warnings in ``"warnings"``.  Every failure is an :class:`~engine.errors.OnetripError`; a failed method
leaves the database as it was (its transaction is rolled back).

The methods live by capability: :mod:`.cases` (cases and tasks), :mod:`.models` (intake, catalog,
analysis), :mod:`.reports` (measurement and reports), :mod:`.admin` (database, users, worker, audit,
calendar), :mod:`.auth` (passwords and logins), :mod:`.mining` (export, conformance, simulation); :mod:`._base` holds the plumbing.
"""
from __future__ import annotations

from ._base import CASE_STATUSES, STEP_ATTEMPTS, ServiceBase, Transaction
from .admin import WORKER_MAX_FAILURES, WORKER_PASS_SECONDS, AdminMethods
from .auth import AuthMethods
from .cases import CaseMethods
from .mining import REPLAY_LIMIT, MiningMethods
from .models import ModelMethods
from .reports import ReportMethods


class Service(CaseMethods, ModelMethods, ReportMethods, AdminMethods, AuthMethods, MiningMethods):
    """Everything onetrip does, over one database."""


__all__ = ["CASE_STATUSES", "REPLAY_LIMIT", "STEP_ATTEMPTS", "Service", "ServiceBase", "Transaction",
           "WORKER_MAX_FAILURES", "WORKER_PASS_SECONDS"]

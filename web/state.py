"""What one server process holds: the settings, the service, its own sessions for logins, the clock."""
from __future__ import annotations

from dataclasses import dataclass

from engine import auth, store
from engine.clock import Clock, FixedClock
from engine.config import Settings
from engine.context import Context
from engine.errors import AuthenticationFailed, PermissionDenied
from engine.roles import CLERK


#: Largest request body taken for an upload: the model size limit for each of a few files, plus the form.
MAX_UPLOAD_FILES = 20
FORM_OVERHEAD = 64 * 1024
#: Largest JSON or form body of any other request (a task's data is small).
MAX_BODY_BYTES = 1024 * 1024


@dataclass
class WebState:
    settings: Settings
    service: object
    clock: Clock
    sessions: object = None            # sqlalchemy sessionmaker over the server's own engine
    readers: object = None             # the same for reads only (token checks)
    engine: object = None
    simulation: bool = False

    @property
    def upload_limit(self) -> int:
        return self.settings.max_bpmn_bytes * MAX_UPLOAD_FILES + FORM_OVERHEAD

    def context(self, actor: store.Actor | None) -> Context:
        return Context(actor=actor.name if actor is not None else None, clock=self.clock)

    # -- logins (engine.auth, contract C3); each call is one short transaction of the server's own

    def login(self, username: str, password: str, client: str) -> dict:
        """A token, or AuthenticationFailed/RateLimited; a failed attempt is committed before it is raised."""
        failure = None
        with self.sessions() as s, s.begin():
            try:
                return auth.issue_token(s, username, password, self.clock.now(), client,
                                        getattr(self.settings, "token_ttl", auth.DEFAULT_TOKEN_TTL))
            except AuthenticationFailed as exc:
                failure = exc           # leaving the block commits the recorded failure
        raise failure

    def logout(self, token: str | None) -> None:
        if token:
            with self.sessions() as s, s.begin():
                auth.revoke_token(s, token, self.clock.now())

    def authenticate(self, token: str | None, op=None, params: dict | None = None) -> store.Actor:
        """The user a live token belongs to, checked against ``op``'s roles and lane (403)."""
        if not token:
            raise AuthenticationFailed(auth.NOT_LOGGED_IN)
        with self.readers() as s, s.begin():
            actor = store.find_actor(s, auth.resolve_token(s, token, self.clock.now()))
            if actor is None:           # the user was removed after logging in
                raise AuthenticationFailed(auth.NOT_LOGGED_IN)
            if op is not None:
                authorize(s, actor, op, params or {})
            return actor


def authorize(session, actor: store.Actor, op, params: dict) -> None:
    """Roles and lanes, from the protocol table, before the service runs (the service checks again)."""
    op.check_role(actor.name, actor.role, served=True)
    if op.served_lane and not op.lane and actor.role == CLERK and params.get("ref") is not None:
        lane = _task_lane(session, str(params["ref"]))
        if lane and lane != actor.department:
            raise PermissionDenied(f"task {params['ref']} belongs to {lane}; {actor.name} works for "
                                   f"{actor.department}")


def _task_lane(session, ref: str) -> str | None:
    """The lane of a ready task (None when there is no such task: the service then says why)."""
    from sqlalchemy import select
    parsed = store.parse_task_ref(ref)
    if parsed is None:
        return None
    return session.scalar(select(store.WorkItem.lane).where(store.WorkItem.case_id == parsed[0],
                                                           store.WorkItem.seq == parsed[1]))


def server_clock(settings: Settings, session) -> tuple[Clock, bool]:
    """The machine's clock, unless the database is a simulation (then a pinned clock is kept)."""
    simulation = store.is_simulation(session)
    pinned = isinstance(settings.clock, FixedClock)
    auth.check_clock(session, pinned)        # a pinned clock on a real database: refused, one line
    return (settings.clock if simulation else Clock()), simulation

"""Logins: passwords, tokens and their revocation (the functions are in :mod:`engine.auth`)."""
from __future__ import annotations

from ..auth import (
    _find_user, check_password, issue_token, resolve_token, revoke_token, revoke_user_tokens,
    set_password,
)
from ..context import Context
from ..errors import AuthenticationFailed, NotFound, PermissionDenied
from ..roles import ADMIN
from ._base import ServiceBase, operation


class AuthMethods(ServiceBase):
    @operation
    def set_password(self, ctx: Context, name: str, password: str) -> dict:
        """A user sets their own password; an admin sets anyone's."""
        check_password(password)
        with self._tx() as tx:
            s = tx.session
            actor = self._actor(s)
            user = _find_user(s, name)
            if user is None:
                raise NotFound("user", name)
            if actor.name != user.name and actor.role != ADMIN:
                raise PermissionDenied(f"{actor.name} may set only their own password; an admin sets others'")
            set_password(s, user.name, password, ctx.now())
            return {"name": user.name, "password": "set"}

    @operation
    def revoke_user(self, ctx: Context, name: str) -> dict:
        """An admin ends every login of a user (their tokens stop working at once)."""
        with self._tx() as tx:
            s = tx.session
            self._actor(s)
            user = _find_user(s, name)
            if user is None:
                raise NotFound("user", name)
            return {"name": user.name, "revoked": revoke_user_tokens(s, user.name, ctx.now())}

    @operation
    def login(self, ctx: Context, username: str, password: str, client: str) -> dict:
        """A token for a user name and password (the failure is counted even though it is raised)."""
        failure = None
        with self._tx() as tx:
            try:
                return issue_token(tx.session, username, password, ctx.now(), client,
                                   self.settings.token_ttl)
            except AuthenticationFailed as exc:
                failure = exc           # leaving the block commits the recorded failure
        raise failure

    @operation
    def token_user(self, ctx: Context, token: str) -> str:
        """The user a bearer token belongs to (the HTTP adapter's first call of every request)."""
        with self._tx(readonly=True) as tx:
            return resolve_token(tx.session, token, ctx.now())

    @operation
    def logout(self, ctx: Context, token: str) -> dict:
        with self._tx() as tx:
            revoke_token(tx.session, token, ctx.now())
        return {"logged_out": True}

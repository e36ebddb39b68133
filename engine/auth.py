"""Logins: argon2 password hashes, bearer tokens, failed-login rate limiting; the simulation clock rule.

Session-level functions (the caller owns the session and the transaction) for the server, and
:class:`AuthMethods`, the facade's use cases (mixed into :class:`engine.service.Service`).

Tokens are random; only their SHA-256 is stored, so a copy of the database logs nobody in.  Failed
logins are rows in ``login_failures``, so every ``serve`` process over one database shares the count.
A failure is recorded *before* :class:`AuthenticationFailed` is raised: a caller must commit its
transaction even then (catch inside the transaction, raise after — as :meth:`AuthMethods.login` does),
or the guess is not counted.
"""
from __future__ import annotations

import hashlib
import math
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from . import values
from .config import DEFAULT_TOKEN_TTL
from .errors import AuthenticationFailed, ConfigError, InvalidInput, NotFound, RateLimited

if TYPE_CHECKING:       # annotations only: the ORM's model classes load when a method needs them
    from .store import User

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024               # argon2 takes any length; a megabyte "password" is an attack
FAILURE_WINDOW = timedelta(minutes=5)
#: Failed logins within FAILURE_WINDOW after which further attempts are refused unchecked.  Per client
#: it is higher: one office's clerks often share one address.
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_CLIENT = 20

#: The one message of a failed login: it never says whether the name or the password was wrong.
LOGIN_FAILED = "wrong user name or password"
NOT_LOGGED_IN = "not logged in: log in to get a token"
TOKEN_DEAD = "token expired or revoked: log in again"

_hasher = None
_dummy_hash = None


def _argon2():
    global _hasher
    if _hasher is None:         # argon2 loads only for commands that log in
        from argon2 import PasswordHasher
        _hasher = PasswordHasher()
    return _hasher


def check_password(password: str) -> str:
    """Refuse an unusable new password with one line."""
    if not isinstance(password, str) or not password:
        raise InvalidInput("empty password: nothing was changed")
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(f"password too short: use at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInput(f"password too long: use at most {MAX_PASSWORD_CHARS} characters")
    if not password.isprintable():
        raise InvalidInput("password contains control characters (a line break?): type it on one line")
    return password


def _find_user(session: Session, name: str) -> User | None:
    from .store import User
    name = values.nfkc(str(name or "").strip())
    return session.scalar(select(User).where(User.name == name)) if name else None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def set_password(session: Session, name: str, password: str, now: datetime) -> None:
    """Store an argon2 hash of ``password`` for user ``name``; the user's tokens are revoked."""
    check_password(password)
    user = _find_user(session, name)
    if user is None:
        raise NotFound("user", name)
    user.password_hash = _argon2().hash(password)
    revoke_user_tokens(session, user.name, now)


def _failures(session: Session, column, key: str, since: datetime) -> list[datetime]:
    from .store import LoginFailure
    return list(session.scalars(select(LoginFailure.at).where(column == key, LoginFailure.at > since)
                                .order_by(LoginFailure.at)))


def _check_rate(session: Session, username: str, client: str, now: datetime) -> None:
    from .store import LoginFailure
    since = now - FAILURE_WINDOW
    for column, key, limit in ((LoginFailure.username, username, MAX_FAILURES_PER_USER),
                               (LoginFailure.client, client, MAX_FAILURES_PER_CLIENT)):
        times = _failures(session, column, key, since)
        if len(times) >= limit:
            # Attempts are taken again once fewer than ``limit`` failures remain in the window.
            free_at = times[len(times) - limit] + FAILURE_WINDOW
            retry_after = max(1, math.ceil((free_at - now).total_seconds()))
            raise RateLimited(f"too many failed logins; try again in {retry_after} seconds", retry_after)


def _verify(password_hash: str | None, password: str) -> bool:
    global _dummy_hash
    from argon2.exceptions import InvalidHashError, VerificationError
    hasher = _argon2()
    if password_hash is None:
        # Spend the same time as a real check, so timing does not tell which names exist.
        if _dummy_hash is None:
            _dummy_hash = hasher.hash(secrets.token_urlsafe(16))
        password_hash = _dummy_hash
        known = False
    else:
        known = True
    try:
        return hasher.verify(password_hash, password) and known
    except (VerificationError, InvalidHashError):
        return False


def issue_token(session: Session, username: str, password: str, now: datetime, client: str,
                ttl: int = DEFAULT_TOKEN_TTL) -> dict:
    """Log in: ``{"access_token", "token_type": "bearer", "expires_in"}``.

    Raises :class:`RateLimited` (nothing checked) after too many recent failures for this user name or
    client, else :class:`AuthenticationFailed` (the failure recorded in ``session``: commit it)."""
    from .store import LoginFailure, Token
    username = values.nfkc(str(username or "").strip())[:100]
    client = str(client or "")[:200]
    _check_rate(session, username, client, now)
    password = str(password or "")
    user = _find_user(session, username) if username else None
    ok = _verify(user.password_hash if user is not None else None, password[:MAX_PASSWORD_CHARS])
    if not ok or len(password) > MAX_PASSWORD_CHARS:
        session.execute(delete(LoginFailure).where(or_(LoginFailure.username == username,
                                                       LoginFailure.client == client),
                                                   LoginFailure.at <= now - FAILURE_WINDOW))
        session.add(LoginFailure(username=username, client=client, at=now))
        session.flush()
        raise AuthenticationFailed(LOGIN_FAILED)
    # This name's failures from this client are forgiven; other names' (and other clients') still count.
    session.execute(delete(LoginFailure).where(LoginFailure.username == username, LoginFailure.client == client))
    if _argon2().check_needs_rehash(user.password_hash):
        user.password_hash = _argon2().hash(password)
    token = secrets.token_urlsafe(32)
    session.add(Token(token_sha256=token_digest(token), user_id=user.id, issued_at=now,
                      expires_at=now + timedelta(seconds=ttl), client=client or None))
    session.flush()
    return {"access_token": token, "token_type": "bearer", "expires_in": int(ttl)}


def resolve_token(session: Session, token: str, now: datetime) -> str:
    """The name of the user a live token belongs to."""
    from .store import Token, User
    if not token or not isinstance(token, str):
        raise AuthenticationFailed(NOT_LOGGED_IN)
    row = session.execute(select(Token.expires_at, Token.revoked_at, User.name)
                          .join(User, User.id == Token.user_id)
                          .where(Token.token_sha256 == token_digest(token))).first()
    if row is None:
        raise AuthenticationFailed(NOT_LOGGED_IN)
    if row.revoked_at is not None or now >= row.expires_at:
        raise AuthenticationFailed(TOKEN_DEAD)
    return row.name


def revoke_token(session: Session, token: str, now: datetime) -> None:
    """Log out: the token stops working (an unknown or already revoked token is no error)."""
    from .store import Token
    if token and isinstance(token, str):
        session.execute(update(Token).where(Token.token_sha256 == token_digest(token), Token.revoked_at.is_(None))
                        .values(revoked_at=now))


def revoke_user_tokens(session: Session, name: str, now: datetime) -> int:
    """Revoke every live token of user ``name``; how many were."""
    from .store import Token
    user = _find_user(session, name)
    if user is None:
        raise NotFound("user", name)
    result = session.execute(update(Token).where(Token.user_id == user.id, Token.revoked_at.is_(None),
                                                 Token.expires_at > now).values(revoked_at=now))
    return result.rowcount or 0


NOT_A_SIMULATION = ("this database is not a simulation: its clock is the machine's; --now and ONETRIP_NOW "
                    "work only on a database made by `onetrip demo` or `onetrip init --simulation`")


def check_clock(session: Session, pinned: bool) -> None:
    """Refuse a pinned clock (``--now``/``ONETRIP_NOW``) unless the database was created as a simulation."""
    from . import store
    if pinned and not store.is_simulation(session):
        raise ConfigError(NOT_A_SIMULATION)

"""Settings, read from arguments and the environment (never at import time)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from .clock import Clock, FixedClock, parse_instant
from .errors import ConfigError

DEFAULT_DB_FILE = "onetrip.db"
#: The intake limits (one home: the XML reader takes its defaults from here).
DEFAULT_MAX_BPMN_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_XML_DEPTH = 256
DEFAULT_TOKEN_TTL = 8 * 3600            # seconds a login's token lives: a working day


def default_db_url() -> str:
    return f"sqlite:///{DEFAULT_DB_FILE}"


def normalize_db_url(url: str) -> str:
    """Accept a bare file path or a SQLAlchemy URL; prefer psycopg 3 for PostgreSQL."""
    if "://" not in url:
        return f"sqlite:///{url}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@dataclass
class Settings:
    db_url: str = field(default_factory=default_db_url)
    user: str | None = None
    clock: Clock = field(default_factory=Clock)
    max_bpmn_bytes: int = DEFAULT_MAX_BPMN_BYTES
    max_xml_depth: int = DEFAULT_MAX_XML_DEPTH
    audit_key: str | None = None        # the Ed25519 key file that signs audit checkpoints (never in the database)
    token_ttl: int = DEFAULT_TOKEN_TTL  # seconds a login's token lives (engine.auth)
    worker_inprocess: bool = False      # the worker steps cases in its own process (no fork per case)

    @classmethod
    def from_env(cls, db: str | None = None, user: str | None = None,
                 now: str | None = None, env: dict | None = None) -> "Settings":
        env = os.environ if env is None else env
        db = db or env.get("ONETRIP_DB") or default_db_url()
        user = user or env.get("ONETRIP_USER") or None
        now = now or env.get("ONETRIP_NOW") or None
        clock = FixedClock(parse_instant(now)) if now else Clock()
        max_bytes = _positive_int(env, "ONETRIP_MAX_BPMN_BYTES", DEFAULT_MAX_BPMN_BYTES)
        max_depth = _positive_int(env, "ONETRIP_MAX_XML_DEPTH", DEFAULT_MAX_XML_DEPTH)
        return cls(db_url=normalize_db_url(db), user=user, clock=clock, max_bpmn_bytes=max_bytes,
                   max_xml_depth=max_depth, audit_key=env.get("ONETRIP_AUDIT_KEY") or None,
                   token_ttl=_positive_int(env, "ONETRIP_TOKEN_TTL", DEFAULT_TOKEN_TTL),
                   worker_inprocess=bool(env.get("ONETRIP_WORKER_INPROCESS")))


def _positive_int(env, name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(f"{name}={raw!r}: expected a positive whole number")
    return value

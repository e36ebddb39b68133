"""Saved logins: one 0600 JSON file under the user's config folder, a token per server.

The folder is ``$ONETRIP_CONFIG_DIR`` (tests), else ``$XDG_CONFIG_HOME/onetrip``, else click's
application folder for ``onetrip``.  The file holds bearer tokens: it is created 0600 (never widened
afterwards) and replaced atomically, so a crash never leaves half a file or a readable copy.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

FILE_NAME = "logins.json"


def config_dir() -> Path:
    if os.environ.get("ONETRIP_CONFIG_DIR"):
        return Path(os.environ["ONETRIP_CONFIG_DIR"])
    if os.environ.get("XDG_CONFIG_HOME"):
        return Path(os.environ["XDG_CONFIG_HOME"]) / "onetrip"
    import click
    return Path(click.get_app_dir("onetrip"))


def login_file() -> Path:
    return config_dir() / FILE_NAME


def normalize(url: str) -> str:
    """``http://host:8400/`` and ``http://host:8400`` are one server."""
    return url.strip().rstrip("/")


def _read() -> dict:
    try:
        data = json.loads(login_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"servers": {}}
    if not isinstance(data, dict) or not isinstance(data.get("servers"), dict):
        return {"servers": {}}
    return data


def _write(data: dict) -> None:
    path = login_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False, indent=1)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def saved(server: str | None = None) -> dict | None:
    """The login for ``server`` (else the last one made): {"server", "user", "access_token", "expires_at"}."""
    data = _read()
    key = normalize(server) if server else data.get("current")
    login = data["servers"].get(key) if key else None
    return dict(login, server=key) if isinstance(login, dict) and login.get("access_token") else None


def save(server: str, user: str, token: dict) -> Path:
    data = _read()
    key = normalize(server)
    data["servers"][key] = {"user": user, "access_token": token["access_token"],
                            "expires_at": int(time.time()) + int(token.get("expires_in") or 0)}
    data["current"] = key
    _write(data)
    return login_file()


def forget(server: str) -> None:
    """Delete the server's login; the file goes when it holds no login any more."""
    data = _read()
    key = normalize(server)
    data["servers"].pop(key, None)
    if data.get("current") == key:
        data["current"] = next(iter(data["servers"]), None)
    if data["servers"]:
        _write(data)
    else:
        login_file().unlink(missing_ok=True)

"""A real ``onetrip serve`` for tests: a subprocess on a free loopback port, and an office to log into."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from . import POLICE, WINDOW, CliHarness, setup_people

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "residence_permit.bpmn"
PASSWORD = "correct horse 电池"
#: name -> role, department (setup_people adds all but the reformer)
PEOPLE = {"admin": ("admin", None), "李设计": ("designer", WINDOW), "王窗口": ("clerk", WINDOW),
          "赵警官": ("clerk", POLICE), "钱改革": ("reformer", None)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def set_passwords(db_url: str, names, password: str = PASSWORD) -> None:
    from engine import auth, store
    eng = store.open_database(db_url)
    try:
        with store.session_factory(eng)() as s, s.begin():
            for name in names:
                auth.set_password(s, name, password, datetime.now())
    finally:
        eng.dispose()


def make_office(db_url: str, *, sample: bool = True) -> CliHarness:
    """The sample office: people with passwords, the sample model uploaded as ``after``."""
    cli = CliHarness(db_url, simulation=False)      # a real office: the clock is the machine's
    setup_people(cli)
    cli.ok("user add 钱改革 --role reformer", user="admin")
    set_passwords(db_url, PEOPLE)
    if sample:
        cli.ok(f"process upload {SAMPLE} --label after", user="李设计")
    return cli


class Server:
    def __init__(self, url: str, process: subprocess.Popen, log: Path):
        self.url, self.process, self.log = url, process, log

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextmanager
def serve(db_url: str, tmp_path: Path, *, env: dict | None = None, workers: int = 1, name: str = "serve",
          timeout: float = 60.0):
    """``onetrip --db URL serve`` on a free port until the block ends."""
    port = free_port()
    log = tmp_path / f"{name}-{port}.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ONETRIP_")}
    environment.update({"ONETRIP_LOG_LEVEL": "warning", "PYTHONPATH": str(ROOT)}, **(env or {}))
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "cli", "--db", db_url, "serve", "--port", str(port),
                                    "--workers", str(workers)], cwd=ROOT, env=environment, stdout=out,
                                   stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait(server, timeout)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait(server: Server, timeout: float) -> None:
    import httpx
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"onetrip serve exited ({server.process.returncode}): {server.output()[-2000:]}")
        try:
            if httpx.get(server.url + "/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"onetrip serve did not answer within {timeout} s: {server.output()[-2000:]}")


def login(url: str, name: str, password: str = PASSWORD):
    """An httpx client carrying a fresh token of ``name``."""
    import httpx
    r = httpx.post(url + "/api/token", data={"username": name, "password": password})
    assert r.status_code == 200, r.text
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {r.json()['access_token']}"}, timeout=30)


@contextmanager
def served_office(kind: str, tmp_path: Path, prepare=None):
    """The sample office on a fresh SQLite file (``kind`` "sqlite") or PostgreSQL database, served until
    the block ends: yields (server, cli, url).  ``prepare(cli)`` runs before the server starts."""
    from contextlib import nullcontext
    from . import postgres_database
    database = nullcontext(f"sqlite:///{tmp_path / 'onetrip.db'}") if kind == "sqlite" else postgres_database()
    with database as url:
        cli = make_office(url)
        if prepare is not None:
            prepare(cli)
        with serve(url, tmp_path) as server:
            yield server, cli, url

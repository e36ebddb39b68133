"""cli-remote: `onetrip task list` as a process going through a real `onetrip serve` (a saved login),
against a bare interpreter importing what the remote CLI needs (click and httpx)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cli import TASKLIST_CASES, WARMUP, _alternate, _result, prepared_database
from harness import Result, subprocess_env

PASSWORD = "bench password 口令"
SET_PASSWORD = ("import sys\nfrom datetime import datetime\nfrom engine import auth, store\n"
                "eng = store.open_database(sys.argv[1])\n"
                "with store.session_factory(eng)() as s, s.begin():\n"
                "    auth.set_password(s, 'clerk', sys.argv[2], datetime.now())\n"
                "eng.dispose()\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    import httpx
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"onetrip serve exited: {log.read_text(errors='replace')[-800:]}")
        try:
            if httpx.get(url + "/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"onetrip serve did not answer within {timeout} s")


def bench_cli_remote(ctx) -> Result:
    name = "cli-remote"
    runs = 5 if ctx.quick else 30
    warmup = 1 if ctx.quick else WARMUP
    root = Path(__file__).resolve().parent.parent
    if not (root / "web").is_dir():
        raise RuntimeError("needs web/ (onetrip serve)")
    ctx.say(f"{name}: {runs} alternating pairs")
    d, _ = prepared_database(ctx, name, TASKLIST_CASES)
    db = f"sqlite:///{d / 'onetrip.db'}"
    env = subprocess_env()
    subprocess.run([str(ctx.python), "-c", SET_PASSWORD, db, PASSWORD], env=env, check=True, timeout=120,
                   cwd=root, capture_output=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = d / "serve.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([str(ctx.onetrip), "--db", db, "serve", "--port", str(port)], cwd=d,
                                  env=env | {"ONETRIP_LOG_LEVEL": "warning"}, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait(url, server, log)
        clerk_env = env | {"ONETRIP_CONFIG_DIR": str(d / "config")}
        subprocess.run([str(ctx.onetrip), "login", url, "clerk", "--password-stdin"], input=PASSWORD + "\n",
                       text=True, env=clerk_env, check=True, timeout=60, capture_output=True)
        cmd = [str(ctx.onetrip), "task", "list"]
        base, subj = _alternate([str(ctx.python), "-c", "import click, httpx"], [cmd] * (runs + warmup), d,
                                clerk_env, warmup)
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
    return _result(name, base, subj, 1.3, {"runs": len(subj), "warmup_pairs": warmup, "ready_tasks": TASKLIST_CASES},
                   [f"subject: onetrip task list through onetrip serve on the same machine (a saved login; "
                    f"{TASKLIST_CASES} ready tasks printed as the table, to a pipe)",
                    'baseline: python -c "import click, httpx" (same interpreter)',
                    "value/baseline are medians of wall time; runs alternate baseline/subject"])

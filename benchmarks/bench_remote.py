"""cli-remote: `onetrip task list` as a process going through a real `onetrip serve` (a saved login),
against a bare interpreter importing what the remote CLI needs (click and httpx)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cli import TASKLIST_CASES, WARMUP, _alternate, _result, prepare_bytecode, prepared_database
from harness import Result, subprocess_env
from onetrip_testing.serve import serve, set_passwords     # harness put the checkout on sys.path

PASSWORD = "bench password 口令"


def bench_cli_remote(ctx) -> Result:
    name = "cli-remote"
    runs = 5 if ctx.quick else 30
    warmup = 1 if ctx.quick else WARMUP
    root = Path(__file__).resolve().parent.parent
    if not (root / "web").is_dir():
        raise RuntimeError("needs web/ (onetrip serve)")
    ctx.say(f"{name}: {runs} alternating pairs")
    d, _ = prepared_database(ctx, name, TASKLIST_CASES)
    bytecode = prepare_bytecode(ctx)
    db = f"sqlite:///{d / 'onetrip.db'}"
    env = subprocess_env()
    set_passwords(db, ["clerk"], PASSWORD)
    with serve(db, d) as server:
        clerk_env = env | {"ONETRIP_CONFIG_DIR": str(d / "config")}
        subprocess.run([str(ctx.onetrip), "login", server.url, "clerk", "--password-stdin"], input=PASSWORD + "\n",
                       text=True, env=clerk_env, check=True, timeout=60, capture_output=True)
        cmd = [str(ctx.onetrip), "task", "list"]
        base, subj = _alternate([str(ctx.python), "-c", "import click, httpx"], [cmd] * (runs + warmup), d,
                                clerk_env, warmup)
    return _result(name, base, subj, 1.3, {"runs": len(subj), "warmup_pairs": warmup, "ready_tasks": TASKLIST_CASES},
                   [f"subject: onetrip task list through onetrip serve on the same machine (a saved login; "
                    f"{TASKLIST_CASES} ready tasks printed as the table, to a pipe)",
                    'baseline: python -c "import click, httpx" (same interpreter)',
                    "value/baseline are medians of wall time; runs alternate baseline/subject", bytecode])

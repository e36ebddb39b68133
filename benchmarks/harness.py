"""Shared plumbing of the benchmarks: results, timing, code fingerprints, set-up.

Nothing here measures anything by itself.  Every benchmark module exposes
functions ``bench_*(ctx) -> Result | list[Result]``; ``run.py`` calls them one
by one and turns any exception into an ``{"name": ..., "error": ...}`` line.
"""
from __future__ import annotations

import gc
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:          # engine/, cli.py and onetrip_testing/ from this checkout
    sys.path.insert(0, str(REPO))

#: The files whose content identifies "which engine was measured".
WATCHED = ("engine", "cli.py")


@dataclass
class Result:
    name: str
    value: float | None
    unit: str
    baseline: float | None = None
    ratio: float | None = None
    target: dict | None = None
    sizes: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    skipped: bool = False
    error: str | None = None
    code: dict | None = None
    seconds: float | None = None          # wall time of the whole benchmark (set-up included)

    def meets_target(self) -> bool | None:
        if self.error or self.skipped or self.value is None or not self.target:
            return None
        ok = True
        if "ratio" in self.target:
            ok = ok and self.ratio is not None and self.ratio <= self.target["ratio"]
        if "value" in self.target:
            ok = ok and self.value <= self.target["value"]
        return ok

    def to_dict(self) -> dict:
        out = {"name": self.name, "value": _round(self.value), "unit": self.unit,
               "baseline": _round(self.baseline), "ratio": _round(self.ratio, 3)}
        if self.target:
            out["target"] = self.target
            out["meets_target"] = self.meets_target()
        if self.sizes:
            out["sizes"] = self.sizes
        if self.notes:
            out["notes"] = self.notes
        if self.stats:
            out["stats"] = {k: _round(v) if isinstance(v, float) else v for k, v in self.stats.items()}
        if self.skipped:
            out["skipped"] = True
        if self.error:
            out["error"] = self.error
        if self.code:
            out["code"] = self.code
        if self.seconds is not None:
            out["bench_seconds"] = round(self.seconds, 1)
        return out


def _round(v, digits: int = 6):
    if v is None:
        return None
    if isinstance(v, float):
        return float(f"{v:.{digits}g}")
    return v


@dataclass
class Context:
    quick: bool
    tmp: Path
    python: Path          # the venv interpreter used for subprocesses
    onetrip: Path         # the venv's console script
    pg_admin_url: str
    log: object = None    # callable(str) for progress on stderr
    pg_metrics_cases: int | None = None   # size of metrics-10m (None: its default)

    def say(self, text: str) -> None:
        if self.log:
            self.log(text)

    def workdir(self, name: str) -> Path:
        d = self.tmp / name
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        return d


# ------------------------------------------------------------------ timing

def mean(xs):
    return sum(xs) / len(xs) if xs else None


def median(xs):
    return statistics.median(xs) if xs else None


def quantile(xs, q: float):
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))]


def alternate(baseline, subject, reps: int, budget: float | None = None) -> tuple[list, list]:
    """Run ``baseline()`` and ``subject()`` ``reps`` times each, swapping which goes first every
    round (so neither always runs on a warmer machine); stop early once the subject has used
    ``budget`` seconds after at least 3 rounds.  Returns (baseline values, subject values)."""
    base, subj = [], []
    for i in range(reps):
        if budget is not None and i >= 3 and sum(subj) > budget:
            break
        if i % 2 == 0:
            base.append(baseline())
            subj.append(subject())
        else:
            subj.append(subject())
            base.append(baseline())
    return base, subj


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


@contextmanager
def collected():
    """Start a measurement from a clean heap (garbage of the set-up collected first)."""
    gc.collect()
    yield


# ------------------------------------------------------------ fingerprints

def _watched_files() -> list[Path]:
    files = []
    for name in WATCHED:
        p = REPO / name
        if p.is_dir():
            files += sorted(x for x in p.rglob("*.py") if "__pycache__" not in x.parts)
        elif p.exists():
            files.append(p)
    return files


def code_fingerprint() -> dict:
    """A short hash of engine/**/*.py + cli.py, and the newest modification among them."""
    h = hashlib.sha256()
    newest, newest_name = 0.0, None
    for f in _watched_files():
        try:
            data = f.read_bytes()
            mtime = f.stat().st_mtime
        except OSError:
            continue
        h.update(str(f.relative_to(REPO)).encode() + b"\0" + data + b"\0")
        if mtime > newest:
            newest, newest_name = mtime, str(f.relative_to(REPO))
    return {"sha": h.hexdigest()[:12],
            "newest_file": newest_name,
            "newest_mtime": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(newest)) if newest else None}


def file_digests(names=("engine/runtime.py", "engine/store.py", "engine/service.py",
                        "engine/measure.py", "engine/analysis.py", "engine/bpmn_model.py", "cli.py")) -> dict:
    out = {}
    for n in names:
        p = REPO / n
        try:
            out[n] = {"sha": hashlib.sha256(p.read_bytes()).hexdigest()[:12],
                      "mtime": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(p.stat().st_mtime))}
        except OSError:
            out[n] = None
    return out


def git_head() -> str | None:
    """The checked-out commit, read from .git files (git itself is not run)."""
    git = REPO / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = head[5:]
            p = git / ref
            if p.exists():
                return p.read_text().strip()[:12]
            packed = git / "packed-refs"
            if packed.exists():
                for line in packed.read_text().splitlines():
                    if line.endswith(" " + ref):
                        return line.split()[0][:12]
            return None
        return head[:12]
    except OSError:
        return None


# ------------------------------------------------------------------ set-up

def make_tmp() -> Path:
    return Path(tempfile.mkdtemp(prefix="onetrip-bench-"))


class BenchService:
    """The benchmarks' Service: each call acts as ``settings.user`` on ``settings.clock`` (a Context per
    call, as the CLI builds one per command), so the scripted scenarios switch users as before."""

    def __init__(self, svc):
        self.svc = svc
        self.settings = svc.settings

    def __getattr__(self, name):
        from engine.context import Context
        from engine.protocol import OPERATIONS
        attr = getattr(self.svc, name)
        if name not in OPERATIONS:
            return attr

        def call(*args, **kwargs):
            ctx = Context(self.settings.user, self.settings.clock)
            if name == "complete_task" and kwargs.pop("returned", False):
                return self.svc.return_task(ctx, args[0], kwargs.pop("reason", None), *args[1:], **kwargs)
            kwargs.pop("reason", None)
            return attr(ctx, *args, **kwargs)
        return call


def new_service(db_url: str, clock=None):
    """A Service over a fresh database with an admin and a designer (returned with the service)."""
    from engine.config import Settings
    from engine.service import Service
    settings = Settings(db_url=db_url, user=None)
    if clock is not None:
        settings.clock = clock
    svc = BenchService(Service(settings))
    svc.init(simulation=clock is not None)    # a pinned clock needs a simulation database
    svc.add_user("bench_admin", None, "admin")
    svc.settings.user = "bench_admin"
    svc.add_user("bench_designer", None, "designer")
    return svc


def add_clerk(svc, name: str, department: str) -> None:
    prev = svc.settings.user
    svc.settings.user = "bench_admin"
    try:
        svc.add_user(name, department, "clerk")
    finally:
        svc.settings.user = prev


def upload(svc, path: Path, label: str = "after", matter_code: str | None = None) -> dict:
    prev = svc.settings.user
    svc.settings.user = "bench_designer"
    try:
        return svc.upload(str(path), label, matter_code)
    finally:
        svc.settings.user = prev


def subprocess_env() -> dict:
    """The caller's environment without ONETRIP_* (no ambient user, database or clock)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ONETRIP_")}

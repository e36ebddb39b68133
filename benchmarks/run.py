#!/usr/bin/env python
"""onetrip performance benchmarks.  See benchmarks/README.md.

    /work/venv/bin/python benchmarks/run.py [--quick] [--json] [--only NAME ...] [--keep]

One JSON object per measurement on stdout (name, value, unit, baseline, ratio,
target, sizes, notes, ...), printed as soon as it is measured; without
``--json`` a readable table follows at the end.  Progress goes to stderr.
A benchmark that fails prints an object with ``"error"`` and the run goes on.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Context, Result, code_fingerprint, file_digests, git_head, make_tmp  # noqa: E402

#: (module, function, the measurement names it produces) in run order.
BENCHMARKS = [
    ("bench_advance", "bench_advance_sqlite", ["advance-10", "advance-100"]),
    ("bench_advance", "bench_advance_pg", ["advance-10-pg", "advance-100-pg"]),
    ("bench_advance", "bench_advance_pg_async", ["advance-10-pg-async", "advance-100-pg-async"]),
    ("bench_advance", "bench_advance_loop50", ["advance-loop50"]),
    ("bench_cli", "bench_cli_complete", ["cli-complete"]),
    ("bench_cli", "bench_cli_help", ["cli-help"]),
    ("bench_cli", "bench_cli_tasklist", ["cli-tasklist"]),
    ("bench_remote", "bench_cli_remote", ["cli-remote"]),
    ("bench_metrics", "bench_metrics", ["metrics-1m"]),
    ("bench_metrics_pg", "bench_metrics_10m", ["metrics-10m"]),
    ("bench_compare", "bench_compare_stored", ["compare-stored-100k"]),
    ("bench_analyze", "bench_analyze", ["analyze-1000"]),
    ("bench_mining", "bench_export", ["export-1m"]),
    ("bench_mining", "bench_export_pg", ["export-1m-pg"]),
    ("bench_mining", "bench_simulate", ["simulate-10k"]),
    ("bench_serve", "bench_serve_complete", ["serve-complete"]),
    ("bench_serve", "bench_serve_tasklist", ["serve-tasklist-100k"]),
]


def _log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _emit(result: Result, as_json_only: bool) -> None:
    print(json.dumps(result.to_dict(), ensure_ascii=False), flush=True)


def _fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, float):
        s = f"{v:.3g}" if abs(v) < 100 else f"{v:,.0f}"
    else:
        s = str(v)
    return f"{s} {unit}".strip()


def _table(results: list[Result]) -> str:
    head = ["benchmark", "value", "baseline", "ratio", "target", "ok", "sizes / note"]
    rows = []
    for r in results:
        target = ", ".join(f"{k} ≤ {v}" for k, v in (r.target or {}).items())
        if r.error:
            ok, note = "ERROR", r.error[:70]
        elif r.skipped:
            ok, note = "skip", (r.notes[0] if r.notes else "")[:70]
        else:
            m = r.meets_target()
            ok = "-" if m is None else ("yes" if m else "NO")
            note = ", ".join(f"{k}={v}" for k, v in r.sizes.items() if k != "build_seconds")[:70]
        rows.append([r.name, _fmt(r.value, r.unit), _fmt(r.baseline, r.unit),
                     _fmt(r.ratio) if r.ratio is not None else "-", target or "-", ok, note])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, few repetitions (< 1 minute)")
    ap.add_argument("--json", action="store_true", help="JSON lines only (no table at the end)")
    ap.add_argument("--only", nargs="+", metavar="NAME",
                    help="run only these measurements (e.g. advance-10 metrics-1m); a prefix works")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (databases, files)")
    ap.add_argument("--pg", default=os.environ.get("ONETRIP_BENCH_PG", os.environ.get(
        "ONETRIP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")),
        help="PostgreSQL admin URL used to create/drop a throw-away database")
    ap.add_argument("--pg-metrics-cases", type=int, default=None, metavar="N",
                    help="cases of metrics-10m (10 events each; default 1,000,000)")
    args = ap.parse_args(argv)

    bindir = Path(sys.executable).parent
    tmp = make_tmp()
    ctx = Context(quick=args.quick, tmp=tmp, python=Path(sys.executable), onetrip=bindir / "onetrip",
                  pg_admin_url=args.pg, log=_log, pg_metrics_cases=args.pg_metrics_cases)
    start_fp = code_fingerprint()
    try:   # import the engine now, so "the code measured in-process" is the code of start_fp
        import engine.service, engine.runtime, engine.analysis, engine.measure  # noqa: E401,F401
    except Exception as exc:
        _log(f"engine import failed ({type(exc).__name__}: {exc}); in-process benchmarks will fail")
    _log(f"{'quick' if args.quick else 'full'} run; python {platform.python_version()} {sys.executable}; "
         f"git HEAD {git_head()} (plus uncommitted edits); engine+cli sha {start_fp['sha']} "
         f"(newest {start_fp['newest_file']} {start_fp['newest_mtime']}); temp dir {tmp}")
    _log("file digests: " + json.dumps(file_digests()))

    results: list[Result] = []
    t_run = time.perf_counter()
    try:
        for module, func, names in BENCHMARKS:
            if args.only and not any(n.startswith(o) for n in names for o in args.only):
                continue
            before = code_fingerprint()
            t0 = time.perf_counter()
            try:
                mod = __import__(module)
                got = getattr(mod, func)(ctx)
                got = got if isinstance(got, list) else [got]
            except Exception as exc:   # one failing benchmark never stops the run
                _log(f"{func} failed: {type(exc).__name__}: {exc}")
                got = [Result(n, None, "", error=f"{type(exc).__name__}: {exc}",
                              notes=[traceback.format_exc(limit=-4)]) for n in names]
            after = code_fingerprint()
            code = {"sha": before["sha"]}
            if before["sha"] != start_fp["sha"]:
                code["in_process_sha"] = start_fp["sha"]    # modules were imported at start
            if after["sha"] != before["sha"]:
                code["changed_during_to"] = after["sha"]
            for r in got:
                if args.only and not any(r.name.startswith(o) for o in args.only):
                    continue
                r.code = code
                if r.seconds is None:
                    r.seconds = (time.perf_counter() - t0) / len(got)
                results.append(r)
                _emit(r, args.json)
    finally:
        if args.keep:
            _log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    _log(f"done in {time.perf_counter() - t_run:.0f} s")
    if not args.json:
        print()
        print(_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

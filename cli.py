"""onetrip command line: parses arguments, calls one ``engine.service`` method, prints.

Heavy libraries (SQLAlchemy, SpiffWorkflow, rich) are imported inside the
commands, so ``onetrip --help`` stays fast.  Every engine error becomes one
line on stderr and a non-zero exit status here, in one place.
"""
from __future__ import annotations

import json
import os
import sys

import click

from engine.errors import OnetripError, one_line
from engine.report import FORMATS


class OnetripGroup(click.Group):
    """Turns engine errors into one clean line and an exit status."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except OnetripError as exc:
            err = click.ClickException(str(exc))
            err.exit_code = exc.exit_code
            raise err from None
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as exc:  # a bug: still one line, never a traceback
            if os.environ.get("ONETRIP_DEBUG"):
                raise
            err = click.ClickException(one_line(f"internal error ({type(exc).__name__}: {exc}); "
                                                f"set ONETRIP_DEBUG=1 to see the traceback"))
            err.exit_code = 70
            raise err from None


def _service(ctx):
    obj = ctx.find_root().obj
    if obj.get("service") is None:
        from engine.config import Settings
        from engine.service import Service
        settings = Settings.from_env(db=obj.get("db"), user=obj.get("user"), now=obj.get("now"))
        service = obj["service"] = Service(settings)

        def close():
            for line in service.warnings:      # e.g. a year counted Monday–Friday
                click.echo(line, err=True)
            service.dispose()
        ctx.call_on_close(close)
    return obj["service"]


def _print_json(value) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _table(rows: list[dict], columns: list[tuple[str, str]], title: str | None = None,
           styles: dict | None = None) -> None:
    if not rows:
        click.echo("(none)")
        return
    from rich.console import Console
    from rich.table import Table
    table = Table(title=title, show_lines=False, header_style="bold")
    for _, header in columns:
        table.add_column(header)
    for row in rows:
        style = (styles or {}).get("row")(row) if styles and "row" in styles else None
        table.add_row(*["" if row.get(k) is None else str(row.get(k)) for k, _ in columns], style=style)
    # Piped output is not squeezed to 80 columns: Chinese names stay whole.
    Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200).print(table)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
data_option = click.option("--data", "data_items", multiple=True, metavar="KEY=VALUE",
                           help="Typed data: true/false, numbers, JSON objects/lists, else strings. Repeatable.")


@click.group(cls=OnetripGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", metavar="URL", help="Database URL or SQLite file (default onetrip.db; env ONETRIP_DB).")
@click.option("--as", "user", metavar="USER", help="Acting user (env ONETRIP_USER).")
@click.option("--now", metavar="DATETIME", help="Pin the clock, e.g. 2026-03-02T09:00 (env ONETRIP_NOW).")
@click.version_option(package_name="onetrip")
@click.pass_context
def main(ctx, db, user, now):
    """onetrip — run government service matters on BPMN and measure 最多跑一次.

    \b
    Quick tour:
      onetrip init
      onetrip user add 李设计 --department 政务服务中心综合窗口 --role designer
      onetrip --as 李设计 process upload bpmn/JZZBL.after.bpmn --label after
      onetrip --as 王窗口 case start JZZBL --data applicant=张三
      onetrip --as 王窗口 task list
    """
    ctx.ensure_object(dict)
    ctx.obj.update(db=db, user=user, now=now)


@main.command()
@json_option
@click.pass_context
def init(ctx, as_json):
    """Create or upgrade the database schema.

    \b
    Example:
      onetrip --db postgresql://postgres@127.0.0.1/onetrip init
    """
    result = _service(ctx).init()
    if as_json:
        return _print_json(result)
    click.echo(f"database {result['database']} at schema revision {result['schema_revision']}")


# ------------------------------------------------------------------ users

@main.group()
def user():
    """Manage users (designers, clerks, reformers, admins)."""


@user.command("add")
@click.argument("name")
@click.option("--department", metavar="DEPT", help="Department = the BPMN lane name a clerk works in.")
@click.option("--role", type=click.Choice(["designer", "clerk", "reformer", "admin"]), required=True)
@json_option
@click.pass_context
def user_add(ctx, name, department, role, as_json):
    """Add a user. Open on a fresh database; admin-only once an admin exists.

    \b
    Example:
      onetrip user add 王窗口 --department 政务服务中心综合窗口 --role clerk
    """
    record = _service(ctx).add_user(name, department, role)
    if as_json:
        _print_json(record)
    else:
        click.echo(f"added {record['role']} {record['name']}"
                   + (f" of {record['department']}" if record["department"] else ""))


@user.command("list")
@json_option
@click.pass_context
def user_list(ctx, as_json):
    """List users with their role and department.

    \b
    Example:
      onetrip user list --json
    """
    rows = _service(ctx).list_users()
    if as_json:
        return _print_json(rows)
    _table(rows, [("name", "用户 user"), ("role", "角色 role"), ("department", "部门 department")])


# ---------------------------------------------------------------- process

@main.group()
def process():
    """Validate, upload and inspect BPMN process models."""


@process.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True))
@json_option
@click.pass_context
def process_validate(ctx, files, as_json):
    """Check BPMN files: well-formed, BPMN 2.0, runs as drawn.

    Prints one line per problem, FILE:LINE: ELEMENT_ID: message, and exits 1
    if any file is invalid.  Needs no database.

    \b
    Example:
      onetrip process validate bpmn/*.bpmn
    """
    from engine.config import Settings
    from engine.service import Service
    results = Service(Settings.from_env(db=":memory:")).validate(list(files))
    if as_json:
        _print_json(results)
    else:
        for r in results:
            if r["valid"]:
                click.echo(f"{r['file']}: ok ({r['process_id']}"
                           + (f", matter {r['matter_code']}" if r["matter_code"] else "") + ")")
            for problem in r["problems"]:
                click.echo(problem, err=True)
    if not all(r["valid"] for r in results):
        ctx.exit(1)


@process.command("upload")
@click.argument("file", type=click.Path())
@click.option("--label", type=click.Choice(["before", "after"]), required=True)
@click.option("--matter", "matter_code", metavar="CODE", help="Matter code (default: process property matter_code).")
@click.option("--descriptive", is_flag=True,
              help="Store a model that cannot run, for analysis only (marked non-executable with the reasons).")
@json_option
@click.pass_context
def process_upload(ctx, file, label, matter_code, descriptive, as_json):
    """Upload a BPMN model as the before or after version of a matter.

    Uploading the same content again returns the existing version.

    \b
    Example:
      onetrip --as 李设计 process upload bpmn/JZZBL.after.bpmn --label after
    """
    record = _service(ctx).upload(file, label, matter_code, allow_descriptive=descriptive)
    if as_json:
        return _print_json(record)
    verb = "uploaded" if record["created"] else (
        "made current again:" if record.get("reactivated") else "already uploaded")
    note = "" if record["executable"] else " (descriptive: analysis only)"
    click.echo(f"{verb} version {record['id']}: {record['matter_code']} {record['label']} "
               f"{record['process_id']} sha256 {record['sha256'][:12]}{note}")


@process.command("list")
@click.option("--matter", "matter_code", metavar="CODE")
@json_option
@click.pass_context
def process_list(ctx, matter_code, as_json):
    """List uploaded process versions (id, matter, label, sha256).

    \b
    Example:
      onetrip process list --matter JZZBL
    """
    rows = _service(ctx).list_versions(matter_code)
    if as_json:
        return _print_json(rows)
    for r in rows:
        r["sha"] = r["sha256"][:12]
        r["run"] = "yes" if r["executable"] else "no"
    _table(rows, [("id", "版本 id"), ("matter_code", "事项 matter"), ("matter_name", "名称 name"),
                  ("label", "label"), ("process_id", "process"), ("run", "executable"), ("sha", "sha256"),
                  ("uploaded_at", "uploaded")])


@process.command("show")
@click.argument("version")
@json_option
@click.pass_context
def process_show(ctx, version, as_json):
    """Show one process version with its static metrics and any reasons it cannot run.

    \b
    Example:
      onetrip process show 3 --json
    """
    r = _service(ctx).show_version(version)
    if as_json:
        return _print_json(r)
    click.echo(f"version {r['id']}: {r['matter_code']} {r['matter_name']} ({r['label']})")
    click.echo(f"  process {r['process_id']}  file {r['filename']}  sha256 {r['sha256']}")
    click.echo(f"  uploaded by {r['uploaded_by']} at {r['uploaded_at']}; {r['cases']} case(s)")
    m = r.get("metrics") or {}
    if m:
        click.echo(f"  steps {m.get('steps')}  materials {m.get('materials')}  visits {m.get('visits')}  "
                   f"promised {m.get('promised_workdays')}  statutory {m.get('statutory_workdays')} working days")
    for p in r["problems"]:
        click.echo(f"  cannot run: {p}")


# ------------------------------------------------------------------- cases

@main.group()
def case():
    """Start and inspect cases."""


@case.command("start")
@click.argument("matter_code")
@click.option("--label", type=click.Choice(["before", "after"]), help="Default: after, else before.")
@data_option
@json_option
@click.pass_context
def case_start(ctx, matter_code, label, data_items, as_json):
    """Start a case of a matter (acceptance: day 0 of its time limit).

    \b
    Example:
      onetrip --as 王窗口 case start JZZBL --data applicant=张三 --data age=30
    """
    from engine.values import parse_items
    r = _service(ctx).start_case(matter_code, label, parse_items(data_items))
    if as_json:
        return _print_json(r)
    click.echo(f"started case {r['id']}: {r['matter_code']} {r['matter_name']} ({r['label']})"
               + (f", due {r['due_date']}" if r["due_date"] else ""))
    _print_ready(r)


def _print_ready(r: dict) -> None:
    if r["status"] == "completed":
        click.echo(f"case {r['id']} completed")
    for t in r["ready"]:
        click.echo(f"  ready: {t['id']}  {t['name']}  [{t['lane'] or 'any department'}]")


@case.command("list")
@click.option("--status", type=click.Choice(["open", "completed"]))
@click.option("--matter", "matter_code", metavar="CODE")
@json_option
@click.pass_context
def case_list(ctx, status, matter_code, as_json):
    """List cases, earliest due date first; overdue ones stand out.

    \b
    Example:
      onetrip case list --status open --matter JZZBL
    """
    rows = _service(ctx).list_cases(status, matter_code)
    if as_json:
        return _print_json(rows)
    for r in rows:
        r["flag"] = "OVERDUE 超期" if r["overdue"] else ""
    _table(rows, [("id", "案件 case"), ("matter_code", "事项 matter"), ("matter_name", "名称 name"),
                  ("label", "label"), ("status", "status"), ("accepted_at", "受理 accepted"),
                  ("due_date", "到期 due"), ("flag", "")],
           styles={"row": lambda r: "bold red" if r["overdue"] else None})


@case.command("show")
@click.argument("case_id")
@json_option
@click.pass_context
def case_show(ctx, case_id, as_json):
    """Show a case with its history (every step, actor and time) and measured figures.

    \b
    Example:
      onetrip case show 12 --json
    """
    r = _service(ctx).show_case(case_id)
    if as_json:
        return _print_json(r)
    click.echo(f"case {r['id']}: {r['matter_code']} {r['matter_name']} ({r['label']}) — {r['status']}"
               + (f", due {r['due_date']}" if r["due_date"] else "") + (" OVERDUE" if r["overdue"] else ""))
    for e in r["events"]:
        e["where"] = "现场 onsite" if e["onsite"] else ""
    _table(r["events"], [("seq", "#"), ("at", "time"), ("action", "action"), ("task", "task"),
                         ("name", "step"), ("lane", "department"), ("actor", "actor"), ("where", "")])
    _print_ready(r)


# ------------------------------------------------------------------- tasks

@main.group()
def task():
    """See and complete the tasks of your department."""


@task.command("list")
@click.option("--case", "case_id", metavar="CASE")
@click.option("--all", "show_all", is_flag=True, help="Every ready task, of every department.")
@json_option
@click.pass_context
def task_list(ctx, case_id, show_all, as_json):
    """List ready tasks you may act on (your department's lane), earliest due first.

    \b
    Example:
      onetrip --as 王窗口 task list
      onetrip task list --all --case 12
    """
    rows = _service(ctx).list_tasks(case_id, show_all)
    if as_json:
        return _print_json(rows)
    for r in rows:
        r["where"] = "现场 onsite" if r["onsite"] else ""
    _table(rows, [("id", "任务 task"), ("matter_code", "事项 matter"), ("name", "环节 step"),
                  ("lane", "部门 department"), ("due_date", "到期 due"), ("where", "")])


@task.command("show")
@click.argument("task_ref", metavar="TASK")
@json_option
@click.pass_context
def task_show(ctx, task_ref, as_json):
    """Show a ready task and the case data it sees.

    \b
    Example:
      onetrip task show 12.3
    """
    r = _service(ctx).show_task(task_ref)
    if as_json:
        return _print_json(r)
    click.echo(f"task {r['id']}: {r['name']} ({r['task']}) of case {r['case']} {r['matter_code']}")
    click.echo(f"  department {r['lane'] or 'any'}; ready since {r['ready_at']}"
               + ("; applicant comes in person" if r["onsite"] else ""))
    for k, v in sorted(r["data"].items()):
        click.echo(f"  {k} = {json.dumps(v, ensure_ascii=False, default=str)}")


def _after_task(r: dict, ref: str, verb: str, as_json: bool) -> None:
    if as_json:
        return _print_json(r)
    click.echo(f"{verb} task {ref} of case {r['id']}")
    _print_ready(r)


@task.command("complete")
@click.argument("task_ref", metavar="TASK")
@data_option
@click.option("--onsite/--online", default=None,
              help="Whether the applicant came in person (default: the step's onsite annotation).")
@json_option
@click.pass_context
def task_complete(ctx, task_ref, data_items, onsite, as_json):
    """Complete a ready task of your department with data.

    \b
    Example:
      onetrip --as 赵警官 task complete 1.2 --data opinion=同意 --online
    """
    from engine.values import parse_items
    r = _service(ctx).complete_task(task_ref, parse_items(data_items), onsite)
    _after_task(r, task_ref, "completed", as_json)


@task.command("return")
@click.argument("task_ref", metavar="TASK")
@click.option("--reason", required=True, help="What the applicant must correct or supplement.")
@data_option
@click.option("--onsite/--online", default=None)
@json_option
@click.pass_context
def task_return(ctx, task_ref, reason, data_items, onsite, as_json):
    """Return a file for correction (补正): completes the task with returned=true.

    The model's gateway after the step routes the case back (condition
    ``returned``); the waiting time does not count toward the time limit.

    \b
    Example:
      onetrip --as 赵警官 task return 1.2 --reason 缺少居住证明
    """
    from engine.values import parse_items
    r = _service(ctx).complete_task(task_ref, parse_items(data_items), onsite, returned=True, reason=reason)
    _after_task(r, task_ref, "returned", as_json)


# ----------------------------------------------------------------- catalog

@main.group()
def catalog():
    """The high-frequency matter catalog (processes/ manifests, bpmn/ models)."""


@catalog.command("load")
@click.argument("directory", required=False, type=click.Path())
@json_option
@click.pass_context
def catalog_load(ctx, directory, as_json):
    """Upload every matter's before and after model (idempotent: same content, same versions).

    \b
    Example:
      onetrip --as 李设计 catalog load processes/
    """
    rows = _service(ctx).load_catalog(directory)
    if as_json:
        return _print_json(rows)
    new = sum(1 for r in rows if r["created"])
    click.echo(f"{len(rows)} versions of {len({r['matter_code'] for r in rows})} matters: "
               f"{new} uploaded, {len(rows) - new} unchanged")


@catalog.command("list")
@json_option
@click.pass_context
def catalog_list(ctx, as_json):
    """List the matters and 一件事 bundles with their versions.

    \b
    Example:
      onetrip catalog list --json
    """
    rows = _service(ctx).list_catalog()
    if as_json:
        return _print_json(rows)
    for r in rows:
        r["v"] = ", ".join(f"{v['label']} {v['id']}" for v in r["versions"])
        r["kind_zh"] = "一件事" if r["kind"] == "bundle" else "事项"
    _table(rows, [("code", "编码 code"), ("name", "名称 name"), ("kind_zh", "类型 kind"),
                  ("department", "部门 department"), ("v", "versions")])


@main.command()
@click.option("--cases", "cases", type=click.IntRange(1, 10_000), default=8, show_default=True,
              help="Simulated cases per matter and version.")
@click.option("--seed", type=int, default=2026, show_default=True, help="Same seed, same figures.")
@click.option("--report", type=click.Path(dir_okay=False), default="onetrip-report.html", show_default=True)
@click.option("--db", "demo_db", metavar="URL", help="Use this database instead of a fresh onetrip-demo.db.")
@click.pass_context
def demo(ctx, cases, seed, report, demo_db):
    """Load the catalog, simulate cases through both versions of every matter, compare, report.

    On a fresh embedded database (onetrip-demo.db, recreated) unless --db or
    ONETRIP_DB names one.  Prints the catalog-wide comparison, static and
    measured, with the city-style totals, and writes a self-contained HTML report.

    \b
    Example:
      onetrip demo --cases 20 --seed 7 --report 报告.html
    """
    from pathlib import Path
    root = ctx.find_root().obj
    db = demo_db or root.get("db") or os.environ.get("ONETRIP_DB")
    if not db:
        db = "onetrip-demo.db"
        for suffix in ("", "-wal", "-shm"):
            Path(db + suffix).unlink(missing_ok=True)
    root["db"] = db
    from engine.demo import run_demo
    from engine.report import render_comparison
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    svc = _service(ctx)
    with Progress(TextColumn("simulating cases"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True, console=_stderr_console()) as bar:
        def factory(total):
            job = bar.add_task("cases", total=total)
            return lambda: bar.advance(job)
        result = run_demo(svc, cases, seed, report, progress_factory=factory)
    click.echo(render_comparison(result.comparison, "table"), nl=False)
    click.echo(f"{result.cases} cases, {result.completions} task completions simulated in "
               f"{result.seconds:.1f} s on {db}")
    if result.report:
        click.echo(f"report written to {result.report}")


def _stderr_console():
    from rich.console import Console
    return Console(stderr=True)


# ---------------------------------------------------------------- analysis

@process.command("analyze")
@click.argument("targets", nargs=-1, required=True, metavar="FILE_OR_VERSION...")
@json_option
@click.pass_context
def process_analyze(ctx, targets, as_json):
    """Static metrics (steps, materials, visits, working days) and redesign findings.

    \b
    Example:
      onetrip process analyze bpmn/QYSLDJ.before.bpmn bpmn/QYSLDJ.after.bpmn
      onetrip process analyze 3 --json        # a stored version
    """
    rows = _service(ctx).analyze(list(targets))
    if as_json:
        return _print_json(rows)
    from engine.report import num
    for m in rows:
        where = m.get("file") or f"version {m.get('version')}"
        click.echo(f"{m['name']} ({m['process_id']}{', ' + m['matter_code'] if m.get('matter_code') else ''}) — {where}")
        click.echo(f"  steps {m['steps']}  materials {m['materials']}  visits {m['visits']}  "
                   f"promised {num(m['promised_workdays'])}{' (derived)' if m.get('promised_derived') else ''}  "
                   f"statutory {num(m['statutory_workdays'])}  tasks {m['tasks_total']}  "
                   f"{'online' if m['online'] else ''}")
        click.echo(f"  departments: {', '.join(m['lanes']) or '—'}")
        click.echo(f"  applicant materials: {', '.join(m['applicant_materials']) or '—'}"
                   + (f"; shared: {', '.join(m['shared_materials'])}" if m.get("shared_materials") else ""))
        for f in m["findings"]:
            click.echo(f"  finding [{f['kind']}] {f['message']}")


def _emit(ctx, text: str, output: str | None) -> None:
    if output:
        from pathlib import Path
        try:
            Path(output).write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            raise click.ClickException(f"{output}: cannot write: {exc.strerror}") from None
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


FORMAT_CHOICE = click.Choice(FORMATS)


@main.command()
@click.argument("before", nargs=1, required=False, type=click.Path())
@click.argument("after", nargs=1, required=False, type=click.Path())
@click.option("--stored", is_flag=True, help="Compare the latest uploaded before/after version of every matter.")
@click.option("--format", "fmt", type=FORMAT_CHOICE, default="table")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.pass_context
def compare(ctx, before, after, stored, fmt, output, as_json):
    """Compare before and after: per matter and in the city's totals (四减一优).

    BEFORE and AFTER are BPMN files or folders, paired by matter_code; no
    database needed.  With --stored, compares what was uploaded and adds the
    measured figures of real cases.

    \b
    Examples:
      onetrip compare bpmn/before/ bpmn/after/
      onetrip compare --stored --format csv -o 对比.csv
    """
    from engine.report import render_comparison
    fmt = "json" if as_json else fmt
    svc = _service(ctx)
    if stored:
        if before or after:
            raise click.UsageError("give either --stored or BEFORE and AFTER, not both")
        data = svc.compare_stored()
    else:
        if not (before and after):
            raise click.UsageError("give BEFORE and AFTER (files or folders), or --stored")
        data = svc.compare_files([before], [after], diagrams=fmt == "html")
    _emit(ctx, render_comparison(data, fmt), output)


@main.command()
@click.option("--matter", "matter_code", metavar="CODE")
@click.option("--since", metavar="DATE", help="Cases accepted on or after YYYY-MM-DD.")
@click.option("--until", metavar="DATE", help="Cases accepted on or before YYYY-MM-DD.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.pass_context
def metrics(ctx, matter_code, since, until, fmt, output, as_json):
    """Measured figures from real cases, in working days (China's official calendar).

    \b
    Example:
      onetrip metrics --matter JZZBL --since 2026-01-01 --format json
    """
    from engine.clock import parse_date
    from engine.report import render_metrics
    fmt = "json" if as_json else fmt
    result = _service(ctx).metrics(matter_code, parse_date(since) if since else None,
                                   parse_date(until) if until else None)
    _emit(ctx, render_metrics(result["matters"], fmt), output)


@main.command()
@click.option("--once", is_flag=True, help="One pass, then exit.")
@click.option("--interval", type=click.FloatRange(0.1, 3600), default=30.0, show_default=True,
              help="Seconds between passes.")
@click.option("--batch", type=click.IntRange(1, 100_000), default=1000, show_default=True,
              help="Cases per pass at most.")
@click.pass_context
def worker(ctx, once, interval, batch):
    """Run what no clerk runs: expired timers (escalations), and deadline reminders.

    Several workers may share one PostgreSQL database; none does a case twice.

    \b
    Example:
      onetrip --db postgresql://postgres@127.0.0.1/onetrip worker --interval 10
    """
    import time as _time
    svc = _service(ctx)
    while True:
        done = svc.run_due_timers(batch)
        reminders = svc.send_reminders()
        for r in reminders:
            state = "OVERDUE" if r["overdue"] else "due"
            click.echo(f"reminder: case {r['case']} {r['matter_code']} {state} {r['due_date']}")
        click.echo(f"worker: {done['timers']} timers fired in {done['cases']} cases, "
                   f"{len(reminders)} reminders")
        if once:
            break
        _time.sleep(interval)


@main.group()
def audit():
    """The tamper-evident audit trail of task events."""


@audit.command("verify")
@click.argument("case_id", required=False, metavar="[CASE]")
@json_option
@click.pass_context
def audit_verify(ctx, case_id, as_json):
    """Verify the hash chain of every case (or one): reports changed, inserted or deleted events.

    \b
    Example:
      onetrip --as 管理员 audit verify
    """
    r = _service(ctx).verify_audit(case_id)
    if as_json:
        _print_json(r)
    else:
        for f in r["findings"]:
            click.echo(f, err=True)
        if r["ok"]:
            click.echo(f"ok: {r['events']} events of {r['cases']} cases verified")
    if not r["ok"]:
        ctx.exit(1)


@main.group()
def calendar():
    """Working-day calendar: import holiday notices for new years."""


@calendar.command("import")
@click.argument("file", type=click.Path())
@json_option
@click.pass_context
def calendar_import(ctx, file, as_json):
    """Import a year's holidays and make-up working days (State Council notice).

    \b
    File format (TOML):
      year = 2027
      holidays = ["2027-01-01", "2027-02-06..2027-02-12"]
      workdays = ["2027-02-14"]
    """
    r = _service(ctx).import_calendar(file)
    if as_json:
        return _print_json(r)
    click.echo(f"imported {r['year']}: {r['holidays']} holidays, {r['workdays']} make-up working days "
               f"from {r['source']}; {r['due_dates_moved']} open cases' due dates recomputed")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

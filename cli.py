"""onetrip command line: parses arguments, calls one ``engine.service`` method, prints.

Heavy libraries (SQLAlchemy, SpiffWorkflow, rich) are imported inside the
commands, so ``onetrip --help`` stays fast.  Every engine error becomes one
line on stderr and a non-zero exit status here, in one place.
"""
from __future__ import annotations

import gc
import os
import sys

import click
from click.core import ParameterSource

from engine.errors import EXIT_BROKEN_PIPE, EXIT_ERROR, EXIT_SOFTWARE, OnetripError, one_line
from engine.roles import ROLES


# Start-up: this module is imported by every command, so it imports only click and engine base modules
# (errors, roles); what a command needs it imports when it runs (tests/test_cli_startup.py).

def term(value) -> str:
    """``engine.safetext.term``, imported when something is printed."""
    from engine.safetext import term as _term
    return _term(value)


def Col(*args, **kwargs):       # noqa: N802 - engine.report.Col, imported when a table is printed
    from engine.report import Col as _Col
    return _Col(*args, **kwargs)


class OneLineUsageError(click.UsageError):
    """A usage error as one line: ``Error: missing option '--reason' (see: onetrip task return --help)``."""

    def __init__(self, error: click.UsageError):
        super().__init__(error.format_message(), error.ctx)
        self.exit_code = error.exit_code

    def show(self, file=None) -> None:
        where = f" (see: {self.ctx.command_path} --help)" if self.ctx is not None else ""
        message = " ".join(self.format_message().split())
        if message[1:2].islower():      # click's "Missing option" reads on after "Error:"; ONETRIP_USER keeps its case
            message = message[:1].lower() + message[1:]
        click.echo(term(f"Error: {message}{where}"), file=file or sys.stderr)


def _quiet_broken_pipe() -> None:
    """The reader closed the pipe (``| head``): stop writing, say nothing, exit like a killed writer."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass        # not a real file (tests): nothing more will be flushed to it anyway
    raise click.exceptions.Exit(EXIT_BROKEN_PIPE)


class OnetripGroup(click.Group):
    """Turns engine errors into one clean line and an exit status."""

    def main(self, *args, **kwargs):
        """One command, with no garbage collection until its libraries are imported (:func:`_settled`)."""
        was_enabled = gc.isenabled()
        _GC.update(enable=was_enabled, freeze=gc.get_freeze_count() == 0, frozen=False)
        gc.disable()
        try:
            return super().main(*args, **kwargs)
        finally:
            if _GC["frozen"]:       # as it was (a test runs many commands in one process)
                gc.unfreeze()
            _GC.update(enable=False, frozen=False)
            if was_enabled:
                gc.enable()

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            raise OneLineUsageError(exc) from None
        except BrokenPipeError:         # `onetrip --help | head -1`
            _quiet_broken_pipe()

    def invoke(self, ctx):
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()
            return result
        except OnetripError as exc:
            err = click.ClickException(term(str(exc)))        # names from models: no control characters
            err.exit_code = exc.exit_code
            raise err from None
        except OneLineUsageError:
            raise
        except click.UsageError as exc:
            raise OneLineUsageError(exc) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except BrokenPipeError:
            _quiet_broken_pipe()
        except Exception as exc:  # a bug: still one line, never a traceback
            if os.environ.get("ONETRIP_DEBUG"):
                raise
            err = click.ClickException(one_line(f"internal error ({type(exc).__name__}: {exc}); "
                                                f"set ONETRIP_DEBUG=1 to see the traceback"))
            err.exit_code = EXIT_SOFTWARE
            raise err from None


#: The collector during one command: whether :func:`_settled` turns it back on (it was on when the command
#: began), whether it may freeze what the start-up made (nothing was frozen before), and whether it did.
_GC = {"enable": False, "freeze": False, "frozen": False}


def _settled() -> None:
    """The command's libraries are imported: from here on Python collects garbage as usual.

    A command starts by importing SQLAlchemy, SpiffWorkflow, httpx..., some 60,000 objects that live as
    long as the process; the collector's passes over them while they are made cost 10 % of a start-up
    (40-70 ms of `task complete`) and free nothing.  So ``main`` turns it off, and this, called where the
    imports are done (the Service, the fast reader, the server's client, `serve`, `process validate`),
    freezes what was made so far (``gc.freeze``: later passes skip it; for `serve` and `worker`, for the
    process's life) and turns the collector on again before any work that makes garbage."""
    if _GC["enable"]:
        if _GC["freeze"]:
            gc.freeze()
            _GC["frozen"] = True
        _GC["enable"] = False
        gc.enable()


def _service(ctx):
    """The service, bound to this command's context (--as/ONETRIP_USER, --now/ONETRIP_NOW), or, in remote
    mode, its HTTP client (the same methods); the call's warnings are printed to stderr when the command ends."""
    obj = ctx.find_root().obj
    if obj.get("service") is None:
        remote = _remote(ctx)
        if remote is not None:
            bound = obj["service"] = _client(remote)
            close_service = bound.close
        else:
            from engine.config import Settings
            from engine.context import Context
            from engine.service import Service
            settings = Settings.from_env(db=obj.get("db"), user=obj.get("user"), now=obj.get("now"))
            service = Service(settings)
            bound = obj["service"] = _Bound(service, Context(settings.user, settings.clock))
            close_service = service.dispose
        _settled()

        def close():
            for line in dict.fromkeys(bound.warnings):      # e.g. a year counted Monday–Friday
                click.echo(line, err=True)
            close_service()
        ctx.call_on_close(close)
    return obj["service"]


REMOTE_REFUSED = (("user", "--as", "ONETRIP_USER", "you act as the user you logged in as"),
                  ("db", "--db", "ONETRIP_DB", "the server holds the database"),
                  ("now", "--now", "ONETRIP_NOW", "the server's clock is the time"))


def _remote(ctx) -> str | None:
    """The server this command goes through, or None for direct database access.

    --server/ONETRIP_SERVER says so; otherwise a saved login does, unless --db/ONETRIP_DB names a
    database (an admin's direct access).  Through a server --as, --db and --now are refused."""
    obj = ctx.find_root().obj
    if "remote" not in obj:
        server = obj.get("server")
        if not server and not obj.get("db"):
            from onetrip_client import logins
            login = logins.saved()
            server = login["server"] if login else None
        if server:
            _refuse_local_settings(obj, f"through a server ({server})")
        obj["remote"] = server or None
    return obj["remote"]


def _refuse_local_settings(obj: dict, where: str) -> None:
    """--as, --db and --now mean nothing through a server; the message names the option or the
    variable, whichever the value came from."""
    for key, option, variable, why in REMOTE_REFUSED:
        if obj.get(key):
            given = variable if obj["given"][key] == ParameterSource.ENVIRONMENT else option
            raise click.UsageError(f"{given} is refused {where}: {why}")


def _client(server: str, need_login: bool = True):
    from onetrip_client import logins
    from onetrip_client.api import Client
    from engine.errors import AuthenticationFailed
    _settled()
    login = logins.saved(server)
    if login is None and need_login:
        raise AuthenticationFailed(f"not logged in to {logins.normalize(server)}: run onetrip login "
                                   f"{logins.normalize(server)} NAME")
    return Client(server, login["access_token"] if login else None)


def _local_only(ctx, what: str) -> None:
    """Commands that open the database themselves (or run no operation of the server)."""
    server = _remote(ctx)
    if server:
        from onetrip_client.api import LocalOnly
        raise LocalOnly(f"{what} needs direct database access: run it where the database is, with --db "
                        f"(this command would go through {server})")


def _read(ctx, name: str, *args):
    """A read the local CLI answers with SQLAlchemy Core alone (``engine.reads``: no ORM, no SpiffWorkflow,
    so the command starts fast); the Service answers it through a server, with a pinned clock, or
    whenever the reader defers (a refusal or a warning to give, a database to open properly)."""
    obj = ctx.find_root().obj
    if not _remote(ctx) and not obj.get("now"):
        from engine.config import Settings
        from engine.context import Context
        from engine.reads import Defer, Reader
        _settled()
        settings = Settings.from_env(db=obj.get("db"), user=obj.get("user"))
        try:
            return Reader(settings).call(name, Context(settings.user, settings.clock), *args)
        except Defer:
            pass
    return getattr(_service(ctx), name)(*args)


class _Bound:
    """``service.op(args)`` for ``service.op(context, args)``; keeps each result's warnings for stderr."""

    def __init__(self, service, context):
        self.service, self.context, self.warnings = service, context, []

    def __getattr__(self, name):
        from engine.protocol import OPERATIONS, take_warnings
        method = getattr(self.service, name)
        if name not in OPERATIONS:
            return method

        def call(*args, **kwargs):
            result = method(self.context, *args, **kwargs)
            self.warnings += take_warnings(result)
            return result
        return call


def _print_json(value) -> None:
    from engine.writers import json_text
    click.echo(json_text(value))


def _table(rows: list[dict], columns: list, title: str | None = None, row_style=None) -> None:
    """Print rows as a table that fits the terminal (80 columns in a pipe): text wraps,
    ids and dates never break, low-priority columns are dropped first.  Names are never
    read as markup and lose control characters (engine.safetext)."""
    if not rows:
        click.echo("(none)")
        return
    from engine.report import terminal_width
    width = terminal_width()
    if title is None and _plain_stdout():
        text = _plain_table(rows, columns, width)
        if text is not None:
            sys.stdout.write(text)
            return
    from rich.console import Console
    from engine.report import build_table
    console = Console(width=width, highlight=False, emoji=False)
    console.on_broken_pipe = _quiet_broken_pipe      # rich would exit 1; a closed pipe is no failure
    console.print(build_table(rows, columns, width, title, row_style))


#: Variables that make rich colour (or draw for a terminal) even when the output is not one.
_RICH_TERMINAL_VARIABLES = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS", "JUPYTER_LINES")


def _plain_stdout() -> bool:
    """Whether rich would print to stdout without colour or terminal codes: a pipe or a file."""
    if any(variable in os.environ for variable in _RICH_TERMINAL_VARIABLES):
        return False
    try:
        return not sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _plain_table(rows: list[dict], columns: list, width: int) -> str | None:
    """The text rich prints for ``engine.report.build_table(rows, columns, width)`` to a pipe (no colour),
    when every column fits on one line: rich's console and table code cost more to import than a
    command's own work.  None when a column would wrap or must be squeezed: rich draws those.
    ``tests/test_cli_startup.py`` checks it against rich, character for character."""
    from rich.cells import cell_len
    from engine.report import _cell
    from engine.safetext import clean
    fixed_kinds = ("id", "date", "num", "flag")

    def header(c) -> str:          # engine.report._stack: a bilingual header on two lines
        head, _, tail = c.header.partition(" ")
        return clean(head) + ("\n" + clean(tail) if tail else "")

    def least(c) -> int:           # build_table's least(): a column's narrowest width
        head = max(cell_len(part) for part in header(c).split("\n"))
        cells = max([cell_len(_cell(r.get(c.key))) for r in rows] or [0])
        return max(head, cells) if c.kind in fixed_kinds else max(head, min(8, cells), 1)

    columns = list(columns)
    while 3 * (len(columns) - 1) + sum(least(c) for c in columns) > width:     # build_table's drop order
        droppable = [c for c in columns if c.drop]
        if not droppable:
            return None
        columns.remove(max(droppable, key=lambda c: (c.drop, columns.index(c))))
    n = len(columns)
    if not n:
        return None
    heads = [header(c) for c in columns]
    cells = [[clean(_cell(r.get(c.key))) for c in columns] for r in rows]
    widths = []                     # rich's column widths: the widest line, padding included
    for i, c in enumerate(columns):
        content = max([cell_len(line) for line in heads[i].splitlines()] + [cell_len(row[i]) for row in cells])
        if c.kind not in fixed_kinds:
            content = max(content, least(c))        # the column's min_width
        pad = (i > 0) + (i < n - 1)                 # pad_edge=False: no padding at the table's edges
        widths.append((content + pad) or 1)
    if width - (n - 1) < 1 or sum(widths) > width - (n - 1):
        return None                 # something wraps: rich's layout

    def line(texts: list[str]) -> str:
        out = []
        for i, (c, text) in enumerate(zip(columns, texts)):
            room = widths[i] - (i > 0) - (i < n - 1)
            if c.kind == "num":     # justify="right" strips trailing space first
                text = text.rstrip()
                text = " " * (room - cell_len(text)) + text
            else:
                text = text + " " * (room - cell_len(text))
            out.append(" " * (i > 0) + text + " " * (i < n - 1))
        return " ".join(out) + "\n"

    head_lines = [h.split("\n") for h in heads]
    height = max(len(h) for h in head_lines)
    head_lines = [[""] * (height - len(h)) + h for h in head_lines]      # header cells align to the bottom
    text = "".join(line([h[k] for h in head_lines]) for k in range(height))
    text += "\u2500" * (sum(widths) + n - 1) + "\n"
    return text + "".join(line(row) for row in cells)


def _when(value: str | None) -> str | None:
    """``2026-03-02T09:00:00`` → ``2026-03-02 09:00`` (minutes are what a clerk reads)."""
    return value[:16].replace("T", " ") if value and len(value) >= 16 else value


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
data_option = click.option("--data", "data_items", multiple=True, metavar="KEY=TEXT|KEY:=JSON",
                           help="Data for the case: KEY=TEXT is text exactly as typed (电话=013800138000 keeps "
                                "its 0); KEY:=JSON is a JSON value (age:=30, ok:=true, items:='[1,2]'). "
                                "Repeatable.")


@click.group(cls=OnetripGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", metavar="URL", envvar="ONETRIP_DB", help="Database URL or SQLite file (default onetrip.db; env ONETRIP_DB). "
              "Only `init` creates a new one.")
@click.option("--as", "user", metavar="USER", envvar="ONETRIP_USER", help="Acting user (env ONETRIP_USER).")
@click.option("--now", metavar="DATETIME", envvar="ONETRIP_NOW", help="Pin the clock, e.g. 2026-03-02T09:00 (env ONETRIP_NOW).")
@click.option("--server", metavar="URL", envvar="ONETRIP_SERVER", help="Go through this onetrip server (env ONETRIP_SERVER; default: the "
              "server of your saved login, unless --db names a database).  See `onetrip login`.")
@click.version_option(package_name="onetrip")
@click.pass_context
def main(ctx, db, user, now, server):
    """onetrip — run government service matters on BPMN and measure 最多跑一次.

    \b
    Quick tour (onetrip.db in the current folder; bpmn/ and processes/ are
    the shipped catalog's when the current folder has none):
      onetrip init
      onetrip user add 管理员 --role admin
      onetrip --as 管理员 user add 李设计 --role designer
      onetrip --as 管理员 user add 赵警官 --role clerk --department 公安局
      onetrip --as 李设计 process upload bpmn/JZZBL.after.bpmn
      onetrip --as 赵警官 case start JZZBL --data applicant=张三
      onetrip --as 赵警官 task list

    Through an office's server (`onetrip serve`): `onetrip login URL NAME` once, then the same
    commands without --as and --db.
    """
    ctx.ensure_object(dict)
    # click reads the environment for these (envvar=); where a value came from is kept for messages
    ctx.obj.update(db=db, user=user, now=now, server=server,
                   given={name: ctx.get_parameter_source(name) for name in ("db", "user", "now", "server")})


@main.command()
@click.option("--simulation", is_flag=True, help="Mark the database as a simulation: only then may --now or "
              "ONETRIP_NOW pin its clock (tests, training).  A real office's database keeps the machine's clock.")
@json_option
@click.pass_context
def init(ctx, simulation, as_json):
    """Create or upgrade the database schema.

    Other commands refuse a database file that does not exist yet (a mistyped
    --db).  For PostgreSQL pass its URL: --db postgresql://postgres@127.0.0.1/onetrip.

    \b
    Example:
      onetrip init
    """
    _local_only(ctx, "init")
    result = _service(ctx).init(simulation=simulation)
    if as_json:
        return _print_json(result)
    click.echo(term(f"database {result['database']} at schema revision {result['schema_revision']}"
                    + (" (a simulation: its clock may be pinned)" if result["simulation"] else "")))


# ------------------------------------------------------------------ users

@main.group()
def user():
    """Manage users (designers, clerks, reformers, admins)."""


@user.command("add")
@click.argument("name")
@click.option("--department", metavar="DEPT", help="Department = the BPMN lane name a clerk works in.")
@click.option("--role", type=click.Choice(ROLES), required=True)
@json_option
@click.pass_context
def user_add(ctx, name, department, role, as_json):
    """Add a user. Open on a fresh database; admin-only once an admin exists.

    A clerk's department is the name of a BPMN lane: the clerk sees the ready
    tasks of that lane.  A department no uploaded model has gets a warning
    listing the known ones.

    \b
    Example:
      onetrip --as 管理员 user add 王窗口 --department 政务服务中心综合窗口 --role clerk
    """
    record = _service(ctx).add_user(name, department, role)
    if as_json:
        _print_json(record)
    else:
        click.echo(term(f"added {record['role']} {record['name']}"
                        + (f" of {record['department']}" if record["department"] else "")))
    if record.get("warning"):
        click.echo(term(f"warning: {record['warning']}"), err=True)


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
    _table(rows, [Col("name", "用户 user"), Col("role", "角色 role", "flag"), Col("department", "部门 department")])


@user.command("password")
@click.argument("name")
@json_option
@click.pass_context
def user_password(ctx, name, as_json):
    """Set a user's login password (read from stdin; typed twice, unseen, at a terminal).

    A user sets their own; an admin sets anyone's.  Their existing logins end.

    \b
    Example:
      onetrip --as 管理员 user password 王窗口
      printf '%s\\n' "$PASSWORD" | onetrip --as 王窗口 user password 王窗口
    """
    service = _service(ctx)
    if sys.stdin.isatty():
        password = click.prompt("password", hide_input=True, confirmation_prompt=True, default="",
                                show_default=False, err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    record = service.set_password(name, password)
    if as_json:
        return _print_json(record)
    click.echo(term(f"password set for {record['name']}"))


@user.command("revoke")
@click.argument("name")
@json_option
@click.pass_context
def user_revoke(ctx, name, as_json):
    """End every login of a user: their tokens stop working at once (admin).

    \b
    Example:
      onetrip --as 管理员 user revoke 王窗口
    """
    record = _service(ctx).revoke_user(name)
    if as_json:
        return _print_json(record)
    click.echo(term(f"revoked {record['revoked']} token(s) of {record['name']}"))


# ---------------------------------------------------------------- process

@main.group()
def process():
    """Validate, upload and inspect BPMN process models."""


def _shipped(path: str) -> str:
    """``bpmn/X.bpmn`` or ``processes/`` from the shipped catalog when the current folder has none,
    so the help examples and the README work from any folder (said on stderr)."""
    from pathlib import Path
    p = Path(path)
    if p.exists() or p.is_absolute() or not p.parts or p.parts[0] not in ("bpmn", "processes"):
        return path
    shipped = Path(__file__).resolve().parent / p
    if not shipped.exists():
        return path
    click.echo(term(f"note: no {path} here; using the shipped catalog's {shipped}"), err=True)
    return str(shipped)


def _bpmn_files(paths) -> list[str]:
    """Files as given; a folder stands for the .bpmn files in it (a shell glob need not match)."""
    from pathlib import Path
    out = []
    for path in map(_shipped, paths):
        p = Path(path)
        out += sorted(str(q) for q in p.glob("*.bpmn")) if p.is_dir() else [path]
    return out


def _label_from_name(file: str, label: str | None) -> str:
    """``--label`` from ``*.before.bpmn``/``*.after.bpmn`` when not given."""
    if label:
        return label
    lowered = file.lower()
    for guess in ("before", "after"):
        if lowered.endswith(f".{guess}.bpmn") or lowered.endswith(f".{guess}.xml"):
            return guess
    raise click.UsageError("missing option '--label' (before or after): the file name does not end in "
                           ".before.bpmn or .after.bpmn")


def _days(value) -> str:
    from engine.report import num
    return num(value)


process_option = click.option(
    "--process", "process_id", metavar="ID",
    help="The process to run when a file holds several (pools of a collaboration).")


@process.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True))
@process_option
@json_option
@click.pass_context
def process_validate(ctx, files, process_id, as_json):
    """Check BPMN files: well-formed, BPMN 2.0, runs as drawn.

    Prints one line per problem, FILE:LINE: ELEMENT_ID: message, and exits 1
    if any file is invalid.  Needs no database.  A folder stands for the
    .bpmn files in it.  The files are checked together: a call activity may
    call a process of another file given (validate MAIN.bpmn CALLED.bpmn);
    --process ID chooses the process of a file with several pools.

    \b
    Example:
      onetrip process validate bpmn/
    """
    if _remote(ctx):
        results = _service(ctx).validate(_bpmn_files(files), process_id)
    else:
        from engine.config import Settings
        from engine.context import Context
        from engine.service import Service
        _settled()
        settings = Settings.from_env(db=":memory:")
        results = Service(settings).validate(Context(None, settings.clock), _bpmn_files(files), process_id)
    if as_json:
        _print_json(results)
    else:
        for r in results:
            if r["valid"]:
                click.echo(term(f"{r['file']}: ok ({r['process_id']}"
                                + (f", matter {r['matter_code']}" if r["matter_code"] else "") + ")"))
            for problem in r["problems"]:
                click.echo(term(problem), err=True)
    if not all(r["valid"] for r in results):
        ctx.exit(EXIT_ERROR)


@process.command("upload")
@click.argument("files", nargs=-1, required=True, type=click.Path(), metavar="FILE [CALLED_FILE...]")
@click.option("--label", type=click.Choice(["before", "after"]),
              help="before or after the re-engineering (default: from a *.before.bpmn/*.after.bpmn name).")
@click.option("--matter", "matter_code", metavar="CODE", help="Matter code (default: process property matter_code).")
@click.option("--descriptive", is_flag=True,
              help="Store a model that cannot run, for analysis only (marked non-executable with the reasons).")
@process_option
@json_option
@click.pass_context
def process_upload(ctx, files, label, matter_code, descriptive, process_id, as_json):
    """Upload a BPMN model as the before or after version of a matter.

    Several files make one version (upload MAIN.bpmn CALLED.bpmn ...): the
    first is the main model, and its call activities resolve to the processes
    of the others; a call to a process in none of them binds to the current
    stored version of that process id (`process show` says which).  --process
    ID chooses the process of a file with several pools.  Uploading the same
    content again returns the existing version.

    \b
    Example:
      onetrip --as 李设计 process upload bpmn/JZZBL.before.bpmn
      onetrip --as 李设计 process upload bpmn/CJRZSL.after.bpmn --label after
    """
    label = _label_from_name(files[0], label)
    record = _service(ctx).upload([_shipped(f) for f in files], label, matter_code,
                                  allow_descriptive=descriptive, process_id=process_id)
    if as_json:
        return _print_json(record)
    verb = "uploaded" if record["created"] else (
        "made current again:" if record.get("reactivated") else "already uploaded")
    note = "" if record["executable"] else " (descriptive: analysis only)"
    click.echo(term(f"{verb} version {record['id']}: {record['matter_code']} {record['label']} "
                    f"{record['process_id']} sha256 {record['sha256'][:12]}{note}"))


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
    rows = _read(ctx, "list_versions", matter_code)
    if as_json:
        return _print_json(rows)
    for r in rows:
        r["sha"] = r["sha256"][:12]
        r["run"] = "yes" if r["executable"] else "no"
        r["when"] = _when(r["uploaded_at"])
    _table(rows, [Col("id", "版本 id", "id"), Col("matter_code", "事项 matter", "id"),
                  Col("matter_name", "名称 name", drop=2), Col("label", "标签 label", "flag"),
                  Col("process_id", "流程 process", "id", 4), Col("run", "可运行 runs", "flag", 3),
                  Col("sha", "sha256", "id", 1), Col("when", "上传 uploaded", "date", 5)])


@process.command("show")
@click.argument("version")
@json_option
@click.pass_context
def process_show(ctx, version, as_json):
    """Show one process version with its static metrics and any reasons it cannot run.

    \b
    Example:
      onetrip process show 1 --json
    """
    r = _service(ctx).show_version(version)
    if as_json:
        return _print_json(r)
    click.echo(term(f"version {r['id']}: {r['matter_code']} {r['matter_name']} ({r['label']})"))
    click.echo(term(f"  process {r['process_id']}  file {r['filename']}  sha256 {r['sha256']}"))
    click.echo(term(f"  uploaded by {r['uploaded_by']} at {_when(r['uploaded_at'])}; {r['cases']} case(s)"))
    m = r.get("metrics") or {}
    if m:
        click.echo(f"  steps {m.get('steps')}  materials {m.get('materials')}  visits {m.get('visits')}  "
                   f"promised {_days(m.get('promised_workdays'))}  statutory {_days(m.get('statutory_workdays'))} "
                   f"working days")
    if len(r.get("files") or []) > 1:
        click.echo(term(f"  files: {', '.join(r['files'])}"))
    for b in r.get("bindings") or []:
        where = (f"stored version {b['version']} ({b['matter_code']} {b['label']}, {b['file']})"
                 if b.get("version") else f"{b['file']} of this upload")
        click.echo(term(f"  calls {b['process_id']}: bound to {where}"))
    for t in r.get("translations") or []:
        click.echo(term(f"  translated {t['element']} {t['what']}: {t['original']}  →  {t['python']}"))
    for p in r["problems"]:
        click.echo(term(f"  cannot run: {p}"))


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
      onetrip --as 赵警官 case start JZZBL --data applicant=张三 --data age:=30
    """
    from engine.values import parse_items
    r = _service(ctx).start_case(matter_code, label, parse_items(data_items))
    if as_json:
        return _print_json(r)
    click.echo(term(f"started case {r['id']}: {r['matter_code']} {r['matter_name']} ({r['label']})"
                    + (f", due {r['due_date']}" if r["due_date"] else "")))
    _print_ready(r)


def _print_ready(r: dict) -> None:
    if r["status"] == "completed":
        click.echo(f"case {r['id']} completed")
    for t in r["ready"]:
        click.echo(term(f"  ready: {t['id']}  {t['name']}  [{t['lane'] or 'any department'}]"
                        + ("  现场 onsite" if t.get("onsite") else "")))


def _overdue_style(row: dict):
    return "red" if row.get("overdue") else None


@case.command("list")
@click.option("--status", type=click.Choice(["open", "completed", "quarantine", "cancelled"]))
@click.option("--matter", "matter_code", metavar="CODE")
@json_option
@click.pass_context
def case_list(ctx, status, matter_code, as_json):
    """List cases, earliest due date first; overdue ones are marked 超期 (in red on a terminal).

    \b
    Example:
      onetrip case list --status open --matter JZZBL
    """
    rows = _read(ctx, "list_cases", status, matter_code)
    if as_json:
        return _print_json(rows)
    for r in rows:
        r["due"] = (r["due_date"] or "") + (" 超期" if r["overdue"] else "")
        r["accepted"] = _when(r["accepted_at"])
        r["state"] = {"open": "办理中 open", "completed": "办结 done"}.get(r["status"], r["status"])
    _table(rows, [Col("id", "案件 case", "id"), Col("matter_code", "事项 matter", "id"),
                  Col("matter_name", "名称 name", drop=2), Col("label", "版本 label", "flag", 3),
                  Col("state", "状态 status", "flag"), Col("accepted", "受理 accepted", "date", 1),
                  Col("due", "到期 due", "date")], row_style=_overdue_style)


_ACTIONS = {"start": "受理", "complete": "办结", "return": "退回补正", "remind": "提醒", "timer": "定时",
            "finish": "结案"}


def _where(e: dict) -> str:
    """现场/网上 and who decided it: the clerk (--onsite/--online) or the model's default."""
    if e.get("action") not in ("complete", "return"):
        return ""
    place = "现场" if e["onsite"] else "网上"
    if "onsite_marked" in (e.get("data") or {}):
        return place + " (经办人标记)"
    return place + (" (模型默认)" if e.get("onsite_default") is not None else "")


@case.command("show")
@click.argument("case_id")
@json_option
@click.pass_context
def case_show(ctx, case_id, as_json):
    """Show a case with its history (every step, actor and time) and measured figures.

    The last column says where each step was done: 现场 (the applicant came in
    person) or 网上, and who said so: the clerk with --onsite/--online
    (经办人标记) or, with neither, the step's annotation in the model (模型默认).

    \b
    Example:
      onetrip case show 1
    """
    r = _read(ctx, "show_case", case_id)
    if as_json:
        return _print_json(r)
    click.echo(term(f"case {r['id']}: {r['matter_code']} {r['matter_name']} ({r['label']}) — {r['status']}"
                    + (f", due {r['due_date']}" if r["due_date"] else "") + (" 超期 OVERDUE" if r["overdue"] else "")))
    if r.get("quarantine"):
        q = r["quarantine"]
        click.echo(term(f"QUARANTINED by the worker at {q['at']}: {q['reason']} — after fixing the cause, release "
                        f"it with `{q['release']}`, or cancel it with `onetrip --as ADMIN case cancel {r['id']} "
                        f"--reason ...`"))
    for e in r["events"]:
        e["where"] = _where(e)
        e["when"] = _when(e["at"])
        e["what"] = _ACTIONS.get(e["action"], e["action"])
    _table(r["events"], [Col("seq", "#", "num"), Col("when", "时间 time", "date"), Col("what", "动作 action", "flag"),
                         Col("task", "任务 task", "id"), Col("name", "环节 step"),
                         Col("lane", "部门 department", drop=2), Col("actor", "经办人 actor", drop=1),
                         Col("where", "现场 where", "flag")])
    m = r.get("measured") or {}
    if m:
        click.echo(f"measured: {_count(m['steps'], 'step')}, {_count(m['trips'], 'trip')} (现场), "
                   f"{_count(m['returns'], 'return')}, {_count(m['materials'], 'material')}"
                   + (f", clock stopped {m['paused_workdays']} working day(s) for 补正" if m.get("paused_workdays")
                      else ""))
    _print_ready(r)


@case.command("cancel")
@click.argument("case_id")
@click.option("--reason", required=True, help="Why the case is cancelled (recorded in its history).")
@json_option
@click.pass_context
def case_cancel(ctx, case_id, reason, as_json):
    """Cancel a case (admins): none of its tasks stays ready.

    Works on a case whose stored state can no longer be loaded.

    \b
    Example:
      onetrip --as 管理员 case cancel 1 --reason 申请人撤回申请
    """
    r = _service(ctx).cancel_case(case_id, reason)
    if as_json:
        return _print_json(r)
    click.echo(f"cancelled case {r['id']}: {r['matter_code']} {r['matter_name']}")


@case.command("release")
@click.argument("case_id")
@json_option
@click.pass_context
def case_release(ctx, case_id, as_json):
    """Release a case the worker quarantined (admins): the worker tries its timers again.

    \b
    Example:
      onetrip --as 管理员 case release 1
    """
    r = _service(ctx).release_case(case_id)
    if as_json:
        return _print_json(r)
    if not r["events"] or r["events"][-1]["action"] != "release":
        return click.echo(f"case {r['id']} is {r['status']}, not quarantined: nothing to release")
    click.echo(f"released case {r['id']}: the worker will try its timers again")


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

    Tasks of an overdue case are marked 超期 (in red on a terminal).

    \b
    Example:
      onetrip --as 赵警官 task list
      onetrip task list --all --case 1
    """
    rows = _read(ctx, "list_tasks", case_id, show_all)
    if as_json:
        return _print_json(rows)
    for r in rows:
        r["where"] = "现场" if r["onsite"] else ""
        r["due"] = (r["due_date"] or "") + (" 超期" if r.get("overdue") else "")
    _table(rows, [Col("id", "任务 task", "id"), Col("matter_code", "事项 matter", "id"), Col("name", "环节 step"),
                  Col("lane", "部门 department", drop=1), Col("due", "到期 due", "date"),
                  Col("where", "现场 onsite", "flag", 2)], row_style=_overdue_style)


@task.command("show")
@click.argument("task_ref", metavar="TASK")
@json_option
@click.pass_context
def task_show(ctx, task_ref, as_json):
    """Show a ready task and the case data it sees.

    \b
    Example:
      onetrip task show 1.1
    """
    import json
    r = _service(ctx).show_task(task_ref)
    if as_json:
        return _print_json(r)
    click.echo(term(f"task {r['id']}: {r['name']} ({r['task']}) of case {r['case']} {r['matter_code']}"))
    click.echo(term(f"  department {r['lane'] or 'any'}; ready since {_when(r['ready_at'])}"
                    + ("; applicant comes in person (现场)" if r["onsite"] else "")))
    if r.get("returnable") is not None:
        click.echo("  can be returned for correction (task return)" if r["returnable"]
                   else "  cannot be returned: the model has no correction loop after this step")
    for k, v in sorted(r["data"].items()):
        click.echo(term(f"  {k} = {json.dumps(v, ensure_ascii=False, default=str)}"))


def _after_task(r: dict, ref: str, verb: str, as_json: bool) -> None:
    if as_json:
        return _print_json(r)
    click.echo(term(f"{verb} task {ref} of case {r['id']}"))
    _print_ready(r)


ONSITE_HELP = ("Whether the applicant came in person for this step (a trip, counted in 跑动): --onsite yes, "
               "--online no.  Default: the step's model annotation `onsite` (task list shows 现场 for those).")


@task.command("complete")
@click.argument("task_ref", metavar="TASK")
@data_option
@click.option("--onsite/--online", default=None, help=ONSITE_HELP)
@json_option
@click.pass_context
def task_complete(ctx, task_ref, data_items, onsite, as_json):
    """Complete a ready task of your department with data.

    \b
    Example:
      onetrip --as 赵警官 task complete 1.1 --data opinion=同意 --online
    """
    from engine.values import parse_items
    r = _service(ctx).complete_task(task_ref, parse_items(data_items), onsite)
    _after_task(r, task_ref, "completed", as_json)


@task.command("return")
@click.argument("task_ref", metavar="TASK")
@click.option("--reason", required=True, help="What the applicant must correct or supplement.")
@data_option
@click.option("--onsite/--online", default=None, help=ONSITE_HELP)
@json_option
@click.pass_context
def task_return(ctx, task_ref, reason, data_items, onsite, as_json):
    """Return a file for correction (补正): completes the task with returned=true.

    Only a step the model can send back (an exclusive gateway after it with
    the condition ``returned``) may be returned; `task show` says which.  The
    waiting time does not count toward the time limit.

    \b
    Example:
      onetrip --as 赵警官 task return 2.1 --reason 缺少居住证明
    """
    from engine.values import parse_items
    r = _service(ctx).return_task(task_ref, reason, parse_items(data_items), onsite)
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

    DIRECTORY defaults to processes/ in the current folder, else the shipped catalog.

    \b
    Example:
      onetrip --as 李设计 catalog load
    """
    rows = _service(ctx).load_catalog(_shipped(directory) if directory else None)
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
      onetrip catalog list
    """
    rows = _service(ctx).list_catalog()
    if as_json:
        return _print_json(rows)
    for r in rows:
        r["v"] = ", ".join(f"{v['label']} {v['id']}" for v in r["versions"])
        r["kind_zh"] = "一件事" if r["kind"] == "bundle" else "事项"
    _table(rows, [Col("code", "编码 code", "id"), Col("name", "名称 name"), Col("kind_zh", "类型 kind", "flag"),
                  Col("department", "部门 department", drop=1), Col("v", "版本 versions", drop=2)])


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
    ONETRIP_DB names one; an existing database gets the demo's users
    (管理员, 流程设计员, one clerk per department) and simulated cases beside
    its own.  Prints the catalog-wide comparison, static and measured, with
    the city-style totals, and writes a self-contained HTML report.

    \b
    Example:
      onetrip demo --cases 1 --seed 7 --report 报告.html
    """
    from pathlib import Path
    _local_only(ctx, "demo")
    root = ctx.find_root().obj
    db = demo_db or root.get("db")
    if not db:
        db = "onetrip-demo.db"
        for suffix in ("", "-wal", "-shm"):
            Path(db + suffix).unlink(missing_ok=True)
    root["db"] = db
    from engine.demo import run_demo
    from engine.report import render_comparison, terminal_width
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    svc = _service(ctx)
    console = _stderr_console()
    with Progress(TextColumn("simulating cases"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True, console=console, disable=not console.is_terminal) as bar:
        def factory(total):
            job = bar.add_task("cases", total=total)
            return lambda: bar.advance(job)
        result = run_demo(svc.service, cases, seed, report, progress_factory=factory)
    svc.warnings += result.warnings
    click.echo(render_comparison(result.comparison, "table", terminal_width()), nl=False)
    click.echo(f"{result.cases} cases, {result.completions} task completions simulated in "
               f"{result.seconds:.1f} s on {db}")
    if result.report:
        click.echo(term(f"report written to {result.report}"))


def _stderr_console():
    from rich.console import Console
    console = Console(stderr=True)
    console.on_broken_pipe = _quiet_broken_pipe
    return console


# ---------------------------------------------------------------- analysis

@process.command("analyze")
@click.argument("targets", nargs=-1, required=True, metavar="FILE_OR_VERSION...")
@process_option
@json_option
@click.pass_context
def process_analyze(ctx, targets, process_id, as_json):
    """Static metrics (steps, materials, visits, working days) and redesign findings.

    \b
    Example:
      onetrip process analyze bpmn/QYSLDJ.before.bpmn bpmn/QYSLDJ.after.bpmn
      onetrip process analyze 1 --json        # a stored version
    """
    rows = _service(ctx).analyze([_shipped(t) for t in targets], process_id)
    if as_json:
        return _print_json(rows)
    from engine.report import num
    for m in rows:
        names = m.get("material_names") or {}

        def named(ids):
            return "、".join(names.get(i) or i for i in ids) or "—"
        where = m.get("file") or f"version {m.get('version')}"
        click.echo(term(f"{m['name']} ({m['process_id']}{', ' + m['matter_code'] if m.get('matter_code') else ''})"
                        f" — {where}"))
        click.echo(f"  steps {m['steps']}  materials {m['materials']}  visits {m['visits']}  "
                   f"promised {num(m['promised_workdays'])}{' (derived)' if m.get('promised_derived') else ''}  "
                   f"statutory {num(m['statutory_workdays'])}  tasks {m['tasks_total']}"
                   f"{'  online' if m['online'] else ''}")
        click.echo(term(f"  departments: {'、'.join(m['lanes']) or '—'}"))
        click.echo(term(f"  applicant materials: {named(m['applicant_materials'])}"
                        + (f"; shared: {named(m['shared_materials'])}" if m.get("shared_materials") else "")))
        for f in m["findings"]:
            click.echo(term(f"  finding [{f['kind']}] {_name_ids(f['message'], names)}"))


def _name_ids(message: str, names: dict) -> str:
    """Material ids in a finding read as their names (身份证 rather than DataRef_id_card)."""
    import re
    named = re.sub(r"\b[A-Za-z_][\w.-]*\b", lambda m: names.get(m.group(0), m.group(0)), message)
    return re.sub(r"(\S+) \(\1\)", r"\1", named)        # "身份证 (身份证)" once named


def _emit(ctx, text: str, output: str | None) -> None:
    if output:
        from pathlib import Path
        try:
            Path(output).write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            raise click.ClickException(term(f"{output}: cannot write: {exc.strerror}")) from None
        click.echo(term(f"wrote {output}"), err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


class _FormatChoice(click.Choice):
    """``click.Choice(engine.report.FORMATS)``, read when the option is parsed or its help shown, so that
    defining the commands does not import the renderers."""

    def __init__(self):
        super().__init__(())

    @property
    def choices(self):
        from engine.report import FORMATS
        return FORMATS

    @choices.setter
    def choices(self, value):       # click.Choice.__init__ sets it; the renderers' list is the one
        pass


FORMAT_CHOICE = _FormatChoice()


@main.command()
@click.argument("before", nargs=1, required=False, type=click.Path())
@click.argument("after", nargs=1, required=False, type=click.Path())
@click.option("--stored", is_flag=True, help="Compare the latest uploaded before/after version of every matter.")
@click.option("--format", "fmt", type=FORMAT_CHOICE, default="table",
              help="table (fits the terminal), json (machine names), csv (Excel: Chinese headers, "
                   "percentages), markdown or html.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.pass_context
def compare(ctx, before, after, stored, fmt, output, as_json):
    """Compare before and after: per matter and in the city's totals (四减一优).

    BEFORE and AFTER are BPMN files or folders, paired by matter_code; no
    database needed.  One folder alone holding *.before.bpmn and *.after.bpmn
    is both sides.  With --stored, compares what was uploaded and adds the
    measured figures of real cases.  一件事 bundles (known from the catalog's
    processes/ manifests) are listed but left out of the totals either way.

    \b
    Examples:
      onetrip compare bpmn/
      onetrip compare bpmn/CJRZSL.before.bpmn bpmn/CJRZSL.after.bpmn
      onetrip compare --stored --format csv -o 对比.csv
    """
    from engine.report import render_comparison, terminal_width
    fmt = "json" if as_json else fmt
    if stored:
        if before or after:
            raise click.UsageError("give either --stored or BEFORE and AFTER, not both")
        data = _read(ctx, "compare_stored")
    else:
        if not before:
            raise click.UsageError("give BEFORE and AFTER (files or folders), one folder of "
                                   "*.before.bpmn/*.after.bpmn, or --stored")
        before = _shipped(before)
        after = _shipped(after) if after else before
        from pathlib import Path
        if not Path(after).is_dir() and after == before:
            raise click.UsageError("give BEFORE and AFTER: one argument must be a folder")
        data = _service(ctx).compare_files([before], [after], diagrams=fmt == "html")
    if fmt == "html":
        from engine.html_report import render_html
        text = render_html(data, data.pop("diagrams", None))
    else:
        text = render_comparison(data, fmt, 100_000 if output else terminal_width())
    _emit(ctx, text, output)


@main.command()
@click.option("--matter", "matter_code", metavar="CODE")
@click.option("--since", metavar="DATE", help="Cases accepted on or after YYYY-MM-DD.")
@click.option("--until", metavar="DATE", help="Cases accepted on or before YYYY-MM-DD.")
@click.option("--format", "fmt", type=FORMAT_CHOICE, default="table",
              help="table (fits the terminal), json (machine names), csv (Excel: Chinese headers, "
                   "percentages), markdown or html.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.pass_context
def metrics(ctx, matter_code, since, until, fmt, output, as_json):
    """Measured figures from real cases, in working days (China's official calendar).

    \b
    Example:
      onetrip metrics --matter JZZBL --since 2026-01-01 --format json
    """
    from engine.clock import parse_date
    from engine.report import render_metrics, terminal_width
    fmt = "json" if as_json else fmt
    result = _read(ctx, "metrics", matter_code, parse_date(since) if since else None,
                   parse_date(until) if until else None)
    if fmt == "html":
        from engine.html_report import render_metrics_html
        text = render_metrics_html(result["matters"])
    else:
        text = render_metrics(result["matters"], fmt, 100_000 if output else terminal_width())
    _emit(ctx, text, output)


@main.command()
@click.option("--once", is_flag=True, help="One pass, then exit.")
@click.option("--interval", type=click.FloatRange(0.1, 3600), default=30.0, show_default=True,
              help="Seconds between passes.")
@click.option("--batch", type=click.IntRange(1, 100_000), default=1000, show_default=True,
              help="Cases per pass at most.")
@click.pass_context
def worker(ctx, once, interval, batch):
    """Run what no clerk runs: expired timers (escalations), and deadline reminders.

    Each due case runs on its own, within the step limits; a case that fails
    3 times in a row is quarantined (see `case show`, `case release`).
    Several workers may share one PostgreSQL database (--db postgresql://…);
    none does a case twice.

    \b
    Example:
      onetrip --as 管理员 worker --once
    """
    import time as _time
    _local_only(ctx, "worker")
    svc = _service(ctx)
    while True:
        done = svc.run_due_timers(batch)
        reminders = svc.send_reminders()
        for r in reminders:
            state = "OVERDUE" if r["overdue"] else "due"
            click.echo(term(f"reminder: case {r['case']} {r['matter_code']} {state} {r['due_date']}"))
        for f in done.get("failures", ()):
            state = "quarantined" if f["quarantined"] else "will retry"
            click.echo(term(f"worker: case {f['case']} failed ({state}): {f['error']}"), err=True)
        click.echo(f"worker: {done['timers']} timers fired in {done['cases']} cases, "
                   f"{len(reminders)} reminders"
                   + (f", {len(done['failures'])} cases failed" if done.get("failures") else ""))
        if once:
            break
        _time.sleep(interval)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


@main.group()
def audit():
    """The tamper-evident audit trail of task events: verify it, sign checkpoints of it."""


def _key_option(f):
    return click.option("--key", "key", type=click.Path(dir_okay=False), default=None,
                        help="the Ed25519 private key file (default: $ONETRIP_AUDIT_KEY)")(f)


@audit.command("verify")
@click.argument("case_id", required=False, metavar="[CASE]")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
              help="a signed checkpoint (onetrip audit checkpoint) to compare the trail with")
@click.option("--pubkey", type=click.Path(dir_okay=False), default=None,
              help="the public key that signed the checkpoint (FILE.pub from audit keygen)")
@_key_option
@json_option
@click.pass_context
def audit_verify(ctx, case_id, checkpoint, pubkey, key, as_json):
    """Verify the hash chain of every case (or one), and the task states and work items each step
    wrote: reports changed, inserted or deleted events and rewritten state.  With --checkpoint, also
    every event rewritten, deleted or appended to a closed case, and every case deleted, since then.

    \b
    Example:
      onetrip --as 管理员 audit verify
      onetrip --as 管理员 audit verify --checkpoint checkpoint-2026-12-01.json --pubkey audit.key.pub
    """
    r = _service(ctx).verify_audit(case_id, checkpoint=checkpoint, pubkey=pubkey, key=key)
    if as_json:
        _print_json(r)
    else:
        for f in r["findings"]:
            click.echo(term(f), err=True)
        if r["ok"]:
            since = ""
            if "checkpoint" in r:
                cp = r["checkpoint"]
                since = (f"; matches the checkpoint of {cp['created_at']} ({_count(cp['cases'], 'case')}), "
                         f"{_count(cp['appended_events'], 'event')} appended since")
            click.echo(f"ok: {_count(r['events'], 'event')} of {_count(r['cases'], 'case')} verified{since}")
    if not r["ok"]:
        ctx.exit(EXIT_ERROR)


@audit.command("checkpoint")
@click.argument("file", type=click.Path(dir_okay=False))
@_key_option
@click.option("--accept-findings", is_flag=True,
              help="checkpoint a trail that has findings as it is (they are kept in the checkpoint)")
@json_option
@click.pass_context
def audit_checkpoint(ctx, file, key, accept_findings, as_json):
    """Write the signed heads of every case to FILE; keep it outside the database (another machine,
    write-once storage).  Refused while `audit verify` has findings (unless --accept-findings); never
    overwrites FILE.

    \b
    Example:
      onetrip --as 管理员 audit checkpoint checkpoint-2026-12-01.json --key audit.key   # then copy it off this machine
    """
    r = _service(ctx).audit_checkpoint(file, key=key, accept_findings=accept_findings)
    if as_json:
        return _print_json(r)
    for f in r["findings"]:
        click.echo(f"accepted: {f}", err=True)
    click.echo(f"checkpoint {r['file']}: {r['events']} events of {r['cases']} cases, signed by key {r['key_id']}")


@audit.command("keygen")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option
@click.pass_context
def audit_keygen(ctx, file, as_json):
    """Create an Ed25519 key pair: FILE (private, mode 0600) and FILE.pub.  Never overwrites.

    Keep FILE away from the database and its writers; whoever verifies needs only FILE.pub.

    Example:
      onetrip audit keygen audit.key
    """
    _local_only(ctx, "audit keygen")
    from engine.config import Settings
    from engine.context import Context
    from engine.service import Service
    _settled()
    r = Service(Settings.from_env(db=":memory:")).audit_keygen(Context(None), file)
    if as_json:
        return _print_json(r)
    click.echo(f"key {r['key']} (private, keep it secret) and {r['public_key']} written; key id {r['key_id']}")


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
    Example:
      onetrip --as 管理员 calendar import 2027.toml

    \b
    File format (TOML), e.g. 2027.toml:
      year = 2027
      holidays = ["2027-01-01", "2027-02-06..2027-02-12"]
      workdays = ["2027-02-14"]
    """
    r = _service(ctx).import_calendar(file)
    if as_json:
        return _print_json(r)
    click.echo(term(f"imported {r['year']}: {r['holidays']} holidays, {r['workdays']} make-up working days "
                    f"from {r['source']}; {r['due_dates_moved']} open cases' due dates recomputed"))

# ------------------------------------------------------------------ mining

@main.command("export")
@click.argument("fmt", metavar="xes|ocel|csv", type=click.Choice(["xes", "ocel", "csv"]))
@click.option("--matter", "matter_code", metavar="CODE", help="Only this matter's cases.")
@click.option("--label", type=click.Choice(["before", "after"]), help="Only cases of this version label.")
@click.option("--since", metavar="DATE", help="Cases accepted on or after YYYY-MM-DD.")
@click.option("--until", metavar="DATE", help="Cases accepted on or before YYYY-MM-DD.")
@click.option("-o", "--output", required=True, metavar="FILE",
              help="File to write (OCEL: .json for OCEL 2.0 JSON, .sqlite for OCEL 2.0 SQLite).")
@json_option
@click.pass_context
def export_log(ctx, fmt, matter_code, label, since, until, output, as_json):
    """Export the event log for process-mining tools (PM4Py, Celonis, ProM, Apromore).

    XES (IEEE 1849) with concept/time/org/lifecycle and onetrip's own
    attributes (onsite, returned, working day since acceptance, materials);
    OCEL 2.0 with cases, applicant materials and departments as objects;
    or a flat CSV.  Streamed from the database: any size, little memory.

    \b
    Examples:
      onetrip export xes -o cases.xes
      onetrip export ocel --matter CJRZSL -o cjrzsl.sqlite
      onetrip export csv --label after --since 2026-03-01 -o after.csv
    """
    r = _service(ctx).export_log(fmt, output, matter_code, label, since, until)
    if as_json:
        return _print_json(r)
    objects = f", {r['objects']} objects" if "objects" in r else ""
    click.echo(f"wrote {r['file']} ({r['format']}): {r['cases']} cases, {r['events']} events{objects}")


@main.command("conformance")
@click.argument("matter_code", required=False, metavar="[MATTER]")
@click.option("--label", type=click.Choice(["before", "after"]), help="Only cases of this version label.")
@click.option("--pm4py", "with_pm4py", is_flag=True,
              help="Add PM4Py's token-replay fitness per case (needs the mining extra).")
@click.option("--limit", type=click.IntRange(0, None), default=20, show_default=True,
              help="Deviating cases to list (all with --json).")
@json_option
@click.pass_context
def conformance_cmd(ctx, matter_code, label, with_pm4py, limit, as_json):
    """Check cases against their model and the reform's promises.

    Each case is replayed on the model it ran on (fitness 1.0 = every step
    as the model allows); a case also deviates when it made more trips than
    the model's most on-site visits, was returned more than once or at a
    step that cannot return, or exceeded its promised working days.

    \b
    Examples:
      onetrip conformance
      onetrip conformance CJRZSL --label after --json
    """
    r = _service(ctx).conformance(matter_code, label, with_pm4py)
    if as_json:
        return _print_json(r)
    rows = [m | {"share": f"{m['conforming_share']:.1%}", "top": "; ".join(
        f"{d['kind']}{' ' + d['name'] if d['name'] else ''} ×{d['cases']}" for d in m["top_deviations"][:3])}
        for m in r["matters"]]
    columns = [Col("matter_code", "事项编码", "id"), Col("name", "事项名称", drop=2), Col("label", "版本", "flag"),
               Col("cases", "案件数", "num"), Col("share", "合规率 conforming", "num"),
               Col("mean_fitness", "拟合度 fitness", "num", drop=1)]
    if with_pm4py:
        columns.append(Col("pm4py_mean_fitness", "PM4Py", "num", drop=1))
    _table(rows, columns + [Col("top", "主要偏差 top deviations")])
    bad = [c for c in r["cases"] if not c["conforming"]]
    for c in bad[:limit]:
        click.echo(f"case {c['case']} ({c['matter_code']} {c['label']}, fitness {c['fitness']}): "
                   + "; ".join(d["detail"] for d in c["deviations"]))
    if len(bad) > limit:
        click.echo(f"… and {len(bad) - limit} more deviating cases (--json lists all)")


@main.command("simulate")
@click.argument("matter_code", metavar="MATTER")
@click.option("--label", type=click.Choice(["before", "after"]), default="after", show_default=True,
              help="The deployed model to run.")
@click.option("--calibrate-from", "calibrate_from", type=click.Choice(["before", "after"]),
              help="Measured cases to fit the parameters from (default: the same label).")
@click.option("--cases", type=click.IntRange(1, 1_000_000), default=1000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same figures.")
@click.option("--arrivals", type=click.FloatRange(0, 100_000, min_open=True), metavar="PER_WORKDAY",
              help="New cases per working day (default: the measured rate).")
@json_option
@click.pass_context
def simulate_cmd(ctx, matter_code, label, calibrate_from, cases, seed, arrivals, as_json):
    """What-if: run the deployed model for simulated cases, calibrated from measured ones.

    Step durations, returns for correction, the applicant's supplement
    delays, arrivals and clerks per department come from the measured cases
    of --calibrate-from; the model that runs is the stored one, on
    SpiffWorkflow, over China's working days.  Prints the prediction beside
    the measured figures it was calibrated from.

    \b
    Examples:
      onetrip simulate CJRZSL --label after --calibrate-from before --cases 50
      onetrip simulate CJRZSL --cases 50 --seed 2 --json
    """
    r = _service(ctx).simulate(matter_code, label, calibrate_from, cases, seed, arrivals)
    if as_json:
        return _print_json(r)
    p, m = r["predicted"], r["measured"]
    click.echo(f"{r['matter_code']} {r['name']}: {r['label']} model (version {r['version']}), calibrated from "
               f"{r['calibrated_from']['cases']} measured {r['calibrated_from']['label']} cases; "
               f"{r['arrivals_per_workday']} arrivals per working day from {r['start']}, seed {r['seed']}")
    keys = [("median_workdays", "办结工作日 p50"), ("p90_workdays", "办结工作日 p90"),
            ("on_time_rate", "按时率 on time"), ("mean_trips", "平均跑动 trips"),
            ("mean_returns", "平均补正 returns"), ("completed", "办结案件 cases")]
    fmt = lambda k, v: "" if v is None else f"{v:.1%}" if k == "on_time_rate" else str(v)  # noqa: E731
    _table([{"figure": label_, "predicted": fmt(k, p.get(k)), "measured": fmt(k, m.get(k))} for k, label_ in keys],
           [Col("figure", ""), Col("predicted", f"预测 {r['label']}", "num"),
            Col("measured", f"实测 {r['calibrated_from']['label']}", "num")])
    _table([{"lane": lane} | q for lane, q in p["queues"].items()],
           [Col("lane", "部门 department"), Col("clerks", "人员 clerks", "num", 1),
            Col("per_clerk_day", "人日上限 per day", "num", 1), Col("steps", "环节 steps", "num", 2),
            Col("delayed", "排队 delayed", "num"), Col("mean_wait_workdays", "平均等待 mean wait", "num"),
            Col("max_wait_workdays", "最长等待 max wait", "num", 1)])
    unmatched = [s for s in r["steps"] if s["how"] not in ("id", "name", "same_as")]
    for s in unmatched:
        click.echo(f"step {s['name']} ({s['step']}) has no measured counterpart: {s['how']}", err=True)


# ------------------------------------------------------------------- the server

@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8400, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes on this port (run more `serve` behind a load balancer for more machines).")
@click.option("--check", is_flag=True, help="Open the database as the server would (schema, clock) and exit.")
@click.pass_context
def serve(ctx, host, port, workers, check):
    """Serve the office: the REST API under /api (described at /openapi.json) and the web pages.

    Clerks, designers and reformers log in (an admin sets passwords with `onetrip user password`);
    the server holds the database credentials and its clock is the machine's.  Run `onetrip worker`
    beside it for timers and reminders.

    \b
    Examples:
      onetrip serve --check
      ONETRIP_DB=postgresql://onetrip@db/onetrip onetrip serve --host 0.0.0.0 --port 8400
    """
    _local_only(ctx, "serve")
    obj = ctx.find_root().obj
    if obj.get("user"):
        raise click.UsageError("serve acts as no one: users log in (drop --as / ONETRIP_USER)")
    # The server's processes read their settings from the environment (uvicorn starts them).
    for option, variable in (("db", "ONETRIP_DB"), ("now", "ONETRIP_NOW")):
        if obj.get(option):
            os.environ[variable] = obj[option]
    os.environ.pop("ONETRIP_USER", None)
    from engine.config import Settings
    from web.app import check_settings
    _settled()
    settings = Settings.from_env()
    check_settings(settings)          # a wrong database or clock: one line, before listening
    where = settings.db_url.split("@")[-1] if "@" in settings.db_url else settings.db_url
    if check:
        return click.echo(f"ok: would serve {where} on http://{host}:{port}")
    import uvicorn
    click.echo(f"onetrip serving {where} on http://{host}:{port} (API at /api, described at /openapi.json)",
               err=True)
    uvicorn.run("web.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level=os.environ.get("ONETRIP_LOG_LEVEL", "info"), server_header=False,
                proxy_headers=True)


# ------------------------------------------------------------------- logins

@main.command()
@click.argument("url")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (scripts) instead of a prompt.")
@click.pass_context
def login(ctx, url, name, password_stdin):
    """Log in to an onetrip server: later commands go through it as NAME.

    The token is kept in a file only you can read (mode 0600) in your config folder
    ($ONETRIP_CONFIG_DIR, else $XDG_CONFIG_HOME/onetrip, else your system's); it expires
    after the server's login time (8 hours by default).  `onetrip logout` ends it.

    \b
    Example:
      onetrip login http://127.0.0.1:8400 王窗口 --password-stdin
    """
    _refuse_local_settings(ctx.find_root().obj, "when logging in to a server")
    from onetrip_client import logins
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, err=True)
    client = _client(url, need_login=False)
    try:
        token = client.token(name, password)
    finally:
        client.close()
    where = logins.save(url, name, token)
    hours = int(token.get("expires_in") or 0) / 3600
    click.echo(term(f"logged in to {logins.normalize(url)} as {name} for {hours:g} h (token in {where})"))


@main.command()
@click.pass_context
def logout(ctx):
    """End your login to the server (--server URL, else the last one you logged in to) and delete its token.

    \b
    Example:
      onetrip logout
    """
    from onetrip_client import logins
    from engine.errors import AuthenticationFailed
    server = ctx.find_root().obj.get("server")
    login = logins.saved(server)
    if login is None:
        raise AuthenticationFailed(f"not logged in{' to ' + logins.normalize(server) if server else ''}: "
                                   f"nothing to log out of")
    from onetrip_client.api import ServerUnreachable
    client = _client(login["server"])
    try:
        client.call("logout")
        note = ""
    except AuthenticationFailed:
        note = " (the token had already ended)"
    except ServerUnreachable as exc:
        exc.message += "; the token was deleted here but stays valid on the server until it expires"
        raise
    finally:
        logins.forget(login["server"])      # even when the server is down: this machine forgets it
        client.close()
    click.echo(term(f"logged out of {login['server']}{note}"))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

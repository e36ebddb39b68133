"""Test helpers shared by tests/ and features/ (not part of the installed package)."""
from __future__ import annotations

import json
import os
import shlex
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

from click.testing import CliRunner

PG_ADMIN_URL = os.environ.get("ONETRIP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


class NoPostgres(Exception):
    """No PostgreSQL server answered."""


@contextmanager
def throwaway_postgres(admin_url: str = PG_ADMIN_URL, prefix: str = "onetrip_test"):
    """Create a PostgreSQL database for the duration of the block, then drop it.

    Raises :class:`NoPostgres` (one line) when no server answers.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        raise NoPostgres(f"no PostgreSQL at {admin_url}: {str(exc.orig).strip().splitlines()[0]}") from None
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def postgres_database():
    """A throw-away PostgreSQL database for a test; skip (visibly) when none answers."""
    import pytest
    try:
        with throwaway_postgres() as url:
            yield url
    except NoPostgres as exc:
        pytest.skip(str(exc))


WINDOW = "政务服务中心综合窗口"
POLICE = "公安局"
CLERKS = {WINDOW: "王窗口", POLICE: "赵警官"}      # the sample office's clerk of each lane


def setup_people(cli) -> None:
    """An admin, a designer, a window clerk and a police clerk (the sample model's lanes)."""
    cli.ok("init")
    cli.ok("user add admin --role admin")
    cli.ok(f"user add 李设计 --role designer --department {WINDOW}", user="admin")
    cli.ok(f"user add 王窗口 --role clerk --department {WINDOW}", user="admin")
    cli.ok(f"user add 赵警官 --role clerk --department {POLICE}", user="admin")


def finish_case(cli, case_id, extra=lambda step: [], most: int = 6) -> None:
    """Complete a sample case's ready tasks in turn, each by its lane's clerk (``extra(step)``: more
    arguments for the step-th completion); fails when the case is not finished within ``most`` steps."""
    for step in range(most + 1):
        tasks = cli.json(["task", "list", "--all", "--case", str(case_id)])
        if not tasks:
            return
        if step == most:
            break
        cli.ok(["task", "complete", tasks[0]["id"], *extra(step)], user=CLERKS[tasks[0]["lane"]])
    raise AssertionError(f"case {case_id} is not finished after {most} steps")


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@dataclass
class CliHarness:
    """Runs the real click CLI against one database, like separate `onetrip` processes."""
    db_url: str
    now: str | None = None
    env: dict = field(default_factory=dict)
    #: ``init`` makes a simulation database (tests pin the clock with --now, which only a simulation allows);
    #: False for a real office's database.
    simulation: bool = True
    input: str | None = None            # what the commands read on stdin (e.g. `user password`)

    def __call__(self, args, user: str | None = None, now: str | None = None, input: str | None = None) -> Result:
        from cli import main
        argv = shlex.split(args) if isinstance(args, str) else list(args)
        prefix = ["--db", self.db_url]
        if self.simulation and argv[:1] == ["init"] and "--simulation" not in argv:
            argv = [*argv, "--simulation"]
        if user:
            prefix += ["--as", user]
        if now or self.now:
            prefix += ["--now", now or self.now]
        result = CliRunner().invoke(main, prefix + argv, input=self.input if input is None else input,
                                    env={"ONETRIP_USER": None, "ONETRIP_DB": None, "ONETRIP_NOW": None, **self.env})
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Result(result.exit_code, result.stdout, result.stderr)

    def ok(self, args, user: str | None = None, now: str | None = None, input: str | None = None) -> Result:
        r = self(args, user, now, input)
        assert r.exit_code == 0, f"onetrip {args} failed ({r.exit_code}): {r.stderr}{r.stdout}"
        return r

    def json(self, args, user: str | None = None, now: str | None = None):
        return self.ok(f"{args} --json" if isinstance(args, str) else [*args, "--json"], user, now).json()

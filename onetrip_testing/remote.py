"""`onetrip` as one person on their own machine, going through a server: their own config folder
holds their saved login (``ONETRIP_CONFIG_DIR``); nothing of the database's settings is in reach."""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

CLEAN_ENV = {"ONETRIP_USER": None, "ONETRIP_DB": None, "ONETRIP_NOW": None, "ONETRIP_SERVER": None}


@dataclass
class Remote:
    """`onetrip` as one user on one machine: their own config folder (the saved login)."""
    url: str
    home: Path

    def __call__(self, args, input: str | None = None, server: bool = True):
        argv = shlex.split(args) if isinstance(args, str) else list(args)
        prefix = ["--server", self.url] if server else []
        from cli import main
        r = CliRunner().invoke(main, prefix + argv, input=input,
                               env={**CLEAN_ENV, "ONETRIP_CONFIG_DIR": str(self.home)})
        if r.exception and not isinstance(r.exception, SystemExit):
            raise r.exception
        return r

    def ok(self, args, input: str | None = None):
        r = self(args, input)
        assert r.exit_code == 0, f"onetrip {args} failed ({r.exit_code}): {r.stderr}{r.stdout}"
        return r

    def login(self, name: str, password: str | None = None):
        from .serve import PASSWORD
        secret = PASSWORD if password is None else password
        return self(["login", self.url, name, "--password-stdin"], input=secret + "\n", server=False)

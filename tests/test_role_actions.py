"""Who may do what is said once: engine/protocol.py gives each operation a group of
engine/roles.py, and the service checks that (never a role list of its own)."""
from __future__ import annotations

import ast
from pathlib import Path

from engine import roles, store
from engine.protocol import OPERATIONS

ROOT = Path(__file__).resolve().parent.parent
SERVICE_FILES = sorted(ROOT.glob("engine/service/*.py"))


def test_the_service_checks_roles_only_from_the_table():
    for path in SERVICE_FILES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("_actor", "_check_role")):
                extra = node.args[1:] if node.func.attr == "_actor" else node.args
                assert not extra and not node.keywords, \
                    f"{path.relative_to(ROOT)}:{node.lineno}: roles come from the operation's table entry"


def test_every_operation_s_roles_are_a_named_group():
    groups = {getattr(roles, n) for n in dir(roles) if n.endswith("_ROLES")}
    for op in OPERATIONS.values():
        for allowed in (op.roles, op.allowed_roles(served=True)):
            assert allowed == () or allowed in groups, f"{op.name}: {allowed} is not a group of engine.roles"
        # the server may be stricter than direct mode, never looser
        assert not op.roles or set(op.allowed_roles(served=True)) <= set(op.roles), op.name


def test_the_store_holds_the_same_role_names():
    assert store.ROLES == roles.ROLES

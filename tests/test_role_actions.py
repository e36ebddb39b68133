"""engine/roles.py is the one statement of who may do what: every permission check in the
service names an action of roles.ACTIONS with exactly the roles the map gives it."""
from __future__ import annotations

import ast
from pathlib import Path

from engine import roles

ROOT = Path(__file__).resolve().parent.parent
#: the facade (one module now, the package engine/service/ once split by capability)
SERVICE_FILES = sorted([*ROOT.glob("engine/service.py"), *ROOT.glob("engine/service/*.py"),
                        *ROOT.glob("engine/mining/service.py")])


def _checks():
    """(file:line, roles, action) of each ``_actor``/``_check_role`` call naming an action."""
    for path in SERVICE_FILES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("_actor", "_check_role")):
                continue
            args = node.args[1:] if node.func.attr == "_actor" else node.args
            if len(args) < 2 or not isinstance(args[1], ast.Constant):
                continue           # the helpers themselves, and reads open to any known user
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            assert isinstance(args[0], ast.Name), f"{where}: name the roles from engine.roles, not a literal"
            yield where, getattr(roles, args[0].id), args[1].value


def test_every_permission_check_follows_the_role_map():
    seen = set()
    for where, allowed, action in _checks():
        assert action in roles.ACTIONS, f"{where}: action {action!r} is not in engine.roles.ACTIONS"
        assert allowed == roles.ACTIONS[action], f"{where}: {action!r} checks {allowed}, the map says " \
                                                 f"{roles.ACTIONS[action]}"
        seen.add(action)
    assert seen == set(roles.ACTIONS), f"actions nothing checks: {sorted(set(roles.ACTIONS) - seen)}"


def test_the_role_names_are_the_map_s():
    assert {r for allowed in roles.ACTIONS.values() for r in allowed} <= set(roles.ROLES)
    from engine import store
    assert store.ROLES == roles.ROLES

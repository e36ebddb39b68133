"""Reading annotation values (``onsite=true``, ``workdays=3``, ``materials=a,b``).

Kept apart from :mod:`engine.bpmn_model` so that running a case needs no XML library.

The three annotation rules every layer applies to a step's properties have their one
home here: :func:`is_onsite`, :func:`counts_as_step` and :func:`is_clock_stop` (the
model's nodes, the running case's ready tasks, the audit events, the demo and the
simulator all call them).
"""
from __future__ import annotations

import math

TRUE_WORDS = frozenset({"true", "yes", "1", "是", "y"})
FALSE_WORDS = frozenset({"false", "no", "0", "否", "n"})


def as_bool(value: str | None, default: bool = False) -> bool | None:
    """``true``/``false`` (and 是/否, yes/no, 1/0); ``None`` when not a boolean word."""
    if value is None or value == "":
        return default
    v = value.strip().lower()
    if v in TRUE_WORDS:
        return True
    if v in FALSE_WORDS:
        return False
    return None


def as_number(value: str | None) -> float | None:
    if value is None or value.strip() == "":
        return None
    try:
        n = float(value)
    except ValueError:
        return None
    return n if math.isfinite(n) and n >= 0 else None


def split_list(value: str | None) -> list[str]:
    """Comma (also 、，;) separated ids, blanks dropped, order kept, no duplicates."""
    if not value:
        return []
    for sep in ("、", "，", ";", "；"):
        value = value.replace(sep, ",")
    seen: dict[str, None] = {}
    for item in value.split(","):
        item = item.strip()
        if item:
            seen.setdefault(item, None)
    return list(seen)


def is_onsite(props: dict) -> bool:
    """``onsite=true``: completing the step is an in-person visit (a trip); also the default a clerk's
    ``--onsite``/``--online`` overrides.  Absent or not a boolean word: not onsite."""
    return bool(as_bool(props.get("onsite"), False))


def counts_as_step(props: dict) -> bool:
    """A human step counts towards the 环节 figure unless annotated ``step=false``."""
    return as_bool(props.get("step"), True) is not False


def is_clock_stop(props: dict) -> bool:
    """``clock=stop``: the step waits on the applicant (supplementing materials), whose own time
    does not count against the promised working days."""
    return (props.get("clock") or "").strip().lower() == "stop"

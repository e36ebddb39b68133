"""Typed ``KEY=VALUE`` arguments (``--data``) for task and case data."""
from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation

from .errors import InvalidInput

_KEY = re.compile(r"^[A-Za-z\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]*$")
_INT = re.compile(r"^[+-]?\d+$")
_DEC = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
MAX_VALUE_CHARS = 100_000
MAX_INT_DIGITS = 4000


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def parse_value(text: str):
    """``true``/``false``, integers, decimals, JSON objects/lists, ``null``; otherwise the string."""
    t = text.strip()
    if t in ("true", "false"):
        return t == "true"
    if t == "null":
        return None
    if _INT.match(t):
        if len(t.lstrip("+-")) > MAX_INT_DIGITS:
            raise InvalidInput(f"number too long ({len(t):,} digits; at most {MAX_INT_DIGITS})")
        return int(t)
    if _DEC.match(t):
        try:
            value = float(Decimal(t))
        except (InvalidOperation, OverflowError):
            return text
        if value in (float("inf"), float("-inf")):
            raise InvalidInput(f"number out of range: {t}")
        return value
    if t[:1] in ("{", "["):
        try:
            return json.loads(t, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"bad JSON value {t[:40]!r}: {exc.msg}") from None
        except RecursionError:
            raise InvalidInput(f"bad JSON value {t[:40]!r}: nested too deeply") from None
        except ValueError as exc:      # e.g. an integer over Python's digit limit
            raise InvalidInput(f"bad JSON value {t[:40]!r}: {exc}") from None
    return text


def parse_items(items: tuple[str, ...] | list[str]) -> dict:
    """Parse ``KEY=VALUE`` items into a dict; one clear error for a bad item."""
    data: dict = {}
    for item in items:
        if "=" not in item:
            raise InvalidInput(f"bad --data {item!r}: expected KEY=VALUE")
        key, _, raw = item.partition("=")
        key = key.strip()
        if not _KEY.match(key) or key.startswith("_"):
            raise InvalidInput(f"bad --data key {key!r}: use letters, digits and _ (not starting with _ or a digit)")
        if len(raw) > MAX_VALUE_CHARS:
            raise InvalidInput(f"--data {key}: value longer than {MAX_VALUE_CHARS:,} characters")
        data[key] = parse_value(raw)
    return data

"""Task and case data: ``--data`` arguments, and the bounds every stored value keeps.

``--data KEY=VALUE`` is always text, exactly as typed (``电话=013800138000``
stays ``"013800138000"``, ``ver=1.10`` stays ``"1.10"``).  ``--data KEY:=JSON``
is a JSON value: ``age:=30``, ``ok:=true``, ``items:='["a", "b"]'``,
``none:=null``.

Every value that enters a case — from ``--data``, a script, or the engine —
must be data JSON can hold and a later load can rebuild
(:func:`check_value`): text, finite numbers, booleans, null, lists and
objects with text keys, nested at most :data:`MAX_DEPTH` levels, at most
:data:`MAX_ITEMS` values and :data:`MAX_CHARS` characters in all.  NaN,
Infinity, floats beyond double range, integers over :data:`MAX_INT_BITS`
bits and text that is not valid Unicode (lone surrogates, e.g. from
undecodable bytes on the command line) are refused with one line.

Keys may not shadow what conditions and scripts rely on: the sandbox's
builtins and helpers (``len``, ``today``...) and the engine's own keys
(``returned``, ``return_reason``, ``data_objects``).
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import orjson

from .errors import InvalidInput

_KEY = re.compile(r"^[A-Za-z\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]*$")

#: Longest single ``--data`` value, in characters.
MAX_VALUE_CHARS = 100_000
#: Deepest nesting of lists and objects in task data (SpiffWorkflow copies data recursively).
MAX_DEPTH = 32
#: Most values (scalars, lists, objects, keys) one piece of data may hold.
MAX_ITEMS = 100_000
#: Largest data, in characters of text plus 8 per value.
MAX_CHARS = 2_000_000
#: Largest integer, in bits (the sandbox's own limit; about 3,000 decimal digits).
MAX_INT_BITS = 10_000

#: Keys the engine sets itself.
ENGINE_KEYS = frozenset({"returned", "return_reason", "data_objects"})
#: Names conditions and scripts see besides the data: the sandbox's builtins and helpers
#: (kept equal to engine.sandbox's by a test, so that this module stays light to import).
SANDBOX_NAMES = frozenset({
    "abs", "all", "any", "bool", "callable", "chr", "dict", "divmod", "enumerate", "filter", "float",
    "frozenset", "hex", "isinstance", "issubclass", "len", "list", "map", "max", "min", "next", "oct", "ord",
    "repr", "reversed", "set", "slice", "str", "tuple", "zip", "True", "False", "None", "int", "pow", "range",
    "sorted", "sum", "round",
    "ArithmeticError", "AssertionError", "AttributeError", "Exception", "IndexError", "KeyError",
    "LookupError", "NameError", "NotImplementedError", "OverflowError", "RuntimeError", "StopIteration",
    "TypeError", "UnicodeError", "ValueError", "ZeroDivisionError",
    "today", "date", "days_between", "workdays_between", "add_workdays", "floor", "ceil",
})
RESERVED_KEYS = ENGINE_KEYS | SANDBOX_NAMES

#: orjson options for stored JSON: dates and dataclasses are not written as text (orjson would) but go
#: to json.dumps, which refuses them as SQLAlchemy's JSON type and the case store always did.
ORJSON_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

_SCALARS = (str, int, float, bool, type(None))
#: Scalars a script may leave besides JSON's (SpiffWorkflow's serializer stores them typed).
_TYPED_SCALARS = (Decimal, date, datetime, time, timedelta)


class DataError(ValueError):
    """A value that cannot be stored: the message says which and why (one line)."""


def _short(text: str, limit: int = 40) -> str:
    text = repr(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def check_text(text: str, what: str) -> str:
    """Refuse text that is not valid Unicode (lone surrogates: undecodable bytes in an argument)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} is not valid UTF-8 text (undecodable bytes or lone surrogates)") from None
    return text


def check_value(value, name: str = "value", *, typed: bool = False) -> int:
    """Check a value against the bounds above; return its size.  Raises :class:`DataError`.

    ``typed`` also lets dates, times and decimals through (script results).
    """
    size = items = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        items += 1
        if isinstance(item, str):
            size += 8 + len(item)
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    raise DataError(f"{name}: text with undecodable characters (lone surrogates)") from None
        elif isinstance(item, (list, tuple)):
            size += 8
            if depth > MAX_DEPTH:
                raise DataError(f"{name}: nested deeper than {MAX_DEPTH} levels")
            stack.extend((x, depth + 1) for x in item)
        elif isinstance(item, dict):
            size += 8
            if depth > MAX_DEPTH:
                raise DataError(f"{name}: nested deeper than {MAX_DEPTH} levels")
            for k, v in item.items():
                if not isinstance(k, str):
                    raise DataError(f"{name}: object keys must be text, not {type(k).__name__}")
                stack.append((k, depth + 1))
                stack.append((v, depth + 1))
        elif isinstance(item, bool) or item is None:
            size += 8
        elif isinstance(item, int):
            size += 8
            if item.bit_length() > MAX_INT_BITS:
                raise DataError(f"{name}: integer over {MAX_INT_BITS:,} bits")
        elif isinstance(item, float):
            size += 8
            if not math.isfinite(item):
                raise DataError(f"{name}: {item!r} is not a number JSON can hold")
        elif typed and isinstance(item, _TYPED_SCALARS):
            size += 8
            if isinstance(item, Decimal) and not item.is_finite():
                raise DataError(f"{name}: {item!s} is not a number JSON can hold")
        else:
            raise DataError(f"{name} holds a {type(item).__name__}; task data can hold only text, numbers, "
                            f"booleans, null, lists and objects")
        if items > MAX_ITEMS:
            raise DataError(f"{name}: more than {MAX_ITEMS:,} values")
        if size > MAX_CHARS:
            raise DataError(f"{name}: task data would exceed {MAX_CHARS:,} characters")
    return size


def check_key(key: str, what: str = "--data key") -> str:
    if not isinstance(key, str) or not _KEY.match(key) or key.startswith("_"):
        raise InvalidInput(f"bad {what} {key!r}: use letters, digits and _ (not starting with _ or a digit)")
    if key in RESERVED_KEYS:
        if key in ENGINE_KEYS:
            raise InvalidInput(f"{what.removesuffix(' key')} {key} is set by onetrip: `task complete` sets "
                               f"returned=false, `task return TASK --reason ...` sets returned=true")
        raise InvalidInput(f"{what} {key!r} is the name of a helper conditions and scripts use; "
                           f"choose another name")
    return key


def check_data(data: dict, what: str = "--data") -> dict:
    """Check data given to a case or task (keys and values); InvalidInput with one line."""
    if not isinstance(data, dict):
        raise InvalidInput(f"{what} must be an object of KEY: VALUE")
    total = 0
    for key, value in data.items():
        check_key(key, f"{what} key")
        try:
            total += check_value(value, f"{what} {key}")
        except DataError as exc:
            raise InvalidInput(str(exc)) from None
        if total > MAX_CHARS:
            raise InvalidInput(f"{what}: larger than {MAX_CHARS:,} characters in all")
    return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def parse_json(text: str, what: str):
    """A JSON value, bounded (depth, size, finite numbers); InvalidInput with one line."""
    t = text.strip()
    try:
        value = json.loads(t, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{what}: bad JSON {_short(t)}: {exc.msg} (for text write KEY=TEXT, without the colon)") from None
    except RecursionError:
        raise InvalidInput(f"{what}: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:          # e.g. an integer over Python's digit limit, NaN
        raise InvalidInput(f"{what}: bad JSON {_short(t)}: {exc}") from None
    try:
        check_value(value, what)
    except DataError as exc:
        raise InvalidInput(str(exc)) from None
    return value


def parse_items(items: tuple[str, ...] | list[str]) -> dict:
    """Parse ``KEY=TEXT`` and ``KEY:=JSON`` items into a dict; one clear error for a bad item."""
    data: dict = {}
    for item in items:
        check_text(item, "--data")
        if "=" not in item:
            raise InvalidInput(f"bad --data {_short(item)}: expected KEY=TEXT or KEY:=JSON")
        key, _, raw = item.partition("=")
        as_json = key.endswith(":")
        key = key[:-1] if as_json else key
        key = key.strip()
        check_key(key)
        if len(raw) > MAX_VALUE_CHARS:
            raise InvalidInput(f"--data {key}: value longer than {MAX_VALUE_CHARS:,} characters")
        data[key] = parse_json(raw, f"--data {key}") if as_json else raw
    check_data(data)
    return data


# ------------------------------------------------------------------ names

#: Characters a user or department name may not contain (after NFKC): controls, format characters
#: (zero-width spaces and joiners, bidi controls), separators other than a plain space, private use,
#: unassigned code points and lone surrogates.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def normalize_name(name, what: str = "name", *, max_chars: int = 100) -> str:
    """A user or department name as stored: NFKC, trimmed, printable; InvalidInput otherwise."""
    if name is None:
        raise InvalidInput(f"{what} must be 1 to {max_chars} characters")
    check_text(name, what)
    text = unicodedata.normalize("NFKC", name).strip()
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in _REFUSED_CATEGORIES or (cat == "Zs" and ch != " "):
            raise InvalidInput(f"{what} {_short(name)} contains an invisible or control character "
                               f"(U+{ord(ch):04X}); type it without")
    if "  " in text:
        raise InvalidInput(f"{what} {_short(name)} has repeated spaces")
    if not text or len(text) > max_chars:
        raise InvalidInput(f"{what} must be 1 to {max_chars} characters")
    return text


def nfkc(text: str) -> str:
    """A name as typed, in the form names are stored (``ａｄｍｉｎ`` is ``admin``)."""
    return unicodedata.normalize("NFKC", text)


def name_key(name: str) -> str:
    """What two names that are the same for a reader have in common (NFKC, case-folded)."""
    return unicodedata.normalize("NFKC", name).strip().casefold()

"""The sandbox in which a model's conditions and scripts run.

An uploaded BPMN is untrusted: SpiffWorkflow's default engine runs its
expressions with plain ``eval``/``exec``, and ``().__class__.__base__``
walks reach ``subprocess.Popen`` from any globals.  Here every expression is
compiled by RestrictedPython, which refuses at compile time imports, names
and attributes starting with ``_`` (so every dunder walk), ``exec``/``eval``,
and routes attribute, item and iteration access through guards.  On top of
that this module adds:

* a whitelist of builtins and documented helpers (:data:`HELPERS`);
* guarded ``*``, ``**`` and ``<<`` that refuse results too large to build
  (a memory or CPU bomb in one C call cannot be interrupted otherwise);
* a wall-clock limit (``SIGALRM``) and an address-space limit
  (``RLIMIT_AS``) around each run, so endless loops and huge allocations stop
  with :class:`~engine.errors.ScriptError` instead of taking the clerk's
  machine down.

What a model may use is documented in the README ("Expressions in models").
"""
from __future__ import annotations

import ast
import builtins
import datetime as _dt
import math
import os
import resource
import signal
import threading
from contextlib import contextmanager
from functools import lru_cache

from RestrictedPython import (
    RestrictingNodeTransformer, compile_restricted_eval, compile_restricted_exec,
    limited_builtins, safe_builtins,
)
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence, safer_getattr,
)

from .errors import ScriptError

#: Seconds of wall-clock time one condition or script may run.
TIME_LIMIT_SECONDS = 2.0
#: Extra address space one run may allocate on top of what the process uses.
MEMORY_LIMIT_BYTES = 256 * 1024 * 1024
#: Largest sequence a ``*`` may build, and largest integer (in bits) ``**``/``*``/``<<`` may build.
MAX_SEQUENCE_ITEMS = 10_000_000
MAX_INT_BITS = 100_000


class _Timeout(BaseException):
    """Raised by the alarm handler; a BaseException so scripts cannot catch it."""


class SandboxPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus guarded size-growing operators."""

    GUARDED = {ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_"}

    def visit_BinOp(self, node):
        node = self.node_contents_visit(node)
        guard = self.GUARDED.get(type(node.op))
        if guard is None:
            return node
        return ast.copy_location(
            ast.Call(func=ast.Name(guard, ast.Load()), args=[node.left, node.right], keywords=[]),
            node)

    def visit_AugAssign(self, node):
        guard = self.GUARDED.get(type(node.op))
        if guard is not None and isinstance(node.target, ast.Name):
            # n *= k  ->  n = _mul_(n, k)
            value = ast.BinOp(left=ast.Name(node.target.id, ast.Load()), op=node.op, right=node.value)
            assign = ast.Assign(targets=[ast.Name(node.target.id, ast.Store())],
                                value=ast.copy_location(value, node))
            return self.visit(ast.copy_location(assign, node))
        return super().visit_AugAssign(node)


def _int_bits(x) -> int:
    return x.bit_length() if isinstance(x, int) else 0


def _checked_mul(a, b):
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, (str, bytes, list, tuple)) and isinstance(n, int):
            if len(seq) * max(n, 0) > MAX_SEQUENCE_ITEMS:
                raise ScriptError(f"result too large: {len(seq)} × {n} items")
    if isinstance(a, int) and isinstance(b, int) and _int_bits(a) + _int_bits(b) > MAX_INT_BITS:
        raise ScriptError("integer result too large")
    return a * b


def _checked_pow(a, b, *mod):
    if isinstance(a, int) and isinstance(b, int) and b > 0 and not mod:
        if abs(a) > 1 and _int_bits(a) * b > MAX_INT_BITS:
            raise ScriptError("integer result too large")
    return pow(a, b, *mod)


def _checked_lshift(a, b):
    if isinstance(a, int) and isinstance(b, int) and _int_bits(a) + b > MAX_INT_BITS:
        raise ScriptError("integer result too large")
    return a << b


def _inplacevar(op, x, y):
    ops = {"+=": lambda: x + y, "-=": lambda: x - y, "/=": lambda: x / y, "//=": lambda: x // y,
           "%=": lambda: x % y, "*=": lambda: _checked_mul(x, y), "**=": lambda: _checked_pow(x, y),
           "<<=": lambda: _checked_lshift(x, y), ">>=": lambda: x >> y, "&=": lambda: x & y,
           "|=": lambda: x | y, "^=": lambda: x ^ y}
    if op not in ops:
        raise ScriptError(f"operator {op} is not allowed")
    return ops[op]()


def _guarded_getattr(obj, name, *default):
    # safer_getattr refuses names starting with "_" and str.format*; modules and
    # frames never reach a script because nothing hands them out.
    return safer_getattr(obj, name, *default)


# ---------------------------------------------------------------- helpers

def _workdays_between(start, end) -> int:
    from .workdays import WorkCalendar
    return WorkCalendar().workdays_between(_as_date(start), _as_date(end))


def _add_workdays(start, n: int):
    from .workdays import WorkCalendar
    return WorkCalendar().add_workdays(_as_date(start), int(n)).isoformat()


def _as_date(value) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ScriptError(f"not a date: {value!r}") from None


def _today() -> str:
    from . import runtime
    return runtime.current_clock().today().isoformat()


def _days_between(start, end) -> int:
    return (_as_date(end) - _as_date(start)).days


#: Functions a model's expressions may call, besides the safe builtins.
HELPERS = {
    "today": _today,                        # 'YYYY-MM-DD' from the engine's clock
    "date": lambda s: _as_date(s).isoformat(),
    "days_between": _days_between,          # calendar days
    "workdays_between": _workdays_between,  # China's official working days
    "add_workdays": _add_workdays,          # due date 'YYYY-MM-DD'
    "floor": math.floor, "ceil": math.ceil,
}

_BUILTINS = dict(safe_builtins)
_BUILTINS.update(limited_builtins)
for _name in ("sum", "any", "all", "min", "max", "enumerate", "map", "filter", "reversed",
              "list", "dict", "set", "frozenset", "sorted"):
    _BUILTINS[_name] = getattr(builtins, _name)
for _unsafe in ("getattr", "setattr", "delattr", "__import__", "compile", "open", "vars", "dir",
                "globals", "locals", "eval", "exec", "input", "breakpoint", "memoryview", "type",
                "object", "super", "classmethod", "staticmethod", "property", "string", "random", "math"):
    _BUILTINS.pop(_unsafe, None)

GUARDS = {
    "__builtins__": _BUILTINS,
    "_getattr_": _guarded_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    "_mul_": _checked_mul,
    "_pow_": _checked_pow,
    "_lshift_": _checked_lshift,
    "__name__": "bpmn_script",
    "__metaclass__": type,
}
_RESERVED = frozenset(GUARDS) | frozenset(HELPERS)


@lru_cache(maxsize=4096)
def compile_expression(source: str):
    """Compile a condition; raise ScriptError (with the reason) when refused."""
    result = compile_restricted_eval(source.strip(), "<condition>", policy=SandboxPolicy)
    if result.errors or result.code is None:
        raise ScriptError(f"expression {source.strip()!r} refused: {'; '.join(result.errors)}")
    return result.code


@lru_cache(maxsize=1024)
def compile_script(source: str):
    """Compile a script; raise ScriptError (with the reason) when refused."""
    result = compile_restricted_exec(source, "<script>", policy=SandboxPolicy)
    if result.errors or result.code is None:
        raise ScriptError(f"script refused: {'; '.join(result.errors)}")
    return result.code


def check_expression(source: str) -> str | None:
    """The reason an expression would be refused, or None."""
    try:
        compile_expression(source)
    except ScriptError as exc:
        return exc.message
    return None


def check_script(source: str) -> str | None:
    try:
        compile_script(source)
    except ScriptError as exc:
        return exc.message
    return None


# ---------------------------------------------------------------- limits

def _vm_size() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


@contextmanager
def limits(seconds: float = TIME_LIMIT_SECONDS, memory: int = MEMORY_LIMIT_BYTES):
    """Bound wall time (main thread only) and address space while running model code."""
    use_alarm = threading.current_thread() is threading.main_thread()
    old_handler = None
    if use_alarm:
        def on_alarm(signum, frame):
            raise _Timeout()
        old_handler = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    old_as = resource.getrlimit(resource.RLIMIT_AS)
    base = _vm_size()
    if base:
        cap = base + memory
        if old_as[1] == resource.RLIM_INFINITY or cap < old_as[1]:
            resource.setrlimit(resource.RLIMIT_AS, (cap, old_as[1]))
    try:
        yield
    except _Timeout:
        raise ScriptError(f"stopped after {seconds:g} s: a condition or script ran too long") from None
    except MemoryError:
        raise ScriptError(f"stopped: a condition or script tried to use more than "
                          f"{memory // (1024 * 1024)} MB") from None
    finally:
        resource.setrlimit(resource.RLIMIT_AS, old_as)
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler or signal.SIG_DFL)


def _namespace(data: dict, external: dict | None) -> dict:
    clash = _RESERVED.intersection(data)
    if clash:
        raise ScriptError(f"task data uses reserved name(s): {', '.join(sorted(clash))}")
    ns = dict(GUARDS)
    ns.update(HELPERS)
    if external:
        ns.update(external)
    ns.update(data)
    return ns


def evaluate(source: str, data: dict, external: dict | None = None):
    """Evaluate a condition over task data inside the sandbox."""
    code = compile_expression(source)
    with limits():
        try:
            return eval(code, _namespace(data, external))  # noqa: S307 - restricted code object
        except ScriptError:
            raise
        except NameError as exc:
            raise ScriptError(f"expression {source.strip()!r}: {exc}") from None
        except (MemoryError, _Timeout):
            raise
        except Exception as exc:  # a model's own error: report it, one line
            raise ScriptError(f"expression {source.strip()!r}: {type(exc).__name__}: {exc}") from None


def execute(source: str, data: dict, external: dict | None = None) -> None:
    """Run a script; top-level assignments update ``data`` in place."""
    code = compile_script(source)
    ns = _namespace(data, external)
    with limits():
        try:
            exec(code, ns)  # noqa: S102 - restricted code object
        except ScriptError:
            raise
        except (MemoryError, _Timeout):
            raise
        except Exception as exc:
            raise ScriptError(f"script: {type(exc).__name__}: {exc}") from None
    skip = _RESERVED | set(external or ())
    for key in list(data):
        if key not in ns:
            del data[key]
    for key, value in ns.items():
        if key in skip or key.startswith("_") or callable(value):
            continue
        data[key] = value

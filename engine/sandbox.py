"""The sandbox in which a model's conditions and scripts run.

An uploaded BPMN is untrusted: SpiffWorkflow's default engine runs its
expressions with plain ``eval``/``exec``, and ``().__class__.__base__``
walks reach ``subprocess.Popen`` from any globals.  Here every gateway
condition, script task, pre/post script and timer expression is compiled by
RestrictedPython with :class:`SandboxPolicy` and runs against the task data
and the names listed below, nothing else.

Refused when the model is validated or uploaded (compile time):

* ``import`` and ``from ... import``; every name or attribute starting with
  ``_`` (so every dunder walk: ``().__class__``, ``__builtins__``,
  ``__import__``, ``__globals__``, ``__traceback__``);
* the frame, code and traceback attributes (``gi_frame``, ``f_globals``,
  ``tb_frame``, ``cr_frame``, ...) and the attributes ``format`` and
  ``format_map`` (the ``'{0.__class__}'.format(x)`` walk, on ``str``, its
  subclasses and the ``str`` type alike), ``mro`` and ``from_bytes``;
* the builtins that reach the interpreter, as names: ``getattr setattr
  delattr hasattr eval exec compile open globals locals vars dir breakpoint
  memoryview bytearray super classmethod staticmethod property exit quit
  help``; and ``print``;
* ``class`` definitions, ``try ... finally``, ``except*``, ``match``,
  ``async``, annotated assignments; integer literals over
  :data:`MAX_INT_BITS` bits; sources over :data:`MAX_SOURCE_CHARS`
  characters or too deeply nested to compile.

Refused while running (a :class:`~engine.errors.ScriptError`): operations
that would build something too large in one step, which no time limit could
interrupt: a ``*`` or ``range`` of more than :data:`MAX_SEQUENCE_ITEMS`
items, ``sorted``/``list.sort`` of more items, an integer over
:data:`MAX_INT_BITS` bits from ``+ - * ** <<``, ``int()``, ``sum()`` or
``pow()``, a three-argument ``pow`` over :data:`MAX_MODPOW_BITS` bits,
``round()`` to more than :data:`MAX_ROUND_DIGITS` digits, ``sum()`` of
anything but numbers; and a script leaving task data that is not plain data
(text, numbers, booleans, ``None``, lists, tuples, dicts) or larger than
:data:`MAX_DATA_CHARS` characters.

Names a model may use:

* the task data, by key;
* builtins: ``abs all any bool callable chr dict divmod enumerate filter
  float frozenset hex int isinstance issubclass len list map max min next
  oct ord pow range repr reversed round set slice sorted str sum tuple zip``,
  ``True False None`` and the exception classes in :data:`EXCEPTIONS`;
* the helpers in :data:`HELPERS`: ``today()`` ('YYYY-MM-DD' from the
  engine's clock), ``date(x)`` (normalises to 'YYYY-MM-DD'),
  ``days_between(a, b)`` (calendar days), ``workdays_between(a, b)``
  (China's official working days), ``add_workdays(d, n)`` (due date
  'YYYY-MM-DD'), ``floor(x)``, ``ceil(x)``;
* the methods of those values (``'a,b'.split(',')``, ``name.strip()``,
  ``items.append(x)``, ``d.get(k)``), except ``format``/``format_map``;
  ``'%s' % x`` and f-strings format values.

Limits of one condition or script run (:func:`limits`):

* time: :data:`TIME_LIMIT_SECONDS` (2 s) of wall-clock time.  In the main
  thread a ``SIGALRM`` interval timer raises an exception into the model's
  code that no ``except`` clause of the model can catch (each ``except`` is
  routed through :func:`_catch`, which never catches it and catches nothing
  at all once time is up; ``finally`` is refused), so loops stop within
  0.1 s of the limit.  In any other thread, where signals cannot be used, a
  ``sys.settrace`` hook checks the deadline on every instruction of the
  model's code.  The previous ``SIGALRM`` handler, interval timer (with its
  remaining time) and trace function are restored afterwards.
* memory: :data:`MEMORY_LIMIT_BYTES` (256 MiB) of address space on top of what
  the process already uses, through ``RLIMIT_AS`` (Linux), restored
  afterwards, also after errors.  The limit is process-wide, so runs are
  serialised by a lock, and other threads share the cap while a model runs.
* CPU backstop (main thread only): neither a signal nor a trace hook can stop
  one built-in call that runs long without allocating much (for example a
  ``set()`` of tens of thousands of integers crafted to share one hash).  For
  that case the soft ``RLIMIT_CPU`` is set :data:`CPU_GRACE_SECONDS` (1 s)
  past the time limit: the kernel then ends the whole process with
  ``SIGXCPU`` ("CPU time limit exceeded", no core dump).  Nothing was
  committed, so the case is unchanged.  A long-running embedding that cannot
  afford to lose its process should run models in a worker process, as
  ``onetrip worker`` does (``Service.run_due_timers``).

Inside a step (:class:`engine.runtime.StepBudget`) every run also ends by the
step's own deadline: twenty scripts of 1.9 s each cannot make one step last
longer than the step's limit.

Every failure is one :class:`~engine.errors.ScriptError` line.
"""
from __future__ import annotations

import ast
import builtins
import datetime as _dt
import math
import os
import resource
import signal
import sys
import threading
from contextlib import contextmanager
import time
from decimal import Decimal
from functools import lru_cache

from RestrictedPython import RestrictingNodeTransformer, compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from .clock import current_clock
from .errors import ScriptError
from . import steplimits
from .steplimits import alarms_held, lower_soft_limit as _lower_soft_limit, vm_size as _vm_size
from .values import DataError, check_value

#: Seconds of wall-clock time one condition or script may run.
TIME_LIMIT_SECONDS = 2.0
#: Seconds between repeated alarms once the time is up (main thread).
ALARM_INTERVAL_SECONDS = 0.1
#: CPU seconds past the time limit after which the kernel ends the process (main thread only).
CPU_GRACE_SECONDS = 1
#: Share of the CPU time already used added to the backstop: the kernel checks ``RLIMIT_CPU``
#: against its tick-sampled CPU clock, which on a loaded machine runs ahead of ``getrusage``
#: (measured on the 2-core box at load 5: more than 3 s ahead after 28 s), so a fixed grace
#: killed long-running processes (demo, simulate, worker) in the middle of a harmless condition.
CPU_DRIFT_SHARE = 0.25
#: Address space one run may allocate on top of what the process uses.
MEMORY_LIMIT_BYTES = 256 * 1024 * 1024
#: Largest sequence a ``*`` or ``range`` may build, and largest list ``sorted`` may sort.
MAX_SEQUENCE_ITEMS = 1_000_000
#: Largest integer a model may build, in bits (about 3,000 decimal digits).
MAX_INT_BITS = 10_000
#: Largest modulus and exponent (bits) of a three-argument ``pow``.
MAX_MODPOW_BITS = 2_048
#: Largest ``ndigits`` of ``round``.
MAX_ROUND_DIGITS = 400
#: Longest condition or script source, in characters.
MAX_SOURCE_CHARS = 100_000
#: Largest task data a script may leave behind (characters of text plus 8 per value).
MAX_DATA_CHARS = 2_000_000
#: Longest error message shown for a failing model expression.
MAX_MESSAGE_CHARS = 300

_BLOCKED_ATTRIBUTES = frozenset(INSPECT_ATTRIBUTES) | {
    "format", "format_map",   # '{0.__class__.__init__.__globals__}'.format(x)
    "mro",                    # int.mro() -> object, BaseException
    "from_bytes",             # integers past MAX_INT_BITS without an operator
}


#: Builtins that reach the interpreter: refused as names at compile time (and absent at run time).
_INTERPRETER_NAMES = frozenset({
    "getattr", "setattr", "delattr", "hasattr", "eval", "exec", "compile", "open", "globals",
    "locals", "vars", "dir", "breakpoint", "memoryview", "bytearray", "super", "classmethod",
    "staticmethod", "property", "exit", "quit", "help",
})


class _Timeout(BaseException):
    """Raised when the time is up; a BaseException that :func:`_catch` never lets a model catch."""


class _RunState:
    """What the alarm handler, the trace hook and :func:`_catch` share during one run."""

    def __init__(self):
        self.armed = False      # the alarm handler / trace hook may raise
        self.expired = False    # time is up: no except clause of the model catches anything
        self.deadline = 0.0


_state = _RunState()
_RUN_LOCK = threading.RLock()   # rlimits and the alarm are process-wide: one run at a time


def _one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


# ------------------------------------------------------------------ policy

class SandboxPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus guarded operators and exception handlers."""

    GUARDED = {ast.Add: "_add_", ast.Sub: "_sub_", ast.Mult: "_mul_", ast.Pow: "_pow_",
               ast.LShift: "_lshift_"}

    def _call(self, name: str, args: list, like: ast.AST) -> ast.Call:
        call = ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[])
        return ast.fix_missing_locations(ast.copy_location(call, like))

    def visit_BinOp(self, node):
        node = self.node_contents_visit(node)
        guard = self.GUARDED.get(type(node.op))
        if guard is None:
            return node
        return self._call(guard, [node.left, node.right], node)

    def visit_AugAssign(self, node):
        guard = self.GUARDED.get(type(node.op))
        if guard is not None and isinstance(node.target, ast.Name):
            # n *= k  ->  n = _mul_(n, k)
            value = ast.copy_location(
                ast.BinOp(left=ast.copy_location(ast.Name(node.target.id, ast.Load()), node.target),
                          op=node.op, right=node.value), node)
            assign = ast.copy_location(ast.Assign(targets=[node.target], value=value), node)
            return self.visit(ast.fix_missing_locations(assign))
        return super().visit_AugAssign(node)

    def visit_Name(self, node):
        if node.id in ("print", "printed"):
            self.error(node, "print() is not available in models; assign the value to a task "
                             "data variable instead")
            return node
        if node.id in _INTERPRETER_NAMES:
            self.error(node, f"{node.id!r} is not available in models")
            return node
        return super().visit_Name(node)

    def visit_Attribute(self, node):
        if node.attr in _BLOCKED_ATTRIBUTES:
            self.error(node, f"attribute {node.attr!r} is not available in models")
            return self.node_contents_visit(node)
        return super().visit_Attribute(node)

    def visit_Constant(self, node):
        if isinstance(node.value, int) and node.value.bit_length() > MAX_INT_BITS:
            self.error(node, f"integer literal over {MAX_INT_BITS} bits")
        return super().visit_Constant(node)

    def visit_Import(self, node):
        self.error(node, "import is not allowed in models")

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node):
        self.error(node, "class definitions are not allowed in models")

    def visit_Try(self, node):
        if node.finalbody:
            self.error(node, "try ... finally is not allowed in models")
        return super().visit_Try(node)

    def visit_ExceptHandler(self, node):
        # except X:  ->  except _catch_(X):   (and a bare except: catches Exception)
        node = super().visit_ExceptHandler(node)
        node.type = self._call("_catch_", [node.type] if node.type is not None else [], node)
        return node


# ------------------------------------------------------------------ guards

def _int_bits(x) -> int:
    return x.bit_length() if isinstance(x, int) else 0


def _too_large(what: str = "integer result") -> ScriptError:
    return ScriptError(f"{what} too large (the limit is {MAX_INT_BITS:,} bits)")


def _checked_int(value):
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise _too_large("integer")
    return value


def _checked_add(a, b):
    if isinstance(a, int) and isinstance(b, int) and max(_int_bits(a), _int_bits(b)) >= MAX_INT_BITS:
        return _checked_int(a + b)
    return a + b


def _checked_sub(a, b):
    if isinstance(a, int) and isinstance(b, int) and max(_int_bits(a), _int_bits(b)) >= MAX_INT_BITS:
        return _checked_int(a - b)
    return a - b


def _checked_mul(a, b):
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, (str, bytes, list, tuple)) and isinstance(n, int):
            if len(seq) * max(n, 0) > MAX_SEQUENCE_ITEMS:
                raise ScriptError(f"result too large: {len(seq):,} × {n:,} items "
                                  f"(the limit is {MAX_SEQUENCE_ITEMS:,})")
    if isinstance(a, int) and isinstance(b, int) and _int_bits(a) + _int_bits(b) > MAX_INT_BITS + 1:
        raise _too_large()
    return _checked_int(a * b)


def _checked_pow(a, b, mod=None):
    if mod is not None:
        if isinstance(b, int) and isinstance(mod, int) \
                and max(_int_bits(b), _int_bits(mod)) > MAX_MODPOW_BITS:
            raise ScriptError(f"pow() with a modulus: exponent and modulus are limited to "
                              f"{MAX_MODPOW_BITS} bits")
        return pow(a, b, mod)
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        if b * math.log2(abs(a)) > MAX_INT_BITS:
            raise _too_large()
    return pow(a, b)


def _checked_lshift(a, b):
    if isinstance(a, int) and isinstance(b, int) and a and _int_bits(a) + b > MAX_INT_BITS:
        raise _too_large()
    return a << b


_INPLACE = {"+=": _checked_add, "-=": _checked_sub, "*=": _checked_mul, "**=": _checked_pow,
            "<<=": _checked_lshift, "/=": lambda x, y: x / y, "//=": lambda x, y: x // y,
            "%=": lambda x, y: x % y, ">>=": lambda x, y: x >> y, "&=": lambda x, y: x & y,
            "|=": lambda x, y: x | y, "^=": lambda x, y: x ^ y}


def _inplacevar(op, x, y):
    if op not in _INPLACE:
        raise ScriptError(f"operator {op} is not allowed")
    return _INPLACE[op](x, y)


def _catch(spec=None):
    """What an ``except`` clause of a model may catch: never a stop signal, nothing once time is up."""
    if _state.expired:
        return ()
    if spec is None:
        return Exception
    items = spec if isinstance(spec, tuple) else (spec,)
    out = []
    for item in items:
        if isinstance(item, type) and issubclass(item, BaseException) and not issubclass(item, Exception):
            if item is BaseException:
                out.append(Exception)       # "except BaseException" catches ordinary errors only
            continue                        # never _Timeout, SystemExit, KeyboardInterrupt, ...
        out.append(item)                    # Exception classes, or junk Python itself refuses
    return tuple(out)


def _guarded_getattr(obj, name):
    if type(name) is not str:
        raise TypeError("attribute name must be a string")
    if name.startswith("_") or name in _BLOCKED_ATTRIBUTES:
        raise ScriptError(f"attribute {name!r} is not available in models")
    value = getattr(obj, name)
    if name == "sort" and isinstance(obj, list):
        return lambda *, key=None, reverse=False: _checked_sort(obj, key, reverse)
    if name == "sort" and isinstance(obj, type) and issubclass(obj, list):
        return _checked_sort
    return value


def _checked_sort(items: list, key=None, reverse=False) -> None:
    """``list.sort``, but only up to MAX_SEQUENCE_ITEMS: a long sort is one uninterruptible call."""
    if not isinstance(items, list):
        raise TypeError("sort() needs a list")
    if len(items) > MAX_SEQUENCE_ITEMS:
        raise ScriptError(f"cannot sort {len(items):,} items (the limit is {MAX_SEQUENCE_ITEMS:,})")
    items.sort(key=key, reverse=reverse)


def _getitem(obj, index):
    return obj[index]


def _getiter(obj):
    return iter(obj)


def _apply(func, *args, **kwargs):
    return func(*args, **kwargs)


# ------------------------------------------------------------------ builtins

class _CheckedType(type):
    """Stands for a builtin type: ``isinstance`` works, construction is checked."""

    # The wrapped type and the check are "_" names, out of a model's reach.

    def __instancecheck__(cls, obj):
        return isinstance(obj, cls._real)

    def __subclasscheck__(cls, sub):
        return isinstance(sub, type) and issubclass(sub, cls._real)

    def __call__(cls, *args, **kwargs):
        return cls._check(cls._real(*args, **kwargs))

    def __repr__(cls):
        return repr(cls._real)


class _Int(metaclass=_CheckedType):
    """``int``: ``int('f' * 10**6, 16)`` would bypass the operator guards."""
    _real = int
    _check = staticmethod(_checked_int)


_Int.__name__ = _Int.__qualname__ = "int"


def _range(*args):
    r = range(*args)
    try:
        n = len(r)
    except OverflowError:
        n = MAX_SEQUENCE_ITEMS + 1
    if n > MAX_SEQUENCE_ITEMS:
        raise ScriptError(f"range of more than {MAX_SEQUENCE_ITEMS:,} items")
    return r


def _sorted(iterable, /, *, key=None, reverse=False):
    items = list(iterable)
    _checked_sort(items, key, reverse)
    return items


def _sum(iterable, /, start=0):
    if not isinstance(start, (int, float)):
        raise ScriptError("sum() adds numbers only; join lists or texts with a comprehension or str.join")
    return _checked_int(sum(iterable, start))


def _round(number, ndigits=None):
    if isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
        raise ScriptError(f"round() to more than {MAX_ROUND_DIGITS} digits")
    return round(number) if ndigits is None else round(number, ndigits)


#: Exception classes a model may raise and catch (all ordinary ``Exception`` subclasses).
EXCEPTIONS = ("ArithmeticError", "AssertionError", "AttributeError", "Exception", "IndexError",
              "KeyError", "LookupError", "NameError", "NotImplementedError", "OverflowError",
              "RuntimeError", "StopIteration", "TypeError", "UnicodeError", "ValueError",
              "ZeroDivisionError")
_PLAIN_BUILTINS = ("abs", "all", "any", "bool", "callable", "chr", "dict", "divmod", "enumerate",
                   "filter", "float", "frozenset", "hex", "isinstance", "issubclass", "len", "list",
                   "map", "max", "min", "next", "oct", "ord", "repr", "reversed", "set", "slice", "str",
                   "tuple", "zip", "True", "False", "None")

_BUILTINS = {name: getattr(builtins, name) for name in _PLAIN_BUILTINS + EXCEPTIONS}
_BUILTINS.update(int=_Int, pow=_checked_pow, range=_range, sorted=_sorted, sum=_sum, round=_round)


# ------------------------------------------------------------------ helpers

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
        raise ScriptError(f"not a date: {_one_line(repr(value), 60)}") from None


def _today() -> str:
    return current_clock().today().isoformat()


def _days_between(start, end) -> int:
    return (_as_date(end) - _as_date(start)).days


#: Functions a model's expressions may call, besides the builtins above.
HELPERS = {
    "today": _today,                        # 'YYYY-MM-DD' from the engine's clock
    "date": lambda s: _as_date(s).isoformat(),
    "days_between": _days_between,          # calendar days
    "workdays_between": _workdays_between,  # China's official working days
    "add_workdays": _add_workdays,          # due date 'YYYY-MM-DD'
    "floor": math.floor, "ceil": math.ceil,
}

GUARDS = {
    "__builtins__": _BUILTINS,
    "_getattr_": _guarded_getattr,
    "_getitem_": _getitem,
    "_getiter_": _getiter,
    "_apply_": _apply,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    "_add_": _checked_add,
    "_sub_": _checked_sub,
    "_mul_": _checked_mul,
    "_pow_": _checked_pow,
    "_lshift_": _checked_lshift,
    "_catch_": _catch,
}
_RESERVED = frozenset(GUARDS) | frozenset(HELPERS)
#: Names task data may not shadow in an expression (builtins and helpers; see engine.values).
_SHADOWING = frozenset(_BUILTINS) | frozenset(HELPERS) | frozenset(GUARDS)
_MISSING = object()


# ------------------------------------------------------------------ compiling

def _compile(source: str, filename: str, compiler, what: str):
    if len(source) > MAX_SOURCE_CHARS:
        raise ScriptError(f"{what} is longer than {MAX_SOURCE_CHARS:,} characters")
    try:
        result = compiler(source, filename, policy=SandboxPolicy)
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        # The parser's own limits: too deeply nested, too complex.
        raise ScriptError(f"{what} refused: too complex to compile ({type(exc).__name__})") from None
    if result.errors or result.code is None:
        raise ScriptError(_one_line(f"{what} refused: {'; '.join(result.errors) or 'cannot compile'}"))
    return result.code


@lru_cache(maxsize=4096)
def compile_expression(source: str):
    """Compile a condition; raise ScriptError (with the reason) when refused."""
    src = source.strip()
    return _compile(src, "<condition>", compile_restricted_eval,
                    f"expression {_one_line(repr(src), 80)}")


@lru_cache(maxsize=1024)
def compile_script(source: str):
    """Compile a script; raise ScriptError (with the reason) when refused."""
    return _compile(source, "<script>", compile_restricted_exec, "script")


def check_expression(source: str) -> str | None:
    """The reason an expression would be refused, or None."""
    try:
        compile_expression(source)
    except ScriptError as exc:
        return exc.message
    return None


def check_script(source: str) -> str | None:
    """The reason a script would be refused, or None."""
    try:
        compile_script(source)
    except ScriptError as exc:
        return exc.message
    return None


# ------------------------------------------------------------------ limits

_MODEL_FILES = frozenset({"<condition>", "<script>"})


def _stop_if_in_model(frame) -> None:
    """Time is up: raise where the model's code is on the stack, never in the sandbox's own clean-up."""
    _state.expired = True
    while frame is not None:
        if frame.f_code.co_filename in _MODEL_FILES:
            raise _Timeout()
        frame = frame.f_back


def _on_alarm(signum, frame):
    if _state.armed:
        _stop_if_in_model(frame)


def _trace(frame, event, arg):
    if event == "call" and frame.f_code.co_filename in _MODEL_FILES:
        frame.f_trace_opcodes = True     # `while True: pass` emits no line events
    if _state.armed and time.monotonic() > _state.deadline:
        _stop_if_in_model(frame)
    return _trace


class _Limits:
    """Arms the time, memory and CPU limits of one run, and undoes all of it."""

    def __init__(self, seconds: float, memory: int):
        self.seconds, self.memory = seconds, memory
        self.main = threading.current_thread() is threading.main_thread()
        self.old_handler = self.old_timer = self.old_trace = None
        self.old_as = self.old_cpu = self.old_core = self.old_xcpu = None
        self.started = 0.0

    def arm(self) -> None:
        # No alarm may land while limits are being lowered: a raising handler (the step budget's)
        # between setrlimit and the assignment of what it returned would leave the CPU backstop
        # lowered for good, and the long-running process (worker, server, test run) would later die
        # of SIGXCPU.  A blocked alarm is delivered once unblocked, to the handler installed by then.
        with alarms_held(self.main):
            self._arm()

    def _arm(self) -> None:
        base = _vm_size()
        if base:
            self.old_as = _lower_soft_limit(resource.RLIMIT_AS, base + self.memory)
        _state.expired = False
        self.started = time.monotonic()
        _state.deadline = self.started + self.seconds
        if self.main:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            used = usage.ru_utime + usage.ru_stime
            cpu = math.ceil(used * (1 + CPU_DRIFT_SHARE) + self.seconds + CPU_GRACE_SECONDS)
            self.old_core = _lower_soft_limit(resource.RLIMIT_CORE, 0)
            self.old_cpu = _lower_soft_limit(resource.RLIMIT_CPU, cpu)
            self.old_xcpu = signal.signal(signal.SIGXCPU, signal.SIG_DFL)
            self.old_handler = signal.signal(signal.SIGALRM, _on_alarm)
            _state.armed = True
            self.old_timer = signal.setitimer(signal.ITIMER_REAL, self.seconds, ALARM_INTERVAL_SECONDS)
        else:
            self.old_trace = sys.gettrace()
            _state.armed = True
            sys.settrace(_trace)

    def disarm(self) -> None:
        with alarms_held(self.main):    # a pending alarm then reaches the caller's handler, limits restored
            self._disarm()

    def _disarm(self) -> None:
        # Order matters: an alarm already pending runs whatever SIGALRM handler is installed when Python
        # gets to it, which may be the caller's (the step budget's, which raises).  So every limit is
        # restored before that handler comes back, and the caller's timer is given back last.
        _state.armed = False
        try:        # the CPU backstop first of all: left lowered, it would end the process later
            for which, old in ((resource.RLIMIT_CPU, self.old_cpu), (resource.RLIMIT_CORE, self.old_core)):
                if old is not None:
                    resource.setrlimit(which, old)
        finally:
            if self.main:
                signal.setitimer(signal.ITIMER_REAL, 0)
        if self.old_as is not None:
            resource.setrlimit(resource.RLIMIT_AS, self.old_as)
        if not self.main:
            sys.settrace(self.old_trace)
            return
        if self.old_xcpu is not None:
            signal.signal(signal.SIGXCPU, self.old_xcpu)
        if self.old_handler is not None:
            signal.signal(signal.SIGALRM, self.old_handler)
        if self.old_timer and self.old_timer[0] > 0:     # someone else's alarm: give it back
            left = max(self.old_timer[0] - (time.monotonic() - self.started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, self.old_timer[1])


def _step_stopped() -> ScriptError:
    return ScriptError(f"stopped: the step ran longer than {steplimits.step_deadline()[1]:g} s "
                       f"(the limit for one step); nothing was saved")


def limits(func, seconds: float = TIME_LIMIT_SECONDS, memory: int = MEMORY_LIMIT_BYTES):
    """Call ``func()`` within the time, memory and CPU limits; ScriptError when one is hit."""
    by_step = False
    step_deadline = steplimits.step_deadline()[0]
    if step_deadline is not None:
        left = step_deadline - time.monotonic()
        if left <= 0:
            raise _step_stopped()
        if left < seconds:
            seconds, by_step = left, True
    with _RUN_LOCK:
        guard = _Limits(seconds, memory)
        failure = None
        try:
            guard.arm()
            return func()
        except _Timeout:
            failure = "time"        # no allocation here: memory may be exhausted
        except MemoryError:
            failure = "memory"
        finally:
            guard.disarm()
            _state.expired = False
    if failure == "time":
        if by_step:
            raise _step_stopped()
        raise ScriptError(f"stopped after {seconds:g} s: a condition or script ran too long")
    raise ScriptError(f"stopped: a condition or script tried to use more than "
                      f"{memory // (1024 * 1024)} MB of memory")


# ------------------------------------------------------------------ running

def _namespace(data: dict, external: dict | None) -> dict:
    """The names an expression sees: the data, but never over a builtin, helper or guard.

    Task data cannot name a helper (``--data`` and scripts refuse it); data stored before that
    rule, or put there otherwise, is hidden rather than break every later condition of the case.
    """
    ns = dict(GUARDS)
    ns.update(HELPERS)
    if external:
        ns.update(external)
    ns.update(data)
    clash = _SHADOWING.intersection(data)
    if clash:
        for name in clash:
            del ns[name]
        ns.update(GUARDS)
        ns.update(HELPERS)
    return ns


def _run(code, ns: dict, what: str, mode):
    def body():
        try:
            return mode(code, ns)
        except (ScriptError, _Timeout, MemoryError):
            raise
        except NameError as exc:
            raise ScriptError(_one_line(f"{what}: {exc}")) from None
        except Exception as exc:  # a model's own error: report it, one line
            raise ScriptError(_one_line(f"{what}: {type(exc).__name__}: {exc}")) from None
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # GeneratorExit and the like: never past the sandbox
            raise ScriptError(_one_line(f"{what}: {type(exc).__name__}")) from None
    return limits(body)


def _check_plain(name: str, value) -> int:
    """Size of a value a script leaves in the task data; ScriptError if it cannot be stored."""
    try:
        return check_value(value, f"script: variable {name!r}", typed=True)
    except DataError as exc:
        raise ScriptError(str(exc)) from None


def evaluate(source: str, data: dict, external: dict | None = None):
    """Evaluate a condition (or timer expression) over task data inside the sandbox."""
    code = compile_expression(source)
    return _run(code, _namespace(data, external), f"expression {_one_line(repr(source.strip()), 80)}",
                eval)


def execute(source: str, data: dict, external: dict | None = None) -> None:
    """Run a script; top-level assignments update ``data`` in place."""
    code = compile_script(source)
    ns = _namespace(data, external)
    _run(code, ns, "script", exec)
    skip = _RESERVED | set(external or ()) | {"__builtins__"}
    result = {key: value for key, value in ns.items()
              if key not in skip and not key.startswith("_") and not callable(value)}
    for key in _SHADOWING.intersection(ns):
        if ns[key] is not GUARDS.get(key, HELPERS.get(key, _MISSING)):
            raise ScriptError(f"script: {key!r} is the name of a helper conditions and scripts use; "
                              f"store the value under another name")
    total = 0
    for key, value in result.items():
        total += _check_plain(key, value)
        if total > MAX_DATA_CHARS:
            raise ScriptError(f"script: task data would exceed {MAX_DATA_CHARS:,} characters")
    for key in list(data):
        if key not in ns:
            del data[key]
    data.update(result)

"""The limits a step and the scripts it runs share: the step's deadline, the address-space limit,
and holding SIGALRM while limits change.

Its own module (standard library only) so that a step whose model runs no condition or script does
not load RestrictedPython (engine.sandbox) just to arm its budget (engine.runtime.StepBudget).
"""
from __future__ import annotations

import _signal
import os
import resource
import signal
from contextlib import contextmanager

_STATM: list = [None, None]          # [pid, fd] of /proc/<pid>/statm, kept open (reopened after a fork)
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def vm_size() -> int:
    """This process's address space in bytes (0 where /proc is not available)."""
    try:
        pid = os.getpid()
        if _STATM[0] != pid:
            if _STATM[1] is not None:
                try:
                    os.close(_STATM[1])
                except OSError:
                    pass
            _STATM[:] = [pid, os.open(f"/proc/{pid}/statm", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))]
        return int(os.pread(_STATM[1], 128, 0).split()[0]) * _PAGE_SIZE
    except (OSError, ValueError, AttributeError):
        return 0


def lower_soft_limit(which: int, soft: int):
    """Lower a soft rlimit (never raise it); return the old limits to restore, or None."""
    old = resource.getrlimit(which)
    if (old[0] != resource.RLIM_INFINITY and old[0] <= soft) or \
            (old[1] != resource.RLIM_INFINITY and soft > old[1]):
        return None
    resource.setrlimit(which, (soft, old[1]))
    return old


_ALRM = {signal.SIGALRM}


@contextmanager
def alarms_held(main: bool = True):
    """Hold SIGALRM (main thread) while limits are lowered or restored: a raising handler landing
    between ``setrlimit`` and the note of what to restore would leave a limit lowered for good.
    A held alarm is delivered on leaving, to the handler installed by then."""
    if not main:
        yield
        return
    # _signal's own call: signal.pthread_sigmask turns every signal of the mask into an enum member,
    # twice per step (the mask goes back as it came, as numbers)
    mask = _signal.pthread_sigmask(signal.SIG_BLOCK, _ALRM)
    try:
        yield
    finally:
        _signal.pthread_sigmask(signal.SIG_SETMASK, mask)


#: When the whole step must end (time.monotonic()) and its limit in seconds, set by engine.runtime's step
#: budget; None: no step is running.
_deadline: list = [None, 0.0]


def set_step_deadline(deadline: float | None, seconds: float = 0.0) -> float | None:
    """Cap every run by the step's own deadline; return the previous one (to restore)."""
    previous = _deadline[0]
    _deadline[:] = [deadline, seconds]
    return previous


def step_deadline() -> tuple[float | None, float]:
    """(deadline, the step's limit in seconds) of the step running now."""
    return _deadline[0], _deadline[1]

"""Calling the learner's function safely (copies, a time limit, captured output) and the stand-in.

:func:`call_guarded` calls a function on one case and never lets it harm the
notebook:

* it passes deep copies of the arguments and compares them with the originals
  afterwards (a function that changes its inputs FAILs, naming the argument);
* it stops a call after :data:`TIME_LIMIT` seconds (configurable with
  :func:`set_time_limit`), in any thread and whatever the call does: it runs in
  a worker thread that is stopped from outside, so a bare ``except:`` in a loop,
  a cancelled timer or a SIGALRM handler of its own cannot keep it going; a call
  stuck in C code is given up after a grace and said so
  (:mod:`cflib.checks.stopping` has the design);
* it captures what the function prints, the first :data:`MAX_PRINTED`
  characters at most (the verdict quotes a few lines);
* it restores the checks' settings and the functions they rely on if the call
  changed them (``engine.RTOL``, ``TIME_LIMIT``, ``np.allclose``, ``cflib.cost``),
  and that call FAILs (:mod:`cflib.checks.integrity`);
* it turns ``sys.exit``, any exception (``GeneratorExit``,
  ``asyncio.CancelledError`` and other ``BaseException`` subclasses included),
  and a result that cannot be read as an array (an ``__array__`` that raises)
  into an :class:`Outcome` the engine reports in one line;
* just before the call, it fills freed memory of the sizes a result may take
  with junk, so that entries an ``np.empty`` answer never writes show as
  leftover memory instead of passing as zeros by luck.

The result is read by :mod:`cflib.checks.results`.
  ``KeyboardInterrupt`` (the notebook's stop button) is never caught, nor are
  cflib's own signals (the classroom grader's tripwire).

After a FAIL, or while an exercise is not written yet, a check returns a
:class:`StandIn`: cflib's reference, wrapped so that it says what it is. Cells
that print a result under the learner's name use :func:`who`, so the learner
reads "cflib.cost (stands in: yours did not pass its check)" instead of a
success that is not theirs.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import math
import signal
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from . import integrity
from .stopping import _TimeUp, run_stoppable  # noqa: F401  (_TimeUp: the sampler check re-raises it)

#: Seconds one call of the learner's function may take before it is stopped.
TIME_LIMIT = 20.0
#: Lines of the learner's printed output quoted in the verdict at most.
SHOWN_LINES = 3
#: Characters of the learner's printed output kept per call (a flood of prints costs no more memory).
MAX_PRINTED = 100_000
#: The longest time limit :func:`set_time_limit` accepts (one day).
MAX_TIME_LIMIT = 86_400.0


def set_time_limit(seconds: float) -> float:
    """Set the per-call time limit of every check; returns the previous one.

    ``seconds`` is a real number in (0, 86400] (one day at most); anything else
    (0, a negative number, NaN, inf, a string, a bool) is refused with an error
    naming the argument.
    """
    global TIME_LIMIT
    from ..arguments import check_scalar

    seconds = check_scalar(seconds, "seconds", min_val=0.0, max_val=MAX_TIME_LIMIT, include_boundaries="right")
    old, TIME_LIMIT = TIME_LIMIT, float(seconds)
    return old


class Invalid(Exception):
    """The learner's result cannot be used (wrong type or structure); the message says why."""


# =====================================================================
# The stand-in returned after a FAIL
# =====================================================================
class StandIn:
    """cflib's reference, returned by a check that did not pass, and saying so.

    Calls go to the reference unchanged. ``str(stand_in)`` and :func:`who`
    give ``"cflib.cost (stands in: yours did not pass its check)"``.
    """

    def __init__(self, reference: Callable, ref_name: str, check: str, reason: str):
        self.reference, self.ref_name, self.check, self.reason = reference, ref_name, check, reason
        functools.update_wrapper(self, reference)

    def __call__(self, *args, **kwargs):
        return self.reference(*args, **kwargs)

    def __str__(self):
        return f"{self.ref_name} (stands in: {self.reason})"

    def __repr__(self):
        return f"<{self}>"


def who(fn, name: str) -> str:
    """``name`` when ``fn`` is the learner's own function, else what stands in for it.

    Use it wherever a cell prints a result under the learner's name::

        print(f"{checks.who(my_cost, 'my_cost')}: {my_cost(X, Theta, Y, R):.4f}")
    """
    return str(fn) if isinstance(fn, StandIn) else name


# =====================================================================
# Calling the learner's function
# =====================================================================
@contextlib.contextmanager
def _alarm_harmless():
    """While a call runs in a worker, a SIGALRM it arms (``signal.alarm(1)``) cannot end the process.

    Only when no timer was armed before (a test runner's own alarm is left alone),
    in the main thread of a POSIX system; the timer is cancelled afterwards.
    """
    if not (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()) \
            or signal.getitimer(signal.ITIMER_REAL) != (0.0, 0.0):
        yield
        return
    old = signal.signal(signal.SIGALRM, lambda signum, frame: None)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class _Printed(io.TextIOBase):
    """Where the learner's prints go during a call: the first :data:`MAX_PRINTED` characters are kept."""

    def __init__(self):
        super().__init__()
        self._parts, self._kept, self.dropped = [], 0, 0

    def writable(self) -> bool:
        return True

    def write(self, s) -> int:
        s = str(s)
        room = MAX_PRINTED - self._kept
        if room > 0:
            self._parts.append(s[:room])
            self._kept += min(room, len(s))
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def getvalue(self) -> str:
        return "".join(self._parts)


def _same(a, b) -> bool:
    """Deep equality of arguments: arrays entry by entry (NaN equal to NaN), sequences item by item."""
    if callable(a) or callable(b):
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:
        return True


def _quote_output(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return ""
    shown = " | ".join(_first_line(ln, 60) for ln in lines[:SHOWN_LINES])
    more = f" (and {len(lines) - SHOWN_LINES} more)" if len(lines) > SHOWN_LINES else ""
    return f"{len(lines)} line{'s' if len(lines) != 1 else ''}: {shown}{more}"


@dataclass
class Outcome:
    """What one call gave: kind is "value", "error", "invalid" or "todo".

    ``tampered`` says what the call changed of the checks' settings or the
    functions they rely on (restored since), "" when nothing.
    """

    kind: str
    value: Any = None
    printed: str = ""
    tampered: str = ""


#: What a float64 entry holds when it was left as :func:`_dirty_memory` filled the memory (bytes 0x5A).
JUNK_FLOAT = float(np.frombuffer(b"\x5a" * 8, dtype=np.float64)[0])


def _dirty_memory(args) -> None:
    """Allocate and free junk-filled blocks of the sizes a result may take, just before the call.

    ``np.empty`` returns whatever memory it is given, and a fresh small block is
    often all zeros: an answer that starts from ``np.empty`` and fills only the
    rated entries would pass by luck. NumPy and the C allocator hand a freed block
    of the same size to the next request, so the junk (bytes 0x5A: the float
    :data:`JUNK_FLOAT`, about 1.8e+127, or True) is what such an answer finds. Sizes: products of one or
    two of the dimensions and whole numbers among the arguments, for 8-, 4- and
    1-byte items, up to 1 MiB.
    """
    dims = {1}
    for a in args:
        if isinstance(a, np.ndarray):
            dims.update(int(d) for d in a.shape)
        elif isinstance(a, (int, np.integer)) and not isinstance(a, bool) and 0 < a <= 100_000:
            dims.add(int(a))
    dims = sorted(dims)[:12]
    sizes = {d1 * d2 * item for i, d1 in enumerate(dims) for d2 in dims[i:] for item in (8, 4, 1)}
    junk = [np.full(n, 0x5A, dtype=np.uint8) for n in sorted(sizes) if 0 < n <= 1 << 20]
    del junk


def _attempt(fn, case, split, arg_names, hints) -> Callable:
    """The call, the check of the arguments and the reading of the result, as one function of no argument."""
    def attempt():
        args = copy.deepcopy(case.args)
        _dirty_memory(args)
        out = fn(*args)
        changed = _changed(args, case.args, arg_names, hints)
        if changed is not None:
            return "changed", changed
        try:
            return "parts", split(out, case)
        except Invalid:
            raise
        except Exception as exc:  # split failed: the result cannot be read
            return "unreadable", (f"returned a {type(out).__name__} that cannot be read as an array "
                                  f"({type(exc).__name__}: {_first_line(exc, 80)})")
    return attempt


def _passes_through(exc: BaseException) -> bool:
    """KeyboardInterrupt (the stop button) and cflib's own signals (the grader's tripwire) are never caught."""
    return isinstance(exc, KeyboardInterrupt) or (not isinstance(exc, (Exception, SystemExit, _TimeUp))
                                                  and type(exc).__module__.startswith("cflib."))


def _outcome(kind: str, value, printed: str) -> Outcome:
    if kind == "value":
        tag, got = value
        return Outcome("value" if tag == "parts" else "invalid", got, printed)
    exc = value
    if _passes_through(exc):
        raise exc
    if isinstance(exc, NotImplementedError):
        return Outcome("todo")
    if isinstance(exc, SystemExit):
        return Outcome("invalid", "called sys.exit(): a checked function must return its result, "
                                  "not end the program", printed)
    if isinstance(exc, Invalid):
        return Outcome("invalid", str(exc), printed)
    return Outcome("error", exc, printed)  # any other exception, BaseException subclasses included


def call_guarded(fn, case, split, arg_names: Sequence[str] = (), changed_hints=None,
                 limit: float | None = None) -> Outcome:
    """Call ``fn(*copies of case.args)`` under every guard of the module docstring, then ``split`` its result.

    With an infinite ``limit`` (cflib's own references and known mistakes) the
    call runs in the calling thread; otherwise in a worker thread that
    :func:`cflib.checks.stopping.run_stoppable` stops at the limit, with the
    checks' settings and the functions they rely on restored afterwards
    (:mod:`cflib.checks.integrity`).
    """
    attempt = _attempt(fn, case, split, arg_names, changed_hints or {})
    buf = _Printed()
    limit = TIME_LIMIT if limit is None else limit
    guarded = math.isfinite(limit)
    before = integrity.snapshot() if guarded else None
    # Warnings (0/0, overflow) would add lines to the one-line verdict; NaN is diagnosed instead.
    with warnings.catch_warnings(), np.errstate(all="ignore"), \
            contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        warnings.simplefilter("ignore")
        if not guarded:
            try:
                kind, value = "value", attempt()
            except BaseException as exc:
                kind, value = "raised", exc
        else:
            with _alarm_harmless():
                kind, value = run_stoppable(attempt, limit)
    tampered = (integrity.sentence(*integrity.restore(before)) or "") if guarded else ""
    if kind in ("timeup", "stuck"):
        more = value or ": is there an endless loop?"
        if kind == "stuck":
            more = (f"{value} and could not be stopped (it goes on in the background): restart the kernel "
                    "(Kernel > Restart) to end it")
        outcome = Outcome("invalid", f"took longer than {limit:g} s{more}", buf.getvalue())
    else:
        outcome = _outcome(kind, value, buf.getvalue())
    outcome.tampered = tampered
    return outcome


def _changed(used, original, arg_names, hints) -> str | None:
    for i, (a, b) in enumerate(zip(used, original)):
        if not _same(a, b):
            name = arg_names[i] if i < len(arg_names) else f"argument {i + 1}"
            hint = hints.get(name) or (f"work on a copy ({name} = {name}.copy()) or build new arrays, "
                                       "so the caller's data stay intact")
            return f"changed its argument {name} in place: {hint}"
    return None


def _first_line(text, limit: int = 160) -> str:
    text = str(text).strip()
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."
